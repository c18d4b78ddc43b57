#include "tests/testing/pilot_process.h"

#include <algorithm>

namespace mixer::testing {

bool PilotProcess::start(const std::vector<std::string>& flags, const std::string& grpc_address) {
  std::vector<std::string> argv = {binDir() + "/pilot-discovery", "--grpc-address", grpc_address,
                                   "--monitoring-address", "127.0.0.1:0"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  if (!Subprocess::start(argv)) {
    return false;
  }
  if (std::find(flags.begin(), flags.end(), "--rules-address") != flags.end()) {
    auto rules = waitFor(R"(rules API(?: \(m?TLS\))? on 127\.0\.0\.1:(\d+))");
    if (!rules) {
      return false;
    }
    rules_port_ = std::stoi((*rules)[1].str());
  }
  auto m = waitFor(R"(xDS(?: \(m?TLS\))? on 127\.0\.0\.1:(\d+), monitoring on 127\.0\.0\.1:(\d+))");
  if (!m) {
    return false;
  }
  xds_port_ = std::stoi((*m)[1].str());
  monitoring_port_ = std::stoi((*m)[2].str());
  return true;
}

bool EtcdProcess::start(const std::string& name, const std::string& data_dir) {
  client_port_ = unusedPort();
  const int peer = unusedPort();
  const std::string client_url = "http://127.0.0.1:" + std::to_string(client_port_);
  const std::string peer_url = "http://127.0.0.1:" + std::to_string(peer);
  if (!Subprocess::start({"/usr/bin/etcd", "--name", name, "--data-dir", data_dir,
                          "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
                          "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
                          "--initial-cluster", name + "=" + peer_url})) {
    return false;
  }
  return waitFor("ready to serve client requests", std::chrono::seconds(30)).has_value();
}

}  // namespace mixer::testing
