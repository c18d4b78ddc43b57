// Workload identities as the CA issues and accepts them: a SPIFFE ID as security/tls/spiffe.h
// parses it, with a path (spiffe://<trust-domain>/<path>; Istio's workload IDs are
// spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace security::ca {

// A workload's identity as the CA certifies it: the SPIFFE ID and, for workloads that serve
// clients which check host names, the DNS names the operator vouched for (join-token file),
// carried over on renewal.
struct WorkloadId {
  std::string trust_domain;
  std::string path;  // starts with '/'
  std::vector<std::string> dns_names;
  std::string uri() const { return "spiffe://" + trust_domain + path; }
};

absl::StatusOr<WorkloadId> parseWorkloadId(std::string_view uri);

// A DNS name for a certificate: labels of letters, digits and '-' (not at either end), at most
// 63 bytes each, 253 in all; no wildcard.
bool validDnsName(std::string_view name);

// A trust domain as accepted by --trust-domain.
bool validTrustDomain(std::string_view domain);

}  // namespace security::ca
