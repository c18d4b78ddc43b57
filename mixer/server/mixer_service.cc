#include "mixer/server/mixer_service.h"

#include <chrono>

#include "mixer/api/attribute_encoder.h"
#include "mixer/api/global_dictionary.h"
#include "mixer/api/request_decoder.h"
#include "mixer/common/log.h"
#include "mixer/common/str_cat.h"

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
                      strCat("inconsistent global dictionary versions used: mixer knows ",
                             api::kGlobalWordCount, " words, caller knows ", words));
}

void setDuration(const attribute::Duration& d, google::protobuf::Duration* out) {
  out->set_seconds(d.seconds);
  out->set_nanos(d.nanos);
}

// Flattens a gRPC byte buffer into one slice (no copy when it already is one).
bool flatten(const grpc::ByteBuffer* buffer, grpc::Slice* slice) {
  return buffer->TrySingleSlice(slice).ok() || buffer->DumpToSingleSlice(slice).ok();
}

std::string_view view(const grpc::Slice& s) {
  return {reinterpret_cast<const char*>(s.begin()), s.size()};
}

class CallTimer {
 public:
  CallTimer(ServerMetrics* metrics, ServerMetrics::Method m)
      : metrics_(metrics), method_(m), start_(std::chrono::steady_clock::now()) {
    metrics_->callStarted(m);
  }
  void finish(const grpc::Status& s) {
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
    metrics_->callFinished(method_, s.error_code(), elapsed.count());
  }

 private:
  ServerMetrics* metrics_;
  ServerMetrics::Method method_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

MixerService::MixerService(const runtime::DispatcherSource* dispatchers, ServerMetrics* metrics,
                           size_t max_message_size)
    : dispatchers_(dispatchers), metrics_(metrics), max_message_size_(max_message_size) {}

grpc::Status MixerService::checkSize(size_t size, ServerMetrics::Method method) {
  if (size <= max_message_size_) {
    return grpc::Status::OK;
  }
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                      strCat("request is ", size, " bytes, over the limit of ", max_message_size_,
                             " bytes (--max-message-size)"));
}

grpc::Status MixerService::handleCheck(std::string_view request, std::string* response_bytes) {
  ThreadState& ts = threadState();
  ts.check.clear();
  if (auto s = api::parseCheckRequest(request, &ts.check); !s.ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(s.message()));
  }
  const uint32_t gwc = ts.check.global_word_count;
  if (gwc > api::kGlobalWordCount) {
    return dictionaryMismatch(gwc);
  }
  // The configuration for the whole call, even if a reload swaps it meanwhile.
  const runtime::DispatcherConstSharedPtr dispatcher = dispatchers_->current();
  attribute::AttributeBag& bag = ts.bagFor(dispatcher->snapshot().vocabulary());
  bag.clear();
  if (auto s = api::decodeCheckAttributes(&ts.check, &bag); !s.ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(s.message()));
  }

  ts.refs.clear();
  const size_t before_check = ts.refs.mark();
  const runtime::CheckResult result = dispatcher->check(bag, &ts.refs);

  ts.arena.Reset();
  CheckResponse& resp = *google::protobuf::Arena::CreateMessage<CheckResponse>(&ts.arena);
  auto* pre = resp.mutable_precondition();
  pre->mutable_status()->set_code(result.status_code);
  if (!result.status_message.empty()) {
    pre->mutable_status()->set_message(result.status_message);
  }
  setDuration(result.valid_duration, pre->mutable_valid_duration());
  pre->set_valid_use_count(result.valid_use_count);
  api::encodeReferences(ts.refs, gwc, pre->mutable_referenced_attributes());
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

  if (result.status_code == 0) {
    for (const api::QuotaRequest& q : ts.check.quotas) {
      // Each quota's references start from what was read before the check, as in Istio.
      ts.refs.restore(before_check);
      const runtime::QuotaArgs args{q.name, q.amount, q.best_effort, ts.check.deduplication_id};
      const runtime::QuotaResult qr = dispatcher->quota(bag, args, &ts.refs);
      auto& out = (*resp.mutable_quotas())[std::string(q.name)];
      if (qr.matched) {
        out.set_granted_amount(qr.granted_amount);
        setDuration(qr.valid_duration, out.mutable_valid_duration());
        if (qr.status_code != 0) {
          out.mutable_status()->set_code(qr.status_code);
          out.mutable_status()->set_message(qr.status_message);
        }
      } else {
        metrics_->quotaUnmatched().Increment();
        if (logSampled(unmatched_quota_logs_)) {
          MIXER_LOG(Warn) << "requested quota '" << q.name
                          << "' is not handled by any rule: nothing granted";
        }
      }
      api::encodeReferences(ts.refs, gwc, out.mutable_referenced_attributes());
    }
  }
  response_bytes->clear();
  resp.SerializeToString(response_bytes);
  return grpc::Status::OK;
}

grpc::Status MixerService::handleReport(std::string_view request) {
  ThreadState& ts = threadState();
  ts.report.clear();
  if (auto s = api::parseReportRequest(request, &ts.report); !s.ok()) {
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
    if (auto s = api::decodeReportRecord(&ts.report, i, &bag); !s.ok()) {
      // Entries before this one were evaluated: deliver them, then reject the rest.
      dispatcher->flushReports(&ts.pending);
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          strCat(s.message(), " (", i, " earlier entries were accepted)"));
    }
    dispatcher->report(bag, &ts.pending);
    metrics_->reportRecords().Increment();
  }
  dispatcher->flushReports(&ts.pending);
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* MixerService::Check(grpc::CallbackServerContext* context,
                                              const grpc::ByteBuffer* request,
                                              grpc::ByteBuffer* response) {
  CallTimer timer(metrics_, ServerMetrics::kCheck);
  grpc::Status status = checkSize(request->Length(), ServerMetrics::kCheck);
  grpc::Slice slice;
  if (status.ok() && !flatten(request, &slice)) {
    status = grpc::Status(grpc::StatusCode::INTERNAL, "cannot read the request bytes");
  }
  if (status.ok()) {
    thread_local std::string bytes;
    status = handleCheck(view(slice), &bytes);
    if (status.ok()) {
      grpc::Slice out(bytes.data(), bytes.size());
      *response = grpc::ByteBuffer(&out, 1);
    }
  }
  if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    metrics_->invalidRequests(ServerMetrics::kCheck).Increment();
    if (logSampled(invalid_request_logs_)) {
      MIXER_LOG(Warn) << "Check from " << context->peer()
                      << " rejected: " << status.error_message();
    }
  }
  timer.finish(status);
  auto* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* MixerService::Report(grpc::CallbackServerContext* context,
                                               const grpc::ByteBuffer* request,
                                               grpc::ByteBuffer* response) {
  CallTimer timer(metrics_, ServerMetrics::kReport);
  grpc::Status status = checkSize(request->Length(), ServerMetrics::kReport);
  grpc::Slice slice;
  if (status.ok() && !flatten(request, &slice)) {
    status = grpc::Status(grpc::StatusCode::INTERNAL, "cannot read the request bytes");
  }
  if (status.ok()) {
    status = handleReport(view(slice));
    if (status.ok()) {
      grpc::Slice out;  // ReportResponse is empty: zero bytes
      *response = grpc::ByteBuffer(&out, 1);
    }
  }
  if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    metrics_->invalidRequests(ServerMetrics::kReport).Increment();
    if (logSampled(invalid_request_logs_)) {
      MIXER_LOG(Warn) << "Report from " << context->peer()
                      << " rejected: " << status.error_message();
    }
  }
  timer.finish(status);
  auto* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

}  // namespace mixer::server
