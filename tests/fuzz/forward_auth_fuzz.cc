// Fuzz target: a forward-auth call's decoding, from its request head (mixer::parseHttpRequest)
// to the attributes (AttributeMapper::mapForwardAuth). Invariants beyond "no crash": the parser
// answers 0 or 400 (any method is accepted); header names come out lower-case tokens; only an
// HTTP/1.x request may keep its connection alive (mixer::httpKeepAlive); the mapping
// either fails with INVALID_ARGUMENT (a 400 to the proxy, never an allow) or sets request.path
// (starting with '/') and request.method.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "base/http_server.h"
#include "frontends/envoy/attribute_mapping.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using frontends::envoy::AttributeIds;
  using frontends::envoy::AttributeMapper;
  static const auto vocab = mixer::attribute::Vocabulary::builtin();
  static const AttributeIds ids(*vocab);
  static AttributeMapper mapper;
  static mixer::attribute::AttributeBag bag(vocab);

  std::string head(reinterpret_cast<const char*>(data), size);
  mixer::HttpRequest request;
  const int code = mixer::parseHttpRequest(&head, true, &request);
  if (code != 0 && code != 400) std::abort();
  if (code != 0) return 0;
  // Keep-alive only for HTTP/1.1 and later 1.x requests without a body.
  if (mixer::httpKeepAlive(request) && request.version.substr(0, 7) != "HTTP/1.") std::abort();
  frontends::envoy::HeaderList headers;
  for (const auto& [name, value] : request.headers) {
    if (!mixer::isHttpToken(name)) std::abort();
    for (const char ch : name) {
      if (ch >= 'A' && ch <= 'Z') std::abort();
    }
    headers.push_back({name, value});
  }
  bag.clear();
  const absl::Status s = mapper.mapForwardAuth(headers, {1, 0}, ids, &bag);
  if (!s.ok()) {
    if (s.code() != absl::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  const auto* path = bag.find("request.path");
  const auto* method = bag.find("request.method");
  if (path == nullptr || method == nullptr || path->stringValue().empty() ||
      path->stringValue().front() != '/') {
    std::abort();
  }
  return 0;
}
