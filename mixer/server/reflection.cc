#include "mixer/server/reflection.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>

#include <cstdint>

#include "base/str_cat.h"

namespace mixer::server {
namespace {

using google::protobuf::DescriptorPool;
using google::protobuf::FileDescriptor;
using google::protobuf::internal::WireFormatLite;

// ServerReflectionRequest's fields.
constexpr int kHost = 1;
constexpr int kFileByFilename = 3;
constexpr int kFileContainingSymbol = 4;
constexpr int kFileContainingExtension = 5;
constexpr int kAllExtensionNumbersOfType = 6;
constexpr int kListServices = 7;
// ExtensionRequest's.
constexpr int kContainingType = 1;
constexpr int kExtensionNumber = 2;
// ServerReflectionResponse's.
constexpr int kValidHost = 1;
constexpr int kOriginalRequest = 2;
constexpr int kFileDescriptorResponse = 4;
constexpr int kAllExtensionNumbersResponse = 5;
constexpr int kListServicesResponse = 6;
constexpr int kErrorResponse = 7;
// google.rpc.Code.
constexpr int kNotFound = 5;
constexpr int kUnimplemented = 12;

struct Request {
  std::string host;
  int which = 0;  // the oneof's field number; 0: none
  std::string name;
  std::string containing_type;
  int32_t extension_number = 0;
};

bool parseExtensionRequest(std::string_view bytes, Request* r) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  while (uint32_t tag = in.ReadTag()) {
    if (tag ==
        WireFormatLite::MakeTag(kContainingType, WireFormatLite::WIRETYPE_LENGTH_DELIMITED)) {
      if (!WireFormatLite::ReadString(&in, &r->containing_type)) return false;
    } else if (tag == WireFormatLite::MakeTag(kExtensionNumber, WireFormatLite::WIRETYPE_VARINT)) {
      uint32_t v;
      if (!in.ReadVarint32(&v)) return false;
      r->extension_number = static_cast<int32_t>(v);
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return false;
    }
  }
  return in.ConsumedEntireMessage();
}

bool parseRequest(std::string_view bytes, Request* r) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  while (uint32_t tag = in.ReadTag()) {
    const int field = WireFormatLite::GetTagFieldNumber(tag);
    const bool delimited =
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
    if (delimited && field == kHost) {
      if (!WireFormatLite::ReadString(&in, &r->host)) return false;
    } else if (delimited && field >= kFileByFilename && field <= kListServices) {
      std::string value;
      if (!WireFormatLite::ReadString(&in, &value)) return false;
      r->which = field;  // the last one of a oneof wins
      if (field == kFileContainingExtension) {
        if (!parseExtensionRequest(value, r)) return false;
      } else {
        r->name = std::move(value);
      }
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return false;
    }
  }
  return in.ConsumedEntireMessage();
}

// Appends a length-delimited field.
void putBytes(int field, std::string_view bytes, std::string* out) {
  google::protobuf::io::StringOutputStream stream(out);
  google::protobuf::io::CodedOutputStream o(&stream);
  o.WriteTag(WireFormatLite::MakeTag(field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
  o.WriteVarint32(static_cast<uint32_t>(bytes.size()));
  o.WriteRaw(bytes.data(), static_cast<int>(bytes.size()));
}

void putVarint(int field, uint64_t v, std::string* out) {
  google::protobuf::io::StringOutputStream stream(out);
  google::protobuf::io::CodedOutputStream o(&stream);
  o.WriteTag(WireFormatLite::MakeTag(field, WireFormatLite::WIRETYPE_VARINT));
  o.WriteVarint64(v);
}

std::string errorResponse(int code, std::string_view message) {
  std::string e;
  putVarint(1, static_cast<uint64_t>(code), &e);
  putBytes(2, message, &e);
  return e;
}

// `file` and its dependencies not yet in `sent`, each as a serialized FileDescriptorProto, the
// file itself first (what clients resolve the request's name in).
void addFiles(const FileDescriptor* file, std::set<std::string>* sent, std::string* response) {
  std::vector<const FileDescriptor*> pending{file};
  while (!pending.empty()) {
    const FileDescriptor* f = pending.back();
    pending.pop_back();
    if (!sent->insert(f->name()).second) continue;
    google::protobuf::FileDescriptorProto proto;
    f->CopyTo(&proto);
    putBytes(1, proto.SerializeAsString(), response);
    for (int i = f->dependency_count() - 1; i >= 0; --i) pending.push_back(f->dependency(i));
  }
}

}  // namespace

bool Reflection::answer(std::string_view bytes, std::set<std::string>* sent,
                        std::string* response) const {
  Request r;
  if (!parseRequest(bytes, &r)) return false;
  const DescriptorPool* pool = DescriptorPool::generated_pool();
  int field = kErrorResponse;
  std::string body;
  const FileDescriptor* file = nullptr;
  switch (r.which) {
    case kListServices:
      field = kListServicesResponse;
      for (const std::string& name : services_) {
        std::string service;
        putBytes(1, name, &service);
        putBytes(1, service, &body);
      }
      break;
    case kFileByFilename:
      file = pool->FindFileByName(r.name);
      if (file == nullptr) body = errorResponse(kNotFound, "file not found");
      break;
    case kFileContainingSymbol:
      file = pool->FindFileContainingSymbol(r.name);
      if (file == nullptr) body = errorResponse(kNotFound, "symbol not found");
      break;
    case kFileContainingExtension: {
      const auto* type = pool->FindMessageTypeByName(r.containing_type);
      const auto* extension =
          type != nullptr ? pool->FindExtensionByNumber(type, r.extension_number) : nullptr;
      if (extension != nullptr) {
        file = extension->file();
      } else {
        body = errorResponse(kNotFound, type == nullptr ? "type not found" : "extension not found");
      }
      break;
    }
    case kAllExtensionNumbersOfType: {
      const auto* type = pool->FindMessageTypeByName(r.name);
      if (type == nullptr) {
        body = errorResponse(kNotFound, "type not found");
        break;
      }
      field = kAllExtensionNumbersResponse;
      putBytes(1, r.name, &body);
      std::vector<const google::protobuf::FieldDescriptor*> extensions;
      pool->FindAllExtensions(type, &extensions);
      for (const auto* e : extensions) putVarint(2, static_cast<uint32_t>(e->number()), &body);
      break;
    }
    default:
      body = errorResponse(kUnimplemented, "the request names no query this server knows");
      break;
  }
  if (file != nullptr) {
    field = kFileDescriptorResponse;
    addFiles(file, sent, &body);
  }
  response->clear();
  if (!r.host.empty()) putBytes(kValidHost, r.host, response);
  putBytes(kOriginalRequest, bytes, response);
  putBytes(field, body, response);
  return true;
}

}  // namespace mixer::server
