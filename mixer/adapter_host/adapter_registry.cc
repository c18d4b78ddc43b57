#include "mixer/adapter_host/adapter_registry.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <iomanip>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#ifndef MIXER_BUILD_ADAPTER_DIR
#define MIXER_BUILD_ADAPTER_DIR ""
#endif
#ifndef MIXER_BUILD_DIR
#define MIXER_BUILD_DIR ""
#endif
#ifndef MIXER_INSTALL_LIBDIR
#define MIXER_INSTALL_LIBDIR "lib"
#endif
#ifndef MIXER_INSTALL_ADAPTER_DIR
#define MIXER_INSTALL_ADAPTER_DIR "/usr/local/lib/mixer/adapters"
#endif

namespace mixer::adapter_host {
namespace {

// The descriptor size in ABI 1.0; later minor versions only append.
constexpr uint32_t kAdapterStructSizeV1 = offsetof(mixer_adapter, report) + sizeof(void*);
// ABI 1.2 appended the `generate` hook.
constexpr uint32_t kAdapterStructSizeV1_2 = offsetof(mixer_adapter, generate) + sizeof(void*);

bool validAdapterName(const char* name) {
  if (name == nullptr || *name == '\0') {
    return false;
  }
  for (const char* p = name; *p != '\0'; ++p) {
    const char c = *p;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-' || c == '.')) {
      return false;
    }
  }
  return true;
}

std::string text(const char* s) { return s == nullptr ? std::string() : std::string(s); }

// The kinds a descriptor declares that its struct can serve: MIXER_KIND_GENERATE only from a
// descriptor that has the 1.2 `generate` field (an older adapter never meant that bit).
uint32_t declaredKinds(const mixer_adapter* d) {
  uint32_t kinds = d->kinds;
  if (d->struct_size < kAdapterStructSizeV1_2) {
    kinds &= ~MIXER_KIND_GENERATE;
  }
  return kinds;
}

// Checks a descriptor an adapter returned; empty when usable.
std::string descriptorProblem(const mixer_adapter* d) {
  if (d == nullptr) {
    return "the entry point returned no descriptor";
  }
  if (MIXER_ADAPTER_ABI_MAJOR_OF(d->abi_version) != MIXER_ADAPTER_ABI_VERSION_MAJOR) {
    return absl::StrCat("built for adapter ABI ", MIXER_ADAPTER_ABI_MAJOR_OF(d->abi_version), ".",
                        MIXER_ADAPTER_ABI_MINOR_OF(d->abi_version), "; this host supports ",
                        MIXER_ADAPTER_ABI_VERSION_MAJOR, ".x (up to ",
                        MIXER_ADAPTER_ABI_VERSION_MAJOR, ".", MIXER_ADAPTER_ABI_VERSION_MINOR, ")");
  }
  if (d->struct_size < kAdapterStructSizeV1) {
    return absl::StrCat("descriptor struct_size ", d->struct_size, " is smaller than ABI 1.0's ",
                        kAdapterStructSizeV1);
  }
  if (!validAdapterName(d->name)) {
    return absl::StrCat("invalid adapter name '", text(d->name),
                        "' (letters, digits, '_', '-', '.')");
  }
  if (d->validate_params == nullptr || d->create_handler == nullptr ||
      d->close_handler == nullptr) {
    return absl::StrCat("adapter '", d->name,
                        "' lacks validate_params, create_handler or close_handler");
  }
  const uint32_t kinds = declaredKinds(d);
  if (((kinds & MIXER_KIND_CHECK) != 0 && d->check == nullptr) ||
      ((kinds & MIXER_KIND_QUOTA) != 0 && d->quota == nullptr) ||
      ((kinds & MIXER_KIND_REPORT) != 0 && d->report == nullptr) ||
      ((kinds & MIXER_KIND_GENERATE) != 0 && d->generate == nullptr)) {
    return absl::StrCat("adapter '", d->name, "' declares a kind whose hook is NULL");
  }
  if ((kinds & (MIXER_KIND_CHECK | MIXER_KIND_QUOTA | MIXER_KIND_REPORT | MIXER_KIND_GENERATE)) ==
      0) {
    return absl::StrCat("adapter '", d->name,
                        "' serves no kind (check, quota, report or generate)");
  }
  if (d->template_count > 0 && d->templates == nullptr) {
    return absl::StrCat("adapter '", d->name, "' has template_count but no templates");
  }
  return "";
}

}  // namespace

AdapterRegistry::AdapterRegistry(HostServices* services) : services_(services) {}

absl::Status AdapterRegistry::loadFile(const std::string& path) {
  // RTLD_LOCAL: adapters do not see each other's symbols; RTLD_NOW: unresolved symbols fail here,
  // not in the middle of a request.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    std::string error = text(dlerror());
    if (error.rfind(path + ": ", 0) == 0) {
      error.erase(0, path.size() + 2);  // dlerror repeats the path
    }
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a loadable shared object: ", error));
  }
  auto fail = [&](const std::string& message) {
    dlclose(handle);
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", message));
  };
  dlerror();
  void* symbol = dlsym(handle, MIXER_ADAPTER_ENTRY_SYMBOL);
  if (symbol == nullptr) {
    return fail(absl::StrCat("missing entry symbol '", MIXER_ADAPTER_ENTRY_SYMBOL,
                             "' (not a mixer adapter, or the symbol is not exported)"));
  }
  auto entry = reinterpret_cast<mixer_adapter_entry_fn>(symbol);
  const std::string stem = std::filesystem::path(path).stem().string();
  const mixer_host_api* host_api = services_->createApi(stem);
  const mixer_adapter* descriptor = nullptr;
  const mixer_result started = entry(host_api, &descriptor);
  // After the entry point ran the object may have scheduled work: a rejected adapter stays mapped
  // (owned by the host services) instead of being unloaded under its own tasks.
  auto reject = [&](const std::string& message) {
    services_->adoptLibrary(handle);
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", message));
  };
  if (started == MIXER_ERR_VERSION) {
    return reject(
        absl::StrCat("the adapter rejected this host's ABI ", MIXER_ADAPTER_ABI_VERSION_MAJOR, ".",
                     MIXER_ADAPTER_ABI_VERSION_MINOR, " (built for another major version)"));
  }
  if (started != MIXER_OK) {
    return reject(absl::StrCat("the adapter's entry point failed (result ", started, ")"));
  }
  std::string problem = descriptorProblem(descriptor);
  if (!problem.empty()) {
    return reject(problem);
  }
  AdapterInfo info;
  info.name = descriptor->name;
  info.version = text(descriptor->version);
  info.description = text(descriptor->description);
  info.path = path;
  info.kinds = declaredKinds(descriptor);
  info.abi_version = descriptor->abi_version;
  for (size_t i = 0; i < descriptor->template_count; ++i) {
    info.templates.push_back(text(descriptor->templates[i]));
  }
  services_->adoptLibrary(handle);
  std::lock_guard<std::mutex> lock(mu_);
  auto existing = adapters_.find(info.name);
  if (existing != adapters_.end()) {
    return absl::AlreadyExistsError(absl::StrCat(path, ": duplicate adapter name '", info.name,
                                                 "' (already loaded from ",
                                                 existing->second->info().path, ")"));
  }
  services_->setAdapterName(host_api, info.name);
  const std::string name = info.name;
  adapters_.emplace(
      name, std::make_shared<LoadedAdapter>(std::move(info), descriptor, host_api, services_));
  return absl::OkStatus();
}

int AdapterRegistry::loadDirectory(const std::string& dir, std::vector<std::string>* errors) {
  std::error_code ec;
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".so" && !entry.is_directory()) {
      files.push_back(entry.path().string());
    }
  }
  if (ec) {
    errors->push_back(absl::StrCat(dir, ": cannot read adapter directory: ", ec.message()));
    return 0;
  }
  std::sort(files.begin(), files.end());
  int loaded = 0;
  for (const std::string& file : files) {
    absl::Status status = loadFile(file);
    if (status.ok()) {
      ++loaded;
    } else {
      errors->push_back(std::string(status.message()));
    }
  }
  return loaded;
}

std::shared_ptr<const LoadedAdapter> AdapterRegistry::find(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = adapters_.find(name);
  return it == adapters_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const LoadedAdapter>> AdapterRegistry::adapters() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<const LoadedAdapter>> out;
  for (const auto& [name, adapter] : adapters_) {
    out.push_back(adapter);
  }
  return out;
}

int loadAdapterDirs(const std::vector<std::string>& dirs, AdapterRegistry* registry,
                    std::vector<std::string>* errors) {
  int loaded = 0;
  for (const std::string& dir : dirs) {
    loaded += registry->loadDirectory(dir, errors);
  }
  return loaded;
}

std::string defaultAdapterDir() {
  const char* env = std::getenv("MIXER_ADAPTER_DIR");
  if (env != nullptr && *env != '\0') {
    return env;
  }
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::string build_dir = MIXER_BUILD_DIR;
  if (!ec && !build_dir.empty() && exe.string().rfind(build_dir + "/", 0) == 0) {
    return MIXER_BUILD_ADAPTER_DIR;
  }
  // An install moved to another prefix (cmake --install --prefix, a package): <prefix>/bin/mixs
  // finds <prefix>/<libdir>/mixer/adapters.
  if (!ec) {
    const std::filesystem::path relocated =
        exe.parent_path().parent_path() / MIXER_INSTALL_LIBDIR / "mixer" / "adapters";
    if (std::filesystem::is_directory(relocated, ec)) {
      return relocated.string();
    }
  }
  return MIXER_INSTALL_ADAPTER_DIR;
}

void printAdapters(const AdapterRegistry& registry, std::ostream& out) {
  const auto adapters = registry.adapters();
  size_t name_width = 4;
  size_t version_width = 7;
  size_t kinds_width = 5;
  for (const auto& a : adapters) {
    name_width = std::max(name_width, a->info().name.size());
    version_width = std::max(version_width, a->info().version.size());
    kinds_width = std::max(kinds_width, a->info().kindsString().size());
  }
  auto row = [&](const std::string& name, const std::string& version, const std::string& abi,
                 const std::string& kinds, const std::string& templates, const std::string& path) {
    out << std::left << std::setw(static_cast<int>(name_width) + 2) << name
        << std::setw(static_cast<int>(version_width) + 2) << version << std::setw(5) << abi
        << std::setw(static_cast<int>(kinds_width) + 2) << kinds << templates;
    if (!path.empty()) {
      out << "  (" << path << ")";
    }
    out << "\n";
  };
  row("NAME", "VERSION", "ABI", "KINDS", "TEMPLATES", "");
  for (const auto& a : adapters) {
    const AdapterInfo& info = a->info();
    row(info.name, info.version, info.abiVersionString(), info.kindsString(),
        info.templates.empty() ? "-" : absl::StrJoin(info.templates, ","), info.path);
  }
}

std::string loadedAdaptersSummary(const AdapterRegistry& registry) {
  const auto adapters = registry.adapters();
  std::vector<std::string> parts;
  parts.reserve(adapters.size());
  for (const auto& a : adapters) {
    parts.push_back(absl::StrCat(a->info().name, " ", a->info().version));
  }
  return absl::StrCat("loaded ", adapters.size(), adapters.size() == 1 ? " adapter" : " adapters",
                      parts.empty() ? "" : ": ", absl::StrJoin(parts, ", "));
}

}  // namespace mixer::adapter_host
