// The proxyless gRPC side of the pilot integration tests: Python echo backends
// (tests/integration/pilot/echo_backend.py) and a python3-grpcio client resolving xds:/// names
// through pilot-discovery (tests/integration/pilot/xds_client.py), driven over a FIFO.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/testing/subprocess.h"

namespace mixer::testing {

// Replies by backend ("v1 a": version and id; "error:ABORTED": a failed RPC's status).
using Counts = std::map<std::string, int>;

// The counts in the client's JSON answer.
Counts parseCounts(const std::string& json);

// The replies of the backends whose key starts with `prefix` ("v1 ").
int countVersion(const Counts& counts, const std::string& prefix);

// Echo backends on ephemeral ports, stopped by PID when this goes away.
class EchoBackends {
 public:
  // Starts a backend answering with `version` and `id`; its port, or 0 when it did not come up
  // (output() says why).
  int start(const std::string& version, const std::string& id);
  std::string output() const;
  void stop();

 private:
  std::vector<std::unique_ptr<Subprocess>> backends_;
};

class XdsClient {
 public:
  ~XdsClient() { stop(); }

  // Writes `dir`/bootstrap.json (the xDS server at 127.0.0.1:`xds_port`; the node
  // sidecar~127.0.0.1~client.default~default.svc.cluster.local, in `zone` when given), points
  // GRPC_XDS_BOOTSTRAP at it, and starts the client with its command FIFO `dir`/commands. False
  // when the client did not become ready.
  bool start(const std::string& dir, int xds_port, const std::string& zone = "");

  // Makes `count` RPCs to xds:///echo:9080 with the given headers ("name=value"); the replies by
  // backend, nullopt when the client did not answer (2 minutes).
  std::optional<Counts> call(int count, const std::vector<std::string>& headers = {});

  // Sends QUIT and stops the client (SIGTERM).
  void stop();

  std::string output() const { return process_ ? process_->output() : ""; }

 private:
  std::unique_ptr<Subprocess> process_;
  int commands_fd_ = -1;
  int tag_ = 0;
};

// Calls `call` until `done` holds for its answer (a pushed config has arrived), for up to 30 s,
// with a 100 ms pause between calls.
bool callUntil(const std::function<Counts()>& call, const std::function<bool(const Counts&)>& done);

}  // namespace mixer::testing
