// The ext_authz CheckRequest (envoy.service.auth.v3), read in place from the wire bytes with
// WireReader: strings stay views into the request, map entries go into reused vectors, so a
// typical Check decodes with no allocation (parsing into generated messages cost more than the
// whole Mixer Check it replaces; docs/performance.md, "Envoy front-ends").
//
// Protobuf semantics are kept where Envoy's requests can differ: a repeated singular field keeps
// its last value, a repeated message field is merged, a oneof keeps its last member, a map keeps
// the last value of a repeated key, unknown fields are skipped. As for the Mixer API, strings are
// not checked for UTF-8 (what is echoed back in a response is sanitized).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "mixer/attribute/value.h"

namespace frontends::envoy {

struct PeerView {
  bool has_socket_address = false;
  std::string_view address;  // socket_address.address
  bool has_port = false;     // socket_address.port_value (not named_port)
  uint32_t port = 0;
  std::string_view service, principal, certificate;
  std::vector<mixer::attribute::StringMapEntry> labels;
  void clear();
};

struct CheckRequestView {
  PeerView source, destination;
  bool has_time = false;
  mixer::attribute::Timestamp time{};
  bool has_http = false;
  std::string_view id, method, path, host, scheme, protocol;
  int64_t size = 0;
  std::vector<mixer::attribute::StringMapEntry> headers;      // HttpRequest.headers (a map)
  bool has_header_map = false;                                // HttpRequest.header_map
  std::vector<mixer::attribute::StringMapEntry> raw_headers;  // header_map.headers, in order
  std::vector<mixer::attribute::StringMapEntry> context_extensions;
  bool has_tls_session = false;
  std::string_view sni;
  void clear();
};

// Fails (the message says where) on bytes that are not a protobuf message of this shape.
absl::Status parseAuthzCheckRequest(std::string_view bytes, CheckRequestView* out);

}  // namespace frontends::envoy
