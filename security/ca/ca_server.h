// The CA's gRPC face: who a caller is (WorkloadAuthenticator, shared with SDS) and Istio's
// IstioCertificateService. A caller is authenticated by
//   - a join token in `authorization: Bearer <token>` (first issue; the token is used up), or else
//   - the certificate it presented in the TLS handshake (renewal): issued by this CA, unexpired,
//     one SPIFFE URI SAN of this trust domain. The new certificate carries the same SPIFFE ID.
// Anything else is UNAUTHENTICATED, counted in pilot_ca_rejected_total{reason} and logged
// (sampled: 1st, 2nd, 4th, ... per reason). A CSR is checked before a token is redeemed, so a
// malformed or weak CSR does not use a token up. Thread-safe.
#pragma once

#include <grpcpp/grpcpp.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <memory>
#include <string>

#include "istio/v1/auth/istioca.grpc.pb.h"
#include "security/ca/certificate_authority.h"
#include "security/ca/join_tokens.h"

namespace security::ca {

enum class Rejection {
  kNoCredentials,
  kTokenUnknown,
  kTokenUsed,
  kTokenExpired,
  kCertificateUntrusted,
  kCsrMalformed,
  kCsrWeakKey,
  kCount
};
const char* rejectionName(Rejection r);

class CaMetrics {
 public:
  explicit CaMetrics(prometheus::Registry& registry);
  prometheus::Counter& rejected(Rejection r) { return *rejected_[static_cast<size_t>(r)]; }
  prometheus::Counter& issued_by_token;
  prometheus::Counter& issued_by_certificate;

 private:
  std::array<prometheus::Counter*, static_cast<size_t>(Rejection::kCount)> rejected_{};
};

// What a call carries to prove who it is.
struct CallerCredentials {
  std::string peer;    // address, for logs
  std::string bearer;  // the token of `authorization: Bearer`, or empty
  bool has_authorization = false;
  std::string cert_pem;   // the verified TLS peer's leaf certificate, or empty
  std::string chain_pem;  // what it sent above the leaf
};
CallerCredentials credentialsOf(const grpc::ServerContextBase& context);

class WorkloadAuthenticator {
 public:
  // `tokens` may be null (no --join-tokens: renewal only).
  WorkloadAuthenticator(const CertificateAuthority* ca, JoinTokenStore* tokens, CaMetrics* metrics)
      : ca_(ca), tokens_(tokens), metrics_(metrics) {}

  struct Identity {
    WorkloadId id;
    bool by_token = false;
  };
  // The caller's identity, or UNAUTHENTICATED (counted and logged). `purpose` names the call
  // in the log ("CreateCertificate", "SDS").
  absl::StatusOr<Identity> authenticate(const CallerCredentials& creds, std::string_view purpose);

  // Counts and logs a rejection; returns the UNAUTHENTICATED status to answer with.
  absl::Status reject(Rejection why, const std::string& peer, std::string_view purpose,
                      const std::string& detail);

  const CertificateAuthority& ca() const { return *ca_; }
  CaMetrics& metrics() { return *metrics_; }

 private:
  const CertificateAuthority* ca_;
  JoinTokenStore* tokens_;
  CaMetrics* metrics_;
  std::array<std::atomic<uint64_t>, static_cast<size_t>(Rejection::kCount)> log_counters_{};
};

class CertificateService final : public istio::v1::auth::IstioCertificateService::CallbackService {
 public:
  explicit CertificateService(WorkloadAuthenticator* auth) : auth_(auth) {}

  grpc::ServerUnaryReactor* CreateCertificate(
      grpc::CallbackServerContext* context, const istio::v1::auth::IstioCertificateRequest* request,
      istio::v1::auth::IstioCertificateResponse* response) override;

 private:
  WorkloadAuthenticator* auth_;
};

}  // namespace security::ca
