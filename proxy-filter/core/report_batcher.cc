#include "proxy-filter/core/report_batcher.h"

#include <pthread.h>

#include <algorithm>
#include <span>

namespace mixer::proxy {

using istio::mixer::v1::ReportRequest;

namespace {
// Sent records kept for enqueueSwap(), in batches: enough for the records queued while a batch is
// encoded and sent and the next ones wait for the flusher.
constexpr size_t kKeptBatches = 4;
}  // namespace

ReportBatcher::ReportBatcher(ReportBatchOptions options, SendSerialized send,
                             const GlobalDictionary* dictionary, StatsCounters* stats)
    : options_(options),
      send_(std::move(send)),
      dictionary_(dictionary),
      stats_(stats),
      kept_limit_(options_.max_entries *
                  std::min<size_t>(kKeptBatches, options_.max_queued_batches)) {
  pending_.reserve(options_.max_entries);
  spare_.reserve(options_.max_entries);
  kept_.reserve(kept_limit_);
  encoder_.allowDelta(options_.delta_encoding);
  flusher_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "mixer-report");
    run();
  });
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
    notify = pending_.size() == options_.max_entries || immediateLocked();
  }
  stats_->report_enqueued.add();
  if (notify) {
    wake_.notify_one();
  }
}

bool ReportBatcher::enqueueSwap(Attributes* record) {
  bool notify = false;
  bool recycled = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!admitLocked()) {
      record->clear();
      return false;
    }
    pending_.push_back(std::move(*record));
    if (!kept_.empty()) {
      *record = std::move(kept_.back());
      kept_.pop_back();
      recycled = true;
    }
    notify = pending_.size() == options_.max_entries || immediateLocked();
  }
  record->clear();  // a no-op for a sent record (the flusher emptied it); outside the lock
  stats_->report_enqueued.add();
  if (notify) {
    wake_.notify_one();
  }
  return recycled;
}

size_t ReportBatcher::keptRecords() {
  std::lock_guard<std::mutex> lock(mutex_);
  return kept_.size();
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
  const bool delta = ReportEncoder::deltaEncodable(records);
  Attributes changed;
  for (size_t i = 0; i < records.size(); ++i) {
    if (!delta || i == 0) {
      compressAttributes(records[i], &words, out->add_attributes());
      continue;
    }
    // A delta: the attributes whose value is not the one the record before had, in their order.
    changed.clear();
    const std::span<const Attribute> entries = records[i].entries();
    for (size_t position = 0; position < entries.size(); ++position) {
      if (!ReportEncoder::unchanged(records[i - 1], position, entries[position])) {
        changed.set(entries[position].name, entries[position].value);
      }
    }
    compressAttributes(changed, &words, out->add_attributes());
  }
  moveWords(&words, out->mutable_default_words());
  out->set_global_word_count(global_word_count);
  out->set_repeated_attributes_semantics(delta ? ReportRequest::DELTA_ENCODING
                                               : ReportRequest::INDEPENDENT_ENCODING);
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
  std::string wire;
  {
    // One encoder, kept with its dictionary's and buffers' storage between batches; flush() on
    // another thread waits for it here.
    std::lock_guard<std::mutex> encoding(encoder_mutex_);
    wire.reserve(last_wire_size_ + last_wire_size_ / 4);
    encoder_.encode(batch, dictionary_->wordCount(), &wire);
    last_wire_size_ = wire.size();
  }
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
  // The records are kept for enqueueSwap(): handed over whole when none are kept (a swap under
  // the lock, not 100 moves), else added to those kept, up to kept_limit_.
  if (kept_.empty() && batch.size() <= kept_limit_) {
    std::swap(kept_, batch);  // batch gets kept_'s empty, reserved buffer
  } else {
    const size_t room = kept_limit_ > kept_.size() ? kept_limit_ - kept_.size() : 0;
    const size_t n = std::min(room, batch.size());
    for (size_t i = batch.size() - n; i < batch.size(); ++i) {
      kept_.push_back(std::move(batch[i]));
    }
  }
  lock.unlock();
  batch.clear();  // records kept_ had no room for are freed outside the lock
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
      // No wake-up for a batch's first record: a record queued during this wait has its deadline
      // after the wait ends.
      wake_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(options_.max_time_ms, 1)));
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
