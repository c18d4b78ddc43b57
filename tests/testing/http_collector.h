// HttpCollector: a minimal HTTP/1.1 server on 127.0.0.1 (ephemeral port) for tests that need a
// backend to POST to, e.g. a Zipkin collector. It records every request's method, path and body
// and answers with a configurable status. One connection at a time; each answered with
// "Connection: close".
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing/subprocess.h"  // unusedPort()

namespace mixer::testing {

class HttpCollector {
 public:
  struct Request {
    std::string method;
    std::string path;
    std::string content_type;
    std::string body;
  };

  HttpCollector();  // listens at once; port() is valid after construction
  ~HttpCollector();
  HttpCollector(const HttpCollector&) = delete;
  HttpCollector& operator=(const HttpCollector&) = delete;

  int port() const { return port_; }
  // The status code of the next responses (default 202, as Zipkin answers).
  void setStatus(int status) { status_ = status; }
  std::vector<Request> requests() const;
  // Waits until at least `n` requests arrived; false on timeout.
  bool waitForRequests(size_t n, int timeout_ms = 10000) const;

 private:
  void serve();
  void handle(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> status_{202};
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<Request> requests_;
  std::thread thread_;
};

}  // namespace mixer::testing
