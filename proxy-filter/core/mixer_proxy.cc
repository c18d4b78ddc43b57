// The C API over MixerClient.
#include "proxy-filter/core/mixer_proxy.h"

#include <arpa/inet.h>

#include <cstring>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "proxy-filter/core/lean_transport.h"
#include "proxy-filter/core/mixer_client.h"
#include "security/tls/credentials.h"

struct mixer_proxy_client {
  std::unique_ptr<mixer::proxy::MixerClient> client;
};
struct mixer_proxy_attributes {
  mixer::proxy::Attributes attributes;
};

namespace {

using mixer::proxy::CheckResult;

std::string_view view(const char* data, size_t len) {
  return data == nullptr ? std::string_view() : std::string_view(data, len);
}

mixer_proxy_string cString(const std::string& s) { return {s.data(), s.size()}; }

// The C view of header operations: in `stack` when they fit (no allocation on the hit path),
// else in `heap`.
constexpr size_t kStackOperations = 8;

const mixer_proxy_header_operation* cOperations(
    const std::vector<mixer::proxy::HeaderOperation>& ops,
    mixer_proxy_header_operation (&stack)[kStackOperations],
    std::vector<mixer_proxy_header_operation>* heap) {
  mixer_proxy_header_operation* out = stack;
  if (ops.size() > kStackOperations) {
    heap->resize(ops.size());
    out = heap->data();
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    out[i] = {cString(ops[i].name), cString(ops[i].value), static_cast<int32_t>(ops[i].kind)};
  }
  return out;
}

void deliver(const CheckResult& result, mixer_proxy_check_done done, void* context) {
  mixer_proxy_check_result c{};
  c.code = static_cast<int32_t>(result.code);
  c.http_status = mixer::proxy::httpStatusFor(result.code);
  c.message = cString(result.message);
  mixer_proxy_header_operation request_stack[kStackOperations];
  mixer_proxy_header_operation response_stack[kStackOperations];
  std::vector<mixer_proxy_header_operation> request_heap, response_heap;
  if (result.route != nullptr) {
    const auto& route = *result.route;
    c.request_header_operations =
        cOperations(route.request_header_operations, request_stack, &request_heap);
    c.request_header_operation_count = route.request_header_operations.size();
    c.response_header_operations =
        cOperations(route.response_header_operations, response_stack, &response_heap);
    c.response_header_operation_count = route.response_header_operations.size();
    c.direct_response_code = route.direct_response_code;
    c.direct_response_body = cString(route.direct_response_body);
  }
  done(context, &c);
}

}  // namespace

extern "C" {

void mixer_proxy_options_init(mixer_proxy_options* options) {
  *options = mixer_proxy_options{};
  options->size = sizeof(mixer_proxy_options);
  options->timeout_ms = 1000;
  options->base_retry_ms = 80;
  options->max_retry_ms = 1000;
  options->fail_open = 1;
  options->report_batch_max_entries = 100;
  options->report_batch_max_time_ms = 1000;
}

mixer_proxy_client* mixer_proxy_client_create(const mixer_proxy_options* options,
                                              const char** error) {
  auto fail = [error](const char* message) -> mixer_proxy_client* {
    if (error != nullptr) {
      *error = message;
    }
    return nullptr;
  };
  // A message made here lives in this thread's buffer until the next call.
  auto failWith = [&fail](std::string_view message) {
    thread_local std::string kept;
    kept.assign(message);
    return fail(kept.c_str());
  };
  if (options == nullptr || options->size < sizeof(mixer_proxy_options)) {
    return fail("mixer_proxy_options: missing, or size not set (use mixer_proxy_options_init)");
  }
  if (options->server_address == nullptr || options->server_address[0] == '\0') {
    return fail("mixer_proxy_options: server_address is empty");
  }
  if (options->timeout_ms < 0 || options->max_retries < 0 || options->base_retry_ms < 0 ||
      options->max_retry_ms < 0 || options->report_batch_max_entries < 0 ||
      options->report_batch_max_time_ms < 0) {
    return fail("mixer_proxy_options: negative timeout, retry or batch setting");
  }
  if (options->transport != MIXER_PROXY_TRANSPORT_GRPC &&
      options->transport != MIXER_PROXY_TRANSPORT_LEAN) {
    return fail("mixer_proxy_options: transport is neither MIXER_PROXY_TRANSPORT_GRPC nor _LEAN");
  }
  const bool lean = options->transport == MIXER_PROXY_TRANSPORT_LEAN;
  mixer::proxy::LeanTransportOptions transport;
  transport.address = options->server_address;
  {
    std::string message;
    if ((lean ? mixer::proxy::leanEndpoints(transport.address, &message).empty()
              : mixer::proxy::grpcTarget(transport.address, &message).empty())) {
      return failWith("mixer_proxy_options: server_address: " + message);
    }
  }
  transport.timeout_ms = options->timeout_ms > 0 ? options->timeout_ms : 1000;
  transport.max_retries = options->max_retries;
  transport.base_retry_ms = options->base_retry_ms > 0 ? options->base_retry_ms : 80;
  transport.max_retry_ms = options->max_retry_ms > 0 ? options->max_retry_ms : 1000;
  auto set = [](const char* s) { return s != nullptr && s[0] != '\0'; };
  if (set(options->tls_ca) || set(options->tls_cert) || set(options->tls_key)) {
    security::tls::TlsFiles files;
    files.ca = set(options->tls_ca) ? options->tls_ca : "";
    files.cert = set(options->tls_cert) ? options->tls_cert : "";
    files.key = set(options->tls_key) ? options->tls_key : "";
    if (lean) {
      transport.tls = true;
      transport.tls_files = files;
    } else {
      auto credentials = security::tls::channelCredentials(files);
      if (!credentials.ok()) {
        return failWith(std::string(credentials.status().message()));
      }
      transport.credentials = *std::move(credentials);
    }
    if (set(options->tls_server_name)) transport.server_name = options->tls_server_name;
  }
  std::unique_ptr<mixer::proxy::MixerTransport> made;
  if (lean) {
    auto created = mixer::proxy::LeanTransport::create(transport);
    if (!created.ok()) {
      return failWith(std::string(created.status().message()));
    }
    made = *std::move(created);
  } else {
    made = std::make_unique<mixer::proxy::GrpcTransport>(transport);
  }
  mixer::proxy::MixerClientOptions client;
  client.fail_open = options->fail_open != 0;
  client.check_cache = options->disable_check_cache == 0;
  client.quota_cache = options->disable_quota_cache == 0;
  client.report_batch = options->disable_report_batch == 0;
  if (options->report_batch_max_entries > 0) {
    client.report.max_entries = static_cast<size_t>(options->report_batch_max_entries);
  }
  if (options->report_batch_max_time_ms > 0) {
    client.report.max_time_ms = options->report_batch_max_time_ms;
  }
  // Debian builds Abseil without NDEBUG, so every absl::Mutex gRPC takes on the library's threads
  // would update a global lock graph (deadlock detection); mixs and pilot-discovery turn it off
  // too. The host of this C API is a proxy (nginx), whose own code does not use Abseil.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  auto* out = new mixer_proxy_client;
  out->client = std::make_unique<mixer::proxy::MixerClient>(client, std::move(made));
  return out;
}

void mixer_proxy_client_destroy(mixer_proxy_client* client) { delete client; }

mixer_proxy_attributes* mixer_proxy_attributes_create(void) {
  auto* a = new mixer_proxy_attributes;
  a->attributes.reserve(32);  // an HTTP request's Check and Report attributes, without rehashing
  return a;
}
void mixer_proxy_attributes_destroy(mixer_proxy_attributes* a) { delete a; }
mixer_proxy_attributes* mixer_proxy_attributes_copy(const mixer_proxy_attributes* a) {
  return new mixer_proxy_attributes(*a);
}
void mixer_proxy_attributes_clear(mixer_proxy_attributes* a) { a->attributes.clear(); }

void mixer_proxy_attributes_set_string(mixer_proxy_attributes* a, const char* name, size_t name_len,
                                       const char* value, size_t value_len) {
  a->attributes.setString(view(name, name_len), view(value, value_len));
}
void mixer_proxy_attributes_set_int64(mixer_proxy_attributes* a, const char* name, size_t name_len,
                                      int64_t value) {
  a->attributes.setInt64(view(name, name_len), value);
}
void mixer_proxy_attributes_set_double(mixer_proxy_attributes* a, const char* name, size_t name_len,
                                       double value) {
  a->attributes.setDouble(view(name, name_len), value);
}
void mixer_proxy_attributes_set_bool(mixer_proxy_attributes* a, const char* name, size_t name_len,
                                     int value) {
  a->attributes.setBool(view(name, name_len), value != 0);
}
void mixer_proxy_attributes_set_bytes(mixer_proxy_attributes* a, const char* name, size_t name_len,
                                      const void* value, size_t value_len) {
  a->attributes.setBytes(view(name, name_len), view(static_cast<const char*>(value), value_len));
}
int mixer_proxy_attributes_set_ip(mixer_proxy_attributes* a, const char* name, size_t name_len,
                                  const char* text, size_t text_len) {
  // Parsed here rather than by ipAddressBytes(): the bytes go into the attribute's own buffer.
  char buffer[INET6_ADDRSTRLEN];
  unsigned char bytes[16];
  if (text == nullptr || text_len >= sizeof(buffer)) {
    return 0;
  }
  std::memcpy(buffer, text, text_len);
  buffer[text_len] = '\0';
  size_t size = 0;
  if (inet_pton(AF_INET, buffer, bytes) == 1) {
    size = 4;
  } else if (inet_pton(AF_INET6, buffer, bytes) == 1) {
    size = 16;
  } else {
    return 0;
  }
  a->attributes.setBytes(view(name, name_len),
                         std::string_view(reinterpret_cast<const char*>(bytes), size));
  return 1;
}
void mixer_proxy_attributes_set_timestamp_ns(mixer_proxy_attributes* a, const char* name,
                                             size_t name_len, int64_t unix_ns) {
  a->attributes.setTimestamp(view(name, name_len),
                             mixer::proxy::Timestamp(mixer::proxy::Duration(unix_ns)));
}
void mixer_proxy_attributes_set_duration_ns(mixer_proxy_attributes* a, const char* name,
                                            size_t name_len, int64_t ns) {
  a->attributes.setDuration(view(name, name_len), mixer::proxy::Duration(ns));
}
void mixer_proxy_attributes_set_map_entry(mixer_proxy_attributes* a, const char* name,
                                          size_t name_len, const char* key, size_t key_len,
                                          const char* value, size_t value_len) {
  a->attributes.setMapEntry(view(name, name_len), view(key, key_len), view(value, value_len));
}

int mixer_proxy_check(mixer_proxy_client* client, const mixer_proxy_attributes* attributes,
                      const mixer_proxy_quota* quotas, size_t quota_count,
                      mixer_proxy_check_done done, void* context) {
  bool looked_up = false;
  if (quota_count == 0) {
    // The hit path: no allocation (the result's storage is reused per thread).
    thread_local CheckResult cached;
    looked_up = true;
    if (client->client->checkCached(attributes->attributes, &cached)) {
      deliver(cached, done, context);
      cached.route = nullptr;
      return 1;
    }
  }
  std::vector<mixer::proxy::QuotaRequest> q;
  q.reserve(quota_count);
  for (size_t i = 0; i < quota_count; ++i) {
    q.push_back({std::string(view(quotas[i].name, quotas[i].name_len)), quotas[i].amount});
  }
  // `done` ran inline exactly when it ran on this thread before check() returned: the library
  // calls back on its own threads otherwise.
  struct State {
    std::thread::id caller = std::this_thread::get_id();
    bool ran_inline = false;
  };
  auto state = std::make_shared<State>();
  client->client->check(
      attributes->attributes, q,
      [done, context, state](const CheckResult& result) {
        if (std::this_thread::get_id() == state->caller) {
          state->ran_inline = true;
        }
        deliver(result, done, context);
      },
      looked_up);
  return state->ran_inline ? 1 : 0;
}

void mixer_proxy_report(mixer_proxy_client* client, mixer_proxy_attributes* attributes) {
  client->client->report(std::move(attributes->attributes));
  delete attributes;
}

void mixer_proxy_report_swap(mixer_proxy_client* client, mixer_proxy_attributes* attributes) {
  client->client->reportSwap(&attributes->attributes);
}

void mixer_proxy_client_stats(const mixer_proxy_client* client, mixer_proxy_stats* out) {
  const mixer::proxy::ClientStats s = client->client->stats();
  out->check_cache_hits = s.check_cache_hits;
  out->check_cache_misses = s.check_cache_misses;
  out->check_remote_calls = s.check_remote_calls;
  out->check_remote_errors = s.check_remote_errors;
  out->check_fail_open = s.check_fail_open;
  out->check_fail_close = s.check_fail_close;
  out->quota_cache_hits = s.quota_cache_hits;
  out->quota_cache_misses = s.quota_cache_misses;
  out->report_enqueued = s.report_enqueued;
  out->report_batches = s.report_batches;
  out->report_dropped = s.report_dropped;
  out->dictionary_shrinks = s.dictionary_shrinks;
}

}  // extern "C"
