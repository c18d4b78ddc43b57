// LoadedAdapter: an adapter shared object that passed loading, with its descriptor, config
// validation and handler creation.
#ifndef MIXER_ADAPTER_HOST_LOADED_ADAPTER_H_
#define MIXER_ADAPTER_HOST_LOADED_ADAPTER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "mixer/adapter_host/handler.h"
#include "mixer/adapter_host/value.h"
#include "mixer/adapter_host/yaml_params.h"
#include "mixer/adapter_sdk/mixer_adapter.h"

namespace mixer::adapter_host {

class HostServices;

struct AdapterInfo {
  std::string name;
  std::string version;
  std::string description;
  std::string path;          // the .so it was loaded from
  uint32_t kinds = 0;        // MIXER_KIND_* mask
  uint32_t abi_version = 0;  // the ABI version the adapter was built against
  std::vector<std::string> templates;

  // "check,quota,report,generate" (the kinds served, in that order).
  std::string kindsString() const;
  // "1.0"
  std::string abiVersionString() const;
};

// Immutable after loading; thread-safe. The shared object stays mapped as long as the
// HostServices it was loaded with (adapters may have posted background work).
class LoadedAdapter : public std::enable_shared_from_this<LoadedAdapter> {
 public:
  // OWNERSHIP: `api`, `host_api` and `services` are borrowed and outlive this object.
  LoadedAdapter(AdapterInfo info, const mixer_adapter* api, const mixer_host_api* host_api,
                HostServices* services);

  const AdapterInfo& info() const { return info_; }
  bool serves(uint32_t kind) const { return (info_.kinds & kind) != 0; }
  const mixer_adapter& api() const { return *api_; }
  // ABI 1.3: the descriptor's `flush` hook, or nullptr (absent, or a descriptor before 1.3).
  void (*flushHook() const)(void*) {
    return api_->struct_size >= offsetof(mixer_adapter, flush) + sizeof(api_->flush) ? api_->flush
                                                                                     : nullptr;
  }
  HostServices& services() const { return *services_; }

  // Every problem in `params` (a map, or null for none), with paths rooted at "params".
  std::vector<ParamError> validateParams(const AbiValue& params) const;

  // Validates `params` and creates a handler. On invalid params the INVALID_ARGUMENT message
  // lists every error, one per line ("params.status.code: ...").
  absl::StatusOr<HandlerPtr> createHandler(const std::string& handler_name,
                                           const AbiValue& params) const;

 private:
  AdapterInfo info_;
  const mixer_adapter* api_;
  const mixer_host_api* host_api_;
  HostServices* services_;
};

}  // namespace mixer::adapter_host

#endif  // MIXER_ADAPTER_HOST_LOADED_ADAPTER_H_
