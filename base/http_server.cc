#include "base/http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <list>
#include <unordered_map>

#include "base/log.h"

namespace mixer {

int parseHttpRequestHead(std::string_view head, HttpRequestLine* out) {
  const auto end = head.find("\r\n\r\n");
  const std::string_view line = head.substr(0, head.find("\r\n"));
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? std::string_view::npos : line.find(' ', sp1 + 1);
  if (end == std::string_view::npos || sp1 == std::string_view::npos ||
      sp2 == std::string_view::npos || line.substr(sp2 + 1, 5) != "HTTP/") {
    return 400;
  }
  const std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (method != "GET" && method != "HEAD") {
    return 405;
  }
  for (const char ch : target) {
    const auto b = static_cast<unsigned char>(ch);
    if (b <= 0x20 || b == 0x7f) return 400;  // no control character or space in a target
  }
  target = target.substr(0, target.find('?'));
  out->method = std::string(method);
  out->path = std::string(target);
  return 0;
}

bool isHttpToken(std::string_view name) {
  if (name.empty()) return false;
  for (const char ch : name) {
    const auto b = static_cast<unsigned char>(ch);
    const bool alnum = (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z');
    if (!alnum && std::strchr("!#$%&'*+-.^_`|~", ch) == nullptr) return false;
  }
  return true;
}

std::string httpHeaderValue(std::string_view value) {
  std::string out(value);
  for (char& ch : out) {
    const auto b = static_cast<unsigned char>(ch);
    if ((b < 0x20 && b != '\t') || b == 0x7f) ch = ' ';
  }
  return out;
}

int parseHttpRequest(std::string* head, bool any_method, HttpRequest* out) {
  const size_t end = head->find("\r\n\r\n");
  if (end == std::string::npos) return 400;
  const std::string_view all(head->data(), end + 2);  // every line with its CRLF
  const size_t line_end = all.find("\r\n");
  const std::string_view line = all.substr(0, line_end);
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? std::string_view::npos : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
      line.substr(sp2 + 1, 5) != "HTTP/") {
    return 400;
  }
  const std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (!isHttpToken(method)) return 400;
  if (!any_method && method != "GET" && method != "HEAD") return 405;
  for (const char ch : target) {
    const auto b = static_cast<unsigned char>(ch);
    if (b <= 0x20 || b == 0x7f) return 400;
  }
  out->method = method;
  const size_t question = target.find('?');
  out->path = target.substr(0, question);
  out->query =
      question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  out->body = {};
  out->version = line.substr(sp2 + 1);
  out->headers.clear();
  size_t pos = line_end + 2;
  while (pos < all.size()) {
    const size_t eol = all.find("\r\n", pos);
    const std::string_view field = all.substr(pos, eol - pos);
    const size_t colon = field.find(':');
    if (colon == std::string_view::npos || !isHttpToken(field.substr(0, colon))) {
      return 400;  // also an obsolete line folding (a line starting with a blank)
    }
    std::string_view value = field.substr(colon + 1);
    for (const char ch : value) {
      const auto b = static_cast<unsigned char>(ch);
      if ((b < 0x20 && b != '\t') || b == 0x7f) return 400;  // bare CR or LF among them
    }
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    char* name = head->data() + pos;
    for (size_t i = 0; i < colon; ++i) {
      if (name[i] >= 'A' && name[i] <= 'Z') name[i] = static_cast<char>(name[i] - 'A' + 'a');
    }
    out->headers.emplace_back(std::string_view(name, colon), value);
    pos = eol + 2;
  }
  return 0;
}

namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (x != b[i]) return false;
  }
  return true;
}

std::string_view trimmed(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

}  // namespace

namespace {

// Whether a request says a body follows its head.
bool announcesBody(const HttpRequest& request) {
  for (const auto& [name, value] : request.headers) {
    if (name == "transfer-encoding") return true;
    if (name == "content-length") {
      const std::string_view n = trimmed(value);
      if (n.empty() || n.find_first_not_of('0') != std::string_view::npos) return true;
    }
  }
  return false;
}

}  // namespace

bool httpKeepAlive(const HttpRequest& request) {
  // HTTP/1.1 and later 1.x minor versions persist by default; 1.0 (and anything else) does not.
  const std::string_view v = request.version;
  if (v.size() < 8 || v.substr(0, 7) != "HTTP/1." || v.substr(7) == "0") return false;
  for (const char ch : v.substr(7)) {
    if (ch < '0' || ch > '9') return false;
  }
  if (announcesBody(request)) return false;
  for (const auto& [name, value] : request.headers) {
    if (name != "connection") continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      if (equalsIgnoreCase(trimmed(rest.substr(0, comma)), "close")) return false;
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  return true;
}

absl::StatusOr<int> listenTcp(const std::string& host, int port, int backlog, int* bound_port,
                              bool reuse_port) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  const std::string where = host + ":" + std::to_string(port);
  if (host.empty() || host == "0.0.0.0") {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_ANY);
    in->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(*in);
  } else {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    const std::string service = std::to_string(port);
    const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
    if (rc != 0 || res == nullptr) {
      return absl::InvalidArgumentError("cannot resolve " + host + ": " + gai_strerror(rc));
    }
    std::memcpy(&ss, res->ai_addr, res->ai_addrlen);
    len = res->ai_addrlen;
    freeaddrinfo(res);
  }
  const int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::UnavailableError("cannot listen on " + where + ": socket: " + strerror(errno));
  }
  const int one = 1;
  const int zero = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (reuse_port) {
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  }
  if (ss.ss_family == AF_INET6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, backlog) != 0) {
    const int err = errno;
    close(fd);
    return absl::UnavailableError("cannot listen on " + where + ": " + strerror(err));
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  *bound_port = bound.ss_family == AF_INET6
                    ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                    : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return fd;
}

const char* httpReasonPhrase(int code) {
  switch (code) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 303:
      return "See Other";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

namespace {

using Clock = std::chrono::steady_clock;

void render(const HttpResponse& r, bool head, bool keep_alive, std::string* out_buffer) {
  std::string& out = *out_buffer;
  out.clear();
  out += "HTTP/1.1 ";
  out += std::to_string(r.code);
  out += ' ';
  out += httpReasonPhrase(r.code);
  out += "\r\nContent-Type: ";
  out += r.content_type;
  out += "\r\nContent-Length: ";
  out += std::to_string(r.body.size());
  out += keep_alive ? "\r\n" : "\r\nConnection: close\r\n";
  for (const auto& [name, value] : r.headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  out += "\r\n";
  if (!head) {
    out += r.body;
  }
}

struct Connection {
  int fd = -1;
  bool writing = false;
  bool idle = false;        // kept alive, between requests: no byte of the next one yet
  bool close_after = true;  // close once the response is written
  bool drain = false;       // and first read (and drop) what the client still sends
  bool draining = false;    // written, write side shut: waiting for the client's end
  size_t drained = 0;       // bytes dropped while draining
  std::string in;
  std::string out;
  size_t written = 0;
  Clock::time_point deadline;
  std::list<int>::iterator reading_pos;  // position in the reading order while reading
  std::unique_ptr<HttpTlsSession> tls;   // over TLS
  bool tls_wants_write = false;          // the session waits for the socket to take bytes
};

}  // namespace

struct HttpServer::Loop {
  Options options;
  Handler handler;                 // by path (monitoring)
  RequestHandler request_handler;  // or with the whole head
  HttpRequest request;             // reused
  int max_connections = 64;        // this loop's share of options.max_connections
  int listen_fd = -1;              // this loop's; owned by the HttpServer
  int wake_fd = -1;                // shared; owned by the HttpServer
  int epoll_fd = -1;
  bool listening = true;               // the listener is in the epoll set
  Clock::time_point resume_listening;  // after a descriptor shortage
  std::unordered_map<int, Connection> conns;
  std::list<int> reading;  // connections still reading their request, oldest first

  ~Loop() {
    for (auto& [fd, c] : conns) {
      close(fd);
    }
    if (epoll_fd >= 0) {
      close(epoll_fd);
    }
  }

  void watchListener() {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = listen_fd;
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &ev);
  }

  void closeConn(int fd) {
    auto it = conns.find(fd);
    if (it == conns.end()) {
      return;
    }
    if (!it->second.writing) {
      reading.erase(it->second.reading_pos);
    }
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
    if (it->second.tls) {
      it->second.tls->close();
    }
    close(fd);
    conns.erase(it);
  }

  // recv() or send() through the connection's TLS session, if any. A session that needs the
  // socket writable while reading is watched for output too (and the other way round).
  ssize_t readSome(Connection& c, char* buf, size_t size) {
    if (!c.tls) {
      return recv(c.fd, buf, size, 0);
    }
    bool want_write = false;
    const ssize_t n = c.tls->read(buf, size, &want_write);
    setTlsWantsWrite(c, n < 0 && errno == EAGAIN && want_write);
    return n;
  }

  ssize_t writeSome(Connection& c, const char* buf, size_t size) {
    if (!c.tls) {
      return send(c.fd, buf, size, MSG_NOSIGNAL);
    }
    bool want_write = true;
    const ssize_t n = c.tls->write(buf, size, &want_write);
    if (n < 0 && errno == EAGAIN && !want_write) {
      // The session must read first (a TLS 1.3 key update): wait for input as well.
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT;
      ev.data.fd = c.fd;
      epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c.fd, &ev);
    }
    return n;
  }

  void setTlsWantsWrite(Connection& c, bool wants) {
    if (wants == c.tls_wants_write) {
      return;
    }
    c.tls_wants_write = wants;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (wants ? EPOLLOUT : 0);
    ev.data.fd = c.fd;
    epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c.fd, &ev);
  }

  void setListening(bool on) {
    if (on == listening) {
      return;
    }
    if (on) {
      watchListener();
    } else {
      epoll_ctl(epoll_fd, EPOLL_CTL_DEL, listen_fd, nullptr);
    }
    listening = on;
  }

  // Answers the request at the head of c.in; `consumed` bytes of c.in are its head (the rest, a
  // pipelined request, stays). `keep` says whether the connection may serve another request.
  // `drain`: the client may still be sending (a body, or requests after a closing one).
  void respond(Connection& c, const HttpResponse& r, bool head, bool keep, size_t consumed,
               bool drain = false) {
    reading.erase(c.reading_pos);
    c.writing = true;
    c.close_after = !keep;
    c.drain = drain || (!keep && c.in.size() > consumed);
    render(r, head, keep, &c.out);
    c.written = 0;
    if (keep) {
      c.in.erase(0, consumed);
    } else {
      c.in.clear();
    }
    c.deadline = Clock::now() + options.write_timeout;
    flush(c.fd, true);
  }

  // Writes what is pending; `fresh`: the response was just rendered (the socket is still watched
  // for input, and is switched to output only when the kernel does not take it all at once).
  void flush(int fd, bool fresh) {
    Connection& c = conns[fd];
    while (c.written < c.out.size()) {
      const ssize_t n = writeSome(c, c.out.data() + c.written, c.out.size() - c.written);
      if (n > 0) {
        c.written += static_cast<size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (fresh) {
          epoll_event ev{};
          ev.events = EPOLLOUT;
          ev.data.fd = fd;
          epoll_ctl(epoll_fd, EPOLL_CTL_MOD, fd, &ev);
        }
        return;
      } else {
        closeConn(fd);
        return;
      }
    }
    if (c.close_after && !c.drain) {
      closeConn(fd);
      return;
    }
    if (c.close_after) {
      // Closing with unread input would reset the connection, and the client could lose the
      // answer: shut the write side and read until the client ends (or a short deadline).
      if (c.tls) {
        c.tls->close();
      }
      shutdown(fd, SHUT_WR);
      c.writing = false;
      c.draining = true;
      c.tls_wants_write = false;
      c.in.clear();
      c.reading_pos = reading.insert(reading.end(), fd);
      c.deadline =
          Clock::now() + std::min<Clock::duration>(options.read_timeout, std::chrono::seconds(2));
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.fd = fd;
      epoll_ctl(epoll_fd, EPOLL_CTL_MOD, fd, &ev);
      return;
    }
    // Kept alive: back to reading, for a pipelined request already here or the next one.
    c.tls_wants_write = false;
    c.writing = false;
    c.written = 0;
    c.out.clear();
    c.reading_pos = reading.insert(reading.end(), fd);
    if (!fresh) {
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.fd = fd;
      epoll_ctl(epoll_fd, EPOLL_CTL_MOD, fd, &ev);
    }
    if (c.in.empty()) {
      c.idle = true;
      c.deadline = Clock::now() + options.keep_alive_timeout;
    } else {
      c.idle = false;  // a pipelined request is here already
      c.deadline = Clock::now() + options.read_timeout;
      if (!fresh) {
        processInput(fd);  // else the caller, processInput, goes on with it
      }
    }
  }

  // Answers the request whose head is the first `head_size` bytes of c.in; false when its body
  // (max_body_bytes) has yet to arrive whole.
  bool handleRequest(Connection& c, size_t head_size) {
    if (request_handler || options.keep_alive) {
      const int rc = parseHttpRequest(&c.in, options.any_method, &request);
      request.peer_principal = c.tls ? c.tls->peerPrincipal() : std::string_view();
      if (rc == 0) {
        const bool head = request.method == "HEAD";
        const bool keep = options.keep_alive && httpKeepAlive(request);
        const bool body = announcesBody(request);
        if (request_handler && body && options.max_body_bytes > 0) {
          return handleWithBody(c, head_size, head);
        }
        if (request_handler) {
          respond(c, request_handler(request), head, keep, head_size, body);
        } else {
          respond(c, handler(std::string(request.path)), head, keep, head_size, body);
        }
      } else if (rc == 405) {
        respond(c, {405, "text/plain", "only GET and HEAD\n"}, false, false, head_size);
      } else {
        respond(c, {400, "text/plain", "bad request\n"}, false, false, head_size);
      }
      return true;
    }
    HttpRequestLine request;
    switch (parseHttpRequestHead(c.in, &request)) {
      case 0:
        respond(c, handler(request.path), request.method == "HEAD", false, head_size);
        return true;
      case 405:
        respond(c, {405, "text/plain", "only GET and HEAD\n"}, false, false, head_size);
        return true;
      default:
        respond(c, {400, "text/plain", "bad request\n"}, false, false, head_size);
        return true;
    }
  }

  // A parsed request that announces a body, with max_body_bytes: answered once the body is here.
  bool handleWithBody(Connection& c, size_t head_size, bool head) {
    std::string_view length;
    for (const auto& [name, value] : request.headers) {
      if (name == "transfer-encoding") {
        respond(c, {411, "text/plain", "a body needs Content-Length\n"}, false, false, head_size,
                true);
        return true;
      }
      if (name == "content-length") length = trimmed(value);
    }
    size_t n = 0;
    if (length.empty() || length.size() > 12 ||
        length.find_first_not_of("0123456789") != std::string_view::npos ||
        (n = std::stoul(std::string(length))) > options.max_body_bytes) {
      respond(c, {413, "text/plain", "request body too large\n"}, false, false, head_size, true);
      return true;
    }
    if (c.in.size() < head_size + n) {
      return false;  // more to come, within read_timeout of the request's start
    }
    request.body = std::string_view(c.in.data() + head_size, n);
    respond(c, request_handler(request), head, false, head_size + n);
    return true;
  }

  // Answers the requests in c.in whose heads are whole, one after the other, until one leaves
  // the connection writing or closed.
  void processInput(int fd) {
    for (;;) {
      auto it = conns.find(fd);
      if (it == conns.end() || it->second.writing) {
        return;
      }
      Connection& c = it->second;
      const auto end = c.in.find("\r\n\r\n");
      if (end != std::string::npos && end + 4 <= options.max_header_bytes) {
        if (!handleRequest(c, end + 4)) {
          return;  // its body is still coming
        }
      } else if (end != std::string::npos || c.in.size() > options.max_header_bytes) {
        respond(c, {431, "text/plain", "request header too large\n"}, false, false, 0);
      } else {
        return;
      }
    }
  }

  void onReadable(int fd) {
    Connection& c = conns[fd];
    char buf[4096];
    for (int reads = 0;; ++reads) {
      const ssize_t n = readSome(c, buf, sizeof(buf));
      if (n > 0 && c.draining) {
        c.drained += static_cast<size_t>(n);
        if (c.drained > (1u << 20)) {
          closeConn(fd);  // enough: whatever it sends is not read
          return;
        }
        if (reads >= 16) return;  // the other connections' turn; level-triggered, it comes back
        continue;
      }
      if (n > 0) {
        if (c.idle) {
          c.idle = false;  // the next request has begun: it has read_timeout to arrive whole
          c.deadline = Clock::now() + options.read_timeout;
        }
        c.in.append(buf, static_cast<size_t>(n));
        if (c.tls && c.in.size() <= 4 * options.max_header_bytes) {
          // Decrypted bytes the session holds raise no event: take everything there is first.
          continue;
        }
        if (c.in.find("\r\n\r\n") != std::string::npos || c.in.size() > options.max_header_bytes) {
          processInput(fd);  // answers (possibly closing fd) and may read on later
          return;
        }
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (c.tls && !c.draining &&
            (c.in.find("\r\n\r\n") != std::string::npos ||
             c.in.size() > options.max_header_bytes)) {
          processInput(fd);
        }
        return;
      } else {
        closeConn(fd);  // end of stream or error before a whole request
        return;
      }
    }
  }

  void acceptAll() {
    for (;;) {
      const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) {
          continue;
        }
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // Out of descriptors: stop polling the listener for 100 ms rather than spin.
          setListening(false);
          resume_listening = Clock::now() + std::chrono::milliseconds(100);
        }
        return;
      }
      if (static_cast<int>(conns.size()) >= max_connections) {
        if (reading.empty()) {
          close(fd);  // every slot is writing a response; the client retries
          continue;
        }
        closeConn(reading.front());
      }
      std::unique_ptr<HttpTlsSession> session;
      if (options.tls) {
        session = options.tls->accept(fd);
        if (!session) {
          close(fd);
          continue;
        }
      }
      Connection& c = conns[fd];
      c.fd = fd;
      c.tls = std::move(session);
      c.deadline = Clock::now() + options.read_timeout;
      c.reading_pos = reading.insert(reading.end(), fd);
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.fd = fd;
      epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
    }
  }

  void expire() {
    const auto now = Clock::now();
    std::vector<int> late;
    for (auto& [fd, c] : conns) {
      if (c.deadline <= now) {
        late.push_back(fd);
      }
    }
    for (int fd : late) {
      Connection& c = conns[fd];
      if (!c.writing && !c.draining && !c.in.empty()) {
        respond(c, {408, "text/plain", "request timeout\n"}, false, false, 0);
      } else {
        closeConn(fd);  // silent, idle between requests, or not taking its response
      }
    }
  }

  void run() {
    epoll_event events[64];
    for (;;) {
      const int n = epoll_wait(epoll_fd, events, 64, 100);
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == wake_fd) {
          return;
        }
        if (fd == listen_fd) {
          acceptAll();
          continue;
        }
        auto it = conns.find(fd);
        if (it == conns.end()) {
          continue;
        }
        if (it->second.writing) {
          flush(fd, false);
        } else {
          onReadable(fd);  // also when a TLS session waited for the socket to be writable
        }
      }
      expire();
      if (!listening && Clock::now() >= resume_listening) {
        setListening(true);
      }
    }
  }
};

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::start(Options options, Handler handler) {
  return start(std::move(options), std::move(handler), nullptr);
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::start(Options options,
                                                              RequestHandler handler) {
  return start(std::move(options), nullptr, std::move(handler));
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::start(Options options, Handler handler,
                                                              RequestHandler request_handler) {
  std::unique_ptr<HttpServer> s(new HttpServer());
  s->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (s->wake_fd_ < 0) {
    return absl::UnavailableError(std::string("eventfd: ") + strerror(errno));
  }
  const int threads = std::max(1, options.threads);
  for (int i = 0; i < threads; ++i) {
    // The first socket picks the port (when 0); the others listen on the same one.
    int bound = 0;
    auto fd = listenTcp(options.host, i == 0 ? options.port : s->port_, 128, &bound, threads > 1);
    if (!fd.ok()) {
      return fd.status();
    }
    s->listen_fds_.push_back(*fd);
    if (i == 0) {
      s->port_ = bound;
    }
    auto loop = std::make_unique<Loop>();
    loop->options = options;
    loop->handler = handler;
    loop->request_handler = request_handler;
    loop->max_connections = std::max(1, (options.max_connections + threads - 1) / threads);
    loop->listen_fd = *fd;
    loop->wake_fd = s->wake_fd_;
    loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epoll_fd < 0) {
      return absl::UnavailableError(std::string("epoll: ") + strerror(errno));
    }
    loop->watchListener();
    epoll_event ev{};
    ev.events = EPOLLIN;  // level-triggered and never read: one write wakes every loop
    ev.data.fd = s->wake_fd_;
    epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, s->wake_fd_, &ev);
    s->loops_.push_back(std::move(loop));
  }
  for (auto& loop : s->loops_) {
    s->threads_.emplace_back([l = loop.get()] { l->run(); });
  }
  return s;
}

HttpServer::~HttpServer() {
  if (!threads_.empty()) {
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
    for (auto& t : threads_) {
      t.join();
    }
  }
  loops_.clear();
  for (int fd : listen_fds_) {
    close(fd);
  }
  if (wake_fd_ >= 0) {
    close(wake_fd_);
  }
}

}  // namespace mixer
