// PrometheusServer: a real Prometheus server (Debian's /usr/bin/prometheus) that scrapes one
// target every second, on a loopback port that was free a moment ago, its configuration and data
// in a directory of the test's, stopped by its PID. It is a Subprocess: output and stop work as
// for any program.
#pragma once

#include <string>

#include "tests/testing/subprocess.h"

namespace mixer::testing {

class PrometheusServer : public Subprocess {
 public:
  // Writes `dir`/prometheus.yml (job "mixer": 127.0.0.1:`target_port`, every second), starts
  // Prometheus with its data in `dir`/data and waits (30 s) until it serves. False when it did
  // not come up; output() says why.
  bool start(const std::string& dir, int target_port);

  int webPort() const { return web_port_; }

  // The body of /api/v1/query?query=`promql` (`promql` URL-encoded).
  std::string query(const std::string& promql) const;

 private:
  int web_port_ = 0;
};

}  // namespace mixer::testing
