// The proxy-filter client library against a real mixs (listchecker, denier, memquota and
// prometheus adapters; tests/proxy-filter/testdata/policy.yaml): allowed, denied by the list and
// by the denier, over quota, reports counted in Prometheus, the fail policy while mixs is down,
// and recovery when it is back on the same port.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <future>
#include <regex>
#include <thread>

#include "proxy-filter/core/mixer_client.h"
#include "tests/testing/mixs_process.h"
#include "tests/testing/subprocess.h"

namespace mixer::proxy {
namespace {

using testing::httpGet;

namespace fs = std::filesystem;

std::string configDir() {
  const char* source = std::getenv("MIXER_SOURCE_DIR");
  return std::string(source == nullptr ? "." : source) + "/tests/proxy-filter/testdata";
}

class ProxyFilterMixsTest : public ::testing::Test {
 protected:
  void startMixs(const std::string& address = "127.0.0.1:0") {
    testing::MixsOptions options;
    options.config_dir = configDir();
    options.address = address;
    ASSERT_TRUE(mixs_.start(options)) << mixs_.output();
    ASSERT_TRUE(mixs_.waitForPrometheus()) << mixs_.output();
  }
  std::unique_ptr<MixerClient> makeClient(bool fail_open) {
    MixerClientOptions options;
    options.fail_open = fail_open;
    options.report.max_entries = 10;
    options.report.max_time_ms = 100;
    GrpcTransportOptions transport;
    transport.address = mixs_.address();
    transport.timeout_ms = 2000;
    return std::make_unique<MixerClient>(options, std::make_unique<GrpcTransport>(transport));
  }
  static CheckResult check(MixerClient* client, const Attributes& a,
                           const std::vector<QuotaRequest>& quotas = {}) {
    auto done = std::make_shared<std::promise<CheckResult>>();
    client->check(a, quotas, [done](const CheckResult& r) { done->set_value(r); });
    return done->get_future().get();
  }
  static Attributes request(const std::string& path, const std::string& user = "alice") {
    Attributes a;
    a.setString("destination.service", "productpage.default.svc.cluster.local");
    a.setString("request.path", path);
    a.setString("request.url_path", path);
    a.setMapEntry("request.headers", "x-user", user);
    return a;
  }

  testing::MixsProcess mixs_;
};

TEST_F(ProxyFilterMixsTest, PolicyQuotaAndReportsThroughTheLibrary) {
  startMixs();
  auto client = makeClient(/*fail_open=*/false);

  EXPECT_TRUE(check(client.get(), request("/")).ok());
  EXPECT_TRUE(check(client.get(), request("/")).ok());
  EXPECT_EQ(client->stats().check_cache_hits, 1u);  // the second came from the cache
  EXPECT_EQ(client->stats().check_remote_calls, 1u);

  const CheckResult listed = check(client.get(), request("/", "mallory"));
  EXPECT_EQ(listed.code, StatusCode::kPermissionDenied);
  const CheckResult denied = check(client.get(), request("/private/x"));
  EXPECT_EQ(denied.code, StatusCode::kPermissionDenied);
  EXPECT_NE(denied.message.find("private area"), std::string::npos) << denied.message;
  EXPECT_EQ(httpStatusFor(denied.code), 403);

  int allowed = 0, exhausted = 0;
  for (int i = 0; i < 6; ++i) {
    const CheckResult r = check(client.get(), request("/limited"), {{"requestcount", 1}});
    allowed += r.ok();
    exhausted += r.code == StatusCode::kResourceExhausted;
  }
  EXPECT_EQ(allowed, 3);
  EXPECT_EQ(exhausted, 3);

  for (int i = 0; i < 12; ++i) {
    Attributes record = request("/");
    record.setInt64("response.code", i < 7 ? 200 : 503);
    client->report(std::move(record));
  }
  const std::string ok_series =
      R"(istio_requests_total{destination_service="productpage.default.svc.cluster.local",response_code="200"} )";
  const std::string error_series =
      R"(istio_requests_total{destination_service="productpage.default.svc.cluster.local",response_code="503"} )";
  std::string body;
  for (int i = 0; i < 200; ++i) {
    body = httpGet(mixs_.prometheusPort(), "/metrics").second;
    if (body.find(ok_series + "7") != std::string::npos &&
        body.find(error_series + "5") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_NE(body.find(ok_series + "7"), std::string::npos) << body;
  EXPECT_NE(body.find(error_series + "5"), std::string::npos) << body;
  EXPECT_GE(client->stats().report_batches, 2u);  // 12 records, batches of 10
  EXPECT_EQ(client->stats().report_dropped, 0u);
}

TEST_F(ProxyFilterMixsTest, FailPolicyWhileMixsIsDownAndRecovery) {
  startMixs();
  auto closed = makeClient(/*fail_open=*/false);
  auto open = makeClient(/*fail_open=*/true);
  EXPECT_TRUE(check(closed.get(), request("/a")).ok());
  mixs_.stop(SIGTERM);

  // Unique paths: cache misses that need the server.
  EXPECT_EQ(check(closed.get(), request("/down-1")).code, StatusCode::kUnavailable);
  EXPECT_TRUE(check(open.get(), request("/down-2")).ok());
  EXPECT_EQ(open->stats().check_fail_open, 1u);
  EXPECT_EQ(closed->stats().check_fail_close, 1u);
  // Cached answers keep serving while the server is away.
  EXPECT_TRUE(check(closed.get(), request("/a")).ok());

  startMixs(mixs_.address());
  bool recovered = false;
  for (int i = 0; i < 100 && !recovered; ++i) {
    recovered = check(closed.get(), request("/back-" + std::to_string(i))).ok();
    if (!recovered) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_TRUE(recovered);
  EXPECT_EQ(check(closed.get(), request("/private/y")).code, StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace mixer::proxy
