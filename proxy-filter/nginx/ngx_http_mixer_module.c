/* ngx_http_mixer_module: Mixer Check and Report for nginx, over the proxy-filter C API.
 *
 * Check runs in the access phase without blocking the event loop: a cache hit is decided inline;
 * a miss parks the request (r->main->count++, NGX_DONE) while a library thread (gRPC's completion
 * queue, or the lean transport's loop) waits for mixs, then posts the result to a queue and wakes
 * the worker through an eventfd registered in nginx's event loop, which resumes the request's
 * phases. Report is an enqueue in the log phase. The client (and its transport) is created per
 * worker, after fork, in init_process.
 *
 * Directives (http level): mixer_server host:port (or IP:port,IP:port,...); mixer_timeout ms;
 *   mixer_max_retries n (a call that failed to reach a replica is sent again, to another one);
 *   mixer_report_batch_max_entries n; mixer_report_batch_max_time ms; mixer_check_cache on|off;
 *   mixer_ssl_trusted_certificate file (TLS to mixs, verified against this CA);
 *   mixer_ssl_certificate file; mixer_ssl_certificate_key file (mTLS: the worker's certificate);
 *   mixer_ssl_name name (the name mixs' certificate must carry, if not mixer_server's host);
 *   mixer_transport grpc|lean (lean: HTTP/2 from libnghttp2 on one thread, for mixs'
 *   --lean-address; grpc, the default, for any gRPC port).
 * (http, server, location): mixer_check on|off; mixer_report on|off; mixer_fail_open on|off;
 *   mixer_attribute NAME VALUE (VALUE may hold variables); mixer_quota NAME AMOUNT.
 */
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <pthread.h>
#include <sys/eventfd.h>

#include "proxy-filter/core/mixer_proxy.h"

typedef struct {
  ngx_str_t server;
  ngx_msec_t timeout;
  ngx_int_t max_retries;
  ngx_int_t batch_max_entries;
  ngx_msec_t batch_max_time;
  ngx_flag_t check_cache;
  ngx_str_t ssl_trusted_certificate;
  ngx_str_t ssl_certificate;
  ngx_str_t ssl_certificate_key;
  ngx_str_t ssl_name;
  ngx_uint_t transport;
} ngx_http_mixer_main_conf_t;

static ngx_conf_enum_t ngx_http_mixer_transports[] = {
    {ngx_string("grpc"), MIXER_PROXY_TRANSPORT_GRPC},
    {ngx_string("lean"), MIXER_PROXY_TRANSPORT_LEAN},
    {ngx_null_string, 0}};

typedef struct {
  ngx_str_t name;
  ngx_http_complex_value_t value;
} ngx_http_mixer_attribute_t;

#define NGX_HTTP_MIXER_MAX_QUOTAS 8

typedef struct {
  ngx_str_t name;
  ngx_int_t amount;
} ngx_http_mixer_quota_t;

typedef struct {
  ngx_flag_t check;
  ngx_flag_t report;
  ngx_flag_t fail_open;
  ngx_array_t* attributes; /* of ngx_http_mixer_attribute_t */
  ngx_array_t* quotas;     /* of ngx_http_mixer_quota_t */
} ngx_http_mixer_loc_conf_t;

/* A Check result copied out of the library's callback: one block, strings inside; from the
 * request's pool on a cache hit (the worker's thread), else malloc'ed (the library's thread). */
typedef struct ngx_http_mixer_header_op_s {
  ngx_str_t name;
  ngx_str_t value;
  int32_t operation;
} ngx_http_mixer_header_op_t;

typedef struct ngx_http_mixer_result_s ngx_http_mixer_result_t;
struct ngx_http_mixer_result_s {
  ngx_http_mixer_result_t* next; /* completion queue link */
  ngx_http_request_t* request;
  int32_t code;
  int32_t http_status;
  ngx_str_t message;
  ngx_http_mixer_header_op_t* request_ops;
  size_t request_op_count;
  ngx_http_mixer_header_op_t* response_ops;
  size_t response_op_count;
  uint32_t direct_code;
  ngx_str_t direct_body;
  unsigned malloced : 1;
};

typedef struct {
  ngx_http_mixer_result_t* result; /* owned; freed by the pool cleanup when malloced */
  /* The Check's attributes, kept for the Report; from the worker's spare sets, given back by the
   * log phase or the pool cleanup. */
  mixer_proxy_attributes* attributes;
  unsigned pending : 1;
  unsigned done : 1;
} ngx_http_mixer_ctx_t;

static ngx_int_t ngx_http_mixer_init(ngx_conf_t* cf);
static void* ngx_http_mixer_create_main_conf(ngx_conf_t* cf);
static void* ngx_http_mixer_create_loc_conf(ngx_conf_t* cf);
static char* ngx_http_mixer_merge_loc_conf(ngx_conf_t* cf, void* parent, void* child);
static char* ngx_http_mixer_attribute(ngx_conf_t* cf, ngx_command_t* cmd, void* conf);
static char* ngx_http_mixer_quota(ngx_conf_t* cf, ngx_command_t* cmd, void* conf);
static ngx_int_t ngx_http_mixer_init_process(ngx_cycle_t* cycle);
static void ngx_http_mixer_exit_process(ngx_cycle_t* cycle);

static ngx_command_t ngx_http_mixer_commands[] = {
    {ngx_string("mixer_server"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_conf_set_str_slot,
     NGX_HTTP_MAIN_CONF_OFFSET, offsetof(ngx_http_mixer_main_conf_t, server), NULL},
    {ngx_string("mixer_timeout"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_conf_set_msec_slot,
     NGX_HTTP_MAIN_CONF_OFFSET, offsetof(ngx_http_mixer_main_conf_t, timeout), NULL},
    {ngx_string("mixer_max_retries"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_conf_set_num_slot,
     NGX_HTTP_MAIN_CONF_OFFSET, offsetof(ngx_http_mixer_main_conf_t, max_retries), NULL},
    {ngx_string("mixer_report_batch_max_entries"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
     ngx_conf_set_num_slot, NGX_HTTP_MAIN_CONF_OFFSET,
     offsetof(ngx_http_mixer_main_conf_t, batch_max_entries), NULL},
    {ngx_string("mixer_report_batch_max_time"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
     ngx_conf_set_msec_slot, NGX_HTTP_MAIN_CONF_OFFSET,
     offsetof(ngx_http_mixer_main_conf_t, batch_max_time), NULL},
    {ngx_string("mixer_check_cache"), NGX_HTTP_MAIN_CONF | NGX_CONF_FLAG, ngx_conf_set_flag_slot,
     NGX_HTTP_MAIN_CONF_OFFSET, offsetof(ngx_http_mixer_main_conf_t, check_cache), NULL},
    {ngx_string("mixer_ssl_trusted_certificate"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
     ngx_conf_set_str_slot, NGX_HTTP_MAIN_CONF_OFFSET,
     offsetof(ngx_http_mixer_main_conf_t, ssl_trusted_certificate), NULL},
    {ngx_string("mixer_ssl_certificate"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
     ngx_conf_set_str_slot, NGX_HTTP_MAIN_CONF_OFFSET,
     offsetof(ngx_http_mixer_main_conf_t, ssl_certificate), NULL},
    {ngx_string("mixer_ssl_certificate_key"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
     ngx_conf_set_str_slot, NGX_HTTP_MAIN_CONF_OFFSET,
     offsetof(ngx_http_mixer_main_conf_t, ssl_certificate_key), NULL},
    {ngx_string("mixer_ssl_name"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_conf_set_str_slot,
     NGX_HTTP_MAIN_CONF_OFFSET, offsetof(ngx_http_mixer_main_conf_t, ssl_name), NULL},
    {ngx_string("mixer_transport"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_conf_set_enum_slot,
     NGX_HTTP_MAIN_CONF_OFFSET, offsetof(ngx_http_mixer_main_conf_t, transport),
     &ngx_http_mixer_transports},
    {ngx_string("mixer_check"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_FLAG,
     ngx_conf_set_flag_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(ngx_http_mixer_loc_conf_t, check),
     NULL},
    {ngx_string("mixer_report"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_FLAG,
     ngx_conf_set_flag_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(ngx_http_mixer_loc_conf_t, report),
     NULL},
    {ngx_string("mixer_fail_open"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_FLAG,
     ngx_conf_set_flag_slot, NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(ngx_http_mixer_loc_conf_t, fail_open), NULL},
    {ngx_string("mixer_attribute"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE2,
     ngx_http_mixer_attribute, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL},
    {ngx_string("mixer_quota"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE2,
     ngx_http_mixer_quota, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL},
    ngx_null_command};

static ngx_http_module_t ngx_http_mixer_module_ctx = {
    NULL,                            /* preconfiguration */
    ngx_http_mixer_init,             /* postconfiguration */
    ngx_http_mixer_create_main_conf, /* create main configuration */
    NULL,                            /* init main configuration */
    NULL,                            /* create server configuration */
    NULL,                            /* merge server configuration */
    ngx_http_mixer_create_loc_conf,  /* create location configuration */
    ngx_http_mixer_merge_loc_conf    /* merge location configuration */
};

ngx_module_t ngx_http_mixer_module = {NGX_MODULE_V1,
                                      &ngx_http_mixer_module_ctx,
                                      ngx_http_mixer_commands,
                                      NGX_HTTP_MODULE,
                                      NULL,
                                      NULL,
                                      ngx_http_mixer_init_process,
                                      NULL,
                                      NULL,
                                      ngx_http_mixer_exit_process,
                                      NULL,
                                      NGX_MODULE_V1_PADDING};

static ngx_http_output_header_filter_pt ngx_http_next_header_filter;

/* Per worker. */
static mixer_proxy_client* ngx_http_mixer_client;
static pthread_t ngx_http_mixer_worker_thread;
static int ngx_http_mixer_eventfd = -1;
static ngx_connection_t* ngx_http_mixer_wakeup;
static pthread_mutex_t ngx_http_mixer_queue_mutex = PTHREAD_MUTEX_INITIALIZER;
static ngx_http_mixer_result_t* ngx_http_mixer_queue;

/* Attribute sets kept for reuse by the worker (mixer_proxy_attributes_clear keeps their
 * storage): a request takes one for its Check and Report and gives it back when done, so
 * building a request's attributes allocates nothing once the worker has seen its shape. As many
 * as requests in progress at once, up to this many; beyond it sets are created and destroyed. */
#define NGX_HTTP_MIXER_SPARE_ATTRIBUTES 256
static mixer_proxy_attributes* ngx_http_mixer_spare[NGX_HTTP_MIXER_SPARE_ATTRIBUTES];
static ngx_uint_t ngx_http_mixer_spare_count;

static mixer_proxy_attributes* ngx_http_mixer_take_attributes(void) {
  if (ngx_http_mixer_spare_count == 0) {
    return mixer_proxy_attributes_create();
  }
  mixer_proxy_attributes* a = ngx_http_mixer_spare[--ngx_http_mixer_spare_count];
  mixer_proxy_attributes_clear(a);
  return a;
}

static void ngx_http_mixer_give_back_attributes(mixer_proxy_attributes* a) {
  if (ngx_http_mixer_spare_count == NGX_HTTP_MIXER_SPARE_ATTRIBUTES) {
    mixer_proxy_attributes_destroy(a);
    return;
  }
  ngx_http_mixer_spare[ngx_http_mixer_spare_count++] = a;
}

static void* ngx_http_mixer_create_main_conf(ngx_conf_t* cf) {
  ngx_http_mixer_main_conf_t* conf = ngx_pcalloc(cf->pool, sizeof(*conf));
  if (conf == NULL) {
    return NULL;
  }
  conf->timeout = NGX_CONF_UNSET_MSEC;
  conf->max_retries = NGX_CONF_UNSET;
  conf->batch_max_entries = NGX_CONF_UNSET;
  conf->batch_max_time = NGX_CONF_UNSET_MSEC;
  conf->check_cache = NGX_CONF_UNSET;
  conf->transport = NGX_CONF_UNSET_UINT;
  return conf;
}

static void* ngx_http_mixer_create_loc_conf(ngx_conf_t* cf) {
  ngx_http_mixer_loc_conf_t* conf = ngx_pcalloc(cf->pool, sizeof(*conf));
  if (conf == NULL) {
    return NULL;
  }
  conf->check = NGX_CONF_UNSET;
  conf->report = NGX_CONF_UNSET;
  conf->fail_open = NGX_CONF_UNSET;
  conf->attributes = NGX_CONF_UNSET_PTR;
  conf->quotas = NGX_CONF_UNSET_PTR;
  return conf;
}

static char* ngx_http_mixer_merge_loc_conf(ngx_conf_t* cf, void* parent, void* child) {
  ngx_http_mixer_loc_conf_t* prev = parent;
  ngx_http_mixer_loc_conf_t* conf = child;
  ngx_conf_merge_value(conf->check, prev->check, 0);
  ngx_conf_merge_value(conf->report, prev->report, 0);
  ngx_conf_merge_value(conf->fail_open, prev->fail_open, 1); /* Istio 1.4's default */
  ngx_conf_merge_ptr_value(conf->attributes, prev->attributes, NULL);
  ngx_conf_merge_ptr_value(conf->quotas, prev->quotas, NULL);
  return NGX_CONF_OK;
}

static char* ngx_http_mixer_attribute(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) {
  ngx_http_mixer_loc_conf_t* lcf = conf;
  ngx_str_t* args = cf->args->elts;
  if (lcf->attributes == NGX_CONF_UNSET_PTR) {
    lcf->attributes = ngx_array_create(cf->pool, 4, sizeof(ngx_http_mixer_attribute_t));
    if (lcf->attributes == NULL) {
      return NGX_CONF_ERROR;
    }
  }
  ngx_http_mixer_attribute_t* a = ngx_array_push(lcf->attributes);
  if (a == NULL) {
    return NGX_CONF_ERROR;
  }
  if (args[1].len == 0) {
    return "needs an attribute name";
  }
  a->name = args[1];
  ngx_http_compile_complex_value_t ccv;
  ngx_memzero(&ccv, sizeof(ccv));
  ccv.cf = cf;
  ccv.value = &args[2];
  ccv.complex_value = &a->value;
  if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
    return NGX_CONF_ERROR;
  }
  return NGX_CONF_OK;
}

static char* ngx_http_mixer_quota(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) {
  ngx_http_mixer_loc_conf_t* lcf = conf;
  ngx_str_t* args = cf->args->elts;
  if (lcf->quotas == NGX_CONF_UNSET_PTR) {
    lcf->quotas = ngx_array_create(cf->pool, 2, sizeof(ngx_http_mixer_quota_t));
    if (lcf->quotas == NULL) {
      return NGX_CONF_ERROR;
    }
  }
  if (lcf->quotas->nelts >= NGX_HTTP_MIXER_MAX_QUOTAS) {
    return "is given more than 8 times in one place";
  }
  ngx_http_mixer_quota_t* q = ngx_array_push(lcf->quotas);
  if (q == NULL) {
    return NGX_CONF_ERROR;
  }
  q->name = args[1];
  q->amount = ngx_atoi(args[2].data, args[2].len);
  if (q->name.len == 0 || q->amount == NGX_ERROR || q->amount <= 0) {
    return "needs a quota name and a positive amount";
  }
  return NGX_CONF_OK;
}

/* ---- attributes of a request ---- */

#define MIXER_SET_STRING(a, name, value)                                                  \
  mixer_proxy_attributes_set_string(a, name, sizeof(name) - 1, (const char*)(value).data, \
                                    (value).len)

/* An IP address attribute (4 or 16 bytes) straight from the socket address, not through its text;
 * nothing for other families (a unix socket). */
static void ngx_http_mixer_set_address(mixer_proxy_attributes* a, const char* name, size_t name_len,
                                       const struct sockaddr* sa) {
  switch (sa->sa_family) {
    case AF_INET:
      mixer_proxy_attributes_set_bytes(a, name, name_len,
                                       &((const struct sockaddr_in*)sa)->sin_addr, 4);
      break;
#if (NGX_HAVE_INET6)
    case AF_INET6:
      mixer_proxy_attributes_set_bytes(a, name, name_len,
                                       &((const struct sockaddr_in6*)sa)->sin6_addr, 16);
      break;
#endif
    default:
      break;
  }
}

static int64_t ngx_http_mixer_start_ns(ngx_http_request_t* r) {
  return (int64_t)r->start_sec * 1000000000 + (int64_t)r->start_msec * 1000000;
}

static ngx_int_t ngx_http_mixer_request_attributes(ngx_http_request_t* r,
                                                   ngx_http_mixer_loc_conf_t* lcf,
                                                   mixer_proxy_attributes* a) {
  MIXER_SET_STRING(a, "request.method", r->method_name);
  MIXER_SET_STRING(a, "request.path", r->unparsed_uri);
  MIXER_SET_STRING(a, "request.url_path", r->uri);
  if (r->headers_in.server.len > 0) {
    MIXER_SET_STRING(a, "request.host", r->headers_in.server);
  }
#if (NGX_HTTP_SSL)
  if (r->connection->ssl) {
    mixer_proxy_attributes_set_string(a, "request.scheme", 14, "https", 5);
  } else
#endif
  {
    mixer_proxy_attributes_set_string(a, "request.scheme", 14, "http", 4);
  }
  if (r->headers_in.user_agent != NULL) {
    MIXER_SET_STRING(a, "request.useragent", r->headers_in.user_agent->value);
  }
  ngx_list_part_t* part = &r->headers_in.headers.part;
  ngx_table_elt_t* h = part->elts;
  for (ngx_uint_t i = 0;; i++) {
    if (i >= part->nelts) {
      if (part->next == NULL) {
        break;
      }
      part = part->next;
      h = part->elts;
      i = 0;
      if (part->nelts == 0) {
        continue;
      }
    }
    if (h[i].hash == 0) {
      continue;
    }
    const char* key = (const char*)(h[i].lowcase_key != NULL ? h[i].lowcase_key : h[i].key.data);
    mixer_proxy_attributes_set_map_entry(a, "request.headers", 15, key, h[i].key.len,
                                         (const char*)h[i].value.data, h[i].value.len);
    if (h[i].key.len == 12 && ngx_strncasecmp(h[i].key.data, (u_char*)"x-request-id", 12) == 0) {
      MIXER_SET_STRING(a, "request.id", h[i].value);
    }
  }
  if (r->headers_in.content_length_n >= 0) {
    mixer_proxy_attributes_set_int64(a, "request.size", 12, r->headers_in.content_length_n);
  }
  mixer_proxy_attributes_set_timestamp_ns(a, "request.time", 12, ngx_http_mixer_start_ns(r));
  mixer_proxy_attributes_set_string(a, "context.protocol", 16, "http", 4);

  ngx_connection_t* c = r->connection;
  ngx_http_mixer_set_address(a, "source.ip", 9, c->sockaddr);
  in_port_t port = ngx_inet_get_port(c->sockaddr);
  if (port > 0) {
    mixer_proxy_attributes_set_int64(a, "source.port", 11, port);
  }
  if (ngx_connection_local_sockaddr(c, NULL, 0) == NGX_OK) {
    ngx_http_mixer_set_address(a, "destination.ip", 14, c->local_sockaddr);
    mixer_proxy_attributes_set_int64(a, "destination.port", 16,
                                     ngx_inet_get_port(c->local_sockaddr));
  }
  if (lcf->attributes != NULL) {
    ngx_http_mixer_attribute_t* attrs = lcf->attributes->elts;
    for (ngx_uint_t i = 0; i < lcf->attributes->nelts; i++) {
      ngx_str_t value;
      if (ngx_http_complex_value(r, &attrs[i].value, &value) != NGX_OK) {
        return NGX_ERROR;
      }
      mixer_proxy_attributes_set_string(a, (const char*)attrs[i].name.data, attrs[i].name.len,
                                        (const char*)value.data, value.len);
    }
  }
  return NGX_OK;
}

/* ---- results ---- */

static size_t ngx_http_mixer_ops_size(const mixer_proxy_header_operation* ops, size_t n) {
  size_t size = n * sizeof(ngx_http_mixer_header_op_t);
  for (size_t i = 0; i < n; i++) {
    size += ops[i].name.len + ops[i].value.len;
  }
  return size;
}

static u_char* ngx_http_mixer_copy_ops(ngx_http_mixer_header_op_t* out,
                                       const mixer_proxy_header_operation* ops, size_t n,
                                       u_char* strings) {
  for (size_t i = 0; i < n; i++) {
    out[i].name.data = strings;
    out[i].name.len = ops[i].name.len;
    strings = ngx_cpymem(strings, ops[i].name.data, ops[i].name.len);
    out[i].value.data = strings;
    out[i].value.len = ops[i].value.len;
    strings = ngx_cpymem(strings, ops[i].value.data, ops[i].value.len);
    out[i].operation = ops[i].operation;
  }
  return strings;
}

/* Runs on the worker thread (a cache hit) or on the library's thread (a remote answer). */
static void ngx_http_mixer_check_done(void* context, const mixer_proxy_check_result* c) {
  ngx_http_request_t* r = context;
  size_t size =
      sizeof(ngx_http_mixer_result_t) + c->message.len + c->direct_response_body.len +
      ngx_http_mixer_ops_size(c->request_header_operations, c->request_header_operation_count) +
      ngx_http_mixer_ops_size(c->response_header_operations, c->response_header_operation_count);
  const int inline_call = pthread_equal(pthread_self(), ngx_http_mixer_worker_thread);
  ngx_http_mixer_result_t* res = inline_call ? ngx_pcalloc(r->pool, size) : calloc(1, size);
  if (res == NULL) {
    return; /* inline: the access handler answers 500; else the request stays parked */
  }
  res->malloced = !inline_call;
  res->request = r;
  res->code = c->code;
  res->http_status = c->http_status;
  res->direct_code = c->direct_response_code;
  res->request_ops = (ngx_http_mixer_header_op_t*)(res + 1);
  res->request_op_count = c->request_header_operation_count;
  res->response_ops = res->request_ops + res->request_op_count;
  res->response_op_count = c->response_header_operation_count;
  u_char* strings = (u_char*)(res->response_ops + res->response_op_count);
  strings = ngx_http_mixer_copy_ops(res->request_ops, c->request_header_operations,
                                    res->request_op_count, strings);
  strings = ngx_http_mixer_copy_ops(res->response_ops, c->response_header_operations,
                                    res->response_op_count, strings);
  res->message.data = strings;
  res->message.len = c->message.len;
  strings = ngx_cpymem(strings, c->message.data, c->message.len);
  res->direct_body.data = strings;
  res->direct_body.len = c->direct_response_body.len;
  ngx_memcpy(strings, c->direct_response_body.data, c->direct_response_body.len);

  if (inline_call) {
    ngx_http_mixer_ctx_t* ctx = ngx_http_get_module_ctx(r, ngx_http_mixer_module);
    ctx->result = res;
    ctx->done = 1;
    return;
  }
  pthread_mutex_lock(&ngx_http_mixer_queue_mutex);
  res->next = ngx_http_mixer_queue;
  ngx_http_mixer_queue = res;
  pthread_mutex_unlock(&ngx_http_mixer_queue_mutex);
  uint64_t one = 1;
  ssize_t written = write(ngx_http_mixer_eventfd, &one, sizeof(one));
  (void)written; /* a full counter still wakes the worker */
}

static void ngx_http_mixer_cleanup(void* data) {
  ngx_http_mixer_ctx_t* ctx = data;
  if (ctx->result != NULL && ctx->result->malloced) {
    free(ctx->result);
  }
  ctx->result = NULL;
  if (ctx->attributes != NULL) {
    ngx_http_mixer_give_back_attributes(ctx->attributes);
    ctx->attributes = NULL;
  }
}

/* The worker's wakeup: resumes every request whose Check has completed. */
static void ngx_http_mixer_wakeup_handler(ngx_event_t* ev) {
  uint64_t count;
  while (read(ngx_http_mixer_eventfd, &count, sizeof(count)) > 0) {
  }
  pthread_mutex_lock(&ngx_http_mixer_queue_mutex);
  ngx_http_mixer_result_t* list = ngx_http_mixer_queue;
  ngx_http_mixer_queue = NULL;
  pthread_mutex_unlock(&ngx_http_mixer_queue_mutex);
  while (list != NULL) {
    ngx_http_mixer_result_t* res = list;
    list = list->next;
    ngx_http_request_t* r = res->request;
    ngx_http_mixer_ctx_t* ctx = ngx_http_get_module_ctx(r, ngx_http_mixer_module);
    ctx->result = res;
    ctx->done = 1;
    ctx->pending = 0;
    ngx_connection_t* c = r->connection;
    r->main->count--; /* the reference taken when the request was parked */
    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
  }
  if (ngx_handle_read_event(ev, 0) != NGX_OK) {
    ngx_log_error(NGX_LOG_ALERT, ev->log, 0, "mixer: cannot re-arm the wakeup event");
  }
}

/* Applies route-directive header operations to a header list (the request's or the response's):
 * REPLACE sets the first header of that name (or adds one), APPEND adds one, REMOVE clears every
 * one. NGX_ERROR when memory ran out. */
static ngx_int_t ngx_http_mixer_apply_header_ops(ngx_http_request_t* r, ngx_list_t* headers,
                                                 const ngx_http_mixer_header_op_t* ops,
                                                 size_t count) {
  for (size_t k = 0; k < count; k++) {
    const ngx_http_mixer_header_op_t* op = &ops[k];
    ngx_table_elt_t* found = NULL;
    ngx_list_part_t* part = &headers->part;
    ngx_table_elt_t* h = part->elts;
    for (ngx_uint_t i = 0;; i++) {
      if (i >= part->nelts) {
        if (part->next == NULL) {
          break;
        }
        part = part->next;
        h = part->elts;
        i = 0;
        if (part->nelts == 0) {
          continue;
        }
      }
      if (h[i].hash != 0 && h[i].key.len == op->name.len &&
          ngx_strncasecmp(h[i].key.data, op->name.data, op->name.len) == 0) {
        if (op->operation == MIXER_PROXY_HEADER_REMOVE) {
          h[i].hash = 0;
          h[i].value.len = 0;
        } else if (found == NULL) {
          found = &h[i];
        }
      }
    }
    if (op->operation == MIXER_PROXY_HEADER_REMOVE) {
      continue;
    }
    if (found == NULL || op->operation == MIXER_PROXY_HEADER_APPEND) {
      found = ngx_list_push(headers);
      if (found == NULL) {
        return NGX_ERROR;
      }
      found->hash = 1;
      found->key = op->name;
      found->lowcase_key = ngx_pnalloc(r->pool, op->name.len);
      if (found->lowcase_key == NULL) {
        return NGX_ERROR;
      }
      ngx_strlow(found->lowcase_key, op->name.data, op->name.len);
    }
    found->value = op->value;
  }
  return NGX_OK;
}

static ngx_int_t ngx_http_mixer_direct_response(ngx_http_request_t* r,
                                                const ngx_http_mixer_result_t* res) {
  ngx_http_discard_request_body(r);
  r->headers_out.status = res->direct_code;
  r->headers_out.content_length_n = res->direct_body.len;
  if (res->direct_body.len == 0) {
    r->header_only = 1;
  }
  ngx_int_t rc = ngx_http_send_header(r);
  if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
    return rc;
  }
  ngx_buf_t* b = ngx_calloc_buf(r->pool);
  if (b == NULL) {
    return NGX_ERROR;
  }
  b->pos = res->direct_body.data;
  b->last = res->direct_body.data + res->direct_body.len;
  b->memory = 1;
  b->last_buf = 1;
  ngx_chain_t out = {b, NULL};
  return ngx_http_output_filter(r, &out);
}

/* Applies a completed Check: NGX_DECLINED lets the request go on. */
static ngx_int_t ngx_http_mixer_decide(ngx_http_request_t* r, ngx_http_mixer_loc_conf_t* lcf,
                                       const ngx_http_mixer_result_t* res) {
  if (res->code == 0) {
    if (ngx_http_mixer_apply_header_ops(r, &r->headers_in.headers, res->request_ops,
                                        res->request_op_count) != NGX_OK) {
      return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (res->direct_code != 0) {
      ngx_http_finalize_request(r, ngx_http_mixer_direct_response(r, res));
      return NGX_DONE;
    }
    return NGX_DECLINED;
  }
  /* The library runs fail-close and reports transport failures as UNAVAILABLE; like Istio's
   * client, the fail policy also covers an INTERNAL answer. The location's policy decides. */
  if ((res->code == 14 || res->code == 13) && lcf->fail_open) {
    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "mixer: check failed, allowed by mixer_fail_open: %V", &res->message);
    return NGX_DECLINED;
  }
  ngx_log_error(NGX_LOG_INFO, r->connection->log, 0, "mixer: denied (%d): %V", res->code,
                &res->message);
  return res->http_status;
}

static ngx_int_t ngx_http_mixer_access_handler(ngx_http_request_t* r) {
  ngx_http_mixer_loc_conf_t* lcf = ngx_http_get_module_loc_conf(r, ngx_http_mixer_module);
  if (!lcf->check || ngx_http_mixer_client == NULL || r != r->main) {
    return NGX_DECLINED;
  }
  ngx_http_mixer_ctx_t* ctx = ngx_http_get_module_ctx(r, ngx_http_mixer_module);
  if (ctx != NULL) {
    if (ctx->pending) {
      return NGX_DONE;
    }
    if (ctx->done) {
      return ngx_http_mixer_decide(r, lcf, ctx->result);
    }
  }
  ctx = ngx_pcalloc(r->pool, sizeof(*ctx));
  ngx_pool_cleanup_t* cln = ngx_pool_cleanup_add(r->pool, 0);
  if (ctx == NULL || cln == NULL) {
    return NGX_HTTP_INTERNAL_SERVER_ERROR;
  }
  cln->handler = ngx_http_mixer_cleanup;
  cln->data = ctx;
  ngx_http_set_ctx(r, ctx, ngx_http_mixer_module);

  mixer_proxy_attributes* a = ngx_http_mixer_take_attributes();
  if (a == NULL) {
    return NGX_HTTP_INTERNAL_SERVER_ERROR;
  }
  ctx->attributes = a; /* given back by the log phase or the pool cleanup */
  if (ngx_http_mixer_request_attributes(r, lcf, a) != NGX_OK) {
    return NGX_HTTP_INTERNAL_SERVER_ERROR;
  }
  mixer_proxy_quota quotas[NGX_HTTP_MIXER_MAX_QUOTAS];
  size_t quota_count = 0;
  if (lcf->quotas != NULL) {
    ngx_http_mixer_quota_t* q = lcf->quotas->elts;
    for (ngx_uint_t i = 0; i < lcf->quotas->nelts && quota_count < NGX_HTTP_MIXER_MAX_QUOTAS; i++) {
      quotas[quota_count].name = (const char*)q[i].name.data;
      quotas[quota_count].name_len = q[i].name.len;
      quotas[quota_count].amount = q[i].amount;
      quota_count++;
    }
  }
  ctx->pending = 1;
  int decided = mixer_proxy_check(ngx_http_mixer_client, a, quotas, quota_count,
                                  ngx_http_mixer_check_done, r);
  /* The library copied what it needs: the attributes stay with the request for its Report. */
  if (decided) {
    ctx->pending = 0;
    if (ctx->result == NULL) {
      return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    return ngx_http_mixer_decide(r, lcf, ctx->result);
  }
  /* Parked until the wakeup handler resumes the phases. */
  r->main->count++;
  return NGX_DONE;
}

static ngx_int_t ngx_http_mixer_header_filter(ngx_http_request_t* r) {
  ngx_http_mixer_ctx_t* ctx = ngx_http_get_module_ctx(r, ngx_http_mixer_module);
  if (ctx == NULL || ctx->result == NULL || ctx->result->code != 0) {
    return ngx_http_next_header_filter(r);
  }
  if (ngx_http_mixer_apply_header_ops(r, &r->headers_out.headers, ctx->result->response_ops,
                                      ctx->result->response_op_count) != NGX_OK) {
    return NGX_ERROR;
  }
  return ngx_http_next_header_filter(r);
}

static ngx_int_t ngx_http_mixer_log_handler(ngx_http_request_t* r) {
  ngx_http_mixer_loc_conf_t* lcf = ngx_http_get_module_loc_conf(r, ngx_http_mixer_module);
  if (!lcf->report || ngx_http_mixer_client == NULL || r != r->main) {
    return NGX_OK;
  }
  /* The Check's attributes when there was one (built once per request), else new ones. */
  ngx_http_mixer_ctx_t* ctx = ngx_http_get_module_ctx(r, ngx_http_mixer_module);
  mixer_proxy_attributes* a = NULL;
  if (ctx != NULL && ctx->attributes != NULL) {
    a = ctx->attributes;
    ctx->attributes = NULL;
  } else {
    a = ngx_http_mixer_take_attributes();
    if (a == NULL) {
      return NGX_OK;
    }
    if (ngx_http_mixer_request_attributes(r, lcf, a) != NGX_OK) {
      ngx_http_mixer_give_back_attributes(a);
      return NGX_OK;
    }
  }
  mixer_proxy_attributes_set_int64(a, "response.code", 13, (int64_t)r->headers_out.status);
  mixer_proxy_attributes_set_int64(a, "response.total_size", 19, (int64_t)r->connection->sent);
  if (r->headers_out.content_length_n >= 0) {
    mixer_proxy_attributes_set_int64(a, "response.size", 13, r->headers_out.content_length_n);
  }
  ngx_time_t* now = ngx_timeofday();
  const int64_t now_ns = (int64_t)now->sec * 1000000000 + (int64_t)now->msec * 1000000;
  mixer_proxy_attributes_set_duration_ns(a, "response.duration", 17,
                                         now_ns - ngx_http_mixer_start_ns(r));
  mixer_proxy_attributes_set_timestamp_ns(a, "response.time", 13, now_ns);
  /* An enqueue only; `a` comes back holding the storage of the record queued before it. */
  mixer_proxy_report_swap(ngx_http_mixer_client, a);
  ngx_http_mixer_give_back_attributes(a);
  return NGX_OK;
}

static ngx_int_t ngx_http_mixer_init(ngx_conf_t* cf) {
  ngx_http_core_main_conf_t* cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
  ngx_http_handler_pt* h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
  if (h == NULL) {
    return NGX_ERROR;
  }
  *h = ngx_http_mixer_access_handler;
  h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
  if (h == NULL) {
    return NGX_ERROR;
  }
  *h = ngx_http_mixer_log_handler;
  ngx_http_next_header_filter = ngx_http_top_header_filter;
  ngx_http_top_header_filter = ngx_http_mixer_header_filter;
  return NGX_OK;
}

/* `s` NUL-terminated in `pool`, or NULL when unset or out of memory. */
static const char* ngx_http_mixer_cstr(ngx_pool_t* pool, const ngx_str_t* s) {
  if (s->len == 0) {
    return NULL;
  }
  u_char* out = ngx_pnalloc(pool, s->len + 1);
  if (out == NULL) {
    return NULL;
  }
  ngx_memcpy(out, s->data, s->len);
  out[s->len] = '\0';
  return (const char*)out;
}

static ngx_int_t ngx_http_mixer_init_process(ngx_cycle_t* cycle) {
  ngx_http_mixer_main_conf_t* mcf =
      ngx_http_cycle_get_module_main_conf(cycle, ngx_http_mixer_module);
  if (mcf == NULL || mcf->server.len == 0) {
    return NGX_OK;
  }
  char address[1024]; /* one host:port, or a list of IP:port replicas */
  if (mcf->server.len >= sizeof(address)) {
    ngx_log_error(NGX_LOG_EMERG, cycle->log, 0, "mixer_server \"%V\" is too long", &mcf->server);
    return NGX_ERROR;
  }
  ngx_memcpy(address, mcf->server.data, mcf->server.len);
  address[mcf->server.len] = '\0';

  mixer_proxy_options options;
  mixer_proxy_options_init(&options);
  options.server_address = address;
  options.fail_open = 0; /* decided per location by mixer_fail_open */
  if (mcf->timeout != NGX_CONF_UNSET_MSEC) {
    options.timeout_ms = (int64_t)mcf->timeout;
  }
  if (mcf->max_retries != NGX_CONF_UNSET) {
    if (mcf->max_retries < 0 || mcf->max_retries > 10) {
      ngx_log_error(NGX_LOG_EMERG, cycle->log, 0, "mixer_max_retries must be between 0 and 10");
      return NGX_ERROR;
    }
    options.max_retries = (int32_t)mcf->max_retries;
  }
  if (mcf->batch_max_entries != NGX_CONF_UNSET) {
    options.report_batch_max_entries = mcf->batch_max_entries;
  }
  if (mcf->batch_max_time != NGX_CONF_UNSET_MSEC) {
    options.report_batch_max_time_ms = (int64_t)mcf->batch_max_time;
  }
  if (mcf->check_cache == 0) {
    options.disable_check_cache = 1;
  }
  options.tls_ca = ngx_http_mixer_cstr(cycle->pool, &mcf->ssl_trusted_certificate);
  options.tls_cert = ngx_http_mixer_cstr(cycle->pool, &mcf->ssl_certificate);
  options.tls_key = ngx_http_mixer_cstr(cycle->pool, &mcf->ssl_certificate_key);
  options.tls_server_name = ngx_http_mixer_cstr(cycle->pool, &mcf->ssl_name);
  if (mcf->transport != NGX_CONF_UNSET_UINT) {
    options.transport = (int32_t)mcf->transport;
  }

  ngx_http_mixer_worker_thread = pthread_self();
  ngx_http_mixer_eventfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (ngx_http_mixer_eventfd == -1) {
    ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno, "mixer: eventfd() failed");
    return NGX_ERROR;
  }
  ngx_http_mixer_wakeup = ngx_get_connection(ngx_http_mixer_eventfd, cycle->log);
  if (ngx_http_mixer_wakeup == NULL) {
    return NGX_ERROR;
  }
  ngx_http_mixer_wakeup->read->handler = ngx_http_mixer_wakeup_handler;
  ngx_http_mixer_wakeup->read->log = cycle->log;
  ngx_http_mixer_wakeup->log = cycle->log;
  if (ngx_handle_read_event(ngx_http_mixer_wakeup->read, 0) != NGX_OK) {
    return NGX_ERROR;
  }
  const char* error = NULL;
  ngx_http_mixer_client = mixer_proxy_client_create(&options, &error);
  if (ngx_http_mixer_client == NULL) {
    ngx_log_error(NGX_LOG_EMERG, cycle->log, 0, "mixer: %s", error);
    return NGX_ERROR;
  }
  return NGX_OK;
}

static void ngx_http_mixer_exit_process(ngx_cycle_t* cycle) {
  if (ngx_http_mixer_client != NULL) {
    mixer_proxy_stats st;
    mixer_proxy_client_stats(ngx_http_mixer_client, &st);
    ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                  "mixer: check cache hits %uL, misses %uL, remote %uL (errors %uL), fail open "
                  "%uL, fail close %uL; quota hits %uL, misses %uL; reports %uL in %uL batches, "
                  "dropped %uL",
                  st.check_cache_hits, st.check_cache_misses, st.check_remote_calls,
                  st.check_remote_errors, st.check_fail_open, st.check_fail_close,
                  st.quota_cache_hits, st.quota_cache_misses, st.report_enqueued, st.report_batches,
                  st.report_dropped);
    mixer_proxy_client_destroy(ngx_http_mixer_client); /* flushes queued reports */
    ngx_http_mixer_client = NULL;
  }
  while (ngx_http_mixer_spare_count > 0) {
    mixer_proxy_attributes_destroy(ngx_http_mixer_spare[--ngx_http_mixer_spare_count]);
  }
}
