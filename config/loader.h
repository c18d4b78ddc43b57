// Loading of configuration directories: every *.yaml / *.yml file under a directory (recursively,
// in path order), each possibly holding several documents, in either config model or both mixed.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
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

  // Input: places ("file:line:column", SourcePos::str()) to leave out, so that the rest of a
  // configuration can serve without its invalid resources, as Istio's mixs served it. A document
  // whose first key is at such a place is not loaded; an action whose handler reference is at
  // one is dropped; so is an instance reference, and an action left with no instance.
  // mixer/runtime/config_store.h's skip_invalid_resources fills it from errors.
  std::set<std::string> skip;
  // Output: where each loaded or skipped document starts, in load order (for mapping an error to
  // the document that holds it), and how many documents and references `skip` left out.
  std::vector<SourcePos> document_starts;
  // Each duplicate definition ("file:line:column" of the error) and where the first one is: when
  // resources are skipped, the earlier one is, so the last definition wins, as in Istio's file
  // store.
  std::unordered_map<std::string, SourcePos> duplicates;
  size_t skipped_by_request = 0;
};

// The place to add to LoadResult::skip so that the resource holding `error` is left out: the
// action's handler or instance reference when the error is at one, else the start of the
// document that holds it (for a duplicate, the earlier definition's document). Empty when the
// error has no such place (a YAML syntax error, an unreadable file).
std::string skipPlaceFor(const ConfigError& error, const LoadResult& result);

// Loads a directory tree, leaving out what `skip` names (LoadResult::skip).
LoadResult loadDirectory(const std::string& dir, std::set<std::string> skip = {});

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
