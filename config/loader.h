// Loading of configuration directories: every *.yaml / *.yml file under a directory (recursively,
// in path order), each possibly holding several documents, in either config model or both mixed.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"

namespace mixer::config {

// An aspect-model document, kept from loadText until resolve() translates it: its adapters,
// descriptors and rules may be spread over several files.
struct AspectDocument {
  YAML::Node root;
  std::string file;
  std::shared_ptr<const std::string> text;  // the file's text, to place positions
};

struct LoadResult {
  ConfigModel model;
  // Every problem found, in file order. A non-empty list means the model must not be served.
  std::vector<ConfigError> errors;
  size_t files = 0;
  size_t documents = 0;
  // Documents of other APIs (e.g. networking.istio.io, or the proxy-side QuotaSpec kinds) that
  // the loader skips on purpose.
  size_t skipped_documents = 0;
  // `kind: template` / `kind: adapter` documents of out-of-process adapters: their descriptors
  // are checked (config/descriptor_set.h) and kept in the model for the handlers that call such
  // adapters (mixer/adapter_host/remote_adapter.h).
  size_t descriptor_documents = 0;
  // Filled by loadText, emptied by resolve().
  std::vector<AspectDocument> aspect_documents;
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

// Istio's canonical form of a reference written in a rule of namespace `ns`: "name" becomes
// "name.<kind>.ns" (kind is "handler" or "instance"), "name.kind" becomes "name.kind.ns", and a
// name with two or more dots is taken as fully qualified.
std::string canonicalReference(std::string_view ref, std::string_view kind, std::string_view ns);

}  // namespace mixer::config
