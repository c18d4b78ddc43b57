#include "mixer/runtime/dispatcher.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>

#include "aspects/merge.h"
#include "base/log.h"
#include "base/str_cat.h"
#include "expr/eval_state.h"
#include "mixer/runtime/bag_activation.h"
#include "mixer/runtime/status_log.h"

namespace mixer::runtime {
namespace {

constexpr std::string_view kReporterKind = "context.reporter.kind";
constexpr std::string_view kDestinationNamespace = "destination.namespace";
constexpr std::string_view kSourceNamespace = "source.namespace";
constexpr int32_t kInternal = 13;
constexpr int32_t kDeadlineExceeded = 4;

using attribute::AttributeBag;
using attribute::AttributeId;
using attribute::AttributeReferences;

// Per-thread evaluation state, reused across requests.
struct EvalContext {
  expr::EvalState state;
  BagActivation activation;
};

EvalContext& evalContext() {
  thread_local EvalContext ctx;
  return ctx;
}

// Evaluates `program` over `activation` and records what it read of the vocabulary's
// attributes (ids beyond it, a generator's outputs, are not the request's).
expr::Value evaluateWith(const expr::Program& program, const expr::Activation& activation,
                         const attribute::Vocabulary& vocabulary, AttributeReferences* refs) {
  EvalContext& ctx = evalContext();
  const expr::Value v = program.evaluate(activation, &ctx.state);
  if (refs != nullptr) {
    for (const expr::Reference& r : ctx.state.references()) {
      if (r.id >= vocabulary.size()) {
        continue;
      }
      const auto id = static_cast<AttributeId>(r.id);
      const std::string_view name = vocabulary.name(id);
      if (r.has_key) {
        refs->addMapKey(name, r.key, r.present, vocabulary.globalWordOf(id));
      } else {
        refs->add(name, r.present, vocabulary.globalWordOf(id));
      }
    }
  }
  return v;
}

// Evaluates `program` over the bag and records what it read.
expr::Value evaluate(const expr::Program& program, const AttributeBag& bag,
                     const attribute::Vocabulary& vocabulary, AttributeReferences* refs) {
  EvalContext& ctx = evalContext();
  ctx.activation.reset(&bag);
  return evaluateWith(program, ctx.activation, vocabulary, refs);
}

// The request's attributes and, from id `base` on, an attribute generator's outputs.
class BindingActivation final : public expr::Activation {
 public:
  BindingActivation(const AttributeBag* request, const AttributeBag* outputs, size_t base)
      : request_(request), outputs_(outputs), base_(base) {}
  bool find(expr::AttributeId id, expr::Value* out) const override {
    if (id < base_) {
      return request_.find(id, out);
    }
    if (!outputs_.find(id - base_, out)) {
      return false;
    }
    if (out->origin != expr::kNoAttribute) {
      out->origin = id;  // key lookups name the output, which is not the request's
    }
    return true;
  }

 private:
  BagActivation request_;
  BagActivation outputs_;
  size_t base_;
};

// `v` as a value of attribute type `type`, its strings copied into `bag`; false when `v` is not
// of that type.
bool bagValue(const expr::Value& v, attribute::ValueType type, AttributeBag* bag,
              attribute::AttributeValue* out) {
  using attribute::ValueType;
  if (attribute::hasStringPayload(type)) {
    if (v.type != type && !(type == ValueType::kIpAddress && v.type == ValueType::kBytes)) {
      return false;
    }
    *out = attribute::AttributeValue::string(bag->own(std::string(v.stringView())), type);
    return true;
  }
  switch (type) {
    case ValueType::kInt64:
      if (v.type != expr::ValueType::kInt64) return false;
      *out = attribute::AttributeValue::int64(v.int_value);
      return true;
    case ValueType::kDouble:
      if (v.type != expr::ValueType::kDouble) return false;
      *out = attribute::AttributeValue::doubleValue(v.double_value);
      return true;
    case ValueType::kBool:
      if (v.type != expr::ValueType::kBool) return false;
      *out = attribute::AttributeValue::boolean(v.bool_value);
      return true;
    case ValueType::kTimestamp:
      if (v.type != expr::ValueType::kTimestamp) return false;
      *out = attribute::AttributeValue::timestamp({v.timestamp.seconds, v.timestamp.nanos});
      return true;
    case ValueType::kDuration:
      if (v.type != expr::ValueType::kDuration) return false;
      *out = attribute::AttributeValue::duration(
          {v.int_value / 1000000000, static_cast<int32_t>(v.int_value % 1000000000)});
      return true;
    case ValueType::kStringMap: {
      if (v.type != expr::ValueType::kStringMap || v.string_map == nullptr) return false;
      const auto n = static_cast<uint32_t>(v.string_map->size());
      attribute::StringMapEntry* entries = bag->allocateMapEntries(n);
      for (uint32_t i = 0; i < n; ++i) {
        std::string_view key, value;
        v.string_map->entry(i, &key, &value);
        entries[i] = {bag->own(std::string(key)), bag->own(std::string(value))};
      }
      *out = attribute::AttributeValue::stringMap(entries, n);
      return true;
    }
    case ValueType::kUnspecified:
    default:  // the expression language's own types: no attribute has one
      break;
  }
  return false;
}

// The value of a program of the ReadChain shape, read straight from the bag (what evaluate()
// returns, without the interpreter and without recording references); false where evaluate()
// must decide: a value of another type than declared, or the last, untested read finding
// nothing (both errors).
bool readChain(const expr::ReadChain& chain, const AttributeBag& bag, expr::Value* out) {
  const size_t known = bag.vocabulary().size();
  for (const expr::ReadChain::Read& r : chain.reads) {
    const attribute::AttributeValue* v =
        r.attribute < known ? bag.get(static_cast<AttributeId>(r.attribute)) : nullptr;
    if (v == nullptr) {
      continue;
    }
    if (r.has_key) {
      if (v->type() != attribute::ValueType::kStringMap) {
        return false;
      }
      std::string_view found;
      if (v->mapFind(r.key, &found)) {
        *out = expr::Value::makeString(found);
        return true;
      }
      continue;
    }
    if (!scalarValue(*v, out)) {
      return false;
    }
    return out->type == r.type || r.type == expr::ValueType::kDyn ||
           r.type == expr::ValueType::kUnspecified;
  }
  if (!chain.has_fallback) {
    return false;
  }
  *out = chain.fallback;
  return true;
}

// ASCII case folding, as std::tolower does in the C locale, without a library call per byte.
char foldAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return x == y || foldAscii(x) == foldAscii(y);
         });
}

std::string text(const expr::Value& v) {
  switch (v.type) {
    case expr::ValueType::kString:
    case expr::ValueType::kDnsName:
    case expr::ValueType::kEmailAddress:
    case expr::ValueType::kUri:
      return std::string(v.stringView());
    default:
      return "";
  }
}

// Where the fields with a shared expression (FieldProgram::shared_id) were encoded for the
// current record: a field whose expression was already evaluated into the same batch copies
// that value instead of evaluating it again. Entries are valid while their stamp is the
// current one; a new record (or a rolled-back instance) takes a new stamp. Per thread.
struct SharedFields {
  struct Entry {
    uint64_t stamp = 0;
    size_t batch = 0;  // the index of the batch (EncodedInstances) it was encoded into
    EncodedInstances::Slot slot;
  };
  std::vector<Entry> entries;
  uint64_t stamp = 0;
  size_t batch = 0;  // the batch being encoded

  void startRecord(size_t shared_field_count) {
    if (entries.size() < shared_field_count) {
      entries.resize(shared_field_count);
    }
    ++stamp;
  }
  const Entry* find(uint32_t id) const {
    if (id >= entries.size()) {
      return nullptr;
    }
    const Entry& e = entries[id];
    return e.stamp == stamp && e.batch == batch ? &e : nullptr;
  }
  void remember(uint32_t id, EncodedInstances::Slot slot) {
    if (id < entries.size()) {
      entries[id] = {stamp, batch, slot};
    }
  }
};

// Encodes the fields of an instance (or of a nested map) into the entries base .. base + n - 1;
// false (with `error`) when a field fails to evaluate. `shared` may be null (no reuse).
bool encodeFields(const std::vector<FieldProgram>& fields, size_t base, const AttributeBag& bag,
                  const attribute::Vocabulary& vocabulary, AttributeReferences* refs,
                  EncodedInstances* out, SharedFields* shared, std::string* error) {
  for (size_t i = 0; i < fields.size(); ++i) {
    const FieldProgram& f = fields[i];
    out->setKey(base + i, f.key);
    const EncodedInstances::Slot slot{false, base + i};
    if (f.program) {
      if (shared != nullptr) {
        if (const SharedFields::Entry* e = shared->find(f.shared_id)) {
          out->copyValue(slot, e->slot);
          continue;
        }
      }
      expr::Value v;
      // Reads that record no references (reports) skip the interpreter when they can.
      const expr::ReadChain* chain = refs == nullptr ? f.program->readChain() : nullptr;
      if (chain == nullptr || !readChain(*chain, bag, &v)) {
        v = evaluate(*f.program, bag, vocabulary, refs);
      }
      if (v.isError()) {
        *error = base::strCat("field '", f.key, "': ", v.stringView());
        return false;
      }
      out->setValue(slot, v);
      if (shared != nullptr) {
        shared->remember(f.shared_id, slot);
      }
    } else if (!encodeFields(f.children, out->setMap(slot, f.children.size()), bag, vocabulary,
                             refs, out, shared, error)) {
      return false;
    }
  }
  return true;
}

// Appends an instance to `out`; false (with `error`, and `out` unchanged) when a field fails to
// evaluate.
bool encodeInstance(const CompiledInstance& ci, const AttributeBag& bag,
                    const attribute::Vocabulary& vocabulary, AttributeReferences* refs,
                    EncodedInstances* out, std::string* error, SharedFields* shared = nullptr) {
  const EncodedInstances::Mark mark = out->mark();
  const size_t base = out->addInstance(ci.name, ci.template_name, ci.fields.size());
  if (!encodeFields(ci.fields, base, bag, vocabulary, refs, out, shared, error)) {
    out->rollback(mark);
    if (shared != nullptr) {
      ++shared->stamp;  // what this instance encoded is gone
    }
    *error = base::strCat("instance '", ci.name, "': ", *error);
    return false;
  }
  return true;
}

// The one instance of a check or quota call, encoded into per-thread storage reused across
// requests (adapters borrow it for the duration of the call only).
const mixer_instance* encodeOne(const CompiledInstance& ci, const AttributeBag& bag,
                                const attribute::Vocabulary& vocabulary, AttributeReferences* refs,
                                std::string* error) {
  thread_local EncodedInstances scratch;
  scratch.clear();
  if (!encodeInstance(ci, bag, vocabulary, refs, &scratch, error)) {
    return nullptr;
  }
  scratch.finalize();
  return scratch.instances()[0];
}

attribute::Duration toDuration(absl::Duration d) {
  const int64_t ns = absl::ToInt64Nanoseconds(d);
  return {ns / 1000000000, static_cast<int32_t>(ns % 1000000000)};
}

}  // namespace

Dispatcher::Dispatcher(ConfigSnapshotConstSharedPtr snapshot, ReportQueue* reports,
                       absl::Duration adapter_timeout)
    : snapshot_(std::move(snapshot)), reports_(reports), adapter_timeout_(adapter_timeout) {
  const auto& v = *snapshot_->vocabulary();
  reporter_kind_ = v.find(kReporterKind).value_or(attribute::kNoAttribute);
  destination_namespace_ = v.find(kDestinationNamespace).value_or(attribute::kNoAttribute);
  source_namespace_ = v.find(kSourceNamespace).value_or(attribute::kNoAttribute);
}

void Dispatcher::runGenerators(AttributeBag* bag, AttributeReferences* refs,
                               std::vector<AttributeId>* added) const {
  const auto& vocabulary = *snapshot_->vocabulary();
  // Per thread, reused: input values (strings copied, as evaluation storage is reused between
  // inputs), the outputs' bag, the bindings' values before they are merged.
  thread_local std::vector<expr::Value> inputs;
  thread_local std::vector<std::string> input_text;
  thread_local std::unique_ptr<AttributeBag> outputs;
  thread_local std::vector<
      std::pair<const CompiledGeneratorInstance::Binding*, attribute::AttributeValue>>
      values;
  const auto& rules = candidates(*bag, refs);
  for (const CompiledRule* rule : rules) {
    if (rule->generate_actions.empty() || !matches(*rule, *bag, refs)) {
      continue;
    }
    rule->counters.hit();
    for (const CompiledGenerateAction& action : rule->generate_actions) {
      for (const CompiledGeneratorInstance* gi : action.instances) {
        inputs.assign(gi->inputs.size(), expr::Value());
        input_text.resize(gi->inputs.size());
        for (size_t i = 0; i < gi->inputs.size(); ++i) {
          if (!gi->inputs[i]) {
            continue;
          }
          expr::Value v = evaluate(*gi->inputs[i], *bag, vocabulary, refs);
          if (v.isError()) {
            continue;  // absent: the generator looks up by what is there
          }
          if (v.type == expr::ValueType::kString || v.type == expr::ValueType::kIpAddress ||
              v.type == expr::ValueType::kBytes || v.type == expr::ValueType::kDnsName ||
              v.type == expr::ValueType::kEmailAddress || v.type == expr::ValueType::kUri) {
            input_text[i].assign(v.stringView());
            v = expr::Value::makeStringLike(v.type, input_text[i]);
          } else if (v.type == expr::ValueType::kStringMap) {
            continue;  // no generator input is a map
          }
          inputs[i] = v;
        }
        if (!outputs || outputs->vocabularyPtr() != gi->outputs) {
          outputs = std::make_unique<AttributeBag>(gi->outputs);
        }
        outputs->clear();
        action.generator->generate({gi->name, adapter_timeout_}, inputs, outputs.get());
        const BindingActivation activation(bag, outputs.get(), gi->output_base);
        values.clear();
        bool failed = false;
        for (const auto& b : gi->bindings) {
          const expr::Value v = evaluateWith(*b.program, activation, vocabulary, refs);
          attribute::AttributeValue out;
          if (v.isError() || !bagValue(v, vocabulary.type(b.attribute), bag, &out)) {
            static std::atomic<uint64_t> logs{0};
            if (logSampled(logs)) {
              MIXER_LOG(Warn) << "attribute generation by instance '" << gi->name
                              << "' adds nothing: binding of '" << b.name << "': "
                              << (v.isError() ? v.stringView() : "a value of another type");
            }
            failed = true;
            break;
          }
          values.emplace_back(&b, out);
        }
        if (failed) {
          continue;
        }
        for (const auto& [b, value] : values) {
          // What the request (or an earlier generator) has is kept, as Istio merges.
          if (read(*bag, b->attribute, b->name, refs) == nullptr) {
            bag->set(b->attribute, value);
            if (added != nullptr) {
              added->push_back(b->attribute);
            }
          }
        }
      }
    }
  }
}

const attribute::AttributeValue* Dispatcher::read(const AttributeBag& bag, AttributeId id,
                                                  std::string_view name,
                                                  AttributeReferences* refs) const {
  const attribute::AttributeValue* v = id != attribute::kNoAttribute ? bag.get(id) : bag.find(name);
  if (refs != nullptr) {
    refs->add(name, v != nullptr,
              id != attribute::kNoAttribute ? snapshot_->vocabulary()->globalWordOf(id)
                                            : attribute::kGlobalWordNotLookedUp);
  }
  return v;
}

std::string_view Dispatcher::identityNamespace(const AttributeBag& bag,
                                               AttributeReferences* refs) const {
  std::string_view kind = "inbound";
  if (const auto* v = read(bag, reporter_kind_, kReporterKind, refs);
      v != nullptr && attribute::isStringLike(v->type())) {
    kind = v->stringValue();
  }
  const attribute::AttributeValue* ns = nullptr;
  if (kind == "inbound") {
    ns = read(bag, destination_namespace_, kDestinationNamespace, refs);
  } else if (kind == "outbound") {
    ns = read(bag, source_namespace_, kSourceNamespace, refs);
  }
  return ns != nullptr && attribute::isStringLike(ns->type()) ? ns->stringValue()
                                                              : std::string_view();
}

const std::vector<const CompiledRule*>& Dispatcher::candidates(const AttributeBag& bag,
                                                               AttributeReferences* refs) const {
  thread_local std::vector<const CompiledRule*> out;
  out.clear();
  const RuleSet& set = snapshot_->rulesFor(identityNamespace(bag, refs));
  out.insert(out.end(), set.unindexed.begin(), set.unindexed.end());
  for (const auto& index : set.indexes) {
    // The rules of this index can only apply when the attribute has their value: one read (and
    // one reference, present or absent) stands for evaluating all of them.
    const attribute::AttributeValue* v = read(bag, index.attribute, index.name, refs);
    if (v == nullptr || v->type() != attribute::ValueType::kString) {
      continue;
    }
    const std::string_view sv = v->stringValue();
    auto it = index.by_value.find(absl::string_view(sv.data(), sv.size()));
    if (it != index.by_value.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
    }
  }
  if (!set.indexes.empty()) {
    std::sort(out.begin(), out.end(),
              [](const CompiledRule* a, const CompiledRule* b) { return a->order < b->order; });
  }
  return out;
}

bool Dispatcher::matches(const CompiledRule& rule, const AttributeBag& bag,
                         AttributeReferences* refs) const {
  if (!rule.match) {
    return true;
  }
  const expr::Value v = evaluate(*rule.match, bag, *snapshot_->vocabulary(), refs);
  if (v.isError()) {
    rule.counters.error();
    static std::atomic<uint64_t> logs{0};
    if (logSampled(logs)) {
      MIXER_LOG(Debug) << "rule '" << rule.name << "' does not apply: " << v.stringView();
    }
    return false;
  }
  return v.type == expr::ValueType::kBool && v.bool_value;
}

CheckDecision Dispatcher::check(const AttributeBag& bag, AttributeReferences* refs,
                                const CallDeadline& deadline) const {
  const auto& rules = candidates(bag, refs);
  const auto& vocabulary = *snapshot_->vocabulary();
  CheckDecision r;
  aspects::CheckMerge merge;
  const CompiledRule* denying_rule = nullptr;  // of the first failure (the status page)
  std::string_view denying_handler;
  const CompiledRule* current = nullptr;
  auto fail = [&](int32_t code, std::string_view who, std::string_view message) {
    if (merge.addFailure(code, who, message)) {
      denying_rule = current;
      denying_handler = who;
    }
  };
  uint32_t step = 0;
  for (const CompiledRule* rule : rules) {
    if (rule->check_actions.empty() && rule->request_header_operations.empty() &&
        rule->response_header_operations.empty()) {
      continue;
    }
    if (deadline.passedEvery32(&step)) {
      r.deadline_exceeded = true;
      return r;
    }
    if (!matches(*rule, bag, refs)) {
      continue;
    }
    rule->counters.hit();
    current = rule;
    for (const CompiledAction& action : rule->check_actions) {
      for (const CompiledInstance* ci : action.instances) {
        std::string error;
        const mixer_instance* instance = encodeOne(*ci, bag, vocabulary, refs, &error);
        if (instance == nullptr) {
          rule->counters.error();
          fail(kInternal, action.handler_name, error);
          continue;
        }
        if (deadline.passed()) {
          r.deadline_exceeded = true;
          return r;
        }
        auto result = action.handler->checkAndWait(*instance, adapter_timeout_);
        if (!result.ok()) {
          rule->counters.error();
          HandlerErrors::global().failed(action.handler_name,
                                         std::string(result.status().message()));
          fail(static_cast<int32_t>(result.status().code()), action.handler_name,
               std::string(result.status().message()));
          continue;
        }
        merge.addValidity(absl::ToInt64Nanoseconds(result->valid_duration),
                          result->valid_use_count);
        if (!result->status.ok()) {
          fail(static_cast<int32_t>(result->status.code()), action.handler_name,
               std::string(result->status.message()));
        }
      }
    }
    for (auto [ops, out] :
         {std::pair{&rule->request_header_operations, &r.request_header_operations},
          std::pair{&rule->response_header_operations, &r.response_header_operations}}) {
      for (const auto& op : *ops) {
        for (const auto& p : op.values) {
          out->push_back({op.name, text(evaluate(*p, bag, vocabulary, refs)), op.op});
        }
        if (op.values.empty()) {
          out->push_back({op.name, "", op.op});
        }
      }
    }
  }
  const int64_t valid_nanos = merge.validDurationNanos();
  r.valid_duration = {valid_nanos / 1000000000, static_cast<int32_t>(valid_nanos % 1000000000)};
  r.valid_use_count = merge.validUseCount();
  if (merge.statusCode() != 0) {
    r.status_code = merge.statusCode();
    r.status_message = merge.takeMessage();
    if (DenialLog::global().sample()) {
      DenialRecord d;
      d.generation = snapshot_->generation();
      d.rule = denying_rule != nullptr ? denying_rule->name : "";
      d.handler = std::string(denying_handler);
      d.code = r.status_code;
      d.reason = r.status_message;
      DenialLog::global().record(std::move(d), bag, refs);
    }
  }
  return r;
}

namespace {

// The callback form's receiver: on the heap until its decision is delivered.
class CallbackReceiver final : public QuotaReceiver {
 public:
  explicit CallbackReceiver(Dispatcher::QuotaCallback done) : done_(std::move(done)) {}
  void done(QuotaDecision decision) override {
    Dispatcher::QuotaCallback run = std::move(done_);
    delete this;
    run(std::move(decision));
  }

 private:
  ~CallbackReceiver() = default;
  Dispatcher::QuotaCallback done_;
};

}  // namespace

void Dispatcher::quota(const AttributeBag& bag, const QuotaRequest& args, AttributeReferences* refs,
                       QuotaCallback done) const {
  quota(bag, args, refs, new CallbackReceiver(std::move(done)));
}

void Dispatcher::quota(const AttributeBag& bag, const QuotaRequest& args, AttributeReferences* refs,
                       QuotaReceiver* receiver) const {
  const auto& rules = candidates(bag, refs);
  const auto& vocabulary = *snapshot_->vocabulary();
  QuotaDecision r;
  // The adapter call to make, once every candidate rule has been looked at: Istio asks only the
  // first instance that applies, but the later ones are still evaluated, so what they read is
  // referenced too.
  const CompiledAction* call_action = nullptr;
  const mixer_instance* call_instance = nullptr;
  const CompiledRule* call_rule = nullptr;
  for (const CompiledRule* rule : rules) {
    if (rule->quota_actions.empty() || !matches(*rule, bag, refs)) {
      continue;
    }
    rule->counters.hit();
    for (const CompiledAction& action : rule->quota_actions) {
      for (const CompiledInstance* ci : action.instances) {
        if (!equalsIgnoreCase(ci->short_name, args.name)) {
          continue;
        }
        if (r.matched) {
          // The first result counts (Istio skips later ones); a later instance is evaluated
          // only for the attributes it reads, into storage that the call does not use.
          std::string error;
          thread_local EncodedInstances ignored;
          ignored.clear();
          encodeInstance(*ci, bag, vocabulary, refs, &ignored, &error);
          continue;
        }
        std::string error;
        const mixer_instance* instance = encodeOne(*ci, bag, vocabulary, refs, &error);
        r.matched = true;
        if (instance == nullptr) {
          rule->counters.error();
          r.status_code = kInternal;
          r.status_message = base::strCat(action.handler_name, ":", error);
          continue;
        }
        call_action = &action;
        call_instance = instance;
        call_rule = rule;
      }
    }
  }
  if (call_action == nullptr) {
    receiver->done(std::move(r));
    return;
  }
  if (args.deadline.passed()) {
    r.status_code = kDeadlineExceeded;
    r.status_message = base::strCat(call_action->handler_name, ":the call's deadline passed");
    receiver->done(std::move(r));
    return;
  }
  // The arguments are read by the adapter during its hook only: the thread's own, whose id keeps
  // its storage from call to call (a call made from within a hook, if an adapter's completion
  // ever led to one, gets its own).
  thread_local adapter_host::AdapterQuotaArgs t_args;
  thread_local bool t_args_busy = false;
  std::optional<adapter_host::AdapterQuotaArgs> nested;
  adapter_host::AdapterQuotaArgs& qa = t_args_busy ? nested.emplace() : t_args;
  const bool owns_args = !t_args_busy;
  t_args_busy = true;
  qa.amount = args.amount;
  qa.best_effort = args.best_effort;
  aspects::assignQuotaDeduplicationId(args.deduplication_id, args.name, &qa.deduplication_id);
  // The instance is borrowed by the adapter for the hook only; the completion may come later,
  // from an adapter thread, and needs nothing of this request but the handler's name and the
  // rule's counters, kept in the receiver (so that the callback, a pointer, is stored in place).
  receiver->handler_name_ = call_action->handler_name;
  receiver->rule_ = call_rule;
  call_action->handler->quota(
      *call_instance, qa, adapter_timeout_,
      [receiver](absl::StatusOr<adapter_host::AdapterQuotaResult> result) {
        const std::string_view name = receiver->handler_name_;
        QuotaDecision out;
        out.matched = true;
        if (!result.ok()) {
          receiver->rule_->counters.error();
          HandlerErrors::global().failed(name, std::string(result.status().message()));
          out.status_code = static_cast<int32_t>(result.status().code());
          out.status_message = base::strCat(name, ":", result.status().message());
        } else {
          out.granted_amount = result->granted_amount;
          out.valid_duration = toDuration(result->valid_duration);
          out.limit = result->limit;
          out.remaining = result->remaining;
          out.window = toDuration(result->window);
          if (!result->status.ok()) {
            out.status_code = static_cast<int32_t>(result->status.code());
            out.status_message = base::strCat(name, ":", result->status.message());
          }
        }
        receiver->done(std::move(out));
      });
  if (owns_args) {
    t_args_busy = false;
  }
}

QuotaDecision Dispatcher::quota(const AttributeBag& bag, const QuotaRequest& args,
                                AttributeReferences* refs) const {
  // std:: primitives rather than absl's: ThreadSanitizer sees through them.
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  QuotaDecision out;
  quota(bag, args, refs, [&](QuotaDecision r) {
    std::lock_guard<std::mutex> lock(mu);
    out = std::move(r);
    finished = true;
    cv.notify_all();
  });
  adapter_host::FlushScope::flushCurrent();  // an adapter may hold the call for this thread
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return finished; });
  return out;
}

bool Dispatcher::report(const AttributeBag& bag, PendingReports* pending,
                        const CallDeadline& deadline) const {
  const auto& rules = candidates(bag, nullptr);
  const auto& vocabulary = *snapshot_->vocabulary();
  thread_local SharedFields shared;
  shared.startRecord(snapshot_->sharedFieldCount());
  uint32_t step = 0;
  for (const CompiledRule* rule : rules) {
    if (rule->report_actions.empty()) {
      continue;
    }
    if (deadline.passedEvery32(&step)) {
      return false;
    }
    if (!matches(*rule, bag, nullptr)) {
      continue;
    }
    rule->counters.hit();
    for (const CompiledAction& action : rule->report_actions) {
      auto it = std::find_if(pending->batches.begin(), pending->batches.end(),
                             [&](const auto& b) { return b.first == action.handler; });
      if (it == pending->batches.end()) {
        pending->batches.push_back(
            {action.handler, reports_ != nullptr ? reports_->acquire() : EncodedInstances{}});
        it = pending->batches.end() - 1;
      }
      shared.batch = static_cast<size_t>(it - pending->batches.begin());
      for (const CompiledInstance* ci : action.instances) {
        std::string error;
        if (!encodeInstance(*ci, bag, vocabulary, nullptr, &it->second, &error, &shared)) {
          rule->counters.error();
          static std::atomic<uint64_t> logs{0};
          if (logSampled(logs)) {
            MIXER_LOG(Warn) << "report to '" << action.handler_name << "' skipped: " << error;
          }
        }
      }
    }
  }
  return true;
}

size_t Dispatcher::flushReports(PendingReports* pending) const {
  size_t dropped = 0;
  for (auto& [handler, instances] : pending->batches) {
    if (instances.empty()) {
      continue;
    }
    const size_t n = instances.size();
    if (reports_ == nullptr || !reports_->submit({handler, snapshot_, std::move(instances)})) {
      dropped += n;
    }
  }
  pending->batches.clear();
  return dropped;
}

}  // namespace mixer::runtime
