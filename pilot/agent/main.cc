// pilot-agent: obtains a workload certificate from pilot-discovery's CA and keeps it fresh as
// cert-chain.pem, key.pem and root-cert.pem in a directory (agent.h).
//
//   pilot-agent --ca-address HOST:PORT --out-dir DIR [--token-file FILE] [--ca-root FILE]
//               [--server-name NAME] [--requested-ttl 1h] [--once]
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <iostream>

#include "base/go_duration.h"
#include "base/log.h"
#include "pilot/agent/agent.h"
#include "security/ca/x509.h"

namespace {
std::atomic<bool> g_stop{false};

// A Go duration ("30s", "1h"), not negative, in whole milliseconds.
bool parseDuration(const std::string& text, std::chrono::milliseconds* out) {
  int64_t nanos = 0;
  if (!mixer::base::parseGoDuration(text, &nanos) || nanos < 0) return false;
  *out = std::chrono::milliseconds(nanos / 1000000);
  return true;
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"pilot-agent: keeps a workload certificate from pilot-discovery's CA in files"};
  pilot::agent::AgentOptions options;
  std::string token_file;
  std::string requested_ttl = "0s";
  std::string backoff_initial = "1s";
  std::string backoff_max = "60s";
  std::string log_level = "info";
  bool once = false;
  app.add_option("--ca-address", options.ca_address, "host:port of pilot-discovery's gRPC port")
      ->required();
  app.add_option("--out-dir", options.out_dir,
                 "directory of cert-chain.pem, key.pem, root-cert.pem")
      ->required()
      ->check(CLI::ExistingDirectory);
  app.add_option("--token-file", token_file,
                 "file holding the join token for the first certificate")
      ->check(CLI::ExistingFile);
  app.add_option("--ca-root", options.ca_root_file,
                 "PEM roots verifying the CA's TLS certificate (without it: plaintext, no renewal)")
      ->check(CLI::ExistingFile);
  app.add_option("--server-name", options.server_name, "name expected in the CA's certificate");
  app.add_option("--requested-ttl", requested_ttl, "validity to ask for (0s: the CA's TTL)");
  app.add_option("--backoff-initial", backoff_initial, "first retry delay");
  app.add_option("--backoff-max", backoff_max, "longest retry delay");
  app.add_option("--log-level", log_level, "debug, info, warn, error");
  app.add_flag("--once", once, "obtain one certificate (or keep the valid one) and exit");
  CLI11_PARSE(app, argc, argv);
  if (const auto level = mixer::parseLogLevel(log_level)) {
    mixer::setLogLevel(*level);
  } else {
    std::cerr << "pilot-agent: unknown --log-level " << log_level << "\n";
    return 2;
  }
  std::chrono::milliseconds ttl, initial, max;
  if (!parseDuration(requested_ttl, &ttl) || !parseDuration(backoff_initial, &initial) ||
      !parseDuration(backoff_max, &max) || initial.count() == 0 || max < initial) {
    std::cerr << "pilot-agent: bad duration (e.g. 500ms, 30s, 1h)\n";
    return 2;
  }
  options.requested_ttl = std::chrono::duration_cast<std::chrono::seconds>(ttl);
  options.backoff_initial = initial;
  options.backoff_max = max;
  if (!token_file.empty()) {
    auto token = security::ca::readFile(token_file);
    if (!token.ok()) {
      std::cerr << "pilot-agent: " << token.status().message() << "\n";
      return 1;
    }
    options.token = *token;
    while (!options.token.empty() &&
           (options.token.back() == '\n' || options.token.back() == '\r' ||
            options.token.back() == ' ')) {
      options.token.pop_back();
    }
  }
  if (options.ca_root_file.empty()) {
    std::cerr << "pilot-agent: no --ca-root: plaintext to the CA; the join token crosses the "
                 "network in the clear and the certificate cannot be renewed\n";
  }

  pilot::agent::Agent agent(options);
  agent.loadExisting();
  signal(SIGINT, [](int) { g_stop = true; });
  signal(SIGTERM, [](int) { g_stop = true; });
  if (once) {
    if (agent.hasCertificate()) return 0;
    const auto s = agent.obtainOnce();
    if (!s.ok()) {
      std::cerr << "pilot-agent: " << s.message() << "\n";
      return 1;
    }
    return 0;
  }
  std::cout << "pilot-agent: writing to " << options.out_dir << std::endl;
  agent.run(g_stop);
  std::cout << "pilot-agent: stopped" << std::endl;
  return 0;
}
