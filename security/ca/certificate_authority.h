// The CA: signs workload certificates with a signing certificate and key (a root, or an
// intermediate whose chain up to a root is given), verifies the certificates workloads present
// when they renew, and holds the trust bundle.
//
// A workload certificate has an empty subject and exactly one URI subject alternative name, the
// workload's SPIFFE ID (critical SANs), beside the DNS names of the WorkloadId, if any (never
// names from the CSR); it is for TLS client and server authentication, is
// not a CA, and is valid from a minute ago (clock skew) until the earliest of the requested
// validity, the workload TTL and the signing certificate's own expiry.
// Thread-safe: every method is const after construction.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "security/ca/spiffe_id.h"
#include "security/ca/x509.h"

namespace security::ca {

struct CaOptions {
  std::string trust_domain = "cluster.local";
  std::chrono::seconds workload_ttl = std::chrono::hours(24);
};

class CertificateAuthority {
 public:
  // `cert_pem`: the signing certificate, optionally followed by the intermediates and the root
  // above it. `extra_roots_pem` (may be empty): more trusted roots, served in the trust bundle
  // and accepted for renewal (a root rotation's overlap). The signing chain must end at a
  // self-signed root, in `cert_pem` or among the extra roots.
  static absl::StatusOr<std::unique_ptr<CertificateAuthority>> fromPem(
      std::string_view cert_pem, std::string_view key_pem, std::string_view extra_roots_pem,
      CaOptions options);
  // A new self-signed root (ECDSA P-256, ten years, O=<trust domain>), its key only in memory.
  static absl::StatusOr<std::unique_ptr<CertificateAuthority>> selfSigned(CaOptions options);

  // Signs `public_key` for `id`. `requested`: 0 for the TTL. Returns the chain, leaf first, root
  // last. Fails when the signing certificate has expired.
  absl::StatusOr<std::vector<std::string>> sign(EVP_PKEY* public_key, const WorkloadId& id,
                                                std::chrono::seconds requested) const;

  // Checks a certificate presented for renewal: it chains to a root of the trust bundle, is
  // unexpired, is no CA, and carries exactly one URI SAN, a SPIFFE ID of this trust domain.
  // `chain_pem`: what the peer sent above its leaf (may be empty). Returns the SPIFFE ID.
  absl::StatusOr<WorkloadId> verifyWorkloadCertificate(std::string_view leaf_pem,
                                                       std::string_view chain_pem) const;

  // The roots workloads trust: the signing chain's root, then the extra roots (PEM).
  const std::string& trustBundlePem() const { return trust_bundle_pem_; }
  // The signing certificate and its issuers up to and including the root (PEM each).
  const std::vector<std::string>& signingChainPem() const { return chain_pem_; }
  const std::string& trustDomain() const { return options_.trust_domain; }
  std::chrono::seconds workloadTtl() const { return options_.workload_ttl; }
  std::chrono::system_clock::time_point signerNotAfter() const { return notAfter(signer_.get()); }

 private:
  CertificateAuthority() = default;
  absl::Status init(std::vector<X509Ptr> chain, KeyPtr key, std::vector<X509Ptr> extra_roots);

  CaOptions options_;
  X509Ptr signer_;
  KeyPtr key_;
  std::vector<X509Ptr> intermediates_;  // above the signer, below the root
  std::vector<X509Ptr> roots_;          // the chain's root first
  std::vector<std::string> chain_pem_;
  std::string trust_bundle_pem_;
};

}  // namespace security::ca
