// The Aggregated Discovery Service (state of the world): each ADS stream subscribes to LDS, RDS,
// CDS and EDS resources by name and gets just those, versioned by snapshot, each response with
// its own nonce. ACKs record the accepted version; a NACK is logged and counted, and the rejected
// version is not sent again as if accepted: the stream gets a new response only when its
// resources change or its subscription does. publish() pushes a new snapshot to exactly the
// streams whose subscribed resources differ from what they were last sent (pointer comparison of
// the shared serialized resources), in the order CDS, EDS, LDS, RDS.
// Thread-safe: gRPC callbacks, publish() and configDumpJson() may run concurrently.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "pilot/xds/snapshot.h"
#include "pilot/xds/xds_metrics.h"
#include "security/tls/caller_gate.h"

namespace pilot::xds {

class AdsStream;

class DiscoveryServer final
    : public envoy::service::discovery::v3::AggregatedDiscoveryService::CallbackService {
 public:
  DiscoveryServer(std::shared_ptr<const Snapshot> initial, XdsMetrics* metrics);
  ~DiscoveryServer() override;

  // Who may open an ADS stream (security::tls::Api::kXds); null: everyone the transport lets in.
  // OWNERSHIP: borrowed; set before serving.
  void setCallerGate(const security::tls::CallerGate* gate) { gate_ = gate; }

  // Makes `snapshot` current and pushes it to the streams whose resources changed.
  void publish(std::shared_ptr<const Snapshot> snapshot);
  std::shared_ptr<const Snapshot> current() const;

  // What each connected node subscribed to, was sent (resources as JSON), ACKed and NACKed.
  std::string configDumpJson() const;
  size_t connectedClients() const;

  grpc::ServerBidiReactor<envoy::service::discovery::v3::DiscoveryRequest,
                          envoy::service::discovery::v3::DiscoveryResponse>*
  StreamAggregatedResources(grpc::CallbackServerContext* context) override;

 private:
  friend class AdsStream;
  void remove(AdsStream* stream);

  XdsMetrics* metrics_;
  const security::tls::CallerGate* gate_ = nullptr;
  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::unordered_map<AdsStream*, std::shared_ptr<AdsStream>> streams_;
  uint64_t next_stream_id_ = 1;
};

}  // namespace pilot::xds
