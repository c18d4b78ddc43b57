// `mixc eval`: compiles one expression against a manifest, evaluates it over attributes given as
// mixc attribute flags, and prints the value and type (or the error) and the referenced attributes.
#pragma once

#include <string>

#include "mixer/client/attribute_flags.h"

namespace mixer::client {

struct EvalOptions {
  std::string lang = "cexl";  // cexl | cel
  std::string manifest_file;  // Istio attributemanifest YAML; empty: the built-in vocabularies
  // Which built-in vocabularies type the names (without --manifest): "all" (Istio 1.x's
  // istio-proxy and kubernetes manifests and the Istio 0.1/0.2 names: target.*, ...) or "1.x".
  std::string vocabulary = "all";
  std::string expression;
  bool json = false;
  AttributeFlags attrs;
};

// Prints to stdout/stderr; returns the exit status: 0 value, 1 evaluation error, 2 compile error
// (or bad input).
int runEval(const EvalOptions& options);

}  // namespace mixer::client
