// `kind: template` and `kind: adapter` documents (Istio 1.x out-of-process adapters): their
// base64 FileDescriptorSets are decoded and built at load time.
#include <google/protobuf/descriptor.pb.h>
#include <gtest/gtest.h>

#include <string>

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

}  // namespace
}  // namespace mixer::config
