#include "frontends/envoy/envoy_services.h"

#include <condition_variable>
#include <mutex>

#include "absl/container/inlined_vector.h"
#include "absl/strings/numbers.h"
#include "base/log.h"
#include "base/str_cat.h"
#include "base/utf8.h"
#include "mixer/server/byte_buffer.h"

namespace frontends::envoy {
namespace {

namespace auth = ::envoy::service::auth::v3;
namespace rls = ::envoy::service::ratelimit::v3;
namespace als = ::envoy::service::accesslog::v3;
using mixer::attribute::AttributeBag;
using mixer::base::strCat;
using mixer::runtime::DispatcherConstSharedPtr;
using mixer::server::flatten;
using mixer::server::view;

google::protobuf::ArenaOptions arenaOptions(char* block, size_t size) {
  google::protobuf::ArenaOptions o;
  o.initial_block = block;
  o.initial_block_size = size;
  return o;
}

// Per-thread state, reused across calls: the bag and attribute ids of the current vocabulary,
// the mapper's scratch storage, and an arena whose first block is part of this state.
struct ThreadState {
  mixer::attribute::VocabularyConstSharedPtr vocabulary;
  std::unique_ptr<AttributeBag> bag;
  std::unique_ptr<AttributeIds> ids;
  AttributeMapper mapper;
  CheckRequestView authz;
  mixer::attribute::AttributeReferences refs;
  mixer::runtime::PendingReports pending;
  alignas(16) char arena_block[32 * 1024];
  google::protobuf::Arena arena{arenaOptions(arena_block, sizeof(arena_block))};
  // Access log messages (Envoy batches up to ~100 entries): a larger first block, on the heap,
  // made on the thread's first message, so that parsing one allocates nothing more.
  std::unique_ptr<char[]> log_block;
  std::unique_ptr<google::protobuf::Arena> log_arena;

  google::protobuf::Arena& logArena() {
    if (!log_arena) {
      constexpr size_t kSize = 512 * 1024;
      log_block.reset(new char[kSize]);
      log_arena = std::make_unique<google::protobuf::Arena>(arenaOptions(log_block.get(), kSize));
    }
    log_arena->Reset();
    return *log_arena;
  }

  AttributeBag& bagFor(const mixer::attribute::VocabularyConstSharedPtr& v, const Options& o) {
    if (vocabulary != v) {
      vocabulary = v;
      bag = std::make_unique<AttributeBag>(v);
      ids = std::make_unique<AttributeIds>(*v);
      mapper = AttributeMapper(o.limits);
    }
    bag->clear();
    return *bag;
  }
};

ThreadState& threadState() {
  thread_local ThreadState state;
  return state;
}

grpc::Status invalid(std::string message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(message));
}

void setMessage(const std::string& message, google::rpc::Status* status) {
  status->set_message(mixer::base::isValidUtf8(message) ? message
                                                        : mixer::base::utf8Sanitized(message));
}

void addHeader(
    const mixer::runtime::HeaderOp& op,
    google::protobuf::RepeatedPtrField<::envoy::config::core::v3::HeaderValueOption>* out) {
  using ::envoy::config::core::v3::HeaderValueOption;
  auto* h = out->Add();
  // Names and values may carry what a client sent; HeaderValue's are proto3 strings.
  h->mutable_header()->set_key(
      mixer::base::isValidUtf8(op.name) ? op.name : mixer::base::utf8Sanitized(op.name));
  h->mutable_header()->set_value(
      mixer::base::isValidUtf8(op.value) ? op.value : mixer::base::utf8Sanitized(op.value));
  const bool append = op.op == mixer::config::HeaderOperation::Op::Append;
  h->mutable_append()->set_value(append);
  h->set_append_action(append ? HeaderValueOption::APPEND_IF_EXISTS_OR_ADD
                              : HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
}

// The ext_authz answer for a Check decision (and, when the check passed, its quotas' outcome).
void fillAuthzResponse(const mixer::runtime::CheckDecision& result, int32_t code,
                       const std::string& message, auth::CheckResponse* resp) {
  auto* status = resp->mutable_status();
  status->set_code(code);
  if (!message.empty()) setMessage(message, status);
  if (code == 0) {
    auto* ok = resp->mutable_ok_response();
    for (const auto& op : result.request_header_operations) {
      if (op.op == mixer::config::HeaderOperation::Op::Remove) {
        ok->add_headers_to_remove(op.name);
      } else {
        addHeader(op, ok->mutable_headers());
      }
    }
    // ext_authz cannot remove response headers: Remove operations on responses are not sent.
    for (const auto& op : result.response_header_operations) {
      if (op.op != mixer::config::HeaderOperation::Op::Remove) {
        addHeader(op, ok->mutable_response_headers_to_add());
      }
    }
    return;
  }
  auto* denied = resp->mutable_denied_response();
  denied->mutable_status()->set_code(
      static_cast<::envoy::type::v3::StatusCode>(httpStatusForCode(code)));
  denied->set_body(status->message());
  for (const auto& op : result.response_header_operations) {
    if (op.op != mixer::config::HeaderOperation::Op::Remove)
      addHeader(op, denied->mutable_headers());
  }
}

// One quota call whose answer may come on another thread.
struct QuotaSlot {
  std::string name;
  int64_t amount = 0;
  mixer::runtime::QuotaDecision result;
};

// A call with quotas out, from the first quota request until the last answer. Whoever brings
// `outstanding` to zero (the last adapter thread, or the request thread) builds the response,
// finishes the call and deletes this.
struct PendingCall {
  enum class Kind { Authz, RateLimit };
  Kind kind;
  DispatcherConstSharedPtr dispatcher;  // keeps the handlers alive until the end
  CallSink* sink = nullptr;             // detached
  mixer::runtime::CheckDecision check;  // ext_authz: the check's result (OK)
  absl::InlinedVector<QuotaSlot, 4> slots;
  std::atomic<size_t> outstanding{0};

  void release() {
    if (outstanding.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    thread_local std::string bytes;
    bytes.clear();
    grpc::Status status = kind == Kind::Authz ? finishAuthz(&bytes) : finishRateLimit(&bytes);
    sink->finish(status, bytes);
    delete this;
  }

  grpc::Status finishAuthz(std::string* bytes) {
    int32_t code = 0;
    std::string message;
    for (const QuotaSlot& s : slots) {
      const auto& r = s.result;
      if (!r.matched) continue;  // a quota no rule handles constrains nothing
      if (r.status_code != 0) {
        code = r.status_code;
        message = strCat("quota ", s.name, ": ", r.status_message);
        break;
      }
      if (r.granted_amount < s.amount) {
        code = 8;  // RESOURCE_EXHAUSTED
        message = strCat("quota ", s.name, " exhausted: ", r.granted_amount, " of ", s.amount,
                         " granted");
        break;
      }
    }
    auth::CheckResponse resp;
    fillAuthzResponse(check, code, message, &resp);
    resp.SerializeToString(bytes);
    return grpc::Status::OK;
  }

  grpc::Status finishRateLimit(std::string* bytes) {
    rls::RateLimitResponse resp;
    bool over = false;
    const QuotaSlot* closest = nullptr;  // the limited descriptor with the least left
    for (const QuotaSlot& s : slots) {
      const auto& r = s.result;
      auto* st = resp.add_statuses();
      if (!r.matched) {  // no rule limits this descriptor: OK, as envoyproxy/ratelimit
        st->set_code(rls::RateLimitResponse::OK);
        continue;
      }
      if (r.status_code != 0) {
        // The quota backend failed: the call fails, and Envoy's failure_mode_deny decides.
        return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            strCat("quota ", s.name, ": ", r.status_message));
      }
      const bool ok = r.granted_amount >= s.amount;
      over |= !ok;
      st->set_code(ok ? rls::RateLimitResponse::OK : rls::RateLimitResponse::OVER_LIMIT);
      st->mutable_duration_until_reset()->set_seconds(r.valid_duration.seconds);
      st->mutable_duration_until_reset()->set_nanos(r.valid_duration.nanos);
      if (r.limit >= 0) {
        auto* lim = st->mutable_current_limit();
        lim->set_name(s.name);
        lim->set_requests_per_unit(static_cast<uint32_t>(std::min<int64_t>(r.limit, UINT32_MAX)));
        lim->set_unit(unitFor(r.window));
      }
      if (r.remaining >= 0) {
        st->set_limit_remaining(static_cast<uint32_t>(std::min<int64_t>(r.remaining, UINT32_MAX)));
        if (closest == nullptr || r.remaining < closest->result.remaining) closest = &s;
      }
    }
    resp.set_overall_code(over ? rls::RateLimitResponse::OVER_LIMIT : rls::RateLimitResponse::OK);
    if (closest != nullptr) {
      // As envoyproxy/ratelimit sends them (draft-ietf-httpapi-ratelimit-headers-03).
      const auto& r = closest->result;
      const int64_t window = std::max<int64_t>(r.window.seconds, 1);
      const int64_t reset = r.valid_duration.seconds + (r.valid_duration.nanos > 0 ? 1 : 0);
      auto add = [&resp](const char* k, std::string v) {
        auto* h = resp.add_response_headers_to_add();
        h->set_key(k);
        h->set_value(std::move(v));
      };
      add("X-RateLimit-Limit", strCat(r.limit, ", ", r.limit, ";w=", window));
      add("X-RateLimit-Remaining", strCat(r.remaining));
      add("X-RateLimit-Reset", strCat(reset));
    }
    resp.SerializeToString(bytes);
    return grpc::Status::OK;
  }

  static rls::RateLimitResponse::RateLimit::Unit unitFor(mixer::attribute::Duration window) {
    using U = rls::RateLimitResponse::RateLimit;
    switch (window.seconds) {
      case 1:
        return U::SECOND;
      case 60:
        return U::MINUTE;
      case 3600:
        return U::HOUR;
      case 86400:
        return U::DAY;
      default:
        return U::UNKNOWN;
    }
  }
};

constexpr security::tls::Api kServiceApis[] = {
    security::tls::Api::kExtAuthz, security::tls::Api::kRateLimit, security::tls::Api::kAccessLog};
constexpr const char* kMethodLabels[] = {"ext_authz Check", "ShouldRateLimit", "StreamAccessLogs"};

}  // namespace

int httpStatusForCode(int32_t code) {
  switch (code) {
    case 16:
      return 401;  // UNAUTHENTICATED
    case 8:
      return 429;  // RESOURCE_EXHAUSTED
    default:
      return 403;  // PERMISSION_DENIED and anything else
  }
}

EnvoyFrontends::EnvoyFrontends(const mixer::runtime::DispatcherSource* dispatchers, Options options)
    : dispatchers_(dispatchers), options_(std::move(options)) {
  if (!options_.registry) return;
  // The family mixs' Mixer API counts into (merged by name), with the go-grpc-prometheus labels.
  auto& handled = prometheus::BuildCounter()
                      .Name("grpc_server_handled_total")
                      .Help("Total number of RPCs completed on the server, regardless of success.")
                      .Register(*options_.registry);
  static constexpr const char* kMethods[] = {"Check", "ShouldRateLimit", "StreamAccessLogs"};
  static constexpr const char* kTypes[] = {"unary", "unary", "client_stream"};
  static constexpr const char* kCodeNames[] = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  for (int s = 0; s < 3; ++s) {
    for (int c = 0; c < kCodeCount; ++c) {
      handled_[s][c] = &handled.Add({{"grpc_service", kServiceNames[s]},
                                     {"grpc_method", kMethods[s]},
                                     {"grpc_type", kTypes[s]},
                                     {"grpc_code", kCodeNames[c]}});
    }
  }
  log_entries_ = &prometheus::BuildCounter()
                      .Name("mixer_envoy_access_log_entries_total")
                      .Help("HTTP and TCP entries accepted on Envoy access log streams.")
                      .Register(*options_.registry)
                      .Add({});
}

grpc::Status EnvoyFrontends::checkSize(size_t size) const {
  if (size <= options_.max_message_size) return grpc::Status::OK;
  return invalid(strCat("request is ", size, " bytes, over the limit of ",
                        options_.max_message_size, " bytes (--max-message-size)"));
}

void EnvoyFrontends::authzCheck(std::string_view request, CallSink* sink,
                                const security::tls::Caller* caller) {
  ThreadState& ts = threadState();
  CheckRequestView& req = ts.authz;
  if (auto s = parseAuthzCheckRequest(request, &req); !s.ok()) {
    sink->finish(invalid(std::string(s.message())), {});
    return;
  }
  const DispatcherConstSharedPtr dispatcher = dispatchers_->current();
  AttributeBag& bag = ts.bagFor(dispatcher->snapshot().vocabulary(), options_);
  if (auto s = ts.mapper.mapCheck(req, *ts.ids, &bag); !s.ok()) {
    sink->finish(invalid(std::string(s.message())), {});
    return;
  }
  if (caller != nullptr) {
    security::tls::applyCaller(*caller, &bag);
  }
  // Quotas asked through context_extensions: "quota.<name>": "<amount>".
  absl::InlinedVector<std::pair<std::string_view, int64_t>, 2> quotas;
  for (const auto& [key, value] : req.context_extensions) {
    if (!key.starts_with(kQuotaExtensionPrefix)) continue;
    int64_t amount = 1;
    if (!value.empty() &&
        (!absl::SimpleAtoi(absl::string_view(value.data(), value.size()), &amount) || amount < 0)) {
      sink->finish(invalid(strCat("context_extensions[\"", key, "\"]: '", value,
                                  "' is not a quota amount (a non-negative integer)")),
                   {});
      return;
    }
    quotas.emplace_back(key.substr(kQuotaExtensionPrefix.size()), amount);
  }
  ts.refs.clear();
  dispatcher->generate(&bag, &ts.refs);
  mixer::runtime::CheckDecision result = dispatcher->check(bag, &ts.refs);
  if (result.status_code != 0 || quotas.empty()) {
    ts.arena.Reset();
    auto* resp = google::protobuf::Arena::CreateMessage<auth::CheckResponse>(&ts.arena);
    fillAuthzResponse(result, result.status_code, result.status_message, resp);
    thread_local std::string bytes;
    bytes.clear();
    resp->SerializeToString(&bytes);
    sink->finish(grpc::Status::OK, bytes);
    return;
  }
  auto* pending = new PendingCall;
  pending->kind = PendingCall::Kind::Authz;
  pending->dispatcher = dispatcher;
  pending->sink = sink->detach();
  pending->check = std::move(result);
  pending->slots.resize(quotas.size());
  pending->outstanding.store(quotas.size() + 1, std::memory_order_relaxed);
  const std::string_view request_id = req.id;
  for (size_t i = 0; i < quotas.size(); ++i) {
    QuotaSlot& slot = pending->slots[i];
    slot.name = std::string(quotas[i].first);
    slot.amount = quotas[i].second;
    const mixer::runtime::QuotaRequest args{slot.name, slot.amount, false, request_id};
    dispatcher->quota(bag, args, &ts.refs, [pending, &slot](mixer::runtime::QuotaDecision r) {
      slot.result = std::move(r);
      pending->release();
    });
  }
  pending->release();
}

void EnvoyFrontends::shouldRateLimit(std::string_view request, CallSink* sink,
                                     const security::tls::Caller* caller) {
  ThreadState& ts = threadState();
  ts.arena.Reset();
  auto* req = google::protobuf::Arena::CreateMessage<rls::RateLimitRequest>(&ts.arena);
  if (!req->ParseFromArray(request.data(), static_cast<int>(request.size()))) {
    sink->finish(invalid("malformed envoy.service.ratelimit.v3.RateLimitRequest"), {});
    return;
  }
  if (req->domain().empty()) {
    sink->finish(invalid("rate limit domain must not be empty"), {});
    return;
  }
  if (req->descriptors().empty()) {
    sink->finish(invalid("rate limit descriptor list must not be empty"), {});
    return;
  }
  if (static_cast<size_t>(req->descriptors_size()) > options_.limits.max_headers) {
    sink->finish(invalid(strCat("descriptors: ", req->descriptors_size(),
                                " descriptors, over the limit of ", options_.limits.max_headers)),
                 {});
    return;
  }
  const DispatcherConstSharedPtr dispatcher = dispatchers_->current();
  AttributeBag& bag = ts.bagFor(dispatcher->snapshot().vocabulary(), options_);
  // Every descriptor is checked before any quota is asked: a bad request charges nothing.
  for (int i = 0; i < req->descriptors_size(); ++i) {
    bag.clear();
    if (auto s = ts.mapper.mapDescriptor(req->domain(), req->descriptors(i), *ts.ids, &bag);
        !s.ok()) {
      sink->finish(invalid(strCat("descriptor #", i + 1, ": ", s.message())), {});
      return;
    }
  }
  const size_t n = req->descriptors_size();
  auto* pending = new PendingCall;
  pending->kind = PendingCall::Kind::RateLimit;
  pending->dispatcher = dispatcher;
  pending->sink = sink->detach();
  pending->slots.resize(n);
  pending->outstanding.store(n + 1, std::memory_order_relaxed);
  const int64_t request_hits = req->hits_addend() == 0 ? 1 : req->hits_addend();
  for (size_t i = 0; i < n; ++i) {
    const auto& d = req->descriptors(static_cast<int>(i));
    bag.clear();
    (void)ts.mapper.mapDescriptor(req->domain(), d, *ts.ids, &bag);  // checked above
    if (caller != nullptr) {
      security::tls::applyCaller(*caller, &bag);
    }
    QuotaSlot& slot = pending->slots[i];
    slot.name = req->domain();
    slot.amount = d.has_hits_addend()
                      ? static_cast<int64_t>(std::min<uint64_t>(d.hits_addend().value(), INT64_MAX))
                      : request_hits;
    ts.refs.clear();
    // No deduplication id: every RLS call counts.
    const mixer::runtime::QuotaRequest args{slot.name, slot.amount, false, {}};
    dispatcher->quota(bag, args, &ts.refs, [pending, &slot](mixer::runtime::QuotaDecision r) {
      slot.result = std::move(r);
      pending->release();
    });
  }
  pending->release();
}

grpc::Status EnvoyFrontends::accessLogs(std::string_view message, std::string* reporter_uid,
                                        size_t* accepted, const security::tls::Caller* caller) {
  ThreadState& ts = threadState();
  auto* msg = google::protobuf::Arena::CreateMessage<als::StreamAccessLogsMessage>(&ts.logArena());
  if (!msg->ParseFromArray(message.data(), static_cast<int>(message.size()))) {
    return invalid("malformed envoy.service.accesslog.v3.StreamAccessLogsMessage");
  }
  if (msg->has_identifier()) {
    *reporter_uid = msg->identifier().node().id();
  }
  const DispatcherConstSharedPtr dispatcher = dispatchers_->current();
  AttributeBag& bag = ts.bagFor(dispatcher->snapshot().vocabulary(), options_);
  ts.pending.batches.clear();
  const auto reporter = ts.ids->context_reporter_uid;
  auto each = [&](const auto& entries, auto map) -> grpc::Status {
    for (int i = 0; i < entries.size(); ++i) {
      bag.clear();
      if (auto s = map(entries.Get(i)); !s.ok()) {
        dispatcher->flushReports(&ts.pending);  // the entries before this one are kept
        return invalid(strCat("log_entry #", i + 1, ": ", s.message()));
      }
      if (!reporter_uid->empty()) {
        if (reporter != mixer::attribute::kNoAttribute) {
          bag.set(reporter, mixer::attribute::AttributeValue::string(*reporter_uid));
        }
      }
      if (caller != nullptr) {
        security::tls::applyCaller(*caller, &bag);
      }
      dispatcher->generate(&bag, nullptr);
      dispatcher->report(bag, &ts.pending);
      if (accepted != nullptr) ++*accepted;
    }
    return grpc::Status::OK;
  };
  grpc::Status status;
  if (msg->has_http_logs()) {
    status = each(msg->http_logs().log_entry(),
                  [&](const auto& e) { return ts.mapper.mapHttpEntry(e, *ts.ids, &bag); });
  } else if (msg->has_tcp_logs()) {
    status = each(msg->tcp_logs().log_entry(),
                  [&](const auto& e) { return ts.mapper.mapTcpEntry(e, *ts.ids, &bag); });
  }
  if (status.ok()) dispatcher->flushReports(&ts.pending);
  return status;
}

grpc::Status EnvoyFrontends::handleAuthzCheck(std::string_view request, std::string* response) {
  mixer::server::WaitingCallSink sink(response);
  authzCheck(request, &sink);
  return sink.wait();
}

grpc::Status EnvoyFrontends::handleRateLimit(std::string_view request, std::string* response) {
  mixer::server::WaitingCallSink sink(response);
  shouldRateLimit(request, &sink);
  return sink.wait();
}

void EnvoyFrontends::serveUnary(Service service, const grpc::ServerContextBase& context,
                                const grpc::ByteBuffer& request, CallSink* sink) {
  grpc::Status status = checkSize(request.Length());
  security::tls::Caller caller;
  if (status.ok() && gate_ != nullptr) {
    status = gate_->admit(context, kServiceApis[service], &caller);
  }
  grpc::Slice slice;
  if (status.ok() && !flatten(request, &slice)) {
    status = grpc::Status(grpc::StatusCode::INTERNAL, "cannot read the request bytes");
  }
  if (!status.ok()) {
    sink->finish(status, {});
    return;
  }
  const security::tls::Caller* proven = gate_ != nullptr ? &caller : nullptr;
  if (service == kAuthz) {
    authzCheck(view(slice), sink, proven);
  } else {
    shouldRateLimit(view(slice), sink, proven);
  }
}

void EnvoyFrontends::noteFinished(Service service, const grpc::ServerContextBase& context,
                                  const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    static std::atomic<uint64_t> logs{0};
    if (mixer::logSampled(logs)) {
      MIXER_LOG(Warn) << kMethodLabels[service] << " from " << context.peer()
                      << " rejected: " << status.error_message();
    }
  }
  countCall(service, status.error_code());
}

AccessLogStream::AccessLogStream(EnvoyFrontends* f, const grpc::ServerContextBase* context)
    : f_(f), context_(context) {}

grpc::Status AccessLogStream::admit() {
  const security::tls::CallerGate* gate = f_->callerGate();
  if (gate == nullptr) return grpc::Status::OK;
  grpc::Status admitted = gate->admit(*context_, security::tls::Api::kAccessLog, &caller_);
  if (!admitted.ok()) {
    f_->countCall(EnvoyFrontends::kAccessLog, admitted.error_code());
    return admitted;
  }
  gated_ = true;
  return grpc::Status::OK;
}

grpc::Status AccessLogStream::onMessage(const grpc::ByteBuffer& message) {
  grpc::Status status = f_->checkSize(message.Length());
  grpc::Slice slice;
  if (status.ok() && !flatten(message, &slice)) {
    status = grpc::Status(grpc::StatusCode::INTERNAL, "cannot read the message bytes");
  }
  if (status.ok()) {
    size_t accepted = 0;
    status = f_->accessLogs(view(slice), &reporter_uid_, &accepted, gated_ ? &caller_ : nullptr);
    entries_ += accepted;
    f_->countAccessLogEntries(accepted);
    ++messages_;
  }
  if (status.ok()) return status;
  static std::atomic<uint64_t> logs{0};
  if (mixer::logSampled(logs)) {
    MIXER_LOG(Warn) << "StreamAccessLogs from " << context_->peer()
                    << " ended: " << status.error_message() << " (" << entries_
                    << " earlier entries were accepted)";
  }
  f_->countCall(EnvoyFrontends::kAccessLog, status.error_code());
  return grpc::Status(status.error_code(),
                      strCat(status.error_message(), " (message #", messages_, "; ", entries_,
                             " earlier entries were accepted)"));
}

void AccessLogStream::onClosed() {
  f_->countCall(EnvoyFrontends::kAccessLog, grpc::StatusCode::OK);
}

}  // namespace frontends::envoy
