// base/yaml_reader: positions of scalars, maps and sequences (exact for quoted and block
// scalars), the error type and its rendering, field lookup in either spelling, typed accessors,
// required fields and unknown keys. Positions are counted by hand from the texts below.
#include "base/yaml_reader.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace mixer::base {
namespace {

class YamlReaderTest : public ::testing::Test {
 protected:
  // Reads `text` as "f.yaml", with the text (exact scalar positions).
  YAML::Node read(const std::string& text) {
    reader_ =
        std::make_unique<YamlReader>("f.yaml", std::make_shared<const std::string>(text), &errors_);
    return YAML::Load(text);
  }

  std::vector<std::string> errorTexts() const {
    std::vector<std::string> out;
    for (const YamlError& e : errors_) {
      out.push_back(e.str());
    }
    return out;
  }

  std::vector<YamlError> errors_;
  std::unique_ptr<YamlReader> reader_;
};

TEST(SourcePosTest, RendersFileLineAndColumnOrTheFileAlone) {
  EXPECT_EQ((SourcePos{"a.yaml", 3, 7}).str(), "a.yaml:3:7");
  EXPECT_EQ((SourcePos{"a.yaml", 3, 7}).fileLine(), "a.yaml:3");
  EXPECT_EQ((SourcePos{"a.yaml", 0, 0}).str(), "a.yaml");
  EXPECT_EQ((SourcePos{"a.yaml", 0, 0}).fileLine(), "a.yaml");
  EXPECT_EQ((YamlError{{"a.yaml", 3, 7}, "bad"}).str(), "a.yaml:3:7: bad");
  EXPECT_EQ((YamlError{{"a.yaml", 0, 0}, "unreadable"}).str(), "a.yaml: unreadable");
}

TEST_F(YamlReaderTest, PositionsOfScalarsMapsAndSequences) {
  // Line 1 "name: plain", line 2 "spec:", line 3 "  port: 80", line 4 "  hosts:",
  // line 5 "    - a", line 6 "    - b".
  const YAML::Node doc = read("name: plain\nspec:\n  port: 80\n  hosts:\n    - a\n    - b\n");
  EXPECT_EQ(reader_->pos(doc["name"]), (SourcePos{"f.yaml", 1, 7}));
  EXPECT_EQ(reader_->pos(doc["spec"]), (SourcePos{"f.yaml", 3, 3}));  // the map's first key
  EXPECT_EQ(reader_->pos(doc["spec"]["port"]), (SourcePos{"f.yaml", 3, 9}));
  EXPECT_EQ(reader_->pos(doc["spec"]["hosts"]), (SourcePos{"f.yaml", 5, 5}));  // the first '-'
  EXPECT_EQ(reader_->pos(doc["spec"]["hosts"][1]), (SourcePos{"f.yaml", 6, 7}));
  EXPECT_EQ(reader_->keyPos(doc["spec"], "hosts"), (SourcePos{"f.yaml", 4, 3}));
  // An absent key: the map itself.
  EXPECT_EQ(reader_->keyPos(doc["spec"], "missing"), (SourcePos{"f.yaml", 3, 3}));
  // An absent node: the file as a whole.
  EXPECT_EQ(reader_->pos(doc["missing"]), (SourcePos{"f.yaml", 0, 0}));
}

TEST_F(YamlReaderTest, QuotedAndBlockScalarsPointAtTheirContent) {
  // Line 1 `a: "x y"` (the quote at column 4, x at 5), line 2 `b: 'z'` (z at 5),
  // line 3 "c: |", line 4 "", line 5 "    text" (t at 5).
  const YAML::Node doc = read("a: \"x y\"\nb: 'z'\nc: |\n\n    text\n");
  EXPECT_EQ(reader_->pos(doc["a"]), (SourcePos{"f.yaml", 1, 5}));
  EXPECT_EQ(reader_->pos(doc["b"]), (SourcePos{"f.yaml", 2, 5}));
  EXPECT_EQ(reader_->pos(doc["c"]), (SourcePos{"f.yaml", 5, 5}));
  // Without the text a reader has yaml-cpp's marks only: the quote, the '|'.
  YamlReader marks("f.yaml", nullptr, &errors_);
  EXPECT_EQ(marks.pos(doc["a"]), (SourcePos{"f.yaml", 1, 4}));
  EXPECT_EQ(marks.pos(doc["c"]), (SourcePos{"f.yaml", 3, 4}));
  EXPECT_EQ(markPos("g.yaml", doc["a"]), (SourcePos{"g.yaml", 1, 4}));
}

TEST_F(YamlReaderTest, FieldsAreFoundInEitherSpellingWithoutInsertion) {
  const YAML::Node doc = read("checkExpression: a\nvalue_type: b\n");
  EXPECT_EQ(field(doc, "checkExpression").Scalar(), "a");
  EXPECT_EQ(field(doc, "valueType").Scalar(), "b");
  EXPECT_FALSE(field(doc, "valueType", Spelling::kExact).IsDefined());
  EXPECT_FALSE(field(doc, "missing").IsDefined());
  EXPECT_FALSE(field(doc["checkExpression"], "x").IsDefined());  // not a map
  EXPECT_EQ(doc.size(), 2u);
  EXPECT_EQ(camelToSnake("checkExpression"), "check_expression");
}

TEST_F(YamlReaderTest, TypeErrorsAreReportedAtTheNode) {
  // Line 1 "s: [1, 2]" (the '[' at column 4), line 2 "l: x" (x at 4), line 3 "m: [y]" ('[' at 4).
  const YAML::Node doc = read("s: [1, 2]\nl: x\nm: [y]\nok: {k: v}\n");
  EXPECT_FALSE(reader_->scalar(doc["s"], "field s").has_value());
  EXPECT_FALSE(reader_->sequence(doc["l"], "field l"));
  EXPECT_FALSE(reader_->mapping(doc["m"], "field m"));
  EXPECT_TRUE(reader_->mapping(doc["ok"], "field ok"));
  EXPECT_EQ(reader_->scalar(doc["l"], "field l"), "x");
  // Absent and null nodes are no type errors.
  EXPECT_FALSE(reader_->sequence(doc["absent"], "absent"));
  EXPECT_FALSE(reader_->scalar(YAML::Node(YAML::NodeType::Null), "null").has_value());
  EXPECT_EQ(errorTexts(), (std::vector<std::string>{"f.yaml:1:4: field s must be a string",
                                                    "f.yaml:2:4: field l must be a list",
                                                    "f.yaml:3:4: field m must be a mapping"}));
}

TEST_F(YamlReaderTest, MissingRequiredFieldsAreReportedAtTheFieldOrTheParent) {
  // Line 1 "spec:", line 2 "  empty: ''" (the quote at 10, so the content at 11),
  // line 3 "  name: n" (n at 9).
  const YAML::Node doc = read("spec:\n  empty: ''\n  name: n\n");
  EXPECT_EQ(reader_->requiredScalar(doc["spec"], "name", "name"), "n");
  EXPECT_FALSE(reader_->requiredScalar(doc["spec"], "empty", "empty").has_value());
  EXPECT_FALSE(reader_->requiredScalar(doc["spec"], "host", "host").has_value());
  EXPECT_EQ(errorTexts(), (std::vector<std::string>{"f.yaml:2:11: empty is required",
                                                    "f.yaml:2:3: host is required"}));
}

TEST_F(YamlReaderTest, UnknownKeysAreReportedAtTheKey) {
  // Line 1 "kind: k", line 2 "valueType: t" (snake_case not needed), line 3 "hots: h",
  // line 4 "[a]: b" (a key that is not a string, the '[' at column 1).
  const YAML::Node doc = read("kind: k\nvalue_type: t\nhots: h\n[a]: b\n");
  reader_->checkKeys(doc, {"kind", "valueType"}, "doc");
  EXPECT_EQ(errorTexts(), (std::vector<std::string>{
                              "f.yaml:3:1: unknown field 'hots' in doc (expected kind, valueType)",
                              "f.yaml:4:1: unexpected non-string key in doc"}));
  // The exact spelling rejects value_type too.
  const std::vector<YAML::Node> exact = unknownKeys(doc, {"kind", "valueType"}, Spelling::kExact);
  ASSERT_EQ(exact.size(), 3u);
  EXPECT_EQ(exact[0].Scalar(), "value_type");
  EXPECT_EQ(joinKeys({"a", "b", "c"}), "a, b, c");
}

}  // namespace
}  // namespace mixer::base
