#include "mixer/adapter_host/remote_adapter.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/message.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/byte_buffer.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "mixer/adapter_host/host_services.h"
#include "mixer/adapter_host/remote_instance.h"

namespace mixer::adapter_host {
namespace {

namespace pb = google::protobuf;

std::string_view view(const mixer_string& s) {
  return s.data == nullptr ? std::string_view() : std::string_view(s.data, s.size);
}

const mixer_value* mapFind(const mixer_value* map, std::string_view key) {
  if (map == nullptr || (map->type != MIXER_VALUE_MAP && map->type != MIXER_VALUE_STRING_MAP)) {
    return nullptr;
  }
  for (size_t i = 0; i < map->u.map_value.count; ++i) {
    if (view(map->u.map_value.entries[i].key) == key) {
      return &map->u.map_value.entries[i].value;
    }
  }
  return nullptr;
}

// One template as an out-of-process adapter is called for it: its descriptors, the gRPC method and
// the request fields.
struct RemoteTemplate {
  std::string name;
  // Declared before the factory: the factory's prototypes point into the pool.
  std::unique_ptr<pb::DescriptorPool> pool;
  std::unique_ptr<pb::DynamicMessageFactory> factory;
  std::string method_path;  // "/metric.HandleMetricService/HandleMetric"
  const pb::Message* request_prototype = nullptr;
  const pb::Message* response_prototype = nullptr;
  const pb::FieldDescriptor* instance_field = nullptr;  // `instance` or (repeated) `instances`
  const pb::FieldDescriptor* adapter_config_field = nullptr;
  const pb::FieldDescriptor* dedup_field = nullptr;
  const pb::FieldDescriptor* quota_request_field = nullptr;
};

// Builds `bytes` (a FileDescriptorSet) and finds its Handle<Template> service. Null with `error`.
std::unique_ptr<RemoteTemplate> buildTemplate(const std::string& name, const std::string& bytes,
                                              std::string* error) {
  pb::FileDescriptorSet set;
  if (!set.ParseFromString(bytes) || set.file_size() == 0) {
    *error = "not a serialized FileDescriptorSet";
    return nullptr;
  }
  auto t = std::make_unique<RemoteTemplate>();
  t->name = name;
  t->pool = std::make_unique<pb::DescriptorPool>();
  const pb::ServiceDescriptor* service = nullptr;
  for (const auto& file : set.file()) {
    const pb::FileDescriptor* fd = t->pool->BuildFile(file);
    if (fd == nullptr) {
      *error = absl::StrCat("file '", file.name(), "' does not build");
      return nullptr;
    }
    for (int i = 0; service == nullptr && i < fd->service_count(); ++i) {
      if (fd->service(i)->name().rfind("Handle", 0) == 0) {
        service = fd->service(i);
      }
    }
  }
  if (service == nullptr) {
    *error = "declares no Handle<Template> service";
    return nullptr;
  }
  if (service->method_count() == 0) {
    *error = absl::StrCat("service '", service->full_name(), "' has no method");
    return nullptr;
  }
  const pb::MethodDescriptor* method = service->method(0);
  t->method_path = absl::StrCat("/", service->full_name(), "/", method->name());
  const pb::Descriptor* request = method->input_type();
  t->instance_field = request->FindFieldByName("instance");
  if (t->instance_field == nullptr) {
    t->instance_field = request->FindFieldByName("instances");
  }
  if (t->instance_field == nullptr ||
      t->instance_field->type() != pb::FieldDescriptor::TYPE_MESSAGE) {
    *error = absl::StrCat("request '", request->full_name(), "' has no instance(s) message field");
    return nullptr;
  }
  t->adapter_config_field = request->FindFieldByName("adapter_config");
  t->dedup_field = request->FindFieldByName("dedup_id");
  t->quota_request_field = request->FindFieldByName("quota_request");
  t->factory = std::make_unique<pb::DynamicMessageFactory>(t->pool.get());
  t->request_prototype = t->factory->GetPrototype(request);
  t->response_prototype = t->factory->GetPrototype(method->output_type());
  return t;
}

int64_t durationNs(const pb::Message& msg, const char* field) {
  const pb::FieldDescriptor* f = msg.GetDescriptor()->FindFieldByName(field);
  if (f == nullptr || f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE ||
      !msg.GetReflection()->HasField(msg, f)) {
    return 0;
  }
  const pb::Message& d = msg.GetReflection()->GetMessage(msg, f);
  const pb::Descriptor* dd = d.GetDescriptor();
  const auto* s = dd->FindFieldByName("seconds");
  const auto* n = dd->FindFieldByName("nanos");
  if (s == nullptr || n == nullptr) {
    return 0;
  }
  const int64_t ns =
      d.GetReflection()->GetInt64(d, s) * 1000000000 + d.GetReflection()->GetInt32(d, n);
  return std::max<int64_t>(ns, 0);
}

template <class T>
T scalar(const pb::Message& msg, const char* field);
template <>
int64_t scalar(const pb::Message& msg, const char* field) {
  const pb::FieldDescriptor* f = msg.GetDescriptor()->FindFieldByName(field);
  if (f == nullptr) {
    return 0;
  }
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT64:
      return msg.GetReflection()->GetInt64(msg, f);
    case pb::FieldDescriptor::CPPTYPE_INT32:
      return msg.GetReflection()->GetInt32(msg, f);
    default:
      return 0;
  }
}

// ---- The handler ---------------------------------------------------------------------------

class RemoteHandler;

// One RPC in flight. Owned by itself: freed when it completes.
struct Rpc {
  RemoteHandler* handler = nullptr;
  grpc::ClientContext context;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
  const RemoteTemplate* tmpl = nullptr;
  std::function<void(const grpc::Status&, const pb::Message*)> done;
};

mixer_result callFailure(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return MIXER_ERR_DEADLINE;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::CANCELLED:
      return MIXER_ERR_UNAVAILABLE;
    case grpc::StatusCode::UNIMPLEMENTED:
      return MIXER_ERR_UNSUPPORTED;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return MIXER_ERR_RESOURCE_EXHAUSTED;
    default:
      return MIXER_ERR_INTERNAL;
  }
}

class RemoteHandler {
 public:
  RemoteHandler(std::string name, std::string address, int64_t timeout_ns,
                std::optional<std::string> adapter_config,
                std::map<std::string, std::unique_ptr<RemoteTemplate>, std::less<>> templates)
      : name_(std::move(name)),
        address_(std::move(address)),
        timeout_ns_(timeout_ns),
        adapter_config_(std::move(adapter_config)),
        templates_(std::move(templates)) {
    grpc::ChannelArguments args;
    // A restarted adapter is found again within a second, not after gRPC's default backoff.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    channel_ = grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(), args);
    stub_ = std::make_unique<grpc::GenericStub>(channel_);
    std::random_device rd;
    dedup_.store((static_cast<uint64_t>(rd()) << 32) | rd());
  }

  ~RemoteHandler() { close(); }

  // Cancels what is in flight and waits until every completion ran.
  void close() {
    std::unique_lock<std::mutex> lock(mu_);
    closed_ = true;
    for (Rpc* rpc : inflight_) {
      rpc->context.TryCancel();
    }
    idle_.wait(lock, [&] { return inflight_.empty(); });
  }

  const RemoteTemplate* find(std::string_view template_name) const {
    auto it = templates_.find(template_name);
    return it == templates_.end() ? nullptr : it->second.get();
  }

  // Builds the request for `instances` (all of `tmpl`) and starts the call. False when closed.
  bool call(const RemoteTemplate& tmpl, const mixer_instance* const* instances, size_t count,
            const mixer_quota_args* quota, const mixer_call_context* ctx,
            std::function<void(const grpc::Status&, const pb::Message*)> done) {
    std::unique_ptr<pb::Message> req(tmpl.request_prototype->New());
    const pb::Reflection* r = req->GetReflection();
    for (size_t i = 0; i < count; ++i) {
      pb::Message* inst = tmpl.instance_field->is_repeated()
                              ? r->AddMessage(req.get(), tmpl.instance_field)
                              : r->MutableMessage(req.get(), tmpl.instance_field);
      encodeRemoteInstance(inst, *instances[i]);
    }
    if (adapter_config_ && tmpl.adapter_config_field != nullptr &&
        tmpl.adapter_config_field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      r->MutableMessage(req.get(), tmpl.adapter_config_field)->ParseFromString(*adapter_config_);
    }
    std::string dedup = quota != nullptr && quota->deduplication_id.size > 0
                            ? std::string(view(quota->deduplication_id))
                            : std::to_string(dedup_.fetch_add(1));
    if (tmpl.dedup_field != nullptr &&
        tmpl.dedup_field->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING) {
      r->SetString(req.get(), tmpl.dedup_field, dedup);
    }
    if (quota != nullptr && tmpl.quota_request_field != nullptr && count == 1) {
      // quota_request{quotas{<instance name>: {amount, best_effort}}}, as Istio asked.
      pb::Message* qr = r->MutableMessage(req.get(), tmpl.quota_request_field);
      if (const auto* quotas = qr->GetDescriptor()->FindFieldByName("quotas");
          quotas != nullptr && quotas->is_map()) {
        pb::Message* entry = qr->GetReflection()->AddMessage(qr, quotas);
        const pb::Descriptor* ed = entry->GetDescriptor();
        entry->GetReflection()->SetString(entry, ed->FindFieldByName("key"),
                                          std::string(view(instances[0]->name)));
        pb::Message* params =
            entry->GetReflection()->MutableMessage(entry, ed->FindFieldByName("value"));
        const pb::Descriptor* pd = params->GetDescriptor();
        if (const auto* f = pd->FindFieldByName("amount")) {
          params->GetReflection()->SetInt64(params, f, quota->amount);
        }
        if (const auto* f = pd->FindFieldByName("best_effort")) {
          params->GetReflection()->SetBool(params, f, quota->best_effort != 0);
        }
      }
    }
    auto rpc = std::make_unique<Rpc>();
    rpc->handler = this;
    rpc->tmpl = &tmpl;
    rpc->done = std::move(done);
    std::string bytes;
    req->SerializeToString(&bytes);
    grpc::Slice slice(bytes);
    rpc->request = grpc::ByteBuffer(&slice, 1);
    // The call's deadline (the host's monotonic clock), capped by the connection's timeout.
    int64_t left_ns = ctx != nullptr && ctx->deadline_monotonic_ns > 0
                          ? ctx->deadline_monotonic_ns - monotonicNowNs()
                          : int64_t{1000000000};
    if (timeout_ns_ > 0) {
      left_ns = std::min(left_ns, timeout_ns_);
    }
    rpc->context.set_deadline(std::chrono::system_clock::now() +
                              std::chrono::nanoseconds(std::max<int64_t>(left_ns, 0)));
    Rpc* raw = rpc.get();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) {
        return false;
      }
      inflight_.insert(raw);
    }
    rpc.release();
    stub_->UnaryCall(&raw->context, tmpl.method_path, grpc::StubOptions(), &raw->request,
                     &raw->response,
                     [raw](grpc::Status status) { raw->handler->finish(raw, status); });
    return true;
  }

  const std::string& name() const { return name_; }
  const std::string& address() const { return address_; }

 private:
  void finish(Rpc* rpc, const grpc::Status& status) {
    std::unique_ptr<Rpc> owned(rpc);
    if (!status.ok()) {
      static std::atomic<uint64_t> logs{0};
      if (logSampled(logs)) {
        MIXER_LOG(Warn) << "out-of-process handler '" << name_ << "' (" << address_ << ") "
                        << rpc->tmpl->method_path << ": " << status.error_code() << " "
                        << status.error_message();
      }
      rpc->done(status, nullptr);
    } else {
      std::unique_ptr<pb::Message> response(rpc->tmpl->response_prototype->New());
      std::vector<grpc::Slice> slices;
      std::string bytes;
      if (rpc->response.Dump(&slices).ok()) {
        for (const auto& s : slices) {
          bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
        }
      }
      if (!response->ParseFromString(bytes)) {
        rpc->done(grpc::Status(grpc::StatusCode::INTERNAL, "the response does not parse"), nullptr);
      } else {
        rpc->done(status, response.get());
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    inflight_.erase(rpc);
    if (inflight_.empty()) {
      idle_.notify_all();
    }
  }

  std::string name_;
  std::string address_;
  int64_t timeout_ns_;
  std::optional<std::string> adapter_config_;
  std::map<std::string, std::unique_ptr<RemoteTemplate>, std::less<>> templates_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::GenericStub> stub_;
  std::atomic<uint64_t> dedup_{0};
  std::mutex mu_;
  std::condition_variable idle_;
  std::set<Rpc*> inflight_;
  bool closed_ = false;
};

// ---- The C hooks ---------------------------------------------------------------------------

const char* const kNoTemplates[] = {nullptr};

void addError(const mixer_error_sink* errors, const char* path, const std::string& message) {
  errors->add_error(errors->ctx, path, message.c_str());
}

mixer_result validateParams(const mixer_value* params, const mixer_error_sink* errors) {
  bool ok = true;
  const mixer_value* address = mapFind(params, "address");
  if (address == nullptr || address->type != MIXER_VALUE_STRING ||
      address->u.string_value.size == 0) {
    addError(errors, "address", "is required (connection.address: HOST:PORT)");
    ok = false;
  }
  const mixer_value* templates = mapFind(params, "templates");
  if (templates == nullptr || templates->type != MIXER_VALUE_MAP ||
      templates->u.map_value.count == 0) {
    addError(errors, "templates", "the adapter serves no template with a descriptor");
    return MIXER_ERR_INVALID_ARGUMENT;
  }
  for (size_t i = 0; i < templates->u.map_value.count; ++i) {
    const mixer_map_entry& e = templates->u.map_value.entries[i];
    std::string error;
    if (e.value.type != MIXER_VALUE_BYTES ||
        !checkHandleService(std::string(view(e.value.u.string_value)), &error)) {
      addError(errors, ("templates." + std::string(view(e.key))).c_str(),
               error.empty() ? "want a FileDescriptorSet" : error);
      ok = false;
    }
  }
  return ok ? MIXER_OK : MIXER_ERR_INVALID_ARGUMENT;
}

mixer_result createHandler(const mixer_handler_config* config, void** out) {
  const mixer_value* params = config->params;
  const mixer_value* address = mapFind(params, "address");
  const mixer_value* timeout = mapFind(params, "timeout");
  const mixer_value* any = mapFind(params, "adapter_config");
  const mixer_value* templates = mapFind(params, "templates");
  if (address == nullptr || templates == nullptr) {
    return MIXER_ERR_INVALID_ARGUMENT;
  }
  std::map<std::string, std::unique_ptr<RemoteTemplate>, std::less<>> built;
  for (size_t i = 0; i < templates->u.map_value.count; ++i) {
    const mixer_map_entry& e = templates->u.map_value.entries[i];
    std::string error;
    auto t =
        buildTemplate(std::string(view(e.key)), std::string(view(e.value.u.string_value)), &error);
    if (!t) {
      return MIXER_ERR_INVALID_ARGUMENT;
    }
    built.emplace(t->name, std::move(t));
  }
  std::optional<std::string> adapter_config;
  if (any != nullptr && any->type == MIXER_VALUE_BYTES) {
    adapter_config = std::string(view(any->u.string_value));
  }
  *out = new RemoteHandler(
      config->handler_name == nullptr ? "" : config->handler_name,
      std::string(view(address->u.string_value)),
      timeout != nullptr && timeout->type == MIXER_VALUE_DURATION ? timeout->u.int64_value : 0,
      std::move(adapter_config), std::move(built));
  return MIXER_OK;
}

void closeHandler(void* handler) { delete static_cast<RemoteHandler*>(handler); }

mixer_result check(void* handler, const mixer_instance* instance, const mixer_call_context* ctx,
                   mixer_check_done_fn done, void* done_ctx) {
  auto* h = static_cast<RemoteHandler*>(handler);
  const RemoteTemplate* tmpl = h->find(view(instance->template_name));
  if (tmpl == nullptr) {
    return MIXER_ERR_UNSUPPORTED;
  }
  const bool started = h->call(
      *tmpl, &instance, 1, nullptr, ctx,
      [done, done_ctx](const grpc::Status& status, const pb::Message* response) {
        if (response == nullptr) {
          done(done_ctx, callFailure(status), nullptr);
          return;
        }
        // model.v1beta1.AdapterCheckResult{google.rpc.Status status; Duration valid_duration;
        // int32 valid_use_count}
        mixer_check_result r{};
        r.struct_size = sizeof(r);
        std::string message;
        const pb::FieldDescriptor* sf = response->GetDescriptor()->FindFieldByName("status");
        if (sf != nullptr && sf->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
          const pb::Message& s = response->GetReflection()->GetMessage(*response, sf);
          r.status_code = static_cast<int32_t>(scalar<int64_t>(s, "code"));
          if (const auto* mf = s.GetDescriptor()->FindFieldByName("message")) {
            message = s.GetReflection()->GetString(s, mf);
          }
        }
        if (r.status_code < 0 || r.status_code > 16) {
          r.status_code = 2;  // UNKNOWN
        }
        r.message = message.c_str();
        r.valid_duration_ns = durationNs(*response, "valid_duration");
        r.valid_use_count = static_cast<int32_t>(
            std::max<int64_t>(scalar<int64_t>(*response, "valid_use_count"), 0));
        done(done_ctx, MIXER_OK, &r);
      });
  return started ? MIXER_OK : MIXER_ERR_UNAVAILABLE;
}

mixer_result quota(void* handler, const mixer_instance* instance, const mixer_quota_args* args,
                   const mixer_call_context* ctx, mixer_quota_done_fn done, void* done_ctx) {
  auto* h = static_cast<RemoteHandler*>(handler);
  const RemoteTemplate* tmpl = h->find(view(instance->template_name));
  if (tmpl == nullptr) {
    return MIXER_ERR_UNSUPPORTED;
  }
  const std::string name(view(instance->name));
  const int64_t amount = args->amount;
  const bool best_effort = args->best_effort != 0;
  const bool started = h->call(
      *tmpl, &instance, 1, args, ctx,
      [done, done_ctx, name, amount, best_effort](const grpc::Status& status,
                                                  const pb::Message* response) {
        if (response == nullptr) {
          done(done_ctx, callFailure(status), nullptr);
          return;
        }
        // model.v1beta1.AdapterQuotaResult{map<string, Result{valid_duration, granted_amount}>
        // quotas}, keyed by the instance name.
        const pb::FieldDescriptor* qf = response->GetDescriptor()->FindFieldByName("quotas");
        const pb::Message* found = nullptr;
        if (qf != nullptr && qf->is_map()) {
          const pb::Reflection* rr = response->GetReflection();
          for (int i = 0; i < rr->FieldSize(*response, qf); ++i) {
            const pb::Message& entry = rr->GetRepeatedMessage(*response, qf, i);
            const pb::Descriptor* ed = entry.GetDescriptor();
            if (entry.GetReflection()->GetString(entry, ed->FindFieldByName("key")) == name) {
              found = &entry.GetReflection()->GetMessage(entry, ed->FindFieldByName("value"));
            }
          }
        }
        mixer_quota_result r{};
        r.struct_size = sizeof(r);
        r.limit = -1;
        r.remaining = -1;
        if (found == nullptr) {
          // Istio: "remote server did not respond with the requested quota".
          static std::atomic<uint64_t> logs{0};
          if (logSampled(logs)) {
            MIXER_LOG(Warn) << "out-of-process quota adapter answered no result for '" << name
                            << "'";
          }
          done(done_ctx, MIXER_ERR_INTERNAL, nullptr);
          return;
        }
        // The host's quota contract: 0 <= granted <= amount, all or nothing without best_effort.
        int64_t granted = std::clamp<int64_t>(scalar<int64_t>(*found, "granted_amount"), 0, amount);
        if (!best_effort && granted != amount) {
          granted = 0;
        }
        r.granted_amount = granted;
        r.valid_duration_ns = durationNs(*found, "valid_duration");
        // Status OK whatever was granted, as in-process quota adapters answer (Istio's
        // AdapterQuotaResult carries no status).
        r.status_code = 0;
        done(done_ctx, MIXER_OK, &r);
      });
  return started ? MIXER_OK : MIXER_ERR_UNAVAILABLE;
}

// A report of several templates is one call per template; the first failure is the result.
struct ReportJoin {
  std::atomic<size_t> left{0};
  std::mutex mu;
  grpc::Status first_error;
  bool failed = false;
  mixer_report_done_fn done = nullptr;
  void* done_ctx = nullptr;
};

mixer_result report(void* handler, const mixer_instance* const* instances, size_t count,
                    const mixer_call_context* ctx, mixer_report_done_fn done, void* done_ctx) {
  auto* h = static_cast<RemoteHandler*>(handler);
  // Group by template, keeping order.
  std::vector<std::pair<const RemoteTemplate*, std::vector<const mixer_instance*>>> groups;
  for (size_t i = 0; i < count; ++i) {
    const RemoteTemplate* tmpl = h->find(view(instances[i]->template_name));
    if (tmpl == nullptr) {
      return MIXER_ERR_UNSUPPORTED;
    }
    auto it =
        std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == tmpl; });
    if (it == groups.end()) {
      groups.push_back({tmpl, {}});
      it = groups.end() - 1;
    }
    it->second.push_back(instances[i]);
  }
  if (groups.empty()) {
    mixer_report_result r{sizeof(mixer_report_result), 0, nullptr};
    done(done_ctx, MIXER_OK, &r);
    return MIXER_OK;
  }
  auto join = std::make_shared<ReportJoin>();
  join->left = groups.size();
  join->done = done;
  join->done_ctx = done_ctx;
  auto complete = [join](const grpc::Status& status, const pb::Message* response) {
    if (response == nullptr) {
      std::lock_guard<std::mutex> lock(join->mu);
      if (!join->failed) {
        join->failed = true;
        join->first_error = status;
      }
    }
    if (join->left.fetch_sub(1) == 1) {
      if (join->failed) {
        join->done(join->done_ctx, callFailure(join->first_error), nullptr);
      } else {
        mixer_report_result r{sizeof(mixer_report_result), 0, nullptr};
        join->done(join->done_ctx, MIXER_OK, &r);
      }
    }
  };
  size_t started = 0;
  for (const auto& [tmpl, list] : groups) {
    if (!h->call(*tmpl, list.data(), list.size(), nullptr, ctx, complete)) {
      // Closed: what did not start completes as unavailable.
      if (started == 0) {
        return MIXER_ERR_UNAVAILABLE;
      }
      complete(grpc::Status(grpc::StatusCode::UNAVAILABLE, "handler closed"), nullptr);
    }
    ++started;
  }
  return MIXER_OK;
}

const mixer_adapter kRemoteAdapterApi = {
    sizeof(mixer_adapter),
    MIXER_ADAPTER_ABI_VERSION,
    "grpc",
    "istio-1.x",
    "an Istio 1.x out-of-process adapter, called over gRPC",
    MIXER_KIND_CHECK | MIXER_KIND_QUOTA | MIXER_KIND_REPORT,
    0,
    kNoTemplates,
    0,
    &validateParams,
    &createHandler,
    &closeHandler,
    &check,
    &quota,
    &report,
};

}  // namespace

bool checkHandleService(const std::string& descriptor_set, std::string* error) {
  return buildTemplate("", descriptor_set, error) != nullptr;
}

std::shared_ptr<const LoadedAdapter> remoteAdapter(RemoteAdapterInfo remote,
                                                   HostServices* services) {
  AdapterInfo info;
  info.name = std::move(remote.name);
  info.version = "istio-1.x";
  info.description = remote.description.empty()
                         ? std::string("an Istio 1.x out-of-process adapter (gRPC)")
                         : std::move(remote.description);
  info.path = "grpc";
  info.kinds = remote.kinds;
  info.abi_version = MIXER_ADAPTER_ABI_VERSION;
  info.templates = std::move(remote.templates);
  return std::make_shared<LoadedAdapter>(std::move(info), &kRemoteAdapterApi, nullptr, services);
}

AbiValue remoteHandlerParams(const std::string& address, absl::Duration timeout,
                             const std::string* adapter_config_any,
                             const std::vector<std::pair<std::string, std::string>>& templates) {
  AbiValue params = AbiValue::map();
  params.set("address", AbiValue::string(address));
  if (timeout > absl::ZeroDuration()) {
    params.set("timeout", AbiValue::durationNs(absl::ToInt64Nanoseconds(timeout)));
  }
  if (adapter_config_any != nullptr) {
    params.set("adapter_config", AbiValue::bytes(*adapter_config_any));
  }
  AbiValue t = AbiValue::map();
  for (const auto& [name, bytes] : templates) {
    t.set(name, AbiValue::bytes(bytes));
  }
  params.set("templates", std::move(t));
  return params;
}

}  // namespace mixer::adapter_host
