// GrpcAcceptor: owns the gRPC port's listening socket and accept loop, and hands each accepted
// connection to the gRPC server (ServerBuilder's external connection acceptor, which takes the
// server credentials, so TLS can be served on the same port).
//
// Why not gRPC's own listener: in gRPC 1.51 (iomgr's tcp_server_posix.cc) an accept4 error other
// than EINTR, EAGAIN or ECONNABORTED ends that listener's accept loop for good: after one EMFILE
// the port stays bound but nothing is accepted again. This loop instead
//   - stops accepting at `max_connections` (connections wait in the kernel's backlog) and resumes
//     when one closes;
//   - on EMFILE, ENFILE, ENOBUFS or ENOMEM, releases a few reserve descriptors (so the rest of
//     the process, e.g. the monitoring port, keeps working), stops accepting, and resumes once it
//     can take the reserve back.
// accepting() is false in both states; `on_change` is called (on the loop thread) when it
// changes.
//
// Open connections are counted by remembering each handed-over descriptor with its socket inode:
// gRPC closes the descriptor when the connection ends, so the descriptor then no longer refers to
// that inode. The table is swept at most every 100 ms while at the limit, else every second.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>

#include "absl/status/statusor.h"

namespace grpc::experimental {
class ExternalConnectionAcceptor;
}

namespace mixer::server {

class GrpcAcceptor {
 public:
  struct Options {
    std::string host;  // "" or "0.0.0.0": every IPv4 interface; "::": every interface
    int port = 0;
    int max_connections = 10000;
    int reserve_descriptors = 8;
    std::function<void(bool accepting)> on_change;
    std::function<void(int connections)> on_count;  // when the count changes (loop thread)
  };

  // Binds and listens (so that the bound port is known before the gRPC server starts).
  static absl::StatusOr<std::unique_ptr<GrpcAcceptor>> listen(Options options);
  ~GrpcAcceptor();

  int port() const { return port_; }
  // Starts the accept loop; connections go to `target`, which must outlive stop().
  void start(grpc::experimental::ExternalConnectionAcceptor* target);
  // Closes the listening socket and ends the loop; connections already handed over stay.
  void stop();

  bool accepting() const { return accepting_.load(); }
  int connections() const { return connections_.load(); }

 private:
  GrpcAcceptor() = default;
  void run();
  bool acceptSome();
  void sweep();
  bool takeReserve();
  void releaseReserve();
  void setAccepting(bool on);
  void countChanged();

  Options options_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  int port_ = 0;
  grpc::experimental::ExternalConnectionAcceptor* target_ = nullptr;
  std::thread thread_;
  std::unordered_map<int, unsigned long> open_;  // descriptor -> socket inode
  std::vector<int> reserve_;
  std::atomic<bool> accepting_{true};
  std::atomic<int> connections_{0};
};

// Raises RLIMIT_NOFILE's soft limit to its hard limit (as Go's runtime does for Istio's mixs);
// returns the soft limit in effect afterwards.
long raiseOpenFileLimit();

// The default connection limit for a process allowed `open_files` descriptors: 10,000, but
// always well below the limit (half of it, or all but 256 when that is more), so that accepting
// never runs out of descriptors.
int defaultMaxConnections(long open_files);

}  // namespace mixer::server
