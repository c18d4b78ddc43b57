#include "pilot/rules/rules_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/json_string.h"
#include "base/log.h"

namespace pilot::rules {

struct RulesServer::Connection {
  int fd = -1;
  std::unique_ptr<mixer::HttpTlsSession> tls;
  std::string peer;
  std::chrono::milliseconds timeout{10000};
  const std::atomic<bool>* stopping = nullptr;

  ~Connection() {
    if (tls) tls->close();
    if (fd >= 0) ::close(fd);
  }

  // Waits until the socket is ready; false on timeout, stop or error.
  bool wait(bool for_write, std::chrono::steady_clock::time_point deadline) {
    while (!stopping->load()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd, static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
      const int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 200)));
      if (n > 0) return true;
      if (n < 0 && errno != EINTR) return false;
    }
    return false;
  }

  ssize_t readSome(char* buf, size_t size, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      bool want_write = false;
      ssize_t n;
      if (tls) {
        n = tls->read(buf, size, &want_write);
      } else {
        n = ::recv(fd, buf, size, 0);
      }
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      if (!wait(want_write, deadline)) return -1;
    }
  }

  bool writeAll(std::string_view data) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!data.empty()) {
      bool want_write = true;
      ssize_t n;
      if (tls) {
        n = tls->write(data.data(), data.size(), &want_write);
      } else {
        n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      }
      if (n > 0) {
        data.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!wait(want_write, deadline)) return false;
        continue;
      }
      return false;
    }
    return true;
  }

  bool alive() const {
    pollfd p{fd, static_cast<short>(POLLRDHUP), 0};
    return ::poll(&p, 1, 0) == 0 || (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) == 0;
  }
};

namespace {

std::string head(int code, const std::string& content_type, const std::string* body) {
  std::string out = "HTTP/1.1 " + std::to_string(code) + " " + mixer::httpReasonPhrase(code) +
                    "\r\nContent-Type: " + content_type + "\r\nCache-Control: no-store\r\n";
  if (body != nullptr) {
    out += "Content-Length: " + std::to_string(body->size()) + "\r\n";
  } else {
    out += "Transfer-Encoding: chunked\r\n";
  }
  return out + "Connection: close\r\n\r\n";
}

std::string plainError(int code, const std::string& message) {
  return "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
         "\"message\":" +
         mixer::base::jsonQuote(message) + ",\"code\":" + std::to_string(code) + "}\n";
}

}  // namespace

int decodeHttpRequest(const std::string& raw, ApiRequest* out) {
  const size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return raw.size() > kMaxHeadBytes ? 431 : -1;
  if (end + 4 > kMaxHeadBytes) return 431;
  std::string head_text = raw.substr(0, end + 4);
  mixer::HttpRequest request;
  if (const int code = mixer::parseHttpRequest(&head_text, true, &request); code != 0) return code;
  const std::string_view line = std::string_view(raw).substr(0, raw.find("\r\n"));
  const size_t sp1 = line.find(' ');
  const size_t sp2 = line.find(' ', sp1 + 1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const size_t q = target.find('?');
  out->method = std::string(request.method);
  out->path = std::string(target.substr(0, q));
  out->query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));
  out->headers.clear();
  size_t length = 0;
  bool have_length = false;
  for (const auto& [k, v] : request.headers) {
    out->headers.emplace_back(std::string(k), std::string(v));
    if (k == "transfer-encoding") return 411;
    if (k == "content-length") {
      if (have_length || v.empty() || v.size() > 12 ||
          v.find_first_not_of("0123456789") != std::string_view::npos) {
        return 400;
      }
      length = std::stoull(std::string(v));
      have_length = true;
    }
  }
  if (length > kMaxBodyBytes) return 413;
  if (raw.size() < end + 4 + length) return -1;
  out->body = raw.substr(end + 4, length);
  return 0;
}

absl::StatusOr<std::unique_ptr<RulesServer>> RulesServer::start(Options options, RulesApi* api) {
  std::unique_ptr<RulesServer> s(new RulesServer());
  s->options_ = std::move(options);
  s->api_ = api;
  auto fd = mixer::listenTcp(s->options_.host, s->options_.port, 64, &s->port_);
  if (!fd.ok()) return fd.status();
  s->listen_fd_ = *fd;
  s->wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  RulesServer* raw = s.get();
  s->acceptor_ = std::thread([raw] { raw->acceptLoop(); });
  return s;
}

RulesServer::~RulesServer() {
  stopping_ = true;
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
  }
  if (acceptor_.joinable()) acceptor_.join();
  std::list<Worker> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    workers.swap(workers_);
  }
  for (Worker& w : workers) {
    if (w.connection && w.connection->fd >= 0) ::shutdown(w.connection->fd, SHUT_RDWR);
  }
  for (Worker& w : workers) {
    if (w.thread.joinable()) w.thread.join();
  }
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void RulesServer::acceptLoop() {
  while (!stopping_) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, 1000) <= 0) continue;
    if (fds[1].revents != 0 || stopping_) break;
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) continue;
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (addr.ss_family == AF_INET) {
      const auto* a = reinterpret_cast<sockaddr_in*>(&addr);
      inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
      port = ntohs(a->sin_port);
    } else if (addr.ss_family == AF_INET6) {
      const auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
      inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
      port = ntohs(a->sin6_port);
    }
    auto c = std::make_shared<Connection>();
    c->fd = fd;
    c->peer = std::string(host) + ":" + std::to_string(port);
    c->timeout = options_.write_timeout;
    c->stopping = &stopping_;
    std::lock_guard<std::mutex> lock(mu_);
    // Reap finished workers.
    for (auto it = workers_.begin(); it != workers_.end();) {
      if (it->done->load()) {
        it->thread.join();
        it = workers_.erase(it);
      } else {
        ++it;
      }
    }
    if (static_cast<int>(workers_.size()) >= options_.max_connections) {
      MIXER_LOG(Warn) << "rules API: " << options_.max_connections << " connections open; refusing "
                      << c->peer;
      continue;  // c closes the socket
    }
    if (options_.tls) {
      c->tls = options_.tls->accept(fd);
      if (!c->tls) continue;
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    Worker w;
    w.connection = c;
    w.done = done;
    w.thread = std::thread([this, c, done] {
      serve(c);
      done->store(true);
    });
    workers_.push_back(std::move(w));
  }
}

void RulesServer::serve(std::shared_ptr<Connection> c) {
  serveRequest(c);
  // Done: the peer sees the end now; the descriptor is closed when the worker is reaped (so
  // that the destructor's shutdown() can never hit a reused descriptor).
  if (c->tls) c->tls->close();
  ::shutdown(c->fd, SHUT_RDWR);
}

void RulesServer::serveRequest(const std::shared_ptr<Connection>& c) {
  const auto deadline = std::chrono::steady_clock::now() + options_.read_timeout;
  std::string raw;
  ApiRequest request;
  int code = -1;
  char buf[16384];
  while (code == -1) {
    const ssize_t n = c->readSome(buf, sizeof(buf), deadline);
    if (n <= 0) {
      if (!raw.empty() && !stopping_) {
        const std::string body = plainError(408, "the request did not arrive in time");
        c->writeAll(head(408, "application/json", &body) + body);
      }
      return;
    }
    raw.append(buf, static_cast<size_t>(n));
    code = decodeHttpRequest(raw, &request);
  }
  if (code != 0) {
    const std::string body = plainError(code, mixer::httpReasonPhrase(code));
    c->writeAll(head(code, "application/json", &body) + body);
    return;
  }
  if (c->tls) {
    request.principal = std::string(c->tls->peerPrincipal());
    request.authenticated = !request.principal.empty();
  }
  request.peer = c->peer;
  if (RulesApi::isWatch(request)) {
    bool streaming = false;
    api_->watch(
        request,
        [&](const ApiResponse& r) {
          if (r.code != 200) {
            c->writeAll(head(r.code, r.content_type, &r.body) + r.body);
            return false;
          }
          streaming = c->writeAll(head(200, r.content_type, nullptr));
          return streaming;
        },
        [&](const std::string& chunk) {
          if (stopping_) return false;
          if (chunk.empty()) return c->alive();
          char size[20];
          std::snprintf(size, sizeof(size), "%zx\r\n", chunk.size());
          return c->writeAll(std::string(size) + chunk + "\r\n");
        });
    if (streaming) c->writeAll("0\r\n\r\n");
    return;
  }
  const ApiResponse r = api_->handle(request);
  std::string out = head(r.code, r.content_type, &r.body);
  if (request.method != "HEAD") out += r.body;
  c->writeAll(out);
}

}  // namespace pilot::rules
