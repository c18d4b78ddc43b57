/* The ABI stability fixture: a plain C adapter that is never edited. It is built twice, against the
 * frozen 1.0 header and against the current header, and both builds must keep loading and working
 * in the current host as the header grows (append-only). Handler params: {deny_user: <string>}.
 * check: PERMISSION_DENIED "denied <user>" for instance field user == deny_user, else OK;
 * valid 2 s / 4 uses. report: OK. */
#include <stdlib.h>
#include <string.h>

#include "mixer/adapter_sdk/mixer_adapter.h"

typedef struct handler {
  char deny_user[64];
} handler;

static const mixer_value* find(const mixer_value* map, const char* key) {
  size_t i;
  if (map == NULL || map->type != MIXER_VALUE_MAP) return NULL;
  for (i = 0; i < map->u.map_value.count; ++i) {
    const mixer_map_entry* e = &map->u.map_value.entries[i];
    if (e->key.size == strlen(key) && memcmp(e->key.data, key, e->key.size) == 0) return &e->value;
  }
  return NULL;
}

static mixer_result validate_params(const mixer_value* params, const mixer_error_sink* errors) {
  const mixer_value* user = find(params, "deny_user");
  if (user == NULL || user->type != MIXER_VALUE_STRING || user->u.string_value.size >= 64) {
    errors->add_error(errors->ctx, "deny_user", "required: a string shorter than 64 bytes");
    return MIXER_ERR_INVALID_ARGUMENT;
  }
  return MIXER_OK;
}

static mixer_result create_handler(const mixer_handler_config* config, void** out) {
  const mixer_value* user = find(config->params, "deny_user");
  handler* h = (handler*)calloc(1, sizeof(handler));
  if (h == NULL) return MIXER_ERR_RESOURCE_EXHAUSTED;
  memcpy(h->deny_user, user->u.string_value.data, user->u.string_value.size);
  *out = h;
  return MIXER_OK;
}

static void close_handler(void* h) { free(h); }

static mixer_result check(void* raw, const mixer_instance* instance, const mixer_call_context* ctx,
                          mixer_check_done_fn done, void* done_ctx) {
  const handler* h = (const handler*)raw;
  const mixer_value* user = find(&instance->fields, "user");
  mixer_check_result r;
  char message[96] = {0};
  memset(&r, 0, sizeof(r));
  r.struct_size = sizeof(r);
  r.valid_duration_ns = 2000000000LL;
  r.valid_use_count = 4;
  if (user != NULL && user->type == MIXER_VALUE_STRING &&
      user->u.string_value.size == strlen(h->deny_user) &&
      memcmp(user->u.string_value.data, h->deny_user, user->u.string_value.size) == 0) {
    r.status_code = 7;
    strcpy(message, "denied ");
    strcat(message, h->deny_user);
    r.message = message;
  }
  done(done_ctx, MIXER_OK, &r);
  return MIXER_OK;
}

static mixer_result report(void* raw, const mixer_instance* const* instances, size_t count,
                           const mixer_call_context* ctx, mixer_report_done_fn done,
                           void* done_ctx) {
  mixer_report_result r;
  memset(&r, 0, sizeof(r));
  r.struct_size = sizeof(r);
  done(done_ctx, MIXER_OK, &r);
  return MIXER_OK;
}

static const char* const kTemplates[] = {"checknothing", "reportnothing"};

static const mixer_adapter kAdapter = {
    sizeof(mixer_adapter),
    MIXER_ADAPTER_ABI_VERSION,
    FIXTURE_NAME,
    "1.0.0",
    "ABI stability fixture",
    MIXER_KIND_CHECK | MIXER_KIND_REPORT,
    0,
    kTemplates,
    2,
    validate_params,
    create_handler,
    close_handler,
    check,
    NULL,
    report,
};

MIXER_ADAPTER_EXPORT mixer_result mixer_adapter_entry(const mixer_host_api* host,
                                                      const mixer_adapter** out) {
  if (MIXER_ADAPTER_ABI_MAJOR_OF(host->abi_version) != MIXER_ADAPTER_ABI_VERSION_MAJOR) {
    return MIXER_ERR_VERSION;
  }
  *out = &kAdapter;
  return MIXER_OK;
}
