#include "tests/testing/prometheus_server.h"

#include <fstream>

namespace mixer::testing {

bool PrometheusServer::start(const std::string& dir, int target_port) {
  std::ofstream(dir + "/prometheus.yml") << "global: {scrape_interval: 1s}\n"
                                            "scrape_configs:\n"
                                            "- job_name: mixer\n"
                                            "  static_configs: [{targets: ['127.0.0.1:"
                                         << target_port << "']}]\n";
  web_port_ = unusedPort();
  if (!Subprocess::start({"/usr/bin/prometheus", "--config.file=" + dir + "/prometheus.yml",
                          "--storage.tsdb.path=" + dir + "/data",
                          "--web.listen-address=127.0.0.1:" + std::to_string(web_port_)})) {
    return false;
  }
  return waitFor("Server is ready to receive web requests", std::chrono::seconds(30)).has_value();
}

std::string PrometheusServer::query(const std::string& promql) const {
  return httpGet(web_port_, "/api/v1/query?query=" + promql).second;
}

}  // namespace mixer::testing
