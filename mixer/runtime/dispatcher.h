// Dispatcher: decides Check, quota and Report for one request's attributes, with one compiled
// configuration (ConfigSnapshot).
//
// Every decision is first scoped to the request's identity namespace, as Istio's runtime does:
// context.reporter.kind (default "inbound") selects destination.namespace for "inbound" or
// source.namespace for "outbound"; the rules that apply are those of the default configuration
// namespace plus those of the identity namespace. A rule applies when its match evaluates to true
// (an evaluation error means it does not, as in Istio).
//
// Check (Istio 1.4 semantics): every applying rule's check actions run; the first non-OK status
// wins (messages of all failures are joined as "handler:message, ..."); valid_duration and
// valid_use_count are the minimum over all results; with no result at all the answer is OK for
// 1 minute or 10000 uses. Header operations of applying rules become the route directive.
// Quota: the quota instances whose short name equals the requested quota (case-insensitively)
// are asked, with deduplication id = request id + quota name; the first result counts. A quota no
// rule handles grants nothing (Istio: "requested quota is invalid"; the result stays empty).
// Report: per record, every applying rule's report instances are evaluated and collected per
// handler; flushReports() hands them to the ReportQueue (off the request thread).
//
// Every attribute read (present or absent) and every map key looked up is recorded in `refs`.
// With a CallDeadline, check and report look at it every 32 rules that may apply (a clock read per
// selector would cost more than the selector) and before each adapter call, and stop there once
// it has passed.
// Thread-safe: immutable; per-request state is per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mixer/attribute/attribute_bag.h"
#include "mixer/attribute/references.h"
#include "mixer/runtime/call_deadline.h"
#include "mixer/runtime/config_snapshot.h"
#include "mixer/runtime/encoded_instances.h"
#include "mixer/runtime/report_queue.h"

namespace mixer::runtime {

struct HeaderOp {
  std::string name;
  std::string value;
  config::HeaderOperation::Op op = config::HeaderOperation::Op::Replace;
};

struct CheckDecision {
  int32_t status_code = 0;  // google.rpc.Code
  std::string status_message;
  attribute::Duration valid_duration{};
  int32_t valid_use_count = 0;
  std::vector<HeaderOp> request_header_operations;
  std::vector<HeaderOp> response_header_operations;
  // The call's deadline passed during the decision: the rest was skipped and this result is
  // incomplete (the caller answers DEADLINE_EXCEEDED instead).
  bool deadline_exceeded = false;
};

struct QuotaRequest {
  std::string_view name;
  int64_t amount = 0;
  bool best_effort = false;
  std::string_view deduplication_id;
  // Once passed, the adapter is not asked: the result is DEADLINE_EXCEEDED.
  CallDeadline deadline;
};

struct QuotaDecision {
  // False when no rule handles the quota (the result is then empty, as in Istio).
  bool matched = false;
  int32_t status_code = 0;
  std::string status_message;
  int64_t granted_amount = 0;
  attribute::Duration valid_duration{};
  // What the adapter tells of the limit it applied, when it does (-1 and zero otherwise): the
  // limit, what is left of it after this request, and its window.
  int64_t limit = -1;
  int64_t remaining = -1;
  attribute::Duration window{};
};

// Report instances collected over the records of one Report call, per handler.
struct PendingReports {
  std::vector<std::pair<adapter_host::Handler*, EncodedInstances>> batches;
  bool empty() const { return batches.empty(); }
};

struct CompiledRule;

// The receiver of one quota call's decision (Dispatcher::quota). done() runs exactly once, as the
// callback form's `done` does; the dispatcher keeps what it needs for the completion in the
// receiver meanwhile.
class QuotaReceiver {
 public:
  virtual void done(QuotaDecision decision) = 0;

 protected:
  ~QuotaReceiver() = default;

 private:
  friend class Dispatcher;
  std::string_view handler_name_;
  const CompiledRule* rule_ = nullptr;
};

class Dispatcher {
 public:
  // `reports` may be null (reports are then evaluated and dropped: tests, benchmarks).
  Dispatcher(ConfigSnapshotConstSharedPtr snapshot, ReportQueue* reports,
             absl::Duration adapter_timeout = absl::Seconds(1));

  const ConfigSnapshot& snapshot() const { return *snapshot_; }

  // Attribute generation (Istio's preprocessing), to run on a request's bag before check, quota
  // and report: every applying rule's generator instances are evaluated (recording what they
  // read in `refs`, which may be null), their generator fills the outputs, and each
  // attribute_binding whose attribute the bag does not already have adds it (the presence test is
  // a reference too, so a proxy's cache keys on the generator's inputs, not on what it
  // generated). An instance with a binding that fails to evaluate adds nothing, as in Istio. The
  // ids added are appended to `added` when not null (a delta-encoded Report takes them out again
  // before the next record). Inline no-op when the configuration has no generator rule.
  void generate(attribute::AttributeBag* bag, attribute::AttributeReferences* refs,
                std::vector<attribute::AttributeId>* added = nullptr) const {
    if (snapshot_->hasGenerators()) {
      runGenerators(bag, refs, added);
    }
  }
  const ConfigSnapshotConstSharedPtr& snapshotPtr() const { return snapshot_; }

  CheckDecision check(const attribute::AttributeBag& bag, attribute::AttributeReferences* refs,
                      const CallDeadline& deadline = {}) const;
  // Asks the quota's adapter. Rule matching and instance evaluation happen before this returns, so
  // `bag`, `args` and `refs` are used during the call only; `done` runs exactly once: on this
  // thread when no rule handles the quota or the adapter answers synchronously, otherwise on an
  // adapter or host thread, by the adapter deadline at the latest. The dispatcher must outlive
  // `done`'s call (hold a DispatcherConstSharedPtr).
  using QuotaCallback = std::function<void(QuotaDecision)>;
  void quota(const attribute::AttributeBag& bag, const QuotaRequest& args,
             attribute::AttributeReferences* refs, QuotaCallback done) const;
  // The same, answering `receiver`, which the caller keeps until its done() has run: the call
  // then needs no heap-held callback of its own (the server's Check path).
  void quota(const attribute::AttributeBag& bag, const QuotaRequest& args,
             attribute::AttributeReferences* refs, QuotaReceiver* receiver) const;
  // The same, waiting for the result (tests, tools).
  QuotaDecision quota(const attribute::AttributeBag& bag, const QuotaRequest& args,
                      attribute::AttributeReferences* refs) const;
  // Evaluates the report instances of one record into `pending`. False when the deadline passed
  // before every applying rule was evaluated (`pending` then holds what was).
  bool report(const attribute::AttributeBag& bag, PendingReports* pending,
              const CallDeadline& deadline = {}) const;
  // Submits `pending` to the report queue and clears it. Returns the number of instances dropped.
  size_t flushReports(PendingReports* pending) const;

  // The namespace whose rules apply to the request ("" when it has none). `refs` may be null.
  std::string_view identityNamespace(const attribute::AttributeBag& bag,
                                     attribute::AttributeReferences* refs) const;

 private:
  void runGenerators(attribute::AttributeBag* bag, attribute::AttributeReferences* refs,
                     std::vector<attribute::AttributeId>* added) const;
  const attribute::AttributeValue* read(const attribute::AttributeBag& bag,
                                        attribute::AttributeId id, std::string_view name,
                                        attribute::AttributeReferences* refs) const;
  bool matches(const CompiledRule& rule, const attribute::AttributeBag& bag,
               attribute::AttributeReferences* refs) const;
  // The rules of the request's namespace that may apply, in configuration order (a per-thread
  // list, valid until the next call): the unindexed ones and those the index attributes select.
  const std::vector<const CompiledRule*>& candidates(const attribute::AttributeBag& bag,
                                                     attribute::AttributeReferences* refs) const;

  ConfigSnapshotConstSharedPtr snapshot_;
  ReportQueue* reports_;
  absl::Duration adapter_timeout_;
  attribute::AttributeId reporter_kind_;
  attribute::AttributeId destination_namespace_;
  attribute::AttributeId source_namespace_;
};

using DispatcherConstSharedPtr = std::shared_ptr<const Dispatcher>;

// Where request handlers get the dispatcher to use (ConfigStore, or a fixed one in tests).
class DispatcherSource {
 public:
  virtual ~DispatcherSource() = default;
  virtual DispatcherConstSharedPtr current() const = 0;
};

class FixedDispatcherSource final : public DispatcherSource {
 public:
  explicit FixedDispatcherSource(DispatcherConstSharedPtr d) : dispatcher_(std::move(d)) {}
  DispatcherConstSharedPtr current() const override { return dispatcher_; }

 private:
  DispatcherConstSharedPtr dispatcher_;
};

}  // namespace mixer::runtime
