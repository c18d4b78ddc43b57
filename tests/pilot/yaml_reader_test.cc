// pilot/model/yaml_reader: strict accessors with file:line errors, the unknown and unsupported
// field reports, UTF-8 and DNS name checks, Istio durations, and splitting a text into bounded
// documents.
#include "pilot/model/yaml_reader.h"

#include <gtest/gtest.h>

namespace pilot::model {
namespace {

class YamlReaderTest : public ::testing::Test {
 protected:
  // Loads `text` as the single document of "r.yaml".
  YAML::Node load(const std::string& text) {
    const std::vector<YAML::Node> docs = loadDocuments(text, &reader_);
    EXPECT_EQ(docs.size(), 1u) << formatErrors(errors_);
    return docs.empty() ? YAML::Node() : docs[0];
  }
  std::string errorText() const { return formatErrors(errors_); }

  std::vector<ConfigError> errors_;
  YamlReader reader_{"r.yaml", &errors_};
};

TEST_F(YamlReaderTest, LineOfIsOneBasedWithAFallbackForAbsentNodes) {
  const YAML::Node doc = load("a: 1\nb:\n  c: 2\n");
  EXPECT_EQ(YamlReader::lineOf(doc["a"]), 1);
  EXPECT_EQ(YamlReader::lineOf(doc["b"]["c"]), 3);
  EXPECT_EQ(YamlReader::lineOf(doc["missing"], 7), 7);
  EXPECT_EQ(reader_.file(), "r.yaml");
}

TEST_F(YamlReaderTest, ErrorsCarryFileLineAndColumn) {
  const YAML::Node doc = load("a: 1\nb:   x\n");
  reader_.error(doc["b"], "bad b");
  reader_.error(0, "clamped");
  ASSERT_EQ(errors_.size(), 2u);
  EXPECT_EQ(formatError(errors_[0]), "r.yaml:2: bad b");
  EXPECT_EQ(errors_[0].pos.column, 6);
  EXPECT_EQ(formatError(errors_[1]), "r.yaml:1: clamped");
  EXPECT_EQ(errors_[1].pos.column, 0);
}

TEST_F(YamlReaderTest, ExpectMapReportsUnknownKeysButAcceptsTheMap) {
  const YAML::Node doc = load("host: a\nhots: b\n");
  EXPECT_TRUE(reader_.expectMap(doc, "spec", {"host", "port"}));
  ASSERT_EQ(errors_.size(), 1u);
  EXPECT_EQ(formatError(errors_[0]), "r.yaml:2: unknown field 'hots' in spec (known: host, port)");
  errors_.clear();
  EXPECT_FALSE(reader_.expectMap(load("[1, 2]\n"), "spec", {"host"}));
  EXPECT_EQ(errorText(), "r.yaml:1: spec must be a map\n");
  errors_.clear();
  EXPECT_FALSE(reader_.expectSequence(load("a: 1\n")["a"], "ports"));
  EXPECT_EQ(errorText(), "r.yaml:1: ports must be a list\n");
}

TEST_F(YamlReaderTest, ReportUnsupportedNamesEachFieldThatIsSet) {
  const YAML::Node doc = load("tcp: []\nhttp: []\ntls: []\n");
  EXPECT_TRUE(reader_.reportUnsupported(doc, "a VirtualService", {"tcp", "tls", "mirror"}));
  EXPECT_EQ(errorText(),
            "r.yaml:1: field 'tcp' of a VirtualService is not supported by pilot-discovery\n"
            "r.yaml:3: field 'tls' of a VirtualService is not supported by pilot-discovery\n");
  errors_.clear();
  EXPECT_FALSE(reader_.reportUnsupported(doc, "a VirtualService", {"mirror"}));
  EXPECT_TRUE(errors_.empty());
}

TEST_F(YamlReaderTest, ScalarAccessors) {
  const YAML::Node doc = load(
      "name: x\nlist: [1]\nport: 8080\nbig: 70000\nword: ten\nratio: 12.5\nwait: 250ms\n"
      "late: soon\n");
  EXPECT_EQ(reader_.str(doc, "name", true), "x");
  EXPECT_FALSE(reader_.str(doc, "absent", false));
  EXPECT_TRUE(errors_.empty()) << errorText();
  EXPECT_FALSE(reader_.str(doc, "absent", true));
  EXPECT_FALSE(reader_.str(doc, "list", true));
  EXPECT_EQ(reader_.integer(doc, "port", true, 1, 65535), 8080);
  EXPECT_FALSE(reader_.integer(doc, "big", true, 1, 65535));
  EXPECT_FALSE(reader_.integer(doc, "word", true, 1, 65535));
  EXPECT_EQ(reader_.number(doc, "ratio", true, 0, 100), 12.5);
  EXPECT_EQ(reader_.duration(doc, "wait", true), std::chrono::milliseconds(250));
  EXPECT_FALSE(reader_.duration(doc, "late", true));
  EXPECT_EQ(errorText(),
            "r.yaml:1: missing required field 'absent'\n"
            "r.yaml:2: field 'list' must be a string\n"
            "r.yaml:4: field 'big' must be in [1, 65535], got 70000\n"
            "r.yaml:5: field 'word' must be an integer, got 'ten'\n"
            "r.yaml:8: field 'late' must be a duration like 1s or 250ms, got 'soon'\n");
}

TEST_F(YamlReaderTest, StringMapsAndLists) {
  const YAML::Node doc =
      load("labels: {app: web, version: v1}\nhosts: [a, b]\nempty: []\nnested: [[a]]\n");
  EXPECT_EQ(reader_.stringMap(doc, "labels"),
            (std::map<std::string, std::string>{{"app", "web"}, {"version", "v1"}}));
  EXPECT_TRUE(reader_.stringMap(doc, "absent").empty());
  EXPECT_EQ(reader_.stringList(doc, "hosts", true), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(errors_.empty()) << errorText();
  EXPECT_TRUE(reader_.stringList(doc, "empty", true).empty());
  EXPECT_TRUE(reader_.stringList(doc, "nested", false).empty());
  EXPECT_TRUE(reader_.stringMap(doc, "hosts").empty());
  EXPECT_EQ(errorText(),
            "r.yaml:3: field 'empty' must not be empty\n"
            "r.yaml:4: field 'nested' must be a list of strings\n"
            "r.yaml:2: field 'hosts' must be a map of strings\n");
}

TEST(YamlCheckTest, Utf8) {
  EXPECT_TRUE(isUtf8("plain"));
  EXPECT_TRUE(isUtf8("caf\xc3\xa9"));        // é
  EXPECT_TRUE(isUtf8("\xf0\x9f\x98\x80"));   // U+1F600
  EXPECT_FALSE(isUtf8("a\xfe"));             // never valid
  EXPECT_FALSE(isUtf8("\xc3"));              // truncated
  EXPECT_FALSE(isUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(isUtf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(isUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
}

TEST(YamlCheckTest, DnsNames) {
  EXPECT_TRUE(isDnsName("reviews"));
  EXPECT_TRUE(isDnsName("reviews.default.svc.cluster.local"));
  EXPECT_TRUE(isDnsName("10.0.0.1"));
  EXPECT_FALSE(isDnsName(""));
  EXPECT_FALSE(isDnsName(".reviews"));
  EXPECT_FALSE(isDnsName("-reviews"));
  EXPECT_FALSE(isDnsName("a b"));
  EXPECT_FALSE(isDnsName("a_b"));
  EXPECT_TRUE(isDnsName(std::string(253, 'a')));
  EXPECT_FALSE(isDnsName(std::string(254, 'a')));
}

TEST(DurationTest, IstioForms) {
  EXPECT_EQ(parseDuration("1s"), std::chrono::milliseconds(1000));
  EXPECT_EQ(parseDuration("250ms"), std::chrono::milliseconds(250));
  EXPECT_EQ(parseDuration("1.5s"), std::chrono::milliseconds(1500));
  EXPECT_EQ(parseDuration("2m"), std::chrono::milliseconds(120000));
  EXPECT_EQ(parseDuration("1h"), std::chrono::milliseconds(3600000));
  EXPECT_FALSE(parseDuration("s"));
  EXPECT_FALSE(parseDuration("-1s"));
  // Go's grammar: unit sequences, and 0 alone.
  EXPECT_EQ(parseDuration("1h30m"), std::chrono::milliseconds(5400000));
  EXPECT_EQ(parseDuration("0"), std::chrono::milliseconds(0));
  EXPECT_EQ(parseDuration("1500us"), std::chrono::milliseconds(2));
  EXPECT_FALSE(parseDuration("10"));
  EXPECT_FALSE(parseDuration("1e300h"));
}

TEST(LoadDocumentsTest, SplitsAtMarkersKeepingFileLines) {
  std::vector<ConfigError> errors;
  YamlReader reader("d.yaml", &errors);
  const std::vector<YAML::Node> docs =
      loadDocuments("a: 1\n---\nb: 2\n...\n---\n# empty\n---\nc:\n  d: 3\n", &reader);
  EXPECT_TRUE(errors.empty()) << formatErrors(errors);
  ASSERT_EQ(docs.size(), 3u);  // the comment-only document is dropped
  EXPECT_EQ(YamlReader::lineOf(docs[0]["a"]), 1);
  EXPECT_EQ(YamlReader::lineOf(docs[1]["b"]), 3);
  EXPECT_EQ(YamlReader::lineOf(docs[2]["c"]["d"]), 9);
}

TEST(LoadDocumentsTest, SyntaxErrorsYieldNoDocuments) {
  std::vector<ConfigError> errors;
  YamlReader reader("d.yaml", &errors);
  EXPECT_TRUE(loadDocuments("a: 1\nb: [\n", &reader).empty());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].pos.file, "d.yaml");
  EXPECT_NE(errors[0].message.find("YAML syntax error"), std::string::npos) << errors[0].message;
}

TEST(LoadDocumentsTest, AliasExpansionIsBounded) {
  // Nine levels of ten aliases each: a billion nodes from a few hundred bytes.
  std::string yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    yaml += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) yaml += (j ? ", *a" : "*a") + std::to_string(i - 1);
    yaml += "]\n";
  }
  std::vector<ConfigError> errors;
  YamlReader reader("c.yaml", &errors);
  EXPECT_TRUE(loadDocuments(yaml + "---\nsmall: 1\n", &reader).size() == 1u);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(formatError(errors[0]).find("c.yaml:1: document is larger than 50000 nodes"),
            std::string::npos)
      << formatError(errors[0]);
}

TEST(LoadDocumentsTest, NestingIsBounded) {
  std::vector<ConfigError> errors;
  YamlReader reader("n.yaml", &errors);
  EXPECT_TRUE(loadDocuments(std::string(70, '[') + std::string(70, ']') + "\n", &reader).empty());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("nested deeper than 64 levels"), std::string::npos)
      << errors[0].message;
}

}  // namespace
}  // namespace pilot::model
