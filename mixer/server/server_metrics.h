// ServerMetrics: mixs' self-monitoring, exposed on the monitoring port's /metrics.
// Names follow the go-grpc-prometheus conventions Istio's Mixer exported, so existing dashboards
// keep working: grpc_server_handled_total, grpc_server_handling_seconds, plus mixer_* counters.
//
// Thread-safe. Per-call updates touch pre-created series only (no label lookup on the hot path).
#pragma once

#include <array>
#include <memory>

#include <grpcpp/support/status.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace mixer::server {

class ServerMetrics {
 public:
  enum Method { kCheck = 0, kReport = 1, kMethodCount = 2 };

  ServerMetrics();

  void callStarted(Method m) { in_flight_[m]->Increment(); }
  prometheus::Gauge& inFlight(Method m) { return *in_flight_[m]; }
  void callFinished(Method m, grpc::StatusCode code, double seconds);

  prometheus::Counter& reportRecords() { return *report_records_; }
  prometheus::Counter& quotaUnmatched() { return *quota_unmatched_; }
  prometheus::Counter& invalidRequests(Method m) { return *invalid_requests_[m]; }
  // Calls whose work was stopped early because their deadline passed (reason="deadline").
  prometheus::Counter& stoppedAtDeadline(Method m) { return *stopped_calls_[m]; }
  // The gRPC port: open connections, and 1 while it accepts new ones (0 at --max-connections or
  // out of descriptors).
  prometheus::Gauge& connections() { return *connections_; }
  prometheus::Gauge& accepting() { return *accepting_; }
  // Open connections on the lean port, over all its threads (lean_port.h).
  prometheus::Gauge& leanConnections() { return *lean_connections_; }

  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

 private:
  static constexpr int kCodeCount = 17;

  std::shared_ptr<prometheus::Registry> registry_;
  std::array<std::array<prometheus::Counter*, kCodeCount>, kMethodCount> handled_{};
  std::array<prometheus::Histogram*, kMethodCount> latency_{};
  std::array<prometheus::Gauge*, kMethodCount> in_flight_{};
  std::array<prometheus::Counter*, kMethodCount> invalid_requests_{};
  std::array<prometheus::Counter*, kMethodCount> stopped_calls_{};
  prometheus::Counter* report_records_ = nullptr;
  prometheus::Counter* quota_unmatched_ = nullptr;
  prometheus::Gauge* connections_ = nullptr;
  prometheus::Gauge* accepting_ = nullptr;
  prometheus::Gauge* lean_connections_ = nullptr;
};

}  // namespace mixer::server
