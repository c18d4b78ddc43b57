#include "mixer/server/server_metrics.h"

namespace mixer::server {
namespace {

constexpr const char* kCodeNames[] = {
    "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
    "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
    "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
    "DataLoss", "Unauthenticated"};

constexpr const char* kMethodNames[] = {"Check", "Report"};
constexpr const char* kService = "istio.mixer.v1.Mixer";

}  // namespace

ServerMetrics::ServerMetrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto& handled = prometheus::BuildCounter()
                      .Name("grpc_server_handled_total")
                      .Help("Total number of RPCs completed on the server, regardless of success.")
                      .Register(*registry_);
  auto& latency = prometheus::BuildHistogram()
                      .Name("grpc_server_handling_seconds")
                      .Help("Histogram of response latency of RPCs handled by the server.")
                      .Register(*registry_);
  auto& in_flight = prometheus::BuildGauge()
                        .Name("mixer_server_in_flight_requests")
                        .Help("RPCs being handled right now.")
                        .Register(*registry_);
  auto& invalid = prometheus::BuildCounter()
                      .Name("mixer_server_invalid_requests_total")
                      .Help("Requests rejected as malformed (INVALID_ARGUMENT), by method.")
                      .Register(*registry_);
  auto& stopped = prometheus::BuildCounter()
                      .Name("mixer_server_stopped_calls_total")
                      .Help(
                          "Calls whose work stopped early: their deadline passed (reason "
                          "\"deadline\").")
                      .Register(*registry_);
  const prometheus::Histogram::BucketBoundaries buckets = {
      0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
      0.025,   0.05,     0.1,     0.25,   0.5,     1,      2.5,   5,      10};
  for (int m = 0; m < kMethodCount; ++m) {
    for (int c = 0; c < kCodeCount; ++c) {
      handled_[m][c] = &handled.Add({{"grpc_service", kService},
                                     {"grpc_method", kMethodNames[m]},
                                     {"grpc_type", "unary"},
                                     {"grpc_code", kCodeNames[c]}});
    }
    latency_[m] = &latency.Add(
        {{"grpc_service", kService}, {"grpc_method", kMethodNames[m]}, {"grpc_type", "unary"}},
        buckets);
    in_flight_[m] = &in_flight.Add({{"grpc_method", kMethodNames[m]}});
    invalid_requests_[m] = &invalid.Add({{"grpc_method", kMethodNames[m]}});
    stopped_calls_[m] = &stopped.Add({{"grpc_method", kMethodNames[m]}, {"reason", "deadline"}});
  }
  report_records_ = &prometheus::BuildCounter()
                         .Name("mixer_report_records_total")
                         .Help("Attribute records received in Report calls.")
                         .Register(*registry_)
                         .Add({});
  quota_unmatched_ = &prometheus::BuildCounter()
                          .Name("mixer_quota_unmatched_total")
                          .Help("Quota requests that no rule handles (nothing granted).")
                          .Register(*registry_)
                          .Add({});
  connections_ = &prometheus::BuildGauge()
                      .Name("mixer_server_connections")
                      .Help("Open connections on the gRPC port.")
                      .Register(*registry_)
                      .Add({});
  accepting_ = &prometheus::BuildGauge()
                    .Name("mixer_server_accepting")
                    .Help(
                        "1 while the gRPC port accepts new connections; 0 at the connection "
                        "limit or while out of file descriptors.")
                    .Register(*registry_)
                    .Add({});
  lean_connections_ = &prometheus::BuildGauge()
                           .Name("mixer_lean_connections")
                           .Help("Open connections on the lean port (--lean-address).")
                           .Register(*registry_)
                           .Add({});
}

void ServerMetrics::callFinished(Method m, grpc::StatusCode code, double seconds) {
  const int c = static_cast<int>(code);
  handled_[m][c >= 0 && c < kCodeCount ? c : 2]->Increment();
  latency_[m]->Observe(seconds);
  in_flight_[m]->Decrement();
}

}  // namespace mixer::server
