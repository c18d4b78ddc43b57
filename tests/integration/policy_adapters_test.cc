// The policy adapters in real mixs processes, driven by mixc: memquota, listchecker against a
// real HTTP server, and redisquota shared by two mixs through one real redis-server (Redis
// killed: the failure policy applies and mixs stays up; restarted: quotas work again).
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "tests/adapters/redis_server.h"
#include "tests/testing/metrics.h"
#include "tests/testing/mixs_process.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace mixer {
namespace {

using testing::MixsProcess;
using testing::RedisServer;
using testing::Subprocess;
using testing::TempDir;

namespace fs = std::filesystem;

// A quota handler `spec` of adapter `kind`, the requestcount quota instance (dimension: the
// destination service) and a rule sending every request's quota to the handler.
std::string quotaConfig(const std::string& kind, const std::string& spec) {
  return "apiVersion: config.istio.io/v1alpha2\nkind: " + kind +
         "\nmetadata:\n  name: handler\n  namespace: istio-system\nspec:\n" + spec + R"(
---
apiVersion: config.istio.io/v1alpha2
kind: quota
metadata:
  name: requestcount
  namespace: istio-system
spec:
  dimensions:
    destination: destination.service | "unknown"
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata:
  name: quota
  namespace: istio-system
spec:
  actions:
  - handler: handler.)" +
         kind + R"(
    instances: [requestcount.quota]
)";
}

// A redisquota handler on the redis-server at `port`: `max_amount` requestcount per hour, failing
// closed, with the quota instance and rule of quotaConfig.
std::string redisquotaConfig(int port, int max_amount) {
  return quotaConfig("redisquota", "  redisServerUrl: 127.0.0.1:" + std::to_string(port) + R"(
  connectionPoolSize: 2
  failurePolicy: FAIL_CLOSED
  quotas:
  - name: requestcount.quota.istio-system
    maxAmount: )" + std::to_string(max_amount) +
                                       R"(
    validDuration: 1h
)");
}

class Mixs {
 public:
  void start(const std::string& config_dir, std::vector<std::string> extra = {}) {
    ASSERT_TRUE(process_.start(config_dir, std::move(extra))) << process_.output();
  }
  // The value of a counter on /metrics (summed over its label sets), -1 when absent.
  double metric(const std::string& name) {
    return testing::metricSum(testing::scrapeMetrics(process_.monitoringPort()), name).value_or(-1);
  }
  // One Check with a quota request, on the gRPC port or (`lean`) the lean port; the mixc output.
  std::string checkQuota(const std::string& service, int amount, bool lean = false) {
    return process_
        .mixcAt(lean ? process_.leanAddress() : process_.address(), "check",
                {"-s", "destination.service=" + service, "-q",
                 "requestcount=" + std::to_string(amount)})
        .second;
  }
  // mixc's load run to the lean port through the lean transport: `calls` Checks, each with one
  // quota request, `in_flight` at a time; mixc's summary.
  std::string loadQuota(const std::string& service, int calls, int in_flight) {
    return process_
        .mixcAt(process_.leanAddress(), "check",
                {"--transport", "lean", "-s", "destination.service=" + service, "-q",
                 "requestcount=1", "-r", std::to_string(calls), "-c", std::to_string(in_flight)})
        .second;
  }
  // The amount granted, or -1 when mixc printed no grant.
  int granted(const std::string& service, int amount, std::string* out = nullptr,
              bool lean = false) {
    std::string text = checkQuota(service, amount, lean);
    if (out != nullptr) {
      *out = text;
    }
    std::smatch m;
    if (!std::regex_search(text, m, std::regex("Quota 'requestcount': granted (\\d+)"))) {
      return -1;
    }
    return std::stoi(m[1].str());
  }
  bool running() { return process_.running(); }
  std::string output() const { return process_.output(); }

 private:
  MixsProcess process_;
};

TEST(PolicyAdaptersTest, MemquotaLimitsEachDestinationInMixs) {
  TempDir config("policy");
  config.write("quota.yaml", quotaConfig("memquota", R"(  quotas:
  - name: requestcount.quota.istio-system
    maxAmount: 3
    validDuration: 1h
    overrides:
    - dimensions: {destination: vip.svc}
      maxAmount: 5
)"));
  Mixs mixs;
  mixs.start(config.path());
  int total = 0;
  for (int i = 0; i < 5; ++i) {
    total += mixs.granted("a.svc", 1);
  }
  EXPECT_EQ(total, 3);
  total = 0;
  for (int i = 0; i < 7; ++i) {
    total += mixs.granted("vip.svc", 1);
  }
  EXPECT_EQ(total, 5);
}

TEST(PolicyAdaptersTest, ListcheckerWhitelistFromAnHttpProviderInMixs) {
  TempDir lists("policy");
  lists.write("services.txt", "good.svc\n");
  Subprocess http;
  ASSERT_TRUE(http.start({"/usr/bin/python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1",
                          "--directory", lists.path()}));
  auto port = http.waitFor("port (\\d+)");
  ASSERT_TRUE(port) << http.output();
  TempDir config("policy");
  config.write("list.yaml", R"(apiVersion: config.istio.io/v1alpha2
kind: listchecker
metadata:
  name: whitelist
  namespace: istio-system
spec:
  providerUrl: http://127.0.0.1:)" +
                                (*port)[1].str() + R"(/services.txt
  refreshInterval: 1s
  ttl: 30s
---
apiVersion: config.istio.io/v1alpha2
kind: listentry
metadata:
  name: destination
  namespace: istio-system
spec:
  value: destination.service | ""
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata:
  name: checkwl
  namespace: istio-system
spec:
  actions:
  - handler: whitelist.listchecker
    instances: [destination.listentry]
)");
  Mixs mixs;
  mixs.start(config.path());
  auto denied = [&](const std::string& service) {
    std::string out = mixs.checkQuota(service, 0);
    return out.find("PERMISSION_DENIED") != std::string::npos;
  };
  bool allowed = false;
  for (int i = 0; i < 100 && !allowed; ++i) {  // the first fetch is in the background
    allowed = !denied("good.svc");
    if (!allowed) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_TRUE(allowed) << mixs.output();
  EXPECT_TRUE(denied("evil.svc"));
  http.stop(SIGTERM);
}

TEST(PolicyAdaptersTest, RedisquotaIsOneLimitAcrossTwoMixsAndSurvivesRedisRestarts) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.output();
  TempDir config("policy");
  config.write("quota.yaml", redisquotaConfig(redis.port(), 6));
  Mixs a;
  Mixs b;
  a.start(config.path());
  b.start(config.path());
  int total = 0;
  for (int i = 0; i < 6; ++i) {
    total += a.granted("shared.svc", 1) + b.granted("shared.svc", 1);
  }
  EXPECT_EQ(total, 6);  // one global limit, not 6 per process

  int port = redis.port();
  redis.kill();
  std::string out;
  EXPECT_EQ(a.granted("other.svc", 1, &out), 0) << out;
  EXPECT_NE(out.find("UNAVAILABLE"), std::string::npos) << out;
  EXPECT_GE(a.metric("mixer_adapter_redisquota_fail_closed_denials_total"), 1);
  EXPECT_GE(a.metric("mixer_adapter_redisquota_redis_errors_total"), 1);
  EXPECT_TRUE(a.running());
  EXPECT_TRUE(b.running());

  ASSERT_TRUE(redis.start(port)) << redis.output();
  bool recovered = false;
  for (int i = 0; i < 100 && !recovered; ++i) {
    recovered = a.granted("other.svc", 1) == 1;
    if (!recovered) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_TRUE(recovered) << a.output();
  recovered = false;
  for (int i = 0; i < 100 && !recovered; ++i) {
    recovered = b.granted("other.svc", 1) == 1;
    if (!recovered) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_TRUE(recovered) << b.output();
  redis.kill();
}

// The lean port answers a Check whose quota goes to Redis from the pipeline's reader thread
// (through its mailbox): the same limit as the gRPC port's, and the same fail policy.
// A redis-server, and a mixs with a lean port whose redisquota handler uses it.
struct RedisAndLeanMixs {
  explicit RedisAndLeanMixs(const std::string& name) : config(name) {}
  void start(int max_amount) {
    ASSERT_TRUE(redis.start()) << redis.output();
    config.write("quota.yaml", redisquotaConfig(redis.port(), max_amount));
    mixs.start(config.path(), {"--lean-address", "127.0.0.1:0"});
  }
  RedisServer redis;
  TempDir config;
  Mixs mixs;
};

TEST(PolicyAdaptersTest, RedisquotaOverTheLeanPortIsTheSameLimitAndFailPolicy) {
  RedisAndLeanMixs both("policy-lean");
  ASSERT_NO_FATAL_FAILURE(both.start(5));
  RedisServer& redis = both.redis;
  Mixs& mixs = both.mixs;
  int total = 0;
  for (int i = 0; i < 4; ++i) {
    std::string out;
    const int on_lean = mixs.granted("lean.svc", 1, &out, /*lean=*/true);
    ASSERT_GE(on_lean, 0) << out;
    total += on_lean + mixs.granted("lean.svc", 1);
  }
  EXPECT_EQ(total, 5);  // one limit, whichever port asks
  redis.kill();
  std::string out;
  EXPECT_EQ(mixs.granted("other.svc", 1, &out, /*lean=*/true), 0) << out;
  EXPECT_NE(out.find("UNAVAILABLE"), std::string::npos) << out;
  EXPECT_TRUE(mixs.running());
}

// Many quota Checks in flight on one lean connection: answers come from the pipeline's reader
// thread (through the port's mailbox) and from the port's own thread (replies it finds on the
// socket after sending a pass's commands, answered in place and written before the port waits
// again). Every call must be answered, granted.
TEST(PolicyAdaptersTest, ManyQuotaChecksInFlightOverTheLeanPortAreAllAnswered) {
  RedisAndLeanMixs both("policy-lean-load");
  ASSERT_NO_FATAL_FAILURE(both.start(1000000000));
  Mixs& mixs = both.mixs;
  const std::string out = mixs.loadQuota("load.svc", 10000, 16);
  EXPECT_NE(out.find("10000 calls in"), std::string::npos) << out;
  EXPECT_NE(out.find("OK: 10000\n"), std::string::npos) << out;  // every call, and none failed
  // Nothing is left behind: one more Check is answered as usual.
  EXPECT_EQ(mixs.granted("load.svc", 1, nullptr, /*lean=*/true), 1);
}

}  // namespace
}  // namespace mixer
