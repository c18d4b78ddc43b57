#include "mixer/server/mixs_server.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netdb.h>
#include <netinet/in.h>

#include <thread>

#include <google/protobuf/stubs/logging.h>

#include "absl/strings/numbers.h"
#include "base/log.h"
#include "base/str_cat.h"
#include "base/version.h"
#include "mixer/runtime/dispatcher.h"
#include "security/tls/http_tls.h"

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

std::string defaultPrometheusAddress(const std::string& host) {
  constexpr char kEveryInterface[] = ":42422";
  if (host.empty() || host == "0.0.0.0" || host == "::") {
    return kEveryInterface;
  }
  if (host == "::1") {
    return "127.0.0.1:42422";  // the exposition's server (civetweb) binds IPv4 only
  }
  // An IPv4 address as is; a name by its first IPv4 address.
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string ipv4;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) == 0 && res != nullptr) {
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr, text, sizeof(text));
    ipv4 = text;
  }
  if (res != nullptr) {
    freeaddrinfo(res);
  }
  if (ipv4.empty()) {
    MIXER_LOG(Warn) << "the prometheus exposition cannot listen on " << host
                    << " (IPv4 only): it listens on every interface; set --prometheus-address";
    return kEveryInterface;
  }
  return base::strCat(ipv4, ":42422");
}

absl::StatusOr<std::unique_ptr<MixsServer>> MixsServer::start(
    const ServerOptions& options, std::vector<config::ConfigError>* config_errors) {
  std::string host;
  int port;
  if (!splitHostPort(options.address, &host, &port)) {
    return absl::InvalidArgumentError(
        base::strCat("--address '", options.address, "' is not host:port (e.g. :9091)"));
  }
  const bool all_interfaces = host.empty() || host == "0.0.0.0" || host == "::";
  auto bracketed = [](const std::string& h) {
    return h.find(':') != std::string::npos ? base::strCat("[", h, "]") : h;
  };
  // The monitoring endpoints: --monitoring-address, else --monitoring-port on the --address host.
  std::string monitoring_host = all_interfaces ? "" : host;
  int monitoring_port = options.monitoring_port;
  if (!options.monitoring_address.empty()) {
    if (!splitHostPort(options.monitoring_address, &monitoring_host, &monitoring_port)) {
      return absl::InvalidArgumentError(base::strCat("--monitoring-address '",
                                                     options.monitoring_address,
                                                     "' is not host:port (e.g. 127.0.0.1:9093)"));
    }
    if (monitoring_host == "0.0.0.0") {
      monitoring_host.clear();
    }
  }
  // Forward-auth: off unless --forward-auth-address.
  std::string forward_auth_host;
  int forward_auth_port = -1;
  frontends::envoy::ForwardAuthOptions forward_auth_options;
  if (!options.forward_auth_address.empty()) {
    if (!splitHostPort(options.forward_auth_address, &forward_auth_host, &forward_auth_port)) {
      return absl::InvalidArgumentError(base::strCat("--forward-auth-address '",
                                                     options.forward_auth_address,
                                                     "' is not host:port (e.g. 127.0.0.1:9094)"));
    }
    for (const std::string& q : options.forward_auth_quotas) {
      auto quota = frontends::envoy::parseForwardAuthQuota(q);
      if (!quota.ok()) return quota.status();
      forward_auth_options.quotas.push_back(*std::move(quota));
    }
  } else if (!options.forward_auth_quotas.empty()) {
    return absl::InvalidArgumentError("--forward-auth-quota needs --forward-auth-address");
  }
  // The lean port: off unless --lean-address. It serves TLS as the gRPC port does.
  std::string lean_host;
  int lean_port = -1;
  if (!options.lean_address.empty() &&
      !splitHostPort(options.lean_address, &lean_host, &lean_port)) {
    return absl::InvalidArgumentError(base::strCat("--lean-address '", options.lean_address,
                                                   "' is not host:port (e.g. 127.0.0.1:9095)"));
  }
  // Transport security, checked before anything starts: a bad file is an error now.
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  const bool tls = !options.tls.cert.empty() || !options.tls.key.empty() || !options.tls.ca.empty();
  const bool mtls = tls && !options.tls.ca.empty();
  if (tls) {
    security::tls::TlsFiles files = options.tls;
    if (!mtls) files.client_cert = security::tls::ClientCertMode::kNone;
    auto c = security::tls::serverCredentials(files);
    if (!c.ok()) return c.status();
    credentials = *std::move(c);
  }
  std::optional<security::tls::CallerPolicy> callers;
  if (!options.callers_file.empty()) {
    if (!mtls) {
      return absl::InvalidArgumentError(
          "--callers needs mTLS (--tls-cert, --tls-key, --tls-client-ca): without client "
          "certificates no caller has an identity");
    }
    auto policy = security::tls::CallerPolicy::load(options.callers_file);
    if (!policy.ok()) return policy.status();
    callers = *std::move(policy);
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
  config_options.skip_invalid_resources = options.skip_invalid_resources;
  // The embedded configuration's prometheus exposition listens on the monitoring host (the gRPC
  // host when monitoring is off), not on every interface, unless told otherwise.
  config_options.prometheus_address = options.prometheus_address;
  if (config_options.prometheus_address.empty()) {
    config_options.prometheus_address = defaultPrometheusAddress(
        monitoring_port >= 0 ? monitoring_host : (all_interfaces ? "" : host));
  }
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
  s->service_ = std::make_unique<MixerService>(
      s->config_.get(), &s->metrics_, std::min<size_t>(options.max_message_size, INT32_MAX),
      options.limits);
  if (mtls) {
    s->gate_ = std::make_unique<security::tls::CallerGate>(
        std::move(callers), s->metrics_.registry(), "mixer_callers_denied_total");
    s->service_->setCallerGate(s->gate_.get());
  }

  const long open_files = raiseOpenFileLimit();
  s->max_connections_ =
      options.max_connections > 0 ? options.max_connections : defaultMaxConnections(open_files);
  if (s->max_connections_ > open_files) {
    MIXER_LOG(Warn) << "--max-connections " << s->max_connections_
                    << " is above the open-file limit " << open_files
                    << ": connections beyond the limit wait until descriptors are free";
  }
  GrpcAcceptor::Options acceptor_options;
  acceptor_options.host = all_interfaces && host != "::" ? "" : host;
  acceptor_options.port = port;
  acceptor_options.max_connections = s->max_connections_;
  MixsServer* raw = s.get();
  acceptor_options.on_change = [raw](bool accepting) {
    raw->metrics_.accepting().Set(accepting ? 1 : 0);
    raw->health_->setServing(accepting && raw->ready_.load());
  };
  acceptor_options.on_count = [raw](int n) { raw->metrics_.connections().Set(n); };
  // The health service's names: the Mixer API and the Envoy front-ends; reflection lists them
  // and itself.
  std::vector<std::string> services{"istio.mixer.v1.Mixer"};
  for (const char* name : frontends::envoy::EnvoyFrontends::kServiceNames) {
    services.emplace_back(name);
  }
  s->health_ = std::make_unique<HealthState>(services);
  services.emplace_back("grpc.health.v1.Health");
  services.emplace_back("grpc.reflection.v1alpha.ServerReflection");
  services.emplace_back("grpc.reflection.v1.ServerReflection");
  s->reflection_ = std::make_unique<Reflection>(std::move(services));
  auto acceptor = GrpcAcceptor::listen(std::move(acceptor_options));
  if (!acceptor.ok()) {
    return absl::UnavailableError(base::strCat(acceptor.status().message(), " (gRPC)"));
  }
  s->acceptor_ = *std::move(acceptor);
  s->grpc_port_ = s->acceptor_->port();

  // The Envoy front-ends (ext_authz, rate limit, access log) on the same server and port.
  frontends::envoy::Options envoy_options;
  envoy_options.max_message_size = options.max_message_size;
  envoy_options.registry = s->metrics_.registry();
  s->envoy_ = std::make_unique<frontends::envoy::EnvoyFrontends>(s->config_.get(), envoy_options);
  s->envoy_->setCallerGate(s->gate_.get());

  google::protobuf::SetLogHandler(&protobufLog);
  grpc::ServerBuilder builder;
  // The port's socket and accept loop are the GrpcAcceptor's; gRPC serves the connections it
  // hands over, with these credentials.
  s->grpc_acceptor_ = builder.experimental().AddExternalConnectionAcceptor(
      grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD, credentials);
  s->queues_ =
      std::make_unique<QueueServer>(s->service_.get(), s->envoy_.get(), s->health_.get(),
                                    s->reflection_.get(), &s->metrics_, options.grpc_threads);
  s->queues_->registerOn(&builder);
  // gRPC refuses a larger request itself, before it reaches the service, with RESOURCE_EXHAUSTED
  // "Received message larger than max (N vs. M)": one answer whatever the size.
  const size_t transport_limit = std::min<size_t>(options.max_message_size, INT32_MAX);
  builder.SetMaxReceiveMessageSize(static_cast<int>(transport_limit));
  auto ms = [](std::chrono::milliseconds d) {
    return static_cast<int>(std::min<int64_t>(d.count(), INT32_MAX));
  };
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options.max_concurrent_streams);
  builder.AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE, options.max_metadata_size);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, ms(options.handshake_timeout));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             ms(options.keepalive_min_time));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, options.max_ping_strikes);
  // Pings on a connection without calls are judged by the same interval (gRPC's default would
  // allow one per two hours there).
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  if (options.max_connection_idle.count() > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, ms(options.max_connection_idle));
  }
  s->grpc_ = builder.BuildAndStart();
  if (!s->grpc_) {
    return absl::UnavailableError(
        base::strCat("cannot start the gRPC server on ", options.address));
  }
  s->queues_->start();
  s->grpc_address_ = base::strCat(all_interfaces ? "0.0.0.0" : bracketed(host), ":", s->grpc_port_);
  s->metrics_.accepting().Set(1);
  s->acceptor_->start(s->grpc_acceptor_.get());

  if (monitoring_port >= 0) {
    s->monitoring_host_ = monitoring_host;
    if (options.debug_views) {
      s->status_page_ = std::make_unique<StatusPage>(s->config_.get());
    }
    MonitoringServer::Options mo;
    mo.host = s->monitoring_host_;
    mo.port = monitoring_port;
    mo.registry = s->metrics_.registry();
    mo.ready = [raw] { return raw->ready_.load() && raw->acceptor_->accepting(); };
    mo.version_json =
        base::strCat("{\"version\":\"", kVersion, "\",\"api\":\"istio.mixer.v1\",\"istio\":\"",
                     kIstioApiVersion, "\",\"globalWordCount\":222}\n");
    // The status page (--debug-views) and its log-level form, a POST with a small body.
    const StatusPage* status = s->status_page_.get();
    mo.routes.push_back(
        {[](std::string_view path) { return StatusPage::serves(path); },
         [status](const HttpRequest& request) -> HttpResponse {
           if (status == nullptr) {
             return {404, "text/plain",
                     "the debug views are off: start mixs with --debug-views to serve /status\n"};
           }
           return status->handle(request);
         },
         /*any_method=*/true});
    mo.max_body_bytes = 4096;
    mo.not_found =
        "not found: try /metrics, /healthz, /readyz, /version, /status (with --debug-views)\n";
    auto mon = MonitoringServer::start(std::move(mo));
    if (!mon.ok()) {
      s->acceptor_->stop();
      s->grpc_->Shutdown();
      return mon.status();
    }
    s->monitoring_ = *std::move(mon);
  }
  if (forward_auth_port >= 0) {
    forward_auth_options.registry = s->metrics_.registry();
    forward_auth_options.gate = s->gate_.get();
    s->forward_auth_ = std::make_unique<frontends::envoy::ForwardAuth>(
        s->config_.get(), std::move(forward_auth_options));
    HttpServer::Options http;
    http.host = forward_auth_host == "0.0.0.0" ? "" : forward_auth_host;
    http.port = forward_auth_port;
    http.any_method = true;  // Traefik sends the original method; nginx's subrequest keeps it
    http.max_connections = 1024;
    http.max_header_bytes = 64 * 1024;  // the original request's headers come along
    http.keep_alive = true;  // nginx upstream keepalive, Traefik's and Caddy's HTTP clients
    http.threads = options.forward_auth_threads;
    if (tls) {
      // The same certificates and client CA as the gRPC port.
      security::tls::TlsFiles files = options.tls;
      if (!mtls) files.client_cert = security::tls::ClientCertMode::kNone;
      auto https = security::tls::httpServerTls(files);
      if (!https.ok()) {
        s->acceptor_->stop();
        s->grpc_->Shutdown();
        return https.status();
      }
      http.tls = *std::move(https);
    }
    auto fa = HttpServer::start(
        http, [f = s->forward_auth_.get()](const HttpRequest& r) { return f->handle(r); });
    if (!fa.ok()) {
      s->acceptor_->stop();
      s->grpc_->Shutdown();
      return fa.status();
    }
    s->forward_auth_http_ = *std::move(fa);
  }
  if (lean_port >= 0) {
    LeanPort::Options lo;
    lo.host = lean_host;
    lo.port = lean_port;
    const int threads = std::max(1, options.lean_threads);
    lo.max_connections = std::max(1, s->max_connections_ / threads);
    lo.reuse_port = threads > 1;
    lo.limits.max_message_size = options.max_message_size;
    lo.limits.max_concurrent_streams = options.max_concurrent_streams;
    lo.limits.max_metadata_size = options.max_metadata_size;
    lo.limits.keepalive_min_time = options.keepalive_min_time;
    lo.limits.max_ping_strikes = options.max_ping_strikes;
    lo.max_connection_idle = options.max_connection_idle;
    lo.handshake_timeout = options.handshake_timeout;
    lo.limits.request_timeout = options.handshake_timeout;
    lo.gate = s->gate_.get();
    if (tls) {
      // The same certificates and client CA as the gRPC port; gRPC clients require ALPN "h2".
      security::tls::TlsFiles files = options.tls;
      if (!mtls) files.client_cert = security::tls::ClientCertMode::kNone;
      auto h2 = security::tls::httpServerTls(files, "h2");
      if (!h2.ok()) {
        s->acceptor_->stop();
        s->grpc_->Shutdown();
        return h2.status();
      }
      lo.tls = *std::move(h2);
    }
    for (int i = 0; i < threads; ++i) {
      if (threads > 1) lo.thread_name = base::strCat("mixs-lean-", i);
      auto lean = LeanPort::listen(lo, s->service_.get(), &s->metrics_);
      if (!lean.ok()) {
        s->lean_.clear();
        s->acceptor_->stop();
        s->grpc_->Shutdown();
        return lean.status();
      }
      lo.port = (*lean)->port();  // the others listen where the first one did (port 0: chosen)
      s->lean_.push_back(*std::move(lean));
    }
    for (auto& lean : s->lean_) lean->start();
  }
  s->ready_ = true;
  s->health_->setServing(s->acceptor_->accepting());
  return s;
}

void MixsServer::shutdown(std::chrono::milliseconds grace) {
  ready_ = false;
  forward_auth_http_.reset();  // stops its loop: no forward-auth call is running after this
  if (acceptor_) {
    acceptor_->stop();  // no new connection; the loop no longer touches the health service
  }
  // The lean port drains beside the gRPC port, within the same grace: GOAWAY, calls in flight
  // answered, quota calls by their adapter's deadline.
  std::vector<std::thread> lean_stops;
  for (auto& lean : lean_) {
    lean_stops.emplace_back([&lean, grace] { lean->stop(grace); });
  }
  if (grpc_ && !stopped_) {
    stopped_ = true;
    health_->shutdown();  // NOT_SERVING; Watch streams end
    grpc_->Shutdown(std::chrono::system_clock::now() + grace);
    queues_->stop();  // every call answered (quota calls by their adapter's deadline), then drained
    grpc_->Wait();
  }
  for (std::thread& t : lean_stops) t.join();
  if (config_) {
    config_->shutdown();  // stop watching; deliver queued reports
  }
}

MixsServer::~MixsServer() {
  shutdown(std::chrono::milliseconds(0));
  monitoring_.reset();
}

}  // namespace mixer::server
