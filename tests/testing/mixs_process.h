// MixsProcess: a real `mixs server` for an integration test, on ephemeral loopback ports, stopped
// by its PID. It is a Subprocess: waitFor, output, running and stop work as for any program.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tests/testing/subprocess.h"

namespace mixer::testing {

struct MixsOptions {
  std::string config_dir;               // --config-dir; mixs' embedded configuration when empty
  std::string address = "127.0.0.1:0";  // --address
  // --monitoring-port 0; false: -1 (no monitoring port). A --monitoring-port in `extra` replaces
  // it (the monitoring port is still waited for unless this is false).
  bool monitoring = true;
  // --prometheus-address 127.0.0.1:0: the embedded configuration's prometheus handler on a free
  // port (its default, 42422, would collide between tests running in parallel).
  bool prometheus_on_free_port = false;
  std::vector<std::string> extra;  // further flags, after the ones above
  // A command mixs runs under, its argv before mixs' (e.g. {"/usr/bin/prlimit", "--nofile=64"}).
  std::vector<std::string> wrapper;
};

class MixsProcess : public Subprocess {
 public:
  // Starts `mixs server` with `options` and waits for the port of its Mixer API, of its
  // monitoring server (unless options.monitoring is false), of its forward-auth server (when
  // options.extra has --forward-auth-address) and of its lean port (--lean-address). False when it
  // exited or did not announce them in time; output() says why.
  bool start(const MixsOptions& options);
  // The usual case: `config_dir`, a monitoring port, and `extra` flags.
  bool start(const std::string& config_dir, std::vector<std::string> extra = {});

  // Waits for the prometheus adapter's "serving /metrics on 127.0.0.1:<port>" and keeps the port
  // (prometheusPort()). False when the line did not come.
  bool waitForPrometheus();

  // Runs `mixc command -m address() args...` to completion: {exit code, output}.
  std::pair<int, std::string> mixc(const std::string& command,
                                   const std::vector<std::string>& args = {}) const;
  // The same against another address of this mixs (its lean port: leanAddress()).
  std::pair<int, std::string> mixcAt(const std::string& address, const std::string& command,
                                     const std::vector<std::string>& args = {}) const;

  int port() const { return port_; }
  const std::string& address() const { return address_; }  // 127.0.0.1:<port>
  int monitoringPort() const { return monitoring_port_; }
  int forwardAuthPort() const { return forward_auth_port_; }
  // The lean port (when options.extra has --lean-address), as 127.0.0.1:<port>.
  std::string leanAddress() const { return "127.0.0.1:" + std::to_string(lean_port_); }
  int prometheusPort() const { return prometheus_port_; }

 private:
  int port_ = 0;
  std::string address_;
  int monitoring_port_ = 0;
  int forward_auth_port_ = 0;
  int lean_port_ = 0;
  int prometheus_port_ = 0;
};

// A mixs configuration with one redisquota handler ("shared") on the redis-server at
// 127.0.0.1:`redis_port`: `max_amount` per `window` (e.g. "1s", "30s") for the requestcount quota
// of every request (dimension: the destination service), failing closed. `algorithm`, when given,
// is its rateLimitAlgorithm (FIXED_WINDOW, ROLLING_WINDOW).
std::string redisQuotaConfig(int redis_port, int max_amount, const std::string& window,
                             const std::string& algorithm = "");

}  // namespace mixer::testing
