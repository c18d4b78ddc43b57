// ReportQueue: batches reach their handlers off the caller's thread, in order; shutdown (and the
// destructor) delivers what is queued; a full or shut-down queue drops and counts; failed calls
// are counted per handler; a batch keeps its handler's owner alive until delivered. Handlers are
// the bare-C fixture adapter `raw` (tests/mixer/adapter_host/fixtures/raw_adapter.c), whose
// report answers OK in mode `ok` and an invalid result (a failed call) in mode `bad_code`.
#include "mixer/runtime/report_queue.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mixer/adapter_host/adapter_host.h"

namespace mixer::runtime {
namespace {

class RecordingCounters : public ReportQueue::Counters {
 public:
  void dropped(size_t instances) override {
    std::lock_guard<std::mutex> lock(mu_);
    dropped_.push_back(instances);
  }
  void failed(const std::string& handler) override {
    std::lock_guard<std::mutex> lock(mu_);
    failed_.push_back(handler);
  }
  std::vector<size_t> droppedCalls() {
    std::lock_guard<std::mutex> lock(mu_);
    return dropped_;
  }
  std::vector<std::string> failedCalls() {
    std::lock_guard<std::mutex> lock(mu_);
    return failed_;
  }

 private:
  std::mutex mu_;
  std::vector<size_t> dropped_;
  std::vector<std::string> failed_;
};

class ReportQueueTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    adapter_host::AdapterHost::Options o;
    o.adapter_dirs = {FIXTURE_DIR};
    host_ = new adapter_host::AdapterHost(std::move(o));
  }
  static void TearDownTestSuite() {
    delete host_;
    host_ = nullptr;
  }

  static std::shared_ptr<adapter_host::Handler> rawHandler(const std::string& name,
                                                           const std::string& mode) {
    auto adapter = host_->registry().find("raw");
    EXPECT_NE(adapter, nullptr);
    if (adapter == nullptr) {
      return nullptr;
    }
    auto created = adapter->createHandler(
        name, adapter_host::AbiValue::map({{"mode", adapter_host::AbiValue::string(mode)},
                                           {"delay_ms", adapter_host::AbiValue::int64(0)}}));
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? std::shared_ptr<adapter_host::Handler>(*std::move(created)) : nullptr;
  }
  // A batch of `count` reportnothing instances for `handler`, which it keeps alive.
  static ReportBatch batch(const std::shared_ptr<adapter_host::Handler>& handler, size_t count) {
    ReportBatch b;
    b.handler = handler.get();
    b.owner = handler;
    for (size_t i = 0; i < count; ++i) {
      b.instances.addInstance("r.reportnothing.istio-system", "reportnothing", 0);
    }
    return b;
  }

  static adapter_host::AdapterHost* host_;
  RecordingCounters counters_;
};

adapter_host::AdapterHost* ReportQueueTest::host_ = nullptr;

TEST_F(ReportQueueTest, ShutdownDeliversEveryQueuedBatchInOrder) {
  const auto ok = rawHandler("ok.raw.istio-system", "ok");
  const auto bad = rawHandler("bad.raw.istio-system", "bad_code");
  const auto also_bad = rawHandler("also_bad.raw.istio-system", "bad_code");
  ASSERT_TRUE(ok && bad && also_bad);
  ReportQueue queue(100, absl::Seconds(10), &counters_);
  EXPECT_TRUE(queue.submit(batch(ok, 1)));
  EXPECT_TRUE(queue.submit(batch(bad, 2)));
  EXPECT_TRUE(queue.submit(batch(ok, 3)));
  EXPECT_TRUE(queue.submit(batch(also_bad, 1)));
  EXPECT_TRUE(queue.submit(batch(bad, 1)));
  queue.shutdown();
  EXPECT_EQ(queue.queued(), 0u);
  // Every batch was called: the failing ones are counted, by handler, in submission order; the
  // successful ones are not.
  EXPECT_EQ(counters_.failedCalls(),
            (std::vector<std::string>{"bad.raw.istio-system", "also_bad.raw.istio-system",
                                      "bad.raw.istio-system"}));
  EXPECT_TRUE(counters_.droppedCalls().empty());
}

// Wake-ups: the first batch wakes the idle worker; while the worker lingers after a delivery
// (here an hour), batches do not wake it until kWakeAt of them wait; then it delivers them all.
TEST_F(ReportQueueTest, ALingeringWorkerIsWokenOnlyWhenEnoughBatchesWait) {
  const auto bad = rawHandler("bad.raw.istio-system", "bad_code");  // counted when delivered
  ASSERT_NE(bad, nullptr);
  ReportQueue queue(1000, absl::Seconds(10), &counters_, /*linger=*/absl::Hours(1));
  const auto deliveredWithin10s = [&](size_t n) {
    for (int i = 0; i < 1000 && counters_.failedCalls().size() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return counters_.failedCalls().size() == n;
  };
  EXPECT_TRUE(queue.submit(batch(bad, 1)));
  EXPECT_EQ(queue.wakeups(), 1u);
  ASSERT_TRUE(deliveredWithin10s(1));
  // The worker lingers now: fewer than kWakeAt batches can never wake it.
  for (size_t i = 0; i + 1 < ReportQueue::kWakeAt; ++i) {
    EXPECT_TRUE(queue.submit(batch(bad, 1)));
  }
  EXPECT_EQ(queue.wakeups(), 1u);
  // More: the queue reaches kWakeAt (the worker takes batches only when awake), which wakes it.
  for (size_t i = 0; i < 2 * ReportQueue::kWakeAt; ++i) {
    EXPECT_TRUE(queue.submit(batch(bad, 1)));
  }
  EXPECT_GE(queue.wakeups(), 2u);
  EXPECT_TRUE(deliveredWithin10s(3 * ReportQueue::kWakeAt));  // long before the hour
  EXPECT_EQ(queue.queued(), 0u);
}

TEST_F(ReportQueueTest, TheDestructorDeliversWhatIsQueued) {
  const auto bad = rawHandler("bad.raw.istio-system", "bad_code");
  ASSERT_NE(bad, nullptr);
  {
    ReportQueue queue(100, absl::Seconds(10), &counters_);
    for (int i = 0; i < 4; ++i) {
      EXPECT_TRUE(queue.submit(batch(bad, 1)));
    }
  }
  EXPECT_EQ(counters_.failedCalls().size(), 4u);
}

TEST_F(ReportQueueTest, AFullQueueDropsAndCountsTheInstances) {
  const auto ok = rawHandler("ok.raw.istio-system", "ok");
  ASSERT_NE(ok, nullptr);
  ReportQueue queue(0, absl::Seconds(10), &counters_);  // room for nothing
  EXPECT_FALSE(queue.submit(batch(ok, 3)));
  EXPECT_FALSE(queue.submit(batch(ok, 1)));
  EXPECT_EQ(queue.queued(), 0u);
  EXPECT_EQ(counters_.droppedCalls(), (std::vector<size_t>{3, 1}));
}

TEST_F(ReportQueueTest, AfterShutdownBatchesAreDroppedAndShutdownIsIdempotent) {
  const auto bad = rawHandler("bad.raw.istio-system", "bad_code");
  ASSERT_NE(bad, nullptr);
  ReportQueue queue(100, absl::Seconds(10), &counters_);
  queue.shutdown();
  EXPECT_FALSE(queue.submit(batch(bad, 2)));
  queue.shutdown();
  EXPECT_EQ(counters_.droppedCalls(), (std::vector<size_t>{2}));
  EXPECT_TRUE(counters_.failedCalls().empty());  // never called
}

TEST_F(ReportQueueTest, ABatchKeepsItsOwnerAliveUntilDelivered) {
  auto bad = rawHandler("bad.raw.istio-system", "bad_code");
  ASSERT_NE(bad, nullptr);
  std::weak_ptr<adapter_host::Handler> watch = bad;
  ReportQueue queue(100, absl::Seconds(10), &counters_);
  EXPECT_TRUE(queue.submit(batch(bad, 1)));
  bad.reset();  // the batch's owner is now the only reference
  queue.shutdown();
  EXPECT_EQ(counters_.failedCalls(), (std::vector<std::string>{"bad.raw.istio-system"}));
  EXPECT_TRUE(watch.expired());  // released once delivered
}

TEST_F(ReportQueueTest, AcquireGivesAnEmptyBufferAlsoAfterDeliveries) {
  const auto ok = rawHandler("ok.raw.istio-system", "ok");
  ASSERT_NE(ok, nullptr);
  ReportQueue queue(100, absl::Seconds(10), &counters_);
  EXPECT_TRUE(queue.acquire().empty());
  for (int i = 0; i < 3; ++i) {
    ReportBatch b = batch(ok, 0);
    b.instances = queue.acquire();
    ASSERT_TRUE(b.instances.empty());
    b.instances.addInstance("r.reportnothing.istio-system", "reportnothing", 0);
    b.instances.addInstance("r.reportnothing.istio-system", "reportnothing", 0);
    EXPECT_TRUE(queue.submit(std::move(b)));
  }
  queue.shutdown();
  for (int i = 0; i < 4; ++i) {
    EncodedInstances buffer = queue.acquire();
    EXPECT_TRUE(buffer.empty());
    EXPECT_EQ(buffer.size(), 0u);
  }
  EXPECT_TRUE(counters_.failedCalls().empty());
}

TEST_F(ReportQueueTest, CountersAreOptional) {
  const auto bad = rawHandler("bad.raw.istio-system", "bad_code");
  ASSERT_NE(bad, nullptr);
  ReportQueue full(0, absl::Seconds(10), nullptr);
  EXPECT_FALSE(full.submit(batch(bad, 1)));
  ReportQueue queue(100, absl::Seconds(10), nullptr);
  EXPECT_TRUE(queue.submit(batch(bad, 1)));  // fails at the adapter, counted nowhere
  queue.shutdown();
  EXPECT_EQ(queue.queued(), 0u);
}

}  // namespace
}  // namespace mixer::runtime
