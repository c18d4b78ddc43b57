// redisquota through Redis Sentinel, with real servers on ephemeral ports stopped by PID: a
// master, a replica (redis-server --replicaof) and three redis-sentinel processes. The master is
// killed (SIGKILL) while callers keep calls in flight: the calls that fail during the failover
// are answered by the failure policy and counted, and once the sentinels have promoted the
// replica the same handler grants again from the state the replica carried, without a restart. A
// failover the sentinels are asked for (the old master stays up, demoted) moves the connections
// too; and the Sentinel parameters are validated.
#include <hiredis/hiredis.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mixer/adapter_host/adapter_registry.h"
#include "mixer/adapter_host/host_services.h"
#include "mixer/adapter_host/yaml_params.h"
#include "tests/adapters/redis_server.h"

namespace {

using mixer::testing::RedisSentinel;
using mixer::testing::RedisServer;

constexpr char kMasterName[] = "quota-master";

// A connection, authenticated with `password` when not empty; null when it cannot be made.
redisContext* connectAs(int port, const std::string& password) {
  redisContext* c = redisConnect("127.0.0.1", port);
  if (c == nullptr || c->err != 0) {
    if (c != nullptr) {
      redisFree(c);
    }
    return nullptr;
  }
  if (!password.empty()) {
    auto* r = static_cast<redisReply*>(redisCommand(c, "AUTH %s", password.c_str()));
    if (r != nullptr) {
      freeReplyObject(r);
    }
  }
  return c;
}

// One command on a fresh connection; the reply's integer, or its first element when an array of
// strings (ROLE), as text.
std::string redisOnce(int port, const std::string& command, const std::string& password = "") {
  redisContext* c = connectAs(port, password);
  if (c == nullptr) {
    return "unreachable";
  }
  auto* r = static_cast<redisReply*>(redisCommand(c, command.c_str()));
  std::string out = "no reply";
  if (r != nullptr) {
    if (r->type == REDIS_REPLY_INTEGER) {
      out = std::to_string(r->integer);
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
               r->element[0]->type == REDIS_REPLY_STRING) {
      out = r->element[0]->str;
    } else if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
               r->type == REDIS_REPLY_ERROR) {
      out = std::string(r->str, r->len);
    }
    freeReplyObject(r);
  }
  redisFree(c);
  return out;
}

// The number of elements of a command's array reply, or -1.
int64_t arraySize(int port, const std::string& command, const std::string& password = "") {
  redisContext* c = connectAs(port, password);
  if (c == nullptr) {
    return -1;
  }
  auto* r = static_cast<redisReply*>(redisCommand(c, command.c_str()));
  int64_t n = r != nullptr && r->type == REDIS_REPLY_ARRAY ? static_cast<int64_t>(r->elements) : -1;
  if (r != nullptr) {
    freeReplyObject(r);
  }
  redisFree(c);
  return n;
}

class RedisQuotaSentinelTest : public ::testing::Test {
 protected:
  RedisQuotaSentinelTest() : services_(&counters_, &executor_, nullptr), registry_(&services_) {}
  ~RedisQuotaSentinelTest() override {
    handlers_.clear();
    executor_.shutdown();
    for (auto& s : sentinels_) {
      s->kill();
    }
    replica_.kill();
    master_.kill();
  }
  void SetUp() override {
    ASSERT_TRUE(registry_.loadFile(std::string(ADAPTER_DIR) + "/redisquota.so").ok());
    adapter_ = registry_.find("redisquota");
    ASSERT_NE(adapter_, nullptr);
  }

  // A master, its replica in sync, and three sentinels that know the replica and each other.
  // With `master_password`, the servers require it (and the replica syncs with it); with
  // `sentinel_password`, the sentinels require theirs.
  void startTopology(const std::string& master_password = "",
                     const std::string& sentinel_password = "") {
    std::vector<std::string> auth;
    if (!master_password.empty()) {
      auth = {"--requirepass", master_password, "--masterauth", master_password};
    }
    ASSERT_TRUE(master_.start(0, auth)) << master_.output();
    std::vector<std::string> replica_args = {"--replicaof", "127.0.0.1",
                                             std::to_string(master_.port())};
    replica_args.insert(replica_args.end(), auth.begin(), auth.end());
    ASSERT_TRUE(replica_.start(0, replica_args)) << replica_.output();
    ASSERT_TRUE(replica_.waitFor("MASTER <-> REPLICA sync: Finished with success"))
        << replica_.output();
    for (int i = 0; i < 3; ++i) {
      sentinels_.push_back(std::make_unique<RedisSentinel>());
      ASSERT_TRUE(
          sentinels_.back()->start(kMasterName, master_.port(), sentinel_password, master_password))
          << sentinels_.back()->output();
    }
    // Each sentinel knows the replica and has seen the two others (hello messages through the
    // master): then a failover can be voted on and has a replica to promote.
    for (auto& s : sentinels_) {
      ASSERT_TRUE(waitUntil([&] {
        return arraySize(s->port(), std::string("SENTINEL REPLICAS ") + kMasterName,
                         sentinel_password) == 1 &&
               arraySize(s->port(), std::string("SENTINEL SENTINELS ") + kMasterName,
                         sentinel_password) == 2;
      })) << s->output();
    }
  }

  // `extra` params after the sentinel list (a port nobody listens on comes first: the adapter
  // moves on to the next sentinel).
  mixer::adapter_host::Handler& handler(const std::string& extra) {
    std::string text = "sentinels: [127.0.0.1:" + std::to_string(mixer::testing::freePort());
    for (auto& s : sentinels_) {
      text += ", 127.0.0.1:" + std::to_string(s->port());
    }
    text += "]\nmasterName: " + std::string(kMasterName) + "\nconnectionPoolSize: 2\n" + extra +
            "\nquotas:\n- name: requestcount\n  maxAmount: 5\n  validDuration: 1h\n";
    std::vector<mixer::adapter_host::ParamError> errors;
    auto v = mixer::adapter_host::valueFromYaml(YAML::Load(text), "params", &errors);
    auto problems = adapter_->validateParams(v);
    EXPECT_TRUE(problems.empty()) << problems.front().toString();
    auto h = adapter_->createHandler("h", v);
    EXPECT_TRUE(h.ok()) << h.status();
    handlers_.push_back(std::move(*h));
    return *handlers_.back();
  }

  static mixer::adapter_host::Instance instance(const std::string& user) {
    using mixer::adapter_host::AbiValue;
    return mixer::adapter_host::Instance{
        "requestcount.quota.istio-system", "quota",
        AbiValue::map({{"dimensions", AbiValue::map({{"user", AbiValue::string(user)}})}})};
  }
  absl::StatusOr<mixer::adapter_host::AdapterQuotaResult> quota(mixer::adapter_host::Handler& h,
                                                                int64_t amount,
                                                                const std::string& user) {
    return h.quotaAndWait(instance(user), {amount, false, ""}, absl::Seconds(5));
  }
  // Calls until one is granted (the handler connects in the background); its grant, or -1.
  int64_t grantedOnceUp(mixer::adapter_host::Handler& h, int64_t amount, const std::string& user) {
    for (int i = 0; i < 200; ++i) {
      auto r = quota(h, amount, user);
      if (r.ok() && r->status.ok()) {
        return r->granted_amount;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }

  double counter(const std::string& name) {
    return counters_.total("mixer_adapter_redisquota_" + name + "_total");
  }

  // Callers on several threads, each with calls in flight on fresh keys, until stopped; every
  // answer is a grant of 1, a failure-policy denial (UNAVAILABLE), or counted as `other`.
  struct Load {
    std::atomic<bool> stop{false};
    std::atomic<bool> switched{false};
    std::atomic<int64_t> granted{0};
    std::atomic<int64_t> unavailable{0};
    std::atomic<int64_t> other{0};
    std::atomic<int64_t> granted_after_switch{0};
    std::vector<std::thread> threads;
    std::string last_denial;
    std::mutex mu;
    ~Load() {  // an assertion that returned early still stops the callers
      stop = true;
      for (std::thread& t : threads) {
        if (t.joinable()) {
          t.join();
        }
      }
    }
  };
  void startLoad(mixer::adapter_host::Handler& h, Load* load) {
    for (int t = 0; t < 3; ++t) {
      load->threads.emplace_back([&h, load, t] {
        for (int round = 0; !load->stop.load(); ++round) {
          const bool after = load->switched.load();
          auto r =
              h.quotaAndWait(instance("load-" + std::to_string(t) + "-" + std::to_string(round)),
                             {1, false, ""}, absl::Seconds(20));
          if (r.ok() && r->status.ok() && r->granted_amount == 1) {
            ++load->granted;
            if (after) {
              ++load->granted_after_switch;
            }
          } else if (r.ok() && r->status.code() == absl::StatusCode::kUnavailable &&
                     r->granted_amount == 0) {
            ++load->unavailable;
            std::lock_guard<std::mutex> lock(load->mu);
            load->last_denial = std::string(r->status.message());
          } else {
            ++load->other;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
      });
    }
  }
  static bool waitUntil(const std::function<bool()>& done, int seconds = 60) {
    for (int i = 0; i < seconds * 50 && !done(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return done();
  }
  static void stopLoad(Load* load) {
    load->stop = true;
    for (std::thread& t : load->threads) {
      if (t.joinable()) {
        t.join();
      }
    }
  }
  bool anySentinelSaw(const std::string& pattern) {
    for (auto& s : sentinels_) {
      if (s->waitFor(pattern)) {
        return true;
      }
    }
    return false;
  }

  RedisServer master_;
  RedisServer replica_;
  std::vector<std::unique_ptr<RedisSentinel>> sentinels_;
  mixer::adapter_host::InMemoryCounterRegistry counters_;
  mixer::adapter_host::BackgroundExecutor executor_{1};
  mixer::adapter_host::HostServices services_;
  mixer::adapter_host::AdapterRegistry registry_;
  std::shared_ptr<const mixer::adapter_host::LoadedAdapter> adapter_;
  std::vector<std::unique_ptr<mixer::adapter_host::Handler>> handlers_;
};

TEST_F(RedisQuotaSentinelTest, AKilledMasterFailsOverToTheReplicaWithoutARestart) {
  ASSERT_NO_FATAL_FAILURE(startTopology());
  auto& h = handler("failurePolicy: FAIL_CLOSED\ntimeout: 200ms");
  EXPECT_EQ(grantedOnceUp(h, 5, "exhausted"), 5);  // the limit of this key is used up
  // The replica has it before the master dies (replication is asynchronous: WAIT for it).
  ASSERT_EQ(redisOnce(master_.port(), "WAIT 1 5000"), "1");
  EXPECT_EQ(counter("master_switches"), 0);

  Load load;
  startLoad(h, &load);
  EXPECT_TRUE(waitUntil([&] { return load.granted.load() >= 100; }));
  master_.kill();
  ASSERT_TRUE(anySentinelSaw("\\+switch-master " + std::string(kMasterName)));
  load.switched = true;
  // Recovery without a restart: the same handler grants again, from the promoted replica.
  EXPECT_TRUE(waitUntil([&] { return load.granted_after_switch.load() >= 100; }));
  stopLoad(&load);

  std::cout << "failover: " << load.unavailable.load() << " calls answered by FAIL_CLOSED, "
            << load.granted.load() << " granted; last denial: " << load.last_denial << "\n";
  ::testing::Test::RecordProperty("calls_failed_during_failover",
                                  static_cast<int>(load.unavailable.load()));
  EXPECT_EQ(load.other.load(), 0);
  EXPECT_GT(load.unavailable.load(), 0);  // the master was gone for a while
  EXPECT_EQ(counter("fail_closed_denials"), static_cast<double>(load.unavailable.load()));
  EXPECT_GE(counter("redis_errors"), 1);
  EXPECT_EQ(counter("master_switches"), 1);
  EXPECT_EQ(redisOnce(replica_.port(), "ROLE"), "master");
  // The state moved with the master: the key used up before the failover still is.
  auto r = quota(h, 1, "exhausted");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->status.ok()) << r->status;
  EXPECT_EQ(r->granted_amount, 0);
}

// SENTINEL FAILOVER: the old master stays up and is demoted to a replica. The sentinels close its
// clients' connections, and an attempt that reaches it (a sentinel not yet updated) sees ROLE
// slave and retries: the handler ends up on the new master, every call answered meanwhile.
TEST_F(RedisQuotaSentinelTest, ARequestedFailoverMovesTheConnectionsToTheNewMaster) {
  ASSERT_NO_FATAL_FAILURE(startTopology());
  auto& h = handler("failurePolicy: FAIL_OPEN\ntimeout: 200ms");
  EXPECT_EQ(grantedOnceUp(h, 3, "kept"), 3);
  ASSERT_EQ(redisOnce(master_.port(), "WAIT 1 5000"), "1");

  Load load;
  startLoad(h, &load);
  EXPECT_TRUE(waitUntil([&] { return load.granted.load() >= 50; }));
  ASSERT_EQ(redisOnce(sentinels_[0]->port(), std::string("SENTINEL FAILOVER ") + kMasterName),
            "OK");
  ASSERT_TRUE(anySentinelSaw("\\+switch-master " + std::string(kMasterName)));
  // Calls go to the new master once the old one has been demoted: a grant on the new master
  // shows as the key's count there.
  ASSERT_TRUE(waitUntil([&] { return redisOnce(master_.port(), "ROLE") == "slave"; }));
  // FAIL_OPEN would grant 6 of a limit of 5: a denial is Redis answering again.
  int fresh = 0;
  EXPECT_TRUE(waitUntil([&] {
    auto r = quota(h, 6, "over-" + std::to_string(fresh++));
    return r.ok() && r->status.ok() && r->granted_amount == 0;
  }));
  stopLoad(&load);
  std::cout << "requested failover: " << counter("fail_open_grants")
            << " calls granted by FAIL_OPEN\n";
  // FAIL_OPEN grants what was asked: every call was granted.
  EXPECT_EQ(load.other.load(), 0);
  EXPECT_EQ(load.unavailable.load(), 0);
  EXPECT_EQ(counter("master_switches"), 1);
  EXPECT_EQ(redisOnce(replica_.port(), "ROLE"), "master");
  auto kept = quota(h, 3, "kept");  // 3 of 5 used before the failover: all or nothing
  ASSERT_TRUE(kept.ok() && kept->status.ok());
  EXPECT_EQ(kept->granted_amount, 0);
  EXPECT_EQ(grantedOnceUp(h, 2, "kept"), 2);
}

// Sentinels that require a password, and servers that require another: the handler
// authenticates to each with its own (sentinelPassword, password), grants, and after the master
// is killed finds the promoted replica and authenticates there too. A wrong password of either
// kind is the failure policy, with the server's refusal and never the password in the message.
TEST_F(RedisQuotaSentinelTest, AuthenticatesToTheSentinelsAndTheMasterAcrossAFailover) {
  const std::string master_password = "m-pass-4417";
  const std::string sentinel_password = "s-pass-9023";
  ASSERT_NO_FATAL_FAILURE(startTopology(master_password, sentinel_password));
  EXPECT_EQ(redisOnce(master_.port(), "ROLE"), "NOAUTH Authentication required.");
  auto& h = handler("failurePolicy: FAIL_CLOSED\ntimeout: 200ms\npassword: " + master_password +
                    "\nsentinelPassword: " + sentinel_password);
  EXPECT_EQ(grantedOnceUp(h, 5, "before"), 5);
  ASSERT_EQ(redisOnce(master_.port(), "WAIT 1 5000", master_password), "1");

  auto& wrong_sentinel =
      handler("failurePolicy: FAIL_CLOSED\ntimeout: 200ms\npassword: " + master_password +
              "\nsentinelPassword: not-it");
  auto r = quota(wrong_sentinel, 1, "x");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status.code(), absl::StatusCode::kUnavailable) << r->status;
  EXPECT_THAT(std::string(r->status.message()), ::testing::HasSubstr("AUTH refused"));
  EXPECT_THAT(std::string(r->status.message()), ::testing::Not(::testing::HasSubstr("not-it")));
  auto& wrong_master = handler(
      "failurePolicy: FAIL_CLOSED\ntimeout: 200ms\npassword: not-it-either"
      "\nsentinelPassword: " +
      sentinel_password);
  r = quota(wrong_master, 1, "x");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status.code(), absl::StatusCode::kUnavailable) << r->status;
  EXPECT_THAT(std::string(r->status.message()), ::testing::HasSubstr("AUTH refused"));
  EXPECT_THAT(std::string(r->status.message()),
              ::testing::Not(::testing::HasSubstr("not-it-either")));
  auto& no_password =
      handler("failurePolicy: FAIL_CLOSED\ntimeout: 200ms\nsentinelPassword: " + sentinel_password);
  r = quota(no_password, 1, "x");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status.code(), absl::StatusCode::kUnavailable) << r->status;
  handlers_.resize(1);  // only `h` from here on (each handler counts the switch it sees)

  master_.kill();
  ASSERT_TRUE(anySentinelSaw("\\+switch-master " + std::string(kMasterName)));
  EXPECT_EQ(grantedOnceUp(h, 1, "after"), 1);  // on the promoted replica, authenticated
  EXPECT_EQ(redisOnce(replica_.port(), "ROLE", master_password), "master");
  auto before = quota(h, 1, "before");  // the state moved with the master
  ASSERT_TRUE(before.ok() && before->status.ok());
  EXPECT_EQ(before->granted_amount, 0);
  EXPECT_EQ(counter("master_switches"), 1);
}

TEST_F(RedisQuotaSentinelTest, AFixedAddressWithAPassword) {
  ASSERT_TRUE(master_.start(0, {"--requirepass", "fixed-pass"})) << master_.output();
  auto make = [&](const std::string& extra) -> mixer::adapter_host::Handler& {
    std::vector<mixer::adapter_host::ParamError> errors;
    auto v = mixer::adapter_host::valueFromYaml(
        YAML::Load("redisServerUrl: 127.0.0.1:" + std::to_string(master_.port()) +
                   "\nconnectionPoolSize: 1\ntimeout: 200ms\n" + extra +
                   "\nquotas:\n- name: requestcount\n  maxAmount: 5\n  validDuration: 1h\n"),
        "params", &errors);
    auto h = adapter_->createHandler("h", v);
    EXPECT_TRUE(h.ok()) << h.status();
    handlers_.push_back(std::move(*h));
    return *handlers_.back();
  };
  EXPECT_EQ(grantedOnceUp(make("password: fixed-pass"), 2, "u"), 2);
  // A Redis 6 ACL user: AUTH username password.
  ASSERT_EQ(redisOnce(master_.port(), "ACL SETUSER quota on >user-pass ~* +@all", "fixed-pass"),
            "OK");
  EXPECT_EQ(grantedOnceUp(make("username: quota\npassword: user-pass"), 1, "u"), 1);
  auto r = quota(make("password: wrong-pass"), 1, "u");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status.code(), absl::StatusCode::kUnavailable) << r->status;
}

TEST_F(RedisQuotaSentinelTest, NoSentinelAnsweringIsTheFailurePolicy) {
  auto& h = handler("failurePolicy: FAIL_CLOSED\ntimeout: 100ms");  // only a dead sentinel
  auto r = quota(h, 1, "u");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status.code(), absl::StatusCode::kUnavailable) << r->status;
  EXPECT_THAT(std::string(r->status.message()), ::testing::HasSubstr("no sentinel named"));
  EXPECT_GE(counter("fail_closed_denials"), 1);
}

TEST_F(RedisQuotaSentinelTest, SentinelParamsAreValidated) {
  auto errors_of = [&](const std::string& yaml) {
    std::vector<mixer::adapter_host::ParamError> errors;
    auto v = mixer::adapter_host::valueFromYaml(
        YAML::Load(yaml + "\nquotas: [{name: q, maxAmount: 1, validDuration: 1s}]"), "params",
        &errors);
    std::vector<std::string> got;
    for (const auto& e : adapter_->validateParams(v)) {
      got.push_back(e.toString());
    }
    return got;
  };
  EXPECT_THAT(errors_of("sentinels: [a:1, b:2]\nmasterName: m"), ::testing::IsEmpty());
  EXPECT_THAT(errors_of("sentinels: [a:1, nope]"),
              ::testing::UnorderedElementsAre(
                  "params.sentinels[1]: expected host:port",
                  "params.master_name: required with sentinels: the name the sentinels monitor"));
  EXPECT_THAT(errors_of("sentinels: []\nmasterName: m\nredisServerUrl: a:1"),
              ::testing::UnorderedElementsAre(
                  "params.redis_server_url: give either redis_server_url or sentinels, not both",
                  "params.sentinels: expected a non-empty list of host:port"));
  EXPECT_THAT(errors_of("redisServerUrl: a:1\nmasterName: m"),
              ::testing::ElementsAre("params.master_name: only with sentinels"));
  EXPECT_THAT(errors_of("sentinels: [a:1]\nmasterName: m\npassword: p\nsentinelPassword: s\n"
                        "username: u\nsentinelUsername: v"),
              ::testing::IsEmpty());
  EXPECT_THAT(errors_of("redisServerUrl: a:1\nusername: u\nsentinelPassword: s\npassword: 7"),
              ::testing::UnorderedElementsAre("params.username: needs password",
                                              "params.password: expected a non-empty string",
                                              "params.sentinel_password: only with sentinels"));
}

}  // namespace
