// `mixc eval` as a user runs it: the real binary, its output and exit status.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "tests/testing/subprocess.h"

namespace mixer {
namespace {

using testing::binDir;
using testing::runCommand;

std::pair<int, std::string> eval(std::vector<std::string> args) {
  args.insert(args.begin(), {binDir() + "/mixc", "eval"});
  return runCommand(args);
}

TEST(MixcEvalTest, PrintsValueTypeAndReferences) {
  const auto [code, out] = eval({"-e", R"(request.headers["x-a"] | "none")",
                                 "--stringmap_attributes", "request.headers=x-b:1"});
  EXPECT_EQ(code, 0);
  EXPECT_EQ(out, "none (STRING)\nreferenced: -request.headers[x-a], request.headers\n");
}

TEST(MixcEvalTest, JsonValue) {
  const auto [code, out] =
      eval({"--json", "-e", R"(destination.service == "a" && source.ip == ip("10.0.0.1"))", "-a",
            "destination.service=a,source.ip=10.0.0.1"});
  EXPECT_EQ(code, 0);
  EXPECT_EQ(out,
            "{\"type\":\"BOOL\",\"value\":true,\"referenced\":[\"destination.service\","
            "\"source.ip\"]}\n");
}

TEST(MixcEvalTest, MissingAttributeIsAnEvaluationError) {
  const auto [code, out] = eval({"--json", "-e", "request.size + 1 == 2"});
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("\"stage\":\"eval\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"referenced\":[\"-request.size\"]"), std::string::npos) << out;
}

TEST(MixcEvalTest, CompileErrorsCarryPositions) {
  const auto [code, out] = eval({"--json", "-e", "request.sizez == 1"});
  EXPECT_EQ(code, 2);
  EXPECT_EQ(out, "{\"error\":\"1:1: unknown attribute request.sizez\",\"stage\":\"compile\"}\n");
}

TEST(MixcEvalTest, CelDialect) {
  const auto [code, out] =
      eval({"--lang", "cel", "--json", "-e", R"(size(request.path) > 2 ? "long" : "short")", "-s",
            "request.path=/abc"});
  EXPECT_EQ(code, 0);
  EXPECT_EQ(out, "{\"type\":\"STRING\",\"value\":\"long\",\"referenced\":[\"request.path\"]}\n");
}

TEST(MixcEvalTest, ManifestFromAFile) {
  const std::string path = ::testing::TempDir() + "/manifest.yaml";
  std::ofstream(path) << "apiVersion: config.istio.io/v1alpha2\nkind: attributemanifest\n"
                         "metadata: {name: t}\nspec:\n  attributes:\n"
                         "    ai: {valueType: INT64}\n    ar: {valueType: STRING_MAP}\n";
  auto [code, out] = eval({"--manifest", path, "-e", R"(ai == 20 || ar["foo"] == "bar")", "-a",
                           "ai=2", "--stringmap_attributes", "ar=foo:bar"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out, "true (BOOL)\nreferenced: ai, ar, ar[foo]\n");
  // Outside that manifest, the built-in names are unknown.
  std::tie(code, out) = eval({"--manifest", path, "-e", "request.path == \"/\""});
  EXPECT_EQ(code, 2);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace mixer
