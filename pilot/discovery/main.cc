// pilot-discovery: serves the service model and Istio routing config to xDS v3 clients (proxyless
// gRPC, Envoy) over ADS.
//
//   pilot-discovery (--registry-dir DIR | --etcd-address HOST:PORT) [--config-dir DIR]
//                   [--grpc-address 0.0.0.0:15010] [--monitoring-address 127.0.0.1:15014]
//   pilot-discovery --validate --registry-dir DIR --config-dir DIR   (check and exit)
//
// With --rules-address, the Rules API (pilot/rules/rules_api.h) lets meshctl and other tools
// list, create, replace and delete routing config in the store it is loaded from.
//
// With --ca-cert/--ca-key or --ca-self-signed it is also the mesh's CA (docs/citadel.md): Istio's
// IstioCertificateService and SDS (SecretDiscoveryService, and secrets on the ADS stream) on the
// gRPC port.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <iostream>
#include <optional>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/go_duration.h"
#include "base/log.h"
#include "pilot/discovery/monitoring.h"
#include "pilot/discovery/push_scheduler.h"
#include "pilot/model/etcd_registry.h"
#include "pilot/model/file_registry.h"
#include "pilot/rules/rules_api.h"
#include "pilot/rules/rules_server.h"
#include "pilot/xds/ads_server.h"
#include "pilot/xds/secrets.h"
#include "security/ca/ca_server.h"
#include "security/ca/certificate_authority.h"
#include "security/ca/join_tokens.h"
#include "security/tls/caller_gate.h"
#include "security/tls/credentials.h"
#include "security/tls/http_tls.h"

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

// The CA's roots must be among the client CAs of the port, or renewing workloads could not
// present the certificates it issued.
absl::Status checkHoldsRoots(const std::string& client_ca_path,
                             const security::ca::CertificateAuthority& ca) {
  auto text = security::ca::readFile(client_ca_path);
  if (!text.ok()) return text.status();
  auto have = security::ca::parseCertificates(*text);
  auto want = security::ca::parseCertificates(ca.trustBundlePem());
  if (!have.ok()) return have.status();
  if (!want.ok()) return want.status();
  for (const auto& root : *want) {
    bool found = false;
    for (const auto& c : *have) found = found || X509_cmp(c.get(), root.get()) == 0;
    if (!found) {
      return absl::InvalidArgumentError(
          "--tls-client-ca " + client_ca_path +
          " must hold the CA's roots (its trust bundle, e.g. the --ca-root-out file)");
    }
  }
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's Abseil keeps absl::Mutex deadlock detection on (no NDEBUG); it is a debugging aid
  // that costs every lock gRPC takes (see mixs' main).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
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
  // The CA.
  std::string ca_cert, ca_key, ca_trust_bundle, ca_root_out, join_tokens, join_tokens_used;
  bool ca_self_signed = false;
  std::string trust_domain = "cluster.local";
  std::string workload_cert_ttl = "24h";
  auto* ca_cert_option = app.add_option(
      "--ca-cert", ca_cert,
      "CA signing certificate, PEM (a root, or an intermediate followed by its chain to the root)");
  auto* ca_key_option = app.add_option("--ca-key", ca_key, "private key of --ca-cert, PEM");
  app.add_option("--ca-trust-bundle", ca_trust_bundle,
                 "more trusted roots, PEM: served with the CA's root (root rotation)");
  auto* self_signed_option =
      app.add_flag("--ca-self-signed", ca_self_signed,
                   "generate a root for a trial (its key lives in memory only); see --ca-root-out");
  app.add_option("--ca-root-out", ca_root_out, "write the generated root certificate here");
  app.add_option("--trust-domain", trust_domain, "the SPIFFE trust domain of the mesh");
  app.add_option("--workload-cert-ttl", workload_cert_ttl,
                 "longest validity of a workload certificate (e.g. 24h, 90m)");
  app.add_option("--join-tokens", join_tokens,
                 "YAML list of {token, spiffe_id, expires}: single-use tokens for first issue "
                 "(reloaded on change)");
  app.add_option("--join-tokens-used", join_tokens_used,
                 "file recording used tokens (SHA-256), so that they stay used across restarts");
  ca_cert_option->needs(ca_key_option);
  ca_key_option->needs(ca_cert_option);
  self_signed_option->excludes(ca_cert_option);
  security::tls::TlsFiles tls;
  app.add_option("--tls-cert", tls.cert,
                 "PEM certificate chain of the xDS port (with --tls-key: TLS; re-read on change)");
  app.add_option("--tls-key", tls.key, "PEM private key of --tls-cert");
  app.add_option("--tls-client-ca", tls.ca,
                 "PEM CA bundle client certificates must chain to (mTLS: required and verified; "
                 "with the CA: asked for and verified if sent, and the CA's roots must be in it)");
  std::string tls_refresh = "60s";
  app.add_option("--tls-refresh-interval", tls_refresh,
                 "how often the TLS files are re-read (Go duration, at least 1s)");
  std::string callers_file;
  app.add_option("--callers", callers_file,
                 "YAML file of which caller identities may fetch xDS (docs/security.md; needs "
                 "--tls-client-ca)");
  std::string rules_address;
  app.add_option("--rules-address", rules_address,
                 "host:port of the Rules API (REST for VirtualService, DestinationRule, "
                 "ServiceEntry; docs/pilot.md). Off unless given; use a loopback address "
                 "(127.0.0.1:15016) unless TLS is on");
  bool rules_allow_plaintext = false;
  app.add_flag("--rules-allow-plaintext", rules_allow_plaintext,
               "let the Rules API listen on a non-loopback address without TLS (anyone who "
               "reaches it can change the routing)");
  std::string config_etcd_prefix = "/pilot/config/";
  app.add_option("--config-etcd-prefix", config_etcd_prefix,
                 "with --etcd-address and no --config-dir: the etcd key prefix of the routing "
                 "config (one document per key)");
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
  if (config_dir.empty() && !etcd_address.empty()) {
    pilot::model::EtcdOptions config_etcd;
    if (!pilot::model::parseEtcdAddress(etcd_address, &config_etcd)) {
      std::cerr << "pilot-discovery: --etcd-address must be host:port\n";
      return 2;
    }
    config_etcd.prefix = config_etcd_prefix;
    options.config_etcd = config_etcd;
  }
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

  // The CA, when asked for.
  std::unique_ptr<security::ca::CertificateAuthority> ca;
  std::unique_ptr<security::ca::JoinTokenStore> tokens;
  std::unique_ptr<security::ca::CaMetrics> ca_metrics;
  std::unique_ptr<security::ca::WorkloadAuthenticator> authenticator;
  std::unique_ptr<security::ca::CertificateService> certificate_service;
  std::unique_ptr<pilot::xds::SecretProvider> secret_provider;
  if (!ca_cert.empty() || ca_self_signed) {
    security::ca::CaOptions ca_options;
    ca_options.trust_domain = trust_domain;
    absl::Duration ttl;
    if (!absl::ParseDuration(workload_cert_ttl, &ttl) || ttl < absl::Seconds(1)) {
      std::cerr << "pilot-discovery: --workload-cert-ttl must be a duration of a second or more\n";
      return 2;
    }
    ca_options.workload_ttl = std::chrono::seconds(absl::ToInt64Seconds(ttl));
    absl::StatusOr<std::unique_ptr<security::ca::CertificateAuthority>> made;
    if (ca_self_signed) {
      made = security::ca::CertificateAuthority::selfSigned(ca_options);
    } else {
      auto cert = security::ca::readFile(ca_cert);
      auto key = security::ca::readFile(ca_key);
      absl::StatusOr<std::string> bundle = std::string();
      if (!ca_trust_bundle.empty()) bundle = security::ca::readFile(ca_trust_bundle);
      for (const auto* s : {&cert.status(), &key.status(), &bundle.status()}) {
        if (!s->ok()) {
          std::cerr << "pilot-discovery: " << s->message() << "\n";
          return 1;
        }
      }
      made = security::ca::CertificateAuthority::fromPem(*cert, *key, *bundle, ca_options);
    }
    if (!made.ok()) {
      std::cerr << "pilot-discovery: CA: " << made.status().message() << "\n";
      return 1;
    }
    ca = std::move(*made);
    if (!ca_root_out.empty()) {
      if (auto s = security::ca::writeFileAtomically(ca_root_out, ca->trustBundlePem(), 0644);
          !s.ok()) {
        std::cerr << "pilot-discovery: " << s.message() << "\n";
        return 1;
      }
    }
    if (!join_tokens.empty()) {
      tokens = std::make_unique<security::ca::JoinTokenStore>(join_tokens, trust_domain,
                                                              join_tokens_used);
      if (auto s = tokens->load(); !s.ok()) {
        std::cerr << "pilot-discovery: --join-tokens: " << s.message() << "\n";
        return 1;
      }
    }
    ca_metrics = std::make_unique<security::ca::CaMetrics>(*prometheus_registry);
    authenticator = std::make_unique<security::ca::WorkloadAuthenticator>(ca.get(), tokens.get(),
                                                                          ca_metrics.get());
    certificate_service = std::make_unique<security::ca::CertificateService>(authenticator.get());
    secret_provider = std::make_unique<pilot::xds::SecretProvider>(authenticator.get());
  } else if (!ca_root_out.empty() || !join_tokens.empty()) {
    std::cerr << "pilot-discovery: --ca-root-out and --join-tokens need --ca-cert or "
                 "--ca-self-signed\n";
    return 2;
  }

  // Transport security: a bad file or policy is an error before anything listens.
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  const bool tls_on = !tls.cert.empty() || !tls.key.empty() || !tls.ca.empty();
  const bool mtls = tls_on && !tls.ca.empty();
  if (tls_on) {
    const auto refresh = mixer::base::parseGoDuration(tls_refresh);
    if (!refresh || *refresh < 1000000000) {
      std::cerr << "pilot-discovery: --tls-refresh-interval " << tls_refresh
                << ": want a duration of at least 1s\n";
      return 2;
    }
    tls.refresh = std::chrono::seconds(*refresh / 1000000000);
    if (!mtls) tls.client_cert = security::tls::ClientCertMode::kNone;
    if (ca != nullptr && mtls) {
      // Join-token holders have no certificate yet; renewing workloads present the one the CA
      // issued, so the CA's roots must verify it.
      tls.client_cert = security::tls::ClientCertMode::kOptional;
      if (auto s = checkHoldsRoots(tls.ca, *ca); !s.ok()) {
        std::cerr << "pilot-discovery: " << s.message() << "\n";
        return 2;
      }
    }
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

  // The Rules API's address, checked before anything listens.
  std::string rules_host;
  int rules_port = 0;
  if (!rules_address.empty()) {
    if (!splitHostPort(rules_address, &rules_host, &rules_port)) {
      std::cerr << "pilot-discovery: --rules-address must be host:port\n";
      return 2;
    }
    if (rules_host.size() > 2 && rules_host.front() == '[' && rules_host.back() == ']') {
      rules_host = rules_host.substr(1, rules_host.size() - 2);  // [::1]:15016
    }
    const bool loopback =
        rules_host == "localhost" || rules_host == "::1" || rules_host.rfind("127.", 0) == 0;
    if (!loopback && !tls_on && !rules_allow_plaintext) {
      std::cerr << "pilot-discovery: the Rules API on " << rules_address
                << " would take routing changes from anyone who reaches it: turn on TLS "
                   "(--tls-cert, --tls-key, --tls-client-ca), bind it to loopback, or pass "
                   "--rules-allow-plaintext\n";
      return 2;
    }
    if (config_dir.empty() && !options.config_etcd) {
      std::cerr << "pilot-discovery: --rules-address needs a config store: --config-dir or "
                   "--etcd-address\n";
      return 2;
    }
  }

  pilot::xds::DiscoveryServer discovery(snapshot, &metrics);
  discovery.setCallerGate(gate.get());
  std::unique_ptr<pilot::xds::SecretDiscoveryServer> sds;
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort(grpc_address, credentials, &grpc_port);
  builder.RegisterService(&discovery);
  if (ca != nullptr) {
    discovery.setSecretProvider(secret_provider.get());
    sds = std::make_unique<pilot::xds::SecretDiscoveryServer>(&discovery, secret_provider.get());
    builder.RegisterService(certificate_service.get());
    builder.RegisterService(sds.get());
  }
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
  auto started = mixer::MonitoringServer::start(pilot::discovery::monitoringOptions(
      mon_host, mon_port, prometheus_registry, debug_views ? &discovery : nullptr, &discovery));
  if (!started.ok()) {
    std::cerr << "pilot-discovery: " << started.status().message() << "\n";
    return 1;
  }
  std::unique_ptr<mixer::MonitoringServer> monitoring = *std::move(started);
  std::string error;
  // The Rules API: writes go to the store the scheduler loads from.
  std::unique_ptr<pilot::rules::RulesApi> rules_api;
  std::unique_ptr<pilot::rules::RulesServer> rules_server;
  if (!rules_address.empty()) {
    std::unique_ptr<pilot::rules::RulesStore> store;
    if (!config_dir.empty()) {
      store = std::make_unique<pilot::rules::DirStore>(config_dir);
    } else if (options.config_etcd) {
      store = std::make_unique<pilot::rules::EtcdStore>(*options.config_etcd);
    } else {
      std::cerr << "pilot-discovery: --rules-address needs a config store: --config-dir or "
                   "--etcd-address\n";
      return 2;
    }
    const std::string store_name = store->describe();
    rules_api = std::make_unique<pilot::rules::RulesApi>(
        std::move(store), options.parse, gate.get(), [&scheduler] { scheduler.notify(); });
    pilot::rules::RulesServer::Options rules_options;
    rules_options.host = rules_host;
    rules_options.port = rules_port;
    if (tls_on) {
      auto http_tls = security::tls::httpServerTls(tls);
      if (!http_tls.ok()) {
        std::cerr << "pilot-discovery: " << http_tls.status().message() << "\n";
        return 2;
      }
      rules_options.tls = *std::move(http_tls);
    }
    auto started = pilot::rules::RulesServer::start(std::move(rules_options), rules_api.get());
    if (!started.ok()) {
      std::cerr << "pilot-discovery: " << started.status().message() << " (the Rules API)\n";
      return 1;
    }
    rules_server = *std::move(started);
    std::cout << "pilot-discovery: rules API"
              << (mtls     ? " (mTLS)"
                  : tls_on ? " (TLS)"
                           : "")
              << " on " << rules_host << ":" << rules_server->port() << ", writing to "
              << store_name << std::endl;
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
  if (ca != nullptr) {
    std::cout << "pilot-discovery: CA for trust domain " << trust_domain
              << (tokens != nullptr ? ", join tokens: " + std::to_string(tokens->size()) : "")
              << std::endl;
  }

  signal(SIGINT, [](int) { g_stop = true; });
  signal(SIGTERM, [](int) { g_stop = true; });
  for (int tick = 1; !g_stop; ++tick) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (tick % 10 == 0) discovery.refreshSecrets();
  }

  if (rules_api) rules_api->stop();
  rules_server.reset();
  rules_api.reset();
  scheduler.stop();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  monitoring.reset();
  std::cout << "pilot-discovery: stopped" << std::endl;
  return 0;
}
