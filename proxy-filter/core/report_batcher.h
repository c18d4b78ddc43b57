// ReportBatcher: collects report records and sends them as batched ReportRequests, as Istio
// 1.4's client does: one shared dictionary per batch sent as default_words, INDEPENDENT_ENCODING
// (each record stands alone), global_word_count set. A batch goes out when it reaches
// max_entries, or max_time after its first record. Failed batches are counted and dropped, not
// retried.
//
// Thread-safe. enqueue() never waits for the network: it appends under a short mutex into
// storage reserved ahead, and the flusher thread compresses and sends.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "mixer/v1/mixer.pb.h"
#include "proxy-filter/core/attribute_compressor.h"
#include "proxy-filter/core/attributes.h"
#include "proxy-filter/core/client_stats.h"

namespace mixer::proxy {

struct ReportBatchOptions {
  size_t max_entries = 100;        // Istio 1.4 default
  int64_t max_time_ms = 1000;      // Istio 1.4 default
  size_t max_queued_batches = 16;  // records beyond this many full batches are dropped
};

class ReportBatcher {
 public:
  // Sends one batch; `done(ok)` runs when the send ends.
  using Send = std::function<void(const istio::mixer::v1::ReportRequest&,
                                  std::function<void(bool ok)> done)>;

  ReportBatcher(ReportBatchOptions options, Send send, const GlobalDictionary* dictionary,
                StatsCounters* stats);
  // Sends what is queued, then stops the flusher.
  ~ReportBatcher();

  void enqueue(Attributes record);
  // Sends everything queued now (tests, shutdown).
  void flush();

  // Builds one ReportRequest of `records` (exposed for tests and benchmarks).
  static void buildRequest(const std::vector<Attributes>& records, uint32_t global_word_count,
                           istio::mixer::v1::ReportRequest* out);

 private:
  void run();
  void sendLocked(std::unique_lock<std::mutex>& lock);

  const ReportBatchOptions options_;
  const Send send_;
  const GlobalDictionary* const dictionary_;
  StatsCounters* const stats_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Attributes> pending_;  // guarded by mutex_
  std::vector<Attributes> spare_;    // swapped with pending_ by the flusher
  std::chrono::steady_clock::time_point deadline_;
  bool stop_ = false;
  std::thread flusher_;
};

}  // namespace mixer::proxy
