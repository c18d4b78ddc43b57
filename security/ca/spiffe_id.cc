#include "security/ca/spiffe_id.h"

#include "absl/status/status.h"

namespace security::ca {
namespace {

constexpr std::string_view kScheme = "spiffe://";
constexpr size_t kMaxLength = 2048;

bool domainChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

bool pathChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
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
  if (uri.size() > kMaxLength)
    return absl::InvalidArgumentError("SPIFFE ID longer than 2048 bytes");
  if (uri.substr(0, kScheme.size()) != kScheme) {
    return absl::InvalidArgumentError("a SPIFFE ID starts with spiffe://");
  }
  std::string_view rest = uri.substr(kScheme.size());
  const size_t slash = rest.find('/');
  const std::string_view domain = rest.substr(0, slash);
  if (!validTrustDomain(domain)) {
    return absl::InvalidArgumentError(
        "the trust domain must be lower-case letters, digits, '.', '-' or '_'");
  }
  if (slash == std::string_view::npos) {
    return absl::InvalidArgumentError("a workload's SPIFFE ID has a path");
  }
  const std::string_view path = rest.substr(slash);
  size_t i = 0;
  while (i < path.size()) {
    const size_t end = path.find('/', i + 1);
    const std::string_view segment =
        path.substr(i + 1, end == std::string_view::npos ? std::string_view::npos : end - i - 1);
    if (segment.empty() || segment == "." || segment == "..") {
      return absl::InvalidArgumentError("empty, '.' or '..' path segment in a SPIFFE ID");
    }
    for (char c : segment) {
      if (!pathChar(c)) {
        return absl::InvalidArgumentError(
            "a SPIFFE ID path is letters, digits, '.', '-', '_' and '/'");
      }
    }
    if (end == std::string_view::npos) break;
    i = end;
  }
  return WorkloadId{std::string(domain), std::string(path), {}};
}

}  // namespace security::ca
