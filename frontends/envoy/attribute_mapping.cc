#include "frontends/envoy/attribute_mapping.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "base/str_cat.h"

namespace frontends::envoy {
namespace {

using mixer::attribute::AttributeBag;
using mixer::attribute::AttributeValue;
using mixer::attribute::StringMapEntry;
using mixer::attribute::ValueType;
using Id = AttributeIds::Id;

Id idOf(const mixer::attribute::Vocabulary& v, std::string_view name) {
  return v.find(name).value_or(mixer::attribute::kNoAttribute);
}

// Sets by id, or by name when the vocabulary lacks the attribute (`name` must be static).
void put(AttributeBag* bag, Id id, std::string_view name, const AttributeValue& v) {
  if (id != mixer::attribute::kNoAttribute) {
    bag->set(id, v);
  } else {
    bag->set(name, v);
  }
}

void putString(AttributeBag* bag, Id id, std::string_view name, std::string_view s) {
  if (!s.empty()) {
    put(bag, id, name, AttributeValue::string(s));
  }
}

mixer::attribute::Timestamp toTimestamp(const google::protobuf::Timestamp& t) {
  return {t.seconds(), t.nanos()};
}

mixer::attribute::Duration toDuration(const google::protobuf::Duration& d) {
  return {d.seconds(), d.nanos()};
}

std::string_view methodName(::envoy::config::core::v3::RequestMethod m) {
  using ::envoy::config::core::v3::RequestMethod;
  switch (m) {
    case RequestMethod::GET:
      return "GET";
    case RequestMethod::HEAD:
      return "HEAD";
    case RequestMethod::POST:
      return "POST";
    case RequestMethod::PUT:
      return "PUT";
    case RequestMethod::DELETE:
      return "DELETE";
    case RequestMethod::CONNECT:
      return "CONNECT";
    case RequestMethod::OPTIONS:
      return "OPTIONS";
    case RequestMethod::TRACE:
      return "TRACE";
    case RequestMethod::PATCH:
      return "PATCH";
    default:
      return "";
  }
}

std::string_view urlPath(std::string_view path) {
  const size_t q = path.find('?');
  return q == std::string_view::npos ? path : path.substr(0, q);
}

// The first URI SAN (SPIFFE identity) of a certificate, else its first DNS SAN.
std::string_view principalOf(
    const ::envoy::data::accesslog::v3::TLSProperties::CertificateProperties& cert) {
  for (const auto& san : cert.subject_alt_name()) {
    if (!san.uri().empty()) return san.uri();
  }
  for (const auto& san : cert.subject_alt_name()) {
    if (!san.dns().empty()) return san.dns();
  }
  return {};
}

}  // namespace

AttributeIds::AttributeIds(const mixer::attribute::Vocabulary& v)
    : source_ip(idOf(v, "source.ip")),
      source_port(idOf(v, "source.port")),
      source_principal(idOf(v, "source.principal")),
      source_labels(idOf(v, "source.labels")),
      source_workload_name(idOf(v, "source.workload.name")),
      destination_ip(idOf(v, "destination.ip")),
      destination_port(idOf(v, "destination.port")),
      destination_principal(idOf(v, "destination.principal")),
      destination_labels(idOf(v, "destination.labels")),
      destination_service_host(idOf(v, "destination.service.host")),
      request_id(idOf(v, "request.id")),
      request_method(idOf(v, "request.method")),
      request_path(idOf(v, "request.path")),
      request_url_path(idOf(v, "request.url_path")),
      request_host(idOf(v, "request.host")),
      request_scheme(idOf(v, "request.scheme")),
      request_headers(idOf(v, "request.headers")),
      request_size(idOf(v, "request.size")),
      request_total_size(idOf(v, "request.total_size")),
      request_time(idOf(v, "request.time")),
      request_useragent(idOf(v, "request.useragent")),
      request_referer(idOf(v, "request.referer")),
      response_code(idOf(v, "response.code")),
      response_size(idOf(v, "response.size")),
      response_total_size(idOf(v, "response.total_size")),
      response_headers(idOf(v, "response.headers")),
      response_duration(idOf(v, "response.duration")),
      response_time(idOf(v, "response.time")),
      response_grpc_status(idOf(v, "response.grpc_status")),
      connection_id(idOf(v, "connection.id")),
      connection_mtls(idOf(v, "connection.mtls")),
      connection_requested_server_name(idOf(v, "connection.requested_server_name")),
      connection_event(idOf(v, "connection.event")),
      connection_received_bytes(idOf(v, "connection.received.bytes")),
      connection_received_bytes_total(idOf(v, "connection.received.bytes_total")),
      connection_sent_bytes(idOf(v, "connection.sent.bytes")),
      connection_sent_bytes_total(idOf(v, "connection.sent.bytes_total")),
      connection_duration(idOf(v, "connection.duration")),
      context_protocol(idOf(v, "context.protocol")),
      context_time(idOf(v, "context.time")),
      context_reporter_uid(idOf(v, "context.reporter.uid")),
      context_reporter_kind(idOf(v, "context.reporter.kind")),
      context_extensions(idOf(v, "context.extensions")),
      ratelimit_domain(idOf(v, "ratelimit.domain")),
      ratelimit_descriptor(idOf(v, "ratelimit.descriptor")) {}

std::string_view contextProtocol(std::string_view content_type) {
  return content_type.starts_with("application/grpc") ? "grpc" : "http";
}

std::string_view clusterHost(std::string_view cluster) {
  // direction|port|subset|host
  size_t pos = 0;
  for (int i = 0; i < 3; ++i) {
    pos = cluster.find('|', pos);
    if (pos == std::string_view::npos) return {};
    ++pos;
  }
  return cluster.substr(pos);
}

void AttributeMapper::reset() {
  ips_used_ = 0;
  kept_used_ = 0;
}

std::string_view AttributeMapper::keep(std::string s) {
  if (kept_used_ == kept_.size()) kept_.emplace_back();
  kept_[kept_used_] = std::move(s);
  return kept_[kept_used_++];
}

void AttributeMapper::setIp(std::string_view text, Id ip_id, std::string_view ip_name,
                            AttributeBag* bag) {
  if (ips_used_ == ips_.size() || text.empty() || text.size() >= 64) return;
  char buf[64];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  char* out = ips_[ips_used_].data();
  size_t n = 0;
  if (inet_pton(AF_INET, buf, out) == 1) {
    n = 4;
  } else if (inet_pton(AF_INET6, buf, out) == 1) {
    n = 16;
  }
  if (n != 0) {
    ++ips_used_;
    put(bag, ip_id, ip_name,
        AttributeValue::bytes(std::string_view(out, n), ValueType::kIpAddress));
  }
}

void AttributeMapper::setAddress(const ::envoy::config::core::v3::Address& a, Id ip_id,
                                 std::string_view ip_name, Id port_id, std::string_view port_name,
                                 AttributeBag* bag) {
  if (!a.has_socket_address()) return;
  const auto& sa = a.socket_address();
  setIp(sa.address(), ip_id, ip_name, bag);
  if (sa.port_specifier_case() == ::envoy::config::core::v3::SocketAddress::kPortValue) {
    put(bag, port_id, port_name, AttributeValue::int64(sa.port_value()));
  }
}

void AttributeMapper::setAddress(const PeerView& p, Id ip_id, std::string_view ip_name, Id port_id,
                                 std::string_view port_name, AttributeBag* bag) {
  if (!p.has_socket_address) return;
  setIp(p.address, ip_id, ip_name, bag);
  if (p.has_port) put(bag, port_id, port_name, AttributeValue::int64(p.port));
}

namespace {

// Views of a proto map as STRING_MAP entries, within the limits; `bytes` accumulates.
template <typename Map>
absl::Status mapEntries(const Map& m, std::string_view what, const MappingLimits& limits,
                        size_t* bytes, std::vector<StringMapEntry>* out) {
  out->clear();
  if (m.size() > limits.max_headers) {
    return absl::InvalidArgumentError(mixer::base::strCat(
        what, ": ", m.size(), " entries, over the limit of ", limits.max_headers));
  }
  for (const auto& [k, v] : m) {
    *bytes += k.size() + v.size();
    out->push_back({k, v});
  }
  if (*bytes > limits.max_header_bytes) {
    return absl::InvalidArgumentError(
        mixer::base::strCat(what, ": ", *bytes, " bytes of names and values, over the limit of ",
                            limits.max_header_bytes));
  }
  return absl::OkStatus();
}

}  // namespace

namespace {

// The limits on one map of a request; `bytes` accumulates over the request.
absl::Status checkEntries(const std::vector<StringMapEntry>& m, std::string_view what,
                          const MappingLimits& limits, size_t* bytes) {
  if (m.size() > limits.max_headers) {
    return absl::InvalidArgumentError(mixer::base::strCat(
        what, ": ", m.size(), " entries, over the limit of ", limits.max_headers));
  }
  for (const StringMapEntry& e : m) *bytes += e.key.size() + e.value.size();
  if (*bytes > limits.max_header_bytes) {
    return absl::InvalidArgumentError(
        mixer::base::strCat(what, ": ", *bytes, " bytes of names and values, over the limit of ",
                            limits.max_header_bytes));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status AttributeMapper::mapCheck(const CheckRequestView& ctx, const AttributeIds& ids,
                                       AttributeBag* bag) {
  reset();
  size_t bytes = 0;
  const PeerView& src = ctx.source;
  const PeerView& dst = ctx.destination;
  setAddress(src, ids.source_ip, "source.ip", ids.source_port, "source.port", bag);
  setAddress(dst, ids.destination_ip, "destination.ip", ids.destination_port, "destination.port",
             bag);
  putString(bag, ids.source_principal, "source.principal", src.principal);
  putString(bag, ids.destination_principal, "destination.principal", dst.principal);
  putString(bag, ids.source_workload_name, "source.workload.name", src.service);
  putString(bag, ids.destination_service_host, "destination.service.host", dst.service);
  if (!src.labels.empty()) {
    if (auto s = checkEntries(src.labels, "source.labels", limits_, &bytes); !s.ok()) return s;
    put(bag, ids.source_labels, "source.labels", bag->makeStringMap(src.labels));
  }
  if (!dst.labels.empty()) {
    if (auto s = checkEntries(dst.labels, "destination.labels", limits_, &bytes); !s.ok()) {
      return s;
    }
    put(bag, ids.destination_labels, "destination.labels", bag->makeStringMap(dst.labels));
  }
  // The peer presented a certificate (or the proxy authenticated it): the connection is mTLS.
  put(bag, ids.connection_mtls, "connection.mtls",
      AttributeValue::boolean(!src.principal.empty() || !src.certificate.empty()));
  if (ctx.has_tls_session) {
    putString(bag, ids.connection_requested_server_name, "connection.requested_server_name",
              ctx.sni);
  }
  if (!ctx.context_extensions.empty()) {
    if (auto s = checkEntries(ctx.context_extensions, "context_extensions", limits_, &bytes);
        !s.ok()) {
      return s;
    }
    put(bag, ids.context_extensions, "context.extensions",
        bag->makeStringMap(ctx.context_extensions));
  }
  if (ctx.has_time) {
    put(bag, ids.request_time, "request.time", AttributeValue::timestamp(ctx.time));
    put(bag, ids.context_time, "context.time", AttributeValue::timestamp(ctx.time));
  }
  if (!ctx.has_http) return absl::OkStatus();
  putString(bag, ids.request_id, "request.id", ctx.id);
  putString(bag, ids.request_method, "request.method", ctx.method);
  putString(bag, ids.request_path, "request.path", ctx.path);
  putString(bag, ids.request_url_path, "request.url_path", urlPath(ctx.path));
  putString(bag, ids.request_host, "request.host", ctx.host);
  putString(bag, ids.request_scheme, "request.scheme", ctx.scheme);
  if (ctx.size >= 0) {
    put(bag, ids.request_size, "request.size", AttributeValue::int64(ctx.size));
  }
  // Headers: the map, or the raw list (encode_raw_headers), where a repeated name is joined
  // with "," as HTTP does (an attribute map has one value per key).
  if (ctx.has_header_map) {
    if (auto s = checkEntries(ctx.raw_headers, "request headers", limits_, &bytes); !s.ok()) {
      return s;
    }
    entries_.clear();
    for (const StringMapEntry& h : ctx.raw_headers) {
      auto it = std::find_if(entries_.begin(), entries_.end(),
                             [&](const StringMapEntry& e) { return e.key == h.key; });
      if (it == entries_.end()) {
        entries_.push_back(h);
      } else {
        it->value = keep(mixer::base::strCat(it->value, ",", h.value));
      }
    }
  } else if (auto s = checkEntries(ctx.headers, "request headers", limits_, &bytes); !s.ok()) {
    return s;
  }
  // The request id is a field of its own in ext_authz, not the x-request-id header.
  putHeaders(ctx.has_header_map ? entries_ : ctx.headers, /*request_id_header=*/false, ids, bag);
  return absl::OkStatus();
}

void AttributeMapper::putHeaders(const std::vector<StringMapEntry>& headers, bool request_id_header,
                                 const AttributeIds& ids, AttributeBag* bag) {
  std::string_view content_type;
  for (const StringMapEntry& e : headers) {
    if (e.key == "user-agent") {
      putString(bag, ids.request_useragent, "request.useragent", e.value);
    } else if (e.key == "referer") {
      putString(bag, ids.request_referer, "request.referer", e.value);
    } else if (request_id_header && e.key == "x-request-id") {
      putString(bag, ids.request_id, "request.id", e.value);
    } else if (e.key == "content-type") {
      content_type = e.value;
    }
  }
  if (!headers.empty()) {
    put(bag, ids.request_headers, "request.headers", bag->makeStringMap(headers));
  }
  put(bag, ids.context_protocol, "context.protocol",
      AttributeValue::string(contextProtocol(content_type)));
}

namespace {

// The value of the one header `name` in `headers`: absent (nullopt-like: *found false), or
// INVALID_ARGUMENT when it is repeated (a proxy sets these once; two are a client's doing).
absl::Status singleHeader(const HeaderList& headers, std::string_view name, std::string_view* value,
                          bool* found) {
  *found = false;
  for (const StringMapEntry& h : headers) {
    if (h.key != name) continue;
    if (*found) {
      return absl::InvalidArgumentError(
          mixer::base::strCat("the original-request header ", name, " is repeated"));
    }
    *found = true;
    *value = h.value;
  }
  return absl::OkStatus();
}

std::string_view trimBlanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (const char ch : s) {
    const auto b = static_cast<unsigned char>(ch);
    const bool alnum = (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z');
    if (!alnum && std::strchr("!#$%&'*+-.^_`|~", ch) == nullptr) return false;
  }
  return true;
}

}  // namespace

absl::Status AttributeMapper::mapForwardAuth(const HeaderList& headers,
                                             mixer::attribute::Timestamp now,
                                             const AttributeIds& ids, AttributeBag* bag,
                                             ForwardAuthConvention* convention) {
  reset();
  size_t bytes = 0;
  if (auto s = checkEntries(headers, "request headers", limits_, &bytes); !s.ok()) return s;
  struct Field {
    explicit Field(std::string_view n) : name(n) {}
    std::string_view name;
    std::string_view value;
    bool found = false;
  };
  Field original_uri{"x-original-uri"}, forwarded_uri{"x-forwarded-uri"};
  for (Field* f : {&original_uri, &forwarded_uri}) {
    if (auto s = singleHeader(headers, f->name, &f->value, &f->found); !s.ok()) return s;
  }
  if (original_uri.found && forwarded_uri.found) {
    return absl::InvalidArgumentError(
        "both X-Original-URI (nginx auth_request) and X-Forwarded-Uri (Traefik, Caddy) are "
        "present: the proxy must send the headers of one convention");
  }
  if (!original_uri.found && !forwarded_uri.found) {
    return absl::InvalidArgumentError(
        "missing the original request: neither X-Original-URI (nginx auth_request) nor "
        "X-Forwarded-Uri (Traefik ForwardAuth, Caddy forward_auth) is present");
  }
  const bool nginx = original_uri.found;
  if (convention != nullptr) {
    *convention = nginx ? ForwardAuthConvention::kNginx : ForwardAuthConvention::kForwarded;
  }
  const std::string_view uri = nginx ? original_uri.value : forwarded_uri.value;
  const std::string_view uri_name = nginx ? "X-Original-URI" : "X-Forwarded-Uri";
  if (uri.empty() || uri.front() != '/') {
    return absl::InvalidArgumentError(mixer::base::strCat(
        uri_name, " '", uri, "' is not a request path (it must start with '/')"));
  }
  Field method{nginx ? "x-original-method" : "x-forwarded-method"};
  Field host{"x-forwarded-host"}, plain_host{"host"}, proto{"x-forwarded-proto"};
  Field real_ip{"x-real-ip"};
  for (Field* f : {&method, &host, &plain_host, &proto, &real_ip}) {
    if (auto s = singleHeader(headers, f->name, &f->value, &f->found); !s.ok()) return s;
  }
  if (!method.found) {
    return absl::InvalidArgumentError(mixer::base::strCat(
        "missing the original request's method: ", nginx ? "X-Original-Method (with X-Original-URI)"
                                                         : "X-Forwarded-Method (with "
                                                           "X-Forwarded-Uri)"));
  }
  if (!isToken(method.value)) {
    return absl::InvalidArgumentError(
        mixer::base::strCat("the original request's method '", method.value, "' is not a token"));
  }
  // X-Forwarded-For: the last address is the one the proxy saw (earlier ones are the client's
  // word); repeated fields are one list.
  std::string_view client;
  if (nginx && real_ip.found) {
    client = trimBlanks(real_ip.value);
  } else {
    for (const StringMapEntry& h : headers) {
      if (h.key != "x-forwarded-for") continue;
      const size_t comma = h.value.rfind(',');
      const std::string_view last =
          trimBlanks(comma == std::string_view::npos ? h.value : h.value.substr(comma + 1));
      if (!last.empty()) client = last;
    }
  }
  setIp(client, ids.source_ip, "source.ip", bag);
  putString(bag, ids.request_method, "request.method", method.value);
  putString(bag, ids.request_path, "request.path", uri);
  putString(bag, ids.request_url_path, "request.url_path", urlPath(uri));
  putString(bag, ids.request_host, "request.host", host.found ? host.value : plain_host.value);
  putString(bag, ids.request_scheme, "request.scheme", proto.found ? proto.value : "http");
  put(bag, ids.request_time, "request.time", AttributeValue::timestamp(now));
  put(bag, ids.context_time, "context.time", AttributeValue::timestamp(now));
  // Every header, as ext_authz's header map: a repeated name joined with ",".
  entries_.clear();
  for (const StringMapEntry& h : headers) {
    auto it = std::find_if(entries_.begin(), entries_.end(),
                           [&](const StringMapEntry& e) { return e.key == h.key; });
    if (it == entries_.end()) {
      entries_.push_back(h);
    } else {
      it->value = keep(mixer::base::strCat(it->value, ",", h.value));
    }
  }
  putHeaders(entries_, /*request_id_header=*/true, ids, bag);
  return absl::OkStatus();
}

absl::Status AttributeMapper::mapCommon(const ::envoy::data::accesslog::v3::AccessLogCommon& c,
                                        const AttributeIds& ids, AttributeBag* bag) {
  // Downstream is the source. The destination is the proxy's own end of the connection (an
  // inbound listener, in front of the destination), or, when the request went out through an
  // Istio outbound cluster, the upstream it went to: the reporter is then the source's proxy.
  setAddress(c.downstream_remote_address(), ids.source_ip, "source.ip", ids.source_port,
             "source.port", bag);
  const bool outbound = c.upstream_cluster().starts_with("outbound|");
  setAddress(outbound ? c.upstream_remote_address() : c.downstream_local_address(),
             ids.destination_ip, "destination.ip", ids.destination_port, "destination.port", bag);
  if (outbound) {
    put(bag, ids.context_reporter_kind, "context.reporter.kind",
        AttributeValue::string("outbound"));
  }
  putString(bag, ids.destination_service_host, "destination.service.host",
            clusterHost(c.upstream_cluster()));
  if (c.has_tls_properties()) {
    const auto& tls = c.tls_properties();
    putString(bag, ids.source_principal, "source.principal",
              principalOf(tls.peer_certificate_properties()));
    putString(bag, ids.destination_principal, "destination.principal",
              principalOf(tls.local_certificate_properties()));
    putString(bag, ids.connection_requested_server_name, "connection.requested_server_name",
              tls.tls_sni_hostname());
    put(bag, ids.connection_mtls, "connection.mtls",
        AttributeValue::boolean(tls.has_peer_certificate_properties()));
  } else {
    put(bag, ids.connection_mtls, "connection.mtls", AttributeValue::boolean(false));
  }
  if (c.has_start_time()) {
    const auto start = toTimestamp(c.start_time());
    put(bag, ids.request_time, "request.time", AttributeValue::timestamp(start));
    put(bag, ids.context_time, "context.time", AttributeValue::timestamp(start));
  }
  putString(bag, ids.connection_id, "connection.id", c.stream_id());
  return absl::OkStatus();
}

absl::Status AttributeMapper::mapHttpEntry(
    const ::envoy::data::accesslog::v3::HTTPAccessLogEntry& entry, const AttributeIds& ids,
    AttributeBag* bag) {
  reset();
  if (auto s = mapCommon(entry.common_properties(), ids, bag); !s.ok()) return s;
  const auto& c = entry.common_properties();
  // The request's duration: start to the last byte sent downstream.
  const google::protobuf::Duration* d = c.has_duration() ? &c.duration()
                                        : c.has_time_to_last_downstream_tx_byte()
                                            ? &c.time_to_last_downstream_tx_byte()
                                            : nullptr;
  if (d != nullptr) {
    const auto dur = toDuration(*d);
    put(bag, ids.response_duration, "response.duration", AttributeValue::duration(dur));
    if (c.has_start_time()) {
      int64_t ns = c.start_time().nanos() + static_cast<int64_t>(dur.nanos);
      int64_t s = c.start_time().seconds() + dur.seconds + ns / 1000000000;
      ns %= 1000000000;
      if (ns < 0) {
        ns += 1000000000;
        --s;
      }
      put(bag, ids.response_time, "response.time",
          AttributeValue::timestamp({s, static_cast<int32_t>(ns)}));
    }
  }
  size_t bytes = 0;
  std::string_view content_type;
  if (entry.has_request()) {
    const auto& r = entry.request();
    putString(bag, ids.request_method, "request.method", methodName(r.request_method()));
    putString(bag, ids.request_scheme, "request.scheme", r.scheme());
    putString(bag, ids.request_host, "request.host", r.authority());
    putString(bag, ids.request_path, "request.path", r.path());
    putString(bag, ids.request_url_path, "request.url_path", urlPath(r.path()));
    putString(bag, ids.request_useragent, "request.useragent", r.user_agent());
    putString(bag, ids.request_referer, "request.referer", r.referer());
    putString(bag, ids.request_id, "request.id", r.request_id());
    put(bag, ids.request_size, "request.size",
        AttributeValue::int64(static_cast<int64_t>(r.request_body_bytes())));
    put(bag, ids.request_total_size, "request.total_size",
        AttributeValue::int64(
            static_cast<int64_t>(r.request_headers_bytes() + r.request_body_bytes())));
    if (!r.request_headers().empty()) {
      if (auto s = mapEntries(r.request_headers(), "request headers", limits_, &bytes, &entries_);
          !s.ok()) {
        return s;
      }
      for (const auto& e : entries_) {
        if (e.key == "content-type") content_type = e.value;
      }
      put(bag, ids.request_headers, "request.headers", bag->makeStringMap(entries_));
    }
  }
  if (entry.has_response()) {
    const auto& r = entry.response();
    if (r.has_response_code()) {
      put(bag, ids.response_code, "response.code",
          AttributeValue::int64(r.response_code().value()));
    }
    put(bag, ids.response_size, "response.size",
        AttributeValue::int64(static_cast<int64_t>(r.response_body_bytes())));
    put(bag, ids.response_total_size, "response.total_size",
        AttributeValue::int64(
            static_cast<int64_t>(r.response_headers_bytes() + r.response_body_bytes())));
    if (!r.response_headers().empty()) {
      if (auto s = mapEntries(r.response_headers(), "response headers", limits_, &bytes, &entries_);
          !s.ok()) {
        return s;
      }
      put(bag, ids.response_headers, "response.headers", bag->makeStringMap(entries_));
      if (auto it = r.response_headers().find("grpc-status"); it != r.response_headers().end()) {
        putString(bag, ids.response_grpc_status, "response.grpc_status", it->second);
      }
    }
    if (auto it = r.response_trailers().find("grpc-status"); it != r.response_trailers().end()) {
      putString(bag, ids.response_grpc_status, "response.grpc_status", it->second);
    }
  }
  put(bag, ids.context_protocol, "context.protocol",
      AttributeValue::string(contextProtocol(content_type)));
  return absl::OkStatus();
}

absl::Status AttributeMapper::mapTcpEntry(
    const ::envoy::data::accesslog::v3::TCPAccessLogEntry& entry, const AttributeIds& ids,
    AttributeBag* bag) {
  reset();
  if (auto s = mapCommon(entry.common_properties(), ids, bag); !s.ok()) return s;
  const auto& c = entry.common_properties();
  if (c.has_duration()) {
    put(bag, ids.connection_duration, "connection.duration",
        AttributeValue::duration(toDuration(c.duration())));
  }
  const auto& p = entry.connection_properties();
  const auto received = static_cast<int64_t>(p.received_bytes());
  const auto sent = static_cast<int64_t>(p.sent_bytes());
  put(bag, ids.connection_received_bytes, "connection.received.bytes",
      AttributeValue::int64(received));
  put(bag, ids.connection_received_bytes_total, "connection.received.bytes_total",
      AttributeValue::int64(received));
  put(bag, ids.connection_sent_bytes, "connection.sent.bytes", AttributeValue::int64(sent));
  put(bag, ids.connection_sent_bytes_total, "connection.sent.bytes_total",
      AttributeValue::int64(sent));
  using ::envoy::data::accesslog::v3::AccessLogType;
  std::string_view event = "close";
  switch (c.access_log_type()) {
    case AccessLogType::TcpUpstreamConnected:
      event = "open";
      break;
    case AccessLogType::TcpPeriodic:
      event = "continue";
      break;
    default:
      break;
  }
  put(bag, ids.connection_event, "connection.event", AttributeValue::string(event));
  put(bag, ids.context_protocol, "context.protocol", AttributeValue::string("tcp"));
  return absl::OkStatus();
}

absl::Status AttributeMapper::mapDescriptor(
    std::string_view domain,
    const ::envoy::extensions::common::ratelimit::v3::RateLimitDescriptor& descriptor,
    const AttributeIds& ids, AttributeBag* bag) {
  size_t bytes = 0;
  entries_.clear();
  if (static_cast<size_t>(descriptor.entries_size()) > limits_.max_headers) {
    return absl::InvalidArgumentError(mixer::base::strCat("descriptor: ", descriptor.entries_size(),
                                                          " entries, over the limit of ",
                                                          limits_.max_headers));
  }
  for (const auto& e : descriptor.entries()) {
    bytes += e.key().size() + e.value().size();
    entries_.push_back({e.key(), e.value()});
  }
  if (bytes > limits_.max_header_bytes) {
    return absl::InvalidArgumentError(
        mixer::base::strCat("descriptor: ", bytes, " bytes of keys and values, over the limit of ",
                            limits_.max_header_bytes));
  }
  put(bag, ids.ratelimit_domain, "ratelimit.domain", AttributeValue::string(domain));
  put(bag, ids.ratelimit_descriptor, "ratelimit.descriptor", bag->makeStringMap(entries_));
  return absl::OkStatus();
}

}  // namespace frontends::envoy
