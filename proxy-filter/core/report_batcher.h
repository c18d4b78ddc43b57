// ReportBatcher: collects report records and sends them as batched ReportRequests, as Istio
// 1.4's client does: one shared dictionary per batch sent as default_words, global_word_count set.
// Unlike that client, a batch whose records each hold the attribute names of the one before goes
// out with DELTA_ENCODING, each record after the first carrying only what changed (ReportEncoder);
// other batches with INDEPENDENT_ENCODING (each record stands alone). A batch goes out when it
// reaches max_entries, or max_time after its first record. Failed batches are counted and dropped,
// not retried.
//
// Thread-safe. enqueue() never waits for the network: it encodes the record into the wire bytes of
// the batch being built (ReportEncoder, under a short mutex), on the queuing thread, where the
// record was just written; the flusher thread only finishes and sends batches and never reads a
// record (a record read and emptied on another core cost both threads its cache lines). The batch
// keeps copies of the words it needs (ReportEncoder), so a record is needed only until the next
// one is encoded (a delta is the difference from it): enqueueSwap() hands the caller back the
// record queued before, in exchange for the one it queues. A host that builds every request into
// the set it got back writes again into storage it wrote one request earlier, still in its core's
// cache, and allocates nothing once its records' shape has been seen.
//
// Which encoding: a batch starts as deltas (unless options say no) when the batch before ended
// with every record holding the names of the one before. A record that lacks a name of the record
// before it ends a delta batch there (it goes out at once) and starts an independently encoded
// one; an independently encoded batch with no such record lets the next be deltas again.
// A batch goes out when it is full (the flusher is woken) or max_time after its first record: the
// flusher, asleep for at most max_time when idle, then waits for that time, so a batch's first
// record wakes no one.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mixer/v1/mixer.pb.h"
#include "proxy-filter/core/attribute_compressor.h"
#include "proxy-filter/core/attributes.h"
#include "proxy-filter/core/client_stats.h"
#include "proxy-filter/core/report_encoder.h"

namespace mixer::proxy {

struct ReportBatchOptions {
  size_t max_entries = 100;        // Istio 1.4 default
  int64_t max_time_ms = 1000;      // Istio 1.4 default
  size_t max_queued_batches = 16;  // records beyond this many full batches are dropped
  // DELTA_ENCODING for a batch whose records each hold the names of the one before (ReportEncoder);
  // false: INDEPENDENT_ENCODING always, as Istio 1.4's client.
  bool delta_encoding = true;
  // A batch that a queued record closes (full, ended, or every record with max_time 0) is sent by
  // the queuing thread once it has let go of the batcher, instead of by the flusher woken for it.
  // For a send that only queues the call for a transport's own thread (the lean transport's): the
  // hand-off to the flusher would cost a wake-up per batch for nothing. The flusher still sends
  // the batches that max_time closes. Batches closed by different threads may then go out in
  // either order (each batch stands alone: deltas never cross batches).
  bool queuing_thread_sends = false;
};

class ReportBatcher {
 public:
  // Sends one batch, a serialized istio.mixer.v1.ReportRequest; `done(ok)` runs when the send
  // ends.
  using SendSerialized =
      std::function<void(std::string request, std::function<void(bool ok)> done)>;
  // The same with the batch parsed back into a message (for tests and tools that inspect it).
  using Send = std::function<void(const istio::mixer::v1::ReportRequest&,
                                  std::function<void(bool ok)> done)>;

  ReportBatcher(ReportBatchOptions options, SendSerialized send, const GlobalDictionary* dictionary,
                StatsCounters* stats);
  ReportBatcher(ReportBatchOptions options, Send send, const GlobalDictionary* dictionary,
                StatsCounters* stats);
  // Sends what is queued, then stops the flusher.
  ~ReportBatcher();

  void enqueue(Attributes record);
  // Queues `*record` and leaves `*record` empty, holding the storage of the record queued before it
  // when there is one (else just empty); returns whether it got one.
  bool enqueueSwap(Attributes* record);
  // Sends everything queued now (tests, shutdown).
  void flush();

  // Builds one ReportRequest of `records` as a protobuf message: the reference ReportEncoder's
  // bytes are tested against (exposed for tests and benchmarks).
  static void buildRequest(const std::vector<Attributes>& records, uint32_t global_word_count,
                           istio::mixer::v1::ReportRequest* out);

 private:
  // A batch encoded and closed, waiting for the flusher: its bytes and how many records they hold.
  struct Closed {
    std::string wire;
    size_t count = 0;
  };

  void run();
  // Sends the oldest closed batch (closing the one being built when none is), with mutex_
  // released during the send.
  void sendLocked(std::unique_lock<std::mutex>& lock);
  // Takes the oldest closed batch (closing the one being built when none is) off the queue, to be
  // sent once mutex_ is released. Under mutex_.
  Closed takeLocked();
  // Sends a batch taken off the queue (mutex_ not held).
  void send(Closed batch);
  // What a record just queued calls for, once mutex_ is released: a batch to send on this thread
  // (queuing_thread_sends) and whether to wake the flusher. Under mutex_.
  struct AfterQueue {
    bool notify = false;
    Closed batch;
  };
  AfterQueue afterQueueLocked(bool closed_one);
  // Counts the record queued and does what afterQueueLocked() asked for (mutex_ not held).
  void finishQueue(AfterQueue after);
  // Whether a record may be queued now; counts it dropped when not. Under mutex_.
  bool admitLocked();
  // Encodes `*record` into the batch being built and queues it; closes the batch when full, or
  // first when the record cannot be a delta. Returns whether the flusher must be woken.
  bool queueLocked(Attributes* record);
  // Finishes the batch being built and puts it among the closed ones. Under mutex_.
  void closeLocked();
  // Whether the record just queued must wake the flusher although its batch is not full: the
  // first record when max_time is 0 (sent at once). Under mutex_.
  bool immediateLocked() const { return options_.max_time_ms <= 0 && building_ == 1; }

  const ReportBatchOptions options_;
  const SendSerialized send_;
  const GlobalDictionary* const dictionary_;
  StatsCounters* const stats_;

  std::mutex mutex_;
  std::condition_variable wake_;
  // Guarded by mutex_: how many records the batch being built holds (their bytes in encoder_), the
  // last of them (the next one's `previous`), whether it has held names record to record so far,
  // whether the next batch starts as deltas, the batches closed and not yet sent, and how many
  // records all of them hold.
  size_t building_ = 0;
  Attributes previous_;
  bool previous_used_ = false;  // previous_ has held a record: enqueueSwap() hands back storage
  ReportEncoder encoder_;
  bool chained_ = true;
  bool next_delta_ = true;
  std::deque<Closed> closed_;
  size_t queued_ = 0;
  size_t last_wire_size_ = 0;
  std::chrono::steady_clock::time_point deadline_;
  bool stop_ = false;
  std::thread flusher_;
};

}  // namespace mixer::proxy
