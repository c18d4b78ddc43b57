#include "mixer/server/mixs_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <google/protobuf/stubs/logging.h>

#include "absl/strings/numbers.h"
#include "mixer/common/log.h"
#include "mixer/common/str_cat.h"
#include "mixer/runtime/dispatcher.h"

namespace mixer::server {
namespace {

// protobuf logs a line for every string field that is not UTF-8 when it parses a request (the
// Envoy rate limit and access log services parse with it): a client could fill the log. Its
// messages go to the server's log, sampled.
void protobufLog(google::protobuf::LogLevel level, const char* file, int line,
                 const std::string& message) {
  static std::atomic<uint64_t> logs{0};
  if (level == google::protobuf::LOGLEVEL_FATAL || logSampled(logs)) {
    MIXER_LOG(Warn) << "protobuf (" << file << ":" << line << "): " << message;
  }
}

}  // namespace

bool splitHostPort(const std::string& address, std::string* host, int* port) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) {
    return false;
  }
  *host = address.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  return absl::SimpleAtoi(address.substr(colon + 1), port) && *port >= 0 && *port <= 65535;
}

absl::StatusOr<std::unique_ptr<MixsServer>> MixsServer::start(
    const ServerOptions& options, std::vector<config::ConfigError>* config_errors) {
  std::string host;
  int port;
  if (!splitHostPort(options.address, &host, &port)) {
    return absl::InvalidArgumentError(
        strCat("--address '", options.address, "' is not host:port (e.g. :9091)"));
  }
  std::unique_ptr<MixsServer> s(new MixsServer());

  s->adapter_counters_ =
      std::make_unique<adapter_host::PrometheusCounterRegistry>(s->metrics_.registry());
  adapter_host::AdapterHost::Options adapter_options;
  adapter_options.adapter_dirs = options.adapter_dirs;
  adapter_options.counters = s->adapter_counters_.get();
  s->adapters_ = std::make_unique<adapter_host::AdapterHost>(std::move(adapter_options));
  for (const auto& e : s->adapters_->loadErrors()) {
    MIXER_LOG(Error) << "adapter not loaded: " << e;
  }
  MIXER_LOG(Info) << adapter_host::loadedAdaptersSummary(s->adapters_->registry());

  runtime::ConfigStore::Options config_options;
  config_options.config_dir = options.config_dir;
  config_options.prometheus_address = options.prometheus_address;
  config_options.adapters = &s->adapters_->registry();
  config_options.base_vocabulary = attribute::Vocabulary::builtin();
  config_options.registry = s->metrics_.registry();
  auto store = runtime::ConfigStore::create(std::move(config_options), config_errors);
  if (!store.ok()) {
    return store.status();
  }
  s->config_ = *std::move(store);
  if (auto w = s->config_->startWatching(); !w.ok()) {
    return w;
  }
  s->service_ =
      std::make_unique<MixerService>(s->config_.get(), &s->metrics_, options.max_message_size);

  // The Envoy front-ends (ext_authz, rate limit, access log) on the same server and port.
  frontends::envoy::Options envoy_options;
  envoy_options.max_message_size = options.max_message_size;
  envoy_options.registry = s->metrics_.registry();
  s->envoy_ = std::make_unique<frontends::envoy::EnvoyFrontends>(s->config_.get(), envoy_options);

  google::protobuf::SetLogHandler(&protobufLog);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  const bool all_interfaces = host.empty() || host == "0.0.0.0" || host == "::";
  const std::string listen =
      strCat(all_interfaces ? "0.0.0.0"
                            : (host.find(':') != std::string::npos ? strCat("[", host, "]") : host),
             ":", port);
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &s->grpc_port_);
  builder.RegisterService(s->service_.get());
  builder.RegisterService(&s->envoy_->authorization());
  builder.RegisterService(&s->envoy_->rateLimit());
  builder.RegisterService(&s->envoy_->accessLog());
  // gRPC itself refuses only far larger messages, so that an oversized request gets the
  // server's INVALID_ARGUMENT with a reason rather than a bare RESOURCE_EXHAUSTED.
  const size_t transport_limit = std::min<size_t>(options.max_message_size * 2, INT32_MAX);
  builder.SetMaxReceiveMessageSize(static_cast<int>(transport_limit));
  s->grpc_ = builder.BuildAndStart();
  if (!s->grpc_ || s->grpc_port_ == 0) {
    return absl::UnavailableError(strCat("cannot listen on ", listen, " for gRPC"));
  }
  s->grpc_address_ =
      strCat(all_interfaces ? "0.0.0.0" : listen.substr(0, listen.rfind(':')), ":", s->grpc_port_);
  auto* health = s->grpc_->GetHealthCheckService();
  if (health != nullptr) {
    health->SetServingStatus("istio.mixer.v1.Mixer", true);
    for (const char* name : frontends::envoy::EnvoyFrontends::kServiceNames) {
      health->SetServingStatus(name, true);
    }
  }

  if (options.monitoring_port >= 0) {
    s->monitoring_host_ = all_interfaces ? "" : host;
    MixsServer* raw = s.get();
    auto mon =
        MonitoringServer::start(s->monitoring_host_, options.monitoring_port,
                                s->metrics_.registry(), [raw] { return raw->ready_.load(); });
    if (!mon.ok()) {
      s->grpc_->Shutdown();
      return mon.status();
    }
    s->monitoring_ = *std::move(mon);
  }
  s->ready_ = true;
  return s;
}

void MixsServer::shutdown(std::chrono::milliseconds grace) {
  ready_ = false;
  if (grpc_ && !stopped_) {
    stopped_ = true;
    if (auto* health = grpc_->GetHealthCheckService()) {
      health->Shutdown();
    }
    grpc_->Shutdown(std::chrono::system_clock::now() + grace);
    grpc_->Wait();
  }
  if (config_) {
    config_->shutdown();  // stop watching; deliver queued reports
  }
}

MixsServer::~MixsServer() {
  shutdown(std::chrono::milliseconds(0));
  monitoring_.reset();
}

}  // namespace mixer::server
