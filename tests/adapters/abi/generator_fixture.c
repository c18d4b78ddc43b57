/* An attribute generator written in plain C against the ABI 1.2 header: the `generate` hook.
 * Handler params: {labels: {<key>: <value>, ...}, fail: <bool>}.
 * It serves the `kubernetes` template. From the instance's source_uid "kubernetes://NAME.NS" it
 * answers source_pod_name NAME, source_namespace NS and source_labels (the handler's labels);
 * it echoes source_ip as source_pod_ip, and answers source_host_ip with a value of the wrong type
 * (an INT64), which the host must drop. With fail: true every call fails (MIXER_ERR_UNAVAILABLE).
 */
#include <stdlib.h>
#include <string.h>

#include "mixer/adapter_sdk/mixer_adapter.h"

#define MAX_LABELS 8
#define MAX_TEXT 64

typedef struct handler {
  int fail;
  size_t label_count;
  char keys[MAX_LABELS][MAX_TEXT];
  char values[MAX_LABELS][MAX_TEXT];
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

static int is_text(const mixer_value* v, size_t max) {
  return v != NULL && v->type == MIXER_VALUE_STRING && v->u.string_value.size < max;
}

static mixer_result validate_params(const mixer_value* params, const mixer_error_sink* errors) {
  const mixer_value* labels = find(params, "labels");
  const mixer_value* fail = find(params, "fail");
  size_t i;
  int ok = 1;
  if (labels != NULL && labels->type != MIXER_VALUE_NULL) {
    if (labels->type != MIXER_VALUE_MAP || labels->u.map_value.count > MAX_LABELS) {
      errors->add_error(errors->ctx, "labels", "a map of at most 8 strings");
      ok = 0;
    } else {
      for (i = 0; i < labels->u.map_value.count; ++i) {
        const mixer_map_entry* e = &labels->u.map_value.entries[i];
        if (e->key.size >= MAX_TEXT || !is_text(&e->value, MAX_TEXT)) {
          errors->add_error(errors->ctx, "labels", "keys and values: strings of under 64 bytes");
          ok = 0;
          break;
        }
      }
    }
  }
  if (fail != NULL && fail->type != MIXER_VALUE_NULL && fail->type != MIXER_VALUE_BOOL) {
    errors->add_error(errors->ctx, "fail", "a bool");
    ok = 0;
  }
  return ok ? MIXER_OK : MIXER_ERR_INVALID_ARGUMENT;
}

static mixer_result create_handler(const mixer_handler_config* config, void** out) {
  const mixer_value* labels = find(config->params, "labels");
  const mixer_value* fail = find(config->params, "fail");
  handler* h = (handler*)calloc(1, sizeof(handler));
  size_t i;
  if (h == NULL) return MIXER_ERR_RESOURCE_EXHAUSTED;
  h->fail = fail != NULL && fail->type == MIXER_VALUE_BOOL && fail->u.bool_value != 0;
  if (labels != NULL && labels->type == MIXER_VALUE_MAP) {
    for (i = 0; i < labels->u.map_value.count; ++i) {
      const mixer_map_entry* e = &labels->u.map_value.entries[i];
      memcpy(h->keys[i], e->key.data, e->key.size);
      memcpy(h->values[i], e->value.u.string_value.data, e->value.u.string_value.size);
    }
    h->label_count = labels->u.map_value.count;
  }
  *out = h;
  return MIXER_OK;
}

static void close_handler(void* h) { free(h); }

static mixer_string text(const char* s, size_t n) {
  mixer_string m;
  m.data = s;
  m.size = n;
  return m;
}

static mixer_result generate(void* raw, const mixer_instance* instance,
                             const mixer_call_context* ctx, mixer_generate_done_fn done,
                             void* done_ctx) {
  const handler* h = (const handler*)raw;
  const mixer_value* uid = find(&instance->fields, "source_uid");
  const mixer_value* ip = find(&instance->fields, "source_ip");
  mixer_map_entry labels[MAX_LABELS];
  mixer_map_entry out[5];
  mixer_value result;
  size_t n = 0, i;
  static const char kPrefix[] = "kubernetes://";
  (void)ctx;
  if (h->fail) return MIXER_ERR_UNAVAILABLE;
  if (uid != NULL && uid->type == MIXER_VALUE_STRING &&
      uid->u.string_value.size > sizeof(kPrefix) - 1 &&
      memcmp(uid->u.string_value.data, kPrefix, sizeof(kPrefix) - 1) == 0) {
    const char* name = uid->u.string_value.data + sizeof(kPrefix) - 1;
    const size_t rest = uid->u.string_value.size - (sizeof(kPrefix) - 1);
    const char* dot = (const char*)memchr(name, '.', rest);
    if (dot != NULL) {
      out[n].key = text("source_pod_name", strlen("source_pod_name"));
      out[n].value.type = MIXER_VALUE_STRING;
      out[n].value.u.string_value = text(name, (size_t)(dot - name));
      ++n;
      out[n].key = text("source_namespace", strlen("source_namespace"));
      out[n].value.type = MIXER_VALUE_STRING;
      out[n].value.u.string_value = text(dot + 1, rest - (size_t)(dot - name) - 1);
      ++n;
    }
  }
  for (i = 0; i < h->label_count; ++i) {
    labels[i].key = text(h->keys[i], strlen(h->keys[i]));
    labels[i].value.type = MIXER_VALUE_STRING;
    labels[i].value.u.string_value = text(h->values[i], strlen(h->values[i]));
  }
  out[n].key = text("source_labels", strlen("source_labels"));
  out[n].value.type = MIXER_VALUE_STRING_MAP;
  out[n].value.u.map_value.entries = labels;
  out[n].value.u.map_value.count = h->label_count;
  ++n;
  if (ip != NULL && ip->type == MIXER_VALUE_IP_ADDRESS) {
    out[n].key = text("source_pod_ip", strlen("source_pod_ip"));
    out[n].value = *ip;
    ++n;
  }
  out[n].key = text("source_host_ip", strlen("source_host_ip"));
  out[n].value.type = MIXER_VALUE_INT64;
  out[n].value.u.int64_value = 42;
  ++n;
  result.type = MIXER_VALUE_MAP;
  result.u.map_value.entries = out;
  result.u.map_value.count = n;
  done(done_ctx, MIXER_OK, &result);
  return MIXER_OK;
}

static const char* const kTemplates[] = {"kubernetes"};

static mixer_adapter descriptor;

MIXER_ADAPTER_EXPORT mixer_result mixer_adapter_entry(const mixer_host_api* host,
                                                      const mixer_adapter** out) {
  if (MIXER_ADAPTER_ABI_MAJOR_OF(host->abi_version) != MIXER_ADAPTER_ABI_VERSION_MAJOR) {
    return MIXER_ERR_VERSION;
  }
  memset(&descriptor, 0, sizeof(descriptor));
  descriptor.struct_size = sizeof(descriptor);
  descriptor.abi_version = MIXER_ADAPTER_ABI_VERSION;
  descriptor.name = "abi_generator";
  descriptor.version = "1.0.0";
  descriptor.description = "ABI 1.2 attribute generator fixture";
  descriptor.kinds = MIXER_KIND_GENERATE;
  descriptor.templates = kTemplates;
  descriptor.template_count = 1;
  descriptor.validate_params = &validate_params;
  descriptor.create_handler = &create_handler;
  descriptor.close_handler = &close_handler;
  descriptor.generate = &generate;
  *out = &descriptor;
  return MIXER_OK;
}
