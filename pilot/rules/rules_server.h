// The Rules API's HTTP/1.1 transport: a thread per connection (at most `max_connections`; an
// administrative API, and a watch holds its connection for as long as the client keeps it), one
// request per connection (answered with Connection: close), request bodies up to
// kMaxBodyBytes with Content-Length, optional TLS through mixer::HttpTls (the same files and
// client-certificate rules as the xDS port). A watch is answered with a chunked stream of JSON
// lines. mixer::HttpServer is not used: it never reads bodies and answers each request whole.
// The destructor stops the accept loop, ends open watches and joins every thread.
#pragma once

#include <atomic>
#include <chrono>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "base/http_server.h"
#include "pilot/rules/rules_api.h"

namespace pilot::rules {

class RulesServer {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    int port = 0;
    std::shared_ptr<mixer::HttpTls> tls;  // null: plain HTTP
    int max_connections = 64;
    std::chrono::milliseconds read_timeout{10000};
    std::chrono::milliseconds write_timeout{10000};
  };

  // OWNERSHIP: `api` borrowed; it must outlive the server.
  static absl::StatusOr<std::unique_ptr<RulesServer>> start(Options options, RulesApi* api);
  ~RulesServer();
  int port() const { return port_; }

 private:
  struct Connection;
  RulesServer() = default;
  void acceptLoop();
  void serve(std::shared_ptr<Connection> c);
  void serveRequest(const std::shared_ptr<Connection>& c);

  Options options_;
  RulesApi* api_ = nullptr;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex mu_;
  struct Worker {
    std::thread thread;
    std::shared_ptr<Connection> connection;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::list<Worker> workers_;
};

// Decodes one request from `raw` (its head, then a body of Content-Length bytes): 0 with *out
// filled (the body included) once it is whole, -1 when more bytes are needed, or the status to
// answer: 400 (malformed), 413 (body over kMaxBodyBytes), 431 (head over 16 KiB), 411 (a
// Transfer-Encoding body: send Content-Length). Pure: the fuzz target rules_api_fuzz calls it.
inline constexpr size_t kMaxHeadBytes = 16384;
int decodeHttpRequest(const std::string& raw, ApiRequest* out);

}  // namespace pilot::rules
