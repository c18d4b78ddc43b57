#include "proxy-filter/core/http_attributes.h"

#include "absl/strings/ascii.h"

namespace mixer::proxy {
namespace {

StringMap headerMap(const HeaderList& headers) {
  StringMap map;
  for (const auto& [name, value] : headers) {
    std::string key = absl::AsciiStrToLower(absl::string_view(name.data(), name.size()));
    auto it = map.find(key);
    if (it == map.end()) {
      map.emplace(std::move(key), std::string(value));
    } else {
      // Repeated headers join with a comma, as HTTP allows for list-valued fields.
      it->second.append(",").append(value);
    }
  }
  return map;
}

void setIfKnown(Attributes* out, std::string_view name, int64_t value) {
  if (value >= 0) {
    out->setInt64(name, value);
  }
}

}  // namespace

void buildRequestAttributes(const HttpRequestInfo& request, Attributes* out) {
  if (!request.method.empty()) {
    out->setString("request.method", request.method);
  }
  if (!request.path.empty()) {
    out->setString("request.path", request.path);
    const size_t query = request.path.find('?');
    out->setString("request.url_path", request.path.substr(0, query));
    if (query != std::string_view::npos) {
      StringMap params;
      std::string_view rest = request.path.substr(query + 1);
      while (!rest.empty()) {
        const size_t amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
        if (pair.empty()) {
          continue;
        }
        const size_t eq = pair.find('=');
        params.insert_or_assign(
            std::string(pair.substr(0, eq)),
            eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1)));
      }
      out->setStringMap("request.query_params", std::move(params));
    }
  }
  if (!request.host.empty()) {
    out->setString("request.host", request.host);
  }
  if (!request.scheme.empty()) {
    out->setString("request.scheme", request.scheme);
  }
  StringMap headers = headerMap(request.headers);
  if (auto it = headers.find("user-agent"); it != headers.end()) {
    out->setString("request.useragent", it->second);
  }
  if (auto it = headers.find("x-request-id"); it != headers.end()) {
    out->setString("request.id", it->second);
  }
  if (auto it = headers.find("referer"); it != headers.end()) {
    out->setString("request.referer", it->second);
  }
  out->setStringMap("request.headers", std::move(headers));
  setIfKnown(out, "request.size", request.size);
  setIfKnown(out, "request.total_size", request.total_size);
  if (request.time != Timestamp{}) {
    out->setTimestamp("request.time", request.time);
    out->setTimestamp("context.time", request.time);
  }
  if (auto ip = ipAddressBytes(request.source_ip)) {
    out->set("source.ip", std::move(*ip));
  }
  if (request.source_port > 0) {
    out->setInt64("source.port", request.source_port);
  }
  if (auto ip = ipAddressBytes(request.destination_ip)) {
    out->set("destination.ip", std::move(*ip));
  }
  if (request.destination_port > 0) {
    out->setInt64("destination.port", request.destination_port);
  }
  if (!request.protocol.empty()) {
    out->setString("context.protocol", request.protocol);
  }
}

void buildResponseAttributes(const HttpResponseInfo& response, Attributes* out) {
  out->setInt64("response.code", response.code);
  out->setStringMap("response.headers", headerMap(response.headers));
  setIfKnown(out, "response.size", response.size);
  setIfKnown(out, "response.total_size", response.total_size);
  if (response.duration.count() >= 0) {
    out->setDuration("response.duration", response.duration);
  }
  if (response.time != Timestamp{}) {
    out->setTimestamp("response.time", response.time);
  }
}

}  // namespace mixer::proxy
