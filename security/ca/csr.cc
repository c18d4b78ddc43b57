#include "security/ca/csr.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <cstring>

namespace security::ca {
namespace {

constexpr size_t kMaxCsrBytes = 64 * 1024;
constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE REQUEST-----";
constexpr std::string_view kEnd = "-----END CERTIFICATE REQUEST-----";

std::string curveName(EVP_PKEY* key) {
  char name[64] = {};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), &len) !=
      1) {
    return "";
  }
  return std::string(name, len);
}

bool onlySpace(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return false;
  }
  return true;
}

CsrResult fail(CsrProblem problem, std::string detail) {
  CsrResult r;
  r.problem = problem;
  r.detail = std::move(detail);
  return r;
}

}  // namespace

std::string describeKey(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      return "RSA " + std::to_string(EVP_PKEY_get_bits(key));
    case EVP_PKEY_EC: {
      const std::string curve = curveName(key);
      if (curve == "prime256v1") return "EC P-256";
      if (curve == "secp384r1") return "EC P-384";
      return "EC " + (curve.empty() ? std::string("(explicit parameters)") : curve);
    }
    case EVP_PKEY_ED25519:
      return "Ed25519";
    case EVP_PKEY_DSA:
      return "DSA " + std::to_string(EVP_PKEY_get_bits(key));
    default:
      return std::string(OBJ_nid2sn(EVP_PKEY_get_base_id(key)));
  }
}

CsrResult parseCsr(std::string_view pem) {
  if (pem.size() > kMaxCsrBytes) return fail(CsrProblem::kMalformed, "CSR larger than 64 KiB");
  // Exactly one block, nothing but white space around it.
  const size_t begin = pem.find(kBegin);
  const size_t end = pem.find(kEnd);
  if (begin == std::string_view::npos || end == std::string_view::npos || end < begin) {
    return fail(CsrProblem::kMalformed, "no PEM CERTIFICATE REQUEST block");
  }
  if (!onlySpace(pem.substr(0, begin)) || !onlySpace(pem.substr(end + kEnd.size())) ||
      pem.find(kBegin, begin + 1) != std::string_view::npos) {
    return fail(CsrProblem::kMalformed, "text besides the one CERTIFICATE REQUEST block");
  }
  std::unique_ptr<BIO, OpenSslDelete> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509ReqPtr req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (req == nullptr) {
    return fail(CsrProblem::kMalformed, "unreadable CSR: " + takeOpenSslErrors());
  }
  KeyPtr key(X509_REQ_get_pubkey(req.get()));
  if (key == nullptr) {
    return fail(CsrProblem::kMalformed, "CSR public key unreadable: " + takeOpenSslErrors());
  }
  const std::string what = describeKey(key.get());
  switch (EVP_PKEY_get_base_id(key.get())) {
    case EVP_PKEY_RSA: {
      const int bits = EVP_PKEY_get_bits(key.get());
      if (bits < 2048) return fail(CsrProblem::kWeakKey, what + ": RSA keys need 2048 bits");
      if (bits > 8192) return fail(CsrProblem::kWeakKey, what + ": RSA keys over 8192 bits");
      break;
    }
    case EVP_PKEY_EC: {
      const std::string curve = curveName(key.get());
      if (curve != "prime256v1" && curve != "secp384r1") {
        return fail(CsrProblem::kWeakKey, what + ": ECDSA keys must be on P-256 or P-384");
      }
      break;
    }
    default:
      return fail(CsrProblem::kWeakKey, what + ": keys must be RSA or ECDSA P-256/P-384");
  }
  // Proof of possession: the request is signed with the private half of its key.
  if (X509_REQ_verify(req.get(), key.get()) != 1) {
    ERR_clear_error();
    return fail(CsrProblem::kMalformed, "the CSR's signature does not verify with its key");
  }
  ERR_clear_error();
  CsrResult r;
  r.public_key = std::move(key);
  return r;
}

}  // namespace security::ca
