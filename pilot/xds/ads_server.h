// The Aggregated Discovery Service (state of the world): each ADS stream subscribes to LDS, RDS,
// CDS and EDS resources by name and gets just those, versioned by snapshot, each response with
// its own nonce. ACKs record the accepted version; a NACK is logged and counted, and the rejected
// version is not sent again as if accepted: the stream gets a new response only when its
// resources change or its subscription does. publish() pushes a new snapshot to exactly the
// streams whose subscribed resources differ from what they were last sent (pointer comparison of
// the shared serialized resources), in the order CDS, EDS, LDS, RDS.
// With a SecretProvider, a stream may also subscribe to SDS secrets (`default`, `ROOTCA`; see
// secrets.h): the caller is authenticated at its first secret request (a failure ends the stream
// UNAUTHENTICATED), and refreshSecrets() re-sends `default` to the streams whose certificate has
// passed half of its life.
// Thread-safe: gRPC callbacks, publish() and configDumpJson() may run concurrently.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "envoy/service/secret/v3/sds.grpc.pb.h"
#include "pilot/xds/secrets.h"
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

  // Enables SDS on ADS streams opened afterwards (and SecretDiscoveryServer). Call before serving.
  void setSecretProvider(SecretProvider* provider) { secrets_ = provider; }
  // Sends fresh `default` secrets to streams whose certificate is due.
  void refreshSecrets();

  // What each connected node subscribed to, was sent (resources as JSON), ACKed and NACKed.
  std::string configDumpJson() const;
  // The same without the resources: each node's subscriptions and the versions it was sent,
  // ACKed and NACKed (meshctl proxy-status).
  std::string syncJson() const;
  size_t connectedClients() const;

  grpc::ServerBidiReactor<envoy::service::discovery::v3::DiscoveryRequest,
                          envoy::service::discovery::v3::DiscoveryResponse>*
  StreamAggregatedResources(grpc::CallbackServerContext* context) override;

 private:
  friend class AdsStream;
  friend class SecretDiscoveryServer;
  void remove(AdsStream* stream);
  std::string dumpJson(bool with_resources) const;
  grpc::ServerBidiReactor<envoy::service::discovery::v3::DiscoveryRequest,
                          envoy::service::discovery::v3::DiscoveryResponse>*
  open(grpc::CallbackServerContext* context, bool secrets_only);

  XdsMetrics* metrics_;
  SecretProvider* secrets_ = nullptr;
  const security::tls::CallerGate* gate_ = nullptr;
  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::unordered_map<AdsStream*, std::shared_ptr<AdsStream>> streams_;
  uint64_t next_stream_id_ = 1;
};

// envoy.service.secret.v3.SecretDiscoveryService: SDS as its own service. StreamSecrets is an
// ADS stream that takes only the Secret type; FetchSecrets answers once.
class SecretDiscoveryServer final
    : public envoy::service::secret::v3::SecretDiscoveryService::CallbackService {
 public:
  SecretDiscoveryServer(DiscoveryServer* discovery, SecretProvider* secrets)
      : discovery_(discovery), secrets_(secrets) {}

  grpc::ServerBidiReactor<envoy::service::discovery::v3::DiscoveryRequest,
                          envoy::service::discovery::v3::DiscoveryResponse>*
  StreamSecrets(grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* FetchSecrets(
      grpc::CallbackServerContext* context,
      const envoy::service::discovery::v3::DiscoveryRequest* request,
      envoy::service::discovery::v3::DiscoveryResponse* response) override;

 private:
  DiscoveryServer* discovery_;
  SecretProvider* secrets_;
};

}  // namespace pilot::xds
