// The one mapping from proxies' request descriptions to Istio's attribute vocabulary, used by
// every front-end: ext_authz's AttributeContext, the rate limit service's descriptors, the access
// log service's HTTP and TCP entries, and the headers of an HTTP forward-auth call (nginx
// auth_request, Traefik ForwardAuth, Caddy forward_auth). docs/envoy.md has the table.
//
// Values are views into the decoded message (strings are not copied) or into the mapper's own
// per-call storage (IP addresses as raw bytes, computed strings); both must outlive the bag's
// current contents. Not thread-safe: one mapper per thread, reused across calls.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "envoy/data/accesslog/v3/accesslog.pb.h"
#include "envoy/service/ratelimit/v3/rls.pb.h"
#include "frontends/envoy/authz_decoder.h"
#include "mixer/attribute/attribute_bag.h"

namespace frontends::envoy {

// Limits on what one request may carry (docs/limits.md, "Requests").
struct MappingLimits {
  size_t max_headers = 256;             // headers (or descriptor entries) in one request or entry
  size_t max_header_bytes = 64 * 1024;  // bytes of header names and values in one request or entry
};

// Attribute ids of one vocabulary, resolved once (kNoAttribute when the vocabulary lacks it:
// such an attribute is set by name).
struct AttributeIds {
  explicit AttributeIds(const mixer::attribute::Vocabulary& v);

  using Id = mixer::attribute::AttributeId;
  Id source_ip, source_port, source_principal, source_labels, source_workload_name;
  Id destination_ip, destination_port, destination_principal, destination_labels,
      destination_service_host;
  Id request_id, request_method, request_path, request_url_path, request_host, request_scheme,
      request_headers, request_size, request_total_size, request_time, request_useragent,
      request_referer;
  Id response_code, response_size, response_total_size, response_headers, response_duration,
      response_time, response_grpc_status;
  Id connection_id, connection_mtls, connection_requested_server_name, connection_event,
      connection_received_bytes, connection_received_bytes_total, connection_sent_bytes,
      connection_sent_bytes_total, connection_duration;
  Id context_protocol, context_time, context_reporter_uid, context_reporter_kind,
      context_extensions;
  Id ratelimit_domain, ratelimit_descriptor;
};

// Prefix of the ext_authz context_extensions keys that ask for a quota: "quota.<name>": "<amount>".
inline constexpr std::string_view kQuotaExtensionPrefix = "quota.";

// The headers of a forward-auth call: names lower-cased, in the order received (repeated names
// allowed), as mixer::parseHttpRequest gives them.
using HeaderList = std::vector<mixer::attribute::StringMapEntry>;

// Which convention a forward-auth call follows, by its URI header.
enum class ForwardAuthConvention {
  kNginx,      // X-Original-URI, X-Original-Method, X-Real-IP or X-Forwarded-For
  kForwarded,  // X-Forwarded-Uri, -Method, -Proto, -Host, -For (Traefik, Caddy)
};

class AttributeMapper {
 public:
  explicit AttributeMapper(MappingLimits limits = {}) : limits_(limits) {}

  // Fills `bag` (which the caller cleared) from an ext_authz CheckRequest's AttributeContext (as
  // authz_decoder.h reads it). Fails (the reason is the message) on a request over the limits.
  absl::Status mapCheck(const CheckRequestView& ctx, const AttributeIds& ids,
                        mixer::attribute::AttributeBag* bag);
  absl::Status mapHttpEntry(const ::envoy::data::accesslog::v3::HTTPAccessLogEntry& entry,
                            const AttributeIds& ids, mixer::attribute::AttributeBag* bag);
  absl::Status mapTcpEntry(const ::envoy::data::accesslog::v3::TCPAccessLogEntry& entry,
                           const AttributeIds& ids, mixer::attribute::AttributeBag* bag);
  // The attributes of one rate limit descriptor (ratelimit.domain, ratelimit.descriptor).
  absl::Status mapDescriptor(
      std::string_view domain,
      const ::envoy::extensions::common::ratelimit::v3::RateLimitDescriptor& descriptor,
      const AttributeIds& ids, mixer::attribute::AttributeBag* bag);

  // Fills `bag` from the headers of a forward-auth call that describe the original request (the
  // request's time is `now`). Fails with INVALID_ARGUMENT, the reason as the message, when the
  // original-request headers are missing, repeated or of both conventions, or over the limits:
  // such a call is answered 400, never allowed. `convention` (optional) receives the one read.
  absl::Status mapForwardAuth(const HeaderList& headers, mixer::attribute::Timestamp now,
                              const AttributeIds& ids, mixer::attribute::AttributeBag* bag,
                              ForwardAuthConvention* convention = nullptr);

  // Forgets the per-call storage (IP bytes, computed strings). Call before reusing a bag.
  void reset();

 private:
  // The request headers as request.headers, and the attributes some of them carry: user agent,
  // referer, the request id (x-request-id, when `request_id_header`), and context.protocol from
  // the content type.
  void putHeaders(const std::vector<mixer::attribute::StringMapEntry>& headers,
                  bool request_id_header, const AttributeIds& ids,
                  mixer::attribute::AttributeBag* bag);
  absl::Status mapCommon(const ::envoy::data::accesslog::v3::AccessLogCommon& c,
                         const AttributeIds& ids, mixer::attribute::AttributeBag* bag);
  void setAddress(const ::envoy::config::core::v3::Address& a, AttributeIds::Id ip_id,
                  std::string_view ip_name, AttributeIds::Id port_id, std::string_view port_name,
                  mixer::attribute::AttributeBag* bag);
  void setAddress(const PeerView& p, AttributeIds::Id ip_id, std::string_view ip_name,
                  AttributeIds::Id port_id, std::string_view port_name,
                  mixer::attribute::AttributeBag* bag);
  void setIp(std::string_view text, AttributeIds::Id ip_id, std::string_view ip_name,
             mixer::attribute::AttributeBag* bag);
  std::string_view keep(std::string s);

  MappingLimits limits_;
  // Raw IP bytes for up to four addresses per call.
  std::array<std::array<char, 16>, 4> ips_{};
  size_t ips_used_ = 0;
  std::vector<mixer::attribute::StringMapEntry> entries_;
  std::vector<std::string> kept_;
  size_t kept_used_ = 0;
};

// "HTTP/1.1" and the like, the request's content type and Envoy's HTTP version as Istio's
// context.protocol: "grpc" for gRPC, "http" otherwise (or "tcp" for TCP entries).
std::string_view contextProtocol(std::string_view content_type);

// The host part of an Istio cluster name ("outbound|9080||reviews.default.svc.cluster.local"),
// or "" when `cluster` has not that form.
std::string_view clusterHost(std::string_view cluster);

}  // namespace frontends::envoy
