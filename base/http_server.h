// HttpServer: a small HTTP/1.1 server for monitoring endpoints and forward-auth (GET and HEAD only
// unless `any_method`; request bodies are never read unless `max_body_bytes`). By default one
// request per connection, answered with "Connection: close"; with `keep_alive`, a connection serves
// request after request (pipelined or not) until the client says `Connection: close`, speaks
// HTTP/1.0, sends a body, or stays idle past `keep_alive_timeout`. Event loops over non-blocking
// sockets (one thread each, `threads` of them, each with its own listening socket on the port), so
// idle or slow clients cost a descriptor and a buffer each, never a thread:
//   - a request's header must arrive whole within `read_timeout` of the accept (or, on a kept-alive
//     connection, of its first byte), else the connection is closed (408 when some bytes came);
//   - a header larger than `max_header_bytes` gets 431 and the connection is closed;
//   - at `max_connections` (split evenly over the loops), a new connection evicts the oldest one
//     still waiting for a request (kept-alive connections between requests included), so a crowd
//     of idle connections cannot keep a health probe out;
//   - a response must be written within `write_timeout`;
//   - a request announcing a body (Content-Length other than 0, or Transfer-Encoding) is answered
//     and its connection closed: the body is never read, so it could not be told from the next
//     request.
// Handlers run on the loop threads: they must be quick (serialising a registry is), and with more
// than one loop, thread-safe. The destructor stops the loops at once (an eventfd wakes them) and
// closes every connection.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace mixer {

struct HttpResponse {
  HttpResponse() = default;
  HttpResponse(int c, std::string type, std::string b)
      : code(c), content_type(std::move(type)), body(std::move(b)) {}

  int code = 200;
  std::string content_type = "text/plain";
  std::string body;
  // Further response headers, written as given: names must be tokens and values free of control
  // characters (httpHeaderValue() makes one so).
  std::vector<std::pair<std::string, std::string>> headers;
};

// TLS on an HttpServer's connections. The server sees only this interface; security/tls/
// http_tls.h implements it with OpenSSL over certificate files.
class HttpTlsSession {
 public:
  virtual ~HttpTlsSession() = default;
  // Like recv() and send() on the non-blocking socket the session was made for: bytes moved, 0
  // for the end of the stream (read only), or -1 with errno EAGAIN when the socket must become
  // readable (*want_write false) or writable (*want_write true) first, or another errno when the
  // session failed (the handshake included: the session logs why).
  virtual ssize_t read(char* buf, size_t size, bool* want_write) = 0;
  virtual ssize_t write(const char* buf, size_t size, bool* want_write) = 0;
  // Sends close_notify (best effort).
  virtual void close() = 0;
  // The verified peer's identity (its SPIFFE ID or first DNS SAN); "" without a verified
  // client certificate.
  virtual std::string_view peerPrincipal() const = 0;
};

class HttpTls {
 public:
  virtual ~HttpTls() = default;
  // A server-side session over `fd` (non-blocking, connected); null when none can be made.
  // Called on the accepting loop's thread; must be thread-safe across loops.
  virtual std::unique_ptr<HttpTlsSession> accept(int fd) = 0;
};

// One request as a RequestHandler sees it: views into the connection's buffer, valid for the
// handler's call.
struct HttpRequest {
  std::string_view method;
  std::string_view path;     // the target without its query string
  std::string_view query;    // what follows the target's '?' ("" without one)
  std::string_view version;  // "HTTP/1.1", "HTTP/1.0", ... as sent
  // Over TLS with a verified client certificate: the client's identity (HttpTlsSession).
  std::string_view peer_principal;
  // In the order received; names lower-cased, values without surrounding blanks.
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  // The body, with Options::max_body_bytes only (else always empty).
  std::string_view body;
};

class HttpServer {
 public:
  // `path` is the request target without its query string.
  using Handler = std::function<HttpResponse(const std::string& path)>;
  // The whole request head (forward-auth).
  using RequestHandler = std::function<HttpResponse(const HttpRequest& request)>;

  struct Options {
    std::string host;  // "" or "0.0.0.0": every IPv4 interface; "::": every interface
    int port = 0;      // 0 picks a free port
    int max_connections = 64;
    std::chrono::milliseconds read_timeout{5000};
    std::chrono::milliseconds write_timeout{10000};
    size_t max_header_bytes = 8192;
    // Every method token is handed to the handler (else 405 for all but GET and HEAD). The body
    // of a request is never read: the response comes after the head, and the connection closes.
    bool any_method = false;
    // With a RequestHandler: a request with `Content-Length` up to this many bytes has its body
    // read (within `read_timeout`) and handed to the handler in HttpRequest::body; a larger one
    // gets 413. The connection closes after the answer. 0: bodies are never read (above).
    size_t max_body_bytes = 0;
    // Persistent connections (HTTP/1.1 keep-alive): see above. Off: every response closes.
    bool keep_alive = false;
    // How long a kept-alive connection may wait for its next request.
    std::chrono::milliseconds keep_alive_timeout{75000};
    // Event loops (threads), each with its own listening socket on the port (SO_REUSEPORT: the
    // kernel spreads new connections over them); a connection stays on the loop that accepted
    // it. A handler that blocks holds only its own loop's connections.
    int threads = 1;
    // TLS on every connection; null: plain HTTP.
    std::shared_ptr<HttpTls> tls;
  };

  static absl::StatusOr<std::unique_ptr<HttpServer>> start(Options options, Handler handler);
  static absl::StatusOr<std::unique_ptr<HttpServer>> start(Options options, RequestHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }

 private:
  struct Loop;
  HttpServer() = default;
  static absl::StatusOr<std::unique_ptr<HttpServer>> start(Options options, Handler handler,
                                                           RequestHandler request_handler);

  int port_ = 0;
  std::vector<int> listen_fds_;  // one per loop
  int wake_fd_ = -1;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<std::thread> threads_;
};

// The request line of a request head (everything up to and including the blank line).
struct HttpRequestLine {
  std::string method;  // "GET" or "HEAD"
  std::string path;    // the target without its query string
};

// Parses the head of a request: 0 with *out set, or the status to answer: 400 for a head that is
// not "METHOD SP TARGET SP HTTP/..." followed by the header block's end (or whose target holds a
// control character), 405 for a method other than GET and HEAD. Pure: the fuzz target
// http_request_fuzz calls it directly.
int parseHttpRequestHead(std::string_view head, HttpRequestLine* out);

// Parses a whole request head, header fields included, lower-casing the header names in place in
// `head` (which *out then views): 0, or 400 for a malformed head (a request line as above, a
// field line without a token name and ':', an obsolete line folding, a bare CR or LF, a control
// character in a value), or 405 for a method other than GET and HEAD unless `any_method`. Pure:
// the fuzz target forward_auth_fuzz calls it.
int parseHttpRequest(std::string* head, bool any_method, HttpRequest* out);

// Whether the connection of a parsed request may serve another request after this one's answer:
// an HTTP/1.1 (or later) request without a `Connection: close` token and without a body
// (`Content-Length` absent or 0, no `Transfer-Encoding`). Pure.
bool httpKeepAlive(const HttpRequest& request);

// The reason phrase of an HTTP status code as RFC 9110 names it ("Not Found" for 404); "Status"
// for a code the project does not send.
const char* httpReasonPhrase(int code);

// `value` as a response header value: control characters (CR and LF among them) become spaces.
std::string httpHeaderValue(std::string_view value);

// Whether `name` is an HTTP token (a valid header name or method).
bool isHttpToken(std::string_view name);

// Binds and listens on host:port (non-blocking, close-on-exec, SO_REUSEADDR; with `reuse_port`
// also SO_REUSEPORT, so that further sockets of this process can listen on the same port and the
// kernel spreads connections over them). `host` "" or "0.0.0.0" is every IPv4 interface; "::"
// every interface (dual stack); otherwise a numeric address or a name resolved with getaddrinfo.
// Returns the descriptor and sets *bound_port.
absl::StatusOr<int> listenTcp(const std::string& host, int port, int backlog, int* bound_port,
                              bool reuse_port = false);

}  // namespace mixer
