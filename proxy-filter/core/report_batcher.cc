#include "proxy-filter/core/report_batcher.h"

#include <google/protobuf/arena.h>

namespace mixer::proxy {

using istio::mixer::v1::ReportRequest;

ReportBatcher::ReportBatcher(ReportBatchOptions options, Send send,
                             const GlobalDictionary* dictionary, StatsCounters* stats)
    : options_(options), send_(std::move(send)), dictionary_(dictionary), stats_(stats) {
  pending_.reserve(options_.max_entries);
  spare_.reserve(options_.max_entries);
  flusher_ = std::thread([this] { run(); });
}

ReportBatcher::~ReportBatcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  flusher_.join();
}

void ReportBatcher::enqueue(Attributes record) {
  bool notify = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (pending_.size() >= options_.max_entries * options_.max_queued_batches) {
      stats_->report_dropped.add();
      return;
    }
    if (pending_.empty()) {
      deadline_ =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.max_time_ms);
      notify = true;
    }
    pending_.push_back(std::move(record));
    notify = notify || pending_.size() == options_.max_entries;
  }
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
  MessageWords words(global_word_count);
  for (const Attributes& record : records) {
    compressAttributes(record, &words, out->add_attributes());
  }
  words.moveTo(out->mutable_default_words());
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
  // On an arena: a batch is thousands of small map entries, freed together after the send.
  google::protobuf::Arena arena;
  ReportRequest& request = *google::protobuf::Arena::CreateMessage<ReportRequest>(&arena);
  buildRequest(batch, dictionary_->wordCount(), &request);
  const size_t count = batch.size();
  batch.clear();
  send_(request, [stats = stats_, count](bool ok) {
    if (ok) {
      stats->report_batches.add();
    } else {
      stats->report_dropped.add(count);
    }
  });
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
