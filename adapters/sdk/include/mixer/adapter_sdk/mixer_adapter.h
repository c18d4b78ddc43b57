/*
 * mixer_adapter.h: the adapter plugin ABI of the mixer engine.
 *
 * This is the only contract between the `mixs` host and an adapter shared object. It is plain C:
 * no C++ types cross it, and every hook the host calls is expected to return (never throw).
 *
 * Versioning (see docs/adapter-sdk.md):
 *   - MIXER_ADAPTER_ABI_VERSION is MAJOR.MINOR packed as (MAJOR << 16) | MINOR.
 *   - The host rejects an adapter whose MAJOR differs from its own.
 *   - A MINOR bump only appends: new fields at the end of a size-prefixed struct, new value types,
 *     new result codes, new optional hooks. Readers check `struct_size` before touching a field
 *     that was added later, so an adapter built against 1.0 keeps loading into a 1.7 host and the
 *     other way round.
 *   - Anything else (reordering, removing, changing a type or a meaning) is a MAJOR bump.
 *   - adapters/sdk/abi.lock records the hash of this file for the current version; the build
 *     fails when this file changes without a version bump.
 *
 * Ownership: every pointer is annotated with `OWNERSHIP:`. "borrowed" means the callee may read it
 * only for the duration of the call (or callback) it was passed to and must copy what it keeps.
 *
 * Threads: the host may call check/quota/report of one handler from several threads at once, on
 * its request threads, so hooks must return quickly and never block on I/O (the host answers a
 * late completion at the call's deadline, but cannot interrupt a hook that does not return). An
 * adapter starts no threads of its own; background work goes through the host's `post` and
 * `schedule` services.
 */
#ifndef MIXER_ADAPTER_SDK_MIXER_ADAPTER_H_
#define MIXER_ADAPTER_SDK_MIXER_ADAPTER_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MIXER_ADAPTER_ABI_VERSION_MAJOR 1
#define MIXER_ADAPTER_ABI_VERSION_MINOR 3
#define MIXER_ADAPTER_ABI_VERSION \
  ((uint32_t)((MIXER_ADAPTER_ABI_VERSION_MAJOR << 16) | MIXER_ADAPTER_ABI_VERSION_MINOR))
#define MIXER_ADAPTER_ABI_MAJOR_OF(v) ((uint32_t)(v) >> 16)
#define MIXER_ADAPTER_ABI_MINOR_OF(v) ((uint32_t)(v)&0xffffu)

/* The one symbol an adapter exports (every other symbol should have hidden visibility). */
#define MIXER_ADAPTER_ENTRY_SYMBOL "mixer_adapter_entry"

#if defined(__GNUC__) || defined(__clang__)
#define MIXER_ADAPTER_EXPORT __attribute__((visibility("default")))
#else
#define MIXER_ADAPTER_EXPORT
#endif

/* ---- Result codes ---------------------------------------------------------------------------
 * Returned by hooks and passed to completion callbacks. Negative values are failures of the call
 * itself (not a policy verdict: a denial is MIXER_OK with a non-zero status_code).
 */
typedef int32_t mixer_result;
#define MIXER_OK 0
#define MIXER_ERR_INVALID_ARGUMENT (-1) /* bad params or instance */
#define MIXER_ERR_INTERNAL (-2)         /* a bug or unexpected state in the adapter */
#define MIXER_ERR_UNSUPPORTED (-3)      /* the adapter does not serve this call or template */
#define MIXER_ERR_UNAVAILABLE (-4)      /* a backend is unreachable; the caller may retry */
#define MIXER_ERR_DEADLINE (-5)         /* the call's deadline passed */
#define MIXER_ERR_VERSION (-6)          /* incompatible ABI version */
#define MIXER_ERR_RESOURCE_EXHAUSTED (-7)

/* Aspect kinds an adapter serves (bit mask). */
#define MIXER_KIND_CHECK 0x1u
#define MIXER_KIND_QUOTA 0x2u
#define MIXER_KIND_REPORT 0x4u
/* ABI 1.2: attribute generation (Istio's TEMPLATE_VARIETY_ATTRIBUTE_GENERATOR); see `generate`. */
#define MIXER_KIND_GENERATE 0x8u

/* ---- Values: the one typed record shape for instances and params ------------------------------
 * Type codes 0..11 are Istio's ValueType numbers; BYTES, LIST and MAP extend them. A mixer_value is
 * not size-prefixed (it is laid out in arrays); its layout is frozen for a MAJOR version and new
 * kinds of data arrive only as new type codes. Readers must treat an unknown type as absent.
 */
#define MIXER_VALUE_NULL 0u          /* absent / YAML null */
#define MIXER_VALUE_STRING 1u        /* string_value */
#define MIXER_VALUE_INT64 2u         /* int64_value */
#define MIXER_VALUE_DOUBLE 3u        /* double_value */
#define MIXER_VALUE_BOOL 4u          /* bool_value (0 or 1) */
#define MIXER_VALUE_TIMESTAMP 5u     /* int64_value: nanoseconds since the Unix epoch */
#define MIXER_VALUE_IP_ADDRESS 6u    /* string_value: 4 or 16 raw bytes */
#define MIXER_VALUE_EMAIL_ADDRESS 7u /* string_value */
#define MIXER_VALUE_URI 8u           /* string_value */
#define MIXER_VALUE_DNS_NAME 9u      /* string_value */
#define MIXER_VALUE_DURATION 10u     /* int64_value: nanoseconds */
#define MIXER_VALUE_STRING_MAP 11u   /* map_value; every entry value is a STRING */
#define MIXER_VALUE_BYTES 12u        /* string_value: arbitrary bytes */
#define MIXER_VALUE_LIST 13u         /* list_value */
#define MIXER_VALUE_MAP 14u          /* map_value; entry values of any type (records, params) */

/* A byte string; not NUL-terminated. */
typedef struct mixer_string {
  const char* data; /* OWNERSHIP: borrowed; valid as long as the value that contains it */
  size_t size;
} mixer_string;

struct mixer_map_entry;

typedef struct mixer_value {
  uint32_t type; /* MIXER_VALUE_* */
  uint32_t reserved0;
  union {
    int64_t int64_value;
    double double_value;
    int32_t bool_value;
    mixer_string string_value;
    struct {
      const struct mixer_value* items; /* OWNERSHIP: borrowed; `count` elements */
      size_t count;
    } list_value;
    struct {
      const struct mixer_map_entry*
          entries; /* OWNERSHIP: borrowed; `count` elements, keys unique */
      size_t count;
    } map_value;
  } u;
} mixer_value;

typedef struct mixer_map_entry {
  mixer_string key;
  mixer_value value;
} mixer_map_entry;

/* One instance of a template (e.g. `checknothing`, `listentry`, `logentry`, `quota`, `metric`). */
typedef struct mixer_instance {
  uint32_t struct_size;
  uint32_t reserved0;
  mixer_string name;          /* the instance name from config, e.g. "requestcount.metric" */
  mixer_string template_name; /* e.g. "logentry" */
  mixer_value fields;         /* a MIXER_VALUE_MAP of the template's fields */
} mixer_instance;

/* ---- Host services ------------------------------------------------------------------------- */

#define MIXER_LOG_DEBUG 0
#define MIXER_LOG_INFO 1
#define MIXER_LOG_WARNING 2
#define MIXER_LOG_ERROR 3

typedef void (*mixer_task_fn)(void* arg);

/* The host's services for one adapter. Each adapter gets its own table, so logs and counters are
 * attributed to it. Every function is thread-safe and never blocks for long. */
typedef struct mixer_host_api {
  uint32_t struct_size;
  uint32_t abi_version; /* MIXER_ADAPTER_ABI_VERSION of the host */
  void* host_ctx;       /* OWNERSHIP: host; pass back unchanged as the first argument */

  /* Logs one line. OWNERSHIP: `message` borrowed for the call. */
  void (*log)(void* host_ctx, int32_t severity, mixer_string message);

  /* Clocks: wall clock (ns since the Unix epoch) and a monotonic clock (ns, arbitrary origin).
   * Deadlines are expressed on the monotonic clock. */
  int64_t (*now_unix_ns)(void* host_ctx);
  int64_t (*monotonic_ns)(void* host_ctx);

  /* Runs fn(arg) soon on a host background thread. Returns MIXER_OK, or an error (e.g. during
   * shutdown) in which case fn is never called. OWNERSHIP: `arg` stays the adapter's. */
  mixer_result (*post)(void* host_ctx, mixer_task_fn fn, void* arg);

  /* Runs fn(arg) on a host background thread after `delay_ns`. Returns a timer id > 0, or 0 if the
   * timer could not be scheduled (fn is then never called). OWNERSHIP: `arg` stays the adapter's.
   */
  uint64_t (*schedule)(void* host_ctx, int64_t delay_ns, mixer_task_fn fn, void* arg);

  /* Cancels a timer. Returns 1 if it was cancelled before running (fn will not be called), else 0
   * (it already ran, is running, or the id is unknown). */
  int32_t (*cancel)(void* host_ctx, uint64_t timer_id);

  /* Declares a counter the host exposes on /metrics as mixer_adapter_<name>_total with the label
   * adapter="<adapter name>". Returns a counter id > 0, or 0 on a bad name ([a-z_][a-z0-9_]*).
   * Declaring the same name twice returns the same id. OWNERSHIP: strings borrowed for the call. */
  uint64_t (*declare_counter)(void* host_ctx, const char* name, const char* help);

  /* Adds `delta` (>= 0) to a counter; unknown ids are ignored. */
  void (*counter_add)(void* host_ctx, uint64_t counter_id, double delta);
} mixer_host_api;

/* ---- Calls --------------------------------------------------------------------------------- */

/* Per-call context the host passes to check/quota/report. */
typedef struct mixer_call_context {
  uint32_t struct_size;
  uint32_t reserved0;
  int64_t
      deadline_monotonic_ns; /* the host gives up on the call after this (host monotonic clock) */
  /* ABI 1.3: MIXER_CALL_* flags. Readers check struct_size first; absent means 0. */
  uint32_t flags;
  uint32_t reserved1;
} mixer_call_context;

/* ABI 1.3, mixer_call_context.flags: the host calls the adapter's `flush` hook for this handler
 * on the calling thread after the hook returns, before that thread waits for anything (the end of
 * its current pass over the requests it has). The adapter may hold the call's I/O until then (e.g.
 * keep its command to a backend in a buffer) and write the calls of one pass together. Without
 * the flag, the adapter starts the call's I/O before the hook returns, as in ABI 1.2. The host
 * sets it only for an adapter whose descriptor has a `flush` hook. */
#define MIXER_CALL_FLUSHED_LATER 0x1u

/* Status codes in results are google.rpc.Code numbers: 0 OK .. 16 UNAUTHENTICATED. */

typedef struct mixer_check_result {
  uint32_t struct_size;
  int32_t status_code;       /* google.rpc.Code; 0 allows the request */
  const char* message;       /* OWNERSHIP: borrowed for the callback; NUL-terminated; may be NULL */
  int64_t valid_duration_ns; /* >= 0: how long the proxy may cache this verdict */
  int32_t valid_use_count;   /* >= 0: how many uses the proxy may cache this verdict for */
  int32_t reserved0;
} mixer_check_result;

typedef struct mixer_quota_args {
  uint32_t struct_size;
  int32_t best_effort;           /* 1: grant what is available (possibly less); 0: all or nothing */
  int64_t amount;                /* requested amount (> 0) */
  mixer_string deduplication_id; /* OWNERSHIP: borrowed for the call; a retried request repeats
                                    it and must not be charged twice */
} mixer_quota_args;

typedef struct mixer_quota_result {
  uint32_t struct_size;
  int32_t status_code;       /* google.rpc.Code */
  const char* message;       /* OWNERSHIP: borrowed for the callback; NUL-terminated; may be NULL */
  int64_t granted_amount;    /* 0 <= granted <= requested; < requested only with best_effort */
  int64_t valid_duration_ns; /* >= 0 */
  /* ABI 1.1: the limit that applied, for callers that report it (Envoy's rate limit service).
   * Readers check struct_size first; an adapter that does not know them sets -1, -1, 0. */
  int64_t limit;     /* the limit (max_amount) that applied, or -1 when unknown */
  int64_t remaining; /* what is left of it after this request, or -1 when unknown */
  int64_t window_ns; /* the limit's window, or 0 when none or unknown */
} mixer_quota_result;

typedef struct mixer_report_result {
  uint32_t struct_size;
  int32_t status_code; /* google.rpc.Code */
  const char* message; /* OWNERSHIP: borrowed for the callback; NUL-terminated; may be NULL */
} mixer_report_result;

/* Completion callbacks. The adapter calls exactly one of them exactly once for each call its hook
 * accepted (returned MIXER_OK), from any thread, synchronously inside the hook or later. `result`
 * is MIXER_OK with a non-NULL result struct, or an error with a NULL (or ignored) struct.
 * OWNERSHIP: `done_ctx` belongs to the host; `r` is borrowed for the duration of the callback. */
typedef void (*mixer_check_done_fn)(void* done_ctx, mixer_result result,
                                    const mixer_check_result* r);
typedef void (*mixer_quota_done_fn)(void* done_ctx, mixer_result result,
                                    const mixer_quota_result* r);
typedef void (*mixer_report_done_fn)(void* done_ctx, mixer_result result,
                                     const mixer_report_result* r);
/* ABI 1.2. `outputs` is a MIXER_VALUE_MAP from output field names of the template (e.g.
 * "source_workload_name" of `kubernetes`) to their values; an output the adapter cannot fill is
 * left out (or NULL-typed). Unknown names and values of another type than the template's are
 * ignored by the host. OWNERSHIP: `outputs` is borrowed for the duration of the callback. */
typedef void (*mixer_generate_done_fn)(void* done_ctx, mixer_result result,
                                       const mixer_value* outputs);

/* ---- Validation and handler configuration ---------------------------------------------------- */

/* Collects config errors. `path` names the offending param relative to the params root, with dots
 * and [index] (e.g. "status.code", "severity_levels[2]"); "" means the params as a whole. */
typedef struct mixer_error_sink {
  uint32_t struct_size;
  uint32_t reserved0;
  void* ctx; /* OWNERSHIP: host */
  /* OWNERSHIP: `path` and `message` borrowed for the call; NUL-terminated. */
  void (*add_error)(void* ctx, const char* path, const char* message);
} mixer_error_sink;

typedef struct mixer_handler_config {
  uint32_t struct_size;
  uint32_t reserved0;
  const char* handler_name;  /* OWNERSHIP: borrowed for the call; NUL-terminated */
  const mixer_value* params; /* OWNERSHIP: borrowed for the call; a MIXER_VALUE_MAP, validated */
} mixer_handler_config;

/* ---- The adapter descriptor ------------------------------------------------------------------ */

typedef struct mixer_adapter {
  uint32_t struct_size;
  uint32_t abi_version; /* the MIXER_ADAPTER_ABI_VERSION the adapter was built against */

  /* OWNERSHIP: adapter; static for the life of the loaded object; NUL-terminated. */
  const char* name;        /* unique among loaded adapters, e.g. "denier" */
  const char* version;     /* the adapter's own version, e.g. "1.2.0" */
  const char* description; /* one line */

  uint32_t kinds; /* MIXER_KIND_* bit mask */
  uint32_t reserved0;
  /* OWNERSHIP: adapter; static; `template_count` NUL-terminated names of served templates. */
  const char* const* templates;
  size_t template_count;

  /* Reports every error in `params` (a MIXER_VALUE_MAP) to `errors`. Returns MIXER_OK when the
   * params are valid, MIXER_ERR_INVALID_ARGUMENT when at least one error was reported.
   * OWNERSHIP: both borrowed for the call. */
  mixer_result (*validate_params)(const mixer_value* params, const mixer_error_sink* errors);

  /* Creates a handler from params that passed validate_params. OWNERSHIP: `config` borrowed;
   * `*out_handler` is owned by the adapter and released by close_handler. */
  mixer_result (*create_handler)(const mixer_handler_config* config, void** out_handler);

  /* Flushes and frees a handler. The host makes no further calls on it and waits for close to
   * return; after it returns the adapter calls no completion callback of this handler. */
  void (*close_handler)(void* handler);

  /* Hooks per kind; NULL when the kind is not served. Each returns MIXER_OK when it accepted the
   * call (its `done` will be called exactly once), or an error (and `done` is never called).
   * OWNERSHIP: `instance(s)`, `args` and `ctx` are borrowed for the duration of the hook; an
   * adapter that completes later copies what it needs. */
  mixer_result (*check)(void* handler, const mixer_instance* instance,
                        const mixer_call_context* ctx, mixer_check_done_fn done, void* done_ctx);
  mixer_result (*quota)(void* handler, const mixer_instance* instance, const mixer_quota_args* args,
                        const mixer_call_context* ctx, mixer_quota_done_fn done, void* done_ctx);
  /* OWNERSHIP: `instances` is an array of `count` borrowed pointers. */
  mixer_result (*report)(void* handler, const mixer_instance* const* instances, size_t count,
                         const mixer_call_context* ctx, mixer_report_done_fn done, void* done_ctx);

  /* ABI 1.2: attribute generation, served when `kinds` has MIXER_KIND_GENERATE (NULL otherwise).
   * Hosts read it only when `struct_size` covers it, so a 1.0 or 1.1 descriptor (which ends at
   * `report`) keeps loading. Called before the request's check, quota and report rules, with an
   * instance of one of `templates` whose variety is attribute generation: `instance->fields` holds
   * its input fields; the adapter answers the template's output fields through `done`, which the
   * host turns into request attributes with the instance's attribute_bindings. The host waits for
   * the answer up to the call's deadline, so a generator should answer synchronously from memory.
   * OWNERSHIP: `instance` and `ctx` borrowed for the duration of the hook. */
  mixer_result (*generate)(void* handler, const mixer_instance* instance,
                           const mixer_call_context* ctx, mixer_generate_done_fn done,
                           void* done_ctx);

  /* ABI 1.3 (optional; NULL when the adapter never holds I/O): starts the I/O this handler holds
   * for calls made with MIXER_CALL_FLUSHED_LATER. Hosts read it only when `struct_size` covers it.
   * The host calls it on the thread that made such calls, once per pass however many calls the
   * pass made; it may run at the same time as calls and flushes on other threads (an adapter may
   * also send what other threads held), never after close_handler began. It may complete calls
   * (e.g. replies already received), like any hook. */
  void (*flush)(void* handler);
} mixer_adapter;

/* The entry point, exported as MIXER_ADAPTER_ENTRY_SYMBOL. The host calls it once after dlopen.
 * The adapter keeps `host` (OWNERSHIP: host; valid until the process exits) and stores its static
 * descriptor in `*out` (OWNERSHIP: adapter; static). Returns MIXER_OK, or MIXER_ERR_VERSION when
 * the host's ABI major differs, or another error when the adapter cannot start. */
typedef mixer_result (*mixer_adapter_entry_fn)(const mixer_host_api* host,
                                               const mixer_adapter** out);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MIXER_ADAPTER_SDK_MIXER_ADAPTER_H_ */
