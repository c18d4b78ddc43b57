// Fuzz target: what pilot-discovery's CA reads from outside, the CSRs of callers and the operator's
// join-token file. Each input is read
//   - as a CSR as sent (PEM text),
//   - as the DER inside a PEM armour (the input base64-encoded), to reach the ASN.1 parser, and
//   - as a join-token YAML file.
// Invariants beyond "no crash, no hang": an accepted CSR's key is RSA 2048-8192 or ECDSA
// P-256/P-384, and the certificate signed for it carries exactly the caller's SPIFFE ID and
// verifies as the CA's; an accepted token file's tokens have 16+ characters and IDs in the trust
// domain; every error names the file and a line.
#include <openssl/evp.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "security/ca/certificate_authority.h"
#include "security/ca/csr.h"
#include "security/ca/join_tokens.h"

namespace {

using namespace security::ca;

const CertificateAuthority& ca() {
  static const auto* made = CertificateAuthority::selfSigned(CaOptions{}).value().release();
  return *made;
}

void checkCsr(std::string_view pem) {
  CsrResult r = parseCsr(pem);
  if (r.problem == CsrProblem::kNone) {
    if (r.public_key == nullptr) std::abort();
    const std::string what = describeKey(r.public_key.get());
    if (what != "EC P-256" && what != "EC P-384" && what.rfind("RSA ", 0) != 0) std::abort();
    static const WorkloadId id = *parseWorkloadId("spiffe://cluster.local/ns/fuzz/sa/caller");
    auto chain = ca().sign(r.public_key.get(), id, std::chrono::seconds(0));
    if (!chain.ok() || chain->size() != 2) std::abort();
    auto verified = ca().verifyWorkloadCertificate((*chain)[0], "");
    if (!verified.ok() || verified->uri() != id.uri()) std::abort();
  } else if (r.detail.empty() || r.public_key != nullptr) {
    std::abort();
  }
}

std::string armoured(std::string_view der) {
  std::string b64(4 * ((der.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                reinterpret_cast<const unsigned char*>(der.data()),
                                static_cast<int>(der.size()));
  b64.resize(n);
  std::string out = "-----BEGIN CERTIFICATE REQUEST-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) out += b64.substr(i, 64) + "\n";
  return out + "-----END CERTIFICATE REQUEST-----\n";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16384) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  checkCsr(input);
  checkCsr(armoured(input));

  auto tokens = parseJoinTokens(input, "tokens.yaml", "cluster.local");
  if (tokens.ok()) {
    for (const JoinToken& t : *tokens) {
      if (t.token.size() < 16 || t.id.trust_domain != "cluster.local" || t.line < 1) std::abort();
    }
  } else if (std::string(tokens.status().message()).rfind("tokens.yaml:", 0) != 0) {
    std::abort();
  }
  return 0;
}
