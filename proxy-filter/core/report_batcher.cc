#include "proxy-filter/core/report_batcher.h"

#include <pthread.h>

#include <algorithm>
#include <span>

namespace mixer::proxy {

using istio::mixer::v1::ReportRequest;

ReportBatcher::ReportBatcher(ReportBatchOptions options, SendSerialized send,
                             const GlobalDictionary* dictionary, StatsCounters* stats)
    : options_(options), send_(std::move(send)), dictionary_(dictionary), stats_(stats) {
  next_delta_ = options_.delta_encoding;
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
  if (queued_ >= options_.max_entries * options_.max_queued_batches) {
    stats_->report_dropped.add();
    return false;
  }
  return true;
}

bool ReportBatcher::queueLocked(Attributes* record) {
  bool ended = false;
  // Whether the record holds the names of the one before matters only where deltas may be sent.
  if (options_.delta_encoding && building_ > 0 &&
      !ReportEncoder::holdsNamesOf(*record, previous_)) {
    chained_ = false;
    if (encoder_.delta()) {
      closeLocked();  // a delta cannot take the missing attribute away: the batch ends here
      ended = true;
    }
  }
  if (building_ == 0) {
    deadline_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.max_time_ms);
    encoder_.start(dictionary_->wordCount(), next_delta_);
    chained_ = true;
  }
  encoder_.add(*record, building_ == 0 ? nullptr : &previous_);
  // The record stays as the next one's `previous`; *record takes the one before it.
  std::swap(*record, previous_);
  ++building_;
  ++queued_;
  if (building_ >= options_.max_entries) {
    closeLocked();
    return true;
  }
  return ended || immediateLocked();
}

void ReportBatcher::closeLocked() {
  if (building_ == 0) {
    return;
  }
  Closed batch;
  batch.wire.reserve(last_wire_size_ + last_wire_size_ / 4);
  encoder_.finish(&batch.wire);
  last_wire_size_ = batch.wire.size();
  batch.count = building_;
  building_ = 0;
  closed_.push_back(std::move(batch));
  // The next batch is deltas when this one held names record to record (and options allow it).
  next_delta_ = options_.delta_encoding && chained_;
}

ReportBatcher::AfterQueue ReportBatcher::afterQueueLocked(bool closed_one) {
  AfterQueue after;
  if (!closed_one) {
    return after;
  }
  if (!options_.queuing_thread_sends) {
    after.notify = true;
    return after;
  }
  after.batch = takeLocked();
  after.notify = !closed_.empty();  // older batches still waiting: the flusher's
  return after;
}

void ReportBatcher::finishQueue(AfterQueue after) {
  stats_->report_enqueued.add();
  if (after.batch.count > 0) {
    send(std::move(after.batch));
  }
  if (after.notify) {
    wake_.notify_one();
  }
}

void ReportBatcher::enqueue(Attributes record) {
  AfterQueue after;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!admitLocked()) {
      return;
    }
    after = afterQueueLocked(queueLocked(&record));
    previous_used_ = true;
  }
  // `record` now holds the record queued before, freed here, outside the lock.
  finishQueue(std::move(after));
}

bool ReportBatcher::enqueueSwap(Attributes* record) {
  AfterQueue after;
  bool recycled = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!admitLocked()) {
      record->clear();
      return false;
    }
    recycled = previous_used_;
    after = afterQueueLocked(queueLocked(record));
    previous_used_ = true;
  }
  // The record handed back is emptied here, outside the lock, by the thread that will write it
  // again (for a single-threaded host such as an nginx worker, the one that wrote it, one request
  // ago).
  record->clear();
  finishQueue(std::move(after));
  return recycled;
}

void ReportBatcher::flush() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!closed_.empty() || building_ > 0) {
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

ReportBatcher::Closed ReportBatcher::takeLocked() {
  if (closed_.empty()) {
    closeLocked();
  }
  Closed batch = std::move(closed_.front());
  closed_.pop_front();
  queued_ -= batch.count;  // a batch on its way no longer counts against the queue's limit
  return batch;
}

void ReportBatcher::send(Closed batch) {
  send_(std::move(batch.wire), [stats = stats_, count = batch.count](bool ok) {
    if (ok) {
      stats->report_batches.add();
    } else {
      stats->report_dropped.add(count);
    }
  });
}

void ReportBatcher::sendLocked(std::unique_lock<std::mutex>& lock) {
  // Takes one batch; the rest waits for the next round.
  Closed batch = takeLocked();
  lock.unlock();
  send(std::move(batch));
  lock.lock();
}

void ReportBatcher::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    if (stop_) {
      while (!closed_.empty() || building_ > 0) {
        sendLocked(lock);
      }
      return;
    }
    if (!closed_.empty()) {
      sendLocked(lock);
      continue;
    }
    if (building_ == 0) {
      // No wake-up for a batch's first record: a record queued during this wait has its deadline
      // after the wait ends.
      wake_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(options_.max_time_ms, 1)));
      continue;
    }
    if (std::chrono::steady_clock::now() >= deadline_) {
      sendLocked(lock);
      continue;
    }
    wake_.wait_until(lock, deadline_);
  }
}

}  // namespace mixer::proxy
