// The etcd registry against a real etcd (Debian's etcd-server) on loopback ports: services put
// under the prefix are listed, errors name the key and line, a change wakes the watcher, and
// pilot-discovery serving from etcd publishes a new snapshot when a key changes.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <regex>
#include <thread>

#include "pilot/model/etcd_registry.h"
#include "tests/testing/pilot_process.h"
#include "tests/testing/subprocess.h"

namespace pilot::model {
namespace {

using mixer::testing::EtcdProcess;
using mixer::testing::httpGet;
using mixer::testing::PilotProcess;

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
    etcd_ = std::make_unique<EtcdProcess>();
    ASSERT_TRUE(etcd_->start("pilot-test", (dir_ / "data").string())) << etcd_->output();
    options_.port = etcd_->clientPort();
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
  std::unique_ptr<EtcdProcess> etcd_;
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
  nowhere.port = mixer::testing::unusedPort();
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
  PilotProcess pilot;
  ASSERT_TRUE(pilot.start({"--etcd-address", "127.0.0.1:" + std::to_string(options_.port)}))
      << pilot.output();
  ASSERT_TRUE(pilot.waitFor(R"(monitoring on 127\.0\.0\.1:\d+, snapshot 1)")) << pilot.output();
  const int monitoring = pilot.monitoringPort();
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
