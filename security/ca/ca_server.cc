#include "security/ca/ca_server.h"

#include <grpc/grpc_security_constants.h>

#include "base/log.h"
#include "security/ca/csr.h"

namespace security::ca {

const char* rejectionName(Rejection r) {
  switch (r) {
    case Rejection::kNoCredentials:
      return "no_credentials";
    case Rejection::kTokenUnknown:
      return "token_unknown";
    case Rejection::kTokenUsed:
      return "token_used";
    case Rejection::kTokenExpired:
      return "token_expired";
    case Rejection::kCertificateUntrusted:
      return "certificate_untrusted";
    case Rejection::kCsrMalformed:
      return "csr_malformed";
    case Rejection::kCsrWeakKey:
      return "csr_weak_key";
    case Rejection::kCount:
      break;
  }
  return "?";
}

namespace {

prometheus::Family<prometheus::Counter>& issuedFamily(prometheus::Registry& registry) {
  return prometheus::BuildCounter()
      .Name("pilot_ca_certificates_issued_total")
      .Help("Workload certificates signed, by how the caller authenticated")
      .Register(registry);
}

}  // namespace

CaMetrics::CaMetrics(prometheus::Registry& registry)
    : issued_by_token(issuedFamily(registry).Add({{"auth", "token"}})),
      issued_by_certificate(issuedFamily(registry).Add({{"auth", "certificate"}})) {
  auto& rejected = prometheus::BuildCounter()
                       .Name("pilot_ca_rejected_total")
                       .Help("Certificate and secret requests answered UNAUTHENTICATED, by reason")
                       .Register(registry);
  for (size_t i = 0; i < rejected_.size(); ++i) {
    rejected_[i] = &rejected.Add({{"reason", rejectionName(static_cast<Rejection>(i))}});
  }
}

CallerCredentials credentialsOf(const grpc::ServerContextBase& context) {
  CallerCredentials c;
  c.peer = context.peer();
  const auto& md = context.client_metadata();
  const auto it = md.find("authorization");
  if (it != md.end()) {
    c.has_authorization = true;
    const std::string_view value(it->second.data(), it->second.size());
    constexpr std::string_view kBearer = "Bearer ";
    if (value.size() > kBearer.size() && value.substr(0, kBearer.size()) == kBearer) {
      c.bearer = std::string(value.substr(kBearer.size()));
    }
  }
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth != nullptr && auth->IsPeerAuthenticated()) {
    for (const auto& v : auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME)) {
      c.cert_pem.assign(v.data(), v.size());
    }
    for (const auto& v : auth->FindPropertyValues(GRPC_X509_PEM_CERT_CHAIN_PROPERTY_NAME)) {
      c.chain_pem.assign(v.data(), v.size());
    }
  }
  return c;
}

absl::Status WorkloadAuthenticator::reject(Rejection why, const std::string& peer,
                                           std::string_view purpose, const std::string& detail) {
  metrics_->rejected(why).Increment();
  if (mixer::logSampled(log_counters_[static_cast<size_t>(why)])) {
    MIXER_LOG(Warn) << purpose << " from " << mixer::logSafe(peer) << " UNAUTHENTICATED ("
                    << rejectionName(why) << "): " << mixer::logSafe(detail);
  }
  std::string message = std::string(rejectionName(why)) + ": " + detail;
  return absl::UnauthenticatedError(message);
}

absl::StatusOr<WorkloadAuthenticator::Identity> WorkloadAuthenticator::authenticate(
    const CallerCredentials& creds, std::string_view purpose) {
  if (creds.has_authorization) {
    if (tokens_ == nullptr) {
      return reject(Rejection::kTokenUnknown, creds.peer, purpose,
                    "this CA takes no join tokens (no --join-tokens)");
    }
    if (creds.bearer.empty()) {
      return reject(Rejection::kTokenUnknown, creds.peer, purpose,
                    "authorization is not 'Bearer <token>'");
    }
    Identity out;
    const auto outcome = tokens_->redeem(creds.bearer, std::chrono::system_clock::now(), &out.id);
    // The log names a token by the start of its digest, never by its value.
    const std::string which = "token sha256:" + tokenDigest(creds.bearer).substr(0, 12);
    switch (outcome) {
      case JoinTokenStore::Outcome::kOk:
        out.by_token = true;
        return out;
      case JoinTokenStore::Outcome::kUnknown:
        return reject(Rejection::kTokenUnknown, creds.peer, purpose, which + " is not known");
      case JoinTokenStore::Outcome::kUsed:
        return reject(Rejection::kTokenUsed, creds.peer, purpose, which + " was used already");
      case JoinTokenStore::Outcome::kExpired:
        return reject(Rejection::kTokenExpired, creds.peer, purpose, which + " has expired");
    }
  }
  if (!creds.cert_pem.empty()) {
    auto id = ca_->verifyWorkloadCertificate(creds.cert_pem, creds.chain_pem);
    if (!id.ok()) {
      return reject(Rejection::kCertificateUntrusted, creds.peer, purpose,
                    std::string(id.status().message()));
    }
    return Identity{std::move(*id), false};
  }
  return reject(Rejection::kNoCredentials, creds.peer, purpose,
                "neither a join token nor a client certificate");
}

grpc::ServerUnaryReactor* CertificateService::CreateCertificate(
    grpc::CallbackServerContext* context, const istio::v1::auth::IstioCertificateRequest* request,
    istio::v1::auth::IstioCertificateResponse* response) {
  auto* reactor = context->DefaultReactor();
  const CallerCredentials creds = credentialsOf(*context);
  auto finish = [&](const absl::Status& s) {
    reactor->Finish(
        grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message())));
    return reactor;
  };
  CsrResult csr = parseCsr(request->csr());
  if (csr.problem != CsrProblem::kNone) {
    return finish(auth_->reject(
        csr.problem == CsrProblem::kWeakKey ? Rejection::kCsrWeakKey : Rejection::kCsrMalformed,
        creds.peer, "CreateCertificate", csr.detail));
  }
  auto identity = auth_->authenticate(creds, "CreateCertificate");
  if (!identity.ok()) return finish(identity.status());
  const int64_t requested = request->validity_duration();
  auto chain = auth_->ca().sign(csr.public_key.get(), identity->id,
                                std::chrono::seconds(requested > 0 ? requested : 0));
  if (!chain.ok()) {
    MIXER_LOG(Error) << "CreateCertificate for " << identity->id.uri() << ": " << chain.status();
    return finish(chain.status());
  }
  (identity->by_token ? auth_->metrics().issued_by_token : auth_->metrics().issued_by_certificate)
      .Increment();
  MIXER_LOG(Info) << "issued a certificate for " << identity->id.uri() << " to "
                  << mixer::logSafe(creds.peer)
                  << (identity->by_token ? " (join token)" : " (renewal)");
  for (auto& pem : *chain) response->add_cert_chain(std::move(pem));
  return finish(absl::OkStatus());
}

}  // namespace security::ca
