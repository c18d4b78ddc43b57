// mixs: the mixer server.
//   mixs server [flags]   serve istio.mixer.v1 (Check, Report) and the monitoring endpoints
//   mixs version          print the version
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>
#include <tuple>
#include "absl/synchronization/mutex.h"

#include "base/go_duration.h"
#include "base/log.h"
#include "base/version.h"
#include "mixer/adapter_host/adapter_host.h"
#include "mixer/server/mixs_server.h"

namespace {

// `mixs validate DIR`: loads and compiles a configuration directory as the server would (with
// the adapters of --adapter-dir) and prints every error; exit 0 and a summary when valid.
// With `skip_invalid`, as `mixs server --skip-invalid-resources` would serve it: the resources
// left out are printed ("skipped: ...") and do not fail the check.
int runValidate(const std::string& dir, const std::vector<std::string>& adapter_dirs,
                bool skip_invalid) {
  mixer::adapter_host::AdapterHost::Options ao;
  ao.adapter_dirs = adapter_dirs;
  mixer::adapter_host::AdapterHost adapters(std::move(ao));
  for (const auto& e : adapters.loadErrors()) {
    std::cerr << "mixs: adapter not loaded: " << e << "\n";
  }
  if (!std::filesystem::is_directory(dir)) {
    std::cerr << "mixs validate: " << dir << ": not a directory\n";
    return 2;
  }
  // Validation checks every handler's params but creates none: nothing starts, no port is bound.
  mixer::runtime::LoadOptions load_options;
  load_options.validate_only = true;
  load_options.skip_invalid_resources = skip_invalid;
  auto loaded = mixer::runtime::loadConfig(
      dir, adapters.registry(), mixer::attribute::Vocabulary::builtin(), 1, load_options);
  for (const auto& e : loaded.errors) {
    std::printf("%s\n", e.str().c_str());
  }
  for (const auto& w : loaded.unavailable) {
    std::printf("%s\n", w.str().c_str());
  }
  for (const auto& e : loaded.skipped) {
    std::printf("skipped: %s\n", e.str().c_str());
  }
  if (!loaded.snapshot) {
    std::printf("%s: %zu error(s)\n", dir.c_str(), loaded.errors.size());
    return 1;
  }
  std::printf("%s: valid: %zu files, %zu documents, %zu rules, %zu handlers, %zu instances",
              dir.c_str(), loaded.files, loaded.documents, loaded.snapshot->ruleCount(),
              loaded.snapshot->handlerCount(), loaded.snapshot->instanceCount());
  if (loaded.descriptor_documents > 0) {
    std::printf(", %zu template/adapter descriptors", loaded.descriptor_documents);
  }
  if (!loaded.unavailable.empty()) {
    std::printf(", %zu unavailable handler(s) whose rules are skipped", loaded.unavailable.size());
  }
  if (!loaded.skipped.empty()) {
    std::printf(", %zu invalid resource(s) skipped", loaded.skipped.size());
  }
  std::printf("\n");
  return 0;
}

// SIGTERM and SIGINT, taken by one thread from the first moment of `mixs server`. Before the
// server serves (configuration loading, adapters starting; nothing accepted yet) a signal ends the
// process at once, so an orchestrator's SIGTERM during a slow start-up does not wait for it. Once
// it serves, a signal starts the drain: waitForStop() returns it.
class TerminationSignals {
 public:
  TerminationSignals() {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGTERM);
    sigaddset(&signals_, SIGINT);
    // Blocked in this thread and in every thread started after it (gRPC's, adapters').
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
    std::thread([this] {
      int sig = 0;
      sigwait(&signals_, &sig);
      std::unique_lock<std::mutex> lock(mu_);
      if (!serving_) {
        MIXER_LOG(Info) << "received " << name(sig) << " during start-up: exiting";
        std::printf("mixs: stopped during start-up\n");
        std::fflush(stdout);
        std::fflush(stderr);
        _exit(0);
      }
      signal_ = sig;
      cv_.notify_all();
    }).detach();
  }

  // From now on a signal drains the server instead of ending the process.
  void serving() {
    std::lock_guard<std::mutex> lock(mu_);
    serving_ = true;
  }

  int waitForStop() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return signal_ != 0; });
    return signal_;
  }

  static const char* name(int sig) { return sig == SIGTERM ? "SIGTERM" : "SIGINT"; }

 private:
  sigset_t signals_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool serving_ = false;
  int signal_ = 0;
};

// How long a stopping server may take. `drain`: calls in flight may finish (then gRPC cancels
// them). `hard`: from the signal to the end of the process, whatever is still running then
// (a call stuck in an adapter, reports that cannot be flushed) is abandoned.
struct ShutdownDeadlines {
  std::chrono::nanoseconds drain{std::chrono::seconds(10)};
  std::chrono::nanoseconds hard{std::chrono::seconds(20)};
};

// Ends the process at `hard` after now, from a thread of its own: the log line is written from
// yet another thread, so that a blocked stderr cannot hold the exit.
void startShutdownWatchdog(std::chrono::nanoseconds hard) {
  std::thread([hard] {
    std::this_thread::sleep_for(hard);
    std::thread([hard] {
      MIXER_LOG(Error) << "shutdown deadline of " << mixer::base::formatGoDuration(hard.count())
                       << " passed: abandoning in-flight work and unsent reports";
      std::fflush(stderr);
    }).detach();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    _exit(1);
  }).detach();
}

// The host of a "host:port" flag as the start-up lines show it: "0.0.0.0" for every interface.
std::string shownHost(const std::string& address) {
  std::string host = address.substr(0, address.rfind(':'));
  return host.empty() ? "0.0.0.0" : host;
}

int runServer(const mixer::server::ServerOptions& options, const ShutdownDeadlines& deadlines) {
  // Lives until the process exits: its thread is detached and may still be waiting.
  static TerminationSignals* signals = new TerminationSignals();

  if (!options.config_dir.empty() && !std::filesystem::is_directory(options.config_dir)) {
    std::cerr << "mixs: --config-dir " << options.config_dir << ": not a directory\n";
    return 2;
  }
  for (const auto& dir : options.adapter_dirs) {
    if (!std::filesystem::is_directory(dir)) {
      std::cerr << "mixs: --adapter-dir " << dir << ": not a directory\n";
      return 2;
    }
  }

  std::vector<mixer::config::ConfigError> config_errors;
  auto server = mixer::server::MixsServer::start(options, &config_errors);
  if (!server.ok()) {
    for (const auto& e : config_errors) {
      std::cerr << e.str() << "\n";
    }
    std::cerr << "mixs: " << server.status().message() << "\n";
    return 1;
  }
  std::printf("mixs %s: serving istio.mixer.v1 (Istio %s API) on %s\n", mixer::kVersion,
              mixer::kIstioApiVersion, (*server)->grpcAddress().c_str());
  if ((*server)->monitoringPort() >= 0) {
    const std::string& host = (*server)->monitoringHost();
    const std::string shown =
        host.empty() ? "0.0.0.0" : (host.find(':') != std::string::npos ? "[" + host + "]" : host);
    std::printf("mixs: monitoring on http://%s:%d (/metrics /healthz /readyz /version%s)\n",
                shown.c_str(), (*server)->monitoringPort(), options.debug_views ? " /status" : "");
  }
  const bool tls = !options.tls.cert.empty();
  if ((*server)->leanPort() >= 0) {
    std::printf("mixs: lean port (Check and Report over libnghttp2, %s) on %s:%d\n",
                tls ? "TLS" : "plain text", shownHost(options.lean_address).c_str(),
                (*server)->leanPort());
  }
  if ((*server)->forwardAuthPort() >= 0) {
    std::printf("mixs: forward-auth on %s://%s:%d\n", tls ? "https" : "http",
                shownHost(options.forward_auth_address).c_str(), (*server)->forwardAuthPort());
  }
  const auto& snapshot = (*server)->config().current()->snapshot();
  std::printf("mixs: configuration %s: %zu rules, %zu handlers, %zu instances\n",
              options.config_dir.empty() ? "embedded default" : options.config_dir.c_str(),
              snapshot.ruleCount(), snapshot.handlerCount(), snapshot.instanceCount());
  std::fflush(stdout);
  signals->serving();

  const int sig = signals->waitForStop();
  MIXER_LOG(Info) << "received " << TerminationSignals::name(sig) << ": finishing in-flight calls";
  startShutdownWatchdog(deadlines.hard);
  (*server)->shutdown(std::chrono::duration_cast<std::chrono::milliseconds>(deadlines.drain));
  std::printf("mixs: stopped\n");
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Debian builds Abseil without NDEBUG, which leaves absl::Mutex's deadlock detection on: every
  // lock gRPC takes then updates a lock graph (and records stack traces), about 5% of mixs' CPU
  // per Check (docs/performance.md). It is a debugging aid; the sanitizer builds keep their own.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{"mixs: policy and telemetry server speaking Istio's istio.mixer.v1 API"};
  app.require_subcommand(1);

  mixer::server::ServerOptions options;
  std::string log_level = "info";
  auto* server = app.add_subcommand("server", "Serve Check and Report over gRPC");
  server
      ->add_option("--address", options.address,
                   "gRPC listen address host:port (port 0 picks a free port)")
      ->capture_default_str();
  server
      ->add_option("--monitoring-port", options.monitoring_port,
                   "Port of /metrics, /healthz, /readyz, /version, on the --address host (0 picks "
                   "a free port, -1 disables)")
      ->capture_default_str();
  server->add_option(
      "--monitoring-address", options.monitoring_address,
      "host:port of the monitoring endpoints (wins over --monitoring-port; \":PORT\" "
      "listens on every interface; default: the --address host)");
  server->add_flag("--debug-views", options.debug_views,
                   "Serve the status page on the monitoring port: /status (HTML) and its JSON "
                   "twins, with recent denials and a form that changes the log level (plain "
                   "HTTP: keep the port on loopback or a trusted network)");
  server->add_option("--forward-auth-address", options.forward_auth_address,
                     "host:port of HTTP forward-auth (nginx auth_request, Traefik ForwardAuth, "
                     "Caddy forward_auth; port 0 picks a free port; default: off)");
  server->add_option("--lean-address", options.lean_address,
                     "host:port of the lean port: istio.mixer.v1 Check and Report over libnghttp2 "
                     "on one thread, with the gRPC port's limits, TLS and callers (off by "
                     "default; docs/mixs-and-mixc.md)");
  server
      ->add_option("--lean-threads", options.lean_threads,
                   "Threads of the lean port, each with its own listening socket and "
                   "connections (SO_REUSEPORT)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  server->add_option("--forward-auth-quota", options.forward_auth_quotas,
                     "NAME[=AMOUNT]: a quota asked on every forward-auth check (AMOUNT 1 by "
                     "default; repeatable)");
  server
      ->add_option("--forward-auth-threads", options.forward_auth_threads,
                   "Event-loop threads of the forward-auth port (a check waiting on a quota "
                   "adapter holds only its own thread's connections)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  server
      ->add_option("--grpc-threads", options.grpc_threads,
                   "Threads serving the gRPC port, each with its own completion queue (0: one "
                   "per CPU); more than one adds capacity at a thread hand-off per call")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  server->add_option("--config-dir", options.config_dir,
                     "Directory of configuration files (default: the embedded configuration)");
  server->add_flag("--skip-invalid-resources", options.skip_invalid_resources,
                   "Serve the configuration directory as Istio's mixs did: leave out each "
                   "resource that has an error (logged, and counted in "
                   "mixer_config_skipped_resources) and serve the rest, instead of refusing "
                   "the whole directory");
  server->add_option("--prometheus-address", options.prometheus_address,
                     "host:port of the embedded configuration's Prometheus exposition (default "
                     "port 42422 on the monitoring host; port 0 picks a free port; ignored with "
                     "--config-dir)");
  server->add_option("--adapter-dir", options.adapter_dirs,
                     "Directory of adapter shared objects (repeatable; default: the build's or "
                     "install's adapter directory)");
  server->add_option("--log-level", log_level, "debug, info, warn, error or none")
      ->capture_default_str();
  server
      ->add_option("--max-message-size", options.max_message_size,
                   "Largest accepted request, in bytes (larger: RESOURCE_EXHAUSTED)")
      ->capture_default_str();
  server
      ->add_option("--max-attributes-per-request", options.limits.max_attributes,
                   "Most attribute values in one Check or one Report entry")
      ->capture_default_str();
  server
      ->add_option("--max-string-map-entries", options.limits.max_string_map_entries,
                   "Most entries in one STRING_MAP attribute value")
      ->capture_default_str();
  server
      ->add_option("--max-words-per-request", options.limits.max_words,
                   "Most words in one request dictionary (a Check's words, a Report entry's "
                   "words, a Report's default_words)")
      ->capture_default_str();
  server
      ->add_option("--max-report-records", options.limits.max_report_records,
                   "Most entries (records) in one Report")
      ->capture_default_str();
  server
      ->add_option("--max-quotas-per-check", options.limits.max_quotas,
                   "Most quota requests in one Check")
      ->capture_default_str();

  std::string drain_deadline = "10s", shutdown_deadline = "20s";
  server
      ->add_option("--drain-deadline", drain_deadline,
                   "After SIGTERM, how long calls in flight may take to finish (Go duration)")
      ->capture_default_str();
  server
      ->add_option("--shutdown-deadline", shutdown_deadline,
                   "After SIGTERM, when the process ends whatever still runs (Go duration; at "
                   "least --drain-deadline)")
      ->capture_default_str();

  server
      ->add_option("--max-connections", options.max_connections,
                   "Open gRPC connections at most; further ones wait until one closes (0: "
                   "10000, kept well below the open-file limit)")
      ->capture_default_str();
  server
      ->add_option("--max-concurrent-streams", options.max_concurrent_streams,
                   "Calls in flight per gRPC connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS)")
      ->capture_default_str();
  std::string keepalive_min_time = "5m";
  server
      ->add_option("--keepalive-min-time", keepalive_min_time,
                   "Pings from a client closer together than this are strikes (Go duration)")
      ->capture_default_str();
  server
      ->add_option("--keepalive-max-ping-strikes", options.max_ping_strikes,
                   "Strikes after which a connection is closed with GOAWAY (0: never)")
      ->capture_default_str();
  std::string max_connection_idle = "10m";
  server
      ->add_option("--max-connection-idle", max_connection_idle,
                   "A connection without calls for this long is closed with GOAWAY (Go duration; "
                   "0 never)")
      ->capture_default_str();
  std::string handshake_timeout = "20s";
  server
      ->add_option("--handshake-timeout", handshake_timeout,
                   "A connection that has not completed its HTTP/2 handshake by then is closed "
                   "(Go duration)")
      ->capture_default_str();
  server
      ->add_option("--max-metadata-size", options.max_metadata_size,
                   "Largest request metadata (HTTP/2 header list) per call, in bytes")
      ->capture_default_str();

  server->add_option("--tls-cert", options.tls.cert,
                     "PEM certificate chain of the gRPC port (with --tls-key: TLS; default: plain "
                     "text). Re-read when it changes");
  server->add_option("--tls-key", options.tls.key, "PEM private key of --tls-cert");
  server->add_option("--tls-client-ca", options.tls.ca,
                     "PEM CA bundle that client certificates must chain to (mTLS: a client "
                     "without a valid certificate is refused)");
  std::string tls_refresh = "60s";
  server
      ->add_option("--tls-refresh-interval", tls_refresh,
                   "How often the TLS files are re-read for rotation (Go duration, at least 1s)")
      ->capture_default_str();
  server->add_option("--callers", options.callers_file,
                     "YAML file of which caller identities may call which API and whose "
                     "identity claims are believed (docs/security.md; needs --tls-client-ca)");

  bool list_adapters = false;
  server->add_flag("--list-adapters", list_adapters,
                   "Print the adapters found in the adapter directories and exit");

  std::vector<std::string> adapter_dirs;
  auto* adapters =
      app.add_subcommand("adapters", "List the loadable adapters with versions and kinds");
  adapters->add_option("--adapter-dir", adapter_dirs,
                       "Directory of adapter shared objects (repeatable; default: the build's or "
                       "install's adapter directory)");

  std::string validate_dir;
  std::vector<std::string> validate_adapter_dirs;
  auto* validate =
      app.add_subcommand("validate", "Check a configuration directory and print every error");
  validate->add_option("dir", validate_dir, "Configuration directory")->required();
  validate->add_option("--adapter-dir", validate_adapter_dirs,
                       "Directory of adapter shared objects (repeatable)");
  bool validate_skip_invalid = false;
  validate->add_flag("--skip-invalid-resources", validate_skip_invalid,
                     "Check as `mixs server --skip-invalid-resources` serves: print the "
                     "resources it would leave out, and fail only on errors it cannot skip");

  auto* version = app.add_subcommand("version", "Print the version");

  CLI11_PARSE(app, argc, argv);

  if (*validate) {
    return runValidate(validate_dir, validate_adapter_dirs, validate_skip_invalid);
  }
  if (*adapters) {
    return mixer::adapter_host::listAdapters(adapter_dirs, std::cout, std::cerr);
  }
  if (list_adapters) {
    return mixer::adapter_host::listAdapters(options.adapter_dirs, std::cout, std::cerr);
  }
  if (*version) {
    std::printf("mixs %s (istio.mixer.v1, Istio %s global dictionary of 222 words)\n",
                mixer::kVersion, mixer::kIstioApiVersion);
    return 0;
  }
  auto level = mixer::parseLogLevel(log_level);
  if (!level) {
    std::cerr << "mixs: --log-level " << log_level << ": want debug, info, warn, error or none\n";
    return 2;
  }
  mixer::setLogLevel(*level);
  for (auto [flag, text, out] :
       {std::tuple{"--keepalive-min-time", &keepalive_min_time, &options.keepalive_min_time},
        std::tuple{"--max-connection-idle", &max_connection_idle, &options.max_connection_idle},
        std::tuple{"--handshake-timeout", &handshake_timeout, &options.handshake_timeout}}) {
    const auto nanos = mixer::base::parseGoDuration(*text);
    if (!nanos || *nanos < 0) {
      std::cerr << "mixs: " << flag << " " << *text << ": want a duration such as 30s or 5m\n";
      return 2;
    }
    *out = std::chrono::milliseconds(*nanos / 1000000);
  }
  if (const auto nanos = mixer::base::parseGoDuration(tls_refresh); !nanos || *nanos < 1000000000) {
    std::cerr << "mixs: --tls-refresh-interval " << tls_refresh
              << ": want a duration of at least 1s, such as 60s\n";
    return 2;
  } else {
    options.tls.refresh = std::chrono::seconds(*nanos / 1000000000);
  }
  if (options.max_connections < 0 || options.max_concurrent_streams < 1 ||
      options.max_ping_strikes < 0 || options.max_metadata_size < 1) {
    std::cerr << "mixs: --max-connections, --max-concurrent-streams, --keepalive-max-ping-strikes "
                 "and --max-metadata-size must be positive (--max-connections and "
                 "--keepalive-max-ping-strikes may be 0)\n";
    return 2;
  }
  ShutdownDeadlines deadlines;
  const auto drain = mixer::base::parseGoDuration(drain_deadline);
  const auto hard = mixer::base::parseGoDuration(shutdown_deadline);
  if (!drain || *drain < 0 || !hard || *hard < *drain) {
    std::cerr << "mixs: --drain-deadline and --shutdown-deadline are Go durations (e.g. 10s), with "
                 "0 <= drain <= shutdown\n";
    return 2;
  }
  deadlines.drain = std::chrono::nanoseconds(*drain);
  deadlines.hard = std::chrono::nanoseconds(*hard);
  return runServer(options, deadlines);
}
