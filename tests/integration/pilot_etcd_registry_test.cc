// The etcd registry against a real etcd (Debian's etcd-server) on loopback ports: services put
// under the prefix are listed, errors name the key and line, a change wakes the watcher, and
// pilot-discovery serving from etcd publishes a new snapshot when a key changes.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <regex>
#include <thread>

#include "pilot/model/etcd_registry.h"
#include "tests/testing/subprocess.h"

namespace pilot::model {
namespace {

using mixer::testing::binDir;
using mixer::testing::httpGet;
using mixer::testing::Subprocess;

// A port that was free a moment ago (etcd cannot pick its own and report it).
int freePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

constexpr char kReviews[] = R"(services:
- hostname: reviews.default.svc.cluster.local
  ports: [{name: grpc, number: 9080}]
  instances: [{address: 10.0.0.1, port: 8080, labels: {version: v1}}]
)";

class EtcdRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("pilot_etcd_" + std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    const int client = freePort();
    const int peer = freePort();
    const std::string client_url = "http://127.0.0.1:" + std::to_string(client);
    const std::string peer_url = "http://127.0.0.1:" + std::to_string(peer);
    etcd_ = std::make_unique<Subprocess>();
    ASSERT_TRUE(etcd_->start({"/usr/bin/etcd", "--name", "pilot-test", "--data-dir",
                              (dir_ / "data").string(), "--listen-client-urls", client_url,
                              "--advertise-client-urls", client_url, "--listen-peer-urls", peer_url,
                              "--initial-advertise-peer-urls", peer_url, "--initial-cluster",
                              "pilot-test=" + peer_url}));
    ASSERT_TRUE(etcd_->waitFor("ready to serve client requests", std::chrono::seconds(30)))
        << etcd_->output();
    options_.port = client;
    options_.poll = std::chrono::milliseconds(50);
  }
  void TearDown() override {
    if (etcd_) etcd_->stop(SIGTERM);
    std::filesystem::remove_all(dir_);
  }
  void put(const std::string& key, const std::string& value) {
    std::string error;
    ASSERT_TRUE(etcdPut(options_, key, value, &error)) << error;
  }

  std::filesystem::path dir_;
  std::unique_ptr<Subprocess> etcd_;
  EtcdOptions options_;
};

TEST_F(EtcdRegistryTest, ListsTheServicesUnderThePrefix) {
  put("/pilot/services/reviews", kReviews);
  put("/pilot/services/ratings",
      "services:\n- {hostname: ratings.default.svc.cluster.local, ports: [{number: 9080}]}\n");
  put("/pilot/servicesX/ignored", "not: [yaml");  // outside the prefix
  put("/other/key", "x");
  EtcdRegistry registry(options_);
  std::vector<Service> services;
  std::vector<ConfigError> errors;
  ASSERT_TRUE(registry.list(&services, &errors)) << formatErrors(errors);
  ASSERT_EQ(services.size(), 2u);
  EXPECT_EQ(services[0].hostname, "ratings.default.svc.cluster.local");
  EXPECT_EQ(services[1].hostname, "reviews.default.svc.cluster.local");
  EXPECT_EQ(services[1].instances[0].labels.at("version"), "v1");
  EXPECT_EQ(services[1].origin, "etcd:/pilot/services/reviews:2");
}

TEST_F(EtcdRegistryTest, ErrorsNameTheKeyAndLine) {
  put("/pilot/services/bad",
      "services:\n- hostname: a.b.svc.cluster.local\n  ports: [{number: 0}]\n");
  EtcdRegistry registry(options_);
  std::vector<Service> services;
  std::vector<ConfigError> errors;
  EXPECT_FALSE(registry.list(&services, &errors));
  EXPECT_NE(formatErrors(errors).find("etcd:/pilot/services/bad:3: field 'number' must be in"),
            std::string::npos)
      << formatErrors(errors);
}

TEST_F(EtcdRegistryTest, WatchWakesOnAChange) {
  EtcdRegistry registry(options_);
  std::atomic<int> calls{0};
  std::string error;
  ASSERT_TRUE(registry.watch([&] { ++calls; }, &error)) << error;
  put("/pilot/services/reviews", kReviews);
  for (int i = 0; i < 1000 && calls == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GT(calls.load(), 0);
  registry.stop();
}

TEST_F(EtcdRegistryTest, AnUnreachableEtcdIsAnErrorNamingIt) {
  EtcdOptions nowhere = options_;
  nowhere.port = freePort();
  EtcdRegistry registry(nowhere);
  std::vector<Service> services;
  std::vector<ConfigError> errors;
  EXPECT_FALSE(registry.list(&services, &errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("etcd 127.0.0.1:" + std::to_string(nowhere.port)),
            std::string::npos)
      << formatError(errors[0]);
}

TEST_F(EtcdRegistryTest, PilotDiscoveryServesFromEtcdAndFollowsIt) {
  put("/pilot/services/reviews", kReviews);
  Subprocess pilot;
  ASSERT_TRUE(pilot.start({binDir() + "/pilot-discovery", "--etcd-address",
                           "127.0.0.1:" + std::to_string(options_.port), "--grpc-address",
                           "127.0.0.1:0", "--monitoring-address", "127.0.0.1:0"}));
  auto m = pilot.waitFor(R"(monitoring on 127\.0\.0\.1:(\d+), snapshot 1)");
  ASSERT_TRUE(m) << pilot.output();
  const int monitoring = std::stoi((*m)[1].str());
  std::string changed = kReviews;
  changed.replace(changed.find("port: 8080"), 10, "port: 8081");
  put("/pilot/services/reviews", changed);
  ASSERT_TRUE(pilot.waitFor(R"(snapshot 2: 0 clusters, 1 endpoint sets, 0 listeners)"))
      << pilot.output();
  const auto [code, body] = httpGet(monitoring, "/metrics");
  EXPECT_NE(body.find("pilot_snapshot_version 2"), std::string::npos) << body;
  pilot.stop(SIGTERM);
}

}  // namespace
}  // namespace pilot::model
