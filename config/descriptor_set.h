// Istio 1.x out-of-process adapter documents carry protobuf descriptors as base64 text: a
// `kind: template` its template's FileDescriptorSet (`descriptor`), a `kind: adapter` its
// config message's (`config`). Checking one decodes it and builds every file in a protobuf
// DescriptorPool, as Istio's runtime did before using it. Stateless; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mixer::config {

// Decodes `base64` (a serialized google.protobuf.FileDescriptorSet) and builds its files in
// order (imports first, as `protoc --include_imports` writes them). On success appends the full
// names of the top-level messages of the last file (the template's or the config's own file) to
// `messages` and returns true; else sets `error` to what is wrong.
bool checkDescriptorSet(std::string_view base64, std::vector<std::string>* messages,
                        std::string* error);

}  // namespace mixer::config
