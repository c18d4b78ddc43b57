// SPIFFE IDs (spiffe://<trust-domain>/<path>), as the SPIFFE ID specification defines them, and
// the Istio form of their path (/ns/<namespace>/sa/<service-account>).
//
// Accepted: the scheme "spiffe" in lower case; a trust domain of lower-case letters, digits, '.',
// '-' and '_' (no port, no user info, not empty); a path of segments of letters, digits, '.',
// '-' and '_' (no empty segment, no "." or "..", no trailing '/'); no query or fragment; at most
// 2048 bytes in all. Everything else is an error that says what is wrong and where.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace security::tls {

struct SpiffeId {
  std::string trust_domain;  // "cluster.local"
  std::string path;          // "/ns/default/sa/bookinfo", or "" for the trust domain itself

  // "spiffe://" + trust_domain + path.
  std::string uri() const;
  // The namespace and service account of an Istio-form path, else empty views.
  std::string_view istioNamespace() const;
  std::string_view istioServiceAccount() const;
};

inline constexpr size_t kMaxSpiffeIdBytes = 2048;

absl::StatusOr<SpiffeId> parseSpiffeId(std::string_view uri);

}  // namespace security::tls
