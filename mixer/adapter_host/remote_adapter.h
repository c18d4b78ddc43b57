// Istio 1.x out-of-process adapters (Istio 1.1-1.4's "gRPC adapters"): a handler whose spec has
// `connection: {address: HOST:PORT}` sends its instances to a separate process over gRPC instead
// of to a loaded .so.
//
// The runtime sees such a handler as any other: a LoadedAdapter (remoteAdapter()) whose C hooks,
// implemented here in the host, turn each call into one unary gRPC call of the template's
// `Handle<Template>Service` (the service the template's `kind: template` descriptor declares):
//   - check:  Handle<T>Request{instance, adapter_config, dedup_id}  ->
//   model.v1beta1.AdapterCheckResult
//   - quota:  HandleQuotaRequest{instance, adapter_config, dedup_id,
//                                quota_request{quotas{<instance name>: {amount, best_effort}}}}
//                                                                   ->
//                                                                   model.v1beta1.AdapterQuotaResult
//   - report: Handle<T>Request{instances (one call per template), adapter_config, dedup_id}
//                                                                   -> model.v1beta1.ReportResult
// Requests are protobuf dynamic messages built from the template's FileDescriptorSet: no code is
// generated per template. The method is the first of the first service whose name starts with
// "Handle", called as "/<package>.<Service>/<Method>", as Istio's dynamic handler did.
//
// Because the calls go through the ordinary Handler wrapper (handler.h), deadlines, the fail
// policy and the error counters are those of in-process adapters: a call the adapter does not
// answer by the deadline is DEADLINE_EXCEEDED, an unreachable adapter UNAVAILABLE, and both are
// counted in mixer_adapter_call_errors_total{adapter="<adapter document name>"} and logged
// (sampled).
//
// Thread-safe. Hooks never block: calls complete on gRPC's callback threads.
#ifndef MIXER_ADAPTER_HOST_REMOTE_ADAPTER_H_
#define MIXER_ADAPTER_HOST_REMOTE_ADAPTER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "mixer/adapter_host/loaded_adapter.h"
#include "mixer/adapter_host/value.h"

namespace mixer::adapter_host {

class HostServices;

// The adapter an out-of-process handler names (its `kind: adapter` document).
struct RemoteAdapterInfo {
  std::string name;
  std::string description;
  std::vector<std::string> templates;  // the template names it serves
  uint32_t kinds = 0;                  // MIXER_KIND_* of those templates
};

// A LoadedAdapter whose handlers call out-of-process adapters. Its info().path is "grpc" and its
// version "istio-1.x". OWNERSHIP: `services` is borrowed and must outlive the adapter.
std::shared_ptr<const LoadedAdapter> remoteAdapter(RemoteAdapterInfo info, HostServices* services);

// The params of one out-of-process handler, as remoteAdapter()'s validate_params and
// create_handler read them:
//   address: STRING "host:port"
//   timeout: DURATION, the connection's own timeout (0: the call's deadline only)
//   adapter_config: BYTES, a serialized google.protobuf.Any (absent: none is sent)
//   templates: MAP, template name -> BYTES (its serialized FileDescriptorSet)
AbiValue remoteHandlerParams(const std::string& address, absl::Duration timeout,
                             const std::string* adapter_config_any,
                             const std::vector<std::pair<std::string, std::string>>& templates);

// Checks that `descriptor_set` (a serialized FileDescriptorSet) declares a Handle<Template>
// service the runtime can call; false with `error` otherwise.
bool checkHandleService(const std::string& descriptor_set, std::string* error);

}  // namespace mixer::adapter_host

#endif  // MIXER_ADAPTER_HOST_REMOTE_ADAPTER_H_
