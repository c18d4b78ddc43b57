// A Check whose quota goes to an adapter that answers later (as redisquota does, after a Redis
// round trip) must not hold the calling thread: check() returns with the call in flight, and the
// response comes when the adapter answers, or at the adapter deadline. The adapter is the raw C
// fixture in "late" mode, which answers from a host timer.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <condition_variable>
#include <mutex>
#include <thread>
#include "mixer/adapter_host/adapter_host.h"
#include "mixer/api/attribute_encoder.h"
#include "mixer/api/global_dictionary.h"
#include "mixer/runtime/config_snapshot.h"
#include "mixer/server/mixer_service.h"
#include "tests/mixer/server/late_quota.h"

namespace mixer::server {
namespace {

using istio::mixer::v1::CheckRequest;
using istio::mixer::v1::CheckResponse;

// Records the outcome and the thread that finished the call; detach() hands out itself.
// Thread-safe.
class RecordingSink final : public MixerService::CheckSink {
 public:
  void finish(const grpc::Status& status, std::string_view response) override {
    std::lock_guard<std::mutex> lock(mu_);
    finisher_ = std::this_thread::get_id();
    status_ = status;
    response_ = std::string(response);
    finished_ = true;
    cv_.notify_all();
  }
  CallSink* detach() override {
    std::lock_guard<std::mutex> lock(mu_);
    detached_ = true;
    return this;
  }
  bool finished() {
    std::lock_guard<std::mutex> lock(mu_);
    return finished_;
  }
  bool detached() {
    std::lock_guard<std::mutex> lock(mu_);
    return detached_;
  }
  std::thread::id finisher() {
    std::lock_guard<std::mutex> lock(mu_);
    return finisher_;
  }
  // Waits for finish() and returns the parsed response.
  CheckResponse wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return finished_; });
    EXPECT_TRUE(status_.ok()) << status_.error_message();
    CheckResponse resp;
    EXPECT_TRUE(resp.ParseFromString(response_));
    // The quota results are written by hand: with at most one (map order aside), the bytes are
    // exactly what protobuf writes for the message they parse to.
    if (resp.quotas_size() <= 1) {
      EXPECT_EQ(resp.SerializeAsString(), response_);
    }
    return resp;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool finished_ = false;
  bool detached_ = false;
  std::thread::id finisher_;
  grpc::Status status_;
  std::string response_;
};

class AsyncQuotaTest : public ::testing::Test {
 protected:
  AsyncQuotaTest() : host_(options()) {}

  static adapter_host::AdapterHost::Options options() {
    adapter_host::AdapterHost::Options o;
    o.adapter_dirs = {FIXTURE_DIR};
    return o;
  }

  // A service over the late-quota config, with `timeout` as the adapter deadline.
  void serve(int delay_ms, absl::Duration timeout, const std::string& mode = "late") {
    std::vector<config::ConfigError> errors;
    auto snapshot = runtime::compileSnapshot(lateQuotaModel(delay_ms, mode), host_.registry(),
                                             attribute::Vocabulary::builtin(), 1, &errors);
    ASSERT_NE(snapshot, nullptr) << (errors.empty() ? "" : errors[0].str());
    source_ = std::make_unique<runtime::FixedDispatcherSource>(
        std::make_shared<runtime::Dispatcher>(snapshot, nullptr, timeout));
    service_ = std::make_unique<MixerService>(source_.get(), &metrics_, 1 << 20);
  }

  std::string request(int64_t amount, const std::string& dedup_id) {
    return lateQuotaRequest(amount, dedup_id);
  }

  adapter_host::AdapterHost host_;  // outlives the handlers of the snapshot below
  ServerMetrics metrics_;
  std::unique_ptr<runtime::FixedDispatcherSource> source_;
  std::unique_ptr<MixerService> service_;
};

TEST_F(AsyncQuotaTest, ManyChecksFromOneThreadAreInFlightTogether) {
  ASSERT_NO_FATAL_FAILURE(serve(/*delay_ms=*/1500, absl::Seconds(10)));
  constexpr int kCalls = 40;
  std::vector<std::unique_ptr<RecordingSink>> sinks;
  for (int i = 0; i < kCalls; ++i) {
    sinks.push_back(std::make_unique<RecordingSink>());
    service_->decideCheck(request(i + 1, "id-" + std::to_string(i)), sinks.back().get());
  }
  // One thread issued every call; each returned at once with its quota still being answered
  // (the adapter answers 1.5 s later). A thread held per call could not have done this.
  for (auto& s : sinks) {
    EXPECT_TRUE(s->detached());
    EXPECT_FALSE(s->finished());
  }
  for (int i = 0; i < kCalls; ++i) {
    const CheckResponse resp = sinks[i]->wait();
    EXPECT_EQ(resp.precondition().status().code(), 0);
    ASSERT_EQ(resp.quotas().count("requestcount"), 1u);
    const auto& q = resp.quotas().at("requestcount");
    EXPECT_EQ(q.granted_amount(), i + 1);
    EXPECT_EQ(q.valid_duration().seconds(), 1);
    // What the quota's instance read was recorded when the call went out.
    bool saw_host = false;
    for (const auto& m : q.referenced_attributes().attribute_matches()) {
      auto name = base::wordAt(m.name(), api::kGlobalWords, q.referenced_attributes().words());
      ASSERT_TRUE(name.has_value());
      saw_host = saw_host || *name == "destination.service.host";
    }
    EXPECT_TRUE(saw_host);
  }
}

TEST_F(AsyncQuotaTest, AnAdapterLaterThanItsDeadlineIsAnsweredAtTheDeadline) {
  ASSERT_NO_FATAL_FAILURE(serve(/*delay_ms=*/3000, absl::Milliseconds(100)));
  RecordingSink sink;
  service_->decideCheck(request(5, "id"), &sink);
  const CheckResponse resp = sink.wait();
  const auto& q = resp.quotas().at("requestcount");
  EXPECT_EQ(q.granted_amount(), 0);
  EXPECT_EQ(q.status().code(), static_cast<int>(grpc::StatusCode::DEADLINE_EXCEEDED));
  EXPECT_NE(q.status().message().find("late.raw.istio-system"), std::string::npos)
      << q.status().message();
}

// An adapter that answers inside its call (as memquota does) costs the Check no hand-off: the
// response is finished on the calling thread before decideCheck() returns, not on an adapter
// or executor thread, and on the sink the call came with (never detached: a server's detached
// sink is a copy, and the lean port's posts the answer to its mailbox).
TEST_F(AsyncQuotaTest, AnAnswerGivenAtOnceFinishesTheCheckOnTheCallingThread) {
  ASSERT_NO_FATAL_FAILURE(serve(/*delay_ms=*/0, absl::Seconds(10), "ok"));
  for (int i = 0; i < 20; ++i) {
    RecordingSink sink;
    service_->decideCheck(request(i + 1, "now-" + std::to_string(i)), &sink);
    ASSERT_TRUE(sink.finished());
    EXPECT_EQ(sink.finisher(), std::this_thread::get_id());
    EXPECT_FALSE(sink.detached());
    const CheckResponse resp = sink.wait();
    EXPECT_EQ(resp.quotas().at("requestcount").granted_amount(), i + 1);
  }
}

// The response's quota results are written by hand after its precondition: each quota gets its
// own entry, the one no rule handles with only its references, and the precondition is intact.
TEST_F(AsyncQuotaTest, EachQuotaHasItsEntryBesideThePrecondition) {
  ASSERT_NO_FATAL_FAILURE(serve(/*delay_ms=*/0, absl::Seconds(10), "ok"));
  istio::mixer::v1::CheckRequest req;
  ASSERT_TRUE(req.ParseFromString(request(4, "two")));
  (*req.mutable_quotas())["unhandled"].set_amount(2);
  std::string out;
  ASSERT_TRUE(service_->checkInProcess(req.SerializeAsString(), &out).ok());
  CheckResponse resp;
  ASSERT_TRUE(resp.ParseFromString(out));
  EXPECT_EQ(resp.precondition().status().code(), 0);
  EXPECT_EQ(resp.precondition().valid_use_count(), 10000);
  ASSERT_EQ(resp.quotas().size(), 2u);
  const auto& handled = resp.quotas().at("requestcount");
  EXPECT_EQ(handled.granted_amount(), 4);
  EXPECT_TRUE(handled.has_valid_duration());
  EXPECT_FALSE(handled.has_status());
  EXPECT_TRUE(handled.has_referenced_attributes());
  const auto& unhandled = resp.quotas().at("unhandled");
  EXPECT_EQ(unhandled.granted_amount(), 0);
  EXPECT_FALSE(unhandled.has_valid_duration());
  EXPECT_TRUE(unhandled.has_referenced_attributes());
  EXPECT_EQ(metrics_.quotaUnmatched().Value(), 1);
  // The same again, from the storage the first call left to this thread.
  ASSERT_TRUE(service_->checkInProcess(req.SerializeAsString(), &out).ok());
  CheckResponse again;
  ASSERT_TRUE(again.ParseFromString(out));
  EXPECT_EQ(again.quotas().size(), 2u);
  EXPECT_EQ(again.quotas().at("requestcount").granted_amount(), 4);
}

TEST_F(AsyncQuotaTest, TheWaitingFormGivesTheSameAnswer) {
  ASSERT_NO_FATAL_FAILURE(serve(/*delay_ms=*/50, absl::Seconds(5)));
  std::string out;
  ASSERT_TRUE(service_->checkInProcess(request(7, "x"), &out).ok());
  CheckResponse resp;
  ASSERT_TRUE(resp.ParseFromString(out));
  EXPECT_EQ(resp.quotas().at("requestcount").granted_amount(), 7);
}

}  // namespace
}  // namespace mixer::server
