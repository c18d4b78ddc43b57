#include "mixer/adapter_host/handler.h"

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "mixer/adapter_host/host_services.h"
#include "mixer/adapter_host/loaded_adapter.h"

namespace mixer::adapter_host {

namespace internal {
// Shared by a handler and its in-flight calls, which may outlive it (a deadline timer, a late
// completion), so a call copies one pointer instead of the names.
struct CallSite {
  std::shared_ptr<const LoadedAdapter> adapter;
  std::string handler;
};

// A handler's `flush` hook as a FlushScope holds it: the scope may outlive the Handler (a
// configuration swapped out during the pass), so it keeps the adapter loaded and learns here
// whether close_handler began. `mu` is shared while the hook runs, exclusive to mark `closed`.
struct FlushSite {
  std::shared_ptr<const LoadedAdapter> adapter;
  void (*flush)(void*) = nullptr;
  void* raw = nullptr;
  std::shared_mutex mu;
  bool closed = false;  // guarded by mu
};
}  // namespace internal

namespace {

// Sizes of the result structs in ABI 1.0: an adapter may pass a larger (newer) struct, never a
// smaller one.
constexpr uint32_t kCheckResultSizeV1 =
    offsetof(mixer_check_result, valid_use_count) + sizeof(int32_t);
constexpr uint32_t kQuotaResultSizeV1 =
    offsetof(mixer_quota_result, valid_duration_ns) + sizeof(int64_t);
// ABI 1.1 appended the limit fields to the quota result.
constexpr uint32_t kQuotaResultSizeV1_1 = offsetof(mixer_quota_result, window_ns) + sizeof(int64_t);
constexpr uint32_t kReportResultSizeV1 = offsetof(mixer_report_result, message) + sizeof(void*);

constexpr int32_t kMaxRpcCode = 16;  // google.rpc.Code UNAUTHENTICATED

// The host's view of one call that crossed the ABI. Shared by the adapter's completion (through
// done_ctx), the deadline timer and the caller; whichever claims it first delivers the result.
template <class Result>
struct CallState {
  using Callback = std::function<void(Result)>;

  std::atomic<bool> claimed{false};
  std::atomic<uint64_t> timer_id{0};
  // The adapter's reference while its completion is pending (done_ctx is this state): set before
  // the hook, taken by the completion (or dropped when the hook refuses the call).
  std::shared_ptr<CallState> self;
  Callback callback;
  std::shared_ptr<const internal::CallSite> site;
  const char* call = "";
  int64_t quota_amount = 0;  // quota calls only: to validate the grant
  bool quota_best_effort = false;

  bool claim() { return !claimed.exchange(true); }

  std::string prefix() const {
    return absl::StrCat("adapter '", site->adapter->info().name, "' handler '", site->handler, "' ",
                        call, ": ");
  }
  void countError(const char* reason) const {
    site->adapter->services().countCallError(site->adapter->info().name, call, reason);
  }
  // Delivers the adapter's completion unless the deadline already answered.
  void complete(Result result, const char* error_reason) {
    if (!claim()) {
      countError("late_completion");
      return;
    }
    const uint64_t timer = timer_id.load();
    if (timer != 0) {
      site->adapter->services().executor()->cancel(timer);
    }
    if (error_reason != nullptr) {
      countError(error_reason);
    }
    callback(std::move(result));
  }
};

// The status for a failed call (a negative mixer_result), or nullopt for an unknown code.
std::optional<absl::Status> callFailure(mixer_result result, const std::string& prefix) {
  switch (result) {
    case MIXER_ERR_INVALID_ARGUMENT:
      return absl::InvalidArgumentError(prefix + "invalid argument");
    case MIXER_ERR_INTERNAL:
      return absl::InternalError(prefix + "internal adapter error");
    case MIXER_ERR_UNSUPPORTED:
      return absl::UnimplementedError(prefix + "not supported by the adapter");
    case MIXER_ERR_UNAVAILABLE:
      return absl::UnavailableError(prefix + "backend unavailable");
    case MIXER_ERR_DEADLINE:
      return absl::DeadlineExceededError(prefix + "adapter reported deadline exceeded");
    case MIXER_ERR_VERSION:
      return absl::FailedPreconditionError(prefix + "incompatible version");
    case MIXER_ERR_RESOURCE_EXHAUSTED:
      return absl::ResourceExhaustedError(prefix + "adapter out of resources");
    default:
      return std::nullopt;
  }
}

// Either a result, or (error_reason != nullptr) an error and the counter reason for it.
template <class AbiValue>
struct Outcome {
  AbiValue value;
  const char* error_reason = nullptr;
};

template <class AbiValue>
Outcome<AbiValue> failure(mixer_result result, const std::string& prefix) {
  std::optional<absl::Status> status = callFailure(result, prefix);
  if (!status.has_value()) {
    return {
        absl::InternalError(absl::StrCat(prefix, "invalid result: unknown result code ", result)),
        "invalid_result"};
  }
  return {*std::move(status), "adapter_error"};
}

template <class AbiValue>
Outcome<AbiValue> invalid(const std::string& prefix, const std::string& why) {
  return {absl::InternalError(absl::StrCat(prefix, "invalid result: ", why)), "invalid_result"};
}

std::string message(const char* text) { return text == nullptr ? std::string() : text; }

absl::Status rpcStatus(int32_t code, const char* text) {
  if (code == 0) {
    return absl::OkStatus();
  }
  return absl::Status(static_cast<absl::StatusCode>(code), message(text));
}

Outcome<absl::StatusOr<AdapterCheckResult>> checkOutcome(mixer_result result,
                                                         const mixer_check_result* r,
                                                         absl::FunctionRef<std::string()> prefix) {
  if (result != MIXER_OK) {
    return failure<absl::StatusOr<AdapterCheckResult>>(result, prefix());
  }
  if (r == nullptr) {
    return invalid<absl::StatusOr<AdapterCheckResult>>(prefix(), "null result");
  }
  if (r->struct_size < kCheckResultSizeV1) {
    return invalid<absl::StatusOr<AdapterCheckResult>>(
        prefix(), absl::StrCat("result struct_size ", r->struct_size, " is too small"));
  }
  if (r->status_code < 0 || r->status_code > kMaxRpcCode) {
    return invalid<absl::StatusOr<AdapterCheckResult>>(
        prefix(), absl::StrCat("unknown status code ", r->status_code));
  }
  if (r->valid_duration_ns < 0 || r->valid_use_count < 0) {
    return invalid<absl::StatusOr<AdapterCheckResult>>(
        prefix(), "negative valid_duration or valid_use_count");
  }
  AdapterCheckResult out;
  out.status = rpcStatus(r->status_code, r->message);
  out.valid_duration = absl::Nanoseconds(r->valid_duration_ns);
  out.valid_use_count = r->valid_use_count;
  return {std::move(out)};
}

Outcome<absl::StatusOr<AdapterQuotaResult>> quotaOutcome(mixer_result result,
                                                         const mixer_quota_result* r,
                                                         int64_t amount, bool best_effort,
                                                         absl::FunctionRef<std::string()> prefix) {
  if (result != MIXER_OK) {
    return failure<absl::StatusOr<AdapterQuotaResult>>(result, prefix());
  }
  if (r == nullptr) {
    return invalid<absl::StatusOr<AdapterQuotaResult>>(prefix(), "null result");
  }
  if (r->struct_size < kQuotaResultSizeV1) {
    return invalid<absl::StatusOr<AdapterQuotaResult>>(
        prefix(), absl::StrCat("result struct_size ", r->struct_size, " is too small"));
  }
  if (r->status_code < 0 || r->status_code > kMaxRpcCode) {
    return invalid<absl::StatusOr<AdapterQuotaResult>>(
        prefix(), absl::StrCat("unknown status code ", r->status_code));
  }
  if (r->granted_amount < 0 || r->granted_amount > amount) {
    return invalid<absl::StatusOr<AdapterQuotaResult>>(
        prefix(), absl::StrCat("granted ", r->granted_amount, " of a request for ", amount));
  }
  if (!best_effort && r->granted_amount != 0 && r->granted_amount != amount) {
    return invalid<absl::StatusOr<AdapterQuotaResult>>(
        prefix(), absl::StrCat("granted ", r->granted_amount, " of ", amount,
                               " without best_effort (must be all or nothing)"));
  }
  if (r->valid_duration_ns < 0) {
    return invalid<absl::StatusOr<AdapterQuotaResult>>(prefix(), "negative valid_duration");
  }
  AdapterQuotaResult out;
  out.status = rpcStatus(r->status_code, r->message);
  out.granted_amount = r->granted_amount;
  out.valid_duration = absl::Nanoseconds(r->valid_duration_ns);
  if (r->struct_size >= kQuotaResultSizeV1_1) {
    out.limit = r->limit < 0 ? -1 : r->limit;
    out.remaining = r->remaining < 0 ? -1 : r->remaining;
    out.window = absl::Nanoseconds(std::max<int64_t>(r->window_ns, 0));
  }
  return {std::move(out)};
}

Outcome<absl::Status> reportOutcome(mixer_result result, const mixer_report_result* r,
                                    absl::FunctionRef<std::string()> prefix) {
  if (result != MIXER_OK) {
    return failure<absl::Status>(result, prefix());
  }
  if (r == nullptr) {
    return invalid<absl::Status>(prefix(), "null result");
  }
  if (r->struct_size < kReportResultSizeV1) {
    return invalid<absl::Status>(
        prefix(), absl::StrCat("result struct_size ", r->struct_size, " is too small"));
  }
  if (r->status_code < 0 || r->status_code > kMaxRpcCode) {
    return invalid<absl::Status>(prefix(), absl::StrCat("unknown status code ", r->status_code));
  }
  return {rpcStatus(r->status_code, r->message)};
}

Outcome<absl::StatusOr<AbiValue>> generateOutcome(mixer_result result, const mixer_value* outputs,
                                                  absl::FunctionRef<std::string()> prefix) {
  if (result != MIXER_OK) {
    return failure<absl::StatusOr<AbiValue>>(result, prefix());
  }
  if (outputs == nullptr) {
    return invalid<absl::StatusOr<AbiValue>>(prefix(), "null outputs");
  }
  if (outputs->type != MIXER_VALUE_MAP) {
    return invalid<absl::StatusOr<AbiValue>>(prefix(), "outputs are not a map");
  }
  return {AbiValue::fromAbi(outputs)};
}

template <class Result>
using StatePtr = std::shared_ptr<CallState<Result>>;

// How many adapter completions (or deadline answers) this thread is delivering. A handler closed
// meanwhile (its configuration's last user let go of it in the callback) is closed later, on the
// host's closing thread: the adapter may wait in close_handler for the very callback it runs.
thread_local int t_delivering = 0;

struct Delivering {
  Delivering() { ++t_delivering; }
  ~Delivering() { --t_delivering; }
  Delivering(const Delivering&) = delete;
  Delivering& operator=(const Delivering&) = delete;
};

// The C completion callbacks. `ctx` is the call's state, kept alive by its `self` until then.
void onCheckDone(void* ctx, mixer_result result, const mixer_check_result* r) {
  const Delivering delivering;  // first: the state it frees goes before it
  const StatePtr<absl::StatusOr<AdapterCheckResult>> state =
      std::move(static_cast<CallState<absl::StatusOr<AdapterCheckResult>>*>(ctx)->self);
  auto outcome = checkOutcome(result, r, [&] { return state->prefix(); });
  state->complete(std::move(outcome.value), outcome.error_reason);
}

void onQuotaDone(void* ctx, mixer_result result, const mixer_quota_result* r) {
  const Delivering delivering;  // first: the state it frees goes before it
  const StatePtr<absl::StatusOr<AdapterQuotaResult>> state =
      std::move(static_cast<CallState<absl::StatusOr<AdapterQuotaResult>>*>(ctx)->self);
  auto outcome = quotaOutcome(result, r, state->quota_amount, state->quota_best_effort,
                              [&] { return state->prefix(); });
  state->complete(std::move(outcome.value), outcome.error_reason);
}

void onReportDone(void* ctx, mixer_result result, const mixer_report_result* r) {
  const Delivering delivering;  // first: the state it frees goes before it
  const StatePtr<absl::Status> state = std::move(static_cast<CallState<absl::Status>*>(ctx)->self);
  auto outcome = reportOutcome(result, r, [&] { return state->prefix(); });
  state->complete(std::move(outcome.value), outcome.error_reason);
}

void onGenerateDone(void* ctx, mixer_result result, const mixer_value* outputs) {
  const Delivering delivering;  // first: the state it frees goes before it
  const StatePtr<absl::StatusOr<AbiValue>> state =
      std::move(static_cast<CallState<absl::StatusOr<AbiValue>>*>(ctx)->self);
  auto outcome = generateOutcome(result, outputs, [&] { return state->prefix(); });
  state->complete(std::move(outcome.value), outcome.error_reason);
}

template <class Result>
StatePtr<Result> newState(const std::shared_ptr<const internal::CallSite>& site, const char* call,
                          std::function<void(Result)> callback) {
  auto state = std::make_shared<CallState<Result>>();
  state->site = site;
  state->call = call;
  state->callback = std::move(callback);
  return state;
}

// Runs `invoke(done_ctx)` (the C hook) and arranges the deadline. `invoke` returns the hook's
// mixer_result; when it is not MIXER_OK the adapter will not complete, so the host does.
template <class Result, class Invoke>
void dispatch(const StatePtr<Result>& state, int64_t deadline_ns, Invoke invoke) {
  state->self = state;
  const mixer_result accepted = invoke(static_cast<void*>(state.get()));
  if (accepted != MIXER_OK) {
    state->self.reset();
    std::optional<absl::Status> status = callFailure(accepted, state->prefix());
    if (state->claim()) {
      state->countError(status.has_value() ? "adapter_error" : "invalid_result");
      state->callback(status.has_value() ? *std::move(status)
                                         : absl::InternalError(absl::StrCat(
                                               state->prefix(),
                                               "invalid result: unknown result code ", accepted)));
    }
    return;
  }
  if (state->claimed.load()) {
    return;  // completed synchronously: no timer needed
  }
  std::weak_ptr<CallState<Result>> weak = state;
  const uint64_t timer =
      state->site->adapter->services().executor()->schedule(deadline_ns - monotonicNowNs(), [weak] {
        const Delivering delivering;
        StatePtr<Result> s = weak.lock();
        if (s != nullptr && s->claim()) {
          s->countError("deadline_exceeded");
          s->callback(absl::DeadlineExceededError(s->prefix() + "no result by the deadline"));
        }
      });
  state->timer_id.store(timer);
  if (state->claimed.load() && timer != 0) {
    state->site->adapter->services().executor()->cancel(timer);  // completed while we scheduled
  }
}

template <class Result>
struct Waiter {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Result> result;
};

thread_local FlushScope* t_flush_scope = nullptr;

template <class Result, class Start>
Result waitFor(absl::Duration timeout, Start start, Result on_timeout) {
  auto waiter = std::make_shared<Waiter<Result>>();
  start([waiter](Result r) {
    std::lock_guard<std::mutex> lock(waiter->mu);
    waiter->result.emplace(std::move(r));
    waiter->cv.notify_all();
  });
  FlushScope::flushCurrent();  // the call may be held for this thread's flush
  std::unique_lock<std::mutex> lock(waiter->mu);
  // The deadline timer answers at `timeout`; the slack covers a busy executor.
  waiter->cv.wait_for(lock, absl::ToChronoNanoseconds(timeout + absl::Seconds(1)),
                      [&] { return waiter->result.has_value(); });
  if (!waiter->result.has_value()) {
    return on_timeout;
  }
  return *std::move(waiter->result);
}

}  // namespace

Handler::Handler(std::shared_ptr<const LoadedAdapter> adapter, std::string name, void* raw)
    : adapter_(std::move(adapter)),
      name_(std::move(name)),
      site_(std::make_shared<internal::CallSite>(internal::CallSite{adapter_, name_})),
      raw_(raw) {
  if (auto* hook = adapter_->flushHook(); hook != nullptr) {
    flush_site_ = std::make_shared<internal::FlushSite>();
    flush_site_->adapter = adapter_;
    flush_site_->flush = hook;
    flush_site_->raw = raw_;
  }
}

Handler::~Handler() { close(); }

FlushScope::FlushScope() : outer_(t_flush_scope) { t_flush_scope = this; }

FlushScope::~FlushScope() {
  flush();
  t_flush_scope = outer_;
}

FlushScope* FlushScope::current() { return t_flush_scope; }

void FlushScope::flushCurrent() {
  if (t_flush_scope != nullptr && t_flush_scope->pending()) {
    t_flush_scope->flush();
  }
}

void FlushScope::add(const std::shared_ptr<internal::FlushSite>& site) {
  for (const auto& s : sites_) {
    if (s == site) {
      return;
    }
  }
  sites_.push_back(site);
}

void FlushScope::flush() {
  if (sites_.empty()) {
    return;
  }
  // A call made by the flush's completions waits for the next flush; a flush from inside this one
  // (a completion that waits for a call) runs that one's sites, not these again.
  std::vector<std::shared_ptr<internal::FlushSite>> sites;
  sites.swap(sites_);
  // A completion delivered inside the hook may let go of its configuration, and so close the
  // handler: as inside any completion, its close_handler then runs later (Handler::close).
  const Delivering delivering;
  for (const auto& site : sites) {
    std::shared_lock<std::shared_mutex> lock(site->mu);
    if (!site->closed) {
      site->flush(site->raw);
    }
  }
  if (sites_.empty()) {
    sites.clear();
    sites_.swap(sites);  // keeps the capacity
  }
}

void Handler::close() {
  // No flush may run once close_handler begins. Inside a completion (perhaps one a flush of this
  // thread delivers, which holds its site shared) the closing task marks the site instead.
  auto mark_closed = [](const std::shared_ptr<internal::FlushSite>& site) {
    if (site != nullptr) {
      std::unique_lock<std::shared_mutex> lock(site->mu);
      site->closed = true;
    }
  };
  const bool later = t_delivering > 0;
  if (!later) {
    mark_closed(flush_site_);
  }
  std::unique_lock<std::shared_mutex> lock(mu_);
  if (closed_) {
    return;
  }
  closed_ = true;
  void* raw = raw_;
  raw_ = nullptr;
  if (later) {
    // Inside a completion: the adapter's own callback may be what close_handler waits for.
    adapter_->services().closeLater([adapter = adapter_, raw, site = flush_site_, mark_closed] {
      mark_closed(site);
      adapter->api().close_handler(raw);
    });
    return;
  }
  adapter_->api().close_handler(raw);
}

void Handler::check(const Instance& instance, absl::Duration timeout, CheckCallback done) {
  EncodedInstance encoded(instance);
  check(*encoded.get(), timeout, std::move(done));
}

void Handler::check(const mixer_instance& instance, absl::Duration timeout, CheckCallback done) {
  auto state = newState<absl::StatusOr<AdapterCheckResult>>(site_, "check", std::move(done));
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (closed_) {
    state->claim();
    state->callback(absl::FailedPreconditionError(state->prefix() + "handler is closed"));
    return;
  }
  if (adapter_->api().check == nullptr) {
    state->claim();
    state->callback(absl::UnimplementedError(state->prefix() + "adapter does not serve check"));
    return;
  }
  const int64_t deadline = monotonicNowNs() + absl::ToInt64Nanoseconds(timeout);
  mixer_call_context ctx{sizeof(mixer_call_context), 0, deadline, 0, 0};
  dispatch(state, deadline, [&](void* done_ctx) {
    return adapter_->api().check(raw_, &instance, &ctx, &onCheckDone, done_ctx);
  });
}

void Handler::quota(const Instance& instance, const AdapterQuotaArgs& args, absl::Duration timeout,
                    QuotaCallback done) {
  EncodedInstance encoded(instance);
  quota(*encoded.get(), args, timeout, std::move(done));
}

void Handler::quota(const mixer_instance& instance, const AdapterQuotaArgs& args,
                    absl::Duration timeout, QuotaCallback done) {
  auto state = newState<absl::StatusOr<AdapterQuotaResult>>(site_, "quota", std::move(done));
  state->quota_amount = args.amount;
  state->quota_best_effort = args.best_effort;
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (closed_) {
    state->claim();
    state->callback(absl::FailedPreconditionError(state->prefix() + "handler is closed"));
    return;
  }
  if (adapter_->api().quota == nullptr) {
    state->claim();
    state->callback(absl::UnimplementedError(state->prefix() + "adapter does not serve quota"));
    return;
  }
  const int64_t deadline = monotonicNowNs() + absl::ToInt64Nanoseconds(timeout);
  mixer_call_context ctx{sizeof(mixer_call_context), 0, deadline, 0, 0};
  if (flush_site_ != nullptr && t_flush_scope != nullptr) {
    ctx.flags |= MIXER_CALL_FLUSHED_LATER;
    t_flush_scope->add(flush_site_);
  }
  mixer_quota_args abi_args{};
  abi_args.struct_size = sizeof(abi_args);
  abi_args.best_effort = args.best_effort ? 1 : 0;
  abi_args.amount = args.amount;
  abi_args.deduplication_id = {args.deduplication_id.data(), args.deduplication_id.size()};
  dispatch(state, deadline, [&](void* done_ctx) {
    return adapter_->api().quota(raw_, &instance, &abi_args, &ctx, &onQuotaDone, done_ctx);
  });
}

void Handler::report(const std::vector<const Instance*>& instances, absl::Duration timeout,
                     ReportCallback done) {
  std::vector<std::unique_ptr<EncodedInstance>> encoded;
  std::vector<const mixer_instance*> pointers;
  encoded.reserve(instances.size());
  pointers.reserve(instances.size());
  for (const Instance* instance : instances) {
    encoded.push_back(std::make_unique<EncodedInstance>(*instance));
    pointers.push_back(encoded.back()->get());
  }
  report(pointers.data(), pointers.size(), timeout, std::move(done));
}

void Handler::report(const mixer_instance* const* instances, size_t count, absl::Duration timeout,
                     ReportCallback done) {
  auto state = newState<absl::Status>(site_, "report", std::move(done));
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (closed_) {
    state->claim();
    state->callback(absl::FailedPreconditionError(state->prefix() + "handler is closed"));
    return;
  }
  if (adapter_->api().report == nullptr) {
    state->claim();
    state->callback(absl::UnimplementedError(state->prefix() + "adapter does not serve report"));
    return;
  }
  const int64_t deadline = monotonicNowNs() + absl::ToInt64Nanoseconds(timeout);
  mixer_call_context ctx{sizeof(mixer_call_context), 0, deadline, 0, 0};
  dispatch(state, deadline, [&](void* done_ctx) {
    return adapter_->api().report(raw_, instances, count, &ctx, &onReportDone, done_ctx);
  });
}

void Handler::generate(const mixer_instance& instance, absl::Duration timeout,
                       GenerateCallback done) {
  auto state = newState<absl::StatusOr<AbiValue>>(site_, "generate", std::move(done));
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (closed_) {
    state->claim();
    state->callback(absl::FailedPreconditionError(state->prefix() + "handler is closed"));
    return;
  }
  // The registry admits MIXER_KIND_GENERATE only from a descriptor that has the field.
  if (!adapter_->serves(MIXER_KIND_GENERATE)) {
    state->claim();
    state->callback(absl::UnimplementedError(state->prefix() + "adapter does not serve generate"));
    return;
  }
  const int64_t deadline = monotonicNowNs() + absl::ToInt64Nanoseconds(timeout);
  mixer_call_context ctx{sizeof(mixer_call_context), 0, deadline, 0, 0};
  dispatch(state, deadline, [&](void* done_ctx) {
    return adapter_->api().generate(raw_, &instance, &ctx, &onGenerateDone, done_ctx);
  });
}

absl::StatusOr<AdapterCheckResult> Handler::checkAndWait(const Instance& instance,
                                                         absl::Duration timeout) {
  return waitFor<absl::StatusOr<AdapterCheckResult>>(
      timeout, [&](CheckCallback cb) { check(instance, timeout, std::move(cb)); },
      absl::DeadlineExceededError("check: no result"));
}

absl::StatusOr<AdapterQuotaResult> Handler::quotaAndWait(const Instance& instance,
                                                         const AdapterQuotaArgs& args,
                                                         absl::Duration timeout) {
  return waitFor<absl::StatusOr<AdapterQuotaResult>>(
      timeout, [&](QuotaCallback cb) { quota(instance, args, timeout, std::move(cb)); },
      absl::DeadlineExceededError("quota: no result"));
}

absl::Status Handler::reportAndWait(const std::vector<const Instance*>& instances,
                                    absl::Duration timeout) {
  return waitFor<absl::Status>(
      timeout, [&](ReportCallback cb) { report(instances, timeout, std::move(cb)); },
      absl::DeadlineExceededError("report: no result"));
}

absl::StatusOr<AdapterCheckResult> Handler::checkAndWait(const mixer_instance& instance,
                                                         absl::Duration timeout) {
  return waitFor<absl::StatusOr<AdapterCheckResult>>(
      timeout, [&](CheckCallback cb) { check(instance, timeout, std::move(cb)); },
      absl::DeadlineExceededError("check: no result"));
}

absl::StatusOr<AdapterQuotaResult> Handler::quotaAndWait(const mixer_instance& instance,
                                                         const AdapterQuotaArgs& args,
                                                         absl::Duration timeout) {
  return waitFor<absl::StatusOr<AdapterQuotaResult>>(
      timeout, [&](QuotaCallback cb) { quota(instance, args, timeout, std::move(cb)); },
      absl::DeadlineExceededError("quota: no result"));
}

absl::Status Handler::reportAndWait(const mixer_instance* const* instances, size_t count,
                                    absl::Duration timeout) {
  return waitFor<absl::Status>(
      timeout, [&](ReportCallback cb) { report(instances, count, timeout, std::move(cb)); },
      absl::DeadlineExceededError("report: no result"));
}

absl::StatusOr<AbiValue> Handler::generateAndWait(const mixer_instance& instance,
                                                  absl::Duration timeout) {
  return waitFor<absl::StatusOr<AbiValue>>(
      timeout, [&](GenerateCallback cb) { generate(instance, timeout, std::move(cb)); },
      absl::DeadlineExceededError("generate: no result"));
}

}  // namespace mixer::adapter_host
