#include "mixer/server/mixer_service.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "base/log.h"
#include "base/proto_wire.h"
#include "base/str_cat.h"
#include "base/utf8.h"
#include "mixer/api/attribute_encoder.h"
#include "mixer/api/global_dictionary.h"
#include "mixer/api/request_decoder.h"
#include "mixer/server/byte_buffer.h"

namespace mixer::server {
namespace {

using istio::mixer::v1::CheckResponse;

google::protobuf::ArenaOptions arenaOptions(char* block, size_t size) {
  google::protobuf::ArenaOptions o;
  o.initial_block = block;
  o.initial_block_size = size;
  return o;
}

// Per-thread request state, reused across calls so that steady-state requests do not allocate
// for it. The response is built on an arena whose first block is part of this state, so
// resetting it between calls frees nothing and building a typical response mallocs nothing.
struct ThreadState {
  attribute::VocabularyConstSharedPtr vocabulary;
  std::unique_ptr<attribute::AttributeBag> bag;
  api::CheckRequestView check;
  api::ReportRequestView report;
  attribute::AttributeReferences refs;
  runtime::PendingReports pending;
  std::vector<attribute::AttributeId> generated;  // by the current Report record
  alignas(16) char arena_block[16 * 1024];
  google::protobuf::Arena arena{arenaOptions(arena_block, sizeof(arena_block))};

  attribute::AttributeBag& bagFor(const attribute::VocabularyConstSharedPtr& v) {
    if (vocabulary != v) {
      vocabulary = v;
      bag = std::make_unique<attribute::AttributeBag>(v);
    }
    return *bag;
  }
};

ThreadState& threadState() {
  thread_local ThreadState state;
  return state;
}

grpc::Status dictionaryMismatch(uint32_t words) {
  // Istio answers INTERNAL here; its clients react by retrying with a shorter global dictionary.
  return grpc::Status(grpc::StatusCode::INTERNAL,
                      base::strCat("inconsistent global dictionary versions used: mixer knows ",
                                   api::kGlobalWordCount, " words, caller knows ", words));
}

void setDuration(const attribute::Duration& d, google::protobuf::Duration* out) {
  out->set_seconds(d.seconds);
  out->set_nanos(d.nanos);
}

}  // namespace

MixerService::MixerService(const runtime::DispatcherSource* dispatchers, ServerMetrics* metrics,
                           size_t max_message_size, const api::DecodeLimits& limits)
    : dispatchers_(dispatchers),
      metrics_(metrics),
      max_message_size_(max_message_size),
      limits_(limits) {}

grpc::Status MixerService::checkSize(size_t size, ServerMetrics::Method method) {
  if (size <= max_message_size_) {
    return grpc::Status::OK;
  }
  // gRPC's own answer and wording, should a request ever get past the transport limit.
  return grpc::Status(
      grpc::StatusCode::RESOURCE_EXHAUSTED,
      base::strCat("Received message larger than max (", size, " vs. ", max_message_size_, ")"));
}

grpc::Status MixerService::deadlineExceeded(ServerMetrics::Method method, std::string_view where) {
  metrics_->stoppedAtDeadline(method).Increment();
  return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                      base::strCat("the call's deadline passed; stopped ", where));
}

grpc::Status MixerService::stopped(const CallControl& call, ServerMetrics::Method method,
                                   std::string_view where) {
  if (call.deadline.passed()) {
    return deadlineExceeded(method, where);
  }
  return grpc::Status::OK;
}

namespace {

// A status message may carry what a client sent (an adapter's message quoting an attribute): the
// response's google.rpc.Status.message is a proto3 string, so ill-formed UTF-8 is replaced.
// Returns `message` itself, or a sanitized copy kept in `*storage`.
std::string_view validStatusMessage(const std::string& message, std::string* storage) {
  if (base::isValidUtf8(message)) {
    return message;
  }
  *storage = base::utf8Sanitized(message);
  return *storage;
}

void setStatusMessage(const std::string& message, google::rpc::Status* status) {
  std::string sanitized;
  const std::string_view text = validStatusMessage(message, &sanitized);
  status->set_message(text.data(), text.size());
}

// Fills the precondition part of a Check response.
void fillPrecondition(const runtime::CheckDecision& result,
                      const attribute::AttributeReferences& refs, uint32_t gwc,
                      CheckResponse* resp) {
  auto* pre = resp->mutable_precondition();
  pre->mutable_status()->set_code(result.status_code);
  if (!result.status_message.empty()) {
    setStatusMessage(result.status_message, pre->mutable_status());
  }
  setDuration(result.valid_duration, pre->mutable_valid_duration());
  pre->set_valid_use_count(result.valid_use_count);
  api::encodeReferences(refs, gwc, pre->mutable_referenced_attributes());
  if (!result.request_header_operations.empty() || !result.response_header_operations.empty()) {
    auto* route = pre->mutable_route_directive();
    for (const auto& op : result.request_header_operations) {
      auto* h = route->add_request_header_operations();
      h->set_name(op.name);
      h->set_value(op.value);
      h->set_operation(static_cast<istio::mixer::v1::HeaderOperation::Operation>(op.op));
    }
    for (const auto& op : result.response_header_operations) {
      auto* h = route->add_response_header_operations();
      h->set_name(op.name);
      h->set_value(op.value);
      h->set_operation(static_cast<istio::mixer::v1::HeaderOperation::Operation>(op.op));
    }
  }
}

// A Check with quotas, from the moment its quota calls go out until the last one answers. The
// response's bytes are its own (the thread's buffers are reused by the next call meanwhile): the
// precondition, serialized when the calls go out, then each quota's result, appended by whoever
// brings the outstanding count to zero (the last adapter thread, or the request thread if every
// adapter answered at once), which also finishes the call. Each adapter answer goes into its own
// slot. Thread-safe as described.
struct PendingQuotas {
  struct Slot final : runtime::QuotaReceiver {
    PendingQuotas* pending = nullptr;
    std::string name;               // the quota's, the key of its result
    std::string references;         // its ReferencedAttributes, encoded when its call went out
    runtime::QuotaDecision result;  // written by the adapter's completion only

    void done(runtime::QuotaDecision decision) override {
      result = std::move(decision);
      pending->release();
    }
  };

  runtime::DispatcherConstSharedPtr dispatcher;  // keeps the handlers alive until the end
  // The call's sink when every adapter answered during decideCheck, else the detached one (which
  // lives until finish()); set by the request thread before it releases its count.
  MixerService::CheckSink* sink = nullptr;
  ServerMetrics* metrics = nullptr;
  std::atomic<uint64_t>* unmatched_logs = nullptr;
  std::string bytes;  // the CheckResponse: its precondition, then the quotas' results
  // A Check rarely asks more than two quotas. Slots beyond `used` are kept for later calls.
  absl::InlinedVector<Slot, 2> slots;
  size_t used = 0;
  std::atomic<size_t> outstanding{0};

  // Readies `n` slots, and this thread's count and theirs.
  void start(size_t n) {
    if (slots.size() < n) {
      slots.resize(n);
    }
    used = n;
    for (size_t i = 0; i < n; ++i) {
      slots[i].pending = this;
      slots[i].result = {};
    }
    outstanding.store(n + 1, std::memory_order_relaxed);
  }

  // Called once per answered quota and once by the request thread when every call is out.
  void release() {
    if (outstanding.fetch_sub(1, std::memory_order_acq_rel) != 1) {
      return;
    }
    for (size_t i = 0; i < used; ++i) {
      const Slot& slot = slots[i];
      if (!slot.result.matched) {
        metrics->quotaUnmatched().Increment();
        if (logSampled(*unmatched_logs)) {
          MIXER_LOG(Warn) << "requested quota '" << slot.name
                          << "' is not handled by any rule: nothing granted";
        }
      }
      appendQuotaResult(slot, &bytes);
    }
    sink->finish(grpc::Status::OK, bytes);
    recycle(this);
  }

  // A new one, or the one the calling thread kept from its last finished Check, with the storage
  // of its strings (the response, the slots' names and references).
  static PendingQuotas* make() {
    return t_spare.pending != nullptr ? std::exchange(t_spare.pending, nullptr) : new PendingQuotas;
  }

 private:
  // CheckResponse.quotas' entry for `slot` (field 3, a map entry: key 1, value 2), as protobuf
  // writes a QuotaResult: valid_duration (1) and granted_amount (2) when the quota matched a rule,
  // referenced_attributes (5) always, status (6) when the quota failed. proto3: fields holding
  // their default are not written.
  static void appendQuotaResult(const Slot& slot, std::string* out) {
    using base::WireType;
    thread_local std::string value;
    thread_local std::string entry;
    value.clear();
    entry.clear();
    const runtime::QuotaDecision& qr = slot.result;
    if (qr.matched) {
      char duration[2 * (1 + base::kMaxVarintBytes)];
      size_t n = 0;
      if (qr.valid_duration.seconds != 0) {
        duration[n++] = (1 << 3) | static_cast<char>(WireType::Varint);
        n += base::encodeVarint(static_cast<uint64_t>(qr.valid_duration.seconds), duration + n);
      }
      if (qr.valid_duration.nanos != 0) {
        duration[n++] = (2 << 3) | static_cast<char>(WireType::Varint);
        n += base::encodeVarint(
            static_cast<uint64_t>(static_cast<int64_t>(qr.valid_duration.nanos)), duration + n);
      }
      base::appendLenField(1, std::string_view(duration, n), &value);
      if (qr.granted_amount != 0) {
        base::appendInt64Field(2, qr.granted_amount, &value);
      }
    }
    base::appendLenField(5, slot.references, &value);
    if (qr.matched && qr.status_code != 0) {
      thread_local std::string status;
      status.clear();
      base::appendInt64Field(1, qr.status_code, &status);
      if (!qr.status_message.empty()) {
        std::string sanitized;
        base::appendLenField(2, validStatusMessage(qr.status_message, &sanitized), &status);
      }
      base::appendLenField(6, status, &value);
    }
    base::appendLenField(1, slot.name, &entry);
    base::appendLenField(2, value, &entry);
    base::appendLenField(3, entry, out);
  }

  // Keeps `p` for this thread's next make() when the thread keeps none; it holds no call then.
  static void recycle(PendingQuotas* p) {
    p->dispatcher.reset();
    p->sink = nullptr;
    if (t_spare.pending == nullptr) {
      t_spare.pending = p;
    } else {
      delete p;
    }
  }
  struct Spare {
    PendingQuotas* pending = nullptr;
    ~Spare() { delete pending; }
  };
  static thread_local Spare t_spare;
};

thread_local PendingQuotas::Spare PendingQuotas::t_spare;

}  // namespace

void MixerService::decideCheck(std::string_view request, CheckSink* sink, const CallControl& call) {
  ThreadState& ts = threadState();
  ts.check.clear();
  if (auto s = api::parseCheckRequest(request, &ts.check, limits_); !s.ok()) {
    sink->finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(s.message())), {});
    return;
  }
  // Quota names are echoed as the keys of the response's quota map, a proto3 string: one that is
  // not UTF-8 would make an invalid response (and protobuf would log it on every request).
  for (size_t i = 0; i < ts.check.quotas.size(); ++i) {
    if (!base::isValidUtf8(ts.check.quotas[i].name)) {
      sink->finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                base::strCat("quotas: name #", i + 1, " is not valid UTF-8")),
                   {});
      return;
    }
  }
  const uint32_t gwc = ts.check.global_word_count;
  if (gwc > api::kGlobalWordCount) {
    sink->finish(dictionaryMismatch(gwc), {});
    return;
  }
  // The configuration for the whole call, even if a reload swaps it meanwhile.
  const runtime::DispatcherConstSharedPtr dispatcher = dispatchers_->current();
  attribute::AttributeBag& bag = ts.bagFor(dispatcher->snapshot().vocabulary());
  bag.clear();
  if (auto s = api::decodeCheckAttributes(&ts.check, &bag, limits_); !s.ok()) {
    sink->finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(s.message())), {});
    return;
  }
  if (call.caller != nullptr) {
    security::tls::applyCaller(*call.caller, &bag);
  }
  if (auto stop = stopped(call, ServerMetrics::kCheck, "after decoding"); !stop.ok()) {
    sink->finish(stop, {});
    return;
  }

  ts.refs.clear();
  dispatcher->generate(&bag, &ts.refs);
  const size_t before_check = ts.refs.mark();
  const runtime::CheckDecision result = dispatcher->check(bag, &ts.refs, call.deadline);
  if (result.deadline_exceeded) {
    sink->finish(deadlineExceeded(ServerMetrics::kCheck, "during the check"), {});
    return;
  }

  if (result.status_code != 0 || ts.check.quotas.empty()) {
    // No quota to ask: the whole answer is known now, built on the thread's arena.
    ts.arena.Reset();
    CheckResponse& resp = *google::protobuf::Arena::CreateMessage<CheckResponse>(&ts.arena);
    fillPrecondition(result, ts.refs, gwc, &resp);
    thread_local std::string bytes;
    bytes.clear();
    resp.SerializeToString(&bytes);
    sink->finish(grpc::Status::OK, bytes);
    return;
  }

  // Quotas may go to adapters that answer later (Redis): the call no longer holds this thread
  // while it waits. The precondition is known now: its bytes start the response.
  auto* pending = PendingQuotas::make();
  pending->dispatcher = dispatcher;
  pending->metrics = metrics_;
  pending->unmatched_logs = &unmatched_quota_logs_;
  ts.arena.Reset();
  CheckResponse& resp = *google::protobuf::Arena::CreateMessage<CheckResponse>(&ts.arena);
  fillPrecondition(result, ts.refs, gwc, &resp);
  pending->bytes.clear();
  resp.AppendToString(&pending->bytes);
  const size_t n = ts.check.quotas.size();
  pending->start(n);
  for (size_t i = 0; i < n; ++i) {
    const api::QuotaRequest& q = ts.check.quotas[i];
    PendingQuotas::Slot& slot = pending->slots[i];
    slot.name.assign(q.name.data(), q.name.size());
    // Each quota's references start from what was read before the check, as in Istio.
    ts.refs.restore(before_check);
    const runtime::QuotaRequest args{q.name, q.amount, q.best_effort, ts.check.deduplication_id,
                                     call.deadline};
    dispatcher->quota(bag, args, &ts.refs, &slot);
    // What the quota read is known once the call returns; the adapter's answer may still be out.
    slot.references.clear();
    api::appendReferences(ts.refs, gwc, &slot.references);
  }
  // Every adapter that answered at once (memquota) has released its count: with only this
  // thread's left, the Check is finished here, on the sink it came with. Otherwise the sink is
  // detached so that the call outlives this function (an adapter answering meanwhile only makes
  // the detach unnecessary: the last count is this thread's either way).
  pending->sink = pending->outstanding.load(std::memory_order_acquire) == 1 ? sink : sink->detach();
  pending->release();
}

grpc::Status MixerService::checkInProcess(std::string_view request, std::string* response_bytes,
                                          const CallControl& call) {
  WaitingCallSink sink(response_bytes);
  decideCheck(request, &sink, call);
  return sink.wait();
}

grpc::Status MixerService::reportInProcess(std::string_view request, const CallControl& call) {
  ThreadState& ts = threadState();
  ts.report.clear();
  if (auto s = api::parseReportRequest(request, &ts.report, limits_); !s.ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(s.message()));
  }
  if (ts.report.global_word_count > api::kGlobalWordCount) {
    return dictionaryMismatch(ts.report.global_word_count);
  }
  const runtime::DispatcherConstSharedPtr dispatcher = dispatchers_->current();
  attribute::AttributeBag& bag = ts.bagFor(dispatcher->snapshot().vocabulary());
  bag.clear();
  ts.pending.batches.clear();
  const bool independent = ts.report.semantics == api::ReportRequestView::Semantics::Independent;
  for (size_t i = 0; i < ts.report.records.size(); ++i) {
    if (independent && i > 0) {
      bag.clear();
    }
    if (auto s = api::decodeReportRecord(&ts.report, i, &bag, limits_); !s.ok()) {
      // Entries before this one were evaluated: deliver them, then reject the rest.
      dispatcher->flushReports(&ts.pending);
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          base::strCat(s.message(), " (", i, " earlier entries were accepted)"));
    }
    if (call.caller != nullptr) {
      security::tls::applyCaller(*call.caller, &bag);
    }
    // The first boundary comes after the first entry is decoded, so that a client over a limit
    // in any entry hears of it rather than of its deadline.
    grpc::Status stop = stopped(call, ServerMetrics::kReport, "between entries");
    if (stop.ok()) {
      dispatcher->generate(&bag, nullptr, &ts.generated);
      if (!dispatcher->report(bag, &ts.pending, call.deadline)) {
        stop = deadlineExceeded(ServerMetrics::kReport, "during an entry");
      }
      // The next record is a delta over what was decoded, not over what was generated.
      for (const attribute::AttributeId id : ts.generated) {
        bag.erase(id);
      }
      ts.generated.clear();
    }
    if (!stop.ok()) {
      // As for a bad entry: what was evaluated is delivered, the rest is not.
      dispatcher->flushReports(&ts.pending);
      return grpc::Status(stop.error_code(), base::strCat(stop.error_message(), " (", i,
                                                          " earlier entries were accepted)"));
    }
    metrics_->reportRecords().Increment();
  }
  dispatcher->flushReports(&ts.pending);
  return grpc::Status::OK;
}

void MixerService::noteInvalid(ServerMetrics::Method method, const grpc::ServerContextBase& context,
                               const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    noteInvalid(method, context.peer(), status);
  }
}

void MixerService::noteInvalid(ServerMetrics::Method method, std::string_view peer,
                               const grpc::Status& status) {
  if (status.error_code() != grpc::StatusCode::INVALID_ARGUMENT) {
    return;
  }
  metrics_->invalidRequests(method).Increment();
  if (logSampled(invalid_request_logs_)) {
    MIXER_LOG(Warn) << (method == ServerMetrics::kCheck ? "Check" : "Report") << " from " << peer
                    << " rejected: " << status.error_message();
  }
}

void MixerService::serveCheck(const grpc::ServerContextBase& context,
                              const grpc::ByteBuffer& request, CheckSink* sink) {
  grpc::Status status = checkSize(request.Length(), ServerMetrics::kCheck);
  security::tls::Caller caller;
  if (status.ok() && gate_ != nullptr) {
    status = gate_->admit(context, security::tls::Api::kCheck, &caller);
  }
  grpc::Slice slice;
  if (status.ok() && !flatten(request, &slice)) {
    status = grpc::Status(grpc::StatusCode::INTERNAL, "cannot read the request bytes");
  }
  if (status.ok()) {
    decideCheck(view(slice), sink,
                CallControl{runtime::CallDeadline(context.deadline()),
                            gate_ != nullptr ? &caller : nullptr});
  } else {
    sink->finish(status, {});
  }
}

grpc::Status MixerService::serveReport(const grpc::ServerContextBase& context,
                                       const grpc::ByteBuffer& request) {
  grpc::Status status = checkSize(request.Length(), ServerMetrics::kReport);
  security::tls::Caller caller;
  if (status.ok() && gate_ != nullptr) {
    // A refused Report reaches no adapter: it is answered before its bytes are read.
    status = gate_->admit(context, security::tls::Api::kReport, &caller);
  }
  grpc::Slice slice;
  if (status.ok() && !flatten(request, &slice)) {
    status = grpc::Status(grpc::StatusCode::INTERNAL, "cannot read the request bytes");
  }
  if (status.ok()) {
    status = reportInProcess(view(slice), CallControl{runtime::CallDeadline(context.deadline()),
                                                      gate_ != nullptr ? &caller : nullptr});
  }
  noteInvalid(ServerMetrics::kReport, context, status);
  return status;
}

}  // namespace mixer::server
