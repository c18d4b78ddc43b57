#include "pilot/model/file_registry.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace pilot::model {
namespace {

TEST(RegistryYamlTest, ParsesServicesPortsAndInstances) {
  std::vector<Service> services;
  std::vector<ConfigError> errors;
  ASSERT_TRUE(parseRegistryYaml(R"(services:
- hostname: reviews.default.svc.cluster.local
  address: 10.0.0.12
  ports:
  - {name: grpc, number: 9080, protocol: GRPC}
  - {name: admin, number: 9090, protocol: http}
  serviceAccounts: [spiffe://cluster.local/ns/default/sa/reviews]
  instances:
  - {address: 127.0.0.1, port: 40001, servicePort: 9080, labels: {version: v1},
     locality: us-east/zone-a/rack-1, health: DRAINING}
  - {address: 127.0.0.2, port: 40002, servicePort: 9090}
)",
                                "r.yaml", &services, &errors))
      << formatErrors(errors);
  ASSERT_EQ(services.size(), 1u);
  const Service& s = services[0];
  EXPECT_EQ(s.hostname, "reviews.default.svc.cluster.local");
  EXPECT_EQ(s.address, "10.0.0.12");
  ASSERT_EQ(s.ports.size(), 2u);
  EXPECT_EQ(s.ports[1].protocol, Protocol::kHttp);
  EXPECT_EQ(s.service_accounts.size(), 1u);
  ASSERT_EQ(s.instances.size(), 2u);
  EXPECT_EQ(s.instances[0].labels.at("version"), "v1");
  EXPECT_EQ(s.instances[0].locality, (Locality{"us-east", "zone-a", "rack-1"}));
  EXPECT_EQ(s.instances[0].health, Health::kDraining);
  EXPECT_EQ(s.instances[1].service_port, 9090u);
  EXPECT_EQ(s.instances[1].health, Health::kHealthy);
  EXPECT_EQ(s.origin, "r.yaml:2");
}

TEST(RegistryYamlTest, ServicePortDefaultsToTheOnlyPort) {
  std::vector<Service> services;
  std::vector<ConfigError> errors;
  ASSERT_TRUE(parseRegistryYaml(R"(services:
- hostname: a.ns.svc.cluster.local
  ports: [{number: 80}]
  instances: [{address: 10.1.1.1, port: 8080}]
)",
                                "r.yaml", &services, &errors));
  EXPECT_EQ(services[0].instances[0].service_port, 80u);
}

struct BadCase {
  const char* yaml;
  const char* error;  // expected "file:line: message" prefix
};

class RegistryErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(RegistryErrorTest, ReportsFileAndLine) {
  std::vector<Service> services;
  std::vector<ConfigError> errors;
  EXPECT_FALSE(parseRegistryYaml(GetParam().yaml, "reg.yaml", &services, &errors));
  const std::string all = formatErrors(errors);
  EXPECT_NE(all.find(GetParam().error), std::string::npos) << all;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RegistryErrorTest,
    ::testing::Values(
        BadCase{"services:\n- hostname: a\n  prots: []\n", "reg.yaml:3: unknown field 'prots'"},
        BadCase{"services:\n- ports: [{number: 1}]\n",
                "reg.yaml:2: missing required field 'hostname'"},
        BadCase{"services:\n- hostname: a\n  ports: [{number: 70000}]\n",
                "reg.yaml:3: field 'number' must be in [1, 65535]"},
        BadCase{"services:\n- hostname: a\n  ports:\n  - {number: 1, protocol: QUIC}\n",
                "reg.yaml:4: unknown protocol 'QUIC'"},
        BadCase{"services:\n- hostname: a\n  ports: [{number: 1}, {number: 2}]\n  instances:\n"
                "  - {address: 10.0.0.1, port: 5}\n",
                "reg.yaml:5: instance needs servicePort"},
        BadCase{"services:\n- hostname: a\n  ports: [{number: 1}]\n  instances:\n"
                "  - {address: backend.local, port: 5}\n",
                "reg.yaml:5: instance address must be an IP address"},
        BadCase{"services:\n- hostname: a\n  ports: [{number: 1}]\n  instances:\n"
                "  - {address: 10.0.0.1, port: 5, servicePort: 2}\n",
                "reg.yaml:5: servicePort 2 is not a port of a"},
        BadCase{"services:\n- hostname: a\n  ports: [{number: 1}]\n  instances:\n"
                "  - {address: 10.0.0.1, port: 5, health: GREAT}\n",
                "reg.yaml:5: unknown health 'GREAT'"},
        BadCase{"services: [\n", "reg.yaml:2: YAML syntax error"}));

class FileRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("pilot_registry_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  std::filesystem::path dir_;
};

TEST_F(FileRegistryTest, ListsServicesOfAllYamlFilesSorted) {
  write("b.yaml", "services:\n- {hostname: b.x.svc.cluster.local, ports: [{number: 1}]}\n");
  write("a.yml", "services:\n- {hostname: a.x.svc.cluster.local, ports: [{number: 1}]}\n");
  write("notes.txt", "not yaml: [");
  write(".hidden.yaml", "not yaml: [");
  FileRegistry registry(dir_.string());
  std::vector<Service> services;
  std::vector<ConfigError> errors;
  ASSERT_TRUE(registry.list(&services, &errors)) << formatErrors(errors);
  ASSERT_EQ(services.size(), 2u);
  EXPECT_EQ(services[0].hostname, "a.x.svc.cluster.local");
  EXPECT_EQ(services[1].hostname, "b.x.svc.cluster.local");
}

TEST_F(FileRegistryTest, ADuplicateHostnameAcrossFilesIsAnErrorNamingBoth) {
  write("a.yaml", "services:\n- {hostname: s.x.svc.cluster.local, ports: [{number: 1}]}\n");
  write("b.yaml", "\nservices:\n- {hostname: s.x.svc.cluster.local, ports: [{number: 1}]}\n");
  FileRegistry registry(dir_.string());
  std::vector<Service> services;
  std::vector<ConfigError> errors;
  EXPECT_FALSE(registry.list(&services, &errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(formatError(errors[0]),
            (dir_ / "b.yaml").string() +
                ":3: service s.x.svc.cluster.local is already declared at " +
                (dir_ / "a.yaml").string() + ":2");
}

TEST_F(FileRegistryTest, WatchCallsBackWhenAFileChanges) {
  FileRegistry registry(dir_.string());
  std::atomic<int> calls{0};
  std::string error;
  ASSERT_TRUE(registry.watch([&] { ++calls; }, &error)) << error;
  write("a.yaml", "services: []\n");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (calls == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GT(calls.load(), 0);
  registry.stop();
  const int after_stop = calls;
  write("b.yaml", "services: []\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(calls.load(), after_stop);
}

TEST_F(FileRegistryTest, WatchingAMissingDirectoryFails) {
  FileRegistry registry((dir_ / "nope").string());
  std::string error;
  EXPECT_FALSE(registry.watch([] {}, &error));
  EXPECT_NE(error.find("cannot watch"), std::string::npos) << error;
}

}  // namespace
}  // namespace pilot::model
