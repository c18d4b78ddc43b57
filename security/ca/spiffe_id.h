// SPIFFE IDs as the CA issues and accepts them: spiffe://<trust-domain>/<path>, the trust domain
// lower-case letters, digits, '.', '-' and '_', the path one or more segments of letters, digits,
// '.', '-' and '_' (no empty, '.' or '..' segment), at most 2048 bytes in all. Istio's workload
// IDs are spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace security::ca {

struct WorkloadId {
  std::string trust_domain;
  std::string path;  // starts with '/'
  std::string uri() const { return "spiffe://" + trust_domain + path; }
};

absl::StatusOr<WorkloadId> parseWorkloadId(std::string_view uri);

// A trust domain as accepted by --trust-domain.
bool validTrustDomain(std::string_view domain);

}  // namespace security::ca
