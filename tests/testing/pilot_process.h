// PilotProcess: a real pilot-discovery for an integration test, its xDS and monitoring servers
// (and its Rules API, when asked for) on ephemeral loopback ports, stopped by its PID. It is a
// Subprocess: waitFor, output, running and stop work as for any program.
#pragma once

#include <string>
#include <vector>

#include "tests/testing/subprocess.h"

namespace mixer::testing {

class PilotProcess : public Subprocess {
 public:
  // Starts `pilot-discovery --grpc-address <grpc_address> --monitoring-address 127.0.0.1:0
  // flags...` (the registry and config sources, TLS, --rules-address 127.0.0.1:0, ...) and waits
  // for the ports it announces: xDS and monitoring, and the Rules API's when `flags` has
  // --rules-address. False when it exited or did not announce them in time; output() says why.
  // `grpc_address`: a free port by default; a restart may ask for the one it had.
  bool start(const std::vector<std::string>& flags,
             const std::string& grpc_address = "127.0.0.1:0");

  int xdsPort() const { return xds_port_; }
  std::string xdsAddress() const { return "127.0.0.1:" + std::to_string(xds_port_); }
  int monitoringPort() const { return monitoring_port_; }
  int rulesPort() const { return rules_port_; }

 private:
  int xds_port_ = 0;
  int monitoring_port_ = 0;
  int rules_port_ = 0;
};

// EtcdProcess: a real single-member etcd (Debian's etcd-server) on loopback ports that were free
// a moment ago (etcd cannot bind port 0 and report it), stopped by its PID.
class EtcdProcess : public Subprocess {
 public:
  // Starts member `name` with its data in `data_dir` and waits (30 s) until it serves clients.
  bool start(const std::string& name, const std::string& data_dir);
  int clientPort() const { return client_port_; }

 private:
  int client_port_ = 0;
};

}  // namespace mixer::testing
