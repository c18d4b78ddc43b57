#include "security/tls/spiffe.h"

#include <vector>

#include "base/str_cat.h"

namespace security::tls {
namespace {

constexpr std::string_view kScheme = "spiffe://";

bool trustDomainChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

bool pathChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

// Istio's path: exactly "/ns/<ns>/sa/<sa>".
bool istioParts(std::string_view path, std::string_view* ns, std::string_view* sa) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      parts.push_back(path.substr(start, i - start));
      start = i + 1;
    }
  }
  if (parts.size() != 5 || !parts[0].empty() || parts[1] != "ns" || parts[3] != "sa") {
    return false;
  }
  *ns = parts[2];
  *sa = parts[4];
  return true;
}

}  // namespace

std::string SpiffeId::uri() const { return mixer::base::strCat(kScheme, trust_domain, path); }

std::string_view SpiffeId::istioNamespace() const {
  std::string_view ns, sa;
  return istioParts(path, &ns, &sa) ? ns : std::string_view();
}

std::string_view SpiffeId::istioServiceAccount() const {
  std::string_view ns, sa;
  return istioParts(path, &ns, &sa) ? sa : std::string_view();
}

absl::StatusOr<SpiffeId> parseSpiffeId(std::string_view uri) {
  if (uri.size() > kMaxSpiffeIdBytes) {
    return absl::InvalidArgumentError(
        mixer::base::strCat("SPIFFE ID is ", uri.size(), " bytes, more than ", kMaxSpiffeIdBytes));
  }
  if (uri.substr(0, kScheme.size()) != kScheme) {
    return absl::InvalidArgumentError("SPIFFE ID must start with \"spiffe://\"");
  }
  std::string_view rest = uri.substr(kScheme.size());
  const size_t slash = rest.find('/');
  const std::string_view domain = rest.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (domain.empty()) {
    return absl::InvalidArgumentError("SPIFFE ID has an empty trust domain");
  }
  for (size_t i = 0; i < domain.size(); ++i) {
    const char c = domain[i];
    if (trustDomainChar(c)) continue;
    if (c == ':') {
      return absl::InvalidArgumentError("SPIFFE ID's trust domain must not carry a port");
    }
    if (c == '@') {
      return absl::InvalidArgumentError("SPIFFE ID's trust domain must not carry user info");
    }
    if (c == '?' || c == '#') {
      return absl::InvalidArgumentError("SPIFFE ID must not have a query or fragment");
    }
    return absl::InvalidArgumentError(mixer::base::strCat(
        "SPIFFE ID's trust domain has a character other than a-z, 0-9, '.', '-', '_' at byte ",
        kScheme.size() + i));
  }
  if (!path.empty()) {
    size_t start = 1;  // after the '/'
    for (size_t i = 1; i <= path.size(); ++i) {
      if (i < path.size() && path[i] != '/') {
        const char c = path[i];
        if (pathChar(c)) continue;
        if (c == '?' || c == '#') {
          return absl::InvalidArgumentError("SPIFFE ID must not have a query or fragment");
        }
        return absl::InvalidArgumentError(mixer::base::strCat(
            "SPIFFE ID's path has a character other than letters, digits, '.', '-', '_' at byte ",
            kScheme.size() + domain.size() + i));
      }
      const std::string_view segment = path.substr(start, i - start);
      if (segment.empty()) {
        return absl::InvalidArgumentError(i == path.size()
                                              ? "SPIFFE ID's path must not end with '/'"
                                              : "SPIFFE ID's path has an empty segment");
      }
      if (segment == "." || segment == "..") {
        return absl::InvalidArgumentError("SPIFFE ID's path must not have '.' or '..' segments");
      }
      start = i + 1;
    }
  }
  return SpiffeId{std::string(domain), std::string(path)};
}

}  // namespace security::tls
