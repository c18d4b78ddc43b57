// Builds the attributes of an HTTP request (for Check and Report) and of its response (for the
// Report) with Istio's proxy vocabulary: request.*, response.*, source.*, destination.*,
// context.*. Hosts fill the plain structs below from their own request representation.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy-filter/core/attributes.h"

namespace mixer::proxy {

using HeaderList = std::vector<std::pair<std::string_view, std::string_view>>;

// Views into the host's request; they need to live only during buildRequestAttributes().
struct HttpRequestInfo {
  std::string_view method;
  std::string_view path;               // with the query string, as on the request line
  std::string_view host;               // the Host header or :authority
  std::string_view scheme;             // "http" or "https"
  std::string_view protocol = "http";  // context.protocol: http, grpc, ...
  HeaderList headers;                  // names in any case; map keys are lower-cased
  int64_t size = -1;                   // request.size (body bytes); < 0 when unknown
  int64_t total_size = -1;             // request.total_size (headers and body); < 0 when unknown
  Timestamp time{};                    // request.time; epoch = unset
  std::string_view source_ip;          // text form; invalid or empty = unset
  int64_t source_port = 0;             // 0 = unset
  std::string_view destination_ip;
  int64_t destination_port = 0;
};

struct HttpResponseInfo {
  int64_t code = 0;
  HeaderList headers;
  int64_t size = -1;
  int64_t total_size = -1;
  Duration duration{-1};  // response.duration; < 0 = unset
  Timestamp time{};
};

// Sets request.{method, path, url_path, query_params, host, scheme, headers, useragent, id,
// referer, size, total_size, time}, source.{ip, port}, destination.{ip, port} and
// context.{protocol, time} on `out`.
void buildRequestAttributes(const HttpRequestInfo& request, Attributes* out);

// Sets response.{code, headers, size, total_size, duration, time} on `out`.
void buildResponseAttributes(const HttpResponseInfo& response, Attributes* out);

}  // namespace mixer::proxy
