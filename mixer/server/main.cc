// mixs: the mixer server.
//   mixs server [flags]   serve istio.mixer.v1 (Check, Report) and the monitoring endpoints
//   mixs version          print the version
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "mixer/adapter_host/adapter_host.h"
#include "mixer/common/log.h"
#include "mixer/common/version.h"
#include "mixer/server/mixs_server.h"

namespace {

// `mixs validate DIR`: loads and compiles a configuration directory as the server would (with
// the adapters of --adapter-dir) and prints every error; exit 0 and a summary when valid.
int runValidate(const std::string& dir, const std::vector<std::string>& adapter_dirs) {
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
  auto loaded = mixer::runtime::loadConfig(
      dir, adapters.registry(), mixer::attribute::Vocabulary::builtin(), 1, load_options);
  for (const auto& e : loaded.errors) {
    std::printf("%s\n", e.str().c_str());
  }
  if (!loaded.snapshot) {
    std::printf("%s: %zu error(s)\n", dir.c_str(), loaded.errors.size());
    return 1;
  }
  std::printf("%s: valid: %zu files, %zu documents, %zu rules, %zu handlers, %zu instances\n",
              dir.c_str(), loaded.files, loaded.documents, loaded.snapshot->ruleCount(),
              loaded.snapshot->handlerCount(), loaded.snapshot->instanceCount());
  return 0;
}

int runServer(const mixer::server::ServerOptions& options) {
  // Block the termination signals in every thread; the main thread waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

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
    std::printf("mixs: monitoring on http://%s:%d (/metrics /healthz /readyz /version)\n",
                host.empty() ? "0.0.0.0" : host.c_str(), (*server)->monitoringPort());
  }
  const auto& snapshot = (*server)->config().current()->snapshot();
  std::printf("mixs: configuration %s: %zu rules, %zu handlers, %zu instances\n",
              options.config_dir.empty() ? "embedded default" : options.config_dir.c_str(),
              snapshot.ruleCount(), snapshot.handlerCount(), snapshot.instanceCount());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&signals, &sig);
  MIXER_LOG(Info) << "received " << (sig == SIGTERM ? "SIGTERM" : "SIGINT")
                  << ": finishing in-flight calls";
  (*server)->shutdown(std::chrono::seconds(10));
  std::printf("mixs: stopped\n");
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
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
  server->add_option("--config-dir", options.config_dir,
                     "Directory of configuration files (default: the embedded configuration)");
  server->add_option("--prometheus-address", options.prometheus_address,
                     "host:port of the embedded configuration's Prometheus exposition (default "
                     "\":42422\"; port 0 picks a free port; ignored with --config-dir)");
  server->add_option("--adapter-dir", options.adapter_dirs,
                     "Directory of adapter shared objects (repeatable; default: the build's or "
                     "install's adapter directory)");
  server->add_option("--log-level", log_level, "debug, info, warn, error or none")
      ->capture_default_str();
  server
      ->add_option("--max-message-size", options.max_message_size,
                   "Largest accepted request, in bytes")
      ->capture_default_str();

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

  auto* version = app.add_subcommand("version", "Print the version");

  CLI11_PARSE(app, argc, argv);

  if (*validate) {
    return runValidate(validate_dir, validate_adapter_dirs);
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
  return runServer(options);
}
