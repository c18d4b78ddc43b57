// Requests and configurations shared by the Envoy front-end benchmarks: envoy_frontends_bench (in
// process) and envoy_frontends_load (over loopback gRPC to a real mixs).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "envoy/service/accesslog/v3/als.pb.h"
#include "envoy/service/auth/v3/external_auth.pb.h"
#include "envoy/service/ratelimit/v3/rls.pb.h"
#include "frontends/envoy/attribute_mapping.h"
#include "frontends/envoy/authz_decoder.h"
#include "mixer/api/attribute_encoder.h"
#include "mixer/api/global_dictionary.h"
#include "mixer/runtime/config_store.h"
#include "mixer/v1/mixer.pb.h"

namespace mixer::bench {

namespace auth = ::envoy::service::auth::v3;

// 10 rules, one matching the request (a denier answering OK), as mixer_service_bench; plus a
// memquota handler for the rate limit domain "envoy" (never reached).
inline std::string configYaml() {
  std::string y =
      "apiVersion: config.istio.io/v1alpha2\nkind: denier\nmetadata: {name: allow, namespace: "
      "istio-system}\nspec: {status: {code: 0}, validDuration: 10s, validUseCount: 100}\n---\n"
      "apiVersion: config.istio.io/v1alpha2\nkind: checknothing\nmetadata: {name: nothing, "
      "namespace: istio-system}\n";
  for (int i = 0; i < 10; ++i) {
    const std::string svc =
        i == 0 ? "reviews.default.svc.cluster.local" : "svc" + std::to_string(i) + ".default";
    y += "---\napiVersion: config.istio.io/v1alpha2\nkind: rule\nmetadata: {name: rule" +
         std::to_string(i) +
         ", namespace: istio-system}\nspec:\n  match: destination.service.host == \"" + svc +
         "\" && request.method == \"GET\"\n"
         "  actions:\n  - handler: allow.denier\n    instances: [nothing.checknothing]\n";
  }
  y += R"(---
apiVersion: config.istio.io/v1alpha2
kind: memquota
metadata: {name: handler, namespace: istio-system}
spec:
  quotas:
  - name: envoy.quota.istio-system
    maxAmount: 1000000000000
    validDuration: 1h
---
apiVersion: config.istio.io/v1alpha2
kind: quota
metadata: {name: envoy, namespace: istio-system}
spec:
  dimensions:
    key: ratelimit.descriptor["generic_key"] | "none"
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: quota, namespace: istio-system}
spec:
  actions: [{handler: handler.memquota, instances: [envoy.quota]}]
)";
  return y;
}

// The ext_authz request Envoy sends for the sidecar request of istio_request.h.
inline auth::CheckRequest authzRequest() {
  auth::CheckRequest req;
  auto* a = req.mutable_attributes();
  auto* src = a->mutable_source();
  src->mutable_address()->mutable_socket_address()->set_address("10.44.1.7");
  src->mutable_address()->mutable_socket_address()->set_port_value(51234);
  src->set_principal("spiffe://cluster.local/ns/default/sa/bookinfo-productpage");
  auto* dst = a->mutable_destination();
  dst->mutable_address()->mutable_socket_address()->set_address("10.44.2.9");
  dst->mutable_address()->mutable_socket_address()->set_port_value(9080);
  dst->set_service("reviews.default.svc.cluster.local");
  dst->set_principal("spiffe://cluster.local/ns/default/sa/bookinfo-reviews");
  auto* r = a->mutable_request();
  r->mutable_time()->set_seconds(1700000000);
  r->mutable_time()->set_nanos(123000000);
  auto* h = r->mutable_http();
  h->set_id("2c0a8d6e-6f3a-9c7b-a1f5-0e3b2d4c6a8f");
  h->set_method("GET");
  h->set_path("/reviews/0");
  h->set_host("reviews:9080");
  h->set_scheme("http");
  h->set_protocol("HTTP/1.1");
  h->set_size(0);
  auto& hdr = *h->mutable_headers();
  hdr[":authority"] = "reviews:9080";
  hdr[":path"] = "/reviews/0";
  hdr[":method"] = "GET";
  hdr["accept"] = "*/*";
  hdr["accept-encoding"] = "gzip, deflate";
  hdr["user-agent"] = "python-requests/2.18.4";
  hdr["x-b3-sampled"] = "1";
  hdr["x-b3-spanid"] = "0f5e1e1a4c0b1d2e";
  hdr["x-b3-traceid"] = "8a3c1e2f0b4d5a6c";
  hdr["x-forwarded-proto"] = "http";
  hdr["x-request-id"] = "2c0a8d6e-6f3a-9c7b-a1f5-0e3b2d4c6a8f";
  return req;
}

// A Mixer Check with exactly the attributes the ext_authz request maps to.
inline std::string mixerCheckWithSameAttributes(const auth::CheckRequest& authz) {
  auto vocab = attribute::Vocabulary::builtin();
  attribute::AttributeBag bag(vocab);
  frontends::envoy::AttributeIds ids(*vocab);
  frontends::envoy::AttributeMapper mapper;
  frontends::envoy::CheckRequestView view;
  const std::string bytes = authz.SerializeAsString();
  if (!frontends::envoy::parseAuthzCheckRequest(bytes, &view).ok() ||
      !mapper.mapCheck(view, ids, &bag).ok()) {
    std::abort();
  }
  istio::mixer::v1::CheckRequest req;
  api::encodeAttributes(bag, api::kGlobalWordCount, req.mutable_attributes());
  req.set_global_word_count(api::kGlobalWordCount);
  req.set_deduplication_id("ac3a7e60-7c1c-4a5e-8f4e-3f2a1b0c9d8e1");
  return req.SerializeAsString();
}

// The rate limit request of the benchmarks: domain "envoy", one descriptor (generic_key: api).
inline std::string rateLimitRequest() {
  ::envoy::service::ratelimit::v3::RateLimitRequest req;
  req.set_domain("envoy");
  auto* e = req.add_descriptors()->add_entries();
  e->set_key("generic_key");
  e->set_value("api");
  return req.SerializeAsString();
}

inline std::string defaultConfig() {
  std::string yaml = runtime::embeddedDefaultConfig("127.0.0.1:0");
  const std::string from = "outputAsJson: true";
  yaml.replace(yaml.find(from), from.size(),
               "{outputAsJson: true, logStream: FILE, outputPath: /dev/null}");
  return yaml;
}

// One StreamAccessLogsMessage of `n` HTTP entries, as Envoy's http_grpc logger batches them.
inline std::string accessLogMessage(int n) {
  ::envoy::service::accesslog::v3::StreamAccessLogsMessage msg;
  auto* logs = msg.mutable_http_logs();
  for (int i = 0; i < n; ++i) {
    auto* e = logs->add_log_entry();
    auto* c = e->mutable_common_properties();
    c->mutable_downstream_remote_address()->mutable_socket_address()->set_address("10.44.1.7");
    c->mutable_downstream_remote_address()->mutable_socket_address()->set_port_value(51234);
    c->mutable_downstream_local_address()->mutable_socket_address()->set_address("10.44.2.9");
    c->mutable_downstream_local_address()->mutable_socket_address()->set_port_value(9080);
    c->mutable_start_time()->set_seconds(1700000000 + i);
    c->mutable_duration()->set_nanos(8000000);
    c->set_upstream_cluster("inbound|9080||reviews.default.svc.cluster.local");
    auto* san =
        c->mutable_tls_properties()->mutable_peer_certificate_properties()->add_subject_alt_name();
    san->set_uri("spiffe://cluster.local/ns/default/sa/bookinfo-productpage");
    e->set_protocol_version(::envoy::data::accesslog::v3::HTTPAccessLogEntry::HTTP11);
    auto* r = e->mutable_request();
    r->set_request_method(::envoy::config::core::v3::GET);
    r->set_scheme("http");
    r->set_authority("reviews:9080");
    r->set_path("/reviews/0");
    r->set_user_agent("python-requests/2.18.4");
    r->set_request_id("2c0a8d6e-6f3a-9c7b-a1f5-0e3b2d4c6a8f");
    r->set_request_headers_bytes(843);
    auto* p = e->mutable_response();
    p->mutable_response_code()->set_value(200);
    p->set_response_headers_bytes(261);
    p->set_response_body_bytes(379);
  }
  return msg.SerializeAsString();
}

}  // namespace mixer::bench
