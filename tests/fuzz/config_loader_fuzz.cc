// Fuzz target: configuration loading (loadText + resolve) in either config model. The input is
// one or more YAML files separated by a line "### next file". Invariants beyond "no crash, no
// hang": every error has a message and a position (line and column >= 1) in one of the files,
// and a configuration without errors has every rule action resolved to an existing handler and
// existing instances.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "config/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16384) {
    return 0;  // configuration files are small; large inputs only slow the search down
  }
  std::string_view input(reinterpret_cast<const char*>(data), size);
  constexpr std::string_view kSeparator = "\n### next file\n";
  std::vector<std::string_view> files;
  for (size_t at; (at = input.find(kSeparator)) != std::string_view::npos;) {
    files.push_back(input.substr(0, at));
    input.remove_prefix(at + kSeparator.size());
  }
  files.push_back(input);

  mixer::config::LoadResult result;
  std::unordered_set<std::string> names;
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string name = "f" + std::to_string(i) + ".yaml";
    names.insert(name);
    mixer::config::loadText(files[i], name, &result);
  }
  mixer::config::resolve(&result);

  for (const mixer::config::ConfigError& e : result.errors) {
    if (e.message.empty() || e.pos.line < 1 || e.pos.column < 1 || names.count(e.pos.file) == 0) {
      std::abort();
    }
  }
  if (!result.aspect_documents.empty()) {
    std::abort();
  }
  if (result.errors.empty()) {
    std::unordered_set<std::string> handlers;
    std::unordered_set<std::string> instances;
    for (const auto& h : result.model.handlers) {
      handlers.insert(h.name);
    }
    for (const auto& i : result.model.instances) {
      instances.insert(i.name);
    }
    for (const auto& rule : result.model.rules) {
      for (const auto& action : rule.actions) {
        if (handlers.count(action.handler) == 0) {
          std::abort();
        }
        for (const auto& instance : action.instances) {
          if (instances.count(instance) == 0) {
            std::abort();
          }
        }
      }
    }
  }
  return 0;
}
