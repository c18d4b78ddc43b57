// ReportQueue: hands report batches to adapter handlers off the request thread.
//
// Request threads evaluate report instances (they need the request's attributes) and submit one
// batch per handler per Report call; a worker thread calls the handlers. The queue is bounded:
// when full, a batch is dropped and counted (`mixer_report_batches_dropped_total`), never blocking
// a request. Failed handler calls are counted and logged. shutdown() delivers what is queued.
//
// Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "mixer/adapter_host/handler.h"
#include "mixer/runtime/encoded_instances.h"

namespace mixer::runtime {

struct ReportBatch {
  adapter_host::Handler* handler = nullptr;  // kept alive by `owner`
  std::shared_ptr<const void> owner;         // what owns the handler (the config snapshot)
  EncodedInstances instances;                // finalized by the worker, just before the call
};

class ReportQueue {
 public:
  struct Counters {
    virtual ~Counters() = default;
    virtual void dropped(size_t instances) = 0;
    virtual void failed(const std::string& handler) = 0;
  };

  // `max_batches`: queued batches beyond this are dropped.
  ReportQueue(size_t max_batches, absl::Duration call_timeout, Counters* counters);
  ~ReportQueue();  // shutdown()

  // Never blocks on adapters. False when the batch was dropped (queue full or shut down).
  bool submit(ReportBatch batch);

  // An empty buffer for the next batch: one a delivered batch used (cleared, its capacity kept),
  // so that steady-state Reports do not grow fresh arrays for every batch; or a new one.
  EncodedInstances acquire();

  // Stops accepting batches, delivers every queued batch, joins the worker. Idempotent.
  void shutdown();

  size_t queued() const;

 private:
  void run();

  const size_t max_batches_;
  const absl::Duration call_timeout_;
  Counters* counters_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<ReportBatch> queue_;
  std::vector<EncodedInstances> recycled_;  // at most kMaxRecycled
  static constexpr size_t kMaxRecycled = 32;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace mixer::runtime
