// completion.h: what a handler answers and how: the status codes, the results of check, quota,
// report and generate calls, and Completion, which hands a result to the host exactly once. Part
// of the header-only SDK; adapter.h includes it.
#ifndef MIXER_ADAPTER_SDK_COMPLETION_H_
#define MIXER_ADAPTER_SDK_COMPLETION_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/grpc_codes.h"
#include "mixer/adapter_sdk/mixer_adapter.h"

namespace mixer::adapter_sdk {

// google.rpc.Code values used in results: the base library's one enum of gRPC codes
// (base/grpc_codes.h, shipped with the SDK), so Code::kOk ... Code::kUnauthenticated and
// grpcCodeName() are the host's own.
using Code = ::mixer::base::GrpcCode;

// Results an adapter reports. Status codes are google.rpc.Code values.
struct CheckResult {
  Code code = Code::kOk;
  std::string message;
  int64_t valid_duration_ns = 0;
  int32_t valid_use_count = 0;
};
struct QuotaArgs {
  int64_t amount = 0;
  bool best_effort = false;
  std::string deduplication_id;
};
struct QuotaResult {
  Code code = Code::kOk;
  std::string message;
  int64_t granted_amount = 0;
  int64_t valid_duration_ns = 0;
  // ABI 1.1 (optional): the limit that applied, what is left of it, its window.
  int64_t limit = -1;
  int64_t remaining = -1;
  int64_t window_ns = 0;
};
struct ReportResult {
  Code code = Code::kOk;
  std::string message;
};
struct CallContext {
  int64_t deadline_monotonic_ns = 0;
  // ABI 1.3 (adapters whose AdapterInfo sets `flushes`): the host calls the handler's flush() on
  // this thread after the hook returns, so the call's I/O may wait in a buffer until then.
  bool flushed_later = false;
};

// ABI 1.2: what an attribute generator answers, by output field name of its template (e.g.
// "source_workload_name" of `kubernetes`). Outputs left unset are absent for the host.
class GenerateResult {
 public:
  void setString(std::string name, std::string value) {
    add(std::move(name), MIXER_VALUE_STRING).text = std::move(value);
  }
  // `raw`: the address's 4 or 16 network-order bytes.
  void setIpAddress(std::string name, std::string raw) {
    add(std::move(name), MIXER_VALUE_IP_ADDRESS).text = std::move(raw);
  }
  void setInt64(std::string name, int64_t value) {
    add(std::move(name), MIXER_VALUE_INT64).number = value;
  }
  void setBool(std::string name, bool value) {
    add(std::move(name), MIXER_VALUE_BOOL).number = value ? 1 : 0;
  }
  void setStringMap(std::string name, std::vector<std::pair<std::string, std::string>> entries) {
    add(std::move(name), MIXER_VALUE_STRING_MAP).entries = std::move(entries);
  }

  struct Output {
    std::string name;
    uint32_t type = MIXER_VALUE_NULL;
    std::string text;
    int64_t number = 0;
    std::vector<std::pair<std::string, std::string>> entries;
  };
  const std::vector<Output>& outputs() const { return outputs_; }

 private:
  Output& add(std::string name, uint32_t type) {
    outputs_.push_back(Output{std::move(name), type, {}, 0, {}});
    return outputs_.back();
  }
  std::vector<Output> outputs_;
};

namespace internal {

template <class Result>
struct CallbackTraits;
template <>
struct CallbackTraits<CheckResult> {
  using Fn = mixer_check_done_fn;
  static void complete(Fn fn, void* ctx, const CheckResult& r) {
    mixer_check_result c{};
    c.struct_size = sizeof(c);
    c.status_code = static_cast<int32_t>(r.code);
    c.message = r.message.c_str();
    c.valid_duration_ns = r.valid_duration_ns;
    c.valid_use_count = r.valid_use_count;
    fn(ctx, MIXER_OK, &c);
  }
};
template <>
struct CallbackTraits<QuotaResult> {
  using Fn = mixer_quota_done_fn;
  static void complete(Fn fn, void* ctx, const QuotaResult& r) {
    mixer_quota_result c{};
    c.struct_size = sizeof(c);
    c.status_code = static_cast<int32_t>(r.code);
    c.message = r.message.c_str();
    c.granted_amount = r.granted_amount;
    c.valid_duration_ns = r.valid_duration_ns;
    c.limit = r.limit;
    c.remaining = r.remaining;
    c.window_ns = r.window_ns;
    fn(ctx, MIXER_OK, &c);
  }
};
template <>
struct CallbackTraits<ReportResult> {
  using Fn = mixer_report_done_fn;
  static void complete(Fn fn, void* ctx, const ReportResult& r) {
    mixer_report_result c{};
    c.struct_size = sizeof(c);
    c.status_code = static_cast<int32_t>(r.code);
    c.message = r.message.c_str();
    fn(ctx, MIXER_OK, &c);
  }
};

template <>
struct CallbackTraits<GenerateResult> {
  using Fn = mixer_generate_done_fn;
  static mixer_string view(const std::string& s) { return mixer_string{s.data(), s.size()}; }
  static void complete(Fn fn, void* ctx, const GenerateResult& r) {
    const auto& outputs = r.outputs();
    std::vector<mixer_map_entry> entries(outputs.size());
    std::vector<std::vector<mixer_map_entry>> maps(outputs.size());
    for (size_t i = 0; i < outputs.size(); ++i) {
      const GenerateResult::Output& o = outputs[i];
      mixer_map_entry& e = entries[i];
      e.key = view(o.name);
      e.value.type = o.type;
      switch (o.type) {
        case MIXER_VALUE_STRING:
        case MIXER_VALUE_IP_ADDRESS:
          e.value.u.string_value = view(o.text);
          break;
        case MIXER_VALUE_INT64:
          e.value.u.int64_value = o.number;
          break;
        case MIXER_VALUE_BOOL:
          e.value.u.bool_value = static_cast<int32_t>(o.number);
          break;
        case MIXER_VALUE_STRING_MAP:
          for (const auto& [key, value] : o.entries) {
            mixer_map_entry m{};
            m.key = view(key);
            m.value.type = MIXER_VALUE_STRING;
            m.value.u.string_value = view(value);
            maps[i].push_back(m);
          }
          e.value.u.map_value.entries = maps[i].data();
          e.value.u.map_value.count = maps[i].size();
          break;
        default:
          e.value.type = MIXER_VALUE_NULL;
      }
    }
    mixer_value root{};
    root.type = MIXER_VALUE_MAP;
    root.u.map_value.entries = entries.data();
    root.u.map_value.count = entries.size();
    fn(ctx, MIXER_OK, &root);
  }
};

}  // namespace internal

// The completion of one call. Copyable (copies share one completion) and thread-safe: the first
// respond() or fail() wins and later ones are ignored; if every copy is destroyed without a
// response, the host receives MIXER_ERR_INTERNAL, so a call is never left hanging.
template <class Result>
class Completion {
 public:
  using Fn = typename internal::CallbackTraits<Result>::Fn;
  Completion(Fn fn, void* ctx) : state_(std::make_shared<State>(fn, ctx)) {}

  void respond(const Result& result) const { state_->respond(result); }
  void fail(mixer_result error) const { state_->fail(error); }
  bool done() const { return state_->done.load(); }

 private:
  struct State {
    State(Fn f, void* c) : fn(f), ctx(c) {}
    ~State() { fail(MIXER_ERR_INTERNAL); }
    bool claim() { return !done.exchange(true); }
    void respond(const Result& result) {
      if (claim()) {
        internal::CallbackTraits<Result>::complete(fn, ctx, result);
      }
    }
    void fail(mixer_result error) {
      if (claim()) {
        fn(ctx, error, nullptr);
      }
    }
    Fn fn;
    void* ctx;
    std::atomic<bool> done{false};
  };
  std::shared_ptr<State> state_;
};
using CheckCompletion = Completion<CheckResult>;
using QuotaCompletion = Completion<QuotaResult>;
using ReportCompletion = Completion<ReportResult>;
using GenerateCompletion = Completion<GenerateResult>;

}  // namespace mixer::adapter_sdk

#endif  // MIXER_ADAPTER_SDK_COMPLETION_H_
