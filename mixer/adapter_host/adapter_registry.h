// AdapterRegistry: loads adapter shared objects (dlopen RTLD_NOW|RTLD_LOCAL), checks them against
// the ABI and keeps the ones that pass, by name. This is what `mixs` calls for --adapter-dir and
// `mixs adapters`.
#ifndef MIXER_ADAPTER_HOST_ADAPTER_REGISTRY_H_
#define MIXER_ADAPTER_HOST_ADAPTER_REGISTRY_H_

#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "mixer/adapter_host/host_services.h"
#include "mixer/adapter_host/loaded_adapter.h"

namespace mixer::adapter_host {

// Thread-safe.
class AdapterRegistry {
 public:
  // OWNERSHIP: `services` is borrowed and must outlive the registry and every handler.
  explicit AdapterRegistry(HostServices* services);

  // Loads one adapter. On failure the adapter is not loaded and the error names the file:
  // "<path>: not a loadable shared object: ...", "<path>: missing entry symbol ...",
  // "<path>: adapter 'x' was built for ABI 2.0; this host supports 1.x",
  // "<path>: duplicate adapter name 'x' (already loaded from <other>)", ...
  absl::Status loadFile(const std::string& path);

  // Loads every "*.so" file directly in `dir`, in name order. Appends one message per failed file
  // (or for an unreadable directory) to `errors`; returns the number of adapters loaded.
  int loadDirectory(const std::string& dir, std::vector<std::string>* errors);

  std::shared_ptr<const LoadedAdapter> find(std::string_view name) const;
  // Every loaded adapter, by name.
  std::vector<std::shared_ptr<const LoadedAdapter>> adapters() const;

  HostServices& services() const { return *services_; }

 private:
  HostServices* services_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const LoadedAdapter>, std::less<>> adapters_;
};

// Loads every directory in order (for repeated --adapter-dir flags); errors as loadDirectory.
// Returns the number of adapters loaded.
int loadAdapterDirs(const std::vector<std::string>& dirs, AdapterRegistry* registry,
                    std::vector<std::string>* errors);

// The adapter directory used when no --adapter-dir is given: $MIXER_ADAPTER_DIR if set; else
// <build>/adapters when the running binary lives in this build tree; else
// <exe dir>/../<libdir>/mixer/adapters when it exists (a relocated install); else the configured
// <prefix>/<libdir>/mixer/adapters.
std::string defaultAdapterDir();

// A table of the loaded adapters (name, version, ABI, kinds, templates, path), for
// `mixs adapters` / `mixs server --list-adapters`.
void printAdapters(const AdapterRegistry& registry, std::ostream& out);

// One line for the server log: "loaded 2 adapters: denier 1.0.0, stdio 1.0.0".
std::string loadedAdaptersSummary(const AdapterRegistry& registry);

}  // namespace mixer::adapter_host

#endif  // MIXER_ADAPTER_HOST_ADAPTER_REGISTRY_H_
