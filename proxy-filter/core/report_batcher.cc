#include "proxy-filter/core/report_batcher.h"

namespace mixer::proxy {

using istio::mixer::v1::ReportRequest;

ReportBatcher::ReportBatcher(ReportBatchOptions options, SendSerialized send,
                             const GlobalDictionary* dictionary, StatsCounters* stats)
    : options_(options), send_(std::move(send)), dictionary_(dictionary), stats_(stats) {
  pending_.reserve(options_.max_entries);
  spare_.reserve(options_.max_entries);
  sent_.reserve(options_.max_entries);
  returned_.reserve(options_.max_entries);
  flusher_ = std::thread([this] { run(); });
}

ReportBatcher::ReportBatcher(ReportBatchOptions options, Send send,
                             const GlobalDictionary* dictionary, StatsCounters* stats)
    : ReportBatcher(
          options,
          [send = std::move(send)](std::string request, std::function<void(bool)> done) {
            ReportRequest parsed;
            if (!parsed.ParseFromString(request)) {
              done(false);
              return;
            }
            send(parsed, std::move(done));
          },
          dictionary, stats) {}

ReportBatcher::~ReportBatcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  flusher_.join();
}

bool ReportBatcher::admitLocked() {
  if (pending_.size() >= options_.max_entries * options_.max_queued_batches) {
    stats_->report_dropped.add();
    return false;
  }
  if (pending_.empty()) {
    deadline_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.max_time_ms);
  }
  return true;
}

void ReportBatcher::enqueue(Attributes record) {
  bool notify = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!admitLocked()) {
      return;
    }
    pending_.push_back(std::move(record));
    notify = pending_.size() == 1 || pending_.size() == options_.max_entries;
  }
  stats_->report_enqueued.add();
  if (notify) {
    wake_.notify_one();
  }
}

void ReportBatcher::enqueueSwap(Attributes* record) {
  bool notify = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!admitLocked()) {
      record->clear();
      return;
    }
    pending_.push_back(std::move(*record));
    if (sent_.empty()) {
      std::swap(sent_, returned_);  // the records of the batch sent last, if not taken yet
    }
    if (!sent_.empty()) {
      *record = std::move(sent_.back());
      sent_.pop_back();
    }
    notify = pending_.size() == 1 || pending_.size() == options_.max_entries;
  }
  record->clear();  // a no-op for a sent record (the flusher emptied it); outside the lock
  stats_->report_enqueued.add();
  if (notify) {
    wake_.notify_one();
  }
}

void ReportBatcher::flush() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!pending_.empty()) {
    sendLocked(lock);
  }
}

void ReportBatcher::buildRequest(const std::vector<Attributes>& records, uint32_t global_word_count,
                                 ReportRequest* out) {
  base::MessageDictionary words = messageWords(global_word_count);
  for (const Attributes& record : records) {
    compressAttributes(record, &words, out->add_attributes());
  }
  moveWords(&words, out->mutable_default_words());
  out->set_global_word_count(global_word_count);
  out->set_repeated_attributes_semantics(ReportRequest::INDEPENDENT_ENCODING);
}

void ReportBatcher::sendLocked(std::unique_lock<std::mutex>& lock) {
  // Takes at most one batch; the rest waits for the next round.
  std::vector<Attributes> batch;
  if (pending_.size() <= options_.max_entries) {
    std::swap(batch, spare_);
    std::swap(batch, pending_);  // pending_ gets the reserved spare
  } else {
    batch.assign(std::make_move_iterator(pending_.begin()),
                 std::make_move_iterator(pending_.begin() + options_.max_entries));
    pending_.erase(pending_.begin(), pending_.begin() + options_.max_entries);
    deadline_ = std::chrono::steady_clock::now();
  }
  lock.unlock();
  // Here, not in members: flush() may run this on another thread while the flusher does.
  ReportEncoder encoder;
  std::string wire;
  encoder.encode(batch, dictionary_->wordCount(), &wire);
  const size_t count = batch.size();
  send_(std::move(wire), [stats = stats_, count](bool ok) {
    if (ok) {
      stats->report_batches.add();
    } else {
      stats->report_dropped.add(count);
    }
  });
  // Emptied here, where they are still in cache from encoding, rather than by the thread that
  // gets them back from enqueueSwap().
  for (Attributes& record : batch) {
    record.clear();
  }
  lock.lock();
  // The records are kept for enqueueSwap() (handed over whole: the lock is held for a swap, not
  // a copy), unless the batch sent before is still there: the records queued while this batch
  // was encoded and sent take those.
  if (returned_.empty()) {
    std::swap(returned_, batch);  // batch gets returned_'s empty, reserved buffer
  }
  lock.unlock();
  batch.clear();  // records returned_ had no room for are freed outside the lock
  lock.lock();
  if (spare_.capacity() == 0) {
    batch.reserve(options_.max_entries);
    spare_ = std::move(batch);
  }
}

void ReportBatcher::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    if (stop_) {
      while (!pending_.empty()) {
        sendLocked(lock);
      }
      return;
    }
    if (pending_.empty()) {
      wake_.wait(lock);
      continue;
    }
    if (pending_.size() >= options_.max_entries || std::chrono::steady_clock::now() >= deadline_) {
      sendLocked(lock);
      continue;
    }
    wake_.wait_until(lock, deadline_);
  }
}

}  // namespace mixer::proxy
