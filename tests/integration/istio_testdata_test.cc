// Istio's own configuration directory (tests/data/istio-mixer-testdata-config: Istio's
// mixer/testdata/config, see its README) against a real mixs: refused whole by default, with
// every error at its place; served without its invalid resources under
// --skip-invalid-resources, as Istio's mixs served it; and its rules decide as they did there.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing/mixs_process.h"
#include "tests/testing/subprocess.h"

namespace mixer {
namespace {

using testing::binDir;
using testing::httpGet;
using testing::runCommand;
using testing::Subprocess;

std::string testdataDir() {
  const char* dir = std::getenv("MIXER_SOURCE_DIR");
  return dir == nullptr ? "" : std::string(dir) + "/tests/data/istio-mixer-testdata-config";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(IstioTestdataTest, ValidationRefusesTheDirectoryWithEveryErrorAtItsPlace) {
  if (testdataDir().empty()) {
    GTEST_SKIP() << "MIXER_SOURCE_DIR is not set";
  }
  auto [code, out] = runCommand({binDir() + "/mixs", "validate", testdataDir()});
  EXPECT_EQ(code, 1) << out;
  EXPECT_TRUE(contains(out, "cloudwatch.yaml:47:7: unknown kind 'cloudwatch'")) << out;
  EXPECT_TRUE(contains(out, "listcheckoop.yaml:24:7: instance 'source-info' not found")) << out;
  EXPECT_TRUE(contains(out,
                       "quota.yaml:20:13: instance 'requestcount.quota.istio-config-default' "
                       "field dimensions.'target': unknown attribute target.service"))
      << out;
  EXPECT_TRUE(contains(out, "33 error(s)")) << out;
}

TEST(IstioTestdataTest, ValidationWithSkippingNamesEachResourceItLeavesOut) {
  if (testdataDir().empty()) {
    GTEST_SKIP() << "MIXER_SOURCE_DIR is not set";
  }
  auto [code, out] =
      runCommand({binDir() + "/mixs", "validate", "--skip-invalid-resources", testdataDir()});
  EXPECT_EQ(code, 0) << out;
  // Kinds of adapters and templates this build does not have, and what refers to them.
  EXPECT_TRUE(contains(out, "skipped: " + testdataDir() +
                                "/fluentd.yaml:25:7: unknown kind "
                                "'fluentd'"))
      << out;
  EXPECT_TRUE(contains(out, "skipped: " + testdataDir() +
                                "/fluentd.yaml:41:15: handler 'handler.fluentd' not found"))
      << out;
  // A reference into another namespace, as Istio resolved it, does not resolve.
  EXPECT_TRUE(contains(out, "skipped: " + testdataDir() +
                                "/source_ip_deny.yaml:12:14: handler 'denyall.denier' not found"))
      << out;
  // The instance left out for an unknown attribute takes its rule's reference with it.
  EXPECT_TRUE(contains(out,
                       "/quota.yaml:32:7: instance 'requestcount.quota.istio-config-default' "
                       "not found"))
      << out;
  // The last of two definitions wins, as in Istio's file store: the earlier one is left out.
  EXPECT_TRUE(contains(out, "skipped: " + testdataDir() +
                                "/metrics.yaml:4:9: duplicate instance "
                                "'requestcount.metric.istio-system' (first defined at " +
                                testdataDir() + "/cloudwatch.yaml:5:9)"))
      << out;
  // kubernetesenv is reported unavailable, not skipped as invalid.
  EXPECT_TRUE(contains(out,
                       "kubernetesenv.yaml:4:9: handler 'handler.kubernetesenv.istio-system' "
                       "(adapter kubernetesenv) is unavailable"))
      << out;
  EXPECT_TRUE(contains(out, ": valid: 27 files, 56 documents, 18 rules, 7 handlers, 22 instances"))
      << out;
  EXPECT_TRUE(contains(out,
                       "1 unavailable handler(s) whose rules are skipped, 34 invalid "
                       "resource(s) skipped"))
      << out;
}

class IstioTestdataServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testdataDir().empty()) {
      GTEST_SKIP() << "MIXER_SOURCE_DIR is not set";
    }
    testing::MixsOptions options;
    options.config_dir = testdataDir();
    options.prometheus_on_free_port = true;
    options.extra = {"--skip-invalid-resources", "--debug-views"};
    ASSERT_TRUE(mixs_.start(options)) << mixs_.output();
    ASSERT_TRUE(mixs_.waitForPrometheus()) << mixs_.output();
  }
  void TearDown() override { mixs_.stop(SIGTERM); }

  std::string mixc(const std::string& command, const std::vector<std::string>& args) {
    return mixs_.mixc(command, args).second;
  }

  testing::MixsProcess mixs_;
};

TEST_F(IstioTestdataServerTest, ItsDenyRulesDecideAsInIstio) {
  // deny.yaml: in namespace istio-config-default, a request to that namespace with header
  // clnt: abc is denied with code 7 and "Not allowed".
  std::string out = mixc("check", {"-s", "destination.namespace=istio-config-default",
                                   "--stringmap_attributes", "request.headers=clnt:abc"});
  EXPECT_TRUE(contains(out, "PERMISSION_DENIED")) << out;
  EXPECT_TRUE(contains(out, "Not allowed")) << out;
  out = mixc("check", {"-s", "destination.namespace=istio-config-default", "--stringmap_attributes",
                       "request.headers=clnt:xyz"});
  EXPECT_TRUE(contains(out, "Check status was OK")) << out;

  // test-data.yaml: cars-api with an "unauthorized" authorization header gets code 16.
  out = mixc("check", {"-s", "destination.service=cars-api.default.svc.cluster.local",
                       "--stringmap_attributes", "request.headers=authorization:unauthorized"});
  EXPECT_TRUE(contains(out, "UNAUTHENTICATED")) << out;
  EXPECT_TRUE(contains(out, "Not Authorized")) << out;
  out = mixc("check", {"-s", "destination.service=cars-api.default.svc.cluster.local",
                       "--stringmap_attributes", "request.headers=authorization:bearer"});
  EXPECT_TRUE(contains(out, "Check status was OK")) << out;
}

TEST_F(IstioTestdataServerTest, ItsListRuleAdmitsOnlyListedVersionsOfRatingsCallers) {
  // listcheck.yaml: calls to "ratings" from a version outside [v1, v2] are refused.
  std::string out = mixc("check", {"--stringmap_attributes",
                                   "destination.labels=app:ratings,source.labels=version:v3"});
  EXPECT_FALSE(contains(out, "Check status was OK")) << out;
  EXPECT_TRUE(contains(out, "v3")) << out;
  out = mixc("check",
             {"--stringmap_attributes", "destination.labels=app:ratings,source.labels=version:v2"});
  EXPECT_TRUE(contains(out, "Check status was OK")) << out;
  // Other destinations are not checked.
  out = mixc("check",
             {"--stringmap_attributes", "destination.labels=app:reviews,source.labels=version:v3"});
  EXPECT_TRUE(contains(out, "Check status was OK")) << out;
}

TEST_F(IstioTestdataServerTest, ReportsReachPrometheusThroughTheLastDefinitionOfEachInstance) {
  const std::string out = mixc(
      "report",
      {"-s", "source.workload.name=productpage,context.protocol=http", "-i", "response.code=200"});
  EXPECT_TRUE(contains(out, "Report RPC returned OK")) << out;
  // requestcount is defined in cloudwatch.yaml and again in metrics.yaml; the later one serves,
  // so the series carries metrics.yaml's source_workload label (cloudwatch's has none).
  std::string body;
  for (int i = 0; i < 100; ++i) {
    body = httpGet(mixs_.prometheusPort(), "/metrics").second;
    if (contains(body, "istio_requests_total{")) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(contains(body, "source_workload=\"productpage\"")) << body;
  EXPECT_FALSE(contains(body, "source_cluster=")) << body;

  // The skipped resources are counted.
  const std::string metrics = httpGet(mixs_.monitoringPort(), "/metrics").second;
  EXPECT_TRUE(contains(metrics, "mixer_config_skipped_resources 34")) << metrics;
  EXPECT_TRUE(contains(metrics, "mixer_config_unavailable_handlers 1")) << metrics;
  // And listed, with their places, on the status page.
  const std::string config = httpGet(mixs_.monitoringPort(), "/status/config.json").second;
  EXPECT_TRUE(contains(config, "\"skipped_resources\":[")) << config;
  EXPECT_TRUE(contains(config, "fluentd.yaml:25:7: unknown kind 'fluentd'")) << config;
}

}  // namespace
}  // namespace mixer
