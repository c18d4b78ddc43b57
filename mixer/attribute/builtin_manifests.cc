// The attribute vocabularies Istio's proxies and Kubernetes environment use (Istio's
// istio-proxy and kubernetes attribute manifests) and the project's own (the caller's verified
// identity), as attributemanifest YAML; and the Istio
// 0.1/0.2 vocabulary of the aspect model.
#include "mixer/attribute/vocabulary.h"

namespace mixer::attribute {

std::string_view builtinManifestsYaml() {
  static constexpr std::string_view kYaml = R"yaml(
apiVersion: config.istio.io/v1alpha2
kind: attributemanifest
metadata: {name: istio-proxy, namespace: istio-system}
spec:
  attributes:
    origin.ip: {valueType: IP_ADDRESS}
    origin.uid: {valueType: STRING}
    origin.user: {valueType: STRING}
    request.headers: {valueType: STRING_MAP}
    request.id: {valueType: STRING}
    request.host: {valueType: STRING}
    request.method: {valueType: STRING}
    request.path: {valueType: STRING}
    request.url_path: {valueType: STRING}
    request.query_params: {valueType: STRING_MAP}
    request.reason: {valueType: STRING}
    request.referer: {valueType: STRING}
    request.scheme: {valueType: STRING}
    request.total_size: {valueType: INT64}
    request.size: {valueType: INT64}
    request.time: {valueType: TIMESTAMP}
    request.useragent: {valueType: STRING}
    response.code: {valueType: INT64}
    response.duration: {valueType: DURATION}
    response.headers: {valueType: STRING_MAP}
    response.total_size: {valueType: INT64}
    response.size: {valueType: INT64}
    response.time: {valueType: TIMESTAMP}
    response.grpc_status: {valueType: STRING}
    response.grpc_message: {valueType: STRING}
    source.uid: {valueType: STRING}
    source.user: {valueType: STRING}
    source.principal: {valueType: STRING}
    destination.uid: {valueType: STRING}
    destination.principal: {valueType: STRING}
    destination.port: {valueType: INT64}
    connection.event: {valueType: STRING}
    connection.id: {valueType: STRING}
    connection.received.bytes: {valueType: INT64}
    connection.received.bytes_total: {valueType: INT64}
    connection.sent.bytes: {valueType: INT64}
    connection.sent.bytes_total: {valueType: INT64}
    connection.duration: {valueType: DURATION}
    connection.mtls: {valueType: BOOL}
    connection.requested_server_name: {valueType: STRING}
    context.protocol: {valueType: STRING}
    context.proxy_error_code: {valueType: STRING}
    context.timestamp: {valueType: TIMESTAMP}
    context.time: {valueType: TIMESTAMP}
    context.reporter.local: {valueType: BOOL}
    context.reporter.kind: {valueType: STRING}
    context.reporter.uid: {valueType: STRING}
    api.service: {valueType: STRING}
    api.version: {valueType: STRING}
    api.operation: {valueType: STRING}
    api.protocol: {valueType: STRING}
    request.auth.principal: {valueType: STRING}
    request.auth.audiences: {valueType: STRING}
    request.auth.presenter: {valueType: STRING}
    request.auth.claims: {valueType: STRING_MAP}
    request.auth.raw_claims: {valueType: STRING}
    request.api_key: {valueType: STRING}
    rbac.permissive.response_code: {valueType: STRING}
    rbac.permissive.effective_policy_id: {valueType: STRING}
    check.error_code: {valueType: INT64}
    check.error_message: {valueType: STRING}
    check.cache_hit: {valueType: BOOL}
    quota.cache_hit: {valueType: BOOL}
---
# The project's own, which mixs sets from what the transport proved (docs/security.md).
apiVersion: config.istio.io/v1alpha2
kind: attributemanifest
metadata: {name: mixs, namespace: istio-system}
spec:
  attributes:
    context.reporter.principal: {valueType: STRING}
---
apiVersion: config.istio.io/v1alpha2
kind: attributemanifest
metadata: {name: kubernetes, namespace: istio-system}
spec:
  attributes:
    source.ip: {valueType: IP_ADDRESS}
    source.labels: {valueType: STRING_MAP}
    source.name: {valueType: STRING}
    source.namespace: {valueType: STRING}
    source.owner: {valueType: STRING}
    source.service: {valueType: STRING}
    source.serviceAccount: {valueType: STRING}
    source.services: {valueType: STRING}
    source.workload.uid: {valueType: STRING}
    source.workload.name: {valueType: STRING}
    source.workload.namespace: {valueType: STRING}
    destination.ip: {valueType: IP_ADDRESS}
    destination.labels: {valueType: STRING_MAP}
    destination.metadata: {valueType: STRING_MAP}
    destination.name: {valueType: STRING}
    destination.namespace: {valueType: STRING}
    destination.owner: {valueType: STRING}
    destination.service: {valueType: STRING}
    destination.service.uid: {valueType: STRING}
    destination.service.name: {valueType: STRING}
    destination.service.namespace: {valueType: STRING}
    destination.service.host: {valueType: STRING}
    destination.serviceAccount: {valueType: STRING}
    destination.workload.uid: {valueType: STRING}
    destination.workload.name: {valueType: STRING}
    destination.workload.namespace: {valueType: STRING}
---
apiVersion: config.istio.io/v1alpha2
kind: attributemanifest
metadata: {name: envoy, namespace: istio-system}
spec:
  attributes:
    # What Envoy's ext_authz and rate limit service requests carry beyond Istio's vocabulary
    # (frontends/envoy, docs/envoy.md).
    source.port: {valueType: INT64}
    context.extensions: {valueType: STRING_MAP}
    ratelimit.domain: {valueType: STRING}
    ratelimit.descriptor: {valueType: STRING_MAP}
)yaml";
  return kYaml;
}

std::string_view aspectModelManifestYaml() {
  // The attribute vocabulary of Istio 0.1/0.2 (the 0.1 attribute-vocabulary page and the
  // concept pages' examples; the first 31 words of Istio's global dictionary): `target.*` where
  // 1.x says `destination.*`, plus `origin.*` and `response.latency`. `api.name`, `api.method`
  // and `request.count` appear only in the 0.1 documentation's examples and are kept as the
  // documented aliases. Names also in the built-in manifests have the same type there.
  static constexpr std::string_view kYaml = R"yaml(
apiVersion: config.istio.io/v1alpha2
kind: attributemanifest
metadata: {name: istio-0.1, namespace: istio-system}
spec:
  attributes:
    source.ip: {valueType: IP_ADDRESS}
    source.port: {valueType: INT64}
    source.name: {valueType: STRING}
    source.uid: {valueType: STRING}
    source.namespace: {valueType: STRING}
    source.labels: {valueType: STRING_MAP}
    source.user: {valueType: STRING}
    source.service: {valueType: STRING}
    source.domain: {valueType: STRING}
    target.ip: {valueType: IP_ADDRESS}
    target.port: {valueType: INT64}
    target.service: {valueType: STRING}
    target.name: {valueType: STRING}
    target.uid: {valueType: STRING}
    target.namespace: {valueType: STRING}
    target.labels: {valueType: STRING_MAP}
    target.user: {valueType: STRING}
    target.domain: {valueType: STRING}
    origin.ip: {valueType: IP_ADDRESS}
    origin.uid: {valueType: STRING}
    origin.user: {valueType: STRING}
    request.headers: {valueType: STRING_MAP}
    request.id: {valueType: STRING}
    request.path: {valueType: STRING}
    request.host: {valueType: STRING}
    request.method: {valueType: STRING}
    request.reason: {valueType: STRING}
    request.referer: {valueType: STRING}
    request.scheme: {valueType: STRING}
    request.size: {valueType: INT64}
    request.time: {valueType: TIMESTAMP}
    request.useragent: {valueType: STRING}
    response.headers: {valueType: STRING_MAP}
    response.size: {valueType: INT64}
    response.time: {valueType: TIMESTAMP}
    response.duration: {valueType: DURATION}
    response.latency: {valueType: DURATION}
    response.code: {valueType: INT64}
    api.name: {valueType: STRING}
    api.method: {valueType: STRING}
    request.count: {valueType: INT64}
)yaml";
  return kYaml;
}

}  // namespace mixer::attribute
