#include "pilot/xds/secrets.h"

#include <algorithm>

#include "base/log.h"
#include "envoy/extensions/transport_sockets/tls/v3/secret.pb.h"
#include "security/ca/x509.h"

namespace pilot::xds {

absl::StatusOr<std::unique_ptr<SecretProvider::Session>> SecretProvider::open(
    const security::ca::CallerCredentials& creds) {
  auto identity = auth_->authenticate(creds, "SDS");
  if (!identity.ok()) return identity.status();
  auto session = std::make_unique<Session>();
  session->id = std::move(identity->id);
  session->by_token = identity->by_token;
  return session;
}

absl::Status SecretProvider::issue(Session* session) {
  security::ca::KeyPtr key = security::ca::generateEcP256Key();
  if (key == nullptr) return absl::InternalError("key generation failed");
  auto chain = auth_->ca().sign(key.get(), session->id, std::chrono::seconds(0));
  if (!chain.ok()) return chain.status();
  // The root travels in ROOTCA, not in the workload's chain.
  std::string pem;
  for (size_t i = 0; i + 1 < chain->size(); ++i) pem += (*chain)[i];
  auto leaf = security::ca::parseCertificates((*chain)[0]);
  if (!leaf.ok()) return leaf.status();
  // Half of the life left: the CA back-dates notBefore for clock skew.
  const auto start = std::chrono::system_clock::now();
  const auto end = security::ca::notAfter((*leaf)[0].get());
  session->chain_pem = std::move(pem);
  session->key_pem = security::ca::privateKeyPem(key.get());
  session->refresh_at = start + (end - start) / 2;
  ++session->version;
  (session->by_token ? auth_->metrics().issued_by_token : auth_->metrics().issued_by_certificate)
      .Increment();
  MIXER_LOG(Info) << "SDS: issued a certificate for " << session->id.uri();
  return absl::OkStatus();
}

absl::Status SecretProvider::respond(Session* session, const std::vector<std::string>& names,
                                     envoy::service::discovery::v3::DiscoveryResponse* response) {
  const bool wants_default = std::find(names.begin(), names.end(), kDefaultSecret) != names.end();
  if (wants_default && (session->version == 0 || due(*session, std::chrono::system_clock::now()))) {
    if (auto s = issue(session); !s.ok()) return s;
  }
  response->set_type_url(std::string(kSecretTypeUrl));
  response->set_version_info(std::to_string(session->version));
  for (const std::string& name : names) {
    envoy::extensions::transport_sockets::tls::v3::Secret secret;
    secret.set_name(name);
    if (name == kDefaultSecret) {
      auto* tls = secret.mutable_tls_certificate();
      tls->mutable_certificate_chain()->set_inline_bytes(session->chain_pem);
      tls->mutable_private_key()->set_inline_bytes(session->key_pem);
    } else if (name == kRootCaSecret) {
      secret.mutable_validation_context()->mutable_trusted_ca()->set_inline_bytes(
          auth_->ca().trustBundlePem());
    } else {
      continue;
    }
    auto* any = response->add_resources();
    any->set_type_url(std::string(kSecretTypeUrl));
    secret.SerializeToString(any->mutable_value());
  }
  return absl::OkStatus();
}

}  // namespace pilot::xds
