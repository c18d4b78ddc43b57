#include "security/tls/caller_gate.h"

#include <grpcpp/security/auth_context.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include "base/log.h"
#include "base/str_cat.h"
#include "mixer/attribute/attribute_bag.h"
#include "security/tls/credentials.h"

namespace security::tls {

CallerGate::CallerGate(std::optional<CallerPolicy> policy,
                       const std::shared_ptr<prometheus::Registry>& registry,
                       const std::string& counter_name)
    : policy_(std::move(policy)) {
  if (registry) {
    auto& family = prometheus::BuildCounter()
                       .Name(counter_name)
                       .Help("Calls refused because the caller's identity may not call the API")
                       .Register(*registry);
    for (size_t i = 0; i < kApiCount; ++i) {
      denied_[i] = &family.Add({{"api", std::string(apiName(static_cast<Api>(i)))}});
    }
  }
}

bool CallerGate::decide(bool authenticated, std::string_view principal, Api api,
                        Caller* caller) const {
  caller->authenticated = authenticated;
  caller->principal.assign(principal);
  caller->trusted = !authenticated;
  if (!policy_) {
    return true;
  }
  const CallerPolicy::Decision d = policy_->decide(authenticated ? principal : "", api);
  caller->trusted = !authenticated || d.trusted;
  return d.allowed;
}

grpc::Status CallerGate::admit(const grpc::ServerContextBase& context, Api api,
                               Caller* caller) const {
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  PeerIdentity peer;
  if (auth) {
    peer = peerIdentity(*auth);
  }
  if (decide(peer.authenticated, peer.principal, api, caller)) {
    return grpc::Status::OK;
  }
  // The peer's address is asked for (a string built by gRPC) only for a refusal.
  return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                      refuse(peer.authenticated, peer.principal, api, context.peer()));
}

bool CallerGate::admitIdentity(bool authenticated, std::string_view principal, Api api,
                               Caller* caller, std::string_view peer, std::string* refusal) const {
  if (decide(authenticated, principal, api, caller)) {
    return true;
  }
  *refusal = refuse(authenticated, principal, api, peer);
  return false;
}

std::string CallerGate::refuse(bool authenticated, std::string_view principal, Api api,
                               std::string_view peer) const {
  const size_t i = static_cast<size_t>(api);
  if (denied_[i] != nullptr) {
    denied_[i]->Increment();
  }
  const std::string who = authenticated ? mixer::base::strCat("caller \"", principal, "\"")
                                        : std::string("a caller without a verified certificate");
  std::string refusal =
      mixer::base::strCat(who, " may not call ", apiName(api), " (the server's caller policy)");
  if (mixer::logSampled(denied_logs_)) {
    MIXER_LOG(Warn) << "refused: " << refusal << " from " << peer;
  }
  return refusal;
}

uint64_t CallerGate::denied(Api api) const {
  const auto* c = denied_[static_cast<size_t>(api)];
  return c == nullptr ? 0 : static_cast<uint64_t>(c->Value());
}

void applyCaller(const Caller& caller, mixer::attribute::AttributeBag* bag) {
  if (!caller.authenticated) {
    return;
  }
  using mixer::attribute::AttributeValue;
  const AttributeValue principal = AttributeValue::string(caller.principal);
  bag->set("context.reporter.principal", principal);
  if (!caller.trusted) {
    bag->set("source.principal", principal);
    bag->set("source.user", principal);
    bag->set("connection.mtls", AttributeValue::boolean(true));
  }
}

}  // namespace security::tls
