/* The C API of the proxy-filter client library, for hosts written in C (the nginx module).
 * Strings are (pointer, length) pairs and need not be NUL-terminated. Thread-safe where noted.
 * OWNERSHIP: every object returned by a _create function is owned by the caller and released
 * with the matching _destroy; pointers passed in are borrowed for the duration of the call. */
#ifndef MIXER_PROXY_H_
#define MIXER_PROXY_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 2: mixer_proxy_attributes_clear, mixer_proxy_report_swap. 3: TLS options. 4: transport. */
#define MIXER_PROXY_API_VERSION 4

enum {
  MIXER_PROXY_TRANSPORT_GRPC = 0, /* gRPC C++ (the default) */
  MIXER_PROXY_TRANSPORT_LEAN = 1  /* HTTP/2 from libnghttp2, one thread: for mixs' lean port */
};

typedef struct mixer_proxy_client mixer_proxy_client;
typedef struct mixer_proxy_attributes mixer_proxy_attributes;

typedef struct mixer_proxy_options {
  size_t size;                /* sizeof(mixer_proxy_options): set by the caller */
  const char* server_address; /* host:port (a DNS name: every address it resolves to), or
                               * IP:port,IP:port,...: replicas, round robin over the healthy */
  int64_t timeout_ms;         /* per attempt; 0 = 1000 */
  int32_t max_retries;        /* default 0 */
  int64_t base_retry_ms;      /* 0 = 80 */
  int64_t max_retry_ms;       /* 0 = 1000 */
  int32_t fail_open;          /* nonzero = allow when the server is unreachable */
  int32_t disable_check_cache;
  int32_t disable_quota_cache;
  int32_t disable_report_batch;
  int64_t report_batch_max_entries; /* 0 = 100 */
  int64_t report_batch_max_time_ms; /* 0 = 1000 */
  /* TLS to the server (NUL-terminated PEM file paths; NULL or "" = unset). With tls_ca, the
   * connection is TLS and the server's certificate is verified against it; with tls_cert and
   * tls_key too, the client presents its own certificate (mTLS). The files are re-read when
   * they change. tls_server_name: the name the server's certificate must carry when it is not
   * server_address' host. */
  const char* tls_ca;
  const char* tls_cert;
  const char* tls_key;
  const char* tls_server_name;
  /* MIXER_PROXY_TRANSPORT_*: how calls reach the server. Both speak gRPC to any istio.mixer.v1
   * server; the lean one costs less CPU per call (docs/proxy-filter.md, "The lean transport"). */
  int32_t transport;
} mixer_proxy_options;

/* Fills `options` with the defaults (Istio 1.4's) and sets options->size. */
void mixer_proxy_options_init(mixer_proxy_options* options);

/* Returns NULL on bad options; *error (if error is not NULL) then gets a message that stays valid
 * until the next call of this function on the same thread. */
mixer_proxy_client* mixer_proxy_client_create(const mixer_proxy_options* options,
                                              const char** error);
/* Flushes queued reports and waits for RPCs in flight. */
void mixer_proxy_client_destroy(mixer_proxy_client* client);

mixer_proxy_attributes* mixer_proxy_attributes_create(void);
void mixer_proxy_attributes_destroy(mixer_proxy_attributes* attributes);
mixer_proxy_attributes* mixer_proxy_attributes_copy(const mixer_proxy_attributes* attributes);
/* Removes every attribute but keeps the storage: a host that builds each request into one reused
 * object allocates nothing once the names and value sizes have been seen. */
void mixer_proxy_attributes_clear(mixer_proxy_attributes* attributes);
/* Not thread-safe on one attributes object. */
void mixer_proxy_attributes_set_string(mixer_proxy_attributes* a, const char* name, size_t name_len,
                                       const char* value, size_t value_len);
void mixer_proxy_attributes_set_int64(mixer_proxy_attributes* a, const char* name, size_t name_len,
                                      int64_t value);
void mixer_proxy_attributes_set_double(mixer_proxy_attributes* a, const char* name, size_t name_len,
                                       double value);
void mixer_proxy_attributes_set_bool(mixer_proxy_attributes* a, const char* name, size_t name_len,
                                     int value);
void mixer_proxy_attributes_set_bytes(mixer_proxy_attributes* a, const char* name, size_t name_len,
                                      const void* value, size_t value_len);
/* An IP address in text form, stored as 4 or 16 bytes; returns 0 when not an address. */
int mixer_proxy_attributes_set_ip(mixer_proxy_attributes* a, const char* name, size_t name_len,
                                  const char* text, size_t text_len);
void mixer_proxy_attributes_set_timestamp_ns(mixer_proxy_attributes* a, const char* name,
                                             size_t name_len, int64_t unix_ns);
void mixer_proxy_attributes_set_duration_ns(mixer_proxy_attributes* a, const char* name,
                                            size_t name_len, int64_t ns);
/* One entry of a STRING_MAP attribute (request.headers etc.). */
void mixer_proxy_attributes_set_map_entry(mixer_proxy_attributes* a, const char* name,
                                          size_t name_len, const char* key, size_t key_len,
                                          const char* value, size_t value_len);

typedef struct mixer_proxy_string {
  const char* data;
  size_t len;
} mixer_proxy_string;

enum {
  MIXER_PROXY_HEADER_REPLACE = 0,
  MIXER_PROXY_HEADER_REMOVE = 1,
  MIXER_PROXY_HEADER_APPEND = 2
};

typedef struct mixer_proxy_header_operation {
  mixer_proxy_string name;
  mixer_proxy_string value;
  int32_t operation; /* MIXER_PROXY_HEADER_* */
} mixer_proxy_header_operation;

/* A Check outcome. Valid only during the callback that receives it: copy what you keep. */
typedef struct mixer_proxy_check_result {
  int32_t code;        /* google.rpc.Code: 0 OK, 7 PERMISSION_DENIED, 8 RESOURCE_EXHAUSTED, ... */
  int32_t http_status; /* 200, 403, 429, 401, 503, 500 */
  mixer_proxy_string message;
  const mixer_proxy_header_operation* request_header_operations;
  size_t request_header_operation_count;
  const mixer_proxy_header_operation* response_header_operations;
  size_t response_header_operation_count;
  uint32_t direct_response_code; /* 0 = none */
  mixer_proxy_string direct_response_body;
} mixer_proxy_check_result;

typedef struct mixer_proxy_quota {
  const char* name;
  size_t name_len;
  int64_t amount;
} mixer_proxy_quota;

typedef void (*mixer_proxy_check_done)(void* context, const mixer_proxy_check_result* result);

/* Checks `attributes` with `quotas`. `done` runs exactly once: inside this call when the caches
 * decide (the call then returns 1), otherwise later on a library thread (returns 0). Thread-safe.
 */
int mixer_proxy_check(mixer_proxy_client* client, const mixer_proxy_attributes* attributes,
                      const mixer_proxy_quota* quotas, size_t quota_count,
                      mixer_proxy_check_done done, void* context);

/* Queues one report record; takes ownership of `attributes`. Never blocks on the network.
 * Thread-safe. */
void mixer_proxy_report(mixer_proxy_client* client, mixer_proxy_attributes* attributes);
/* Queues the attributes of `attributes` as one report record and leaves `attributes` (still the
 * caller's) empty, holding the storage of the record queued before it: a host that builds its
 * next request into it allocates nothing once records of this shape have been queued. Never blocks
 * on the network. Thread-safe (one call per attributes object at a time). */
void mixer_proxy_report_swap(mixer_proxy_client* client, mixer_proxy_attributes* attributes);

typedef struct mixer_proxy_stats {
  uint64_t check_cache_hits, check_cache_misses, check_remote_calls, check_remote_errors,
      check_fail_open, check_fail_close, quota_cache_hits, quota_cache_misses, report_enqueued,
      report_batches, report_dropped, dictionary_shrinks;
} mixer_proxy_stats;

void mixer_proxy_client_stats(const mixer_proxy_client* client, mixer_proxy_stats* out);

#ifdef __cplusplus
}
#endif

#endif /* MIXER_PROXY_H_ */
