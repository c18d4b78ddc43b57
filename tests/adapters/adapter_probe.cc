// adapter_probe: loads adapters the way `mixs` does and exercises one handler, for tests that
// drive an adapter from outside (the out-of-tree SDK example).
//
//   adapter_probe --adapter-dir DIR [--adapter-dir DIR...] [--list]
//                 [--adapter NAME --params FILE.yaml --template T [--field k=v...]
//                  (--check | --report)]
//
// Prints load errors ("error: ..."), the adapter table for --list, and one line per call:
//   check: PERMISSION_DENIED "no entry for mallory" valid_duration=10s valid_use_count=100
//   report: OK
// Exit status: 0 on success, 1 on a load/config/call error, 2 on bad usage.
// The arguments are parsed by hand: a handful of flags in a test tool does not justify a
// flags dependency here.
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "mixer/adapter_host/adapter_registry.h"
#include "mixer/adapter_host/host_services.h"
#include "mixer/adapter_host/yaml_params.h"

namespace {

using namespace mixer::adapter_host;  // NOLINT: a small test tool

int usage() {
  std::cerr << "usage: adapter_probe --adapter-dir DIR... [--list] [--adapter NAME --params FILE "
               "--template T [--field k=v]... (--check|--report)]\n";
  return 2;
}

std::string codeName(absl::StatusCode code) { return absl::StatusCodeToString(code); }

int run(int argc, char** argv) {
  std::vector<std::string> dirs, fields;
  std::string adapter_name, params_file, template_name = "checknothing";
  bool list = false, check = false, report = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--adapter-dir") {
      dirs.push_back(value());
    } else if (arg == "--adapter") {
      adapter_name = value();
    } else if (arg == "--params") {
      params_file = value();
    } else if (arg == "--template") {
      template_name = value();
    } else if (arg == "--field") {
      fields.push_back(value());
    } else if (arg == "--list") {
      list = true;
    } else if (arg == "--check") {
      check = true;
    } else if (arg == "--report") {
      report = true;
    } else {
      return usage();
    }
  }
  if (dirs.empty()) {
    dirs.push_back(defaultAdapterDir());
  }

  InMemoryCounterRegistry counters;
  BackgroundExecutor executor(2);
  int rc = 0;
  {
    HostServices services(&counters, &executor);
    AdapterRegistry registry(&services);
    std::vector<std::string> errors;
    loadAdapterDirs(dirs, &registry, &errors);
    for (const std::string& e : errors) {
      std::cerr << "error: " << e << "\n";
    }
    std::cerr << loadedAdaptersSummary(registry) << "\n";
    if (list) {
      printAdapters(registry, std::cout);
    }
    if (check || report) {
      auto adapter = registry.find(adapter_name);
      if (adapter == nullptr) {
        std::cerr << "error: no adapter '" << adapter_name << "'\n";
        executor.shutdown();
        return 1;
      }
      std::vector<ParamError> param_errors;
      AbiValue params;
      if (!params_file.empty()) {
        try {
          params = valueFromYaml(YAML::LoadFile(params_file), "params", &param_errors);
        } catch (const YAML::Exception& e) {
          std::cerr << "error: " << params_file << ": " << e.what() << "\n";
          executor.shutdown();
          return 1;
        }
      }
      for (const ParamError& e : param_errors) {
        std::cerr << "error: " << params_file << ":" << e.toString() << "\n";
      }
      auto handler = adapter->createHandler("probe", params);
      if (!handler.ok()) {
        std::cerr << "error: " << handler.status().message() << "\n";
        executor.shutdown();
        return 1;
      }
      Instance instance{"probe." + template_name, template_name, AbiValue::map()};
      for (const std::string& f : fields) {
        const size_t eq = f.find('=');
        instance.fields.set(f.substr(0, eq),
                            AbiValue::string(eq == std::string::npos ? "" : f.substr(eq + 1)));
      }
      if (check) {
        auto result = (*handler)->checkAndWait(instance, absl::Seconds(2));
        if (!result.ok()) {
          std::cout << "check: error " << result.status() << "\n";
          rc = 1;
        } else {
          std::cout << "check: " << codeName(result->status.code()) << " \""
                    << result->status.message()
                    << "\" valid_duration=" << absl::FormatDuration(result->valid_duration)
                    << " valid_use_count=" << result->valid_use_count << "\n";
        }
      }
      if (report) {
        absl::Status status = (*handler)->reportAndWait({&instance}, absl::Seconds(2));
        std::cout << "report: " << (status.ok() ? "OK" : status.ToString()) << "\n";
        rc = status.ok() ? rc : 1;
      }
      (*handler)->close();
    }
    executor.shutdown();
  }
  return rc;
}

}  // namespace

int main(int argc, char** argv) { return run(argc, argv); }
