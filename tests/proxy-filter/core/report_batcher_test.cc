#include "proxy-filter/core/report_batcher.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

namespace mixer::proxy {
namespace {

using istio::mixer::v1::ReportRequest;

// Records the batches the batcher sends; answers them with `ok_`.
class SentBatches {
 public:
  ReportBatcher::Send sender() {
    return [this](const ReportRequest& r, std::function<void(bool)> done) {
      done(ok_);  // before the batch is visible, so waiters see the counters updated
      {
        std::lock_guard<std::mutex> lock(mutex_);
        batches_.push_back(r);
      }
      changed_.notify_all();
    };
  }
  bool waitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(10), [&] { return batches_.size() >= n; });
  }
  std::vector<ReportRequest> batches() {
    std::lock_guard<std::mutex> lock(mutex_);
    return batches_;
  }
  bool ok_ = true;

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<ReportRequest> batches_;
};

Attributes record(int i) {
  Attributes a;
  a.setString("destination.service", "reviews");
  a.setString("request.path", "/p/" + std::to_string(i));
  a.setInt64("response.code", 200);
  return a;
}

TEST(ReportBatcherTest, AFullBatchGoesOutAtOnceIndependentlyEncoded) {
  SentBatches sent;
  GlobalDictionary dictionary;
  StatsCounters stats;
  ReportBatcher batcher({/*max_entries=*/3, /*max_time_ms=*/3600000}, sent.sender(), &dictionary,
                        &stats);
  for (int i = 0; i < 3; ++i) {
    batcher.enqueue(record(i));
  }
  ASSERT_TRUE(sent.waitFor(1));  // long before the hour-long timer
  const ReportRequest r = sent.batches()[0];
  EXPECT_EQ(r.attributes_size(), 3);
  EXPECT_EQ(r.repeated_attributes_semantics(), ReportRequest::INDEPENDENT_ENCODING);
  EXPECT_EQ(r.global_word_count(), 222u);
  // One shared dictionary: the paths (not global words) are default words, and no record
  // carries words of its own.
  EXPECT_EQ(r.default_words_size(), 4);  // three paths and "reviews"
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(r.attributes(i).words_size(), 0);
    Attributes back;
    ASSERT_TRUE(decompressAttributes(r.attributes(i), r.default_words(), &back));
    EXPECT_EQ(back, record(i));
  }
  EXPECT_EQ(stats.snapshot().report_batches, 1u);
  EXPECT_EQ(stats.snapshot().report_enqueued, 3u);
}

TEST(ReportBatcherTest, APartialBatchGoesOutAfterMaxTime) {
  SentBatches sent;
  GlobalDictionary dictionary;
  StatsCounters stats;
  ReportBatcher batcher({100, /*max_time_ms=*/50}, sent.sender(), &dictionary, &stats);
  batcher.enqueue(record(1));
  batcher.enqueue(record(2));
  ASSERT_TRUE(sent.waitFor(1));
  EXPECT_EQ(sent.batches()[0].attributes_size(), 2);
}

TEST(ReportBatcherTest, FailedBatchesAreCountedAsDropped) {
  SentBatches sent;
  sent.ok_ = false;
  GlobalDictionary dictionary;
  StatsCounters stats;
  {
    ReportBatcher batcher({2, 3600000}, sent.sender(), &dictionary, &stats);
    for (int i = 0; i < 5; ++i) {
      batcher.enqueue(record(i));
    }
  }  // the destructor sends the last partial batch
  EXPECT_EQ(sent.batches().size(), 3u);
  EXPECT_EQ(stats.snapshot().report_dropped, 5u);
  EXPECT_EQ(stats.snapshot().report_batches, 0u);
}

TEST(ReportBatcherTest, ABackloggedQueueDropsInsteadOfGrowing) {
  GlobalDictionary dictionary;
  StatsCounters stats;
  std::mutex gate;
  gate.lock();  // the first send blocks: the flusher is stuck
  std::atomic<int> sends{0};
  {
    ReportBatcher batcher(
        {/*max_entries=*/1, 3600000, /*max_queued_batches=*/2},
        [&](const ReportRequest&, std::function<void(bool)> done) {
          if (sends.fetch_add(1) == 0) {
            std::lock_guard<std::mutex> wait(gate);
          }
          done(true);
        },
        &dictionary, &stats);
    batcher.enqueue(record(0));
    while (sends.load() == 0) {
      std::this_thread::yield();
    }
    for (int i = 1; i <= 5; ++i) {
      batcher.enqueue(record(i));  // room for 2 while the flusher is stuck
    }
    EXPECT_EQ(stats.snapshot().report_dropped, 3u);
    gate.unlock();
  }
  EXPECT_EQ(stats.snapshot().report_batches, 3u);
}

TEST(ReportBatcherTest, TheFallbackDictionaryIsUsedOnceShrunk) {
  SentBatches sent;
  GlobalDictionary dictionary;
  dictionary.shrink();
  StatsCounters stats;
  ReportBatcher batcher({1, 3600000}, sent.sender(), &dictionary, &stats);
  batcher.enqueue(record(0));
  ASSERT_TRUE(sent.waitFor(1));
  EXPECT_EQ(sent.batches()[0].global_word_count(), 111u);
}

}  // namespace
}  // namespace mixer::proxy
