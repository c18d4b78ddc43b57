// End-to-end with real proxyless gRPC clients: three Python gRPC backends (versions v1, v2, v1),
// a real pilot-discovery on ephemeral ports, and Debian's python3-grpcio as the xDS client
// resolving xds:///echo:9080 through our ADS server. The test edits the routing config and the
// registry on disk while the client keeps its channel, and checks what the client sees:
// 100% v1; an 80/20 split over 1,000 RPCs; routing by header; an injected abort; an endpoint
// removed from the registry; an invalid config that is reported with file:line and not served.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <thread>

#include "tests/testing/metrics.h"
#include "tests/testing/pilot_process.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/xds_client.h"

namespace pilot {
namespace {

using mixer::testing::binDir;
using mixer::testing::Counts;
using mixer::testing::countVersion;
using mixer::testing::EchoBackends;
using mixer::testing::httpGet;
using mixer::testing::PilotProcess;
using mixer::testing::runCommand;
using mixer::testing::XdsClient;

void writeAtomically(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path tmp = path.parent_path() / ("." + path.filename().string() + ".tmp");
  {
    std::ofstream out(tmp);
    out << text;
  }
  std::filesystem::rename(tmp, path);
}

std::string registryYaml(const std::vector<std::pair<std::string, int>>& instances) {
  std::string out =
      "services:\n"
      "- hostname: echo.default.svc.cluster.local\n"
      "  ports: [{name: grpc, number: 9080, protocol: GRPC}]\n"
      "  instances:\n";
  for (const auto& [version, port] : instances) {
    out += "  - {address: 127.0.0.1, port: " + std::to_string(port) +
           ", labels: {version: " + version + "}}\n";
  }
  return out;
}

constexpr char kDestinationRule[] = R"(apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: echo, namespace: default}
spec:
  host: echo
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
)";

constexpr char kAllToV1[] = R"(apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo]
  http:
  - route:
    - destination: {host: echo, subset: v1}
)";

constexpr char kSplit8020[] = R"(apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo]
  http:
  - route:
    - {destination: {host: echo, subset: v1}, weight: 80}
    - {destination: {host: echo, subset: v2}, weight: 20}
)";

constexpr char kHeaderAndFault[] = R"(apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo]
  http:
  - name: abort-on-request
    match:
    - headers: {x-fault: {exact: abort}}
    fault:
      abort: {grpcStatus: ABORTED, percentage: {value: 100}}
    route:
    - destination: {host: echo, subset: v1}
  - name: v2-by-header
    match:
    - headers: {x-version: {exact: v2}}
    route:
    - destination: {host: echo, subset: v2}
  - name: default
    route:
    - destination: {host: echo, subset: v1}
)";

class PilotGrpcXdsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("pilot_xds_test_" + std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "registry");
    std::filesystem::create_directories(dir_ / "config");
    for (const auto& [version, id] : {std::pair{"v1", "a"}, {"v2", "b"}, {"v1", "c"}}) {
      ports_[id] = backends_.start(version, id);
      ASSERT_NE(ports_[id], 0) << backends_.output();
    }
    writeAtomically(dir_ / "registry" / "echo.yaml",
                    registryYaml({{"v1", ports_["a"]}, {"v2", ports_["b"]}, {"v1", ports_["c"]}}));
    writeAtomically(dir_ / "config" / "destination-rule.yaml", kDestinationRule);
    writeAtomically(dir_ / "config" / "virtual-service.yaml", kAllToV1);

    ASSERT_TRUE(pilot_.start({"--registry-dir", (dir_ / "registry").string(), "--config-dir",
                              (dir_ / "config").string(), "--debug-views"}))
        << pilot_.output();
    monitoring_port_ = pilot_.monitoringPort();
    ASSERT_TRUE(client_.start(dir_.string(), pilot_.xdsPort(), "z1")) << client_.output();
  }

  void TearDown() override {
    client_.stop();
    pilot_.stop(SIGTERM);
    backends_.stop();
    std::filesystem::remove_all(dir_);
  }

  // Makes `count` RPCs to xds:///echo:9080 with the given headers; the replies by backend.
  Counts call(int count, const std::vector<std::string>& headers = {}) {
    auto counts = client_.call(count, headers);
    EXPECT_TRUE(counts) << client_.output();
    return counts.value_or(Counts{});
  }

  // Calls in small batches until `done` holds for a batch (the pushed config has arrived).
  bool callUntil(const std::function<bool(const Counts&)>& done,
                 const std::vector<std::string>& headers = {}) {
    return mixer::testing::callUntil([&] { return call(20, headers); }, done);
  }

  std::string metric(const std::string& name) {
    return mixer::testing::sampleText(mixer::testing::scrapeMetrics(monitoring_port_), name)
        .value_or("");
  }

  std::filesystem::path dir_;
  std::map<std::string, int> ports_;
  EchoBackends backends_;
  PilotProcess pilot_;
  XdsClient client_;
  int monitoring_port_ = 0;
};

TEST_F(PilotGrpcXdsTest, RoutesSplitsMatchesAbortsAndFollowsTheRegistry) {
  // 1. Everything to v1: both v1 backends serve (round robin), v2 never does.
  Counts c = call(200);
  EXPECT_EQ(countVersion(c, "v1 "), 200) << ::testing::PrintToString(c);
  EXPECT_GT(c["v1 a"], 0);
  EXPECT_GT(c["v1 c"], 0);

  // 2. The VirtualService changes on disk to 80/20; the same channel follows.
  writeAtomically(dir_ / "config" / "virtual-service.yaml", kSplit8020);
  ASSERT_TRUE(callUntil([](const Counts& c) { return countVersion(c, "v2 ") > 0; }));
  c = call(1000);
  const int v1 = countVersion(c, "v1 ");
  const int v2 = countVersion(c, "v2 ");
  EXPECT_EQ(v1 + v2, 1000) << ::testing::PrintToString(c);
  // Chi-squared with one degree of freedom against 800/200; 10.83 is the p = 0.001 threshold,
  // so a correct split fails this check once in a thousand runs.
  const double chi2 = (v1 - 800.0) * (v1 - 800.0) / 800.0 + (v2 - 200.0) * (v2 - 200.0) / 200.0;
  EXPECT_LT(chi2, 10.83) << "v1=" << v1 << " v2=" << v2;

  // 3. Header routes and an injected abort.
  writeAtomically(dir_ / "config" / "virtual-service.yaml", kHeaderAndFault);
  ASSERT_TRUE(
      callUntil([](const Counts& c) { return c.count("error:ABORTED") == 1; }, {"x-fault=abort"}));
  c = call(100, {"x-version=v2"});
  EXPECT_EQ(c["v2 b"], 100) << ::testing::PrintToString(c);
  c = call(100);
  EXPECT_EQ(countVersion(c, "v1 "), 100) << ::testing::PrintToString(c);
  c = call(20, {"x-fault=abort"});
  EXPECT_EQ(c["error:ABORTED"], 20) << ::testing::PrintToString(c);

  // 4. An invalid VirtualService is reported with file:line and not served: routing stays.
  writeAtomically(dir_ / "config" / "virtual-service.yaml",
                  std::string(kHeaderAndFault) + "    timeout: soon\n");
  ASSERT_TRUE(pilot_.waitFor(R"(virtual-service\.yaml:\d+: field 'timeout' must be a duration)"))
      << pilot_.output();
  c = call(50, {"x-version=v2"});
  EXPECT_EQ(c["v2 b"], 50) << ::testing::PrintToString(c);
  EXPECT_EQ(metric(R"(pilot_config_reloads_total{result="error"})"), "1");

  // 5. Backend c leaves the registry; the client stops using it without restarting.
  writeAtomically(dir_ / "registry" / "echo.yaml",
                  registryYaml({{"v1", ports_["a"]}, {"v2", ports_["b"]}}));
  ASSERT_TRUE(callUntil([](const Counts& c) { return c.count("v1 c") == 0; }));
  c = call(100);
  EXPECT_EQ(c["v1 a"], 100) << ::testing::PrintToString(c);

  // The client never rejected a response, and the server saw one client.
  for (const char* t : {"LDS", "RDS", "CDS", "EDS"}) {
    EXPECT_EQ(metric(std::string("pilot_xds_nacks_total{type=\"") + t + "\"}"), "0") << t;
  }
  EXPECT_EQ(metric("pilot_xds_connected_clients"), "1");
  const auto [code, dump] = httpGet(monitoring_port_, "/debug/config_dump");
  EXPECT_EQ(code, 200);
  EXPECT_NE(dump.find("sidecar~127.0.0.1~client.default~default.svc.cluster.local"),
            std::string::npos);
  EXPECT_NE(dump.find("outbound|9080|v1|echo.default.svc.cluster.local"), std::string::npos);
  EXPECT_NE(dump.find("\"version_acked\""), std::string::npos);
}

TEST(PilotValidateTest, InvalidConfigFailsWithFileAndLine) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("pilot_validate_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir / "registry");
  std::filesystem::create_directories(dir / "config");
  std::ofstream(dir / "registry" / "r.yaml") << registryYaml({{"v1", 1234}});
  std::ofstream(dir / "config" / "vs.yaml") << R"(apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: echo}
spec:
  hosts: [echo]
  http:
  - route:
    - {destination: {host: echo, subset: v1}, weight: 70}
    - {destination: {host: echo, subset: v2}, weight: 20}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: other}
spec:
  hosts: [other]
  http:
  - route:
    - {destination: {host: echo, subset: v3}}
)";
  auto [rc, out] =
      runCommand({binDir() + "/pilot-discovery", "--validate", "--registry-dir",
                  (dir / "registry").string(), "--config-dir", (dir / "config").string()});
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("vs.yaml:8: route weights must add up to 100, got 90"), std::string::npos)
      << out;
  EXPECT_NE(out.find("vs.yaml:17: subset 'v3' of echo.default.svc.cluster.local is not defined"),
            std::string::npos)
      << out;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace pilot

namespace pilot {
namespace {

TEST(PilotValidateTest, TheDocumentedExampleIsValid) {
  const std::string examples =
      std::string(std::getenv("MIXER_SOURCE_DIR")) + "/docs/examples/pilot";
  auto [rc, out] = mixer::testing::runCommand(
      {mixer::testing::binDir() + "/pilot-discovery", "--validate", "--registry-dir",
       examples + "/registry", "--config-dir", examples + "/config"});
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("ok: 10 listeners, 2 route configs, 4 clusters, 4 endpoint sets"),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace pilot
