// pilot/discovery/push_scheduler: the first snapshot from a registry and a config directory, the
// refusals (errors of either source, a translation too large), and, once started, a change
// published as the next snapshot while a config that fails to load leaves the served one as it
// was. Waits are for an outcome with a generous deadline; nothing asserts how fast it comes.
#include "pilot/discovery/push_scheduler.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace pilot::discovery {
namespace {

constexpr char kEcho[] = "echo.default.svc.cluster.local";

model::Service service(const std::string& host, uint32_t ports = 1) {
  model::Service s;
  s.hostname = host;
  for (uint32_t p = 0; p < ports; ++p) s.ports.push_back({"", 9080 + p, model::Protocol::kGrpc});
  model::ServiceInstance i;
  i.address = "10.0.0.1";
  i.port = 1001;
  i.service_port = 9080;
  i.labels = {{"version", "v1"}};
  s.instances.push_back(i);
  return s;
}

// A registry whose services the test sets; set() notifies the watcher.
class FakeRegistry : public model::ServiceRegistry {
 public:
  bool list(std::vector<model::Service>* services,
            std::vector<model::ConfigError>* errors) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!error_.empty()) {
      errors->push_back({{"registry", 1}, error_});
      return false;
    }
    *services = services_;
    return true;
  }
  bool watch(std::function<void()> on_change, std::string*) override {
    std::lock_guard<std::mutex> lock(mu_);
    on_change_ = std::move(on_change);
    return true;
  }
  void stop() override {
    std::lock_guard<std::mutex> lock(mu_);
    on_change_ = nullptr;
  }

  void set(std::vector<model::Service> services, std::string error = "") {
    std::function<void()> notify;
    {
      std::lock_guard<std::mutex> lock(mu_);
      services_ = std::move(services);
      error_ = std::move(error);
      notify = on_change_;
    }
    if (notify) notify();
  }

 private:
  std::mutex mu_;
  std::vector<model::Service> services_;
  std::string error_;
  std::function<void()> on_change_;
};

class PushSchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("push_scheduler_test_" + std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    options_.config_dir = dir_.string();
    options_.debounce_after = std::chrono::milliseconds(1);
    options_.debounce_max = std::chrono::milliseconds(10);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write(const std::string& name, const std::string& text) {
    // Written aside and renamed into place, as an editor or the Rules API does.
    std::ofstream(dir_ / ("." + name)) << text;
    std::filesystem::rename(dir_ / ("." + name), dir_ / name);
  }

  // Waits until `done` holds; false after 30 seconds.
  template <typename F>
  static bool waitFor(F done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  std::filesystem::path dir_;
  SchedulerOptions options_;
  FakeRegistry registry_;
  xds::XdsMetrics metrics_{std::make_shared<prometheus::Registry>()};
};

constexpr char kSubsetV1[] = R"(apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: echo}
spec:
  host: echo
  subsets: [{name: v1, labels: {version: v1}}]
)";

TEST_F(PushSchedulerTest, TheFirstSnapshotComesFromTheRegistryAndTheConfigDirectory) {
  registry_.set({service(kEcho)});
  write("dr.yaml", kSubsetV1);
  PushScheduler scheduler(options_, &registry_, &metrics_);
  std::vector<model::ConfigError> errors;
  ASSERT_TRUE(scheduler.loadInitial(&errors)) << model::formatErrors(errors);
  const auto snapshot = scheduler.snapshot();
  ASSERT_NE(snapshot, nullptr);
  EXPECT_EQ(snapshot->version, 1u);
  EXPECT_NE(
      snapshot->find(xds::ResourceType::kCluster, "outbound|9080||echo.default.svc.cluster.local"),
      nullptr);
  EXPECT_NE(snapshot->find(xds::ResourceType::kCluster,
                           "outbound|9080|v1|echo.default.svc.cluster.local"),
            nullptr);
  EXPECT_NE(snapshot->find(xds::ResourceType::kListener, "echo.default.svc.cluster.local:9080"),
            nullptr);
}

TEST_F(PushSchedulerTest, WithoutAConfigDirectoryOnlyTheRegistryCounts) {
  registry_.set({service(kEcho)});
  write("dr.yaml", kSubsetV1);
  options_.config_dir.clear();
  PushScheduler scheduler(options_, &registry_, &metrics_);
  std::vector<model::ConfigError> errors;
  ASSERT_TRUE(scheduler.loadInitial(&errors)) << model::formatErrors(errors);
  EXPECT_NE(scheduler.snapshot()->find(xds::ResourceType::kCluster,
                                       "outbound|9080||echo.default.svc.cluster.local"),
            nullptr);
  EXPECT_EQ(scheduler.snapshot()->find(xds::ResourceType::kCluster,
                                       "outbound|9080|v1|echo.default.svc.cluster.local"),
            nullptr);
}

TEST_F(PushSchedulerTest, ErrorsOfEitherSourceRefuseToStart) {
  registry_.set({service(kEcho)});
  write("bad.yaml",
        "apiVersion: networking.istio.io/v1beta1\nkind: Gateway\nmetadata: {name: g}\nspec: {}\n");
  {
    PushScheduler scheduler(options_, &registry_, &metrics_);
    std::vector<model::ConfigError> errors;
    EXPECT_FALSE(scheduler.loadInitial(&errors));
    EXPECT_EQ(scheduler.snapshot(), nullptr);
    EXPECT_NE(
        model::formatErrors(errors).find((dir_ / "bad.yaml").string() + ":2: unsupported kind"),
        std::string::npos)
        << model::formatErrors(errors);
  }
  std::filesystem::remove(dir_ / "bad.yaml");
  registry_.set({}, "registry is down");
  PushScheduler scheduler(options_, &registry_, &metrics_);
  std::vector<model::ConfigError> errors;
  EXPECT_FALSE(scheduler.loadInitial(&errors));
  EXPECT_EQ(model::formatErrors(errors), "registry:1: registry is down\n");
}

TEST_F(PushSchedulerTest, ATranslationTooLargeRefusesToStart) {
  // 1,001 matches with one destination: 2,002 route entries, on each of 100 ports: 200,200.
  std::string vs =
      "apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata: {name: big}\n"
      "spec:\n  hosts: [echo]\n  http:\n  - match: [";
  for (int i = 0; i < 1001; ++i) vs += i ? ", {}" : "{}";
  vs += "]\n    route: [{destination: {host: echo}}]\n";
  write("vs.yaml", vs);
  registry_.set({service(kEcho, 100)});
  PushScheduler scheduler(options_, &registry_, &metrics_);
  std::vector<model::ConfigError> errors;
  EXPECT_FALSE(scheduler.loadInitial(&errors));
  ASSERT_EQ(errors.size(), 1u) << model::formatErrors(errors);
  EXPECT_EQ(model::formatError(errors[0]),
            (dir_ / "vs.yaml").string() +
                ":1: VirtualService big brings the route entries across all "
                "service ports to more than 200000");
  // The same config with one port translates into 2,002 entries.
  registry_.set({service(kEcho, 1)});
  errors.clear();
  EXPECT_TRUE(scheduler.loadInitial(&errors)) << model::formatErrors(errors);
}

TEST_F(PushSchedulerTest, ARegistryChangeIsPublishedAsTheNextVersion) {
  registry_.set({service(kEcho)});
  PushScheduler scheduler(options_, &registry_, &metrics_);
  std::vector<model::ConfigError> errors;
  ASSERT_TRUE(scheduler.loadInitial(&errors)) << model::formatErrors(errors);
  xds::DiscoveryServer server(scheduler.snapshot(), &metrics_);
  std::string error;
  ASSERT_TRUE(scheduler.start(&server, &error)) << error;

  registry_.set({service(kEcho), service("ratings.default.svc.cluster.local")});
  ASSERT_TRUE(waitFor([&] { return server.current()->version >= 2; }));
  const auto next = server.current();
  EXPECT_EQ(next->version, 2u);
  EXPECT_NE(
      next->find(xds::ResourceType::kCluster, "outbound|9080||ratings.default.svc.cluster.local"),
      nullptr);
  EXPECT_EQ(scheduler.snapshot(), next);
  scheduler.stop();
}

TEST_F(PushSchedulerTest, AConfigThatFailsToLoadKeepsTheLastGoodOne) {
  registry_.set({service(kEcho)});
  write("dr.yaml", kSubsetV1);
  PushScheduler scheduler(options_, &registry_, &metrics_);
  std::vector<model::ConfigError> errors;
  ASSERT_TRUE(scheduler.loadInitial(&errors)) << model::formatErrors(errors);
  xds::DiscoveryServer server(scheduler.snapshot(), &metrics_);
  std::string error;
  ASSERT_TRUE(scheduler.start(&server, &error)) << error;

  write("dr.yaml", "apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\n");
  ASSERT_TRUE(waitFor([&] { return metrics_.config_reloads_failed.Value() >= 1; }));
  EXPECT_EQ(server.current()->version, 1u);  // nothing was published

  // A registry change is still published, with the subset of the last good config.
  registry_.set({service(kEcho), service("ratings.default.svc.cluster.local")});
  ASSERT_TRUE(waitFor([&] { return server.current()->version >= 2; }));
  const auto next = server.current();
  EXPECT_NE(
      next->find(xds::ResourceType::kCluster, "outbound|9080|v1|echo.default.svc.cluster.local"),
      nullptr);
  EXPECT_NE(
      next->find(xds::ResourceType::kCluster, "outbound|9080||ratings.default.svc.cluster.local"),
      nullptr);
  scheduler.stop();
}

}  // namespace
}  // namespace pilot::discovery
