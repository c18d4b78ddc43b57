// A Check / Report request shaped like the ones Istio 1.4's sidecar sends for one inbound HTTP
// request (attribute names and types from its istio-proxy and kubernetes manifests), encoded the
// way its client does. Shared by the benchmarks so they all measure the same request.
#pragma once

#include <string>

#include "base/word_compression.h"
#include "mixer/api/attribute_encoder.h"
#include "mixer/api/global_dictionary.h"

namespace mixer::bench {

inline void fillIstioRequest(attribute::AttributeBag& bag, bool report) {
  using attribute::AttributeValue;
  using attribute::ValueType;
  bag.set("source.ip",
          AttributeValue::bytes(std::string_view("\x0a\x2c\x01\x07", 4), ValueType::kIpAddress));
  bag.set("source.uid",
          AttributeValue::string("kubernetes://productpage-v1-6b746f74dc-9stvs.default"));
  bag.set("source.namespace", AttributeValue::string("default"));
  bag.set("destination.uid",
          AttributeValue::string("kubernetes://reviews-v2-7d79d5bd5d-4lqhk.default"));
  bag.set("destination.service.host", AttributeValue::string("reviews.default.svc.cluster.local"));
  bag.set("destination.service.name", AttributeValue::string("reviews"));
  bag.set("destination.service.namespace", AttributeValue::string("default"));
  bag.set("destination.namespace", AttributeValue::string("default"));
  bag.set("destination.port", AttributeValue::int64(9080));
  bag.set("request.host", AttributeValue::string("reviews:9080"));
  bag.set("request.method", AttributeValue::string("GET"));
  bag.set("request.path", AttributeValue::string("/reviews/0"));
  bag.set("request.scheme", AttributeValue::string("http"));
  bag.set("request.useragent", AttributeValue::string("python-requests/2.18.4"));
  bag.set("request.time", AttributeValue::timestamp({1700000000, 123000000}));
  bag.set("context.protocol", AttributeValue::string("http"));
  bag.set("context.reporter.kind", AttributeValue::string("inbound"));
  bag.set("context.reporter.uid",
          AttributeValue::string("kubernetes://reviews-v2-7d79d5bd5d-4lqhk.default"));
  bag.set("connection.mtls", AttributeValue::boolean(true));
  static const attribute::StringMapEntry headers[] = {
      {":authority", "reviews:9080"},
      {":path", "/reviews/0"},
      {":method", "GET"},
      {"accept", "*/*"},
      {"accept-encoding", "gzip, deflate"},
      {"user-agent", "python-requests/2.18.4"},
      {"x-b3-sampled", "1"},
      {"x-b3-spanid", "0f5e1e1a4c0b1d2e"},
      {"x-b3-traceid", "8a3c1e2f0b4d5a6c"},
      {"x-forwarded-proto", "http"},
      {"x-request-id", "2c0a8d6e-6f3a-9c7b-a1f5-0e3b2d4c6a8f"},
  };
  bag.set("request.headers", bag.makeStringMap(headers));
  if (report) {
    bag.set("request.size", AttributeValue::int64(0));
    bag.set("request.total_size", AttributeValue::int64(843));
    bag.set("response.code", AttributeValue::int64(200));
    bag.set("response.size", AttributeValue::int64(379));
    bag.set("response.total_size", AttributeValue::int64(640));
    bag.set("response.time", AttributeValue::timestamp({1700000000, 131000000}));
    bag.set("response.duration", AttributeValue::duration({0, 8000000}));
    static const attribute::StringMapEntry rheaders[] = {
        {":status", "200"},        {"content-type", "application/json"},
        {"content-length", "379"}, {"date", "Wed, 22 Nov 2026 05:00:00 GMT"},
        {"server", "istio-envoy"}, {"x-envoy-upstream-service-time", "7"},
    };
    bag.set("response.headers", bag.makeStringMap(rheaders));
  }
}

inline std::string istioCheckRequest() {
  attribute::AttributeBag bag(attribute::Vocabulary::builtin());
  fillIstioRequest(bag, false);
  istio::mixer::v1::CheckRequest req;
  api::encodeAttributes(bag, api::kGlobalWordCount, req.mutable_attributes());
  req.set_global_word_count(api::kGlobalWordCount);
  req.set_deduplication_id("ac3a7e60-7c1c-4a5e-8f4e-3f2a1b0c9d8e1");
  return req.SerializeAsString();
}

// `records` entries sharing one dictionary (default_words), INDEPENDENT_ENCODING, as Istio's
// client batches them.
inline std::string istioReportRequest(int records) {
  attribute::AttributeBag bag(attribute::Vocabulary::builtin());
  fillIstioRequest(bag, true);
  istio::mixer::v1::ReportRequest req;
  base::MessageDictionary dict(api::globalWords(), api::kGlobalWordCount);
  for (int i = 0; i < records; ++i) {
    api::encodeAttributes(bag, &dict, req.add_attributes());
  }
  for (const auto& w : dict.words()) {
    req.add_default_words(w);
  }
  req.set_global_word_count(api::kGlobalWordCount);
  req.set_repeated_attributes_semantics(istio::mixer::v1::ReportRequest::INDEPENDENT_ENCODING);
  return req.SerializeAsString();
}

}  // namespace mixer::bench
