// Handler: one configured adapter handler as the runtime calls it. Wraps the C hooks with the
// host's guarantees: every call completes exactly once, by its deadline at the latest; a late or
// invalid adapter result becomes an error result and a counter, never a crash.
#ifndef MIXER_ADAPTER_HOST_HANDLER_H_
#define MIXER_ADAPTER_HOST_HANDLER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "mixer/adapter_host/value.h"

namespace mixer::adapter_host {

class LoadedAdapter;
class HostServices;
namespace internal {
struct CallSite;   // what every call of one handler shares (handler.cc)
struct FlushSite;  // a handler's `flush` hook, as pending flushes hold it (handler.cc)
}  // namespace internal

// An adapter's verdict on a check. `status` is the policy decision (OK allows; e.g.
// PERMISSION_DENIED with the adapter's message denies).
struct AdapterCheckResult {
  absl::Status status;
  absl::Duration valid_duration = absl::ZeroDuration();
  int32_t valid_use_count = 0;
};

struct AdapterQuotaArgs {
  int64_t amount = 1;
  bool best_effort = false;
  std::string deduplication_id;
};

struct AdapterQuotaResult {
  absl::Status status;
  int64_t granted_amount = 0;
  absl::Duration valid_duration = absl::ZeroDuration();
  // ABI 1.1 (-1, -1, 0 when the adapter does not tell): the limit, what is left, its window.
  int64_t limit = -1;
  int64_t remaining = -1;
  absl::Duration window = absl::ZeroDuration();
};

// A handler created by LoadedAdapter::createHandler. Thread-safe: calls may be made from any
// number of threads. A call's outer StatusOr is not OK when the call itself failed:
// DEADLINE_EXCEEDED (no result by the deadline), INTERNAL (invalid result or adapter error),
// UNIMPLEMENTED (kind not served), FAILED_PRECONDITION (handler closed). The callback runs
// exactly once, on the calling thread (synchronous adapters), an adapter completion thread, or
// the host executor (deadline). A callback must not close or destroy its handler.
class Handler {
 public:
  using CheckCallback = std::function<void(absl::StatusOr<AdapterCheckResult>)>;
  using QuotaCallback = std::function<void(absl::StatusOr<AdapterQuotaResult>)>;
  using ReportCallback = std::function<void(absl::Status)>;
  // ABI 1.2: the generator's outputs, a map from output field names to values.
  using GenerateCallback = std::function<void(absl::StatusOr<AbiValue>)>;

  Handler(std::shared_ptr<const LoadedAdapter> adapter, std::string name, void* raw);
  ~Handler();  // close()
  Handler(const Handler&) = delete;
  Handler& operator=(const Handler&) = delete;

  const std::string& name() const { return name_; }
  const LoadedAdapter& adapter() const { return *adapter_; }

  void check(const Instance& instance, absl::Duration timeout, CheckCallback done);
  void quota(const Instance& instance, const AdapterQuotaArgs& args, absl::Duration timeout,
             QuotaCallback done);
  void report(const std::vector<const Instance*>& instances, absl::Duration timeout,
              ReportCallback done);

  // The same calls on instances the caller encoded itself (e.g. views into a request's attribute
  // storage, without building an AbiValue tree). OWNERSHIP: borrowed for the duration of the call.
  void check(const mixer_instance& instance, absl::Duration timeout, CheckCallback done);
  void quota(const mixer_instance& instance, const AdapterQuotaArgs& args, absl::Duration timeout,
             QuotaCallback done);
  void report(const mixer_instance* const* instances, size_t count, absl::Duration timeout,
              ReportCallback done);
  // Attribute generation (adapters serving MIXER_KIND_GENERATE). OWNERSHIP: borrowed for the call.
  void generate(const mixer_instance& instance, absl::Duration timeout, GenerateCallback done);

  // Blocking forms: at most `timeout` (plus scheduling slack). The dispatcher's Check actions use
  // checkAndWait, its quotas the callback form; the report queue's threads use reportAndWait;
  // attribute generation uses generateAndWait.
  absl::StatusOr<AdapterCheckResult> checkAndWait(const Instance& instance, absl::Duration timeout);
  absl::StatusOr<AdapterQuotaResult> quotaAndWait(const Instance& instance,
                                                  const AdapterQuotaArgs& args,
                                                  absl::Duration timeout);
  absl::Status reportAndWait(const std::vector<const Instance*>& instances, absl::Duration timeout);
  // The same on instances the caller encoded itself. OWNERSHIP: borrowed for the call.
  absl::StatusOr<AdapterCheckResult> checkAndWait(const mixer_instance& instance,
                                                  absl::Duration timeout);
  absl::StatusOr<AdapterQuotaResult> quotaAndWait(const mixer_instance& instance,
                                                  const AdapterQuotaArgs& args,
                                                  absl::Duration timeout);
  absl::Status reportAndWait(const mixer_instance* const* instances, size_t count,
                             absl::Duration timeout);
  // Attribute generators run before the request's rules, so the dispatcher waits for them.
  absl::StatusOr<AbiValue> generateAndWait(const mixer_instance& instance, absl::Duration timeout);

  // Waits for hooks that are running, then lets the adapter flush and free the handler. Later
  // calls fail with FAILED_PRECONDITION. Idempotent. Called while this thread delivers an
  // adapter's completion (a configuration's last user letting go inside the callback), the
  // adapter's close_handler runs soon after as a task of its own instead
  // (HostServices::closeLater): an adapter may wait there for the callback it is running.
  void close();

 private:
  std::shared_ptr<const LoadedAdapter> adapter_;
  std::string name_;
  std::shared_ptr<const internal::CallSite> site_;  // shared with in-flight calls
  // Set when the adapter has a `flush` hook (ABI 1.3); shared with the FlushScopes that await it.
  std::shared_ptr<internal::FlushSite> flush_site_;
  void* raw_;             // OWNERSHIP: adapter; released by close_handler
  std::shared_mutex mu_;  // shared while a hook runs, exclusive to close
  bool closed_ = false;
};

using HandlerPtr = std::unique_ptr<Handler>;

// FlushScope: a thread that takes its work in passes (a completion queue's thread in mixs) lets
// adapters write the calls of one pass together. While a FlushScope is alive on a thread, the
// quota calls it makes through Handler::quota go to adapters that have a `flush` hook (ABI 1.3)
// with MIXER_CALL_FLUSHED_LATER, and the thread calls flush() when its pass ends (before it
// waits for more work): each such handler's hook runs once, however many calls the pass made.
// A thread that waits for a call's result on its own (the *AndWait forms, the dispatcher's
// blocking quota) flushes first through flushCurrent(), so no call waits for a flush that its
// own thread would only reach after it. One per thread at a time; not copyable.
class FlushScope {
 public:
  FlushScope();
  ~FlushScope();  // flushes what is pending
  FlushScope(const FlushScope&) = delete;
  FlushScope& operator=(const FlushScope&) = delete;

  // True when a call of this pass awaits a flush.
  bool pending() const { return !sites_.empty(); }
  // Runs the hook of every handler called with MIXER_CALL_FLUSHED_LATER since the last flush (a
  // handler closed meanwhile is skipped: its close_handler flushes).
  void flush();
  // The calling thread's scope, or nullptr.
  static FlushScope* current();
  // Flushes the calling thread's scope, if it has one.
  static void flushCurrent();

 private:
  friend class Handler;
  void add(const std::shared_ptr<internal::FlushSite>& site);

  FlushScope* outer_;
  std::vector<std::shared_ptr<internal::FlushSite>> sites_;
};

}  // namespace mixer::adapter_host

#endif  // MIXER_ADAPTER_HOST_HANDLER_H_
