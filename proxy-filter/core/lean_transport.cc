#include "proxy-filter/core/lean_transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "base/grpc_message.h"

namespace mixer::proxy {

using istio::mixer::v1::CheckRequest;
using istio::mixer::v1::CheckResponse;
using istio::mixer::v1::ReportRequest;

namespace {

constexpr int64_t kConnectTimeoutMs = 20000;  // gRPC's minimum connect timeout
constexpr int64_t kMaxReconnectBackoffMs = 120000;
// How long a connection whose streams are all Reports may go unread (see Conn::in_wanted).
constexpr int64_t kLazyReadMs = 50;

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) {
    return "";
  }
  return std::string(s.substr(b, s.find_last_not_of(" \t") - b + 1));
}

bool isIpLiteral(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// OpenSSL's socket BIO with one change: it writes with send(MSG_NOSIGNAL) instead of write(), so
// that writing to a connection the server has closed fails with EPIPE instead of raising SIGPIPE
// (which would end a host that has not ignored it). Reads, controls and the rest are the socket
// BIO's own.
int noSignalWrite(BIO* bio, const char* data, int size) {
  int fd = -1;
  BIO_get_fd(bio, &fd);
  errno = 0;
  const ssize_t n = ::send(fd, data, static_cast<size_t>(size), MSG_NOSIGNAL);
  BIO_clear_retry_flags(bio);
  if (n <= 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    BIO_set_retry_write(bio);
  }
  return static_cast<int>(n);
}

int noSignalPuts(BIO* bio, const char* text) {
  return noSignalWrite(bio, text, static_cast<int>(std::strlen(text)));
}

const BIO_METHOD* noSignalSocket() {
  static const BIO_METHOD* const method = [] {
    const BIO_METHOD* socket = BIO_s_socket();
    BIO_METHOD* m = BIO_meth_new(BIO_TYPE_SOCKET, "socket, sent without SIGPIPE");
    BIO_meth_set_write(m, &noSignalWrite);
    BIO_meth_set_puts(m, &noSignalPuts);
    BIO_meth_set_read(m, BIO_meth_get_read(socket));
    BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(socket));
    BIO_meth_set_create(m, BIO_meth_get_create(socket));
    BIO_meth_set_destroy(m, BIO_meth_get_destroy(socket));
    return m;
  }();
  return method;
}

// How gRPC reads a stream reset without grpc-status.
grpc::StatusCode resetCode(uint32_t error) {
  switch (error) {
    case NGHTTP2_REFUSED_STREAM:
      return grpc::StatusCode::UNAVAILABLE;
    case NGHTTP2_CANCEL:
      return grpc::StatusCode::CANCELLED;
    case NGHTTP2_ENHANCE_YOUR_CALM:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case NGHTTP2_INADEQUATE_SECURITY:
      return grpc::StatusCode::PERMISSION_DENIED;
    default:
      return grpc::StatusCode::INTERNAL;
  }
}

// How gRPC reads an HTTP status without grpc-status.
grpc::StatusCode httpCode(int status) {
  switch (status) {
    case 400:
      return grpc::StatusCode::INTERNAL;
    case 401:
      return grpc::StatusCode::UNAUTHENTICATED;
    case 403:
      return grpc::StatusCode::PERMISSION_DENIED;
    case 404:
      return grpc::StatusCode::UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return grpc::StatusCode::UNAVAILABLE;
    default:
      return grpc::StatusCode::UNKNOWN;
  }
}

std::string sslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) {
    return errno != 0 ? std::strerror(errno) : "connection closed during the TLS handshake";
  }
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

int64_t mtime(const std::string& path) {
  struct stat st {};
  return path.empty() || stat(path.c_str(), &st) != 0
             ? 0
             : st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

struct Conn;

// One call, from check()/report() until its `done` runs, across its attempts.
struct Call {
  bool check = false;
  std::shared_ptr<const std::string> body;  // the gRPC message: 5-byte prefix, then the request
  MixerTransport::CheckDone check_done;
  MixerTransport::ReportDone report_done;
  int retries = 0;
  bool resent_refused = false;
  enum Phase { kNew, kWaiting, kOnStream, kRetryWait } phase = kNew;
  std::multimap<int64_t, Call*>::iterator timer;
  bool timer_armed = false;
  struct Stream* stream = nullptr;
};

// One HTTP/2 stream's state; it outlives its call when the call gave up first (the stream is
// reset, and libnghttp2 may still read the body until then).
struct Stream {
  Conn* conn = nullptr;
  int32_t id = 0;
  Call* call = nullptr;  // null once the call gave up
  std::shared_ptr<const std::string> body;
  size_t sent = 0;
  int http_status = 0;
  bool has_status = false;
  int grpc_status = 0;
  std::string grpc_message;
  std::string response;
  bool too_large = false;
};

struct Conn {
  std::string host, port, label;  // label: the address connected to, for messages
  std::string authority;          // host:port, each request's :authority
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  enum State { kIdle, kConnecting, kHandshaking, kReady, kBackoff } state = kIdle;
  int fd = -1;
  SSL* ssl = nullptr;
  nghttp2_session* h2 = nullptr;
  bool goaway = false;  // no new streams
  bool gone = false;    // no longer resolved: closed when its streams are done
  // A replica's connection after GOAWAY, replaced by a new one (reconnected when a call needs it):
  // closed when its streams are done.
  bool draining = false;
  bool out_wanted = false;
  // Whether the thread wakes for the connection's bytes. Not while its only streams are Reports
  // with nothing left to send: their answers are read at the thread's next wake-up (the next call
  // queued, usually the next batch) or within kLazyReadMs, instead of costing a wake-up each.
  bool in_wanted = true;
  int64_t lazy_since = 0;
  bool dirty = false;
  std::string out;
  size_t out_off = 0;
  int64_t backoff_ms = 0;
  int64_t retry_at = 0;
  int64_t connect_deadline = 0;
  SSL_SESSION* ticket = nullptr;
  std::unordered_set<Stream*> streams;
  std::string last_error;
};

struct Finished {
  Call* call;
  grpc::StatusCode code;
  std::string message;
  bool refused;
  std::string response;  // when OK: the whole gRPC message, its 5-byte prefix first
};

}  // namespace

class LeanTransport::Loop {
 public:
  explicit Loop(LeanTransportOptions options)
      : options_(std::move(options)), random_(std::random_device{}()) {}

  ~Loop() {
    if (thread_.joinable()) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        closing_ = true;  // Reports' answers are read at once from now on
        wake_pending_ = true;
      }
      wake();
      {
        std::unique_lock<std::mutex> lock(mutex_);
        idle_.wait(lock, [this] { return in_flight_ == 0; });
        stopping_ = true;
      }
      wake();
      thread_.join();
    }
    for (auto& c : conns_) {
      closeConn(c.get(), "", false);
      if (c->ticket != nullptr) SSL_SESSION_free(c->ticket);
    }
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    if (callbacks_ != nullptr) nghttp2_session_callbacks_del(callbacks_);
    if (epoll_ >= 0) ::close(epoll_);
    if (event_ >= 0) ::close(event_);
  }

  absl::Status start() {
    // The per-attempt deadline as grpc-timeout (at most 8 digits).
    const int64_t ms = std::max<int64_t>(1, options_.timeout_ms);
    timeout_header_ = ms <= 99999999 ? std::to_string(ms) + "m" : std::to_string(ms / 1000) + "S";
    std::string error;
    endpoints_ = leanEndpoints(options_.address, &error);
    if (endpoints_.empty()) {
      return absl::InvalidArgumentError("mixs address '" + options_.address + "': " + error);
    }
    for (const auto& [host, port] : endpoints_) {
      has_names_ = has_names_ || !isIpLiteral(host);
    }
    if (options_.tls) {
      if (absl::Status s = security::tls::checkFiles(options_.tls_files, false); !s.ok()) {
        return s;
      }
      if (absl::Status s = loadTls(); !s.ok()) {
        return s;
      }
    }
    resolve();
    nghttp2_session_callbacks_new(&callbacks_);
    nghttp2_session_callbacks_set_on_header_callback(callbacks_, &onHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks_, &onData);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks_, &onStreamClose);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks_, &onFrame);
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    event_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_ < 0 || event_ < 0) {
      return absl::InternalError(std::string("epoll/eventfd: ") + std::strerror(errno));
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, event_, &ev);
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "mixer-lean");
      run();
    });
    return absl::OkStatus();
  }

  void submit(bool check, std::string request, MixerTransport::CheckDone check_done,
              MixerTransport::ReportDone report_done) {
    auto* call = new Call;
    call->check = check;
    // The gRPC message prefix: not compressed, then the length (big-endian).
    const uint32_t n = static_cast<uint32_t>(request.size());
    const char prefix[5] = {0, static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                            static_cast<char>(n >> 8), static_cast<char>(n)};
    request.insert(0, prefix, 5);
    call->body = std::make_shared<const std::string>(std::move(request));
    call->check_done = std::move(check_done);
    call->report_done = std::move(report_done);
    bool wake_now = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++in_flight_;
      incoming_.push_back(call);
      wake_now = !wake_pending_;
      wake_pending_ = true;
    }
    if (wake_now) wake();
  }

 private:
  void wake() {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(event_, &one, sizeof(one));
  }

  // ---- TLS ----

  absl::Status loadTls() {
    const auto& f = options_.tls_files;
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    auto fail = [ctx](const std::string& what) {
      SSL_CTX_free(ctx);
      return absl::InvalidArgumentError(what + ": " + sslError());
    };
    if (f.ca.empty() ? SSL_CTX_set_default_verify_paths(ctx) != 1
                     : SSL_CTX_load_verify_locations(ctx, f.ca.c_str(), nullptr) != 1) {
      return fail("TLS CA " + (f.ca.empty() ? std::string("(system roots)") : f.ca));
    }
    if (!f.cert.empty()) {
      if (SSL_CTX_use_certificate_chain_file(ctx, f.cert.c_str()) != 1) {
        return fail("TLS certificate " + f.cert);
      }
      if (SSL_CTX_use_PrivateKey_file(ctx, f.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
          SSL_CTX_check_private_key(ctx) != 1) {
        return fail("TLS key " + f.key);
      }
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    static const unsigned char kAlpn[] = {2, 'h', '2'};
    SSL_CTX_set_alpn_protos(ctx, kAlpn, sizeof(kAlpn));
    // Sessions are kept per replica (Conn::ticket), from the tickets the server sends.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, &onNewSession);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    ctx_ = ctx;
    tls_mtimes_ = {mtime(f.ca), mtime(f.cert), mtime(f.key)};
    tls_checked_ms_ = nowMs();
    return absl::OkStatus();
  }

  // The files re-read when they changed (checked at most every `refresh`); a new connection uses
  // them, and a failed read keeps the last good ones.
  void refreshTls() {
    const int64_t now = nowMs();
    const auto& f = options_.tls_files;
    if (now - tls_checked_ms_ < std::chrono::milliseconds(f.refresh).count()) return;
    tls_checked_ms_ = now;
    if (std::vector<int64_t>{mtime(f.ca), mtime(f.cert), mtime(f.key)} != tls_mtimes_) {
      (void)loadTls();
    }
  }

  static int onNewSession(SSL* ssl, SSL_SESSION* session) {
    auto* c = static_cast<Conn*>(SSL_get_app_data(ssl));
    if (c == nullptr) return 0;
    if (c->ticket != nullptr) SSL_SESSION_free(c->ticket);
    c->ticket = session;
    return 1;  // kept
  }

  // ---- replicas ----

  void resolve() {
    last_resolve_ms_ = nowMs();
    resolve_error_.clear();
    std::vector<Conn*> seen;
    for (const auto& [host, port] : endpoints_) {
      const std::vector<addrinfo*> lists = lookUp(host, port);
      for (addrinfo* list : lists) {
        addLookedUp(host, port, list, &seen);
        freeaddrinfo(list);
      }
      if (lists.empty()) {
        // A failed resolution keeps the name's replicas (as gRPC keeps its last addresses).
        for (auto& c : conns_) {
          if (c->host == host && c->port == port) seen.push_back(c.get());
        }
      }
    }
    for (auto& c : conns_) {
      if (std::find(seen.begin(), seen.end(), c.get()) == seen.end()) c->gone = true;
    }
  }

  // getaddrinfo's answers for `host` (one list; with options_.resolve_name, one per literal).
  std::vector<addrinfo*> lookUp(const std::string& host, const std::string& port) {
    std::vector<std::string> names{host};
    if (options_.resolve_name && !isIpLiteral(host)) names = options_.resolve_name(host);
    std::vector<addrinfo*> lists;
    for (const std::string& name : names) {
      addrinfo hints{};
      hints.ai_socktype = SOCK_STREAM;
      hints.ai_flags = isIpLiteral(name) ? AI_NUMERICHOST : 0;
      addrinfo* list = nullptr;
      if (getaddrinfo(name.c_str(), port.c_str(), &hints, &list) == 0) lists.push_back(list);
    }
    if (lists.empty()) resolve_error_ = "cannot resolve " + host;
    return lists;
  }

  // Keeps a replica for every address of `list` (a new one for an address not seen before).
  void addLookedUp(const std::string& host, const std::string& port, addrinfo* list,
                   std::vector<Conn*>* seen) {
    for (addrinfo* a = list; a != nullptr; a = a->ai_next) {
      Conn* c = findConn(a->ai_addr, a->ai_addrlen);
      if (c == nullptr) {
        auto conn = std::make_unique<Conn>();
        conn->host = host;
        conn->port = port;
        std::memcpy(&conn->addr, a->ai_addr, a->ai_addrlen);
        conn->addr_len = a->ai_addrlen;
        char ip[INET6_ADDRSTRLEN] = "";
        const void* raw =
            a->ai_family == AF_INET6
                ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr)
                : &reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr;
        inet_ntop(a->ai_family, raw, ip, sizeof(ip));
        conn->label = (a->ai_family == AF_INET6 ? "[" + std::string(ip) + "]" : ip) + ":" + port;
        conn->authority = host + ":" + port;
        c = conn.get();
        conns_.push_back(std::move(conn));
      }
      c->gone = false;
      seen->push_back(c);
    }
  }

  Conn* findConn(const sockaddr* addr, socklen_t len) {
    for (auto& c : conns_) {
      if (!c->draining && c->addr_len == len && std::memcmp(&c->addr, addr, len) == 0) {
        return c.get();
      }
    }
    return nullptr;
  }

  // ---- connections ----

  void connect(Conn* c) {
    c->last_error.clear();
    c->fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
      failConn(c, std::string("socket: ") + std::strerror(errno));
      return;
    }
    const int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->state = Conn::kConnecting;
    c->connect_deadline = nowMs() + kConnectTimeoutMs;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.ptr = c;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, c->fd, &ev);
    c->out_wanted = true;
    if (::connect(c->fd, reinterpret_cast<sockaddr*>(&c->addr), c->addr_len) != 0 &&
        errno != EINPROGRESS) {
      failConn(c, std::string("connect: ") + std::strerror(errno));
    }
  }

  void wantOut(Conn* c, bool on) {
    if (c->out_wanted == on || c->fd < 0) return;
    c->out_wanted = on;
    setEvents(c);
  }

  void setEvents(Conn* c) {
    epoll_event ev{};
    ev.events = (c->in_wanted ? EPOLLIN : 0u) | (c->out_wanted ? EPOLLOUT : 0u);
    ev.data.ptr = c;
    epoll_ctl(epoll_, EPOLL_CTL_MOD, c->fd, &ev);
  }

  // A ready connection whose streams are all Reports, with nothing left to send, stops waking the
  // thread (in_wanted); any other goes back to waking it (level-triggered: at once when bytes
  // wait).
  void updateLaziness(Conn* c, int64_t now) {
    if (c->state != Conn::kReady || c->fd < 0) return;
    bool lazy = !closing_seen_ && !c->streams.empty() && c->out_off == c->out.size() &&
                nghttp2_session_want_write(c->h2) == 0;
    // Every stream a Report (or given up) whose body is all sent: a body held back by flow
    // control waits for the server's WINDOW_UPDATE, which must wake the thread.
    for (auto it = c->streams.begin(); lazy && it != c->streams.end(); ++it) {
      const Stream& st = **it;
      lazy = (st.call == nullptr || !st.call->check) &&
             (st.body == nullptr || st.sent == st.body->size());
    }
    if (lazy == !c->in_wanted) return;
    c->in_wanted = !lazy;
    c->lazy_since = now;
    setEvents(c);
  }

  void connected(Conn* c) {
    int error = 0;
    socklen_t len = sizeof(error);
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &len);
    if (error != 0) {
      failConn(c, std::string("connect: ") + std::strerror(error));
      return;
    }
    if (!options_.tls) {
      ready(c);
      return;
    }
    refreshTls();
    c->ssl = SSL_new(ctx_);
    BIO* bio = c->ssl != nullptr ? BIO_new(noSignalSocket()) : nullptr;
    if (bio == nullptr) {
      failConn(c, "TLS: " + sslError());  // out of memory
      return;
    }
    SSL_set_app_data(c->ssl, c);
    BIO_set_fd(bio, c->fd, BIO_NOCLOSE);
    SSL_set_bio(c->ssl, bio, bio);
    SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    const std::string& name = options_.server_name.empty() ? c->host : options_.server_name;
    if (isIpLiteral(name)) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), name.c_str());
    } else {
      SSL_set_tlsext_host_name(c->ssl, name.c_str());
      SSL_set1_host(c->ssl, name.c_str());
    }
    if (c->ticket != nullptr) SSL_set_session(c->ssl, c->ticket);
    c->state = Conn::kHandshaking;
    handshake(c);
  }

  void handshake(Conn* c) {
    ERR_clear_error();
    errno = 0;
    const int rv = SSL_connect(c->ssl);
    if (rv == 1) {
      const unsigned char* alpn = nullptr;
      unsigned int alpn_len = 0;
      SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
      if (alpn_len != 2 || std::memcmp(alpn, "h2", 2) != 0) {
        failConn(c, "the server did not select HTTP/2 (ALPN h2)");
        return;
      }
      if (SSL_session_reused(c->ssl)) ++resumed_;
      ready(c);
      return;
    }
    const int e = SSL_get_error(c->ssl, rv);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      wantOut(c, e == SSL_ERROR_WANT_WRITE);
      return;
    }
    const long verify = SSL_get_verify_result(c->ssl);
    failConn(c, "TLS handshake: " + (verify != X509_V_OK
                                         ? std::string(X509_verify_cert_error_string(verify))
                                         : sslError()));
  }

  void ready(Conn* c) {
    nghttp2_session_client_new(&c->h2, callbacks_, this);
    const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0}};
    nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, settings, 1);
    c->state = Conn::kReady;
    c->goaway = false;
    c->backoff_ms = 0;
    c->dirty = true;
    ++connects_;
    // Calls that waited for a connection go out now.
    std::deque<Call*> waiting;
    waiting.swap(waiting_);
    for (Call* call : waiting) dispatch(call);
  }

  // Closes the connection; its streams' calls fail with UNAVAILABLE (`why`). A connection that
  // had been up goes idle (reconnected when a call needs it); one that never came up backs off.
  void failConn(Conn* c, const std::string& why) {
    const bool was_ready = c->state == Conn::kReady;
    closeConn(c, why, true);
    c->last_error = why;
    if (was_ready) {
      c->state = Conn::kIdle;
    } else {
      c->backoff_ms = c->backoff_ms == 0
                          ? options_.reconnect_backoff_ms
                          : std::min<int64_t>(kMaxReconnectBackoffMs, c->backoff_ms * 8 / 5);
      const int64_t jitter = c->backoff_ms / 5;
      c->retry_at =
          nowMs() + c->backoff_ms +
          (jitter > 0 ? std::uniform_int_distribution<int64_t>(-jitter, jitter)(random_) : 0);
      c->state = Conn::kBackoff;
      if (!anyPending()) failWaiting();
    }
  }

  void closeConn(Conn* c, const std::string& why, bool fail_calls) {
    for (Stream* s : c->streams) {
      if (s->call != nullptr && fail_calls) {
        s->call->stream = nullptr;
        over(s->call, grpc::StatusCode::UNAVAILABLE,
             "connection to mixs at " + c->label + " lost: " + why);
      }
      delete s;
    }
    c->streams.clear();
    if (c->h2 != nullptr) {
      nghttp2_session_del(c->h2);
      c->h2 = nullptr;
    }
    if (c->ssl != nullptr) {
      // Closed as if after close_notify, so that OpenSSL keeps the session resumable (it drops a
      // session whose connection ends otherwise); nothing more is written to the socket.
      SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
      SSL_free(c->ssl);
      c->ssl = nullptr;
    }
    if (c->fd >= 0) {
      if (epoll_ >= 0) epoll_ctl(epoll_, EPOLL_CTL_DEL, c->fd, nullptr);
      ::close(c->fd);
      c->fd = -1;
    }
    c->out.clear();
    c->out_off = 0;
    c->out_wanted = false;
    c->in_wanted = true;
    c->dirty = false;
    c->state = Conn::kIdle;
  }

  bool anyPending() const {
    for (const auto& c : conns_) {
      if (!c->gone && (c->state == Conn::kConnecting || c->state == Conn::kHandshaking ||
                       (c->state == Conn::kReady && !c->goaway))) {
        return true;
      }
    }
    return false;
  }

  std::string unreachable() const {
    std::string why;
    for (const auto& c : conns_) {
      if (!c->gone && !c->draining && !c->last_error.empty()) {
        why += (why.empty() ? "" : "; ") + c->label + ": " + c->last_error;
      }
    }
    if (why.empty()) why = resolve_error_.empty() ? "no address" : resolve_error_;
    return "no mixs replica reachable (" + why + ")";
  }

  void failWaiting() {
    std::deque<Call*> waiting;
    waiting.swap(waiting_);
    const std::string why = unreachable();
    for (Call* call : waiting) {
      over(call, grpc::StatusCode::UNAVAILABLE, why);
    }
  }

  void onEvent(Conn* c, uint32_t events) {
    switch (c->state) {
      case Conn::kConnecting:
        connected(c);
        return;
      case Conn::kHandshaking:
        handshake(c);
        return;
      case Conn::kReady:
        if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) readConn(c);
        if (c->state == Conn::kReady && (events & EPOLLOUT)) c->dirty = true;
        return;
      default:
        return;
    }
  }

  void readConn(Conn* c) {
    uint8_t buf[16384];
    while (c->state == Conn::kReady) {
      ssize_t n;
      if (c->ssl != nullptr) {
        ERR_clear_error();
        const int rv = SSL_read(c->ssl, buf, sizeof(buf));
        if (rv <= 0) {
          const int e = SSL_get_error(c->ssl, rv);
          if (e == SSL_ERROR_WANT_READ) return;
          if (e == SSL_ERROR_WANT_WRITE) {
            wantOut(c, true);
            return;
          }
          failConn(c, e == SSL_ERROR_ZERO_RETURN ? "closed by the server" : "TLS: " + sslError());
          return;
        }
        n = rv;
      } else {
        n = ::read(c->fd, buf, sizeof(buf));
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (n <= 0) {
          failConn(c, n == 0 ? "closed by the server" : std::strerror(errno));
          return;
        }
      }
      const ssize_t used = nghttp2_session_mem_recv(c->h2, buf, static_cast<size_t>(n));
      if (used < 0) {
        failConn(c, std::string("HTTP/2: ") + nghttp2_strerror(static_cast<int>(used)));
        return;
      }
      c->dirty = true;
      if (static_cast<size_t>(n) < sizeof(buf) && c->ssl == nullptr) return;
    }
  }

  // Writes what libnghttp2 has to send; closes a connection that has nothing more to do (after a
  // GOAWAY, once its streams are done).
  void flush(Conn* c) {
    c->dirty = false;
    while (c->state == Conn::kReady) {
      if (c->out_off == c->out.size()) {
        c->out.clear();
        c->out_off = 0;
        const uint8_t* data = nullptr;
        ssize_t n;
        while (c->out.size() < 65536 && (n = nghttp2_session_mem_send(c->h2, &data)) > 0) {
          c->out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
        }
        if (c->out.empty()) {
          wantOut(c, false);
          if ((!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2)) ||
              (c->goaway && c->streams.empty())) {
            closeConn(c, "the server ended the connection (GOAWAY)", true);
          }
          return;
        }
      }
      const char* p = c->out.data() + c->out_off;
      const size_t left = c->out.size() - c->out_off;
      ssize_t n;
      if (c->ssl != nullptr) {
        ERR_clear_error();
        const int rv = SSL_write(c->ssl, p, static_cast<int>(left));
        if (rv <= 0) {
          const int e = SSL_get_error(c->ssl, rv);
          if (e == SSL_ERROR_WANT_WRITE) {
            wantOut(c, true);
            return;
          }
          if (e == SSL_ERROR_WANT_READ) return;  // reading is always watched
          failConn(c, "TLS: " + sslError());
          return;
        }
        n = rv;
      } else {
        n = ::send(c->fd, p, left, MSG_NOSIGNAL);
        if (n < 0) {
          if (errno == EAGAIN || errno == EINTR) {
            wantOut(c, true);
            return;
          }
          failConn(c, std::strerror(errno));
          return;
        }
      }
      c->out_off += static_cast<size_t>(n);
    }
  }

  // ---- calls ----

  void arm(Call* call, int64_t due) {
    disarm(call);
    call->timer = timers_.emplace(due, call);
    call->timer_armed = true;
  }
  void disarm(Call* call) {
    if (call->timer_armed) {
      timers_.erase(call->timer);
      call->timer_armed = false;
    }
  }

  // The attempt is over: finish() takes it (after the current I/O), and no timer may end it again.
  void over(Call* call, grpc::StatusCode code, std::string message, bool refused = false,
            std::string response = "") {
    disarm(call);
    call->phase = Call::kNew;
    finished_.push_back({call, code, std::move(message), refused, std::move(response)});
  }

  // A new attempt: its deadline starts now.
  void attempt(Call* call) {
    arm(call, nowMs() + options_.timeout_ms);
    dispatch(call);
  }

  Conn* pickReady() {
    const size_t n = conns_.size();
    for (size_t i = 0; i < n; ++i) {
      Conn* c = conns_[(next_ + i) % n].get();
      // Streams past the server's concurrency limit wait in libnghttp2 for one to close.
      if (c->state != Conn::kReady || c->goaway || c->gone) continue;
      next_ = (next_ + i + 1) % n;
      return c;
    }
    return nullptr;
  }

  void dispatch(Call* call) {
    // Replicas not connected (never, or since they went idle) are connected now, so that every
    // healthy replica takes its share.
    for (auto& c : conns_) {
      if (c->state == Conn::kIdle && !c->gone && !c->draining) connect(c.get());
    }
    Conn* c = pickReady();
    if (c != nullptr) {
      startStream(c, call);
      return;
    }
    if (anyPending()) {
      call->phase = Call::kWaiting;
      waiting_.push_back(call);
      return;
    }
    over(call, grpc::StatusCode::UNAVAILABLE, unreachable());
  }

  void startStream(Conn* c, Call* call) {
    auto* s = new Stream;
    s->conn = c;
    s->call = call;
    s->body = call->body;
    const char* path = call->check ? "/istio.mixer.v1.Mixer/Check" : "/istio.mixer.v1.Mixer/Report";
    auto nv = [](const char* name, const std::string_view value) {
      return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name)),
                        reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())),
                        std::strlen(name), value.size(), NGHTTP2_NV_FLAG_NO_COPY_NAME};
    };
    const nghttp2_nv headers[] = {
        nv(":method", "POST"),
        nv(":scheme", options_.tls ? "https" : "http"),
        nv(":path", path),
        nv(":authority", c->authority),
        nv("content-type", "application/grpc"),
        nv("te", "trailers"),
        nv("grpc-timeout", timeout_header_),
        nv("user-agent", "mixer-proxy-lean"),
    };
    nghttp2_data_provider provider{};
    provider.source.ptr = s;
    provider.read_callback = &readBody;
    const int32_t id = nghttp2_submit_request(c->h2, nullptr, headers,
                                              sizeof(headers) / sizeof(headers[0]), &provider, s);
    if (id < 0) {
      delete s;
      over(call, grpc::StatusCode::UNAVAILABLE, std::string("HTTP/2: ") + nghttp2_strerror(id));
      return;
    }
    s->id = id;
    c->streams.insert(s);
    c->dirty = true;
    call->phase = Call::kOnStream;
    call->stream = s;
  }

  static ssize_t readBody(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                          nghttp2_data_source* source, void*) {
    auto* s = static_cast<Stream*>(source->ptr);
    const size_t n = std::min(length, s->body->size() - s->sent);
    std::memcpy(buf, s->body->data() + s->sent, n);
    s->sent += n;
    if (s->sent == s->body->size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  static Stream* streamOf(nghttp2_session* h2, int32_t id) {
    return static_cast<Stream*>(nghttp2_session_get_stream_user_data(h2, id));
  }

  static int onHeader(nghttp2_session* h2, const nghttp2_frame* frame, const uint8_t* name,
                      size_t name_len, const uint8_t* value, size_t value_len, uint8_t, void*) {
    Stream* s = streamOf(h2, frame->hd.stream_id);
    if (s == nullptr) return 0;
    const std::string_view n(reinterpret_cast<const char*>(name), name_len);
    const std::string_view v(reinterpret_cast<const char*>(value), value_len);
    if (n == ":status") {
      s->http_status = std::atoi(std::string(v).c_str());
    } else if (n == "grpc-status") {
      s->has_status = true;
      s->grpc_status = std::atoi(std::string(v).c_str());
    } else if (n == "grpc-message") {
      s->grpc_message = base::percentDecodeGrpcMessage(v);
    }
    return 0;
  }

  static int onData(nghttp2_session* h2, uint8_t, int32_t id, const uint8_t* data, size_t len,
                    void* user) {
    Stream* s = streamOf(h2, id);
    if (s == nullptr || s->too_large) return 0;
    auto* loop = static_cast<Loop*>(user);
    if (s->response.size() + len > loop->options_.max_response_bytes + 5) {
      s->too_large = true;
      nghttp2_submit_rst_stream(h2, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
      return 0;
    }
    s->response.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }

  static int onFrame(nghttp2_session* h2, const nghttp2_frame* frame, void* user) {
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      auto* loop = static_cast<Loop*>(user);
      for (auto& c : loop->conns_) {
        if (c->h2 == h2) c->goaway = true;
      }
    }
    return 0;
  }

  static int onStreamClose(nghttp2_session* h2, int32_t id, uint32_t error, void* user) {
    Stream* s = streamOf(h2, id);
    if (s == nullptr) return 0;
    auto* loop = static_cast<Loop*>(user);
    s->conn->streams.erase(s);
    s->conn->dirty = true;
    if (s->call != nullptr) {
      s->call->stream = nullptr;
      Finished f = outcome(s, error, loop->options_.max_response_bytes);
      loop->over(f.call, f.code, std::move(f.message), f.refused, std::move(f.response));
    }
    delete s;
    return 0;
  }

  static Finished outcome(Stream* s, uint32_t error, size_t max_bytes) {
    Finished f{s->call, grpc::StatusCode::OK, "", false, ""};
    if (s->too_large) {
      f.code = grpc::StatusCode::RESOURCE_EXHAUSTED;
      f.message = "response larger than " + std::to_string(max_bytes) + " bytes";
    } else if (s->has_status) {
      f.code = static_cast<grpc::StatusCode>(s->grpc_status);
      f.message = std::move(s->grpc_message);
      if (f.code == grpc::StatusCode::OK) {
        const std::string& r = s->response;
        const size_t length = r.size() < 5 ? 0
                                           : (size_t{static_cast<uint8_t>(r[1])} << 24) |
                                                 (size_t{static_cast<uint8_t>(r[2])} << 16) |
                                                 (size_t{static_cast<uint8_t>(r[3])} << 8) |
                                                 size_t{static_cast<uint8_t>(r[4])};
        if (r.size() < 5 || r[0] != 0 || length != r.size() - 5) {
          f.code = grpc::StatusCode::INTERNAL;
          f.message = r.size() >= 5 && r[0] != 0 ? "a compressed response, which was not asked for"
                                                 : "the response is not one whole gRPC message";
        } else {
          f.response = std::move(s->response);
        }
      }
    } else if (error != NGHTTP2_NO_ERROR) {
      f.code = resetCode(error);
      f.refused = error == NGHTTP2_REFUSED_STREAM;
      f.message = std::string("stream reset by mixs: ") + nghttp2_http2_strerror(error);
    } else if (s->http_status != 200) {
      f.code = httpCode(s->http_status);
      f.message = "HTTP status " + std::to_string(s->http_status) + " without grpc-status";
    } else {
      f.code = grpc::StatusCode::INTERNAL;
      f.message = "the stream ended without grpc-status";
    }
    return f;
  }

  // The call's attempt is over: sent again (a refused stream, once; a transport failure within
  // max_retries, after the backoff), or done.
  void finish(Finished& f) {
    Call* call = f.call;
    if (f.refused && !call->resent_refused) {
      call->resent_refused = true;
      attempt(call);
      return;
    }
    const bool transient =
        f.code == grpc::StatusCode::UNAVAILABLE || f.code == grpc::StatusCode::DEADLINE_EXCEEDED;
    if (transient && call->retries < options_.max_retries) {
      call->phase = Call::kRetryWait;
      arm(call, nowMs() + retryDelayMs(options_, call->retries++, &random_));
      return;
    }
    const grpc::Status status(f.code, f.message);
    if (call->check) {
      CheckResponse response;
      if (status.ok() && !response.ParseFromArray(f.response.data() + 5,
                                                  static_cast<int>(f.response.size() - 5))) {
        call->check_done(grpc::Status(grpc::StatusCode::INTERNAL, "unparsable CheckResponse"),
                         CheckResponse());
      } else {
        call->check_done(status, response);
      }
    } else {
      call->report_done(status);
    }
    delete call;
    std::lock_guard<std::mutex> lock(mutex_);
    if (--in_flight_ == 0) idle_.notify_all();
  }

  void expire(Call* call) {
    disarm(call);
    switch (call->phase) {
      case Call::kRetryWait:
        attempt(call);
        return;
      case Call::kWaiting:
        if (auto it = std::find(waiting_.begin(), waiting_.end(), call); it != waiting_.end()) {
          waiting_.erase(it);
        }
        break;
      case Call::kOnStream:
        if (call->stream != nullptr) {
          Stream* s = call->stream;
          s->call = nullptr;
          call->stream = nullptr;
          if (s->conn->h2 != nullptr) {
            nghttp2_submit_rst_stream(s->conn->h2, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL);
            s->conn->dirty = true;
          }
        }
        break;
      default:
        break;
    }
    over(call, grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded");
  }

  void run() {
    epoll_event events[64];
    for (;;) {
      int64_t now = nowMs();
      int64_t due = now + 1000;
      if (!timers_.empty()) due = std::min(due, timers_.begin()->first);
      if (has_names_) due = std::min(due, last_resolve_ms_ + options_.resolve_every_ms);
      for (auto& c : conns_) {
        if (!c->in_wanted) due = std::min(due, c->lazy_since + kLazyReadMs);
        if (c->state == Conn::kBackoff) due = std::min(due, c->retry_at);
        if (c->state == Conn::kConnecting || c->state == Conn::kHandshaking) {
          due = std::min(due, c->connect_deadline);
        }
      }
      const int n =
          epoll_wait(epoll_, events, 64, static_cast<int>(std::max<int64_t>(0, due - now)));
      for (int i = 0; i < n; ++i) {
        if (events[i].data.ptr == nullptr) {
          uint64_t count;
          [[maybe_unused]] ssize_t r = ::read(event_, &count, sizeof(count));
          std::vector<Call*> incoming;
          {
            std::lock_guard<std::mutex> lock(mutex_);
            incoming.swap(incoming_);
            wake_pending_ = false;
            closing_seen_ = closing_;
            if (stopping_) return;
          }
          for (Call* call : incoming) attempt(call);
        } else {
          onEvent(static_cast<Conn*>(events[i].data.ptr), events[i].events);
        }
      }
      // Whatever came for the connections not waking the thread, before any deadline is judged.
      now = nowMs();
      for (auto& c : conns_) {
        if (!c->in_wanted && c->state == Conn::kReady) {
          readConn(c.get());
          c->lazy_since = now;  // the next look within kLazyReadMs of this one
        }
      }
      while (!timers_.empty() && timers_.begin()->first <= now) {
        expire(timers_.begin()->second);
      }
      for (auto& c : conns_) {
        if (c->state == Conn::kBackoff && c->retry_at <= now && !c->gone) {
          connect(c.get());
        } else if ((c->state == Conn::kConnecting || c->state == Conn::kHandshaking) &&
                   c->connect_deadline <= now) {
          failConn(c.get(), "connection timed out");
        }
      }
      if (has_names_ && now - last_resolve_ms_ >= options_.resolve_every_ms) resolve();
      drain();
      for (auto& c : conns_) {
        if (c->dirty) flush(c.get());
      }
      drain();  // failures found while writing
      for (auto& c : conns_) updateLaziness(c.get(), now);
      // Replicas no longer resolved go when their calls are done.
      conns_.erase(std::remove_if(conns_.begin(), conns_.end(),
                                  [this](const std::unique_ptr<Conn>& c) {
                                    if ((!c->gone && !c->draining) || !c->streams.empty()) {
                                      return false;
                                    }
                                    closeConn(c.get(), "", false);
                                    if (c->ticket != nullptr) SSL_SESSION_free(c->ticket);
                                    return true;
                                  }),
                   conns_.end());
    }
  }

  // Every replica whose connection got GOAWAY gets a new connection, idle until a call needs it,
  // and the old one drains: calls refused by the GOAWAY, and calls made while the old one still
  // finishes its streams, go to the new one.
  void replaceDraining() {
    const size_t n = conns_.size();
    for (size_t i = 0; i < n; ++i) {
      Conn* old = conns_[i].get();
      if (!old->goaway || old->draining || old->state != Conn::kReady) continue;
      old->draining = true;
      auto conn = std::make_unique<Conn>();
      conn->host = old->host;
      conn->port = old->port;
      conn->label = old->label;
      conn->authority = old->authority;
      conn->addr = old->addr;
      conn->addr_len = old->addr_len;
      conn->gone = old->gone;
      conn->ticket = old->ticket;  // resumed by the new connection
      old->ticket = nullptr;
      conns_.push_back(std::move(conn));
    }
  }

  void drain() {
    replaceDraining();
    while (!finished_.empty()) {
      std::deque<Finished> batch;
      batch.swap(finished_);
      for (Finished& f : batch) finish(f);
      for (auto& c : conns_) {
        if (c->dirty) flush(c.get());
      }
    }
  }

 public:
  std::atomic<int64_t> connects_{0};
  std::atomic<int64_t> resumed_{0};

 private:
  LeanTransportOptions options_;
  std::string timeout_header_;
  std::vector<std::pair<std::string, std::string>> endpoints_;
  bool has_names_ = false;
  int64_t last_resolve_ms_ = 0;
  std::string resolve_error_;
  std::vector<std::unique_ptr<Conn>> conns_;
  size_t next_ = 0;
  SSL_CTX* ctx_ = nullptr;
  std::vector<int64_t> tls_mtimes_;
  int64_t tls_checked_ms_ = 0;
  nghttp2_session_callbacks* callbacks_ = nullptr;
  int epoll_ = -1;
  int event_ = -1;
  std::thread thread_;
  std::mt19937_64 random_;
  std::multimap<int64_t, Call*> timers_;
  std::deque<Call*> waiting_;
  std::deque<Finished> finished_;

  std::mutex mutex_;
  std::condition_variable idle_;
  std::vector<Call*> incoming_;
  bool wake_pending_ = false;
  bool stopping_ = false;
  bool closing_ = false;       // under mutex_: the destructor waits for the calls in flight
  bool closing_seen_ = false;  // the loop's copy
  int64_t in_flight_ = 0;
};

std::vector<std::pair<std::string, std::string>> leanEndpoints(const std::string& address,
                                                               std::string* error) {
  std::string_view rest = address;
  for (std::string_view scheme : {"dns:///", "ipv4:", "ipv6:"}) {
    if (rest.substr(0, scheme.size()) == scheme) rest.remove_prefix(scheme.size());
  }
  std::vector<std::pair<std::string, std::string>> out;
  size_t start = 0;
  while (start <= rest.size()) {
    size_t comma = rest.find(',', start);
    if (comma == std::string_view::npos) comma = rest.size();
    const std::string entry = trim(rest.substr(start, comma - start));
    start = comma + 1;
    if (entry.empty()) continue;
    const size_t colon = entry.rfind(':');
    std::string host = colon == std::string::npos ? "" : entry.substr(0, colon);
    const std::string port = colon == std::string::npos ? "" : entry.substr(colon + 1);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    if (host.empty() || port.empty() || port.find_first_not_of("0123456789") != std::string::npos ||
        (host.find(':') != std::string::npos && !isIpLiteral(host))) {
      *error = "'" + entry + "' is not host:port ([IPv6]:port)";
      return {};
    }
    out.emplace_back(host, port);
  }
  if (out.empty()) *error = "no mixs address";
  return out;
}

absl::StatusOr<std::unique_ptr<LeanTransport>> LeanTransport::create(LeanTransportOptions options) {
  auto loop = std::make_unique<Loop>(std::move(options));
  if (absl::Status s = loop->start(); !s.ok()) {
    return s;
  }
  return std::unique_ptr<LeanTransport>(new LeanTransport(std::move(loop)));
}

LeanTransport::LeanTransport(std::unique_ptr<Loop> loop) : loop_(std::move(loop)) {}

LeanTransport::~LeanTransport() = default;

int64_t LeanTransport::connections() const { return loop_->connects_; }

int64_t LeanTransport::resumedSessions() const { return loop_->resumed_; }

void LeanTransport::check(const CheckRequest& request, CheckDone done) {
  loop_->submit(true, request.SerializeAsString(), std::move(done), nullptr);
}

void LeanTransport::report(const ReportRequest& request, ReportDone done) {
  loop_->submit(false, request.SerializeAsString(), nullptr, std::move(done));
}

void LeanTransport::reportSerialized(std::string request, ReportDone done) {
  loop_->submit(false, std::move(request), nullptr, std::move(done));
}

void LeanTransport::checkSerialized(std::string request, CheckDone done) {
  loop_->submit(true, std::move(request), std::move(done), nullptr);
}

}  // namespace mixer::proxy
