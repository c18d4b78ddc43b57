// Who may call what: the callers a server lets in by the identity their certificate proves, per
// API, and whose claims about identity it believes (docs/security.md, "Callers").
//
// The policy file (mixs --callers, pilot-discovery --callers) is YAML:
//
//   callers:
//   - principals: ["spiffe://cluster.local/ns/istio-system/sa/ingressgateway"]
//     apis: ["*"]
//     trusted: true     # a proxy: its reports about other workloads' identities are believed
//   - principals: ["spiffe://cluster.local/ns/default/*"]
//     apis: [check, report]
//
// A principal pattern is exact, "*" (any verified identity), "prefix*" or "*suffix", as in
// Istio's AuthorizationPolicy. APIs: check, report (istio.mixer.v1), ext_authz, ratelimit,
// accesslog (Envoy), forward_auth (HTTP), xds (pilot-discovery), rules and rules_write
// (pilot-discovery's Rules API: reading, and writing), or "*". pilot's certificate
// service is not gated here: the CA authenticates its callers itself (docs/citadel.md). A call is
// allowed when some entry names both its API and a pattern its caller matches; a caller without a
// verified certificate matches no pattern. Without a policy every caller the transport let in is
// allowed.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace grpc {
class AuthContext;
}

namespace security::tls {

enum class Api {
  kCheck,
  kReport,
  kExtAuthz,
  kRateLimit,
  kAccessLog,
  kXds,
  kForwardAuth,
  kRules,       // pilot-discovery's Rules API: list, get, watch
  kRulesWrite,  // pilot-discovery's Rules API: create, replace, delete
};
inline constexpr size_t kApiCount = 9;
// "check", "report", ...: the names the policy file uses.
std::string_view apiName(Api api);

// A principal pattern: exact, "*", "prefix*" or "*suffix".
bool principalMatches(std::string_view pattern, std::string_view principal);

class CallerPolicy {
 public:
  struct Entry {
    std::vector<std::string> principals;
    std::array<bool, kApiCount> apis{};
    bool trusted = false;
  };

  // Parses a policy; errors name `source` and the line ("callers.yaml:4: unknown API \"chek\"").
  static absl::StatusOr<CallerPolicy> parse(std::string_view text, std::string_view source);
  static absl::StatusOr<CallerPolicy> load(const std::string& path);

  struct Decision {
    bool allowed = false;
    bool trusted = false;  // some entry that allowed the call marks its callers trusted
  };
  // `principal` is "" for a caller without a verified certificate.
  Decision decide(std::string_view principal, Api api) const;

  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
};

}  // namespace security::tls
