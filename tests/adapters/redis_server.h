// RedisServer: a real redis-server on an ephemeral port for tests, stopped by PID.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "tests/testing/subprocess.h"

namespace mixer::testing {

// A TCP port that was free a moment ago (redis-server cannot report the port it bound).
inline int freePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

class RedisServer {
 public:
  // Starts on `port` (0: a free one). False when it did not come up.
  bool start(int port = 0) {
    port_ = port == 0 ? freePort() : port;
    if (!process_.start({"/usr/bin/redis-server", "--port", std::to_string(port_), "--bind",
                         "127.0.0.1", "--save", "", "--appendonly", "no"})) {
      return false;
    }
    return process_.waitFor("Ready to accept connections").has_value();
  }
  void kill() { process_.stop(SIGKILL); }
  int port() const { return port_; }
  pid_t pid() const { return process_.pid(); }
  std::string output() const { return process_.output(); }

 private:
  Subprocess process_;
  int port_ = 0;
};

}  // namespace mixer::testing
