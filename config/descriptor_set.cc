#include "config/descriptor_set.h"

#include <google/protobuf/any.pb.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/escaping.h"
#include "base/go_duration.h"
#include "base/str_cat.h"

namespace mixer::config {
namespace {

// Keeps the first error protobuf reports while building a file.
class FirstError : public google::protobuf::DescriptorPool::ErrorCollector {
 public:
  void AddError(const std::string& filename, const std::string& element_name,
                const google::protobuf::Message*, ErrorLocation,
                const std::string& message) override {
    if (error.empty()) {
      error = base::strCat(filename, ": ",
                           element_name.empty() ? "" : base::strCat(element_name, ": "), message);
    }
  }
  std::string error;
};

}  // namespace

bool decodeDescriptorSet(std::string_view base64, std::string* bytes) {
  const absl::string_view text(base64.data(), base64.size());
  return absl::Base64Unescape(text, bytes) || absl::WebSafeBase64Unescape(text, bytes);
}

namespace {

namespace pb = google::protobuf;

class ConfigEncoder {
 public:
  explicit ConfigEncoder(std::vector<ParamProblem>* problems) : problems_(problems) {}

  void message(const YAML::Node& node, pb::Message* msg, const std::string& path) {
    if (!node || node.IsNull()) {
      return;
    }
    if (!node.IsMap()) {
      problem(node, base::strCat(path, ": want a map of the fields of ",
                                 msg->GetDescriptor()->full_name()));
      return;
    }
    const pb::Descriptor* d = msg->GetDescriptor();
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>("");
      const pb::FieldDescriptor* f = d->FindFieldByName(key);
      if (f == nullptr) {
        f = d->FindFieldByCamelcaseName(key);
      }
      if (f == nullptr) {
        problem(kv.first, base::strCat(path, key, ": ", d->full_name(), " has no such field"));
        continue;
      }
      const std::string where = base::strCat(path, key);
      if (kv.second.IsNull()) {
        continue;
      }
      if (f->is_map()) {
        if (!kv.second.IsMap()) {
          problem(kv.second, base::strCat(where, ": want a map"));
          continue;
        }
        const pb::Descriptor* entry_type = f->message_type();
        for (const auto& e : kv.second) {
          pb::Message* entry = msg->GetReflection()->AddMessage(msg, f);
          value(e.first, entry, entry_type->FindFieldByName("key"), base::strCat(where, "."),
                false);
          value(e.second, entry, entry_type->FindFieldByName("value"),
                base::strCat(where, ".", e.first.as<std::string>("")), false);
        }
      } else if (f->is_repeated()) {
        if (!kv.second.IsSequence()) {
          problem(kv.second, base::strCat(where, ": want a list"));
          continue;
        }
        for (size_t i = 0; i < kv.second.size(); ++i) {
          value(kv.second[i], msg, f, base::strCat(where, "[", i, "]"), true);
        }
      } else {
        value(kv.second, msg, f, where, false);
      }
    }
  }

 private:
  void problem(const YAML::Node& node, std::string message) {
    const YAML::Mark m = node.Mark();
    problems_->push_back(
        {m.line >= 0 ? m.line + 1 : 0, m.column >= 0 ? m.column + 1 : 0, std::move(message)});
  }

  void value(const YAML::Node& node, pb::Message* msg, const pb::FieldDescriptor* f,
             const std::string& where, bool add) {
    const pb::Reflection* r = msg->GetReflection();
    using FD = pb::FieldDescriptor;
    if (f->cpp_type() == FD::CPPTYPE_MESSAGE) {
      pb::Message* sub = add ? r->AddMessage(msg, f) : r->MutableMessage(msg, f);
      if (f->message_type()->full_name() == "google.protobuf.Duration") {
        int64_t ns = 0;
        if (!node.IsScalar() || !base::parseGoDuration(node.Scalar(), &ns)) {
          problem(node, base::strCat(where, ": want a duration such as \"10s\" or \"500ms\""));
          return;
        }
        const pb::Descriptor* d = sub->GetDescriptor();
        sub->GetReflection()->SetInt64(sub, d->FindFieldByName("seconds"), ns / 1000000000);
        sub->GetReflection()->SetInt32(sub, d->FindFieldByName("nanos"),
                                       static_cast<int32_t>(ns % 1000000000));
        return;
      }
      message(node, sub, base::strCat(where, "."));
      return;
    }
    if (!node.IsScalar()) {
      problem(node, base::strCat(where, ": want a scalar"));
      return;
    }
    const std::string& text = node.Scalar();
    auto bad = [&](std::string_view want) {
      problem(node, base::strCat(where, ": '", text, "' is not ", want));
    };
    char* end = nullptr;
    switch (f->cpp_type()) {
      case FD::CPPTYPE_STRING:
        add ? r->AddString(msg, f, text) : r->SetString(msg, f, text);
        return;
      case FD::CPPTYPE_BOOL:
        if (text != "true" && text != "false") {
          return bad("a bool (true or false)");
        }
        add ? r->AddBool(msg, f, text == "true") : r->SetBool(msg, f, text == "true");
        return;
      case FD::CPPTYPE_DOUBLE:
      case FD::CPPTYPE_FLOAT: {
        const double v = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != 0) {
          return bad("a number");
        }
        if (f->cpp_type() == FD::CPPTYPE_DOUBLE) {
          add ? r->AddDouble(msg, f, v) : r->SetDouble(msg, f, v);
        } else {
          add ? r->AddFloat(msg, f, static_cast<float>(v))
              : r->SetFloat(msg, f, static_cast<float>(v));
        }
        return;
      }
      case FD::CPPTYPE_ENUM: {
        const pb::EnumValueDescriptor* e = f->enum_type()->FindValueByName(text);
        if (e == nullptr) {
          const long long n = std::strtoll(text.c_str(), &end, 10);
          if (text.empty() || *end != 0 ||
              (e = f->enum_type()->FindValueByNumber(static_cast<int>(n))) == nullptr) {
            return bad(base::strCat("a value of ", f->enum_type()->full_name()));
          }
        }
        add ? r->AddEnum(msg, f, e) : r->SetEnum(msg, f, e);
        return;
      }
      default: {
        const long long n = std::strtoll(text.c_str(), &end, 10);
        if (text.empty() || *end != 0) {
          return bad("an integer");
        }
        switch (f->cpp_type()) {
          case FD::CPPTYPE_INT32:
            add ? r->AddInt32(msg, f, static_cast<int32_t>(n))
                : r->SetInt32(msg, f, static_cast<int32_t>(n));
            break;
          case FD::CPPTYPE_UINT32:
            add ? r->AddUInt32(msg, f, static_cast<uint32_t>(n))
                : r->SetUInt32(msg, f, static_cast<uint32_t>(n));
            break;
          case FD::CPPTYPE_UINT64:
            add ? r->AddUInt64(msg, f, static_cast<uint64_t>(n))
                : r->SetUInt64(msg, f, static_cast<uint64_t>(n));
            break;
          default:
            add ? r->AddInt64(msg, f, n) : r->SetInt64(msg, f, n);
            break;
        }
        return;
      }
    }
  }

  std::vector<ParamProblem>* problems_;
};

}  // namespace

bool encodeAdapterConfig(const std::string& descriptor_set, const YAML::Node& params,
                         std::string* any, std::vector<ParamProblem>* problems) {
  pb::FileDescriptorSet set;
  if (!set.ParseFromString(descriptor_set) || set.file_size() == 0) {
    problems->push_back({0, 0, "the adapter's config descriptor is not a FileDescriptorSet"});
    return false;
  }
  pb::DescriptorPool pool;
  const pb::FileDescriptor* last = nullptr;
  for (const auto& file : set.file()) {
    last = pool.BuildFile(file);
    if (last == nullptr) {
      problems->push_back(
          {0, 0,
           base::strCat("the adapter's config descriptor: ", file.name(), " does not build")});
      return false;
    }
  }
  const pb::Descriptor* type = last->FindMessageTypeByName("Params");
  if (type == nullptr && last->message_type_count() > 0) {
    type = last->message_type(0);
  }
  if (type == nullptr) {
    problems->push_back({0, 0, "the adapter's config descriptor declares no message"});
    return false;
  }
  pb::DynamicMessageFactory factory(&pool);
  std::unique_ptr<pb::Message> msg(factory.GetPrototype(type)->New());
  const size_t before = problems->size();
  ConfigEncoder(problems).message(params, msg.get(), "params.");
  if (problems->size() != before) {
    return false;
  }
  pb::Any wrapped;
  wrapped.set_type_url(base::strCat("type.googleapis.com/", type->full_name()));
  msg->SerializeToString(wrapped.mutable_value());
  wrapped.SerializeToString(any);
  return true;
}

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
      *error = errors.error.empty() ? base::strCat(file.name(), ": does not build") : errors.error;
      return false;
    }
  }
  for (int i = 0; i < last->message_type_count(); ++i) {
    messages->push_back(std::string(last->message_type(i)->full_name()));
  }
  return true;
}

}  // namespace mixer::config
