#include "security/ca/spiffe_id.h"

#include "absl/status/status.h"
#include "security/tls/spiffe.h"

namespace security::ca {
namespace {

bool domainChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

}  // namespace

bool validDnsName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  size_t start = 0;
  while (true) {
    const size_t dot = name.find('.', start);
    const std::string_view label =
        name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      const bool ok =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool validTrustDomain(std::string_view domain) {
  if (domain.empty() || domain.size() > 255) return false;
  for (char c : domain) {
    if (!domainChar(c)) return false;
  }
  return true;
}

absl::StatusOr<WorkloadId> parseWorkloadId(std::string_view uri) {
  auto id = security::tls::parseSpiffeId(uri);
  if (!id.ok()) return id.status();
  if (id->path.empty()) return absl::InvalidArgumentError("a workload's SPIFFE ID has a path");
  return WorkloadId{std::move(id->trust_domain), std::move(id->path), {}};
}

}  // namespace security::ca
