#include "mixer/server/reflection.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <cstdint>

#include "base/proto_wire.h"

namespace mixer::server {
namespace {

using base::WireType;
using google::protobuf::DescriptorPool;
using google::protobuf::FileDescriptor;

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
  base::WireReader in(bytes);
  while (!in.done()) {
    uint32_t field;
    WireType type;
    if (!in.readTag(&field, &type)) return false;
    if (field == kContainingType && type == WireType::Len) {
      std::string_view name;
      if (!in.readLen(&name)) return false;
      r->containing_type.assign(name);
    } else if (field == kExtensionNumber && type == WireType::Varint) {
      uint64_t v;
      if (!in.readVarint(&v)) return false;
      r->extension_number = static_cast<int32_t>(v);
    } else if (!in.skip(type)) {
      return false;
    }
  }
  return true;
}

bool parseRequest(std::string_view bytes, Request* r) {
  base::WireReader in(bytes);
  while (!in.done()) {
    uint32_t field;
    WireType type;
    if (!in.readTag(&field, &type)) return false;
    const bool delimited = type == WireType::Len;
    if (delimited && field == kHost) {
      std::string_view host;
      if (!in.readLen(&host)) return false;
      r->host.assign(host);
    } else if (delimited && field >= kFileByFilename && field <= kListServices) {
      std::string_view value;
      if (!in.readLen(&value)) return false;
      r->which = static_cast<int>(field);  // the last one of a oneof wins
      if (field == kFileContainingExtension) {
        if (!parseExtensionRequest(value, r)) return false;
      } else {
        r->name.assign(value);
      }
    } else if (!in.skip(type)) {
      return false;
    }
  }
  return true;
}

// Appends a length-delimited field.
void putBytes(int field, std::string_view bytes, std::string* out) {
  base::appendLenField(static_cast<uint32_t>(field), bytes, out);
}

void putVarint(int field, uint64_t v, std::string* out) {
  base::appendTag(static_cast<uint32_t>(field), WireType::Varint, out);
  base::appendVarint(v, out);
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
