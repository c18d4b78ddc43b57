// Reading the YAML documents of a configuration file with the shared reader (base/yaml_reader.h),
// plus what only the loader does with them: snake_case key normalisation, attribute manifests and
// the per-model document loaders. Internal to the loader. Not thread-safe.
#pragma once

#include <yaml-cpp/yaml.h>

#include "base/yaml_reader.h"
#include "config/loader.h"

namespace mixer::config {

using base::camelToSnake;

// A deep copy of `node` with the map keys of its first `levels` levels spelled in snake_case.
// Only for nodes whose keys are all field names (never for user-defined maps such as labels).
YAML::Node snakeKeys(const YAML::Node& node, int levels);

// The loader reads each document with the shared reader (positions, camelCase/snake_case field
// lookup via base::field, typed accessors, error collection).
using DocumentReader = base::YamlReader;

// Adds the attributes of a manifest's `attributes:` map ({NAME: {valueType, description}}) to
// `model`; reports unknown value types and conflicting redeclarations.
void addManifestAttributes(const YAML::Node& attributes, DocumentReader* reader,
                           ConfigModel* model);

// Loads one Istio 1.x document (apiVersion config.istio.io/v1alpha2 or policy.istio.io/v1beta1).
void loadIstioDocument(const YAML::Node& doc, DocumentReader* reader, LoadResult* result);

// Turns every aspect-model document of `result` into handlers, instances and rules.
void translateAspectDocuments(LoadResult* result);

}  // namespace mixer::config
