// CallerGate: what a server does with the identity of each call. It admits the call or refuses it
// with PERMISSION_DENIED (counted and logged), and says whether the caller's claims about identity
// (source.principal, connection.mtls) are believed. applyCaller() then writes what the transport
// proved into the request's attributes (docs/security.md, "Identity in policy").
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "security/tls/caller_policy.h"

namespace grpc {
class ServerContextBase;
class Status;
}  // namespace grpc

namespace mixer::attribute {
class AttributeBag;
}

namespace security::tls {

struct Caller {
  bool authenticated = false;  // came over mTLS with a verified certificate
  // Its identity claims are believed: a caller without a verified certificate (nothing to hold
  // them against) or one its policy entry marks trusted (a proxy reporting on its peers).
  bool trusted = true;
  std::string principal;  // the certificate's SPIFFE ID, else its first DNS SAN
};

class CallerGate {
 public:
  // `policy`: who may call what (none: everyone the transport lets in). `counter_name`: the
  // counter of refused calls, labelled by API ("mixer_callers_denied_total").
  CallerGate(std::optional<CallerPolicy> policy,
             const std::shared_ptr<prometheus::Registry>& registry,
             const std::string& counter_name);

  // OK with *caller filled, or PERMISSION_DENIED naming the caller and the API.
  grpc::Status admit(const grpc::ServerContextBase& context, Api api, Caller* caller) const;
  // The same for an identity already known (the HTTP front-end): true with *caller filled, or
  // false (counted and logged) with the reason in *refusal. `peer` names the connection in logs.
  bool admitIdentity(bool authenticated, std::string_view principal, Api api, Caller* caller,
                     std::string_view peer, std::string* refusal) const;
  // The decision alone: nothing counted or logged.
  bool decide(bool authenticated, std::string_view principal, Api api, Caller* caller) const;

  uint64_t denied(Api api) const;

 private:
  // Counts and logs a refused call; returns its reason.
  std::string refuse(bool authenticated, std::string_view principal, Api api,
                     std::string_view peer) const;

  std::optional<CallerPolicy> policy_;
  std::array<prometheus::Counter*, kApiCount> denied_{};
  mutable std::atomic<uint64_t> denied_logs_{0};
};

// Writes the caller's proven identity into a request's attributes:
//   context.reporter.principal = the caller's principal (any value the request sent is replaced),
//   and for a caller that is not trusted, source.principal and source.user = its principal and
//   connection.mtls = true, whatever the request claimed.
// Nothing for a caller without a verified certificate. The principal must outlive the bag's
// current contents.
void applyCaller(const Caller& caller, mixer::attribute::AttributeBag* bag);

}  // namespace security::tls
