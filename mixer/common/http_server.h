// HttpServer: a small HTTP/1.1 server for monitoring endpoints (GET and HEAD only, one request per
// connection, "Connection: close"). One thread runs an epoll loop over non-blocking sockets, so
// idle or slow clients cost a descriptor and a buffer each, never a thread:
//   - a request's header must arrive whole within `read_timeout` of the accept, else the
//     connection is closed (408 when some bytes came);
//   - a header larger than `max_header_bytes` gets 431 and the connection is closed;
//   - at `max_connections`, a new connection evicts the oldest one still waiting for its request,
//     so a crowd of idle connections cannot keep a health probe out;
//   - a response must be written within `write_timeout`.
// Handlers run on the loop thread: they must be quick (serialising a registry is). The destructor
// stops the loop at once (an eventfd wakes it) and closes every connection.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace mixer {

struct HttpResponse {
  int code = 200;
  std::string content_type = "text/plain";
  std::string body;
};

class HttpServer {
 public:
  // `path` is the request target without its query string.
  using Handler = std::function<HttpResponse(const std::string& path)>;

  struct Options {
    std::string host;  // "" or "0.0.0.0": every IPv4 interface; "::": every interface
    int port = 0;      // 0 picks a free port
    int max_connections = 64;
    std::chrono::milliseconds read_timeout{5000};
    std::chrono::milliseconds write_timeout{10000};
    size_t max_header_bytes = 8192;
  };

  static absl::StatusOr<std::unique_ptr<HttpServer>> start(Options options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }

 private:
  struct Loop;
  HttpServer() = default;

  int port_ = 0;
  std::unique_ptr<Loop> loop_;
  std::thread thread_;
};

// Binds and listens on host:port (non-blocking, close-on-exec, SO_REUSEADDR). `host` "" or
// "0.0.0.0" is every IPv4 interface; "::" every interface (dual stack); otherwise a numeric
// address or a name resolved with getaddrinfo. Returns the descriptor and sets *bound_port.
absl::StatusOr<int> listenTcp(const std::string& host, int port, int backlog, int* bound_port);

}  // namespace mixer
