// A measured proposal, not a server: what a gRPC unary answer costs over a lean HTTP/2 path
// (Debian's libnghttp2, one epoll thread, no gRPC library), against check_floor_server's gRPC C++
// floors. Like them it answers every call on any method with an empty OK message (a valid empty
// CheckResponse or ReportResponse) and decodes nothing. It speaks just enough gRPC for a gRPC
// client: response headers (:status 200, content-type application/grpc), one length-prefixed
// empty message, trailers (grpc-status 0). No deadlines, no flow-control tuning beyond
// nghttp2's defaults. See docs/performance.md, "Check below the gRPC floor".
//
// With --tls, the connection is TLS (1.2 or later, ALPN "h2") through OpenSSL on the socket
// itself, with read-ahead so that a read takes every record waiting; with a CA, client
// certificates are required and verified. That measures what TLS costs on a lean path, against
// gRPC's secure endpoint (docs/performance.md, "Transport security").
//
//   h2_floor_server [ADDRESS] [--tls CERT KEY [CA]]
//       prints "h2_floor_server listening on 127.0.0.1:PORT"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>

namespace {

struct Connection {
  int fd = -1;
  SSL* ssl = nullptr;  // with --tls
  bool handshaken = false;
  nghttp2_session* session = nullptr;
  std::string out;  // bytes nghttp2 produced that the socket has not taken yet
  ~Connection() {
    if (session != nullptr) nghttp2_session_del(session);
    if (ssl != nullptr) SSL_free(ssl);
    if (fd >= 0) close(fd);
  }
};

// gRPC clients offer "h2" by ALPN and refuse a server that does not select it.
int selectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void*) {
  static const unsigned char kH2[] = {2, 'h', '2'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kH2, sizeof(kH2), in, inlen) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

SSL_CTX* tlsContext(const char* cert, const char* key, const char* ca) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
      (ca != nullptr && SSL_CTX_load_verify_locations(ctx, ca, nullptr) != 1)) {
    ERR_print_errors_fp(stderr);
    return nullptr;
  }
  if (ca != nullptr) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  SSL_CTX_set_alpn_select_cb(ctx, &selectAlpn, nullptr);
  SSL_CTX_set_read_ahead(ctx, 1);
  if (const char* suites = std::getenv("TLS13_CIPHERSUITES")) {
    SSL_CTX_set_ciphersuites(ctx, suites);  // to compare ciphers; OpenSSL's order otherwise
  }
  return ctx;
}

ssize_t transportRead(Connection* c, uint8_t* buf, size_t size) {
  if (c->ssl == nullptr) return recv(c->fd, buf, size, 0);
  const int r = SSL_read(c->ssl, buf, static_cast<int>(size));
  if (r > 0) return r;
  const int e = SSL_get_error(c->ssl, r);
  errno = e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? EAGAIN : EPIPE;
  return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
}

ssize_t transportWrite(Connection* c, const std::string& out) {
  if (c->ssl == nullptr) return send(c->fd, out.data(), out.size(), MSG_NOSIGNAL);
  const int w = SSL_write(c->ssl, out.data(), static_cast<int>(out.size()));
  if (w > 0) return w;
  const int e = SSL_get_error(c->ssl, w);
  errno = e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? EAGAIN : EPIPE;
  return -1;
}

// The one message every answer carries: gRPC's 5-byte prefix (not compressed, length 0).
constexpr uint8_t kEmptyMessage[5] = {0, 0, 0, 0, 0};

ssize_t readMessage(nghttp2_session* session, int32_t stream_id, uint8_t* buf, size_t length,
                    uint32_t* flags, nghttp2_data_source*, void*) {
  if (length < sizeof(kEmptyMessage)) return NGHTTP2_ERR_CALLBACK_FAILURE;
  std::memcpy(buf, kEmptyMessage, sizeof(kEmptyMessage));
  // The stream ends with the trailers, not with this DATA frame.
  *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
  static const nghttp2_nv kTrailers[] = {
      {(uint8_t*)"grpc-status", (uint8_t*)"0", 11, 1, NGHTTP2_NV_FLAG_NONE},
  };
  nghttp2_submit_trailer(session, stream_id, kTrailers, 1);
  return sizeof(kEmptyMessage);
}

int onFrameRecv(nghttp2_session* session, const nghttp2_frame* frame, void*) {
  const bool request_done = (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
                            (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (!request_done) return 0;
  static const nghttp2_nv kHeaders[] = {
      {(uint8_t*)":status", (uint8_t*)"200", 7, 3, NGHTTP2_NV_FLAG_NONE},
      {(uint8_t*)"content-type", (uint8_t*)"application/grpc", 12, 16, NGHTTP2_NV_FLAG_NONE},
  };
  nghttp2_data_provider provider{};
  provider.read_callback = &readMessage;
  nghttp2_submit_response(session, frame->hd.stream_id, kHeaders, 2, &provider);
  return 0;
}

// Drains nghttp2's output into the socket; false when the connection is done.
bool flush(Connection* c) {
  for (;;) {
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(c->session, &data);
    if (n < 0) return false;
    if (n == 0) break;
    c->out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
  while (!c->out.empty()) {
    const ssize_t w = transportWrite(c, c->out);
    if (w < 0) {
      if (errno == EAGAIN) return true;  // EPOLLOUT would be needed; the benchmark never fills it
      return false;
    }
    c->out.erase(0, static_cast<size_t>(w));
  }
  return nghttp2_session_want_read(c->session) || nghttp2_session_want_write(c->session);
}

// Starts the HTTP/2 session: the server's SETTINGS go out first.
bool startSession(Connection* c, nghttp2_session_callbacks* callbacks) {
  nghttp2_session_server_new(&c->session, callbacks, c);
  nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
  nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, settings, 1);
  return flush(c);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string address = argc > 1 && argv[1][0] != '-' ? argv[1] : "127.0.0.1:0";
  SSL_CTX* tls = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--tls") == 0) {
      if (i + 2 >= argc) {
        std::fprintf(stderr, "h2_floor_server: --tls CERT KEY [CA]\n");
        return 2;
      }
      tls = tlsContext(argv[i + 1], argv[i + 2], i + 3 < argc ? argv[i + 3] : nullptr);
      if (tls == nullptr) return 1;
      break;
    }
  }
  const size_t colon = address.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr);
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listener, 128) != 0) {
    std::fprintf(stderr, "h2_floor_server: cannot listen on %s\n", address.c_str());
    return 1;
  }
  socklen_t len = sizeof(addr);
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  const int sigfd = signalfd(-1, &signals, SFD_NONBLOCK);

  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &onFrameRecv);

  const int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listener;
  epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
  ev.data.fd = sigfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, sigfd, &ev);
  std::unordered_map<int, std::unique_ptr<Connection>> connections;

  std::printf("h2_floor_server listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
  std::fflush(stdout);
  epoll_event events[64];
  uint8_t buf[65536];
  for (;;) {
    const int n = epoll_wait(ep, events, 64, -1);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == sigfd) {
        nghttp2_session_callbacks_del(callbacks);
        return 0;
      }
      if (fd == listener) {
        for (;;) {
          const int cfd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK);
          if (cfd < 0) break;
          setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          auto c = std::make_unique<Connection>();
          c->fd = cfd;
          if (tls != nullptr) {
            c->ssl = SSL_new(tls);
            SSL_set_fd(c->ssl, cfd);
            SSL_set_accept_state(c->ssl);
          } else {
            c->handshaken = true;
            startSession(c.get(), callbacks);
          }
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = cfd;
          epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev);
          connections[cfd] = std::move(c);
        }
        continue;
      }
      auto it = connections.find(fd);
      if (it == connections.end()) continue;
      Connection* c = it->second.get();
      bool alive = true;
      if (!c->handshaken) {
        // The handshake's messages are small: the socket always takes them (no EPOLLOUT).
        const int h = SSL_do_handshake(c->ssl);
        if (h == 1) {
          c->handshaken = true;
          alive = startSession(c, callbacks);
        } else if (const int e = SSL_get_error(c->ssl, h);
                   e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
          ERR_print_errors_fp(stderr);
          alive = false;
        }
        if (!alive || !c->handshaken) {
          if (!alive) {
            epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
            connections.erase(it);
          }
          continue;
        }
      }
      for (;;) {
        const ssize_t r = transportRead(c, buf, sizeof(buf));
        if (r > 0) {
          if (nghttp2_session_mem_recv(c->session, buf, static_cast<size_t>(r)) < 0) {
            alive = false;
            break;
          }
          continue;
        }
        if (r == 0 || errno != EAGAIN) alive = false;
        break;
      }
      // One write per wake-up: every answer this read produced goes out together.
      if (!alive || !flush(c)) {
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
        connections.erase(it);
      }
    }
  }
}
