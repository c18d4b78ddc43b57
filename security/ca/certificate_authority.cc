#include "security/ca/certificate_authority.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "absl/status/status.h"

namespace security::ca {
namespace {

using Clock = std::chrono::system_clock;

bool addExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

bool setRandomSerial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return false;
  bytes[0] &= 0x7f;  // positive
  bytes[0] |= 0x01;  // and 16 bytes long, never zero
  BIGNUM* bn = BN_bin2bn(bytes, sizeof(bytes), nullptr);
  const bool ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr;
  BN_free(bn);
  return ok;
}

void setTime(ASN1_TIME* t, Clock::time_point when) { ASN1_TIME_set(t, Clock::to_time_t(when)); }

const EVP_MD* digestFor(EVP_PKEY* signing_key) {
  if (EVP_PKEY_get_base_id(signing_key) == EVP_PKEY_EC && EVP_PKEY_get_bits(signing_key) > 256) {
    return EVP_sha384();
  }
  if (EVP_PKEY_get_base_id(signing_key) == EVP_PKEY_ED25519) return nullptr;
  return EVP_sha256();
}

}  // namespace

absl::StatusOr<std::unique_ptr<CertificateAuthority>> CertificateAuthority::fromPem(
    std::string_view cert_pem, std::string_view key_pem, std::string_view extra_roots_pem,
    CaOptions options) {
  if (!validTrustDomain(options.trust_domain)) {
    return absl::InvalidArgumentError("bad trust domain '" + options.trust_domain + "'");
  }
  auto chain = parseCertificates(cert_pem);
  if (!chain.ok())
    return absl::InvalidArgumentError("CA certificate: " + std::string(chain.status().message()));
  auto key = parsePrivateKey(key_pem);
  if (!key.ok())
    return absl::InvalidArgumentError("CA key: " + std::string(key.status().message()));
  std::vector<X509Ptr> extra;
  if (!extra_roots_pem.empty()) {
    auto roots = parseCertificates(extra_roots_pem);
    if (!roots.ok())
      return absl::InvalidArgumentError("trust bundle: " + std::string(roots.status().message()));
    extra = std::move(*roots);
  }
  std::unique_ptr<CertificateAuthority> ca(new CertificateAuthority());
  ca->options_ = std::move(options);
  if (auto s = ca->init(std::move(*chain), std::move(*key), std::move(extra)); !s.ok()) return s;
  return ca;
}

absl::StatusOr<std::unique_ptr<CertificateAuthority>> CertificateAuthority::selfSigned(
    CaOptions options) {
  if (!validTrustDomain(options.trust_domain)) {
    return absl::InvalidArgumentError("bad trust domain '" + options.trust_domain + "'");
  }
  KeyPtr key = generateEcP256Key();
  X509Ptr root(X509_new());
  if (key == nullptr || root == nullptr) return absl::InternalError(takeOpenSslErrors());
  X509_set_version(root.get(), 2);
  setRandomSerial(root.get());
  X509_NAME* name = X509_get_subject_name(root.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(options.trust_domain.c_str()),
                             -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("pilot-discovery root CA"), -1,
                             -1, 0);
  X509_set_issuer_name(root.get(), name);
  const auto now = Clock::now();
  setTime(X509_getm_notBefore(root.get()), now - std::chrono::minutes(1));
  setTime(X509_getm_notAfter(root.get()), now + std::chrono::hours(24 * 3650));
  X509_set_pubkey(root.get(), key.get());
  if (!addExtension(root.get(), root.get(), NID_basic_constraints, "critical,CA:TRUE") ||
      !addExtension(root.get(), root.get(), NID_key_usage,
                    "critical,keyCertSign,cRLSign,digitalSignature") ||
      !addExtension(root.get(), root.get(), NID_subject_key_identifier, "hash") ||
      X509_sign(root.get(), key.get(), EVP_sha256()) <= 0) {
    return absl::InternalError("self-signing the root: " + takeOpenSslErrors());
  }
  std::vector<X509Ptr> chain;
  chain.push_back(std::move(root));
  std::unique_ptr<CertificateAuthority> ca(new CertificateAuthority());
  ca->options_ = std::move(options);
  if (auto s = ca->init(std::move(chain), std::move(key), {}); !s.ok()) return s;
  return ca;
}

absl::Status CertificateAuthority::init(std::vector<X509Ptr> chain, KeyPtr key,
                                        std::vector<X509Ptr> extra_roots) {
  signer_ = std::move(chain.front());
  key_ = std::move(key);
  if (!isCa(signer_.get()) || (X509_get_key_usage(signer_.get()) & KU_KEY_CERT_SIGN) == 0) {
    return absl::InvalidArgumentError(
        "the CA certificate is no CA (basicConstraints CA:TRUE and keyUsage keyCertSign needed)");
  }
  if (X509_check_private_key(signer_.get(), key_.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("the CA key does not belong to the CA certificate");
  }
  if (notAfter(signer_.get()) <= Clock::now()) {
    return absl::InvalidArgumentError("the CA certificate has expired");
  }
  // Walk up: each certificate must be issued by the next; the last must be self-signed, or be
  // issued by one of the extra roots.
  X509* top = signer_.get();
  for (size_t i = 1; i < chain.size(); ++i) {
    if (X509_check_issued(chain[i].get(), top) != X509_V_OK) {
      return absl::InvalidArgumentError("certificate " + std::to_string(i + 1) +
                                        " of the CA file did not issue the one before it");
    }
    top = chain[i].get();
  }
  X509Ptr root;
  if (isSelfSigned(top)) {
    if (top == signer_.get()) {
      root.reset(X509_dup(top));
    } else {
      root = std::move(chain.back());
      chain.pop_back();
    }
  } else {
    for (auto& r : extra_roots) {
      if (X509_check_issued(r.get(), top) == X509_V_OK) {
        root.reset(X509_dup(r.get()));
        break;
      }
    }
    if (root == nullptr) {
      return absl::InvalidArgumentError(
          "the CA's chain does not reach a self-signed root: append the intermediates and the "
          "root to --ca-cert, or give the root in --ca-trust-bundle");
    }
  }
  for (size_t i = 1; i < chain.size(); ++i) intermediates_.push_back(std::move(chain[i]));
  chain_pem_.push_back(certificatePem(signer_.get()));
  for (auto& c : intermediates_) chain_pem_.push_back(certificatePem(c.get()));
  if (root.get() != nullptr && X509_cmp(root.get(), signer_.get()) != 0) {
    chain_pem_.push_back(certificatePem(root.get()));
  }
  trust_bundle_pem_ = certificatePem(root.get());
  roots_.push_back(std::move(root));
  for (auto& r : extra_roots) {
    bool dup = false;
    for (auto& have : roots_) dup = dup || X509_cmp(have.get(), r.get()) == 0;
    if (dup) continue;
    if (!isSelfSigned(r.get()) || !isCa(r.get())) {
      return absl::InvalidArgumentError("the trust bundle holds a certificate that is no root CA");
    }
    trust_bundle_pem_ += certificatePem(r.get());
    roots_.push_back(std::move(r));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> CertificateAuthority::sign(
    EVP_PKEY* public_key, const WorkloadId& id, std::chrono::seconds requested) const {
  if (id.trust_domain != options_.trust_domain) {
    return absl::InvalidArgumentError("SPIFFE ID " + id.uri() + " is not in trust domain " +
                                      options_.trust_domain);
  }
  const auto now = Clock::now();
  std::chrono::seconds ttl = options_.workload_ttl;
  if (requested.count() > 0 && requested < ttl) ttl = requested;
  auto not_after = now + ttl;
  const auto signer_end = notAfter(signer_.get());
  if (signer_end < not_after) not_after = signer_end;
  if (not_after <= now) return absl::FailedPreconditionError("the CA certificate has expired");
  auto not_before = now - std::chrono::minutes(1);
  const auto signer_start = notBefore(signer_.get());
  if (not_before < signer_start) not_before = signer_start;

  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  if (!setRandomSerial(cert.get())) return absl::InternalError(takeOpenSslErrors());
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer_.get()));
  // Subject left empty: the identity is the SAN (which is then critical, RFC 5280 4.2.1.6).
  setTime(X509_getm_notBefore(cert.get()), not_before);
  setTime(X509_getm_notAfter(cert.get()), not_after);
  if (X509_set_pubkey(cert.get(), public_key) != 1) {
    return absl::InvalidArgumentError("unusable public key: " + takeOpenSslErrors());
  }
  const std::string uri = id.uri();
  GENERAL_NAMES* names = GENERAL_NAMES_new();
  GENERAL_NAME* name = GENERAL_NAME_new();
  ASN1_IA5STRING* value = ASN1_IA5STRING_new();
  ASN1_STRING_set(value, uri.data(), static_cast<int>(uri.size()));
  GENERAL_NAME_set0_value(name, GEN_URI, value);
  sk_GENERAL_NAME_push(names, name);
  for (const std::string& dns : id.dns_names) {
    if (!validDnsName(dns)) {
      GENERAL_NAMES_free(names);
      return absl::InvalidArgumentError("bad DNS name '" + dns + "'");
    }
    GENERAL_NAME* n = GENERAL_NAME_new();
    ASN1_IA5STRING* v = ASN1_IA5STRING_new();
    ASN1_STRING_set(v, dns.data(), static_cast<int>(dns.size()));
    GENERAL_NAME_set0_value(n, GEN_DNS, v);
    sk_GENERAL_NAME_push(names, n);
  }
  const bool san_ok =
      X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names, 1, X509V3_ADD_DEFAULT) == 1;
  GENERAL_NAMES_free(names);
  if (!san_ok ||
      !addExtension(cert.get(), signer_.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !addExtension(cert.get(), signer_.get(), NID_key_usage,
                    "critical,digitalSignature,keyEncipherment") ||
      !addExtension(cert.get(), signer_.get(), NID_ext_key_usage, "serverAuth,clientAuth") ||
      !addExtension(cert.get(), signer_.get(), NID_subject_key_identifier, "hash") ||
      !addExtension(cert.get(), signer_.get(), NID_authority_key_identifier, "keyid:always")) {
    return absl::InternalError("certificate extensions: " + takeOpenSslErrors());
  }
  if (X509_sign(cert.get(), key_.get(), digestFor(key_.get())) <= 0) {
    return absl::InternalError("signing: " + takeOpenSslErrors());
  }
  std::vector<std::string> out;
  out.reserve(chain_pem_.size() + 1);
  out.push_back(certificatePem(cert.get()));
  out.insert(out.end(), chain_pem_.begin(), chain_pem_.end());
  return out;
}

absl::StatusOr<WorkloadId> CertificateAuthority::verifyWorkloadCertificate(
    std::string_view leaf_pem, std::string_view chain_pem) const {
  auto leaf = parseCertificates(leaf_pem);
  if (!leaf.ok()) return leaf.status();
  std::vector<X509Ptr> presented;
  if (!chain_pem.empty()) {
    auto chain = parseCertificates(chain_pem);
    if (chain.ok()) presented = std::move(*chain);
  }
  X509* cert = (*leaf)[0].get();
  std::unique_ptr<X509_STORE, OpenSslDelete> store(X509_STORE_new());
  for (const auto& r : roots_) X509_STORE_add_cert(store.get(), r.get());
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  sk_X509_push(untrusted, signer_.get());
  for (const auto& c : intermediates_) sk_X509_push(untrusted, c.get());
  for (const auto& c : presented) {
    if (X509_cmp(c.get(), cert) != 0) sk_X509_push(untrusted, c.get());
  }
  std::unique_ptr<X509_STORE_CTX, OpenSslDelete> ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), cert, untrusted);
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT);
  const int ok = X509_verify_cert(ctx.get());
  const int err = X509_STORE_CTX_get_error(ctx.get());
  sk_X509_free(untrusted);
  ERR_clear_error();
  if (ok != 1) {
    return absl::UnauthenticatedError(std::string("certificate not issued by this mesh's CA: ") +
                                      X509_verify_cert_error_string(err));
  }
  if (isCa(cert)) return absl::UnauthenticatedError("a CA certificate is no workload's");
  const std::vector<std::string> uris = uriSans(cert);
  if (uris.size() != 1) {
    return absl::UnauthenticatedError("a workload certificate has exactly one URI SAN");
  }
  auto id = parseWorkloadId(uris[0]);
  if (!id.ok()) return absl::UnauthenticatedError(std::string(id.status().message()));
  if (id->trust_domain != options_.trust_domain) {
    return absl::UnauthenticatedError("SPIFFE ID " + uris[0] + " is not in trust domain " +
                                      options_.trust_domain);
  }
  id->dns_names = dnsSans(cert);
  return *id;
}

}  // namespace security::ca
