// Converts YAML handler params (yaml-cpp) into the ABI's record shape, so config files reach
// adapters as typed values and every error names its path ("params.status.code").
#ifndef MIXER_ADAPTER_HOST_YAML_PARAMS_H_
#define MIXER_ADAPTER_HOST_YAML_PARAMS_H_

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "mixer/adapter_host/value.h"

namespace mixer::adapter_host {

// One problem in a handler's params. `path` is rooted at "params" ("params.status.code",
// "params.levels[2]"); line and column are 1-based positions in the YAML file, 0 when unknown.
struct ParamError {
  std::string path;
  std::string message;
  int line = 0;
  int column = 0;

  // "params.status.code: must be between 0 and 16" or with a "12:5: " prefix when positioned.
  std::string toString() const;
};

// Converts `node` into an AbiValue. Scalars are typed as YAML 1.2 core schema does: null/~ and
// empty become null, true/false become bool, integers INT64, floats DOUBLE, anything else
// (including a quoted scalar) STRING. Sequences become LIST, mappings MAP. Non-scalar or duplicate
// keys are reported to `errors` under `path` and skipped.
AbiValue valueFromYaml(const YAML::Node& node, const std::string& path,
                       std::vector<ParamError>* errors);

// Fills in line and column of errors that have none (e.g. those an adapter's validation reported
// by path only) from the YAML node their path names under `params` (whose own path is `root`,
// e.g. "params"); a path that does not resolve fully takes the position of its deepest node that
// does. So the config loader can report "rules.yaml:14:9: params.status.code: ...".
void locateErrors(const YAML::Node& params, const std::string& root,
                  std::vector<ParamError>* errors);

}  // namespace mixer::adapter_host

#endif  // MIXER_ADAPTER_HOST_YAML_PARAMS_H_
