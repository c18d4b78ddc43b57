// The proxy-filter client library against three real mixs replicas given as one address list:
// Checks and Reports are spread over all three (gRPC round_robin), counted at each replica's own
// /metrics; after one replica is killed (SIGKILL), calls go to the two left (client-side health
// checking and retries of calls that found it gone), every record reported after the kill is
// counted by a live replica, and no Check fails. A redisquota limit holds across the replicas.
// Address lists the library cannot use are rejected when the client is created.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proxy-filter/core/mixer_client.h"
#include "proxy-filter/core/mixer_proxy.h"
#include "tests/adapters/redis_server.h"
#include "tests/testing/metrics.h"
#include "tests/testing/mixs_process.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace mixer::proxy {
namespace {

using testing::MixsProcess;
using testing::TempDir;

std::string configDir() {
  const char* source = std::getenv("MIXER_SOURCE_DIR");
  return std::string(source == nullptr ? "." : source) + "/tests/proxy-filter/testdata";
}

class ProxyFilterReplicasTest : public ::testing::Test {
 protected:
  // The configuration the quota tests share, in a fresh config_: one redisquota handler on the
  // redis-server at `redis_port`, `max_amount` per `window`, fail closed, for every request.
  void writeSharedQuotaConfig(int redis_port, int max_amount, const std::string& window) {
    config_ = std::make_unique<TempDir>("mixs-replicas-config");
    config_->write("quota.yaml", testing::redisQuotaConfig(redis_port, max_amount, window));
  }

  void startReplicas(const std::string& config_dir = configDir()) {
    for (int i = 0; i < 3; ++i) {
      auto r = std::make_unique<MixsProcess>();
      ASSERT_TRUE(r->start(config_dir)) << r->output();
      replicas_.push_back(std::move(r));
    }
  }
  std::string addressList() const {
    std::string list;
    for (const auto& r : replicas_) {
      list += (list.empty() ? "" : ",") + r->address();
    }
    return list;
  }
  std::unique_ptr<MixerClient> makeClient() {
    MixerClientOptions options;
    options.fail_open = false;
    options.check_cache = false;  // every Check reaches a replica
    options.quota_cache = false;  // every quota too
    options.report.max_entries = 10;
    options.report.max_time_ms = 50;
    GrpcTransportOptions transport;
    transport.address = addressList();
    transport.timeout_ms = 2000;
    transport.max_retries = 3;  // a call that finds its replica gone goes to another
    return std::make_unique<MixerClient>(options, std::make_unique<GrpcTransport>(transport));
  }
  static CheckResult check(MixerClient* client, int i,
                           const std::vector<QuotaRequest>& quotas = {}) {
    Attributes a;
    a.setString("destination.service", "productpage.default.svc.cluster.local");
    a.setString("request.path", "/r" + std::to_string(i));
    a.setString("request.url_path", "/r" + std::to_string(i));
    a.setMapEntry("request.headers", "x-user", "alice");
    auto done = std::make_shared<std::promise<CheckResult>>();
    client->check(a, quotas, [done](const CheckResult& r) { done->set_value(r); });
    return done->get_future().get();
  }
  // The sum of a metric's samples whose labels contain `label` ("" for all), from /metrics.
  static double metricSum(const MixsProcess& r, const std::string& name, const std::string& label) {
    return testing::metricSum(testing::scrapeMetrics(r.monitoringPort()), name, label).value_or(0);
  }
  double checks(const MixsProcess& r) {
    return metricSum(r, "grpc_server_handled_total", R"(grpc_method="Check")");
  }
  double records(const MixsProcess& r) { return metricSum(r, "mixer_report_records_total", ""); }

  std::vector<std::unique_ptr<MixsProcess>> replicas_;
  std::unique_ptr<TempDir> config_;
};

TEST_F(ProxyFilterReplicasTest, CallsAreSpreadOverTheReplicasAndLeaveOneThatDies) {
  ASSERT_NO_FATAL_FAILURE(startReplicas());
  auto client = makeClient();
  int failed = 0;
  for (int i = 0; i < 300; ++i) {
    failed += !check(client.get(), i).ok();
  }
  EXPECT_EQ(failed, 0);
  double before[3];
  for (int r = 0; r < 3; ++r) {
    before[r] = checks(*replicas_[r]);
    EXPECT_GE(before[r], 50) << "replica " << r << " got " << before[r] << " of 300 Checks";
  }
  EXPECT_EQ(before[0] + before[1] + before[2], 300);

  replicas_[0]->stop(SIGKILL);
  const double records_before = records(*replicas_[1]) + records(*replicas_[2]);
  constexpr int kAfter = 300;
  for (int i = 0; i < kAfter; ++i) {
    failed += !check(client.get(), 1000 + i).ok();
    Attributes record;
    record.setString("destination.service", "productpage.default.svc.cluster.local");
    record.setInt64("response.code", 200);
    client->report(std::move(record));
  }
  std::cout << "after the kill: " << failed << " of " << kAfter << " Checks failed\n";
  EXPECT_EQ(failed, 0);  // retried on a live replica
  const double after1 = checks(*replicas_[1]) - before[1];
  const double after2 = checks(*replicas_[2]) - before[2];
  EXPECT_EQ(after1 + after2, kAfter);
  EXPECT_GE(after1, 50);
  EXPECT_GE(after2, 50);

  client.reset();  // flushes the last batch and waits for it
  const double delivered = records(*replicas_[1]) + records(*replicas_[2]) - records_before;
  std::cout << "after the kill: " << delivered << " of " << kAfter
            << " records counted by the live replicas\n";
  EXPECT_EQ(delivered, kAfter);
}

// One limit for the three replicas: a redisquota of 500 per 30s window on one redis-server. 2,000
// quota Checks from 8 threads, spread over the replicas, get 500 grants (within 5%), not 500 per
// replica.
TEST_F(ProxyFilterReplicasTest, ARedisQuotaHoldsAcrossTheReplicas) {
  mixer::testing::RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.output();
  ASSERT_NO_FATAL_FAILURE(writeSharedQuotaConfig(redis.port(), 500, "30s"));
  ASSERT_NO_FATAL_FAILURE(startReplicas(config_->path()));
  auto client = makeClient();
  std::atomic<int> granted{0}, exhausted{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 250; ++i) {
        const CheckResult r = check(client.get(), t * 1000 + i, {{"requestcount", 1}});
        if (r.ok()) {
          ++granted;
        } else if (r.code == StatusCode::kResourceExhausted) {
          ++exhausted;
        } else {
          ++other;
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  std::cout << "redisquota across 3 replicas: " << granted << " granted, " << exhausted
            << " exhausted of 2000 (limit 500)\n";
  EXPECT_EQ(other.load(), 0);
  EXPECT_GE(granted.load(), 475);
  EXPECT_LE(granted.load(), 525);
  EXPECT_EQ(granted + exhausted, 2000);
  for (const auto& r : replicas_) {  // each replica answered quota calls
    EXPECT_GE(checks(*r), 100);
  }
}

// A quota of N per second across the three replicas, every quota call reaching Redis (no proxy
// quota cache): 8 threads ask as fast as the replicas answer for 10s. redisquota's FIXED_WINDOW
// starts a 1s window with the first call after the previous window ended and grants N in it, the
// whole check-and-increment one Lua script run atomically by Redis whichever replica calls. So
// every window starts during the load and lasts 1s: the load's D seconds hold at most ceil(D)
// windows and, as the load exceeds the limit, at least floor(D) - 1 full ones; N per window
// across the replicas bounds the grants exactly. (Client-side one-second bins are only
// approximate: a window does not start on a bin's edge, and a grant is timed when its answer
// arrives; they are printed to show the shape.)
TEST_F(ProxyFilterReplicasTest, ARedisQuotaPerSecondHoldsAcrossTheReplicas) {
  constexpr int kPerSecond = 50;
  mixer::testing::RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.output();
  ASSERT_NO_FATAL_FAILURE(writeSharedQuotaConfig(redis.port(), kPerSecond, "1s"));
  ASSERT_NO_FATAL_FAILURE(startReplicas(config_->path()));
  auto client = makeClient();
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  const Clock::time_point end = start + std::chrono::seconds(10);
  std::mutex mu;
  std::vector<Clock::time_point> grants;
  std::atomic<int> calls{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; Clock::now() < end; ++i) {
        const CheckResult r = check(client.get(), t * 1000000 + i, {{"requestcount", 1}});
        const Clock::time_point at = Clock::now();
        ++calls;
        if (r.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          grants.push_back(at);
        } else if (r.code != StatusCode::kResourceExhausted) {
          ++other;
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  ASSERT_FALSE(grants.empty());
  std::sort(grants.begin(), grants.end());
  const auto t0 = grants.front();
  const int whole = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(end - t0).count() / 1000);
  std::vector<int> per_second(whole + 1, 0);
  for (const auto& g : grants) {
    per_second[std::min<int64_t>(
        whole, std::chrono::duration_cast<std::chrono::milliseconds>(g - t0).count() / 1000)]++;
  }
  int in_whole = 0;
  std::string shape;
  for (int k = 0; k < whole; ++k) {
    in_whole += per_second[k];
    shape += (k ? " " : "") + std::to_string(per_second[k]);
  }
  const double expected = static_cast<double>(kPerSecond) * whole;
  std::cout << "redisquota " << kPerSecond << "/s across 3 replicas, every call to Redis: " << calls
            << " quota Checks, " << grants.size() << " granted; " << in_whole << " in the " << whole
            << " whole seconds after the first grant (expected " << expected
            << "); per second: " << shape << "\n";
  EXPECT_EQ(other.load(), 0);
  EXPECT_GE(whole, 9);
  EXPECT_GT(calls.load(), 4 * kPerSecond * whole) << "the load must exceed the limit";
  // A span of `whole` seconds meets at most whole + 1 windows and holds at least whole - 1.
  EXPECT_GE(in_whole, kPerSecond * (whole - 1));
  EXPECT_LE(in_whole, kPerSecond * (whole + 1));
  // Every call was sent in [start, end): the windows that started while calls were sent number
  // at most ceil(D); one more may start with the (at most one per thread) calls still in flight
  // at `end`, and grant only those.
  const double load_seconds = std::chrono::duration<double>(end - start).count();
  const auto max_windows = static_cast<size_t>(std::ceil(load_seconds));
  const auto min_full_windows = static_cast<size_t>(std::floor(load_seconds)) - 1;
  EXPECT_LE(grants.size(), kPerSecond * max_windows + threads.size())
      << "more than N in some window";
  EXPECT_GE(grants.size(), kPerSecond * min_full_windows);
  for (const auto& r : replicas_) {  // each replica answered quota calls
    EXPECT_GE(checks(*r), 10);
  }
}

TEST_F(ProxyFilterReplicasTest, AddressListsThatCannotBeUsedAreRejected) {
  std::string error;
  EXPECT_EQ(grpcTarget("127.0.0.1:1,127.0.0.2:2", &error), "ipv4:127.0.0.1:1,127.0.0.2:2");
  EXPECT_EQ(grpcTarget(" [::1]:1 , [::2]:2 ", &error), "ipv6:[::1]:1,[::2]:2");
  EXPECT_EQ(grpcTarget("mixs.example:9091", &error), "mixs.example:9091");
  EXPECT_EQ(grpcTarget("dns:///mixs.example:9091", &error), "dns:///mixs.example:9091");
  EXPECT_EQ(grpcTarget("127.0.0.1:1,[::1]:2", &error), "");
  EXPECT_NE(error.find("all IPv4 or all IPv6"), std::string::npos) << error;
  EXPECT_EQ(grpcTarget("a.example:1,b.example:2", &error), "");
  EXPECT_NE(error.find("one DNS name"), std::string::npos) << error;

  mixer_proxy_options options;
  mixer_proxy_options_init(&options);
  options.server_address = "127.0.0.1:1,mixs.example:2";
  const char* message = nullptr;
  EXPECT_EQ(mixer_proxy_client_create(&options, &message), nullptr);
  ASSERT_NE(message, nullptr);
  EXPECT_NE(std::string(message).find("server_address"), std::string::npos) << message;
}

}  // namespace
}  // namespace mixer::proxy
