// Configurations taken from the documentation, so that a test checks what docs/ shows.
#pragma once

#include <string>

namespace mixer::testing {

// The first fenced block (````lang`) after the first line `heading` in `doc` (a path under the
// source tree, e.g. "docs/envoy.md"); "" when there is none.
std::string docBlock(const std::string& doc, const std::string& heading, const std::string& lang);

// Istio's standard HTTP metrics as docs/adapters.md gives them, with the prometheus handler on an
// ephemeral loopback port; "" when the documentation no longer has them.
std::string standardMetricsConfigFromDocs();

}  // namespace mixer::testing
