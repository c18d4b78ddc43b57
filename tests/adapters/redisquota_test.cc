// redisquota: the Lua scripts run on a real redis-server with explicit times (window edges are
// exact), then the adapter loaded from the build's adapter folder against that server: limits,
// deduplication, NOSCRIPT recovery, Redis killed (failure policy) and restarted (recovery),
// replies matched to their calls with many callers on several threads, a restart with calls in
// flight, and a backlog the socket does not take at once.
#include <hiredis/hiredis.h>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "adapters/redisquota/redis_scripts.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mixer/adapter_host/adapter_registry.h"
#include "mixer/adapter_host/host_services.h"
#include "mixer/adapter_host/yaml_params.h"
#include "tests/adapters/redis_server.h"

namespace {

using mixer::testing::RedisServer;

class RedisScriptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.start()) << redis_.output();
    ctx_ = redisConnect("127.0.0.1", redis_.port());
    ASSERT_TRUE(ctx_ != nullptr && ctx_->err == 0);
  }
  void TearDown() override {
    if (ctx_ != nullptr) {
      redisFree(ctx_);
    }
    redis_.kill();
  }
  // Runs a script; returns {granted, ttl_ms}; the reply's third element, the remainder, is kept
  // in remaining_.
  std::pair<long long, long long> run(const char* script, int64_t credit, int64_t window_ms,
                                      int64_t bucket_ms, bool best_effort, int64_t amount,
                                      int64_t now_ms, const std::string& dedup = "") {
    std::string args[] = {std::to_string(credit),
                          std::to_string(window_ms),
                          std::to_string(bucket_ms),
                          best_effort ? "1" : "0",
                          std::to_string(amount),
                          std::to_string(now_ms),
                          dedup};
    const char* argv[12] = {"EVAL", script, "2", "q.meta", "q.data"};
    size_t lens[12] = {4, strlen(script), 1, 6, 6};
    for (int i = 0; i < 7; ++i) {
      argv[5 + i] = args[i].c_str();
      lens[5 + i] = args[i].size();
    }
    auto* r = static_cast<redisReply*>(redisCommandArgv(ctx_, 12, argv, lens));
    EXPECT_TRUE(r != nullptr && r->type == REDIS_REPLY_ARRAY && r->elements == 3)
        << (r != nullptr && r->type == REDIS_REPLY_ERROR ? r->str : "");
    std::pair<long long, long long> out{-1, -1};
    remaining_ = -2;
    if (r != nullptr && r->type == REDIS_REPLY_ARRAY && r->elements == 3) {
      out = {r->element[0]->integer, r->element[1]->integer};
      remaining_ = r->element[2]->integer;
    }
    freeReplyObject(r);
    return out;
  }
  long long fixed(int64_t credit, int64_t amount, int64_t now, bool best_effort = false,
                  const std::string& dedup = "") {
    return run(redisquota::kFixedWindowScript, credit, 1000, 0, best_effort, amount, now, dedup)
        .first;
  }
  long long rolling(int64_t amount, int64_t now, const std::string& dedup = "") {
    return run(redisquota::kRollingWindowScript, 10, 1000, 100, false, amount, now, dedup).first;
  }

  RedisServer redis_;
  redisContext* ctx_ = nullptr;
  long long remaining_ = -2;
};

// A Unix time in ms, as the adapter passes (13 digits: exact in Redis' Lua number formatting).
constexpr int64_t kT0 = 1'700'000'000'000;

TEST_F(RedisScriptTest, FixedWindowIsExactAtItsEdge) {
  EXPECT_EQ(run(redisquota::kFixedWindowScript, 3, 1000, 0, false, 3, kT0).second, 1000);
  EXPECT_EQ(fixed(3, 1, kT0 + 999), 0);
  EXPECT_EQ(run(redisquota::kFixedWindowScript, 3, 1000, 0, false, 1, kT0 + 999).second, 1);
  EXPECT_EQ(fixed(3, 3, kT0 + 1000), 3);  // the window started at kT0 ended at kT0 + 1000
  EXPECT_EQ(fixed(3, 1, kT0 + 1999), 0);
  EXPECT_EQ(fixed(3, 1, kT0 + 2000), 1);
}

TEST_F(RedisScriptTest, FixedWindowBestEffortAndDeduplication) {
  EXPECT_EQ(fixed(5, 3, kT0, false, "a"), 3);
  EXPECT_EQ(fixed(5, 3, kT0 + 10, false, "a"), 3);  // the same answer, not charged again
  EXPECT_EQ(fixed(5, 3, kT0 + 20, false, "b"), 0);
  EXPECT_EQ(fixed(5, 3, kT0 + 30, true, "c"), 2);
  EXPECT_EQ(fixed(5, 1, kT0 + 40, true, "d"), 0);
  EXPECT_EQ(fixed(5, 3, kT0 + 1000, false, "a"), 3);  // its window is over: a new decision
}

TEST_F(RedisScriptTest, RollingWindowReturnsABucketOneWindowAfterItStarted) {
  EXPECT_EQ(rolling(6, kT0), 6);
  EXPECT_EQ(rolling(4, kT0 + 500), 4);
  EXPECT_EQ(rolling(1, kT0 + 999), 0);
  EXPECT_EQ(rolling(7, kT0 + 1000), 0);  // only the 6 of the kT0 bucket came back
  EXPECT_EQ(rolling(6, kT0 + 1000), 6);
  EXPECT_EQ(rolling(1, kT0 + 1499), 0);
  EXPECT_EQ(rolling(4, kT0 + 1500), 4);
  EXPECT_EQ(rolling(1, kT0 + 1500), 0);
}

// The third element of the reply: what is left of the limit after the call (what an Envoy rate
// limit answer carries as limit_remaining); -1 for an answer repeated for a deduplication id.
TEST_F(RedisScriptTest, RepliesCarryWhatIsLeftOfTheLimit) {
  EXPECT_EQ(fixed(5, 2, kT0), 2);
  EXPECT_EQ(remaining_, 3);
  EXPECT_EQ(fixed(5, 3, kT0 + 1), 3);
  EXPECT_EQ(remaining_, 0);
  EXPECT_EQ(fixed(5, 1, kT0 + 2), 0);
  EXPECT_EQ(remaining_, 0);
  EXPECT_EQ(fixed(5, 1, kT0 + 1000), 1);  // a new window
  EXPECT_EQ(remaining_, 4);
  EXPECT_EQ(fixed(5, 1, kT0 + 1001, false, "z"), 1);
  EXPECT_EQ(remaining_, 3);
  EXPECT_EQ(fixed(5, 1, kT0 + 1002, false, "z"), 1);  // deduplicated: the remainder is not kept
  EXPECT_EQ(remaining_, -1);
}

TEST_F(RedisScriptTest, RollingRepliesCarryWhatIsLeftOfTheLimit) {
  EXPECT_EQ(rolling(4, kT0), 4);
  EXPECT_EQ(remaining_, 6);
  EXPECT_EQ(rolling(6, kT0 + 500), 6);
  EXPECT_EQ(remaining_, 0);
  EXPECT_EQ(rolling(4, kT0 + 1000), 4);  // the kT0 bucket came back
  EXPECT_EQ(remaining_, 0);
}

TEST_F(RedisScriptTest, RollingWindowDeduplicates) {
  EXPECT_EQ(rolling(10, kT0, "x"), 10);
  EXPECT_EQ(rolling(10, kT0 + 100, "x"), 10);
  EXPECT_EQ(rolling(1, kT0 + 200, "y"), 0);
}

// The adapter through the ABI, as mixs runs it.
class RedisQuotaAdapterTest : public ::testing::Test {
 protected:
  RedisQuotaAdapterTest() : services_(&counters_, &executor_, nullptr), registry_(&services_) {}
  ~RedisQuotaAdapterTest() override {
    handlers_.clear();
    executor_.shutdown();
    redis_.kill();
  }
  void SetUp() override {
    ASSERT_TRUE(redis_.start()) << redis_.output();
    ASSERT_TRUE(registry_.loadFile(std::string(ADAPTER_DIR) + "/redisquota.so").ok());
    adapter_ = registry_.find("redisquota");
    ASSERT_NE(adapter_, nullptr);
  }
  mixer::adapter_host::Handler& handler(const std::string& extra) {
    std::string text = "redisServerUrl: 127.0.0.1:" + std::to_string(redis_.port()) +
                       "\nconnectionPoolSize: 2\n" + extra +
                       "\nquotas:\n- name: requestcount\n  maxAmount: 5\n  validDuration: 1h\n"
                       "  overrides: [{dimensions: {user: vip}, maxAmount: 8}]\n";
    std::vector<mixer::adapter_host::ParamError> errors;
    auto v = mixer::adapter_host::valueFromYaml(YAML::Load(text), "params", &errors);
    EXPECT_TRUE(adapter_->validateParams(v).empty());
    auto h = adapter_->createHandler("h", v);
    EXPECT_TRUE(h.ok()) << h.status();
    handlers_.push_back(std::move(*h));
    return *handlers_.back();
  }
  absl::StatusOr<mixer::adapter_host::AdapterQuotaResult> quota(mixer::adapter_host::Handler& h,
                                                                int64_t amount,
                                                                const std::string& dedup = "",
                                                                const std::string& user = "u") {
    using mixer::adapter_host::AbiValue;
    mixer::adapter_host::Instance i{
        "requestcount.quota.istio-system", "quota",
        AbiValue::map({{"dimensions", AbiValue::map({{"user", AbiValue::string(user)}})}})};
    return h.quotaAndWait(i, {amount, false, dedup}, absl::Seconds(3));
  }
  int64_t granted(mixer::adapter_host::Handler& h, int64_t amount, const std::string& dedup = "",
                  const std::string& user = "u") {
    auto r = quota(h, amount, dedup, user);
    EXPECT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(!r.ok() || r->status.ok()) << r->status;
    return r.ok() && r->status.ok() ? r->granted_amount : -1;
  }
  void redisCommandOnce(const std::string& command) {
    redisContext* c = redisConnect("127.0.0.1", redis_.port());
    ASSERT_TRUE(c != nullptr && c->err == 0);
    freeReplyObject(redisCommand(c, command.c_str()));
    redisFree(c);
  }
  // Calls made without waiting (the callback form mixs uses), each answer stored at its index.
  struct Answers {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<absl::StatusOr<mixer::adapter_host::AdapterQuotaResult>> results;
    size_t answered = 0;
    explicit Answers(size_t n) : results(n, absl::UnknownError("not answered")) {}
    void set(size_t i, absl::StatusOr<mixer::adapter_host::AdapterQuotaResult> r) {
      std::lock_guard<std::mutex> lock(mu);
      results[i] = std::move(r);
      ++answered;
      cv.notify_all();
    }
    bool waitAll() {
      std::unique_lock<std::mutex> lock(mu);
      return cv.wait_for(lock, std::chrono::seconds(30),
                         [&] { return answered == results.size(); });
    }
  };
  void quotaAsync(mixer::adapter_host::Handler& h, int64_t amount, const std::string& dedup,
                  const std::string& user, Answers* answers, size_t index) {
    using mixer::adapter_host::AbiValue;
    mixer::adapter_host::Instance i{
        "requestcount.quota.istio-system", "quota",
        AbiValue::map({{"dimensions", AbiValue::map({{"user", AbiValue::string(user)}})}})};
    h.quota(i, {amount, false, dedup}, absl::Seconds(20),
            [answers, index](absl::StatusOr<mixer::adapter_host::AdapterQuotaResult> r) {
              answers->set(index, std::move(r));
            });
  }
  // The grant a fresh key (limit 5, all or nothing) gives for `amount`.
  static int64_t expectedGrant(int64_t amount) { return amount <= 5 ? amount : 0; }

  double counter(const std::string& name) {
    return counters_.total("mixer_adapter_redisquota_" + name + "_total");
  }

  RedisServer redis_;
  mixer::adapter_host::InMemoryCounterRegistry counters_;
  mixer::adapter_host::BackgroundExecutor executor_{1};
  mixer::adapter_host::HostServices services_;
  mixer::adapter_host::AdapterRegistry registry_;
  std::shared_ptr<const mixer::adapter_host::LoadedAdapter> adapter_;
  std::vector<std::unique_ptr<mixer::adapter_host::Handler>> handlers_;
};

TEST_F(RedisQuotaAdapterTest, GrantsUpToTheLimitPerDimensionsWithOverridesAndDedup) {
  auto& h = handler("");
  EXPECT_EQ(granted(h, 3, "a"), 3);
  EXPECT_EQ(granted(h, 3, "a"), 3);  // deduplicated
  EXPECT_EQ(granted(h, 3, "b"), 0);
  EXPECT_EQ(granted(h, 2, "c"), 2);
  EXPECT_EQ(granted(h, 8, "d", "vip"), 8);  // its own key and the override's limit
  EXPECT_EQ(granted(h, 1, "e", "vip"), 0);
  auto r = quota(h, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->valid_duration, absl::Minutes(59));
  // The limit that applied and what is left of it come back with the grant.
  auto f = quota(h, 1, "f", "fresh");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->granted_amount, 1);
  EXPECT_EQ(f->limit, 5);
  EXPECT_EQ(f->remaining, 4);
  EXPECT_GT(f->window, absl::ZeroDuration());
}

TEST_F(RedisQuotaAdapterTest, TwoHandlersShareOneLimitThroughRedis) {
  auto& a = handler("");
  auto& b = handler("");
  EXPECT_EQ(granted(a, 3), 3);
  EXPECT_EQ(granted(b, 3), 0);
  EXPECT_EQ(granted(b, 2), 2);
  EXPECT_EQ(granted(a, 1), 0);
}

TEST_F(RedisQuotaAdapterTest, FlushedScriptCacheFallsBackToEval) {
  auto& h = handler("");
  EXPECT_EQ(granted(h, 1), 1);
  redisCommandOnce("SCRIPT FLUSH");
  EXPECT_EQ(granted(h, 1), 1);
  EXPECT_EQ(granted(h, 1), 1);
  EXPECT_EQ(counter("redis_errors"), 0);
}

TEST_F(RedisQuotaAdapterTest, RedisKilledAppliesTheFailurePolicyThenRecoversOnRestart) {
  auto& closed = handler("failurePolicy: FAIL_CLOSED");
  auto& open = handler("failurePolicy: FAIL_OPEN\ntimeout: 200ms");
  EXPECT_EQ(granted(closed, 5), 5);
  EXPECT_EQ(granted(open, 1), 0);  // the same key: the limit is shared
  int port = redis_.port();
  redis_.kill();
  for (int i = 0; i < 5; ++i) {
    auto r = quota(closed, 1);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status.code(), absl::StatusCode::kUnavailable) << r->status;
    EXPECT_EQ(r->granted_amount, 0);
    auto o = quota(open, 2);
    ASSERT_TRUE(o.ok()) << o.status();
    EXPECT_TRUE(o->status.ok());
    EXPECT_EQ(o->granted_amount, 2);
  }
  EXPECT_EQ(counter("fail_closed_denials"), 5);
  EXPECT_EQ(counter("fail_open_grants"), 5);
  EXPECT_GE(counter("redis_errors"), 1);
  ASSERT_TRUE(redis_.start(port)) << redis_.output();
  // A fresh Redis: the limit starts over once the handlers have reconnected (within their
  // backoff, at most 2s).
  bool recovered = false;
  for (int i = 0; i < 100 && !recovered; ++i) {
    auto r = quota(closed, 4, "after-" + std::to_string(i));
    recovered = r.ok() && r->status.ok() && r->granted_amount == 4;
    if (!recovered) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ASSERT_TRUE(recovered);
  EXPECT_EQ(granted(closed, 2), 0);  // 4 of 5 used: 2 more is all or nothing
  EXPECT_EQ(granted(open, 1), 1);
}

// A Redis that accepts but never answers (stopped with SIGSTOP): the call is answered by the
// failure policy after the adapter's timeout, well before the host's deadline; after SIGCONT the
// handler reconnects and grants again.
TEST_F(RedisQuotaAdapterTest, AHungRedisTimesOutIntoTheFailurePolicy) {
  auto& h = handler("timeout: 200ms\nfailurePolicy: FAIL_CLOSED");
  EXPECT_EQ(granted(h, 1), 1);
  ASSERT_EQ(::kill(redis_.pid(), SIGSTOP), 0);
  using mixer::adapter_host::AbiValue;
  mixer::adapter_host::Instance i{
      "requestcount.quota.istio-system", "quota",
      AbiValue::map({{"dimensions", AbiValue::map({{"user", AbiValue::string("u")}})}})};
  auto r = h.quotaAndWait(i, {1, false, "hung"}, absl::Seconds(10));
  ::kill(redis_.pid(), SIGCONT);
  ASSERT_TRUE(r.ok()) << r.status();  // answered by the adapter, not by the host's deadline
  EXPECT_EQ(r->status.code(), absl::StatusCode::kUnavailable) << r->status;
  EXPECT_GE(counter("fail_closed_denials"), 1);
  bool recovered = false;
  for (int n = 0; n < 100 && !recovered; ++n) {
    auto again = quota(h, 1, "again-" + std::to_string(n));
    recovered = again.ok() && again->status.ok() && again->granted_amount == 1;
    if (!recovered) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_TRUE(recovered);
}

// Request threads write to the pooled connections themselves: with many callers on several
// threads, each call still gets its own reply (each asks a different amount of a fresh key, so a
// reply given to the wrong call shows as a wrong grant).
TEST_F(RedisQuotaAdapterTest, RepliesMatchTheirCallsUnderManyConcurrentCallers) {
  auto& h = handler("");
  constexpr int kThreads = 8;
  constexpr int kPerThread = 400;
  Answers answers(kThreads * kPerThread);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int64_t amount = 1 + (t * 31 + i) % 8;
        quotaAsync(h, amount, "", "t" + std::to_string(t) + "-" + std::to_string(i), &answers,
                   static_cast<size_t>(t * kPerThread + i));
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  ASSERT_TRUE(answers.waitAll());
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      const auto& r = answers.results[static_cast<size_t>(t * kPerThread + i)];
      ASSERT_TRUE(r.ok()) << r.status();
      ASSERT_TRUE(r->status.ok()) << r->status;
      EXPECT_EQ(r->granted_amount, expectedGrant(1 + (t * 31 + i) % 8))
          << "thread " << t << " call " << i;
    }
  }
  EXPECT_EQ(counter("redis_errors"), 0);
}

// Calls made from completions run on the adapter's reader thread (as a host chaining calls does),
// which then writes to a connection while it is completing that connection's replies: each call
// still gets its own reply.
TEST_F(RedisQuotaAdapterTest, CallsMadeFromCompletionsGetTheirOwnReplies) {
  auto& h = handler("");
  constexpr int kChains = 16;
  constexpr int kPerChain = 50;
  Answers answers(kChains * kPerChain);
  std::function<void(int, int)> issue = [&](int chain, int i) {
    using mixer::adapter_host::AbiValue;
    mixer::adapter_host::Instance inst{
        "requestcount.quota.istio-system", "quota",
        AbiValue::map({{"dimensions",
                        AbiValue::map({{"user", AbiValue::string("c" + std::to_string(chain) + "-" +
                                                                 std::to_string(i))}})}})};
    const size_t index = static_cast<size_t>(chain * kPerChain + i);
    h.quota(inst, {1 + (chain + i) % 8, false, ""}, absl::Seconds(20),
            [&, chain, i, index](absl::StatusOr<mixer::adapter_host::AdapterQuotaResult> r) {
              answers.set(index, std::move(r));
              if (i + 1 < kPerChain) {
                issue(chain, i + 1);
              }
            });
  };
  for (int chain = 0; chain < kChains; ++chain) {
    issue(chain, 0);
  }
  ASSERT_TRUE(answers.waitAll());
  for (int chain = 0; chain < kChains; ++chain) {
    for (int i = 0; i < kPerChain; ++i) {
      const auto& r = answers.results[static_cast<size_t>(chain * kPerChain + i)];
      ASSERT_TRUE(r.ok()) << r.status();
      ASSERT_TRUE(r->status.ok()) << r->status;
      EXPECT_EQ(r->granted_amount, expectedGrant(1 + (chain + i) % 8))
          << "chain " << chain << " call " << i;
    }
  }
}

// Redis killed and restarted while callers keep calls in flight: every call is answered by the
// adapter (a grant, or the failure policy; none left to the host's deadline), the denials are
// counted, and calls are granted again after the restart.
TEST_F(RedisQuotaAdapterTest, ARestartWithCallsInFlightAnswersEveryCall) {
  auto& h = handler("failurePolicy: FAIL_CLOSED");
  constexpr int kThreads = 4;
  constexpr int kBatch = 16;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> granted{0};
  std::atomic<int64_t> unavailable{0};
  std::atomic<int64_t> other{0};
  std::atomic<int64_t> granted_after_restart{0};
  std::atomic<bool> restarted{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; !stop.load(); ++round) {
        Answers answers(kBatch);
        const bool after = restarted.load();
        for (int i = 0; i < kBatch; ++i) {
          quotaAsync(
              h, 1, "",
              "r" + std::to_string(t) + "-" + std::to_string(round) + "-" + std::to_string(i),
              &answers, static_cast<size_t>(i));
        }
        if (!answers.waitAll()) {
          other += kBatch;
          return;
        }
        for (const auto& r : answers.results) {
          if (r.ok() && r->status.ok() && r->granted_amount == 1) {
            ++granted;
            if (after) {
              ++granted_after_restart;
            }
          } else if (r.ok() && r->status.code() == absl::StatusCode::kUnavailable &&
                     r->granted_amount == 0) {
            ++unavailable;
          } else {
            ++other;
          }
        }
      }
    });
  }
  auto wait_until = [](const std::function<bool()>& done) {
    for (int i = 0; i < 300 && !done(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return done();
  };
  EXPECT_TRUE(wait_until([&] { return granted.load() >= 200; }));
  int port = redis_.port();
  redis_.kill();
  EXPECT_TRUE(wait_until([&] { return unavailable.load() >= 50; }));
  ASSERT_TRUE(redis_.start(port)) << redis_.output();
  restarted = true;
  EXPECT_TRUE(wait_until([&] { return granted_after_restart.load() >= 200; }));
  stop = true;
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(unavailable.load(), 0);
  EXPECT_EQ(counter("fail_closed_denials"), static_cast<double>(unavailable.load()));
  EXPECT_GE(counter("redis_errors"), 1);
}

// Redis stopped (SIGSTOP) while calls carrying 64 KiB deduplication ids are written: 25 MiB is
// more than the loopback socket takes from a reader that does not read, so writes are partial and
// the rest waits in the connection's buffer, behind which later calls queue. After SIGCONT every
// call gets its own answer.
TEST_F(RedisQuotaAdapterTest, ABacklogTheSocketDoesNotTakeIsSentInOrder) {
  auto& h = handler("timeout: 20s");
  EXPECT_EQ(granted(h, 1, "warm-up"), 1);
  constexpr int kCalls = 400;
  Answers answers(kCalls);
  ASSERT_EQ(::kill(redis_.pid(), SIGSTOP), 0);
  for (int i = 0; i < kCalls; ++i) {
    std::string dedup(64 * 1024, 'a' + i % 26);
    dedup += std::to_string(i);
    quotaAsync(h, 1 + i % 8, dedup, "b" + std::to_string(i), &answers, static_cast<size_t>(i));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(::kill(redis_.pid(), SIGCONT), 0);
  ASSERT_TRUE(answers.waitAll());
  for (int i = 0; i < kCalls; ++i) {
    const auto& r = answers.results[static_cast<size_t>(i)];
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(r->status.ok()) << r->status;
    EXPECT_EQ(r->granted_amount, expectedGrant(1 + i % 8)) << "call " << i;
  }
  EXPECT_EQ(counter("redis_errors"), 0);
}

TEST_F(RedisQuotaAdapterTest, ValidationReportsEveryErrorWithItsPath) {
  std::vector<mixer::adapter_host::ParamError> errors;
  auto v = mixer::adapter_host::valueFromYaml(
      YAML::Load("redisServerUrl: nohost\nconnectionPoolSize: 0\nfailurePolicy: MAYBE\n"
                 "quotas:\n- name: q\n  maxAmount: 1\n  validDuration: 1s\n"
                 "  rateLimitAlgorithm: ROLLING_WINDOW\n  bucketDuration: 2s\n"),
      "params", &errors);
  std::vector<std::string> got;
  for (const auto& e : adapter_->validateParams(v)) {
    got.push_back(e.toString());
  }
  EXPECT_THAT(got,
              ::testing::UnorderedElementsAre(
                  "params.redis_server_url: required: host:port (or sentinels and master_name)",
                  "params.connection_pool_size: must be between 1 and 64, got 0",
                  "params.failure_policy: expected FAIL_CLOSED or FAIL_OPEN",
                  "params.quotas[0].bucket_duration: ROLLING_WINDOW needs 1ms <= "
                  "bucket_duration < valid_duration"));
}

}  // namespace
