// Secrets for SDS (on the ADS stream and as envoy.service.secret.v3.SecretDiscoveryService): the
// names istio-agent serves,
//   `default`  the caller's workload certificate chain and private key (TlsCertificate), and
//   `ROOTCA`   the trust bundle (CertificateValidationContext.trusted_ca),
// both inline. The caller is authenticated once per stream by the CA's rules (a join token, or
// its current certificate over mTLS); pilot-discovery then generates an ECDSA P-256 key, signs a
// certificate for the caller's SPIFFE ID and sends both, and sends a new pair when half of the
// certificate's life has passed (refreshDue). Thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "envoy/service/discovery/v3/discovery.pb.h"
#include "security/ca/ca_server.h"

namespace pilot::xds {

inline constexpr std::string_view kSecretTypeUrl =
    "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";
inline constexpr std::string_view kDefaultSecret = "default";
inline constexpr std::string_view kRootCaSecret = "ROOTCA";

class SecretProvider {
 public:
  explicit SecretProvider(security::ca::WorkloadAuthenticator* auth) : auth_(auth) {}

  // One authenticated caller's secrets. Thread-compatible (a stream guards its own).
  struct Session {
    security::ca::WorkloadId id;
    std::string chain_pem;  // leaf and intermediates
    std::string key_pem;
    std::chrono::system_clock::time_point refresh_at{};
    uint64_t version = 0;
    bool by_token = false;  // how the caller authenticated
  };

  // Authenticates a stream's caller ("SDS" in logs and metrics).
  absl::StatusOr<std::unique_ptr<Session>> open(const security::ca::CallerCredentials& creds);

  // Answers `names` (each `default` or `ROOTCA`; others are left out) into `response`: type URL,
  // version and resources. Issues a certificate when the session has none or it is due.
  absl::Status respond(Session* session, const std::vector<std::string>& names,
                       envoy::service::discovery::v3::DiscoveryResponse* response);

  // True when the session's certificate has passed half of its life.
  static bool due(const Session& session, std::chrono::system_clock::time_point now) {
    return session.version > 0 && now >= session.refresh_at;
  }

 private:
  absl::Status issue(Session* session);

  security::ca::WorkloadAuthenticator* auth_;
};

}  // namespace pilot::xds
