#include "security/tls/http_tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <sys/stat.h>

#include <array>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>

#include "base/log.h"
#include "base/str_cat.h"
#include "security/tls/spiffe.h"

namespace security::tls {
namespace {

using Clock = std::chrono::steady_clock;

std::string sslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "the peer closed the connection";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

// What identifies a file's content for reloading: stat() follows symbolic links, so a swapped
// directory link shows as a new inode.
struct Stamp {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const Stamp&) const = default;
};

Stamp stamp(const std::string& path) {
  Stamp s;
  struct stat st {};
  if (!path.empty() && stat(path.c_str(), &st) == 0) {
    s = {st.st_dev, st.st_ino, st.st_size,
         static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
  }
  return s;
}

struct CtxDeleter {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};

// Selects the one protocol of `arg` (a std::string in ALPN's wire form: a length byte, the name)
// when the client offers it.
int selectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void* arg) {
  const auto* wire = static_cast<const std::string*>(arg);
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, reinterpret_cast<const unsigned char*>(wire->data()),
                            static_cast<unsigned int>(wire->size()), in,
                            inlen) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// `alpn`: empty, or a protocol in ALPN's wire form. OWNERSHIP: it must outlive the context
// (FileHttpTls keeps it).
absl::StatusOr<std::shared_ptr<SSL_CTX>> buildContext(const TlsFiles& files,
                                                      const std::string* alpn) {
  if (auto s = checkFiles(files, true); !s.ok()) return s;
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), CtxDeleter());
  if (!ctx) return absl::InternalError(mixer::base::strCat("TLS: ", sslError()));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), files.cert.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx.get(), files.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    return absl::InvalidArgumentError(mixer::base::strCat("TLS certificate ", files.cert,
                                                          " or key ", files.key, ": ", sslError()));
  }
  if (!files.ca.empty() && files.client_cert != ClientCertMode::kNone) {
    if (SSL_CTX_load_verify_locations(ctx.get(), files.ca.c_str(), nullptr) != 1) {
      return absl::InvalidArgumentError(
          mixer::base::strCat("CA file ", files.ca, ": ", sslError()));
    }
    SSL_CTX_set_verify(
        ctx.get(),
        SSL_VERIFY_PEER |
            (files.client_cert == ClientCertMode::kRequire ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
        nullptr);
  }
  if (!alpn->empty()) {
    SSL_CTX_set_alpn_select_cb(ctx.get(), &selectAlpn, const_cast<std::string*>(alpn));
  }
  return ctx;
}

// The verified peer's principal: its SPIFFE ID when it has exactly one URI SAN and that is one,
// else its first DNS SAN.
std::string principalOf(SSL* ssl) {
  X509* peer = SSL_get0_peer_certificate(ssl);
  if (peer == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return "";
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(peer, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return "";
  std::string uri, dns;
  int uris = 0;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    const ASN1_IA5STRING* value = nullptr;
    if (n->type == GEN_URI) {
      ++uris;
      value = n->d.uniformResourceIdentifier;
      uri.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                 ASN1_STRING_length(value));
    } else if (n->type == GEN_DNS && dns.empty()) {
      value = n->d.dNSName;
      dns.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                 ASN1_STRING_length(value));
    }
  }
  GENERAL_NAMES_free(names);
  if (uris == 1 && parseSpiffeId(uri).ok()) return uri;
  return dns;
}

std::atomic<uint64_t> handshake_logs{0};

class Session final : public mixer::HttpTlsSession {
 public:
  Session(std::shared_ptr<SSL_CTX> ctx, SSL* ssl, int fd)
      : ctx_(std::move(ctx)), ssl_(ssl), fd_(fd) {}
  ~Session() override { SSL_free(ssl_); }

  ssize_t read(char* buf, size_t size, bool* want_write) override {
    ERR_clear_error();
    const int n = SSL_read(ssl_, buf, static_cast<int>(std::min<size_t>(size, INT32_MAX)));
    if (n > 0) {
      established();
      return n;
    }
    return fail(n, want_write, true);
  }

  ssize_t write(const char* buf, size_t size, bool* want_write) override {
    ERR_clear_error();
    const int n = SSL_write(ssl_, buf, static_cast<int>(std::min<size_t>(size, INT32_MAX)));
    if (n > 0) return n;
    return fail(n, want_write, false);
  }

  void close() override {
    if (established_ && !closed_) {
      closed_ = true;
      ERR_clear_error();
      (void)SSL_shutdown(ssl_);
      ERR_clear_error();
    }
  }

  std::string_view peerPrincipal() const override { return principal_; }

 private:
  void established() {
    if (!established_) {
      established_ = true;
      principal_ = principalOf(ssl_);
    }
  }

  ssize_t fail(int n, bool* want_write, bool reading) {
    switch (SSL_get_error(ssl_, n)) {
      case SSL_ERROR_WANT_READ:
        *want_write = false;
        errno = EAGAIN;
        return -1;
      case SSL_ERROR_WANT_WRITE:
        *want_write = true;
        errno = EAGAIN;
        return -1;
      case SSL_ERROR_ZERO_RETURN:
        if (reading) return 0;
        errno = EPIPE;
        return -1;
      default: {
        const bool in_handshake = !SSL_is_init_finished(ssl_);
        const std::string reason = sslError();
        if (in_handshake && mixer::logSampled(handshake_logs)) {
          MIXER_LOG(Warn) << "TLS handshake failed (fd " << fd_ << "): " << reason;
        }
        errno = ECONNRESET;
        return -1;
      }
    }
  }

  std::shared_ptr<SSL_CTX> ctx_;  // the files this session was made with
  SSL* ssl_;
  int fd_;
  bool established_ = false;
  bool closed_ = false;
  std::string principal_;
};

class FileHttpTls final : public mixer::HttpTls {
 public:
  FileHttpTls(TlsFiles files, std::unique_ptr<const std::string> alpn, std::shared_ptr<SSL_CTX> ctx)
      : files_(std::move(files)), alpn_(std::move(alpn)), ctx_(std::move(ctx)) {
    stamps_ = stamps();
    next_check_ = Clock::now() + files_.refresh;
  }

  std::unique_ptr<mixer::HttpTlsSession> accept(int fd) override {
    std::shared_ptr<SSL_CTX> ctx = current();
    SSL* ssl = SSL_new(ctx.get());
    if (ssl == nullptr || SSL_set_fd(ssl, fd) != 1) {
      SSL_free(ssl);
      ERR_clear_error();
      return nullptr;
    }
    SSL_set_accept_state(ssl);
    return std::make_unique<Session>(std::move(ctx), ssl, fd);
  }

 private:
  std::array<Stamp, 3> stamps() const {
    return {stamp(files_.cert), stamp(files_.key), stamp(files_.ca)};
  }

  // The context for a new session, rebuilt when the files changed (checked every `refresh`).
  std::shared_ptr<SSL_CTX> current() {
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = Clock::now();
    if (now < next_check_) return ctx_;
    next_check_ = now + files_.refresh;
    const auto now_stamps = stamps();
    if (now_stamps == stamps_) return ctx_;
    auto rebuilt = buildContext(files_, alpn_.get());
    if (!rebuilt.ok()) {
      // Half-written files, or a key not yet matching its certificate: keep serving with what
      // was loaded, and look again at the next check.
      MIXER_LOG(Warn) << "TLS files changed but cannot be loaded (keeping the previous ones): "
                      << rebuilt.status().message();
      return ctx_;
    }
    stamps_ = now_stamps;
    ctx_ = *std::move(rebuilt);
    MIXER_LOG(Info) << "TLS: reloaded " << files_.cert;
    return ctx_;
  }

  const TlsFiles files_;
  const std::unique_ptr<const std::string> alpn_;  // in wire form; the contexts point to it
  std::mutex mu_;
  std::shared_ptr<SSL_CTX> ctx_;
  std::array<Stamp, 3> stamps_;
  Clock::time_point next_check_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<mixer::HttpTls>> httpServerTls(const TlsFiles& files,
                                                              std::string alpn) {
  // OpenSSL's socket BIO writes with write(): a client that went away would raise SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  if (alpn.size() > 255) return absl::InvalidArgumentError("ALPN protocol name too long");
  auto protocol = std::make_unique<const std::string>(
      alpn.empty() ? std::string() : static_cast<char>(alpn.size()) + alpn);
  auto ctx = buildContext(files, protocol.get());
  if (!ctx.ok()) return ctx.status();
  return std::make_shared<FileHttpTls>(files, std::move(protocol), *std::move(ctx));
}

}  // namespace security::tls
