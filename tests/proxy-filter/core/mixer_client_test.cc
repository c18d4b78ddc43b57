// MixerClient over real gRPC on loopback, against an in-test istio.mixer.v1 server whose answers
// each test scripts (the client's own logic: caching, quota flow, fallback, retries, fail policy).
// tests/integration/proxy_filter_mixs_test.cc runs the client against a real mixs.
#include "proxy-filter/core/mixer_client.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/proxy-filter/core/scripted_mixer.h"

namespace mixer::proxy {
namespace {

using istio::mixer::v1::CheckRequest;
using istio::mixer::v1::CheckResponse;
using istio::mixer::v1::ReportRequest;
using istio::mixer::v1::ReportResponse;

using testing::ScriptedMixer;

class MixerClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&mixer_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override {
    client_.reset();
    server_->Shutdown();
  }
  // The default deadline is generous (10 s) so that a slow machine (or valgrind) does not turn
  // an answer into a timeout; tests of timeouts set their own.
  void makeClient(MixerClientOptions options = {},
                  GrpcTransportOptions transport = longDeadline()) {
    if (transport.address.empty()) {
      transport.address = "127.0.0.1:" + std::to_string(port_);
    }
    client_ = std::make_unique<MixerClient>(options, std::make_unique<GrpcTransport>(transport));
  }
  CheckResult check(const Attributes& a, const std::vector<QuotaRequest>& quotas = {}) {
    // Shared: the callback may still be inside set_value() when get() returns.
    auto done = std::make_shared<std::promise<CheckResult>>();
    client_->check(a, quotas, [done](const CheckResult& r) { done->set_value(r); });
    return done->get_future().get();
  }
  static GrpcTransportOptions longDeadline() {
    GrpcTransportOptions o;
    o.timeout_ms = 10000;
    return o;
  }
  static MixerClientOptions failOpen(bool open) {
    MixerClientOptions o;
    o.fail_open = open;
    return o;
  }
  static Attributes request(const std::string& service) {
    Attributes a;
    a.setString("destination.service", service);
    a.setString("request.path", "/x");
    return a;
  }
  // An answer referencing destination.service (global word 152) as EXACT.
  static void keyedByService(CheckResponse* r, int code) {
    auto* p = r->mutable_precondition();
    p->mutable_status()->set_code(code);
    p->set_valid_use_count(10000);
    p->mutable_valid_duration()->set_seconds(60);
    auto* m = p->mutable_referenced_attributes()->add_attribute_matches();
    m->set_name(152);
    m->set_condition(istio::mixer::v1::ReferencedAttributes::EXACT);
  }

  ScriptedMixer mixer_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::unique_ptr<MixerClient> client_;
};

TEST_F(MixerClientTest, ARepeatedCheckIsAnsweredByTheCache) {
  mixer_.onCheck([](const CheckRequest& req, CheckResponse* r) {
    const bool denied = req.attributes().strings().at(152) < 0;  // any non-global service
    keyedByService(r, denied ? 7 : 0);
    return grpc::Status::OK;
  });
  makeClient();
  EXPECT_EQ(check(request("evil")).code, StatusCode::kPermissionDenied);
  EXPECT_EQ(check(request("evil")).code, StatusCode::kPermissionDenied);
  CheckResult cached;
  EXPECT_TRUE(client_->checkCached(request("evil"), &cached));
  EXPECT_EQ(mixer_.checks().size(), 1u);
  const CheckRequest sent = mixer_.checks()[0];
  EXPECT_EQ(sent.global_word_count(), 222u);
  EXPECT_FALSE(sent.deduplication_id().empty());
  const ClientStats s = client_->stats();
  EXPECT_EQ(s.check_cache_hits, 2u);
  EXPECT_EQ(s.check_cache_misses, 1u);
  EXPECT_EQ(s.check_remote_calls, 1u);
}

TEST_F(MixerClientTest, ARejectedDictionaryFallsBackTo111WordsAndResends) {
  mixer_.onCheck([](const CheckRequest& req, CheckResponse* r) {
    if (req.global_word_count() > 111) {
      return grpc::Status(grpc::StatusCode::INTERNAL,
                          "inconsistent global dictionary versions used: mixer knows 111 words");
    }
    r->mutable_precondition()->set_valid_use_count(0);  // not cacheable: every check is sent
    return grpc::Status::OK;
  });
  makeClient(failOpen(false));
  EXPECT_TRUE(check(request("a")).ok());
  ASSERT_EQ(mixer_.checks().size(), 2u);
  EXPECT_EQ(mixer_.checks()[1].global_word_count(), 111u);
  // destination.service (word 152) is now a message word.
  EXPECT_FALSE(mixer_.checks()[1].attributes().strings().contains(152));
  EXPECT_EQ(client_->globalWordCount(), 111u);
  EXPECT_EQ(client_->stats().dictionary_shrinks, 1u);
  EXPECT_TRUE(check(request("b")).ok());
  EXPECT_EQ(mixer_.checks().size(), 3u);  // no more rejections
}

TEST_F(MixerClientTest, TransportFailuresAreRetriedWithBackoff) {
  std::atomic<int> calls{0};
  mixer_.onCheck([&](const CheckRequest&, CheckResponse* r) {
    if (calls.fetch_add(1) < 2) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "busy");
    }
    r->mutable_precondition()->mutable_status()->set_code(7);
    return grpc::Status::OK;
  });
  GrpcTransportOptions transport = longDeadline();
  transport.max_retries = 2;
  transport.base_retry_ms = 5;
  transport.max_retry_ms = 20;
  makeClient(failOpen(true), transport);
  // Fail open would allow: the denial proves the third attempt's answer was used.
  EXPECT_EQ(check(request("a")).code, StatusCode::kPermissionDenied);
  EXPECT_EQ(calls.load(), 3);
}

TEST_F(MixerClientTest, AnUnreachableServerFollowsTheFailPolicy) {
  server_->Shutdown();
  GrpcTransportOptions transport;
  transport.timeout_ms = 300;
  transport.address = "127.0.0.1:" + std::to_string(port_);
  makeClient(failOpen(true), transport);
  EXPECT_TRUE(check(request("a")).ok());
  EXPECT_EQ(client_->stats().check_fail_open, 1u);
  makeClient(failOpen(false), transport);
  const CheckResult closed = check(request("a"));
  EXPECT_EQ(closed.code, StatusCode::kUnavailable);
  EXPECT_NE(closed.message.find("mixer check failed"), std::string::npos);
  EXPECT_EQ(client_->stats().check_fail_close, 1u);
}

TEST_F(MixerClientTest, QuotaFirstGoesRemoteThenPrefetchesAndDeniesLocally) {
  std::atomic<int64_t> left{3};
  mixer_.onCheck([&](const CheckRequest& req, CheckResponse* r) {
    keyedByService(r, 0);
    for (const auto& [name, params] : req.quotas()) {
      int64_t granted = 0;
      int64_t have = left.load();
      if (have >= params.amount()) {
        granted = params.amount();
      } else if (params.best_effort()) {
        granted = have;
      }
      left -= granted;
      auto& q = (*r->mutable_quotas())[name];
      q.set_granted_amount(granted);
      q.mutable_valid_duration()->set_seconds(60);
    }
    return grpc::Status::OK;
  });
  makeClient();
  int allowed = 0;
  for (int i = 0; i < 8; ++i) {
    allowed += check(request("a"), {{"requestcount", 1}}).ok();
  }
  EXPECT_EQ(allowed, 3);
  const auto checks = mixer_.checks();
  ASSERT_GE(checks.size(), 2u);
  // The first request carries its own amount, not best effort; the next one prefetches.
  EXPECT_EQ(checks[0].quotas().at("requestcount").amount(), 1);
  EXPECT_FALSE(checks[0].quotas().at("requestcount").best_effort());
  EXPECT_EQ(checks[1].quotas().at("requestcount").amount(), 10);
  EXPECT_TRUE(checks[1].quotas().at("requestcount").best_effort());
  // The short grant closed the prefetch: the denials after it were decided locally.
  EXPECT_LT(checks.size(), 8u);
  EXPECT_GT(client_->stats().quota_cache_hits, 0u);
}

TEST_F(MixerClientTest, ReportsAreBatched) {
  MixerClientOptions options;
  options.report.max_entries = 4;
  options.report.max_time_ms = 3600000;
  makeClient(options);
  for (int i = 0; i < 8; ++i) {
    Attributes a = request("a");
    a.setInt64("response.code", 200 + i);
    client_->report(std::move(a));
  }
  // The server records a batch before the client sees the answer: wait for both.
  for (int i = 0; i < 500 && (mixer_.reports().size() < 2 || client_->stats().report_batches < 2);
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(mixer_.reports().size(), 2u);
  EXPECT_EQ(mixer_.reports()[0].attributes_size(), 4);
  EXPECT_EQ(client_->stats().report_batches, 2u);
}

// A transport that records which thread sent each Report (and answers it at once); whether it
// says it only queues calls is the test's.
class ThreadRecordingTransport : public MixerTransport {
 public:
  explicit ThreadRecordingTransport(bool queues) : queues_(queues) {}
  void check(const CheckRequest&, CheckDone done) override {
    done(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "reports only"), CheckResponse());
  }
  void report(const ReportRequest&, ReportDone done) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      senders_.push_back(std::this_thread::get_id());
    }
    done(grpc::Status::OK);
  }
  bool queuesCalls() const override { return queues_; }
  std::vector<std::thread::id> senders() {
    std::lock_guard<std::mutex> lock(mu_);
    return senders_;
  }

 private:
  const bool queues_;
  std::mutex mu_;
  std::vector<std::thread::id> senders_;
};

// A transport that only queues calls gets a full batch from the thread whose record filled it,
// before report() returns; any other transport gets it from the batcher's flusher thread.
TEST(MixerClientBatchSenderTest, AFullBatchIsSentByTheQueuingThreadOnlyToAQueuingTransport) {
  for (const bool queues : {true, false}) {
    auto owned = std::make_unique<ThreadRecordingTransport>(queues);
    ThreadRecordingTransport& transport = *owned;
    MixerClientOptions options;
    options.report.max_entries = 2;
    options.report.max_time_ms = 3600000;
    MixerClient client(options, std::move(owned));
    for (int i = 0; i < 2; ++i) {
      Attributes a;
      a.setString("destination.service", "a");
      a.setInt64("response.code", 200 + i);
      client.report(std::move(a));
    }
    if (queues) {
      ASSERT_EQ(transport.senders().size(), 1u);  // already sent
      EXPECT_EQ(transport.senders()[0], std::this_thread::get_id());
      continue;
    }
    for (int i = 0; i < 500 && transport.senders().empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(transport.senders().size(), 1u);
    EXPECT_NE(transport.senders()[0], std::this_thread::get_id());
  }
}

}  // namespace
}  // namespace mixer::proxy
