// RedisServer: a real redis-server on an ephemeral port for tests, stopped by PID; RedisSentinel:
// a real redis-sentinel monitoring one, with its config file in a temporary directory.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

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

// Runs in a fresh temporary directory (a replica writes the master's snapshot there; a server
// started in the test's working directory would load what an earlier one left).
class RedisServer {
 public:
  ~RedisServer() {
    kill();
    for (const std::string& dir : dirs_) {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  }
  // Starts on `port` (0: a free one) with `extra` arguments (e.g. {"--replicaof", host, port}).
  // False when it did not come up.
  bool start(int port = 0, const std::vector<std::string>& extra = {}) {
    char tmpl[] = "/tmp/redis-server-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      return false;
    }
    dirs_.emplace_back(tmpl);
    port_ = port == 0 ? freePort() : port;
    std::vector<std::string> argv = {"/usr/bin/redis-server",
                                     "--port",
                                     std::to_string(port_),
                                     "--bind",
                                     "127.0.0.1",
                                     "--save",
                                     "",
                                     "--appendonly",
                                     "no",
                                     "--dir",
                                     tmpl};
    argv.insert(argv.end(), extra.begin(), extra.end());
    if (!process_.start(argv)) {
      return false;
    }
    return process_.waitFor("Ready to accept connections").has_value();
  }
  // Waits for `pattern` in the server's output (e.g. a replica's finished sync).
  bool waitFor(const std::string& pattern) { return process_.waitFor(pattern).has_value(); }
  void kill() { process_.stop(SIGKILL); }
  int port() const { return port_; }
  pid_t pid() const { return process_.pid(); }
  std::string output() const { return process_.output(); }

 private:
  Subprocess process_;
  int port_ = 0;
  std::vector<std::string> dirs_;
};

// A redis-sentinel monitoring `master_name` at 127.0.0.1:`master_port` with quorum 2, quick to
// call a master down (1s) so that a failover test does not wait long.
class RedisSentinel {
 public:
  ~RedisSentinel() {
    kill();
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);  // sentinel rewrites its config file there
    }
  }
  // `password`: the sentinel's own (requirepass: clients and the other sentinels authenticate);
  // `master_password`: what it sends to the master and replicas (auth-pass).
  bool start(const std::string& master_name, int master_port, const std::string& password = "",
             const std::string& master_password = "") {
    char tmpl[] = "/tmp/redis-sentinel-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      return false;
    }
    dir_ = tmpl;
    port_ = freePort();
    const std::string conf = dir_ + "/sentinel.conf";
    {
      std::ofstream out(conf);
      out << "port " << port_ << "\nbind 127.0.0.1\ndaemonize no\ndir " << dir_ << "\n"
          << "sentinel monitor " << master_name << " 127.0.0.1 " << master_port << " 2\n"
          << "sentinel down-after-milliseconds " << master_name << " 1000\n"
          << "sentinel failover-timeout " << master_name << " 10000\n"
          << "sentinel parallel-syncs " << master_name << " 1\n";
      if (!password.empty()) {
        out << "requirepass " << password << "\n";
      }
      if (!master_password.empty()) {
        out << "sentinel auth-pass " << master_name << " " << master_password << "\n";
      }
      if (!out) {
        return false;
      }
    }
    if (!process_.start({"/usr/bin/redis-sentinel", conf})) {
      return false;
    }
    return process_.waitFor("\\+monitor master " + master_name).has_value();
  }
  bool waitFor(const std::string& pattern) { return process_.waitFor(pattern).has_value(); }
  void kill() { process_.stop(SIGKILL); }
  int port() const { return port_; }
  std::string output() const { return process_.output(); }

 private:
  Subprocess process_;
  std::string dir_;
  int port_ = 0;
};

}  // namespace mixer::testing
