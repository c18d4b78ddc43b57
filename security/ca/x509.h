// Small owning wrappers over OpenSSL's X.509, key and CSR objects, and the PEM and certificate
// reading the CA, its server and the agent share. Functions are thread-safe; objects are
// thread-compatible.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace security::ca {

struct OpenSslDelete {
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_REQ* p) const { X509_REQ_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
};
using X509Ptr = std::unique_ptr<X509, OpenSslDelete>;
using X509ReqPtr = std::unique_ptr<X509_REQ, OpenSslDelete>;
using KeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDelete>;

// OpenSSL's queued errors for this thread, joined, and the queue emptied.
std::string takeOpenSslErrors();

// Every CERTIFICATE block of `pem`, in order. An error if there is none or one does not parse.
absl::StatusOr<std::vector<X509Ptr>> parseCertificates(std::string_view pem);
std::string certificatePem(X509* cert);
// A private key (PKCS#8 or traditional PEM, unencrypted).
absl::StatusOr<KeyPtr> parsePrivateKey(std::string_view pem);
std::string privateKeyPem(EVP_PKEY* key);  // PKCS#8

// A new ECDSA P-256 key: what the agent and the CA's own self-signed root use.
KeyPtr generateEcP256Key();
// A CSR carrying `key`'s public key and, as a courtesy, `uri_san` (the CA ignores both the subject
// and the extensions of a CSR and writes its own).
absl::StatusOr<std::string> createCsrPem(EVP_PKEY* key, std::string_view uri_san);

// The URI subject alternative names of `cert`.
std::vector<std::string> uriSans(X509* cert);
std::vector<std::string> dnsSans(X509* cert);
std::chrono::system_clock::time_point notBefore(X509* cert);
std::chrono::system_clock::time_point notAfter(X509* cert);
bool isCa(X509* cert);
bool isSelfSigned(X509* cert);

// Reads a whole file; an error names the path.
absl::StatusOr<std::string> readFile(const std::string& path);
// Writes `data` to `path` atomically: a temporary file in the same directory, fsync, rename.
absl::Status writeFileAtomically(const std::string& path, std::string_view data, int mode);

}  // namespace security::ca
