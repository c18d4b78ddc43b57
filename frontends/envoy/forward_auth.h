// HTTP forward-auth on mixs (--forward-auth-address): the check a reverse proxy asks before it
// forwards a request, in the two common conventions (nginx auth_request; Traefik ForwardAuth and
// Caddy forward_auth). The original request is read from the call's headers through the shared
// attribute mapping (attribute_mapping.h); the decision is the same Dispatcher check (and quotas)
// as ext_authz's. docs/envoy.md, "HTTP forward-auth".
//
// Answers: 200 to allow, without a body, the rule's request header operations as response headers
// (the proxy copies them onto the forwarded request); 403, 401 or 429 to deny (httpStatusForCode),
// the reason in X-Mixer-Reason and, but in the nginx convention, as the body (nginx keeps its
// upstream connection only after an answer without one); 400 with the reason for a call that does
// not describe an original request.
// Allows and denials carry Cache-Control (the decision's valid duration, or no-store when a quota
// was asked) and Vary (the request headers the rules read), for a proxy-side cache.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "absl/status/statusor.h"
#include "base/http_server.h"
#include "frontends/envoy/attribute_mapping.h"
#include "mixer/runtime/dispatcher.h"
#include "security/tls/caller_gate.h"

namespace frontends::envoy {

// A quota asked on every forward-auth check that passed (--forward-auth-quota NAME[=AMOUNT]).
struct ForwardAuthQuota {
  std::string name;
  int64_t amount = 1;
};

// "NAME" or "NAME=AMOUNT" (AMOUNT a non-negative integer).
absl::StatusOr<ForwardAuthQuota> parseForwardAuthQuota(std::string_view flag);

struct ForwardAuthOptions {
  MappingLimits limits;
  std::vector<ForwardAuthQuota> quotas;
  // Where the answers are counted (mixer_forward_auth_requests_total{code}); null: not counted.
  std::shared_ptr<prometheus::Registry> registry;
  // Over mTLS: who may call forward-auth (the API forward_auth) and whose identity claims are
  // believed (docs/security.md). Null: everyone, claims as sent. OWNERSHIP: borrowed.
  const security::tls::CallerGate* gate = nullptr;
};

class ForwardAuth {
 public:
  // OWNERSHIP: `dispatchers` is borrowed and must outlive this object.
  ForwardAuth(const mixer::runtime::DispatcherSource* dispatchers, ForwardAuthOptions options);

  // One forward-auth call. Thread-safe (per-thread state); blocks while a quota adapter answers
  // (the dispatcher's adapter deadline bounds it).
  mixer::HttpResponse handle(const mixer::HttpRequest& request);

 private:
  void count(int code);

  const mixer::runtime::DispatcherSource* dispatchers_;
  ForwardAuthOptions options_;
  prometheus::Family<prometheus::Counter>* answers_ = nullptr;
  // The series of the answers mixs gives (200, 400, 401, 403, 429), looked up once.
  prometheus::Counter* by_code_[5] = {};
};

}  // namespace frontends::envoy
