// adapter.h: the C++ helper layer over mixer_adapter.h, so an adapter author writes a class
// instead of C glue.
//
//   class MyHandler : public mixer::adapter_sdk::Handler { ... override check/quota/report ... };
//   class MyAdapter : public mixer::adapter_sdk::Adapter {
//    public:
//     static mixer::adapter_sdk::AdapterInfo info();  // name, version, kinds, templates
//     void validate(ValueView params, ErrorSink& errors) const override;
//     std::unique_ptr<Handler> createHandler(const std::string& name, ValueView params) override;
//   };
//   MIXER_DEFINE_ADAPTER(MyAdapter)
//
// Header-only and C++17, so it ships with the SDK and compiles into the adapter. Every hook the
// host calls is wrapped: an exception thrown by adapter code is caught at the border, logged
// through the host and turned into an error result; it never crosses the ABI.
//
// This header holds the adapter and handler base classes and the C entry points that wrap them;
// it includes the rest of the SDK's C++ layer, so an adapter needs no other include:
//   value_view.h  ValueView, InstanceView, FieldHint
//   params.h      ErrorSink, joinPath/indexPath, checkKnownKeys, readInt, readDuration
//   host.h        Host (logging, clocks, executor, timers, counters)
//   text.h        parseDuration, formatDuration, appendIpAddress, appendJsonString
//   completion.h  Code, the results, Completion
#ifndef MIXER_ADAPTER_SDK_ADAPTER_H_
#define MIXER_ADAPTER_SDK_ADAPTER_H_

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mixer/adapter_sdk/completion.h"
#include "mixer/adapter_sdk/host.h"
#include "mixer/adapter_sdk/mixer_adapter.h"
#include "mixer/adapter_sdk/params.h"
#include "mixer/adapter_sdk/text.h"
#include "mixer/adapter_sdk/utf8.h"
#include "mixer/adapter_sdk/value_view.h"

namespace mixer::adapter_sdk {

// One configured handler. Methods may be called concurrently from several host threads; complete
// each call through its Completion, now or later (e.g. from a host timer or posted task). Methods
// run on request threads and must return quickly: never block on I/O inside them (the host can
// answer a late completion at the deadline, but cannot interrupt a hook that does not return).
// What a method is given (the instance, a quota's arguments, the context) is borrowed for the
// call: a completion made later copies what it needs.
class Handler {
 public:
  virtual ~Handler() = default;

  virtual void check(const InstanceView& instance, const CallContext& ctx, CheckCompletion done) {
    done.fail(MIXER_ERR_UNSUPPORTED);
  }
  virtual void quota(const InstanceView& instance, const QuotaArgs& args, const CallContext& ctx,
                     QuotaCompletion done) {
    done.fail(MIXER_ERR_UNSUPPORTED);
  }
  virtual void report(const std::vector<InstanceView>& instances, const CallContext& ctx,
                      ReportCompletion done) {
    done.fail(MIXER_ERR_UNSUPPORTED);
  }
  // ABI 1.2 (kinds MIXER_KIND_GENERATE): the outputs of an attribute generation instance. The
  // host waits for the answer, so answer from memory, now.
  virtual void generate(const InstanceView& instance, const CallContext& ctx,
                        GenerateCompletion done) {
    done.fail(MIXER_ERR_UNSUPPORTED);
  }
  // ABI 1.3 (adapters whose AdapterInfo sets `flushes`): starts the I/O held for calls made with
  // CallContext::flushed_later. The host calls it once per pass of the thread that made them; it
  // may run at the same time as calls and flushes on other threads.
  virtual void flush() {}
  // Flushes pending work; called once before the handler is destroyed. After it returns the
  // handler completes no further calls.
  virtual void close() {}
};

// What the adapter tells the host about itself.
struct AdapterInfo {
  std::string name;
  std::string version;
  std::string description;
  uint32_t kinds = 0;  // MIXER_KIND_* mask
  std::vector<std::string> templates;
  // ABI 1.3: the handlers override flush() and may hold a call's I/O when the host says it will
  // flush (CallContext::flushed_later). Without it the host never sets that flag.
  bool flushes = false;
};

// The adapter: validates params and creates handlers. Constructed once per process when the host
// loads the shared object; host() is usable from the constructor on.
class Adapter {
 public:
  virtual ~Adapter() = default;
  // Reports every problem in `params` (a map) with its path. Must not throw for bad input.
  virtual void validate(ValueView params, ErrorSink& errors) const = 0;
  // Creates a handler from params that passed validate().
  virtual std::unique_ptr<Handler> createHandler(const std::string& name, ValueView params) = 0;

  const Host& host() const;
};

namespace internal {

struct Registration {
  Host host;
  std::unique_ptr<Adapter> adapter;
  AdapterInfo info;
  std::vector<const char*> template_ptrs;
  mixer_adapter descriptor{};
};

// One per shared object (inline function statics are unique within a module).
inline Registration& registration() {
  static Registration r;
  return r;
}

inline void logException(const char* where) {
  std::string message = std::string("exception in ") + where + ": ";
  try {
    throw;
  } catch (const std::exception& e) {
    message += e.what();
  } catch (...) {
    message += "unknown exception";
  }
  registration().host.error(message);
}

inline mixer_result validateParams(const mixer_value* params, const mixer_error_sink* sink) {
  ErrorSink errors(sink);
  try {
    ValueView view(params);
    if (!view.isMap() && !view.isNull()) {
      errors.add("", std::string("params must be a map, got ") + valueTypeName(view.type()));
    } else {
      registration().adapter->validate(view, errors);
    }
  } catch (...) {
    logException("validate");
    errors.add("", "the adapter failed while validating its params");
  }
  return errors.count() == 0 ? MIXER_OK : MIXER_ERR_INVALID_ARGUMENT;
}

inline mixer_result createHandler(const mixer_handler_config* config, void** out_handler) {
  try {
    std::string name = config->handler_name == nullptr ? "" : config->handler_name;
    std::unique_ptr<Handler> handler =
        registration().adapter->createHandler(name, ValueView(config->params));
    if (handler == nullptr) {
      return MIXER_ERR_INTERNAL;
    }
    *out_handler = handler.release();
    return MIXER_OK;
  } catch (...) {
    logException("createHandler");
    return MIXER_ERR_INTERNAL;
  }
}

inline void closeHandler(void* raw) {
  auto* handler = static_cast<Handler*>(raw);
  try {
    handler->close();
  } catch (...) {
    logException("close");
  }
  try {
    delete handler;
  } catch (...) {
    logException("~Handler");
  }
}

inline CallContext callContext(const mixer_call_context* ctx) {
  CallContext out;
  if (ctx != nullptr) {
    out.deadline_monotonic_ns = ctx->deadline_monotonic_ns;
    if (ctx->struct_size >= offsetof(mixer_call_context, flags) + sizeof(ctx->flags)) {
      out.flushed_later = (ctx->flags & MIXER_CALL_FLUSHED_LATER) != 0;
    }
  }
  return out;
}

inline void flush(void* handler) {
  try {
    static_cast<Handler*>(handler)->flush();
  } catch (...) {
    logException("flush");
  }
}

// The completion object is created before the call, so an exception thrown by the handler (after
// which every copy is destroyed) still completes the call exactly once, with an error.
inline mixer_result check(void* handler, const mixer_instance* instance,
                          const mixer_call_context* ctx, mixer_check_done_fn done, void* done_ctx) {
  try {
    CheckCompletion completion(done, done_ctx);
    try {
      static_cast<Handler*>(handler)->check(InstanceView(instance), callContext(ctx), completion);
    } catch (...) {
      logException("check");
      completion.fail(MIXER_ERR_INTERNAL);
    }
    return MIXER_OK;
  } catch (...) {  // allocating the completion failed: `done` was not called
    return MIXER_ERR_RESOURCE_EXHAUSTED;
  }
}

inline mixer_result quota(void* handler, const mixer_instance* instance,
                          const mixer_quota_args* args, const mixer_call_context* ctx,
                          mixer_quota_done_fn done, void* done_ctx) {
  try {
    QuotaCompletion completion(done, done_ctx);
    // The thread's own arguments, whose id keeps its storage from call to call; a call made while
    // they are in use (from within a hook) gets its own.
    thread_local QuotaArgs t_args;
    thread_local bool t_busy = false;
    std::optional<QuotaArgs> nested;
    QuotaArgs& quota_args = t_busy ? nested.emplace() : t_args;
    const bool owner = !t_busy;
    t_busy = true;
    try {
      quota_args.amount = args != nullptr ? args->amount : QuotaArgs{}.amount;
      quota_args.best_effort = args != nullptr && args->best_effort != 0;
      quota_args.deduplication_id.clear();
      if (args != nullptr && args->deduplication_id.data != nullptr) {
        quota_args.deduplication_id.assign(args->deduplication_id.data,
                                           args->deduplication_id.size);
      }
      static_cast<Handler*>(handler)->quota(InstanceView(instance), quota_args, callContext(ctx),
                                            completion);
    } catch (...) {
      logException("quota");
      completion.fail(MIXER_ERR_INTERNAL);
    }
    if (owner) {
      t_busy = false;
    }
    return MIXER_OK;
  } catch (...) {
    return MIXER_ERR_RESOURCE_EXHAUSTED;
  }
}

inline mixer_result report(void* handler, const mixer_instance* const* instances, size_t count,
                           const mixer_call_context* ctx, mixer_report_done_fn done,
                           void* done_ctx) {
  try {
    ReportCompletion completion(done, done_ctx);
    try {
      std::vector<InstanceView> views;
      views.reserve(count);
      for (size_t i = 0; i < count; ++i) {
        views.emplace_back(instances[i]);
      }
      static_cast<Handler*>(handler)->report(views, callContext(ctx), completion);
    } catch (...) {
      logException("report");
      completion.fail(MIXER_ERR_INTERNAL);
    }
    return MIXER_OK;
  } catch (...) {
    return MIXER_ERR_RESOURCE_EXHAUSTED;
  }
}

inline mixer_result generate(void* handler, const mixer_instance* instance,
                             const mixer_call_context* ctx, mixer_generate_done_fn done,
                             void* done_ctx) {
  try {
    GenerateCompletion completion(done, done_ctx);
    try {
      static_cast<Handler*>(handler)->generate(InstanceView(instance), callContext(ctx),
                                               completion);
    } catch (...) {
      logException("generate");
      completion.fail(MIXER_ERR_INTERNAL);
    }
    return MIXER_OK;
  } catch (...) {
    return MIXER_ERR_RESOURCE_EXHAUSTED;
  }
}

template <class AdapterClass>
mixer_result entry(const mixer_host_api* host, const mixer_adapter** out) {
  if (host == nullptr || out == nullptr ||
      MIXER_ADAPTER_ABI_MAJOR_OF(host->abi_version) != MIXER_ADAPTER_ABI_VERSION_MAJOR) {
    return MIXER_ERR_VERSION;
  }
  Registration& r = registration();
  try {
    // A host that unloads and reloads the object gets a fresh adapter; one that calls the entry
    // again with another services table (without unloading) gets a fresh adapter bound to it.
    if (r.adapter == nullptr || r.host.raw() != host) {
      r.adapter.reset();
      r.host = Host(host);
      r.info = AdapterClass::info();
      r.adapter = std::make_unique<AdapterClass>();
      r.template_ptrs.clear();
      for (const std::string& t : r.info.templates) {
        r.template_ptrs.push_back(t.c_str());
      }
      mixer_adapter& d = r.descriptor;
      d.struct_size = sizeof(mixer_adapter);
      d.abi_version = MIXER_ADAPTER_ABI_VERSION;
      d.name = r.info.name.c_str();
      d.version = r.info.version.c_str();
      d.description = r.info.description.c_str();
      d.kinds = r.info.kinds;
      d.templates = r.template_ptrs.data();
      d.template_count = r.template_ptrs.size();
      d.validate_params = &validateParams;
      d.create_handler = &createHandler;
      d.close_handler = &closeHandler;
      d.check = (r.info.kinds & MIXER_KIND_CHECK) != 0 ? &check : nullptr;
      d.quota = (r.info.kinds & MIXER_KIND_QUOTA) != 0 ? &quota : nullptr;
      d.report = (r.info.kinds & MIXER_KIND_REPORT) != 0 ? &report : nullptr;
      d.generate = (r.info.kinds & MIXER_KIND_GENERATE) != 0 ? &generate : nullptr;
      d.flush = r.info.flushes ? &flush : nullptr;
    }
    *out = &r.descriptor;
    return MIXER_OK;
  } catch (...) {
    logException("adapter start-up");
    r.adapter.reset();
    return MIXER_ERR_INTERNAL;
  }
}

}  // namespace internal

inline const Host& Adapter::host() const { return internal::registration().host; }

}  // namespace mixer::adapter_sdk

// Defines the exported entry point for `AdapterClass`, which must be default-constructible and
// have `static mixer::adapter_sdk::AdapterInfo info();`. Use once per adapter shared object.
#define MIXER_DEFINE_ADAPTER(AdapterClass)                                                      \
  extern "C" MIXER_ADAPTER_EXPORT mixer_result mixer_adapter_entry(const mixer_host_api* host,  \
                                                                   const mixer_adapter** out) { \
    return ::mixer::adapter_sdk::internal::entry<AdapterClass>(host, out);                      \
  }                                                                                             \
  static_assert(sizeof(mixer_adapter_entry_fn) == sizeof(&mixer_adapter_entry), "entry type")

#endif  // MIXER_ADAPTER_SDK_ADAPTER_H_
