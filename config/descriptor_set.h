// Istio 1.x out-of-process adapter documents carry protobuf descriptors as base64 text: a
// `kind: template` its template's FileDescriptorSet (`descriptor`), a `kind: adapter` its
// config message's (`config`). Checking one decodes it and builds every file in a protobuf
// DescriptorPool, as Istio's runtime did before using it. Stateless; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace mixer::config {

// Decodes `base64` (a serialized google.protobuf.FileDescriptorSet) and builds its files in
// order (imports first, as `protoc --include_imports` writes them). On success appends the full
// names of the top-level messages of the last file (the template's or the config's own file) to
// `messages` and returns true; else sets `error` to what is wrong.
bool checkDescriptorSet(std::string_view base64, std::vector<std::string>* messages,
                        std::string* error);

}  // namespace mixer::config

namespace mixer::config {

// The bytes of a base64 FileDescriptorSet (standard or URL-safe alphabet); false when not base64.
bool decodeDescriptorSet(std::string_view base64, std::string* bytes);

// An out-of-process adapter's handler params (YAML) encoded as its config message: the message
// `Params` of the last file of `descriptor_set` (a serialized FileDescriptorSet, the `config` of
// its `kind: adapter` document; else that file's first message), wrapped in a serialized
// google.protobuf.Any with type URL "type.googleapis.com/<full name>", as Istio sent it.
// Field names may be snake_case or lowerCamelCase; durations are written "10s", "500ms", ...
// Appends one {position, message} per problem and returns false when there is any.
struct ParamProblem {
  int line = 0;  // 1-based; 0 when unknown
  int column = 0;
  std::string message;
};
bool encodeAdapterConfig(const std::string& descriptor_set, const YAML::Node& params,
                         std::string* any, std::vector<ParamProblem>* problems);

}  // namespace mixer::config
