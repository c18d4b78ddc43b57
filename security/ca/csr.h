// Reading a certificate signing request from an untrusted caller. Only the public key matters:
// the CA writes every other field of the certificate. A CSR is accepted when it is one well-formed
// PEM CERTIFICATE REQUEST of at most 64 KiB whose signature verifies with its own key (the caller
// holds the private key), and the key is RSA of 2048 to 8192 bits or ECDSA on P-256 or P-384.
// Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "security/ca/x509.h"

namespace security::ca {

enum class CsrProblem { kNone, kMalformed, kWeakKey };

struct CsrResult {
  CsrProblem problem = CsrProblem::kNone;
  std::string detail;  // what is wrong, for the log and the caller
  KeyPtr public_key;   // with kNone
};

CsrResult parseCsr(std::string_view pem);

// "RSA 2048", "EC P-256", ...: for logs and errors.
std::string describeKey(EVP_PKEY* key);

}  // namespace security::ca
