// The Rules API and meshctl end to end, with real parts: Python gRPC backends (v1, v2), a real
// pilot-discovery with --rules-address, Debian's python3-grpcio as the proxyless xDS client, and
// meshctl as the only writer of routing config (no file is edited by hand). Run twice: over a
// --config-dir, and over a real etcd (etcd-server) holding both the registry and the config.
//   - meshctl apply of a bookinfo-style VirtualService reaches the client as a new traffic split;
//   - an invalid object is refused with its field path and the served configuration is unchanged;
//   - two concurrent replaces carrying the same resourceVersion: exactly one 409 (with etcd, sent
//     to two pilot-discovery processes sharing the store, so etcd's compare-and-swap decides);
//   - meshctl get --watch reports an apply and a delete;
//   - meshctl proxy-status shows the client in sync.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <thread>

#include "pilot/ctl/http_client.h"
#include "pilot/model/etcd_registry.h"
#include "tests/testing/pilot_process.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/xds_client.h"

namespace pilot {
namespace {

using mixer::testing::binDir;
using mixer::testing::Counts;
using mixer::testing::countVersion;
using mixer::testing::EchoBackends;
using mixer::testing::EtcdProcess;
using mixer::testing::PilotProcess;
using mixer::testing::runCommand;
using mixer::testing::Subprocess;
using mixer::testing::XdsClient;

// Bookinfo's reviews rules, on the test's echo service.
constexpr char kDestinationRule[] = R"(apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: echo
spec:
  host: echo
  subsets:
  - name: v1
    labels:
      version: v1
  - name: v2
    labels:
      version: v2
)";

std::string virtualService(int v1, int v2) {
  return "apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata:\n"
         "  name: echo\nspec:\n  hosts:\n  - echo\n  http:\n  - route:\n"
         "    - destination:\n        host: echo\n        subset: v1\n      weight: " +
         std::to_string(v1) +
         "\n    - destination:\n        host: echo\n        subset: v2\n      weight: " +
         std::to_string(v2) + "\n";
}

enum class Store { kDir, kEtcd };

class PilotRulesTest : public ::testing::TestWithParam<Store> {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("pilot_rules_test_" + std::to_string(getpid()) +
                                                  (GetParam() == Store::kEtcd ? "_etcd" : "_dir"));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "registry");
    std::filesystem::create_directories(dir_ / "config");
    for (const auto& [version, id] : {std::pair{"v1", "a"}, {"v2", "b"}}) {
      ports_[id] = backends_.start(version, id);
      ASSERT_NE(ports_[id], 0) << backends_.output();
    }
    const std::string registry =
        "services:\n- hostname: echo.default.svc.cluster.local\n"
        "  ports: [{name: grpc, number: 9080, protocol: GRPC}]\n  instances:\n"
        "  - {address: 127.0.0.1, port: " +
        std::to_string(ports_["a"]) + ", labels: {version: v1}}\n" +
        "  - {address: 127.0.0.1, port: " + std::to_string(ports_["b"]) +
        ", labels: {version: v2}}\n";
    std::vector<std::string> source;
    if (GetParam() == Store::kEtcd) {
      etcd_ = std::make_unique<EtcdProcess>();
      ASSERT_TRUE(etcd_->start("rules-test", (dir_ / "etcd").string())) << etcd_->output();
      const int client = etcd_->clientPort();
      etcd_options_.port = client;
      std::string error;
      ASSERT_TRUE(model::etcdPut(etcd_options_, "/pilot/services/echo", registry, &error)) << error;
      source = {"--etcd-address", "127.0.0.1:" + std::to_string(client)};
    } else {
      std::ofstream(dir_ / "registry" / "echo.yaml") << registry;
      source = {"--registry-dir", (dir_ / "registry").string(), "--config-dir",
                (dir_ / "config").string()};
    }
    pilot_ = startPilot(source);
    ASSERT_TRUE(pilot_);
    rules_port_ = pilot_->rulesPort();
    xds_port_ = pilot_->xdsPort();
    monitoring_port_ = pilot_->monitoringPort();
    if (GetParam() == Store::kEtcd) {
      second_pilot_ = startPilot(source);
      ASSERT_TRUE(second_pilot_);
      second_rules_port_ = second_pilot_->rulesPort();
    }
    server_ = "http://127.0.0.1:" + std::to_string(rules_port_);

    // The routing config arrives through meshctl only.
    write("rules.yaml", std::string(kDestinationRule) + "---\n" + virtualService(100, 0));
    auto [rc, out] = meshctl({"apply", "-f", (dir_ / "rules.yaml").string()});
    ASSERT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("destinationrule.networking.istio.io/echo created"), std::string::npos)
        << out;
    EXPECT_NE(out.find("virtualservice.networking.istio.io/echo created"), std::string::npos)
        << out;

    ASSERT_TRUE(client_.start(dir_.string(), xds_port_)) << client_.output();
  }

  void TearDown() override {
    if (watch_) watch_->stop(SIGTERM);
    client_.stop();
    if (second_pilot_) second_pilot_->stop(SIGTERM);
    if (pilot_) pilot_->stop(SIGTERM);
    if (etcd_) etcd_->stop(SIGTERM);
    backends_.stop();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<PilotProcess> startPilot(const std::vector<std::string>& source) {
    auto p = std::make_unique<PilotProcess>();
    std::vector<std::string> flags = {"--rules-address", "127.0.0.1:0", "--debounce-after-ms",
                                      "20"};
    flags.insert(flags.end(), source.begin(), source.end());
    const bool started = p->start(flags);
    EXPECT_TRUE(started) << p->output();
    if (!started) return nullptr;
    return p;
  }

  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }

  std::pair<int, std::string> meshctl(std::vector<std::string> args) {
    args.insert(args.begin(), {binDir() + "/meshctl", "--server", server_, "--monitoring",
                               "http://127.0.0.1:" + std::to_string(monitoring_port_)});
    return runCommand(args);
  }

  Counts call(int count) {
    auto counts = client_.call(count);
    EXPECT_TRUE(counts) << client_.output();
    return counts.value_or(Counts{});
  }

  bool callUntil(const std::function<bool(const Counts&)>& done) {
    return mixer::testing::callUntil([&] { return call(20); }, done);
  }

  std::string snapshotVersion() {
    const auto [code, body] = mixer::testing::httpGet(monitoring_port_, "/debug/syncz");
    std::smatch m;
    return std::regex_search(body, m, std::regex(R"("snapshot_version":(\d+))")) ? m[1].str() : "";
  }

  meshctl::HttpResult request(int port, const std::string& method, const std::string& path,
                              const std::string& body = "") {
    meshctl::Endpoint e;
    e.url = "http://127.0.0.1:" + std::to_string(port);
    meshctl::HttpResult r;
    std::string error;
    EXPECT_TRUE(meshctl::httpCall(e, method, path, "application/yaml", body, "", &r, &error))
        << error;
    return r;
  }

  std::filesystem::path dir_;
  std::map<std::string, int> ports_;
  EchoBackends backends_;
  std::unique_ptr<EtcdProcess> etcd_;
  model::EtcdOptions etcd_options_;
  std::unique_ptr<PilotProcess> pilot_;
  std::unique_ptr<PilotProcess> second_pilot_;
  XdsClient client_;
  std::unique_ptr<Subprocess> watch_;
  std::string server_;
  int rules_port_ = 0;
  int second_rules_port_ = 0;
  int xds_port_ = 0;
  int monitoring_port_ = 0;
};

constexpr char kPath[] = "/apis/networking.istio.io/v1beta1/namespaces/default/virtualservices";

TEST_P(PilotRulesTest, ApplyReachesTheClientInvalidIsRefusedRacesConflictWatchReports) {
  // 0. The applied config is served: everything to v1.
  ASSERT_TRUE(callUntil([](const Counts& c) { return countVersion(c, "v1 ") == 20; }))
      << client_.output() << pilot_->output();

  // A watch from before the changes.
  watch_ = std::make_unique<Subprocess>();
  ASSERT_TRUE(watch_->start(
      {binDir() + "/meshctl", "--server", server_, "get", "vs", "--watch", "-o", "json"}));
  ASSERT_TRUE(watch_->waitFor(R"("type":"ADDED","object":\{[^\n]*"name":"echo")"))
      << watch_->output();

  // 1. meshctl apply of an 80/20 split: the same channel follows, no restart.
  write("split.yaml", virtualService(80, 20));
  auto [rc, out] = meshctl({"apply", "-f", (dir_ / "split.yaml").string()});
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("virtualservice.networking.istio.io/echo configured"), std::string::npos)
      << out;
  ASSERT_TRUE(callUntil([](const Counts& c) { return countVersion(c, "v2 ") > 0; }));
  Counts c = call(1000);
  const int v1 = countVersion(c, "v1 ");
  const int v2 = countVersion(c, "v2 ");
  EXPECT_EQ(v1 + v2, 1000) << ::testing::PrintToString(c);
  const double chi2 = (v1 - 800.0) * (v1 - 800.0) / 800.0 + (v2 - 200.0) * (v2 - 200.0) / 200.0;
  EXPECT_LT(chi2, 10.83) << "v1=" << v1 << " v2=" << v2;
  EXPECT_TRUE(watch_->waitFor(R"("type":"MODIFIED","object":\{[^\n]*"name":"echo")"))
      << watch_->output();

  // 2. An invalid object: refused with its field path; the served configuration is unchanged.
  const std::string served = snapshotVersion();
  const std::string stored = request(rules_port_, "GET", std::string(kPath) + "/echo").body;
  write("invalid.yaml", virtualService(80, 10));
  std::tie(rc, out) = meshctl({"apply", "-f", (dir_ / "invalid.yaml").string()});
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("spec.http[0].route: route weights must add up to 100, got 90"),
            std::string::npos)
      << out;
  std::tie(rc, out) = meshctl({"validate", "-f", (dir_ / "invalid.yaml").string()});
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("spec.http[0].route"), std::string::npos) << out;
  meshctl::HttpResult r = request(
      rules_port_, "POST", kPath,
      R"({"apiVersion":"networking.istio.io/v1beta1","kind":"VirtualService","metadata":{"name":"bad"},"spec":{"hosts":["bad"],"http":[{"route":[{"destination":{"host":"echo","subset":"v9"}}],"timeout":"soon"}]}})");
  EXPECT_EQ(r.code, 422) << r.body;
  EXPECT_NE(r.body.find("\"field\":\"spec.http[0].timeout\""), std::string::npos) << r.body;
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  EXPECT_EQ(request(rules_port_, "GET", std::string(kPath) + "/echo").body, stored);
  EXPECT_EQ(snapshotVersion(), served);
  c = call(200);
  EXPECT_GT(countVersion(c, "v2 "), 0) << ::testing::PrintToString(c);
  EXPECT_EQ(countVersion(c, "v1 ") + countVersion(c, "v2 "), 200);
  if (GetParam() == Store::kDir) {
    EXPECT_FALSE(std::filesystem::exists(dir_ / "config" / "virtualservices_default_bad.yaml"));
    EXPECT_TRUE(std::filesystem::exists(dir_ / "config" / "virtualservices_default_echo.yaml"));
  } else {
    std::vector<model::EtcdKv> kvs;
    int64_t revision = 0;
    std::string error;
    model::EtcdOptions config = etcd_options_;
    config.prefix = "/pilot/config/";
    ASSERT_TRUE(model::etcdRangeKvs(config, &kvs, &revision, &error)) << error;
    std::vector<std::string> keys;
    for (const auto& kv : kvs) keys.push_back(kv.key);
    EXPECT_EQ(keys, (std::vector<std::string>{"/pilot/config/destinationrules/default/echo",
                                              "/pilot/config/virtualservices/default/echo"}));
  }

  // 3. Two replaces racing with the same resourceVersion: exactly one 409. With etcd they go to
  // two servers, so only etcd's compare-and-swap can tell them apart.
  const int other_port = GetParam() == Store::kEtcd ? second_rules_port_ : rules_port_;
  for (int round = 0; round < 5; ++round) {
    const std::string current = request(rules_port_, "GET", std::string(kPath) + "/echo").body;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(current, m, std::regex(R"re("resourceVersion": "([^"]+)")re")))
        << current;
    const std::string version = m[1].str();
    std::atomic<int> ok{0}, conflict{0};
    std::vector<std::thread> writers;
    for (int i = 0; i < 2; ++i) {
      writers.emplace_back([&, i] {
        std::string body = virtualService(70 + i, 30 - i);
        body.replace(body.find("  name: echo\n"), 13,
                     "  name: echo\n  resourceVersion: \"" + version + "\"\n");
        const meshctl::HttpResult a =
            request(i == 0 ? rules_port_ : other_port, "PUT", std::string(kPath) + "/echo", body);
        if (a.code == 200) {
          ++ok;
        } else if (a.code == 409) {
          ++conflict;
        } else {
          ADD_FAILURE() << a.code << " " << a.body;
        }
      });
    }
    for (auto& t : writers) t.join();
    EXPECT_EQ(ok.load(), 1) << "round " << round;
    EXPECT_EQ(conflict.load(), 1) << "round " << round;
  }

  // 4. The watch reports an apply and a delete.
  write("ext.yaml",
        "apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata:\n  name: ext\n"
        "spec:\n  hosts: [ext.example.com]\n  http:\n  - route:\n"
        "    - destination: {host: ext.example.com}\n");
  std::tie(rc, out) = meshctl({"apply", "-f", (dir_ / "ext.yaml").string()});
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(watch_->waitFor(R"("type":"ADDED","object":\{[^\n]*"name":"ext")"))
      << watch_->output();
  std::tie(rc, out) = meshctl({"delete", "vs", "ext"});
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("virtualservice.networking.istio.io/ext deleted"), std::string::npos) << out;
  EXPECT_TRUE(watch_->waitFor(R"("type":"DELETED","object":\{[^\n]*"name":"ext")"))
      << watch_->output();

  // 5. get and proxy-status.
  std::tie(rc, out) = meshctl({"get", "virtualservices"});
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("echo   echo    1"), std::string::npos) << out;
  std::tie(rc, out) = meshctl({"proxy-status"});
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("sidecar~127.0.0.1~client.default~default.svc.cluster.local"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("SYNCED"), std::string::npos) << out;
  EXPECT_EQ(out.find("NACK"), std::string::npos) << out;
}

// The Rules API behind pilot-discovery's TLS flags and caller policy: mTLS required, reads for
// every verified identity the policy lets read, writes only for the allow-listed one.
TEST(PilotRulesSecurityTest, MtlsAndTheCallerPolicyGuardWrites) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("pilot_rules_tls_" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "registry");
  std::filesystem::create_directories(dir / "config");
  const std::string certs = (dir / "certs").string();
  auto [rc, out] = runCommand(
      {"/bin/sh",
       std::string(std::getenv("MIXER_SOURCE_DIR")) + "/tests/testing/make_test_certs.sh", certs,
       "admin=ops/admin", "client=default/client"});
  ASSERT_EQ(rc, 0) << out;
  std::ofstream(dir / "registry" / "echo.yaml")
      << "services:\n- hostname: echo.default.svc.cluster.local\n"
         "  ports: [{name: grpc, number: 9080}]\n";
  std::ofstream(dir / "callers.yaml") << R"(callers:
- principals: ["spiffe://cluster.local/ns/ops/*"]
  apis: [xds, rules, rules_write]
- principals: ["*"]
  apis: [xds, rules]
)";
  const std::string vs = (dir / "vs.yaml").string();
  std::ofstream(vs) << "apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\n"
                       "metadata: {name: echo}\nspec:\n  hosts: [echo]\n  http:\n"
                       "  - route:\n    - destination: {host: echo}\n";
  PilotProcess pilot;
  ASSERT_TRUE(
      pilot.start({"--registry-dir", (dir / "registry").string(), "--config-dir",
                   (dir / "config").string(), "--rules-address", "127.0.0.1:0", "--tls-cert",
                   certs + "/server.pem", "--tls-key", certs + "/server.key", "--tls-client-ca",
                   certs + "/ca.pem", "--callers", (dir / "callers.yaml").string()}))
      << pilot.output();
  ASSERT_TRUE(pilot.waitFor(R"(rules API \(mTLS\) on 127\.0\.0\.1:)")) << pilot.output();
  const std::string server = "https://127.0.0.1:" + std::to_string(pilot.rulesPort());
  const auto as = [&](const std::string& who, std::vector<std::string> args) {
    std::vector<std::string> argv = {binDir() + "/meshctl", "--server", server, "--cacert",
                                     certs + "/ca.pem"};
    if (!who.empty()) {
      argv.insert(argv.end(),
                  {"--cert", certs + "/" + who + ".pem", "--key", certs + "/" + who + ".key"});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    return runCommand(argv);
  };
  // No DestinationRule is needed: the route names no subset.
  std::tie(rc, out) = as("admin", {"apply", "-f", vs});
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("virtualservice.networking.istio.io/echo created"), std::string::npos) << out;
  std::tie(rc, out) = as("client", {"get", "vs"});
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("echo"), std::string::npos) << out;
  std::tie(rc, out) = as("client", {"delete", "vs", "echo"});
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("Forbidden"), std::string::npos) << out;
  EXPECT_NE(out.find("may not call rules_write"), std::string::npos) << out;
  std::tie(rc, out) = as("", {"get", "vs"});  // no client certificate: no handshake
  EXPECT_EQ(rc, 1) << out;
  std::tie(rc, out) =
      runCommand({binDir() + "/meshctl", "--server",
                  "http://127.0.0.1:" + std::to_string(pilot.rulesPort()), "get", "vs"});
  EXPECT_EQ(rc, 1) << out;
  std::tie(rc, out) = as("admin", {"delete", "vs", "echo"});
  EXPECT_EQ(rc, 0) << out;
  pilot.stop(SIGTERM);

  // Without TLS the Rules API stays on loopback unless told otherwise.
  std::tie(rc, out) =
      runCommand({binDir() + "/pilot-discovery", "--registry-dir", (dir / "registry").string(),
                  "--config-dir", (dir / "config").string(), "--grpc-address", "127.0.0.1:0",
                  "--monitoring-address", "127.0.0.1:0", "--rules-address", "0.0.0.0:0"});
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("--rules-allow-plaintext"), std::string::npos) << out;
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Stores, PilotRulesTest, ::testing::Values(Store::kDir, Store::kEtcd),
                         [](const auto& info) {
                           return info.param == Store::kDir ? "ConfigDir" : "Etcd";
                         });

}  // namespace
}  // namespace pilot
