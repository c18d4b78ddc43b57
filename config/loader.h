// Loading of configuration directories: every *.yaml / *.yml file under a directory (recursively,
// in path order), each possibly holding several documents, in either config model or both mixed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"

namespace mixer::config {

struct LoadResult {
  ConfigModel model;
  // Every problem found, in file order. A non-empty list means the model must not be served.
  std::vector<ConfigError> errors;
  size_t files = 0;
  size_t documents = 0;
};

// Loads a directory tree.
LoadResult loadDirectory(const std::string& dir);

// Loads YAML text as if it were the file `file_name` (used for the embedded default
// configuration and by tests). Appends to `result`.
void loadText(std::string_view yaml, const std::string& file_name, LoadResult* result);

// Resolves references and checks structure after all files are loaded: rule actions name existing
// handlers and instances (short names resolve in the rule's namespace, as Istio does), names are
// unique, required fields are present. Appends errors. Called by loadDirectory; call it after
// loadText calls.
void resolve(LoadResult* result);

}  // namespace mixer::config
