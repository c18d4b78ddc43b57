// pilot-discovery: serves the service model and Istio routing config to xDS v3 clients (proxyless
// gRPC, Envoy) over ADS.
//
//   pilot-discovery (--registry-dir DIR | --etcd-address HOST:PORT) [--config-dir DIR]
//                   [--grpc-address 0.0.0.0:15010] [--monitoring-address 127.0.0.1:15014]
//   pilot-discovery --validate --registry-dir DIR --config-dir DIR   (check and exit)
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <iostream>
#include <optional>
#include <thread>

#include "mixer/common/log.h"
#include "mixer/common/time_format.h"
#include "pilot/discovery/monitoring.h"
#include "pilot/discovery/push_scheduler.h"
#include "pilot/model/etcd_registry.h"
#include "pilot/model/file_registry.h"
#include "pilot/xds/ads_server.h"
#include "security/tls/caller_gate.h"
#include "security/tls/credentials.h"

namespace {

std::atomic<bool> g_stop{false};

bool splitHostPort(const std::string& address, std::string* host, int* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  *host = address.substr(0, colon);
  try {
    *port = std::stoi(address.substr(colon + 1));
  } catch (...) {
    return false;
  }
  return *port >= 0 && *port <= 65535;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"pilot-discovery: xDS v3 discovery server for proxyless gRPC and Envoy"};
  std::string grpc_address = "0.0.0.0:15010";
  std::string monitoring_address = "127.0.0.1:15014";
  std::string config_dir;
  std::string registry_dir;
  std::string domain_suffix = "svc.cluster.local";
  int debounce_after_ms = 100;
  int debounce_max_ms = 10000;
  std::string log_level = "info";
  bool validate = false;
  app.add_option("--grpc-address", grpc_address, "host:port of the ADS server (port 0 picks one)");
  app.add_option("--monitoring-address", monitoring_address,
                 "host:port for /metrics and /debug/config_dump (port 0 picks one)");
  app.add_option("--config-dir", config_dir,
                 "directory of VirtualService, DestinationRule, ServiceEntry YAML (watched)")
      ->check(CLI::ExistingDirectory);
  std::string etcd_address;
  std::string etcd_prefix = "/pilot/services/";
  auto* dir_option =
      app.add_option("--registry-dir", registry_dir, "directory of service registry YAML (watched)")
          ->check(CLI::ExistingDirectory);
  auto* etcd_option = app.add_option("--etcd-address", etcd_address,
                                     "host:port of etcd's client URL: the registry is in etcd");
  app.add_option("--etcd-prefix", etcd_prefix, "etcd key prefix of the registry documents");
  dir_option->excludes(etcd_option);
  app.add_option("--domain-suffix", domain_suffix, "suffix that expands short hosts");
  app.add_option("--debounce-after-ms", debounce_after_ms, "quiet period before a push")
      ->check(CLI::Range(0, 600000));
  app.add_option("--debounce-max-ms", debounce_max_ms, "longest a push is delayed by changes")
      ->check(CLI::Range(0, 600000));
  app.add_option("--log-level", log_level, "debug, info, warn, error");
  app.add_flag("--validate", validate, "load both directories, report errors and exit");
  security::tls::TlsFiles tls;
  app.add_option("--tls-cert", tls.cert,
                 "PEM certificate chain of the xDS port (with --tls-key: TLS; re-read on change)");
  app.add_option("--tls-key", tls.key, "PEM private key of --tls-cert");
  app.add_option("--tls-client-ca", tls.ca,
                 "PEM CA bundle client certificates must chain to (mTLS: required and verified)");
  std::string tls_refresh = "60s";
  app.add_option("--tls-refresh-interval", tls_refresh,
                 "how often the TLS files are re-read (Go duration, at least 1s)");
  std::string callers_file;
  app.add_option("--callers", callers_file,
                 "YAML file of which caller identities may fetch xDS (docs/security.md; needs "
                 "--tls-client-ca)");
  bool debug_views = false;
  app.add_flag("--debug-views", debug_views,
               "serve /debug/config_dump on the monitoring address (off: it shows every "
               "client's configuration to whoever reaches that port)");
  CLI11_PARSE(app, argc, argv);
  if (registry_dir.empty() == etcd_address.empty()) {
    std::cerr << "pilot-discovery: give one of --registry-dir and --etcd-address\n";
    return 2;
  }

  if (const auto level = mixer::parseLogLevel(log_level)) {
    mixer::setLogLevel(*level);
  } else {
    std::cerr << "pilot-discovery: unknown --log-level " << log_level << "\n";
    return 2;
  }

  pilot::discovery::SchedulerOptions options;
  options.config_dir = config_dir;
  options.parse.domain_suffix = domain_suffix;
  options.debounce_after = std::chrono::milliseconds(debounce_after_ms);
  options.debounce_max = std::chrono::milliseconds(debounce_max_ms);

  auto prometheus_registry = std::make_shared<prometheus::Registry>();
  pilot::xds::XdsMetrics metrics(prometheus_registry);
  std::unique_ptr<pilot::model::ServiceRegistry> registry;
  if (!etcd_address.empty()) {
    pilot::model::EtcdOptions etcd;
    if (!pilot::model::parseEtcdAddress(etcd_address, &etcd)) {
      std::cerr << "pilot-discovery: --etcd-address must be host:port\n";
      return 2;
    }
    etcd.prefix = etcd_prefix;
    registry = std::make_unique<pilot::model::EtcdRegistry>(etcd);
  } else {
    registry = std::make_unique<pilot::model::FileRegistry>(registry_dir);
  }
  pilot::discovery::PushScheduler scheduler(options, registry.get(), &metrics);
  std::vector<pilot::model::ConfigError> errors;
  if (!scheduler.loadInitial(&errors)) {
    std::cerr << pilot::model::formatErrors(errors);
    std::cerr << "pilot-discovery: " << errors.size() << " error(s)\n";
    return 1;
  }
  const auto snapshot = scheduler.snapshot();
  if (validate) {
    std::cout << "ok: " << snapshot->resources[2].size() << " listeners, "
              << snapshot->resources[3].size() << " route configs, "
              << snapshot->resources[0].size() << " clusters, " << snapshot->resources[1].size()
              << " endpoint sets\n";
    return 0;
  }

  // Transport security: a bad file or policy is an error before anything listens.
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  const bool tls_on = !tls.cert.empty() || !tls.key.empty() || !tls.ca.empty();
  const bool mtls = tls_on && !tls.ca.empty();
  if (tls_on) {
    const auto refresh = mixer::parseGoDuration(tls_refresh);
    if (!refresh || *refresh < 1000000000) {
      std::cerr << "pilot-discovery: --tls-refresh-interval " << tls_refresh
                << ": want a duration of at least 1s\n";
      return 2;
    }
    tls.refresh = std::chrono::seconds(*refresh / 1000000000);
    if (!mtls) tls.client_cert = security::tls::ClientCertMode::kNone;
    auto c = security::tls::serverCredentials(tls);
    if (!c.ok()) {
      std::cerr << "pilot-discovery: " << c.status().message() << "\n";
      return 2;
    }
    credentials = *std::move(c);
  }
  std::optional<security::tls::CallerPolicy> callers;
  if (!callers_file.empty()) {
    if (!mtls) {
      std::cerr << "pilot-discovery: --callers needs mTLS (--tls-cert, --tls-key, "
                   "--tls-client-ca): without client certificates no caller has an identity\n";
      return 2;
    }
    auto policy = security::tls::CallerPolicy::load(callers_file);
    if (!policy.ok()) {
      std::cerr << "pilot-discovery: " << policy.status().message() << "\n";
      return 2;
    }
    callers = *std::move(policy);
  }
  std::unique_ptr<security::tls::CallerGate> gate;
  if (callers) {
    gate = std::make_unique<security::tls::CallerGate>(std::move(callers), prometheus_registry,
                                                       "pilot_callers_denied_total");
  }

  pilot::xds::DiscoveryServer discovery(snapshot, &metrics);
  discovery.setCallerGate(gate.get());
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort(grpc_address, credentials, &grpc_port);
  builder.RegisterService(&discovery);
  // Proxyless clients keep their ADS stream open; keepalive pings find dead peers.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || grpc_port == 0) {
    std::cerr << "pilot-discovery: cannot listen on " << grpc_address << "\n";
    return 1;
  }
  std::string mon_host;
  int mon_port = 0;
  if (!splitHostPort(monitoring_address, &mon_host, &mon_port)) {
    std::cerr << "pilot-discovery: --monitoring-address must be host:port\n";
    return 2;
  }
  std::string error;
  auto monitoring = pilot::discovery::MonitoringServer::start(
      mon_host, mon_port, prometheus_registry, debug_views ? &discovery : nullptr, &error);
  if (monitoring == nullptr) {
    std::cerr << "pilot-discovery: " << error << "\n";
    return 1;
  }
  if (!scheduler.start(&discovery, &error)) {
    std::cerr << "pilot-discovery: " << error << "\n";
    return 1;
  }
  const std::string host = grpc_address.substr(0, grpc_address.rfind(':'));
  std::cout << "pilot-discovery: xDS"
            << (mtls     ? " (mTLS)"
                : tls_on ? " (TLS)"
                         : "")
            << " on " << host << ":" << grpc_port << ", monitoring on " << mon_host << ":"
            << monitoring->port() << ", snapshot " << snapshot->version << std::endl;

  signal(SIGINT, [](int) { g_stop = true; });
  signal(SIGTERM, [](int) { g_stop = true; });
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));

  scheduler.stop();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  monitoring.reset();
  std::cout << "pilot-discovery: stopped" << std::endl;
  return 0;
}
