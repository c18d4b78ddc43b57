// HealthState: what mixs' grpc.health.v1.Health service answers (queue_server.h serves it).
//
// The same semantics as gRPC's default health service, which mixs used before its port moved to
// completion queues: the overall service "" and every named service share one serving state, set
// by setServing() (the port accepting connections and the server ready); after shutdown() every
// service is NOT_SERVING for good. A service the server does not know is SERVICE_UNKNOWN to Watch
// and NOT_FOUND to Check.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace mixer::server {

class HealthState {
 public:
  // grpc.health.v1.HealthCheckResponse.ServingStatus.
  enum Status : int { kUnknown = 0, kServing = 1, kNotServing = 2, kServiceUnknown = 3 };

  // Told of every change of the serving state, on the thread that changed it, with this object's
  // lock held (so that no watcher is told after remove() returned): must not block, nor call
  // add() or remove().
  class Watcher {
   public:
    virtual ~Watcher() = default;
    virtual void healthChanged() = 0;
  };

  // `services`: the fully-qualified names answered for besides "". Starts NOT_SERVING.
  explicit HealthState(std::vector<std::string> services);

  void setServing(bool serving);
  // NOT_SERVING from now on; setServing() is then ignored.
  void shutdown();
  bool isShutdown() const { return shutdown_.load(std::memory_order_acquire); }

  // The status of `service` now: kServing, kNotServing or kServiceUnknown.
  Status status(std::string_view service) const;

  // OWNERSHIP: `w` is borrowed until remove(w) returns.
  void add(Watcher* w);
  void remove(Watcher* w);

  // HealthCheckRequest{service = 1} → the service's name; false when the bytes are not one.
  static bool parseRequest(std::string_view bytes, std::string* service);
  // HealthCheckResponse{status = 1}.
  static std::string encodeResponse(Status status);

 private:
  void notify();

  const std::vector<std::string> services_;
  std::atomic<bool> serving_{false};
  std::atomic<bool> shutdown_{false};
  std::mutex mu_;  // guards watchers_; notify() copies the list out under it
  std::vector<Watcher*> watchers_;
};

}  // namespace mixer::server
