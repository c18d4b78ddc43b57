#include "pilot/agent/agent.h"

#include <grpcpp/grpcpp.h>

#include <random>
#include <thread>

#include "base/log.h"
#include "envoy/extensions/transport_sockets/tls/v3/secret.pb.h"
#include "envoy/service/secret/v3/sds.grpc.pb.h"
#include "istio/v1/auth/istioca.grpc.pb.h"
#include "pilot/xds/secrets.h"
#include "security/ca/x509.h"

namespace pilot::agent {
namespace {

using Clock = std::chrono::system_clock;
namespace ca = security::ca;

std::string join(const std::string& dir, const char* name) { return dir + "/" + name; }

grpc::Status callStatus(const absl::Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

}  // namespace

Agent::Agent(AgentOptions options)
    : options_(std::move(options)),
      cert_path_(join(options_.out_dir, "cert-chain.pem")),
      key_path_(join(options_.out_dir, "key.pem")),
      root_path_(join(options_.out_dir, "root-cert.pem")) {}

void Agent::loadExisting() {
  auto cert = ca::readFile(cert_path_);
  auto key = ca::readFile(key_path_);
  if (!cert.ok() || !key.ok()) return;
  auto certs = ca::parseCertificates(*cert);
  auto pkey = ca::parsePrivateKey(*key);
  if (!certs.ok() || !pkey.ok()) return;
  X509* leaf = (*certs)[0].get();
  if (X509_check_private_key(leaf, pkey->get()) != 1 || ca::notAfter(leaf) <= Clock::now()) {
    ca::takeOpenSslErrors();
    return;
  }
  const auto uris = ca::uriSans(leaf);
  spiffe_id_ = uris.empty() ? "" : uris[0];
  not_after_ = ca::notAfter(leaf);
  const auto start = ca::notBefore(leaf);
  renew_at_ = start + (not_after_ - start) / 2;
  key_ = std::move(*pkey);
  MIXER_LOG(Info) << "using the certificate in " << cert_path_ << " (" << spiffe_id_ << ")";
}

absl::Status Agent::obtainOnce() {
  const bool renewing = hasCertificate();
  if (!renewing && (options_.token.empty() || token_used_)) {
    return absl::FailedPreconditionError(
        "no valid certificate to renew with and no unused join token");
  }
  const bool tls = !options_.ca_root_file.empty();
  if (renewing && !tls) {
    return absl::FailedPreconditionError("renewal needs TLS to the CA (--ca-root)");
  }
  // The CA's channel: plaintext, TLS, or (renewing) mutual TLS with the current certificate.
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  grpc::ChannelArguments args;
  std::string roots;
  if (tls) {
    auto r = ca::readFile(options_.ca_root_file);
    if (!r.ok()) return r.status();
    roots = *r;
    // Once a trust bundle was fetched, it verifies the CA as well (a rotated root).
    if (auto bundle = ca::readFile(root_path_); bundle.ok() && renewing) roots += *bundle;
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = roots;
    if (renewing) {
      auto cert = ca::readFile(cert_path_);
      auto key = ca::readFile(key_path_);
      if (!cert.ok()) return cert.status();
      if (!key.ok()) return key.status();
      ssl.pem_cert_chain = *cert;
      ssl.pem_private_key = *key;
    }
    creds = grpc::SslCredentials(ssl);
    if (!options_.server_name.empty()) {
      args.SetSslTargetNameOverride(options_.server_name);
    }
  }
  auto channel = grpc::CreateCustomChannel(options_.ca_address, creds, args);

  const bool new_key = key_ == nullptr || !renewing;
  ca::KeyPtr made;
  if (new_key) made = ca::generateEcP256Key();
  EVP_PKEY* key = new_key ? made.get() : key_.get();
  auto csr = ca::createCsrPem(key, spiffe_id_);
  if (!csr.ok()) return csr.status();
  istio::v1::auth::IstioCertificateRequest request;
  request.set_csr(*csr);
  request.set_validity_duration(options_.requested_ttl.count());
  istio::v1::auth::IstioCertificateResponse response;
  grpc::ClientContext context;
  context.set_deadline(Clock::now() + options_.call_timeout);
  if (!renewing) context.AddMetadata("authorization", "Bearer " + options_.token);
  auto stub = istio::v1::auth::IstioCertificateService::NewStub(channel);
  const grpc::Status status = stub->CreateCertificate(&context, request, &response);
  if (!status.ok()) {
    if (!renewing && status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
      token_used_ = true;  // a refused token does not become good by retrying
    }
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        "CreateCertificate: " + status.error_message());
  }
  if (!renewing) token_used_ = true;
  if (response.cert_chain_size() < 2) {
    return absl::InternalError("CreateCertificate answered without a chain up to a root");
  }
  std::string chain;
  for (int i = 0; i + 1 < response.cert_chain_size(); ++i) chain += response.cert_chain(i);
  std::string bundle = response.cert_chain(response.cert_chain_size() - 1);
  auto leaf = ca::parseCertificates(response.cert_chain(0));
  if (!leaf.ok()) return leaf.status();
  if (X509_check_private_key((*leaf)[0].get(), key) != 1) {
    ca::takeOpenSslErrors();
    return absl::InternalError("the CA signed a different key");
  }
  const std::string key_pem = ca::privateKeyPem(key);

  // The whole trust bundle (all roots during a rotation), as SDS's ROOTCA, with the new
  // certificate.
  if (tls) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = roots;
    ssl.pem_cert_chain = chain;
    ssl.pem_private_key = key_pem;
    auto sds_channel =
        grpc::CreateCustomChannel(options_.ca_address, grpc::SslCredentials(ssl), args);
    envoy::service::discovery::v3::DiscoveryRequest sds_request;
    sds_request.set_type_url(std::string(xds::kSecretTypeUrl));
    sds_request.add_resource_names(std::string(xds::kRootCaSecret));
    sds_request.mutable_node()->set_id("pilot-agent");
    envoy::service::discovery::v3::DiscoveryResponse sds_response;
    grpc::ClientContext sds_context;
    sds_context.set_deadline(Clock::now() + options_.call_timeout);
    const grpc::Status s = envoy::service::secret::v3::SecretDiscoveryService::NewStub(sds_channel)
                               ->FetchSecrets(&sds_context, sds_request, &sds_response);
    envoy::extensions::transport_sockets::tls::v3::Secret secret;
    if (s.ok() && sds_response.resources_size() == 1 &&
        secret.ParseFromString(sds_response.resources(0).value()) &&
        secret.has_validation_context()) {
      bundle = secret.validation_context().trusted_ca().inline_bytes();
    } else if (!s.ok()) {
      MIXER_LOG(Warn) << "ROOTCA not fetched (" << s.error_message()
                      << "); root-cert.pem holds the chain's root";
    }
  }

  if (auto s = ca::writeFileAtomically(root_path_, bundle, 0644); !s.ok()) return s;
  if (new_key) {
    if (auto s = ca::writeFileAtomically(key_path_, key_pem, 0600); !s.ok()) return s;
    key_ = std::move(made);
  }
  if (auto s = ca::writeFileAtomically(cert_path_, chain, 0644); !s.ok()) return s;

  const auto uris = ca::uriSans((*leaf)[0].get());
  spiffe_id_ = uris.empty() ? "" : uris[0];
  not_after_ = ca::notAfter((*leaf)[0].get());
  // Half of the life left: the CA back-dates notBefore for clock skew.
  const auto received = Clock::now();
  renew_at_ = received + (not_after_ - received) / 2;
  MIXER_LOG(Info)
      << (renewing ? "renewed " : "obtained ") << spiffe_id_ << ", valid until "
      << std::chrono::duration_cast<std::chrono::seconds>(not_after_.time_since_epoch()).count()
      << " (unix), next renewal in "
      << std::chrono::duration_cast<std::chrono::seconds>(renew_at_ - Clock::now()).count() << "s";
  return absl::OkStatus();
}

void Agent::run(const std::atomic<bool>& stop) {
  std::mt19937_64 rng(std::random_device{}());
  auto backoff = options_.backoff_initial;
  auto sleepUntil = [&](Clock::time_point when) {
    while (!stop && Clock::now() < when) {
      const auto left = when - Clock::now();
      std::this_thread::sleep_for(std::min<Clock::duration>(left, std::chrono::milliseconds(100)));
    }
  };
  while (!stop) {
    if (hasCertificate() && Clock::now() < renew_at_) {
      sleepUntil(renew_at_);
      continue;
    }
    const absl::Status s = obtainOnce();
    if (s.ok()) {
      backoff = options_.backoff_initial;
      continue;
    }
    // Up to a quarter of jitter, so that agents restarted together do not retry together.
    const auto jitter = std::chrono::milliseconds(
        std::uniform_int_distribution<int64_t>(0, backoff.count() / 4)(rng));
    MIXER_LOG(Warn) << "certificate not obtained: " << s.message() << "; retrying in "
                    << (backoff + jitter).count() << " ms";
    sleepUntil(Clock::now() + backoff + jitter);
    backoff = std::min(backoff * 2, options_.backoff_max);
  }
}

}  // namespace pilot::agent
