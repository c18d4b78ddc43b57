// RedisPipeline (adapters/redisquota/redis_pipeline.h) against a real redis-server on an ephemeral
// port: scripts run with their replies matched to their calls across threads and connections,
// NOSCRIPT recovery, error replies passed on and counted, AUTH, calls while Redis is down, a
// restart, close(); and its RESP and address helpers.
#include "adapters/redisquota/redis_pipeline.h"

#include <hiredis/hiredis.h>
#include <sys/syscall.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapters/redis_server.h"

namespace redisquota {
namespace {

using mixer::testing::RedisServer;
using ::testing::HasSubstr;
using ::testing::Not;
using Outcome = RedisPipeline::Outcome;

// Script 0 doubles its argument; script 1 answers with an error reply.
const std::vector<std::string> kScripts = {"return tonumber(ARGV[1]) * 2",
                                           "return redis.error_reply('boom ' .. ARGV[1])"};

// A host that records log lines and counters (the pipeline uses nothing else).
class RecordingHost {
 public:
  RecordingHost() {
    api_.struct_size = sizeof(api_);
    api_.abi_version = MIXER_ADAPTER_ABI_VERSION;
    api_.host_ctx = this;
    api_.log = [](void* ctx, int32_t, mixer_string message) {
      auto* self = static_cast<RecordingHost*>(ctx);
      std::lock_guard<std::mutex> lock(self->mu_);
      self->logs_.emplace_back(message.data, message.size);
    };
    api_.declare_counter = [](void* ctx, const char* name, const char*) -> uint64_t {
      auto* self = static_cast<RecordingHost*>(ctx);
      std::lock_guard<std::mutex> lock(self->mu_);
      self->names_.emplace_back(name);
      return self->names_.size();
    };
    api_.counter_add = [](void* ctx, uint64_t id, double delta) {
      auto* self = static_cast<RecordingHost*>(ctx);
      std::lock_guard<std::mutex> lock(self->mu_);
      self->counts_[self->names_.at(id - 1)] += delta;
    };
  }
  mixer::adapter_sdk::Host host() const { return mixer::adapter_sdk::Host(&api_); }
  RedisPipeline::Counters counters() const {
    const mixer::adapter_sdk::Host h = host();
    return {h.declareCounter("errors", ""), h.declareCounter("connects", ""),
            h.declareCounter("master_switches", "")};
  }
  double count(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = counts_.find(name);
    return it == counts_.end() ? 0 : it->second;
  }
  std::string logs() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    for (const std::string& line : logs_) {
      out += line + "\n";
    }
    return out;
  }

 private:
  mixer_host_api api_{};
  mutable std::mutex mu_;
  std::vector<std::string> logs_;
  std::vector<std::string> names_;
  std::map<std::string, double> counts_;
};

// How one call ended, with what the reply held.
struct Ended {
  Outcome outcome = Outcome::kReply;
  int reply_type = 0;
  long long integer = 0;
  std::string text;  // a string or error reply's text
  std::string error;
};

// Waits for one call's end.
class Waiter {
 public:
  RedisPipeline::Done done() {
    return [this](Outcome outcome, const redisReply* reply, const std::string& error) {
      Ended e;
      e.outcome = outcome;
      e.error = error;
      if (reply != nullptr) {
        e.reply_type = reply->type;
        e.integer = reply->integer;
        if (reply->str != nullptr) {
          e.text.assign(reply->str, reply->len);
        }
      }
      std::lock_guard<std::mutex> lock(mu_);
      ended_ = e;
      cv_.notify_all();
    };
  }
  Ended wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return ended_.has_value(); });
    return *ended_;
  }
  // The call's end if it comes within `limit` (generous: a missing end is the failure).
  std::optional<Ended> waitFor(std::chrono::seconds limit) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, limit, [&] { return ended_.has_value(); });
    return ended_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Ended> ended_;
};

// The RESP arguments of a script call with no keys and one argument.
std::string oneArg(int64_t n) {
  std::string args;
  appendBulk(args, "0");
  appendBulk(args, n);
  return args;
}

Ended run(RedisPipeline& pipeline, size_t script, int64_t n) {
  Waiter w;
  pipeline.eval(script, oneArg(n), 2, w.done());
  return w.wait();
}

RedisOptions optionsFor(int port, int64_t pool_size = 2) {
  RedisOptions o;
  o.server = Endpoint{"127.0.0.1", port};
  o.pool_size = pool_size;
  o.timeout_ns = 2'000 * kMsNs;
  o.thread_name = "pipeline-test";
  return o;
}

void redisCommandOnce(int port, const char* command) {
  redisContext* c = redisConnect("127.0.0.1", port);
  ASSERT_TRUE(c != nullptr && c->err == 0);
  freeReplyObject(redisCommand(c, command));
  redisFree(c);
}

TEST(RespTest, AppendBulkWritesLengthPrefixedStrings) {
  std::string out;
  appendBulk(out, "key", ".meta");
  appendBulk(out, int64_t{-42});
  appendBulk(out, "");
  EXPECT_EQ(out, "$8\r\nkey.meta\r\n$3\r\n-42\r\n$0\r\n\r\n");
}

TEST(ServerUrlTest, AcceptsHostPortWithOrWithoutScheme) {
  std::string host;
  int port = 0;
  EXPECT_TRUE(parseServerUrl("redis://cache.example:6380", &host, &port));
  EXPECT_EQ(host, "cache.example");
  EXPECT_EQ(port, 6380);
  EXPECT_TRUE(parseServerUrl("127.0.0.1:7000", &host, &port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 7000);
  for (const char* bad : {"nohost", ":6379", "host:", "host:0", "host:65536", "host:12x"}) {
    EXPECT_FALSE(parseServerUrl(bad, &host, &port)) << bad;
  }
}

class RedisPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(redis_.start()) << redis_.output(); }
  RedisServer redis_;
  RecordingHost host_;
};

TEST_F(RedisPipelineTest, RepliesGoToTheirCallsFromManyThreads) {
  RedisPipeline pipeline(optionsFor(redis_.port()), kScripts, host_.host(), host_.counters());
  constexpr int kThreads = 4;
  constexpr int kCalls = 200;
  std::vector<std::thread> threads;
  std::vector<int> wrong(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Several calls in flight per thread, so replies on one connection interleave.
      for (int i = 0; i < kCalls; i += 4) {
        Waiter w[4];
        for (int k = 0; k < 4; ++k) {
          pipeline.eval(0, oneArg(t * 1000 + i + k), 2, w[k].done());
        }
        for (int k = 0; k < 4; ++k) {
          Ended e = w[k].wait();
          if (e.outcome != Outcome::kReply || e.reply_type != REDIS_REPLY_INTEGER ||
              e.integer != 2 * (t * 1000 + i + k)) {
            ++wrong[t];
          }
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_THAT(wrong, ::testing::Each(0));
  EXPECT_EQ(host_.count("errors"), 0);
  EXPECT_GE(host_.count("connects"), 1);
  EXPECT_LE(host_.count("connects"), 2);  // no reconnects: at most one per pooled connection
}

// More calls in flight than one connection takes before the next is preferred (the pool fills
// its first connection first): every reply still goes to its call.
TEST_F(RedisPipelineTest, ManyCallsInFlightSpreadOverThePoolAndGetTheirReplies) {
  RedisPipeline pipeline(optionsFor(redis_.port(), 3), kScripts, host_.host(), host_.counters());
  ASSERT_EQ(run(pipeline, 0, 1).integer, 2);
  constexpr int kCalls = 300;
  std::vector<Waiter> w(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    pipeline.eval(0, oneArg(i), 2, w[i].done());
  }
  int wrong = 0;
  for (int i = 0; i < kCalls; ++i) {
    Ended e = w[i].wait();
    if (e.outcome != Outcome::kReply || e.integer != 2 * i) {
      ++wrong;
    }
  }
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(host_.count("errors"), 0);
}

// Request threads complete replies already on the socket when they write a call, while the
// reader thread reads too: on one connection, with many threads writing, and completions that
// make the next call themselves, every call is completed exactly once, with its own reply.
TEST_F(RedisPipelineTest, EveryCallCompletesOnceWhenRequestThreadsDrainReplies) {
  RedisPipeline pipeline(optionsFor(redis_.port(), 1), kScripts, host_.host(), host_.counters());
  ASSERT_EQ(run(pipeline, 0, 1).integer, 2);
  constexpr int kThreads = 6;
  constexpr int kChains = 4;   // per thread, in flight at once
  constexpr int kLength = 60;  // calls per chain, each made by the previous one's completion
  constexpr int kCalls = kThreads * kChains * kLength;
  struct State {
    RedisPipeline* pipeline = nullptr;
    std::vector<std::atomic<int>> completions = std::vector<std::atomic<int>>(kCalls);
    std::atomic<int> wrong{0};
    std::atomic<int> on_writers{0};  // completed on a test thread (a drain), not on the reader
    std::mutex mu;
    std::condition_variable cv;
    int done = 0;
    void call(int id) {
      pipeline->eval(
          0, oneArg(id), 2,
          [this, id](Outcome outcome, const redisReply* reply, const std::string&) {
            if (outcome != Outcome::kReply || reply == nullptr || reply->integer != 2 * id) {
              ++wrong;
            }
            ++completions[id];
            if (writer()) {
              ++on_writers;
            }
            if ((id + 1) % kLength != 0) {
              call(id + 1);  // from inside the completion
            }
            std::lock_guard<std::mutex> lock(mu);
            ++done;
            cv.notify_all();
          });
    }
    static bool& writer() {
      thread_local bool w = false;
      return w;
    }
  } state;
  state.pipeline = &pipeline;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&state, t] {
      State::writer() = true;
      for (int k = 0; k < kChains; ++k) {
        state.call((t * kChains + k) * kLength);
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  {
    std::unique_lock<std::mutex> lock(state.mu);
    ASSERT_TRUE(
        state.cv.wait_for(lock, std::chrono::seconds(60), [&] { return state.done == kCalls; }));
  }
  EXPECT_EQ(state.wrong.load(), 0);
  int not_once = 0;
  for (const std::atomic<int>& n : state.completions) {
    not_once += n.load() != 1 ? 1 : 0;
  }
  EXPECT_EQ(not_once, 0);
  EXPECT_EQ(host_.count("errors"), 0);
  std::printf("completed on a writing thread: %d of %d\n", state.on_writers.load(), kCalls);
}

// Waits until the pipeline's one reader thread (named "pipeline-test") is blocked in poll(), from
// /proc (the system call it is in); false when there is no such thread.
bool waitUntilTheReaderPolls() {
  for (int attempt = 0; attempt < 30'000; ++attempt) {
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
      std::ifstream comm(task.path() / "comm");
      std::string name;
      std::getline(comm, name);
      if (name != "pipeline-test") {
        continue;
      }
      std::ifstream syscall(task.path() / "syscall");
      long number = -1;
      syscall >> number;
      if (number == SYS_poll || number == SYS_ppoll) {
        return true;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

// Taking answered calls off a connection's FIFO does not need the lock a request thread holds
// while it writes to the connection: with that lock held by another thread, a reply that comes
// in is read and its call completed. (With one lock for both, the reader thread waited for it.)
TEST_F(RedisPipelineTest, ARepliedCallCompletesWhileAWriterHoldsTheConnection) {
  Waiter w;  // outlives the pipeline, which may complete the call late when this test fails
  RedisOptions o = optionsFor(redis_.port(), 1);
  o.timeout_ns = 120'000 * kMsNs;  // the reader thread sleeps in poll() until a reply comes
  RedisPipeline pipeline(o, kScripts, host_.host(), host_.counters());
  ASSERT_EQ(run(pipeline, 0, 1).integer, 2);
  redisCommandOnce(redis_.port(), "CLIENT PAUSE 100000 WRITE");  // scripts wait for UNPAUSE
  pipeline.eval(0, oneArg(21), 2, w.done());
  ASSERT_TRUE(waitUntilTheReaderPolls());
  std::optional<Ended> e;
  {
    std::lock_guard<std::mutex> writer(pipeline.writeMutexForTesting(0));
    redisCommandOnce(redis_.port(), "CLIENT UNPAUSE");
    e = w.waitFor(std::chrono::seconds(60));
  }
  ASSERT_TRUE(e.has_value()) << "the reply was not completed while the write lock was held";
  EXPECT_EQ(e->outcome, Outcome::kReply);
  EXPECT_EQ(e->integer, 42);
}

TEST_F(RedisPipelineTest, SendsTheScriptAgainAfterTheCacheWasFlushed) {
  RedisPipeline pipeline(optionsFor(redis_.port(), 1), kScripts, host_.host(), host_.counters());
  ASSERT_EQ(run(pipeline, 0, 5).integer, 10);
  redisCommandOnce(redis_.port(), "SCRIPT FLUSH");
  Ended e = run(pipeline, 0, 6);  // NOSCRIPT, then EVAL
  EXPECT_EQ(e.outcome, Outcome::kReply);
  EXPECT_EQ(e.integer, 12);
  EXPECT_EQ(run(pipeline, 0, 7).integer, 14);
  EXPECT_EQ(host_.count("errors"), 0);
}

TEST_F(RedisPipelineTest, PassesErrorRepliesOnAndCountsThem) {
  RedisPipeline pipeline(optionsFor(redis_.port(), 1), kScripts, host_.host(), host_.counters());
  Ended e = run(pipeline, 1, 3);
  EXPECT_EQ(e.outcome, Outcome::kReply);
  EXPECT_EQ(e.reply_type, REDIS_REPLY_ERROR);
  EXPECT_THAT(e.text, HasSubstr("boom 3"));
  EXPECT_EQ(host_.count("errors"), 1);
  EXPECT_THAT(host_.logs(), HasSubstr("redis script error: "));
  pipeline.countError();
  EXPECT_EQ(host_.count("errors"), 2);
  // The connection stays up.
  EXPECT_EQ(run(pipeline, 0, 4).integer, 8);
}

TEST_F(RedisPipelineTest, AuthenticatesAndNeverShowsThePassword) {
  RedisServer secured;
  ASSERT_TRUE(secured.start(0, {"--requirepass", "s3cret-pw"})) << secured.output();
  RedisOptions good = optionsFor(secured.port(), 1);
  good.password = "s3cret-pw";
  RedisPipeline pipeline(good, kScripts, host_.host(), host_.counters());
  EXPECT_EQ(run(pipeline, 0, 21).integer, 42);

  RecordingHost other;
  RedisOptions bad = optionsFor(secured.port(), 1);
  bad.password = "wrong-pw";
  RedisPipeline refused(bad, kScripts, other.host(), other.counters());
  Ended e = run(refused, 0, 1);
  EXPECT_EQ(e.outcome, Outcome::kUnavailable);
  EXPECT_THAT(e.error, HasSubstr("AUTH refused"));
  EXPECT_THAT(e.error, Not(HasSubstr("wrong-pw")));
  EXPECT_THAT(other.logs(), Not(HasSubstr("wrong-pw")));
  EXPECT_GE(other.count("errors"), 1);
}

TEST_F(RedisPipelineTest, CallsEndUnavailableWhileRedisIsDownAndWorkAgainAfterARestart) {
  const int port = redis_.port();
  RedisPipeline pipeline(optionsFor(port, 1), kScripts, host_.host(), host_.counters());
  ASSERT_EQ(run(pipeline, 0, 1).integer, 2);
  redis_.kill();
  // The reader notices the closed socket; from then on calls end at once with the reason.
  Ended down = run(pipeline, 0, 2);
  for (int i = 0; i < 1000 && down.outcome == Outcome::kReply; ++i) {
    down = run(pipeline, 0, 2);
  }
  EXPECT_EQ(down.outcome, Outcome::kUnavailable);
  EXPECT_FALSE(down.error.empty());
  EXPECT_GE(host_.count("errors"), 1);

  RedisServer restarted;
  ASSERT_TRUE(restarted.start(port)) << restarted.output();
  // Reconnection is with backoff (at most 2s apart): retry until a call gets a reply.
  Ended up = run(pipeline, 0, 3);
  for (int i = 0; i < 400 && up.outcome != Outcome::kReply; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    up = run(pipeline, 0, 3);
  }
  EXPECT_EQ(up.outcome, Outcome::kReply);
  EXPECT_EQ(up.integer, 6);  // the scripts were loaded again on the new server
}

// Write::kAtFlush: the calls' commands wait for flush(), then go out (together) and each call
// gets its own reply.
TEST_F(RedisPipelineTest, HeldCallsAreSentAtTheFlush) {
  RedisPipeline pipeline(optionsFor(redis_.port(), 1), kScripts, host_.host(), host_.counters());
  ASSERT_EQ(run(pipeline, 0, 1).integer, 2);
  Waiter w[3];  // outlive the pipeline
  for (int i = 0; i < 3; ++i) {
    pipeline.eval(0, oneArg(10 + i), 2, w[i].done(), RedisPipeline::Write::kAtFlush);
  }
  // Sent at once, a call would be answered well within this (a loopback round trip).
  EXPECT_FALSE(w[0].waitFor(std::chrono::seconds(1)).has_value()) << "sent before the flush";
  pipeline.flush();
  for (int i = 0; i < 3; ++i) {
    std::optional<Ended> e = w[i].waitFor(std::chrono::seconds(30));
    ASSERT_TRUE(e.has_value()) << i;
    EXPECT_EQ(e->outcome, Outcome::kReply) << i;
    EXPECT_EQ(e->integer, 2 * (10 + i)) << i;
  }
  pipeline.flush();  // nothing held: nothing happens
  EXPECT_EQ(run(pipeline, 0, 4).integer, 8);
  EXPECT_EQ(host_.count("errors"), 0);
}

// A call sent at once on a connection with held calls sends them first: every call is answered
// with its own reply, in the order made, without a flush.
TEST_F(RedisPipelineTest, ACallSentAtOnceTakesTheHeldCallsAheadOfIt) {
  RedisPipeline pipeline(optionsFor(redis_.port(), 1), kScripts, host_.host(), host_.counters());
  ASSERT_EQ(run(pipeline, 0, 1).integer, 2);
  std::mutex mu;
  std::vector<long long> order;
  auto recording = [&](Outcome outcome, const redisReply* reply, const std::string&) {
    std::lock_guard<std::mutex> lock(mu);
    order.push_back(outcome == Outcome::kReply && reply != nullptr ? reply->integer : -1);
  };
  pipeline.eval(0, oneArg(5), 2, recording, RedisPipeline::Write::kAtFlush);
  pipeline.eval(0, oneArg(6), 2, recording, RedisPipeline::Write::kAtFlush);
  Ended now = run(pipeline, 0, 7);
  EXPECT_EQ(now.integer, 14);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_THAT(order, ::testing::ElementsAre(10, 12));  // completed before the call behind them
}

// close() sends what is held before it waits for the replies due.
TEST_F(RedisPipelineTest, CloseSendsTheHeldCalls) {
  Waiter w;
  RedisPipeline pipeline(optionsFor(redis_.port(), 1), kScripts, host_.host(), host_.counters());
  ASSERT_EQ(run(pipeline, 0, 1).integer, 2);
  pipeline.eval(0, oneArg(8), 2, w.done(), RedisPipeline::Write::kAtFlush);
  pipeline.close();
  std::optional<Ended> e = w.waitFor(std::chrono::seconds(30));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->outcome, Outcome::kReply);
  EXPECT_EQ(e->integer, 16);
}

TEST_F(RedisPipelineTest, NothingIsSentAfterClose) {
  RedisPipeline pipeline(optionsFor(redis_.port(), 2), kScripts, host_.host(), host_.counters());
  ASSERT_EQ(run(pipeline, 0, 1).integer, 2);
  pipeline.close();
  EXPECT_EQ(run(pipeline, 0, 2).outcome, Outcome::kClosing);
  pipeline.close();  // idempotent
}

TEST(RedisPipelineNoServerTest, CallsEndUnavailableWithTheConnectError) {
  RecordingHost host;
  RedisPipeline pipeline(optionsFor(mixer::testing::freePort(), 1), kScripts, host.host(),
                         host.counters());
  Ended e = run(pipeline, 0, 1);
  EXPECT_EQ(e.outcome, Outcome::kUnavailable);
  EXPECT_THAT(e.error, HasSubstr("refused"));
  EXPECT_GE(host.count("errors"), 1);
  EXPECT_EQ(host.count("connects"), 0);
  EXPECT_THAT(host.logs(), HasSubstr("cannot connect to redis 127.0.0.1:"));
}

}  // namespace
}  // namespace redisquota
