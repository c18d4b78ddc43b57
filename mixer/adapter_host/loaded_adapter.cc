#include "mixer/adapter_host/loaded_adapter.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "mixer/adapter_host/host_services.h"

namespace mixer::adapter_host {

std::string AdapterInfo::kindsString() const {
  std::vector<std::string> kinds_served;
  if ((kinds & MIXER_KIND_CHECK) != 0) {
    kinds_served.push_back("check");
  }
  if ((kinds & MIXER_KIND_QUOTA) != 0) {
    kinds_served.push_back("quota");
  }
  if ((kinds & MIXER_KIND_REPORT) != 0) {
    kinds_served.push_back("report");
  }
  if ((kinds & MIXER_KIND_GENERATE) != 0) {
    kinds_served.push_back("generate");
  }
  return absl::StrJoin(kinds_served, ",");
}

std::string AdapterInfo::abiVersionString() const {
  return absl::StrCat(MIXER_ADAPTER_ABI_MAJOR_OF(abi_version), ".",
                      MIXER_ADAPTER_ABI_MINOR_OF(abi_version));
}

LoadedAdapter::LoadedAdapter(AdapterInfo info, const mixer_adapter* api,
                             const mixer_host_api* host_api, HostServices* services)
    : info_(std::move(info)), api_(api), host_api_(host_api), services_(services) {}

namespace {

void addError(void* ctx, const char* path, const char* message) {
  auto* errors = static_cast<std::vector<ParamError>*>(ctx);
  std::string full = "params";
  if (path != nullptr && *path != '\0') {
    if (*path != '[') {
      full += '.';
    }
    full += path;
  }
  errors->push_back(ParamError{std::move(full), message == nullptr ? "invalid" : message});
}

}  // namespace

std::vector<ParamError> LoadedAdapter::validateParams(const AbiValue& params) const {
  std::vector<ParamError> errors;
  const AbiValue empty = AbiValue::map();
  const AbiValue& effective = params.isNull() ? empty : params;
  if (!effective.isMap()) {
    errors.push_back(ParamError{"params", "must be a map"});
    return errors;
  }
  EncodedValue encoded(effective);
  mixer_error_sink sink{sizeof(mixer_error_sink), 0, &errors, &addError};
  const mixer_result result = api_->validate_params(encoded.get(), &sink);
  if (result != MIXER_OK && errors.empty()) {
    errors.push_back(ParamError{
        "params", absl::StrCat("rejected by the adapter (result ", result, ") without details")});
  }
  return errors;
}

absl::StatusOr<HandlerPtr> LoadedAdapter::createHandler(const std::string& handler_name,
                                                        const AbiValue& params) const {
  std::vector<ParamError> errors = validateParams(params);
  if (!errors.empty()) {
    std::vector<std::string> lines;
    lines.reserve(errors.size());
    for (const ParamError& e : errors) {
      lines.push_back(e.toString());
    }
    return absl::InvalidArgumentError(absl::StrCat("handler '", handler_name, "' (adapter '",
                                                   info_.name, "'): invalid params:\n",
                                                   absl::StrJoin(lines, "\n")));
  }
  const AbiValue empty = AbiValue::map();
  EncodedValue encoded(params.isNull() ? empty : params);
  mixer_handler_config config{sizeof(mixer_handler_config), 0, handler_name.c_str(), encoded.get()};
  void* raw = nullptr;
  const mixer_result result = api_->create_handler(&config, &raw);
  if (result != MIXER_OK || raw == nullptr) {
    return absl::InternalError(absl::StrCat("handler '", handler_name, "' (adapter '", info_.name,
                                            "'): the adapter failed to create it (result ", result,
                                            ")"));
  }
  return std::make_unique<Handler>(shared_from_this(), handler_name, raw);
}

}  // namespace mixer::adapter_host
