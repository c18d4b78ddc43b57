// Fuzz target: SPIFFE ID parsing (security/tls/spiffe.h) and the caller policy file
// (security/tls/caller_policy.h), the two parsing surfaces of transport security. Invariants beyond
// "no crash": a parsed ID prints back as exactly its input, fits the length limit, and parses again
// to the same parts; a policy that parses decides every API without throwing.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "security/tls/caller_policy.h"
#include "security/tls/spiffe.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto id = security::tls::parseSpiffeId(input);
  if (id.ok()) {
    const std::string uri = id->uri();
    if (uri != input || uri.size() > security::tls::kMaxSpiffeIdBytes) std::abort();
    auto again = security::tls::parseSpiffeId(uri);
    if (!again.ok() || again->trust_domain != id->trust_domain || again->path != id->path) {
      std::abort();
    }
    const bool istio = !id->istioNamespace().empty();
    if (istio != !id->istioServiceAccount().empty()) std::abort();
  }
  auto policy = security::tls::CallerPolicy::parse(input, "fuzz.yaml");
  if (policy.ok()) {
    for (size_t api = 0; api < security::tls::kApiCount; ++api) {
      (void)policy->decide(input, static_cast<security::tls::Api>(api));
    }
  }
  return 0;
}
