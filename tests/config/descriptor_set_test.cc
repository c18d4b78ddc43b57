// `kind: template` and `kind: adapter` documents (Istio 1.x out-of-process adapters): their
// base64 FileDescriptorSets are decoded and built at load time.
#include <google/protobuf/descriptor.pb.h>
#include <gtest/gtest.h>

#include <string>

#include <google/protobuf/any.pb.h>
#include <google/protobuf/duration.pb.h>
#include <google/protobuf/dynamic_message.h>

#include "absl/strings/escaping.h"
#include "config/descriptor_set.h"
#include "config/loader.h"

namespace mixer::config {
namespace {

using google::protobuf::FieldDescriptorProto;
using google::protobuf::FileDescriptorProto;
using google::protobuf::FileDescriptorSet;

FileDescriptorProto commonFile() {
  FileDescriptorProto f;
  f.set_name("example/common.proto");
  f.set_package("example.common");
  f.set_syntax("proto3");
  auto* m = f.add_message_type();
  m->set_name("Labels");
  auto* field = m->add_field();
  field->set_name("name");
  field->set_number(1);
  field->set_type(FieldDescriptorProto::TYPE_STRING);
  field->set_label(FieldDescriptorProto::LABEL_OPTIONAL);
  return f;
}

// A template file that imports commonFile().
FileDescriptorProto templateFile() {
  FileDescriptorProto f;
  f.set_name("example/sample/template.proto");
  f.set_package("example.sample");
  f.set_syntax("proto3");
  f.add_dependency("example/common.proto");
  for (const char* name : {"Template", "InstanceMsg"}) {
    auto* m = f.add_message_type();
    m->set_name(name);
    auto* value = m->add_field();
    value->set_name("value");
    value->set_number(1);
    value->set_type(FieldDescriptorProto::TYPE_STRING);
    value->set_label(FieldDescriptorProto::LABEL_OPTIONAL);
    auto* labels = m->add_field();
    labels->set_name("labels");
    labels->set_number(2);
    labels->set_type(FieldDescriptorProto::TYPE_MESSAGE);
    labels->set_type_name(".example.common.Labels");
    labels->set_label(FieldDescriptorProto::LABEL_OPTIONAL);
  }
  return f;
}

std::string base64(const FileDescriptorSet& set) {
  return absl::Base64Escape(set.SerializeAsString());
}

std::string withImports() {
  FileDescriptorSet set;
  *set.add_file() = commonFile();
  *set.add_file() = templateFile();
  return base64(set);
}

TEST(DescriptorSetTest, BuildsEveryFileAndNamesTheLastFilesMessages) {
  std::vector<std::string> messages;
  std::string error;
  ASSERT_TRUE(checkDescriptorSet(withImports(), &messages, &error)) << error;
  EXPECT_EQ(messages,
            (std::vector<std::string>{"example.sample.Template", "example.sample.InstanceMsg"}));
}

TEST(DescriptorSetTest, RejectsWhatDoesNotDecodeOrBuild) {
  std::vector<std::string> messages;
  std::string error;
  EXPECT_FALSE(checkDescriptorSet("not base64 at all!", &messages, &error));
  EXPECT_EQ(error, "not base64");
  EXPECT_FALSE(checkDescriptorSet(absl::Base64Escape("\xff\xff\xff"), &messages, &error));
  EXPECT_EQ(error, "not a serialized google.protobuf.FileDescriptorSet");
  FileDescriptorSet missing_import;
  *missing_import.add_file() = templateFile();
  EXPECT_FALSE(checkDescriptorSet(base64(missing_import), &messages, &error));
  EXPECT_NE(error.find("example/sample/template.proto"), std::string::npos) << error;
  EXPECT_NE(error.find("example/common.proto"), std::string::npos) << error;
  EXPECT_TRUE(messages.empty());
}

LoadResult load(const std::string& yaml) {
  LoadResult r;
  loadText(yaml, "d.yaml", &r);
  resolve(&r);
  return r;
}

TEST(DescriptorDocumentsTest, TemplateAndAdapterDocumentsLoad) {
  const LoadResult r = load(
      "apiVersion: config.istio.io/v1alpha2\nkind: template\n"
      "metadata: {name: sample, namespace: istio-system}\n"
      "spec:\n  descriptor: \"" +
      withImports() +
      "\"\n---\n"
      "apiVersion: config.istio.io/v1alpha2\nkind: adapter\n"
      "metadata: {name: sampleadapter, namespace: istio-system}\n"
      "spec:\n  description: an out-of-process adapter\n  session_based: false\n"
      "  templates: [sample]\n  config: " +
      withImports() + "\n");
  EXPECT_TRUE(r.errors.empty()) << r.errors[0].str();
  EXPECT_EQ(r.descriptor_documents, 2u);
  EXPECT_EQ(r.documents, 2u);
}

TEST(DescriptorDocumentsTest, BadDescriptorsAreErrorsAtTheirPlace) {
  FileDescriptorSet missing_import;
  *missing_import.add_file() = templateFile();
  const LoadResult r = load(
      "apiVersion: config.istio.io/v1alpha2\nkind: template\n"
      "metadata: {name: garbled, namespace: istio-system}\n"
      "spec:\n  descriptor: \"%%%\"\n---\n"
      "apiVersion: config.istio.io/v1alpha2\nkind: template\n"
      "metadata: {name: unbuilt, namespace: istio-system}\n"
      "spec:\n  descriptor: " +
      base64(missing_import) +
      "\n---\n"
      "apiVersion: config.istio.io/v1alpha2\nkind: template\n"
      "metadata: {name: empty, namespace: istio-system}\n"
      "spec:\n  descritpor: x\n");
  ASSERT_EQ(r.errors.size(), 4u);
  EXPECT_EQ(r.errors[0].str(),
            "d.yaml:5:16: template 'garbled.template.istio-system': spec.descriptor: not base64");
  EXPECT_EQ(r.errors[1].str().rfind("d.yaml:11:15: template 'unbuilt.template.istio-system': "
                                    "spec.descriptor: example/sample/template.proto",
                                    0),
            0u)
      << r.errors[1].str();
  EXPECT_EQ(r.errors[2].str().rfind("d.yaml:17:3: unknown field 'descritpor'", 0), 0u)
      << r.errors[2].str();
  EXPECT_NE(r.errors[3].str().find("spec.descriptor of template 'empty.template.istio-system' is "
                                   "required"),
            std::string::npos)
      << r.errors[3].str();
  EXPECT_EQ(r.descriptor_documents, 0u);
}

// An adapter config message: Params{repeated string overrides = 1; bool blacklist = 2;
// google.protobuf.Duration ttl = 3; Kind kind = 4 (enum A, B); map<string, int64> limits = 5}.
std::string adapterConfigSet() {
  FileDescriptorSet set;
  google::protobuf::Duration::descriptor()->file()->CopyTo(set.add_file());
  FileDescriptorProto f;
  f.set_name("adapter/config.proto");
  f.set_package("adapter.sample.config");
  f.set_syntax("proto3");
  f.add_dependency("google/protobuf/duration.proto");
  auto* m = f.add_message_type();
  m->set_name("Params");
  auto add = [&](const char* name, int number, FieldDescriptorProto::Type type,
                 FieldDescriptorProto::Label label, const char* type_name = nullptr) {
    auto* field = m->add_field();
    field->set_name(name);
    field->set_json_name(name);
    field->set_number(number);
    field->set_type(type);
    field->set_label(label);
    if (type_name != nullptr) {
      field->set_type_name(type_name);
    }
  };
  add("overrides", 1, FieldDescriptorProto::TYPE_STRING, FieldDescriptorProto::LABEL_REPEATED);
  add("blacklist", 2, FieldDescriptorProto::TYPE_BOOL, FieldDescriptorProto::LABEL_OPTIONAL);
  add("ttl", 3, FieldDescriptorProto::TYPE_MESSAGE, FieldDescriptorProto::LABEL_OPTIONAL,
      ".google.protobuf.Duration");
  add("kind", 4, FieldDescriptorProto::TYPE_ENUM, FieldDescriptorProto::LABEL_OPTIONAL,
      ".adapter.sample.config.Params.Kind");
  add("limits", 5, FieldDescriptorProto::TYPE_MESSAGE, FieldDescriptorProto::LABEL_REPEATED,
      ".adapter.sample.config.Params.LimitsEntry");
  auto* e = m->add_enum_type();
  e->set_name("Kind");
  auto* v = e->add_value();
  v->set_name("A");
  v->set_number(0);
  v = e->add_value();
  v->set_name("B");
  v->set_number(1);
  auto* entry = m->add_nested_type();
  entry->set_name("LimitsEntry");
  entry->mutable_options()->set_map_entry(true);
  auto* k = entry->add_field();
  k->set_name("key");
  k->set_number(1);
  k->set_type(FieldDescriptorProto::TYPE_STRING);
  k->set_label(FieldDescriptorProto::LABEL_OPTIONAL);
  auto* val = entry->add_field();
  val->set_name("value");
  val->set_number(2);
  val->set_type(FieldDescriptorProto::TYPE_INT64);
  val->set_label(FieldDescriptorProto::LABEL_OPTIONAL);
  *set.add_file() = f;
  std::string bytes;
  set.SerializeToString(&bytes);
  return bytes;
}

TEST(AdapterConfigTest, HandlerParamsBecomeTheAdaptersConfigMessageInAnAny) {
  const YAML::Node params = YAML::Load(
      "overrides: [v1, v2]\nblacklist: true\nttl: 1m30s\nkind: B\nlimits: {a: 5, b: 7}\n");
  std::string any_bytes;
  std::vector<ParamProblem> problems;
  ASSERT_TRUE(encodeAdapterConfig(adapterConfigSet(), params, &any_bytes, &problems));
  google::protobuf::Any any;
  ASSERT_TRUE(any.ParseFromString(any_bytes));
  EXPECT_EQ(any.type_url(), "type.googleapis.com/adapter.sample.config.Params");
  // Decoded again with a pool built from the same set.
  FileDescriptorSet set;
  ASSERT_TRUE(set.ParseFromString(adapterConfigSet()));
  google::protobuf::DescriptorPool pool;
  for (const auto& file : set.file()) {
    ASSERT_NE(pool.BuildFile(file), nullptr);
  }
  google::protobuf::DynamicMessageFactory factory(&pool);
  std::unique_ptr<google::protobuf::Message> msg(
      factory.GetPrototype(pool.FindMessageTypeByName("adapter.sample.config.Params"))->New());
  ASSERT_TRUE(msg->ParseFromString(any.value()));
  const std::string text = msg->ShortDebugString();
  EXPECT_NE(text.find("overrides: \"v1\" overrides: \"v2\""), std::string::npos) << text;
  EXPECT_NE(text.find("blacklist: true"), std::string::npos) << text;
  EXPECT_NE(text.find("ttl { seconds: 90 }"), std::string::npos) << text;
  EXPECT_NE(text.find("kind: B"), std::string::npos) << text;
  EXPECT_NE(text.find("limits { key: \"a\" value: 5 }"), std::string::npos) << text;
}

TEST(AdapterConfigTest, ParamsTheMessageCannotHoldAreErrorsAtTheirLine) {
  const YAML::Node params =
      YAML::Load("overrides: [v1]\nblacklistt: true\nttl: soon\nkind: C\nblacklist: yes\n");
  std::string any_bytes;
  std::vector<ParamProblem> problems;
  ASSERT_FALSE(encodeAdapterConfig(adapterConfigSet(), params, &any_bytes, &problems));
  std::vector<std::string> text;
  for (const auto& p : problems) {
    text.push_back(std::to_string(p.line) + ": " + p.message);
  }
  EXPECT_EQ(text, (std::vector<std::string>{
                      "2: params.blacklistt: adapter.sample.config.Params has no such field",
                      "3: params.ttl: want a duration such as \"10s\" or \"500ms\"",
                      "4: params.kind: 'C' is not a value of adapter.sample.config.Params.Kind",
                      "5: params.blacklist: 'yes' is not a bool (true or false)"}));
}

}  // namespace
}  // namespace mixer::config
