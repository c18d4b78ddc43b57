#include "pilot/xds/ads_server.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <vector>

#include "base/json_string.h"
#include "base/log.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"

namespace pilot::xds {
namespace {

using envoy::service::discovery::v3::DiscoveryRequest;
using envoy::service::discovery::v3::DiscoveryResponse;

using mixer::base::jsonQuote;

std::string messageJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(m, &out, options).ok()) return "null";
  return out;
}

std::string resourceJson(ResourceType type, const std::string& bytes) {
  std::unique_ptr<google::protobuf::Message> m;
  switch (type) {
    case ResourceType::kListener:
      m = std::make_unique<envoy::config::listener::v3::Listener>();
      break;
    case ResourceType::kRoute:
      m = std::make_unique<envoy::config::route::v3::RouteConfiguration>();
      break;
    case ResourceType::kCluster:
      m = std::make_unique<envoy::config::cluster::v3::Cluster>();
      break;
    case ResourceType::kEndpoint:
      m = std::make_unique<envoy::config::endpoint::v3::ClusterLoadAssignment>();
      break;
  }
  if (!m->ParseFromString(bytes)) return "null";
  return messageJson(*m);
}

// An ADS stream refused before it starts (the caller may not fetch xDS): answered at once.
class RefusedStream final : public grpc::ServerBidiReactor<DiscoveryRequest, DiscoveryResponse> {
 public:
  explicit RefusedStream(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

// One ADS stream. Lives until gRPC calls OnDone; the server's map and pushes hold shared_ptrs,
// and `finished_` keeps a push from starting a write after Finish.
class AdsStream : public grpc::ServerBidiReactor<DiscoveryRequest, DiscoveryResponse> {
 public:
  // `version`: the snapshot current when the stream opened; it answers with that one or later.
  AdsStream(DiscoveryServer* server, uint64_t id, security::ca::CallerCredentials creds,
            uint64_t version, bool secrets_only)
      : server_(server),
        id_(id),
        peer_(creds.peer),
        creds_(std::move(creds)),
        secrets_only_(secrets_only),
        latest_version_(version) {}

  void start(std::shared_ptr<AdsStream> self) {
    self_ = std::move(self);
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ok) {  // the client closed its side or the call was cancelled
      finishLocked(grpc::Status::OK);
      return;
    }
    handleRequestLocked(server_->current());
    if (!finish_requested_) StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    Pending& done = queue_.front();
    if (ok) {
      if (done.pushed_from) {
        server_->metrics_->push_latency.Observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - *done.pushed_from)
                .count());
      }
    }
    queue_.pop_front();
    if (!ok) queue_.clear();
    if (finish_requested_ && !finished_) {
      finished_ = true;
      Finish(finish_status_);
      return;
    }
    startWriteLocked();
  }

  void OnDone() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      finished_ = true;
      done_ = true;
    }
    std::shared_ptr<AdsStream> self = std::move(self_);
    server_->remove(this);
    // `self` may be the last reference: this is deleted when it goes out of scope.
  }

  // Re-sends the secrets when the stream's certificate is due.
  void onSecretTick() {
    std::lock_guard<std::mutex> lock(mu_);
    if (finish_requested_ || secret_session_ == nullptr || secret_names_.empty()) return;
    if (!SecretProvider::due(*secret_session_, std::chrono::system_clock::now())) return;
    sendSecretsLocked();
  }

  void onSnapshot(const std::shared_ptr<const Snapshot>& snapshot) {
    std::lock_guard<std::mutex> lock(mu_);
    if (finish_requested_ || !node_seen_) return;
    if (snapshot->version < latest_version_) return;
    // Every subscribed resource was last sent as it is in snapshot latest_version_ (pushes keep
    // that true), so when this snapshot lists its changes against that one, only those names
    // need checking.
    const bool incremental = snapshot->has_changes && snapshot->previous_version == latest_version_;
    latest_version_ = snapshot->version;
    for (ResourceType t : kAllResourceTypes) {
      TypeState& st = types_[static_cast<size_t>(t)];
      if (!st.subscribed) continue;
      const size_t ti = static_cast<size_t>(t);
      std::vector<std::string> changed;
      bool membership_changed = false;
      if (incremental && !st.wildcard) {
        for (const std::string& name : snapshot->changed[ti]) {
          const auto it = std::lower_bound(st.names.begin(), st.names.end(), name);
          if (it == st.names.end() || *it != name) continue;
          const size_t i = it - st.names.begin();
          if (i >= st.sent.size() || st.sent[i] != snapshot->find(t, name)) {
            changed.push_back(name);
          }
        }
        std::sort(changed.begin(), changed.end());
      } else {
        const std::vector<std::string>& names =
            st.wildcard ? snapshot->wildcard_names[ti] : st.names;
        membership_changed = st.wildcard && names != st.wildcard_names;
        for (size_t i = 0; !membership_changed && i < names.size(); ++i) {
          if (i >= st.sent.size() || st.sent[i] != snapshot->find(t, names[i])) {
            changed.push_back(names[i]);
          }
        }
      }
      if (!membership_changed && changed.empty()) continue;
      // LDS and CDS responses carry the full state; RDS and EDS responses may carry just the
      // resources that changed, which keeps an endpoint change to one resource per client.
      const bool partial = (t == ResourceType::kRoute || t == ResourceType::kEndpoint) &&
                           !membership_changed && !st.wildcard;
      sendLocked(t, *snapshot, /*push=*/true, partial ? &changed : nullptr);
    }
  }

  std::string dumpJson(bool with_resources = true) const {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out = "{\"stream\":" + std::to_string(id_) + ",\"peer\":" + jsonQuote(peer_) +
                      ",\"node\":" + (node_seen_ ? node_json_ : "null") + ",\"xds\":{";
    bool first_type = true;
    for (ResourceType t : kAllResourceTypes) {
      const TypeState& st = types_[static_cast<size_t>(t)];
      if (!st.subscribed) continue;
      if (!first_type) out += ",";
      first_type = false;
      out += jsonQuote(typeShortName(t)) + ":{\"type_url\":" + jsonQuote(typeUrl(t)) +
             ",\"wildcard\":" + (st.wildcard ? "true" : "false") + ",\"subscribed\":[";
      for (size_t i = 0; i < st.names.size(); ++i) {
        out += (i ? "," : "") + jsonQuote(st.names[i]);
      }
      out += "],\"version_sent\":" + jsonQuote(st.version) +
             ",\"nonce_sent\":" + jsonQuote(st.nonce) +
             ",\"version_acked\":" + jsonQuote(st.acked_version);
      if (!st.nack_message.empty()) {
        out += ",\"last_nack\":{\"version\":" + jsonQuote(st.nacked_version) +
               ",\"message\":" + jsonQuote(st.nack_message) + "}";
      }
      if (!with_resources) {
        out += "}";
        continue;
      }
      out += ",\"resources\":[";
      bool first = true;
      for (const ResourceBytes& b : st.sent) {
        if (b == nullptr) continue;
        out += (first ? "" : ",") + resourceJson(t, *b);
        first = false;
      }
      out += "]}";
    }
    return out + "}}";
  }

 private:
  struct TypeState {
    bool subscribed = false;
    bool wildcard = false;
    std::vector<std::string> names;  // requested: sorted, unique
    // For a wildcard subscription, the names of the last full response.
    std::vector<std::string> wildcard_names;
    // The bytes last sent for each answered name (names, or wildcard_names), index-aligned;
    // nullptr: the snapshot had no such resource.
    std::vector<ResourceBytes> sent;
    std::string version;
    std::string nonce;
    std::string acked_version;
    std::string nacked_version;
    std::string nack_message;
  };

  struct Pending {
    DiscoveryResponse response;
    ResourceType type = ResourceType::kCluster;
    bool secret = false;  // an SDS response (type unused)
    std::optional<std::chrono::steady_clock::time_point> pushed_from;
  };

  void handleRequestLocked(const std::shared_ptr<const Snapshot>& snapshot) {
    if (!node_seen_) {
      if (!request_.has_node() || request_.node().id().empty()) {
        finishLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                  "the first DiscoveryRequest of a stream must carry node.id"));
        return;
      }
      // Kept as text: the dump runs on the monitoring threads and must not touch protos that
      // gRPC's threads own.
      node_id_ = request_.node().id();
      node_json_ = messageJson(request_.node());
      node_seen_ = true;
    }
    if (request_.type_url() == kSecretTypeUrl && server_->secrets_ != nullptr) {
      handleSecretRequestLocked();
      return;
    }
    const std::optional<ResourceType> type =
        secrets_only_ ? std::nullopt : typeFromUrl(request_.type_url());
    if (!type) {
      if (secrets_only_) {
        finishLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                  "unsupported type_url '" + request_.type_url() +
                                      "': SecretDiscoveryService serves " +
                                      std::string(kSecretTypeUrl)));
        return;
      }
      finishLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                "unsupported type_url '" + request_.type_url() +
                                    "': this server serves LDS, RDS, CDS and EDS (v3)"));
      return;
    }
    TypeState& st = types_[static_cast<size_t>(*type)];
    const std::string& nonce = request_.response_nonce();
    if (!nonce.empty() && nonce != st.nonce) {
      return;  // answers a response that a newer one superseded
    }
    if (request_.has_error_detail()) {
      server_->metrics_->nacks(*type).Increment();
      st.nacked_version = st.version;
      st.nack_message = request_.error_detail().message();
      if (mixer::logEnabled(mixer::LogLevel::Warn)) {
        MIXER_LOG(Warn) << "NACK from " << node_id_ << " for " << typeShortName(*type)
                        << " version " << st.version << ": " << st.nack_message;
      }
    } else if (!nonce.empty()) {
      st.acked_version = request_.version_info();
    }
    std::vector<std::string> names(request_.resource_names().begin(),
                                   request_.resource_names().end());
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    const bool first = !st.subscribed;
    const bool star = std::find(names.begin(), names.end(), "*") != names.end();
    if (star) names.erase(std::find(names.begin(), names.end(), "*"));
    // Envoy's legacy wildcard: the first LDS/CDS request names nothing.
    const bool full_state = *type == ResourceType::kListener || *type == ResourceType::kCluster;
    const bool wildcard = star || (names.empty() && full_state && (first ? true : st.wildcard));
    const bool changed = first || names != st.names || wildcard != st.wildcard;
    st.subscribed = true;
    st.names = std::move(names);
    st.wildcard = wildcard;
    if (nonce.empty() || changed) {
      if (!st.wildcard && st.names.empty() && !first) {  // unsubscribed from everything
        st.sent.clear();
        return;
      }
      sendLocked(*type, *snapshot, /*push=*/false);
    }
  }

  void handleSecretRequestLocked() {
    const std::string& nonce = request_.response_nonce();
    if (!nonce.empty() && nonce != secret_nonce_) return;  // superseded
    if (request_.has_error_detail()) {
      if (mixer::logEnabled(mixer::LogLevel::Warn)) {
        MIXER_LOG(Warn) << "NACK from " << node_id_ << " for SDS version " << secret_version_
                        << ": " << request_.error_detail().message();
      }
    }
    std::vector<std::string> names(request_.resource_names().begin(),
                                   request_.resource_names().end());
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    const bool changed = names != secret_names_ || !secret_subscribed_;
    secret_subscribed_ = true;
    secret_names_ = std::move(names);
    if (!nonce.empty() && !changed) return;  // an ACK or NACK of what was sent
    if (secret_names_.empty()) return;
    if (secret_session_ == nullptr) {
      auto session = server_->secrets_->open(creds_);
      if (!session.ok()) {
        finishLocked(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                  std::string(session.status().message())));
        return;
      }
      secret_session_ = std::move(*session);
    }
    sendSecretsLocked();
  }

  void sendSecretsLocked() {
    queue_.emplace_back();
    Pending& pending = queue_.back();
    pending.secret = true;
    DiscoveryResponse& r = pending.response;
    const absl::Status s = server_->secrets_->respond(secret_session_.get(), secret_names_, &r);
    if (!s.ok()) {
      queue_.pop_back();
      MIXER_LOG(Error) << "SDS for " << secret_session_->id.uri() << ": " << s;
      finishLocked(grpc::Status(grpc::StatusCode::INTERNAL, std::string(s.message())));
      return;
    }
    r.set_nonce(std::to_string(++nonce_counter_));
    r.mutable_control_plane()->set_identifier("pilot-discovery");
    secret_version_ = r.version_info();
    secret_nonce_ = r.nonce();
    startWriteLocked();
  }

  // Queues a response for `type`: the whole subscription, or only the names in `only` (RDS and
  // EDS pushes). Names absent from the snapshot are recorded as sent-absent and not included.
  void sendLocked(ResourceType type, const Snapshot& snapshot, bool push,
                  const std::vector<std::string>* only = nullptr) {
    TypeState& st = types_[static_cast<size_t>(type)];
    const std::vector<std::string>& names =
        st.wildcard ? snapshot.wildcard_names[static_cast<size_t>(type)] : st.names;
    // A response still waiting in the queue (not in flight) is replaced rather than followed;
    // then the replacement carries the whole subscription, not a part.
    Pending* pending = nullptr;
    for (size_t i = writing_ ? 1 : 0; i < queue_.size(); ++i) {
      if (queue_[i].type == type && !queue_[i].secret) pending = &queue_[i];
    }
    if (pending != nullptr) only = nullptr;
    if (only != nullptr) {  // names of st.names, sorted
      bool any_present = false;
      auto it = st.names.begin();
      for (const std::string& name : *only) {
        it = std::lower_bound(it, st.names.end(), name);
        ResourceBytes b = snapshot.find(type, name);
        any_present = any_present || b != nullptr;
        const size_t i = it - st.names.begin();
        if (i < st.sent.size()) st.sent[i] = std::move(b);
      }
      if (!any_present) return;  // only removals: RDS and EDS responses cannot express them
    }
    if (pending == nullptr) {
      queue_.emplace_back();
      pending = &queue_.back();
    }
    pending->type = type;
    if (push) pending->pushed_from = snapshot.created;
    DiscoveryResponse& r = pending->response;
    r.Clear();
    r.set_version_info(snapshot.versionString());
    r.set_type_url(std::string(typeUrl(type)));
    r.set_nonce(std::to_string(++nonce_counter_));
    r.mutable_control_plane()->set_identifier("pilot-discovery");
    size_t bytes = 0;
    auto addResource = [&](const ResourceBytes& b) {
      auto* any = r.add_resources();
      any->set_type_url(std::string(typeUrl(type)));
      any->set_value(*b);
      bytes += b->size();
    };
    if (only != nullptr) {
      for (const std::string& name : *only) {
        if (ResourceBytes b = snapshot.find(type, name); b != nullptr) addResource(b);
      }
    } else {
      if (st.wildcard) st.wildcard_names = names;
      st.sent.clear();
      st.sent.reserve(names.size());
      for (const std::string& name : names) {
        ResourceBytes b = snapshot.find(type, name);
        if (b != nullptr) addResource(b);
        st.sent.push_back(std::move(b));
      }
    }
    st.version = r.version_info();
    st.nonce = r.nonce();
    server_->metrics_->pushes(type).Increment();
    server_->metrics_->response_bytes.Increment(static_cast<double>(bytes));
    startWriteLocked();
  }

  void startWriteLocked() {
    if (writing_ || queue_.empty() || finished_) return;
    writing_ = true;
    StartWrite(&queue_.front().response);
  }

  void finishLocked(grpc::Status status) {
    if (finish_requested_) return;
    finish_requested_ = true;
    finish_status_ = std::move(status);
    if (writing_) {
      while (queue_.size() > 1) queue_.pop_back();  // drop what is not in flight
      return;                                       // OnWriteDone finishes
    }
    queue_.clear();
    finished_ = true;
    Finish(finish_status_);
  }

  DiscoveryServer* const server_;
  const uint64_t id_;
  const std::string peer_;
  const security::ca::CallerCredentials creds_;
  const bool secrets_only_;
  std::shared_ptr<AdsStream> self_;

  mutable std::mutex mu_;
  DiscoveryRequest request_;
  std::string node_id_;
  std::string node_json_;
  bool node_seen_ = false;
  std::array<TypeState, kResourceTypeCount> types_;
  std::deque<Pending> queue_;
  bool writing_ = false;
  bool finish_requested_ = false;
  bool finished_ = false;
  bool done_ = false;
  grpc::Status finish_status_;
  uint64_t nonce_counter_ = 0;
  uint64_t latest_version_ = 0;
  // SDS: the subscribed secret names, the authenticated caller, what was last sent.
  bool secret_subscribed_ = false;
  std::vector<std::string> secret_names_;
  std::unique_ptr<SecretProvider::Session> secret_session_;
  std::string secret_version_;
  std::string secret_nonce_;
};

DiscoveryServer::DiscoveryServer(std::shared_ptr<const Snapshot> initial, XdsMetrics* metrics)
    : metrics_(metrics), snapshot_(std::move(initial)) {
  metrics_->snapshot_version.Set(static_cast<double>(snapshot_->version));
}

DiscoveryServer::~DiscoveryServer() = default;

grpc::ServerBidiReactor<DiscoveryRequest, DiscoveryResponse>*
DiscoveryServer::StreamAggregatedResources(grpc::CallbackServerContext* context) {
  if (gate_ != nullptr) {
    security::tls::Caller caller;
    grpc::Status admitted = gate_->admit(*context, security::tls::Api::kXds, &caller);
    if (!admitted.ok()) {
      return new RefusedStream(std::move(admitted));
    }
  }
  return open(context, /*secrets_only=*/false);
}

// SecretDiscoveryService streams are not subject to the xDS caller gate: the CA authenticates
// them (secrets.h).
grpc::ServerBidiReactor<DiscoveryRequest, DiscoveryResponse>* DiscoveryServer::open(
    grpc::CallbackServerContext* context, bool secrets_only) {
  // The credentials are read now: the context is not to be touched from other threads later.
  security::ca::CallerCredentials creds;
  if (secrets_ != nullptr) {
    creds = security::ca::credentialsOf(*context);
  } else {
    creds.peer = context->peer();
  }
  std::shared_ptr<AdsStream> stream;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stream = std::make_shared<AdsStream>(this, next_stream_id_++, std::move(creds),
                                         snapshot_->version, secrets_only);
    streams_.emplace(stream.get(), stream);
    metrics_->connected_clients.Set(static_cast<double>(streams_.size()));
  }
  AdsStream* raw = stream.get();
  raw->start(std::move(stream));
  return raw;
}

void DiscoveryServer::remove(AdsStream* stream) {
  std::shared_ptr<AdsStream> keep;  // released outside the lock
  std::lock_guard<std::mutex> lock(mu_);
  auto it = streams_.find(stream);
  if (it != streams_.end()) {
    keep = std::move(it->second);
    streams_.erase(it);
  }
  metrics_->connected_clients.Set(static_cast<double>(streams_.size()));
}

void DiscoveryServer::publish(std::shared_ptr<const Snapshot> snapshot) {
  std::vector<std::shared_ptr<AdsStream>> streams;
  {
    std::lock_guard<std::mutex> lock(mu_);
    snapshot_ = snapshot;
    streams.reserve(streams_.size());
    for (auto& [raw, s] : streams_) streams.push_back(s);
  }
  metrics_->snapshot_version.Set(static_cast<double>(snapshot->version));
  for (const auto& s : streams) s->onSnapshot(snapshot);
}

void DiscoveryServer::refreshSecrets() {
  if (secrets_ == nullptr) return;
  std::vector<std::shared_ptr<AdsStream>> streams;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [raw, s] : streams_) streams.push_back(s);
  }
  for (const auto& s : streams) s->onSecretTick();
}

grpc::ServerBidiReactor<DiscoveryRequest, DiscoveryResponse>* SecretDiscoveryServer::StreamSecrets(
    grpc::CallbackServerContext* context) {
  return discovery_->open(context, /*secrets_only=*/true);
}

grpc::ServerUnaryReactor* SecretDiscoveryServer::FetchSecrets(grpc::CallbackServerContext* context,
                                                              const DiscoveryRequest* request,
                                                              DiscoveryResponse* response) {
  auto* reactor = context->DefaultReactor();
  if (request->type_url() != kSecretTypeUrl) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 "FetchSecrets serves " + std::string(kSecretTypeUrl)));
    return reactor;
  }
  auto session = secrets_->open(security::ca::credentialsOf(*context));
  if (!session.ok()) {
    reactor->Finish(
        grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::string(session.status().message())));
    return reactor;
  }
  std::vector<std::string> names(request->resource_names().begin(),
                                 request->resource_names().end());
  const absl::Status s = secrets_->respond(session->get(), names, response);
  if (!s.ok()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INTERNAL, std::string(s.message())));
    return reactor;
  }
  response->set_nonce("1");
  response->mutable_control_plane()->set_identifier("pilot-discovery");
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

std::shared_ptr<const Snapshot> DiscoveryServer::current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return snapshot_;
}

size_t DiscoveryServer::connectedClients() const {
  std::lock_guard<std::mutex> lock(mu_);
  return streams_.size();
}

std::string DiscoveryServer::configDumpJson() const { return dumpJson(true); }

std::string DiscoveryServer::syncJson() const { return dumpJson(false); }

std::string DiscoveryServer::dumpJson(bool with_resources) const {
  std::vector<std::shared_ptr<AdsStream>> streams;
  uint64_t version;
  {
    std::lock_guard<std::mutex> lock(mu_);
    version = snapshot_->version;
    for (const auto& [raw, s] : streams_) streams.push_back(s);
  }
  std::string out = "{\"snapshot_version\":" + std::to_string(version) + ",\"clients\":[";
  for (size_t i = 0; i < streams.size(); ++i) {
    out += (i ? "," : "") + streams[i]->dumpJson(with_resources);
  }
  return out + "]}\n";
}

}  // namespace pilot::xds
