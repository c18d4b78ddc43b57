#include "tests/testing/doc_blocks.h"

#include "tests/testing/subprocess.h"

namespace mixer::testing {

std::string docBlock(const std::string& doc, const std::string& heading, const std::string& lang) {
  const std::string text = readFile(sourceDir() + "/" + doc);
  const size_t h = text.find(heading);
  const std::string fence = "```" + lang + "\n";
  const size_t start = h == std::string::npos ? h : text.find(fence, h);
  const size_t end = start == std::string::npos ? start : text.find("```", start + fence.size());
  if (end == std::string::npos) return "";
  return text.substr(start + fence.size(), end - start - fence.size());
}

std::string standardMetricsConfigFromDocs() {
  std::string yaml = docBlock("docs/adapters.md", "### Istio's standard HTTP metrics", "yaml");
  const std::string spec =
      "kind: prometheus\nmetadata:\n  name: handler\n  namespace: istio-system\nspec:\n";
  const size_t at = yaml.find(spec);
  if (at == std::string::npos) return "";
  return yaml.insert(at + spec.size(), "  address: \"127.0.0.1:0\"\n");
}

}  // namespace mixer::testing
