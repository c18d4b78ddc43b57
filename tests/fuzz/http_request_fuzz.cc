// Fuzz target: the monitoring HTTP server's request-head parser (base/http_server.h).
// Invariants beyond "no crash": the answer is 0, 400 or 405; a parsed request is GET or HEAD, its
// path holds no '?', no space and no line break, and the head ends with its blank line.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "base/http_server.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view head(reinterpret_cast<const char*>(data), size);
  mixer::HttpRequestLine request;
  const int code = mixer::parseHttpRequestHead(head, &request);
  if (code != 0 && code != 400 && code != 405) std::abort();
  if (code == 0) {
    if (request.method != "GET" && request.method != "HEAD") std::abort();
    if (request.path.find_first_of("? \r\n") != std::string_view::npos) std::abort();
    if (head.find("\r\n\r\n") == std::string_view::npos) std::abort();
  }
  return 0;
}
