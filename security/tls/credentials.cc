#include "security/tls/credentials.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <sstream>

#include <grpc/grpc_security.h>
#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/auth_context.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <grpcpp/support/channel_arguments.h>

#include "base/str_cat.h"

namespace security::tls {
namespace {

absl::StatusOr<std::string> readFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(mixer::base::strCat(what, " ", path, ": cannot be read"));
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string opensslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "no PEM block found";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyDeleter>;

BioPtr memBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Every certificate in `pem`; an error when there is none.
absl::StatusOr<std::vector<X509Ptr>> readCerts(const std::string& path, std::string_view what) {
  auto pem = readFile(path, what);
  if (!pem.ok()) return pem.status();
  BioPtr bio = memBio(*pem);
  std::vector<X509Ptr> certs;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(x);
  }
  ERR_clear_error();  // the end of the file reads as an error
  if (certs.empty()) {
    return absl::InvalidArgumentError(
        mixer::base::strCat(what, " ", path, ": no PEM certificate (\"BEGIN CERTIFICATE\") in it"));
  }
  return certs;
}

std::string notAfter(const X509* x) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  ASN1_TIME_print(bio.get(), X509_get0_notAfter(x));
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, n);
}

}  // namespace

absl::Status checkFiles(const TlsFiles& files, bool server) {
  if (server && (files.cert.empty() || files.key.empty())) {
    return absl::InvalidArgumentError(
        "TLS needs both a certificate (--tls-cert) and a key (--tls-key)");
  }
  if (files.cert.empty() != files.key.empty()) {
    return absl::InvalidArgumentError(
        "a TLS certificate and its key go together: give both or neither");
  }
  if (!files.cert.empty()) {
    auto certs = readCerts(files.cert, "certificate");
    if (!certs.ok()) return certs.status();
    X509* leaf = certs->front().get();
    // A client with an expired certificate is the server's to refuse.
    if (server && X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0) {
      return absl::FailedPreconditionError(
          mixer::base::strCat("certificate ", files.cert, ": expired on ", notAfter(leaf)));
    }
    auto pem = readFile(files.key, "key");
    if (!pem.ok()) return pem.status();
    BioPtr bio = memBio(*pem);
    KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key) {
      return absl::InvalidArgumentError(
          mixer::base::strCat("key ", files.key, ": not a PEM private key: ", opensslError()));
    }
    if (X509_check_private_key(leaf, key.get()) != 1) {
      ERR_clear_error();
      return absl::InvalidArgumentError(
          mixer::base::strCat("key ", files.key, " does not belong to certificate ", files.cert));
    }
  }
  if (!files.ca.empty()) {
    auto cas = readCerts(files.ca, "CA file");
    if (!cas.ok()) return cas.status();
  } else if (server && files.client_cert != ClientCertMode::kNone) {
    return absl::InvalidArgumentError(
        "verifying client certificates needs the CA that signs them (--tls-client-ca)");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> serverCredentials(const TlsFiles& files) {
  if (auto s = checkFiles(files, true); !s.ok()) return s;
  const unsigned refresh = static_cast<unsigned>(std::max<int64_t>(1, files.refresh.count()));
  const bool verify_clients = !files.ca.empty() && files.client_cert != ClientCertMode::kNone;
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider;
  if (verify_clients) {
    provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        files.key, files.cert, files.ca, refresh);
  } else {
    provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        files.key, files.cert, refresh);
  }
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (verify_clients) {
    options.watch_root_certs();
    options.set_cert_request_type(files.client_cert == ClientCertMode::kRequire
                                      ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                      : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  auto creds = grpc::experimental::TlsServerCredentials(options);
  if (!creds) {
    return absl::InternalError("gRPC could not build TLS server credentials");
  }
  return creds;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> channelCredentials(
    const TlsFiles& files) {
  if (auto s = checkFiles(files, false); !s.ok()) return s;
  const unsigned refresh = static_cast<unsigned>(std::max<int64_t>(1, files.refresh.count()));
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider;
  const bool identity = !files.cert.empty();
  if (identity && !files.ca.empty()) {
    provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        files.key, files.cert, files.ca, refresh);
  } else if (identity) {
    provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        files.key, files.cert, refresh);
  } else if (!files.ca.empty()) {
    provider =
        std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(files.ca, refresh);
  }
  grpc::experimental::TlsChannelCredentialsOptions options;
  if (provider) {
    options.set_certificate_provider(provider);
    if (identity) options.watch_identity_key_cert_pairs();
    if (!files.ca.empty()) options.watch_root_certs();
  }
  auto creds = grpc::experimental::TlsCredentials(options);
  if (!creds) {
    return absl::InternalError("gRPC could not build TLS channel credentials");
  }
  return creds;
}

void enableSessionResumption(grpc::ChannelArguments* args) {
  // Never destroyed: channels hold references to it for as long as they live.
  static grpc_ssl_session_cache* const cache = grpc_ssl_session_cache_create_lru(kSessionCacheSize);
  // gRPC's own argument carries the cache's reference-counting functions.
  const grpc_arg arg = grpc_ssl_session_cache_create_channel_arg(cache);
  args->SetPointerWithVtable(arg.key, arg.value.pointer.p, arg.value.pointer.vtable);
}

PeerIdentity peerIdentity(const grpc::AuthContext& context) {
  PeerIdentity id;
  const auto type = context.FindPropertyValues(GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME);
  id.tls = !type.empty() && (type.front() == GRPC_SSL_TRANSPORT_SECURITY_TYPE ||
                             type.front() == GRPC_TLS_TRANSPORT_SECURITY_TYPE);
  if (!id.tls || !context.IsPeerAuthenticated()) {
    return id;
  }
  id.authenticated = true;
  if (auto spiffe = context.FindPropertyValues(GRPC_PEER_SPIFFE_ID_PROPERTY_NAME);
      !spiffe.empty()) {
    id.principal.assign(spiffe.front().data(), spiffe.front().size());
  } else if (auto dns = context.FindPropertyValues(GRPC_PEER_DNS_PROPERTY_NAME); !dns.empty()) {
    id.principal.assign(dns.front().data(), dns.front().size());
  }
  return id;
}

}  // namespace security::tls
