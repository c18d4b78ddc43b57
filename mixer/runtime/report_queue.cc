#include "mixer/runtime/report_queue.h"

#include <chrono>

#include "base/log.h"

namespace mixer::runtime {

ReportQueue::ReportQueue(size_t max_batches, absl::Duration call_timeout, Counters* counters,
                         absl::Duration linger)
    : max_batches_(max_batches), call_timeout_(call_timeout), linger_(linger), counters_(counters) {
  worker_ = std::thread([this] { run(); });
}

ReportQueue::~ReportQueue() { shutdown(); }

bool ReportQueue::submit(ReportBatch batch) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_ && queue_.size() < max_batches_) {
      queue_.push_back(std::move(batch));
      // A lingering worker comes back for this batch by itself, unless enough are waiting.
      if (sleeping_ || queue_.size() == kWakeAt) {
        sleeping_ = false;
        ++wakeups_;
        cv_.notify_one();
      }
      return true;
    }
  }
  if (counters_ != nullptr) {
    counters_->dropped(batch.instances.size());
  }
  return false;
}

EncodedInstances ReportQueue::acquire() {
  std::lock_guard<std::mutex> lock(mu_);
  if (recycled_.empty()) {
    return {};
  }
  EncodedInstances out = std::move(recycled_.back());
  recycled_.pop_back();
  return out;
}

void ReportQueue::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !worker_.joinable()) {
      return;
    }
    stopping_ = true;
    cv_.notify_all();
  }
  if (worker_.joinable()) {
    worker_.join();
  }
}

size_t ReportQueue::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

uint64_t ReportQueue::wakeups() const {
  std::lock_guard<std::mutex> lock(mu_);
  return wakeups_;
}

void ReportQueue::run() {
  while (true) {
    ReportBatch batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (queue_.empty() && !stopping_ && !sleeping_) {
        // Linger: batches submitted now do not wake this thread (unless kWakeAt of them wait).
        const auto until = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(linger_);
        while (queue_.size() < kWakeAt && !stopping_ &&
               cv_.wait_until(lock, until) != std::cv_status::timeout) {
        }
        // Nothing came for a whole linger: sleep until a submit wakes this thread.
        sleeping_ = queue_.empty();
      }
      if (sleeping_) {  // also at the start, before the first batch
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        sleeping_ = false;
      }
      if (queue_.empty()) {
        return;  // stopping, and everything was delivered
      }
      batch = std::move(queue_.front());
      queue_.pop_front();
    }
    batch.instances.finalize();  // in its final place now
    const absl::Status s = batch.handler->reportAndWait(batch.instances.instances(),
                                                        batch.instances.size(), call_timeout_);
    // The adapter borrowed the instances for its hook only: the buffers serve the next batch.
    batch.instances.clear();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (recycled_.size() < kMaxRecycled) {
        recycled_.push_back(std::move(batch.instances));
      }
    }
    if (!s.ok()) {
      if (counters_ != nullptr) {
        counters_->failed(batch.handler->name());
      }
      static std::atomic<uint64_t> logs{0};
      if (logSampled(logs)) {
        MIXER_LOG(Warn) << "report to handler '" << batch.handler->name()
                        << "' failed: " << s.ToString();
      }
    }
  }
}

}  // namespace mixer::runtime
