#include "proxy-filter/core/report_batcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

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

TEST(ReportBatcherTest, AFullBatchGoesOutAtOnceDeltaEncoded) {
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
  // The same names in every record: each record after the first carries what changed, the path.
  EXPECT_EQ(r.repeated_attributes_semantics(), ReportRequest::DELTA_ENCODING);
  EXPECT_EQ(r.global_word_count(), 222u);
  // One shared dictionary: the paths (not global words) are default words, and no record
  // carries words of its own.
  EXPECT_EQ(r.default_words_size(), 4);  // three paths and "reviews"
  Attributes back;                       // one bag for the batch, updated by each record
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(r.attributes(i).words_size(), 0);
    EXPECT_EQ(r.attributes(i).strings_size(), i == 0 ? 2 : 1);
    EXPECT_EQ(r.attributes(i).int64s_size(), i == 0 ? 1 : 0);
    ASSERT_TRUE(decompressAttributes(r.attributes(i), r.default_words(), &back));
    EXPECT_EQ(back, record(i));
  }
  EXPECT_EQ(stats.snapshot().report_batches, 1u);
  EXPECT_EQ(stats.snapshot().report_enqueued, 3u);
}

TEST(ReportBatcherTest, DeltaEncodingCanBeTurnedOff) {
  SentBatches sent;
  GlobalDictionary dictionary;
  StatsCounters stats;
  ReportBatchOptions options{/*max_entries=*/3, /*max_time_ms=*/3600000};
  options.delta_encoding = false;
  ReportBatcher batcher(options, sent.sender(), &dictionary, &stats);
  for (int i = 0; i < 3; ++i) {
    batcher.enqueue(record(i));
  }
  ASSERT_TRUE(sent.waitFor(1));
  const ReportRequest r = sent.batches()[0];
  EXPECT_EQ(r.repeated_attributes_semantics(), ReportRequest::INDEPENDENT_ENCODING);
  ASSERT_EQ(r.attributes_size(), 3);
  for (int i = 0; i < 3; ++i) {
    Attributes back;
    ASSERT_TRUE(decompressAttributes(r.attributes(i), r.default_words(), &back));
    EXPECT_EQ(back, record(i));
  }
}

// A record without an attribute the one before it had cannot be a delta (a delta adds and
// replaces, it does not remove): it ends the delta batch there, which goes out at once, and starts
// an independently encoded one; a batch that held its names record to record lets the next be
// deltas again.
TEST(ReportBatcherTest, ARecordWithAnAttributeDroppedEndsADeltaBatch) {
  SentBatches sent;
  GlobalDictionary dictionary;
  StatsCounters stats;
  ReportBatcher batcher({/*max_entries=*/3, /*max_time_ms=*/3600000}, sent.sender(), &dictionary,
                        &stats);
  std::vector<Attributes> records{record(0), record(1), record(2), record(3), record(4)};
  records[2].erase("response.code");
  for (const Attributes& a : records) {
    batcher.enqueue(a);
  }
  ASSERT_TRUE(sent.waitFor(2));  // [0, 1] at once; [2, 3, 4] when full
  for (int i = 0; i < 3; ++i) {
    batcher.enqueue(record(5 + i));
  }
  ASSERT_TRUE(sent.waitFor(3));
  const std::vector<ReportRequest> batches = sent.batches();
  ASSERT_EQ(batches[0].attributes_size(), 2);
  EXPECT_EQ(batches[0].repeated_attributes_semantics(), ReportRequest::DELTA_ENCODING);
  ASSERT_EQ(batches[1].attributes_size(), 3);
  EXPECT_EQ(batches[1].repeated_attributes_semantics(), ReportRequest::INDEPENDENT_ENCODING);
  ASSERT_EQ(batches[2].attributes_size(), 3);
  EXPECT_EQ(batches[2].repeated_attributes_semantics(), ReportRequest::DELTA_ENCODING);
  // Every record decodes back to what was queued.
  records.push_back(record(5));
  records.push_back(record(6));
  records.push_back(record(7));
  size_t next = 0;
  for (const ReportRequest& r : batches) {
    const bool delta = r.repeated_attributes_semantics() == ReportRequest::DELTA_ENCODING;
    Attributes back;
    for (int i = 0; i < r.attributes_size(); ++i) {
      if (!delta) {
        back.clear();
      }
      ASSERT_TRUE(decompressAttributes(r.attributes(i), r.default_words(), &back));
      EXPECT_EQ(back, records[next]) << "record " << next;
      ++next;
    }
  }
  EXPECT_EQ(next, records.size());
  EXPECT_EQ(stats.snapshot().report_batches, 3u);
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

// The nginx module's log phase swaps each request's set for the record queued before it, and
// builds the next request into that one at once, long before the batch goes out. The batch keeps
// copies of its words: every record decodes to what it held when queued, not to what its storage
// was rewritten with afterwards.
TEST(ReportBatcherTest, EnqueueSwapHandsBackTheRecordQueuedBefore) {
  SentBatches sent;
  GlobalDictionary dictionary;
  StatsCounters stats;
  constexpr int kBatch = 10;
  ReportBatcher batcher({kBatch, 3600000}, sent.sender(), &dictionary, &stats);
  Attributes set;
  for (int i = 0; i < kBatch; ++i) {
    set.setString("destination.service", "reviews");
    set.setString("request.path", "/p/" + std::to_string(i));
    set.setMapEntry("request.headers", "x-user", "alice " + std::to_string(i));
    set.setInt64("response.code", 200 + i);
    EXPECT_EQ(batcher.enqueueSwap(&set), i > 0) << i;  // the first has nothing before it
    EXPECT_EQ(set.size(), 0u);
  }
  ASSERT_TRUE(sent.waitFor(1));
  const ReportRequest r = sent.batches()[0];
  EXPECT_EQ(r.repeated_attributes_semantics(), ReportRequest::DELTA_ENCODING);
  ASSERT_EQ(r.attributes_size(), kBatch);
  Attributes back;
  for (int i = 0; i < kBatch; ++i) {
    ASSERT_TRUE(decompressAttributes(r.attributes(i), r.default_words(), &back));
    EXPECT_EQ(std::get<std::string>(*back.find("request.path")), "/p/" + std::to_string(i));
    EXPECT_EQ(std::get<StringMap>(*back.find("request.headers")).at("x-user"),
              "alice " + std::to_string(i));
    EXPECT_EQ(std::get<int64_t>(*back.find("response.code")), 200 + i);
  }
}

constexpr int kThreads = 4;
constexpr int kPerThread = 500;

// kThreads threads each queue kPerThread records through enqueueSwap(): source.uid names the
// thread, custom.sequence counts its records, and thread 3 leaves request.path out of every other
// record. Returns when the batcher has been destroyed (it sends what is left).
void queueFromThreads(const ReportBatchOptions& options, SentBatches* sent, StatsCounters* stats) {
  GlobalDictionary dictionary;
  ReportBatcher batcher(options, sent->sender(), &dictionary, stats);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&batcher, t] {
      Attributes set;
      for (int i = 0; i < kPerThread; ++i) {
        set.setString("source.uid", "thread-" + std::to_string(t));
        set.setInt64("custom.sequence", i);
        set.setMapEntry("request.headers", "x-thread", std::to_string(t));
        if (t != 3 || i % 2 == 0) {  // thread 3 leaves an attribute out of every other record
          set.setString("request.path", "/p/" + std::to_string(i % 3));
        }
        batcher.enqueueSwap(&set);
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
}

// Decodes every record sent, in the order sent, and checks what queueFromThreads() put in it:
// `visit(thread, sequence)` for each. Counts the delta and independent batches.
void decodeFromThreads(SentBatches& sent, const std::function<void(int, int)>& visit,
                       size_t* delta_batches, size_t* independent_batches) {
  for (const ReportRequest& r : sent.batches()) {
    const bool delta = r.repeated_attributes_semantics() == ReportRequest::DELTA_ENCODING;
    ++(delta ? *delta_batches : *independent_batches);
    Attributes back;
    for (int i = 0; i < r.attributes_size(); ++i) {
      if (!delta) {
        back.clear();
      }
      ASSERT_TRUE(decompressAttributes(r.attributes(i), r.default_words(), &back));
      const auto* uid = std::get_if<std::string>(back.find("source.uid"));
      ASSERT_NE(uid, nullptr);
      const int t = std::stoi(uid->substr(7));
      const auto* sequence = std::get_if<int64_t>(back.find("custom.sequence"));
      ASSERT_NE(sequence, nullptr);
      const auto* headers = std::get_if<StringMap>(back.find("request.headers"));
      ASSERT_NE(headers, nullptr);
      EXPECT_EQ(headers->at("x-thread"), std::to_string(t));
      const bool has_path = back.contains("request.path");
      EXPECT_EQ(has_path, t != 3 || *sequence % 2 == 0)
          << "thread " << t << " record " << *sequence;
      if (has_path) {
        EXPECT_EQ(std::get<std::string>(*back.find("request.path")),
                  "/p/" + std::to_string(*sequence % 3));
      }
      EXPECT_EQ(back.size(), has_path ? 4u : 3u);
      visit(t, static_cast<int>(*sequence));
    }
  }
}

// Several threads queue at once (a multi-threaded proxy): records are encoded in the order they
// are queued, each against the record queued before it whichever thread queued that one, so every
// record decodes back exactly once, in its thread's order, whether its batch is deltas (threads
// whose records share names) or independent (a thread whose records drop one).
TEST(ReportBatcherTest, RecordsQueuedByManyThreadsAreEachDeliveredOnce) {
  SentBatches sent;
  StatsCounters stats;
  queueFromThreads({/*max_entries=*/7, /*max_time_ms=*/5, /*max_queued_batches=*/1000}, &sent,
                   &stats);
  std::vector<int> next(kThreads, 0);
  size_t delta_batches = 0, independent_batches = 0;
  decodeFromThreads(
      sent,
      [&](int t, int sequence) {
        EXPECT_EQ(sequence, next[t]) << "thread " << t;  // in order, none lost, none twice
        next[t] = sequence + 1;
      },
      &delta_batches, &independent_batches);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(next[t], kPerThread) << "thread " << t;
  }
  EXPECT_EQ(stats.snapshot().report_enqueued, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(stats.snapshot().report_dropped, 0u);
  EXPECT_GT(delta_batches, 0u);
  EXPECT_GT(independent_batches, 0u);
}

// A batch's first record wakes no one, yet a partial batch still goes out max_time after it,
// also when it is queued long after the flusher went to sleep.
TEST(ReportBatcherTest, ALateFirstRecordStillGoesOutAfterMaxTime) {
  SentBatches sent;
  GlobalDictionary dictionary;
  StatsCounters stats;
  ReportBatcher batcher({100, /*max_time_ms=*/30}, sent.sender(), &dictionary, &stats);
  std::this_thread::sleep_for(std::chrono::milliseconds(45));
  batcher.enqueue(record(1));
  ASSERT_TRUE(sent.waitFor(1));
  EXPECT_EQ(sent.batches()[0].attributes_size(), 1);
  batcher.enqueue(record(2));
  ASSERT_TRUE(sent.waitFor(2));
  EXPECT_EQ(sent.batches()[1].attributes_size(), 1);
}

// max_time 0: every record goes out at once, without waiting for a full batch.
TEST(ReportBatcherTest, ZeroMaxTimeSendsEachRecordAtOnce) {
  SentBatches sent;
  GlobalDictionary dictionary;
  StatsCounters stats;
  ReportBatcher batcher({100, /*max_time_ms=*/0}, sent.sender(), &dictionary, &stats);
  batcher.enqueue(record(1));
  ASSERT_TRUE(sent.waitFor(1));
  EXPECT_EQ(sent.batches()[0].attributes_size(), 1);
}

// queuing_thread_sends: the thread whose record closes a batch sends it before enqueue returns;
// a batch that max_time closes is still the flusher's.
TEST(ReportBatcherTest, TheQueuingThreadSendsTheBatchItsRecordCloses) {
  std::mutex mu;
  std::vector<std::pair<std::thread::id, int>> sends;  // sender, records
  auto sender = [&](const ReportRequest& r, std::function<void(bool)> done) {
    {
      std::lock_guard<std::mutex> lock(mu);
      sends.emplace_back(std::this_thread::get_id(), r.attributes_size());
    }
    done(true);
  };
  auto sent = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return sends;
  };
  GlobalDictionary dictionary;
  StatsCounters stats;
  ReportBatchOptions options{/*max_entries=*/3, /*max_time_ms=*/40};
  options.queuing_thread_sends = true;
  ReportBatcher batcher(options, ReportBatcher::Send(sender), &dictionary, &stats);
  for (int i = 0; i < 3; ++i) {
    batcher.enqueue(record(i));
  }
  ASSERT_EQ(sent().size(), 1u);  // already sent: enqueue() returned after the send
  EXPECT_EQ(sent()[0].first, std::this_thread::get_id());
  EXPECT_EQ(sent()[0].second, 3);

  // A record without an attribute of the one before ends the (delta) batch: sent here too.
  batcher.enqueue(record(3));
  Attributes fewer;
  fewer.setString("destination.service", "reviews");
  batcher.enqueue(fewer);
  ASSERT_EQ(sent().size(), 2u);
  EXPECT_EQ(sent()[1].first, std::this_thread::get_id());
  EXPECT_EQ(sent()[1].second, 1);

  // `fewer` waits in a partial batch, which max_time closes: the flusher sends it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (sent().size() < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(sent().size(), 3u);
  EXPECT_NE(sent()[2].first, std::this_thread::get_id());
  EXPECT_EQ(sent()[2].second, 1);
  EXPECT_EQ(stats.snapshot().report_batches, 3u);
}

// queuing_thread_sends with several queuing threads: every record goes out exactly once (batches
// closed by different threads may go out in either order).
TEST(ReportBatcherTest, RecordsSentByTheirQueuingThreadsAreEachDeliveredOnce) {
  SentBatches sent;
  StatsCounters stats;
  ReportBatchOptions options{/*max_entries=*/7, /*max_time_ms=*/5, /*max_queued_batches=*/1000};
  options.queuing_thread_sends = true;
  queueFromThreads(options, &sent, &stats);
  std::vector<std::vector<int>> seen(kThreads, std::vector<int>(kPerThread, 0));
  size_t delta_batches = 0, independent_batches = 0;
  decodeFromThreads(
      sent, [&](int t, int sequence) { ++seen[t][sequence]; }, &delta_batches,
      &independent_batches);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      ASSERT_EQ(seen[t][i], 1) << "thread " << t << " record " << i;
    }
  }
  EXPECT_EQ(stats.snapshot().report_dropped, 0u);
  EXPECT_GT(delta_batches, 0u);
  EXPECT_GT(independent_batches, 0u);
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
