// The ADS server over real loopback gRPC, driven by a C++ client that speaks the protocol by hand
// so each rule can be checked: requested names only, versions and nonces, ACK, NACK (counted, not
// resent), stale nonces, pushes only to the streams whose resources changed, bad requests.
//
// "The server sent nothing" is checked without timing: responses on a stream are ordered, so the
// test asks for something else and checks that its answer is the next message.
#include "pilot/xds/ads_server.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <thread>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "pilot/xds/translate.h"

namespace pilot::xds {
namespace {

using envoy::service::discovery::v3::AggregatedDiscoveryService;
using envoy::service::discovery::v3::DiscoveryRequest;
using envoy::service::discovery::v3::DiscoveryResponse;

const std::string kCds(typeUrl(ResourceType::kCluster));
const std::string kEds(typeUrl(ResourceType::kEndpoint));
const std::string kLds(typeUrl(ResourceType::kListener));

model::Service service(const std::string& name, uint32_t endpoint_port) {
  model::Service s;
  s.hostname = name + ".default.svc.cluster.local";
  s.ports = {{"grpc", 9080, model::Protocol::kGrpc}};
  model::ServiceInstance i;
  i.address = "10.0.0.1";
  i.port = endpoint_port;
  i.service_port = 9080;
  s.instances.push_back(i);
  return s;
}

std::string cluster(const std::string& name) {
  return clusterName(9080, "", name + ".default.svc.cluster.local");
}

// One ADS stream; a reader thread queues what the server sends.
class AdsClient {
 public:
  AdsClient(const std::shared_ptr<grpc::Channel>& channel, std::string node_id)
      : stub_(AggregatedDiscoveryService::NewStub(channel)), node_id_(std::move(node_id)) {
    stream_ = stub_->StreamAggregatedResources(&context_);
    reader_ = std::thread([this] {
      DiscoveryResponse r;
      while (stream_->Read(&r)) {
        std::lock_guard<std::mutex> lock(mu_);
        received_.push_back(r);
        cv_.notify_all();
      }
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
      cv_.notify_all();
    });
  }
  ~AdsClient() {
    stream_->WritesDone();
    context_.TryCancel();
    reader_.join();
  }

  void request(const std::string& type, const std::vector<std::string>& names,
               const std::string& version = "", const std::string& nonce = "",
               const std::string& error = "", bool with_node = true) {
    DiscoveryRequest r;
    if (with_node) r.mutable_node()->set_id(node_id_);
    r.set_type_url(type);
    for (const auto& n : names) r.add_resource_names(n);
    r.set_version_info(version);
    r.set_response_nonce(nonce);
    if (!error.empty()) {
      r.mutable_error_detail()->set_code(3);
      r.mutable_error_detail()->set_message(error);
    }
    ASSERT_TRUE(stream_->Write(r));
  }
  void ack(const DiscoveryResponse& r, const std::vector<std::string>& names) {
    request(r.type_url(), names, r.version_info(), r.nonce());
  }

  // The next response (waits up to 10 s, which only a broken server reaches).
  std::optional<DiscoveryResponse> next() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [this] { return !received_.empty() || closed_; });
    if (received_.empty()) return std::nullopt;
    DiscoveryResponse r = received_.front();
    received_.pop_front();
    return r;
  }

  grpc::Status finish() {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(10), [this] { return closed_; });
    }
    return stream_->Finish();
  }

 private:
  std::unique_ptr<AggregatedDiscoveryService::Stub> stub_;
  std::string node_id_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<DiscoveryRequest, DiscoveryResponse>> stream_;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<DiscoveryResponse> received_;
  bool closed_ = false;
};

std::vector<std::string> names(const DiscoveryResponse& r) {
  std::vector<std::string> out;
  for (const auto& any : r.resources()) {
    if (r.type_url() == kCds) {
      envoy::config::cluster::v3::Cluster c;
      any.UnpackTo(&c);
      out.push_back(c.name());
    } else if (r.type_url() == kEds) {
      envoy::config::endpoint::v3::ClusterLoadAssignment c;
      any.UnpackTo(&c);
      out.push_back(c.cluster_name());
    } else {
      out.push_back("?");
    }
  }
  return out;
}

class AdsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    services_ = {service("a", 1001), service("b", 1002)};
    server_ = std::make_unique<DiscoveryServer>(build(), &metrics_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(server_.get());
    grpc_server_ = builder.BuildAndStart();
    ASSERT_NE(port, 0);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                   grpc::InsecureChannelCredentials());
  }
  void TearDown() override {
    grpc_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  }

  std::shared_ptr<Snapshot> build() {
    auto s = buildSnapshot(services_, {}, last_.get(), ++version_);
    last_ = s;
    return s;
  }

  double counter(prometheus::Counter& c) { return c.Value(); }

  XdsMetrics metrics_{std::make_shared<prometheus::Registry>()};
  std::vector<model::Service> services_;
  std::shared_ptr<Snapshot> last_;
  uint64_t version_ = 0;
  std::unique_ptr<DiscoveryServer> server_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(AdsServerTest, AnswersWithJustTheRequestedResources) {
  AdsClient c(channel_, "n1");
  c.request(kCds, {cluster("a"), "outbound|1||missing"});
  auto r = c.next();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type_url(), kCds);
  EXPECT_EQ(r->version_info(), "1");
  EXPECT_FALSE(r->nonce().empty());
  EXPECT_EQ(names(*r), std::vector<std::string>{cluster("a")});
  EXPECT_EQ(r->resources(0).type_url(), kCds);
  EXPECT_EQ(r->control_plane().identifier(), "pilot-discovery");
}

TEST_F(AdsServerTest, AckIsNotAnsweredAndANackIsCountedAndNotResent) {
  AdsClient c(channel_, "n1");
  c.request(kEds, {cluster("a")});
  auto r1 = c.next();
  ASSERT_TRUE(r1);
  c.ack(*r1, {cluster("a")});
  c.request(kCds, {cluster("a")});
  auto cds = c.next();
  ASSERT_TRUE(cds);
  EXPECT_EQ(cds->type_url(), kCds);  // the ACK got no EDS response before it

  // NACK the CDS response: counted, recorded, and the same version is not sent again.
  c.request(kCds, {cluster("a")}, "", cds->nonce(), "cluster rejected for the test");
  c.request(kLds, {"a:9080"});
  auto lds = c.next();
  ASSERT_TRUE(lds);
  EXPECT_EQ(lds->type_url(), kLds);
  EXPECT_EQ(counter(metrics_.nacks(ResourceType::kCluster)), 1);
  const std::string dump = server_->configDumpJson();
  EXPECT_NE(dump.find("\"last_nack\":{\"version\":\"1\",\"message\":\"cluster rejected for the "
                      "test\"}"),
            std::string::npos)
      << dump;
  EXPECT_NE(dump.find("\"version_acked\":\"1\""), std::string::npos);  // the EDS ACK

  // A change to the NACKed resource is sent as a new version.
  services_[0].ports[0].name = "grpc-renamed";  // no resource change: nothing to push
  services_[0].instances[0].port = 2001;        // EDS of a changes
  server_->publish(build());
  auto push = c.next();
  ASSERT_TRUE(push);
  EXPECT_EQ(push->type_url(), kEds);
  EXPECT_EQ(push->version_info(), "2");
  EXPECT_NE(push->nonce(), r1->nonce());
}

TEST_F(AdsServerTest, PushesOnlyToStreamsWhoseResourcesChanged) {
  AdsClient a(channel_, "node-a");
  AdsClient b(channel_, "node-b");
  a.request(kEds, {cluster("a")});
  b.request(kEds, {cluster("b")});
  auto ra = a.next();
  auto rb = b.next();
  ASSERT_TRUE(ra && rb);
  a.ack(*ra, {cluster("a")});
  b.ack(*rb, {cluster("b")});
  EXPECT_EQ(server_->connectedClients(), 2u);

  services_[0].instances[0].port = 3001;  // only a's endpoints
  server_->publish(build());
  auto pa = a.next();
  ASSERT_TRUE(pa);
  EXPECT_EQ(pa->type_url(), kEds);
  EXPECT_EQ(pa->version_info(), "2");
  envoy::config::endpoint::v3::ClusterLoadAssignment cla;
  ASSERT_TRUE(pa->resources(0).UnpackTo(&cla));
  EXPECT_EQ(cla.endpoints(0).lb_endpoints(0).endpoint().address().socket_address().port_value(),
            3001u);
  // b's next message is the answer to a new request, not a push.
  b.request(kCds, {cluster("b")});
  auto nb = b.next();
  ASSERT_TRUE(nb);
  EXPECT_EQ(nb->type_url(), kCds);
  EXPECT_EQ(nb->version_info(), "2");
}

TEST_F(AdsServerTest, EndpointAndRoutePushesCarryOnlyWhatChangedClusterPushesEverything) {
  AdsClient c(channel_, "n1");
  c.request(kEds, {cluster("a"), cluster("b")});
  auto e = c.next();
  ASSERT_TRUE(e);
  EXPECT_EQ(names(*e), (std::vector<std::string>{cluster("a"), cluster("b")}));
  c.ack(*e, {cluster("a"), cluster("b")});
  c.request(kCds, {cluster("a"), cluster("b")});
  auto cl = c.next();
  ASSERT_TRUE(cl);
  c.ack(*cl, {cluster("a"), cluster("b")});

  services_[1].instances[0].port = 6002;  // b's endpoints
  server_->publish(build());
  auto push = c.next();
  ASSERT_TRUE(push);
  EXPECT_EQ(push->type_url(), kEds);
  EXPECT_EQ(names(*push), std::vector<std::string>{cluster("b")});

  // A cluster change is sent as the full state of the subscription (LDS and CDS are
  // state-of-the-world: a missing name would mean a deleted resource).
  routing::RoutingConfig routing;
  routing::DestinationRule dr;
  dr.host = "b.default.svc.cluster.local";
  dr.load_balancer = routing::LoadBalancer{routing::LoadBalancer::Kind::kRingHash, "", 0};
  routing.destination_rules.push_back(dr);
  auto next = buildSnapshot(services_, routing, last_.get(), ++version_);
  last_ = next;
  server_->publish(next);
  auto cpush = c.next();
  ASSERT_TRUE(cpush);
  EXPECT_EQ(cpush->type_url(), kCds);
  EXPECT_EQ(names(*cpush), (std::vector<std::string>{cluster("a"), cluster("b")}));
}

TEST_F(AdsServerTest, AStaleNonceIsIgnoredAndANewSubscriptionIsAnswered) {
  AdsClient c(channel_, "n1");
  c.request(kCds, {cluster("a")});
  auto r1 = c.next();
  ASSERT_TRUE(r1);
  services_[0].instances[0].port = 4001;
  c.ack(*r1, {cluster("a")});
  // Subscribing to more names (with the current nonce) is answered at once.
  c.request(kCds, {cluster("a"), cluster("b")}, r1->version_info(), r1->nonce());
  auto r2 = c.next();
  ASSERT_TRUE(r2);
  EXPECT_EQ(names(*r2), (std::vector<std::string>{cluster("a"), cluster("b")}));
  // A request carrying the superseded nonce changes nothing and gets no answer.
  c.request(kCds, {cluster("a")}, r1->version_info(), r1->nonce());
  c.request(kLds, {"b:9080"});
  auto next = c.next();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->type_url(), kLds);
  EXPECT_NE(server_->configDumpJson().find("\"subscribed\":[\"" + cluster("a") + "\",\"" +
                                           cluster("b") + "\"]"),
            std::string::npos);
}

TEST_F(AdsServerTest, EnvoysWildcardClusterRequestGetsEveryCluster) {
  AdsClient c(channel_, "envoy");
  c.request(kCds, {});
  auto r = c.next();
  ASSERT_TRUE(r);
  EXPECT_EQ(names(*r), (std::vector<std::string>{cluster("a"), cluster("b")}));
  // A new service appears in a wildcard subscription.
  services_.push_back(service("c", 1003));
  c.ack(*r, {});
  server_->publish(build());
  auto push = c.next();
  ASSERT_TRUE(push);
  EXPECT_EQ(names(*push), (std::vector<std::string>{cluster("a"), cluster("b"), cluster("c")}));
}

TEST_F(AdsServerTest, AFirstRequestWithoutNodeIsRejected) {
  AdsClient c(channel_, "n1");
  c.request(kCds, {cluster("a")}, "", "", "", /*with_node=*/false);
  const grpc::Status status = c.finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("node.id"), std::string::npos);
}

TEST_F(AdsServerTest, AnUnknownTypeUrlIsRejectedWithTheReason) {
  AdsClient c(channel_, "n1");
  c.request("type.googleapis.com/envoy.api.v2.Cluster", {});
  const grpc::Status status = c.finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("unsupported type_url 'type.googleapis.com/envoy.api.v2."
                                        "Cluster'"),
            std::string::npos)
      << status.error_message();
}

TEST_F(AdsServerTest, PushOrderIsClustersBeforeEndpointsBeforeListeners) {
  AdsClient c(channel_, "n1");
  c.request(kLds, {"a:9080"});
  auto l = c.next();
  c.ack(*l, {"a:9080"});
  c.request(kEds, {cluster("a")});
  auto e = c.next();
  c.ack(*e, {cluster("a")});
  c.request(kCds, {cluster("a")});
  auto cl = c.next();
  c.ack(*cl, {cluster("a")});
  ASSERT_TRUE(l && e && cl);
  // One change moves a's endpoint (EDS) and makes its cluster ring hash (CDS); the listener
  // stays. The cluster must arrive before the endpoints.
  services_[0].instances[0].port = 5001;
  routing::RoutingConfig routing;
  routing::DestinationRule dr;
  dr.host = "a.default.svc.cluster.local";
  dr.load_balancer = routing::LoadBalancer{routing::LoadBalancer::Kind::kRingHash, "", 0};
  routing.destination_rules.push_back(dr);
  auto next = buildSnapshot(services_, routing, last_.get(), ++version_);
  server_->publish(next);
  auto p1 = c.next();
  auto p2 = c.next();
  ASSERT_TRUE(p1 && p2);
  EXPECT_EQ(p1->type_url(), kCds);
  EXPECT_EQ(p2->type_url(), kEds);
  c.request(kLds, {"a:9080", "b:9080"}, l->version_info(), l->nonce());
  auto p3 = c.next();
  ASSERT_TRUE(p3);
  EXPECT_EQ(p3->type_url(), kLds);  // the answer to the new subscription, not an LDS push
  EXPECT_EQ(p3->resources_size(), 2);
}

TEST_F(AdsServerTest, ConnectedClientsMetricFollowsStreams) {
  {
    AdsClient c(channel_, "n1");
    c.request(kCds, {cluster("a")});
    ASSERT_TRUE(c.next());
    EXPECT_EQ(metrics_.connected_clients.Value(), 1);
  }
  for (int i = 0; i < 500 && server_->connectedClients() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(server_->connectedClients(), 0u);
  EXPECT_EQ(metrics_.connected_clients.Value(), 0);
}

}  // namespace
}  // namespace pilot::xds
