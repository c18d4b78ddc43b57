// meshctl's HTTP/1.1 client: one request per connection, plain or TLS (OpenSSL: the server's
// certificate verified against --cacert and its name; a client certificate for mTLS), bodies
// by Content-Length, chunked or until the connection closes. Not thread-safe (one per call).
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace meshctl {

struct Endpoint {
  std::string url;        // http://host:port or https://host:port (a path prefix is allowed)
  std::string ca_file;    // https: trusted roots (empty: the system's)
  std::string cert_file;  // https: client certificate (mTLS)
  std::string key_file;
  std::string server_name;  // https: the name to verify (empty: the URL's host)
  int timeout_ms = 30000;
};

struct HttpResult {
  int code = 0;
  std::string content_type;
  std::string body;
};

// Sends one request. `on_body`: when set, body bytes are handed to it as they arrive (a watch)
// instead of collected; it returns false to stop. False with `error` when no answer came.
bool httpCall(const Endpoint& endpoint, const std::string& method, const std::string& path,
              const std::string& content_type, const std::string& body, const std::string& accept,
              HttpResult* result, std::string* error,
              const std::function<bool(std::string_view)>& on_body = nullptr);

}  // namespace meshctl
