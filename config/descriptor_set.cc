#include "config/descriptor_set.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <string>

#include "absl/strings/escaping.h"
#include "mixer/common/str_cat.h"

namespace mixer::config {
namespace {

// Keeps the first error protobuf reports while building a file.
class FirstError : public google::protobuf::DescriptorPool::ErrorCollector {
 public:
  void AddError(const std::string& filename, const std::string& element_name,
                const google::protobuf::Message*, ErrorLocation,
                const std::string& message) override {
    if (error.empty()) {
      error =
          strCat(filename, ": ", element_name.empty() ? "" : strCat(element_name, ": "), message);
    }
  }
  std::string error;
};

}  // namespace

bool checkDescriptorSet(std::string_view base64, std::vector<std::string>* messages,
                        std::string* error) {
  std::string bytes;
  // Istio writes the standard alphabet; accept the URL-safe one too.
  const absl::string_view text(base64.data(), base64.size());
  if (!absl::Base64Unescape(text, &bytes) && !absl::WebSafeBase64Unescape(text, &bytes)) {
    *error = "not base64";
    return false;
  }
  google::protobuf::FileDescriptorSet set;
  if (!set.ParseFromString(bytes)) {
    *error = "not a serialized google.protobuf.FileDescriptorSet";
    return false;
  }
  if (set.file_size() == 0) {
    *error = "the FileDescriptorSet has no file";
    return false;
  }
  google::protobuf::DescriptorPool pool;
  FirstError errors;
  const google::protobuf::FileDescriptor* last = nullptr;
  for (const auto& file : set.file()) {
    last = pool.BuildFileCollectingErrors(file, &errors);
    if (last == nullptr) {
      *error = errors.error.empty() ? strCat(file.name(), ": does not build") : errors.error;
      return false;
    }
  }
  for (int i = 0; i < last->message_type_count(); ++i) {
    messages->push_back(std::string(last->message_type(i)->full_name()));
  }
  return true;
}

}  // namespace mixer::config
