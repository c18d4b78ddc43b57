// denier: answers every check with a configured status (Istio's `denier`): params
// {status: {code, message}, valid_duration, valid_use_count}; defaults FAILED_PRECONDITION, 5s,
// 1000. Serves the checknothing and listentry templates, and quota, which it grants nothing (as
// Istio's denier does).
#include <memory>
#include <string>

#include "mixer/adapter_sdk/adapter.h"

namespace denier {

using mixer::adapter_sdk::AdapterInfo;
using mixer::adapter_sdk::CallContext;
using mixer::adapter_sdk::CheckCompletion;
using mixer::adapter_sdk::CheckResult;
using mixer::adapter_sdk::Code;
using mixer::adapter_sdk::ErrorSink;
using mixer::adapter_sdk::InstanceView;
using mixer::adapter_sdk::QuotaArgs;
using mixer::adapter_sdk::QuotaCompletion;
using mixer::adapter_sdk::QuotaResult;
using mixer::adapter_sdk::ValueView;

constexpr int64_t kDefaultCode = static_cast<int64_t>(Code::kFailedPrecondition);
constexpr int64_t kDefaultValidDurationNs = 5'000'000'000;
constexpr int64_t kDefaultValidUseCount = 1000;

// Reads params into a result, reporting every error; used by both validate and createHandler.
CheckResult readParams(ValueView params, ErrorSink& errors) {
  using mixer::adapter_sdk::checkKnownKeys;
  CheckResult result;
  int64_t code = kDefaultCode;
  int64_t valid_duration_ns = kDefaultValidDurationNs;
  int64_t valid_use_count = kDefaultValidUseCount;
  checkKnownKeys(params, {"status", "valid_duration", "valid_use_count"}, "", errors);
  ValueView status = params.find("status");
  if (!status.isNull()) {
    if (status.type() != MIXER_VALUE_MAP) {
      errors.add("status", "expected a map {code, message}");
    } else {
      checkKnownKeys(status, {"code", "message", "details"}, "status", errors);
      code = 0;  // an explicit status without a code is OK, as in google.rpc.Status
      mixer::adapter_sdk::readInt(status.find("code"), "status.code", 0, 16, errors, &code);
      ValueView message = status.find("message");
      if (!message.isNull() && message.type() != MIXER_VALUE_STRING) {
        errors.add("status.message", "expected a string");
      } else {
        result.message = std::string(message.stringValue());
      }
    }
  }
  mixer::adapter_sdk::readDuration(params.find("valid_duration"), "valid_duration", errors,
                                   &valid_duration_ns);
  mixer::adapter_sdk::readInt(params.find("valid_use_count"), "valid_use_count", 0, INT32_MAX,
                              errors, &valid_use_count);
  result.code = static_cast<Code>(code);
  result.valid_duration_ns = valid_duration_ns;
  result.valid_use_count = static_cast<int32_t>(valid_use_count);
  return result;
}

// Immutable after construction; thread-safe.
class DenierHandler : public mixer::adapter_sdk::Handler {
 public:
  explicit DenierHandler(CheckResult result) : result_(std::move(result)) {}

  void check(const InstanceView&, const CallContext&, CheckCompletion done) override {
    done.respond(result_);
  }
  void quota(const InstanceView&, const QuotaArgs&, const CallContext&,
             QuotaCompletion done) override {
    done.respond(QuotaResult{});  // granted 0
  }

 private:
  const CheckResult result_;
};

class DenierAdapter : public mixer::adapter_sdk::Adapter {
 public:
  static AdapterInfo info() {
    return AdapterInfo{"denier",
                       "1.0.0",
                       "Rejects any check and quota request with a configurable error",
                       MIXER_KIND_CHECK | MIXER_KIND_QUOTA,
                       {"checknothing", "listentry", "quota"}};
  }

  void validate(ValueView params, ErrorSink& errors) const override { readParams(params, errors); }

  std::unique_ptr<mixer::adapter_sdk::Handler> createHandler(const std::string&,
                                                             ValueView params) override {
    ErrorSink ignored(nullptr);
    return std::make_unique<DenierHandler>(readParams(params, ignored));
  }
};

}  // namespace denier

MIXER_DEFINE_ADAPTER(denier::DenierAdapter);
