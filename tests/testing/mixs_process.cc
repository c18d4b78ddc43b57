#include "tests/testing/mixs_process.h"

#include <algorithm>

namespace mixer::testing {

bool MixsProcess::start(const MixsOptions& options) {
  const auto given = [&](const char* flag) {
    return std::find(options.extra.begin(), options.extra.end(), flag) != options.extra.end();
  };
  std::vector<std::string> argv = options.wrapper;
  argv.insert(argv.end(), {binDir() + "/mixs", "server", "--address", options.address});
  if (!given("--monitoring-port")) {
    argv.insert(argv.end(), {"--monitoring-port", options.monitoring ? "0" : "-1"});
  }
  if (options.prometheus_on_free_port) {
    argv.insert(argv.end(), {"--prometheus-address", "127.0.0.1:0"});
  }
  if (!options.config_dir.empty()) {
    argv.insert(argv.end(), {"--config-dir", options.config_dir});
  }
  argv.insert(argv.end(), options.extra.begin(), options.extra.end());
  if (!Subprocess::start(argv)) {
    return false;
  }
  auto api = waitFor(R"(API\) on 127\.0\.0\.1:(\d+))");
  if (!api) {
    return false;
  }
  port_ = std::stoi((*api)[1].str());
  address_ = "127.0.0.1:" + std::to_string(port_);
  if (options.monitoring) {
    auto mon = waitFor(R"(monitoring on http://127\.0\.0\.1:(\d+))");
    if (!mon) {
      return false;
    }
    monitoring_port_ = std::stoi((*mon)[1].str());
  }
  if (given("--forward-auth-address")) {
    auto auth = waitFor(R"(forward-auth on https?://127\.0\.0\.1:(\d+))");
    if (!auth) {
      return false;
    }
    forward_auth_port_ = std::stoi((*auth)[1].str());
  }
  if (given("--lean-address")) {
    auto lean = waitFor(R"(lean port .* on 127\.0\.0\.1:(\d+))");
    if (!lean) {
      return false;
    }
    lean_port_ = std::stoi((*lean)[1].str());
  }
  return true;
}

bool MixsProcess::start(const std::string& config_dir, std::vector<std::string> extra) {
  MixsOptions options;
  options.config_dir = config_dir;
  options.extra = std::move(extra);
  return start(options);
}

bool MixsProcess::waitForPrometheus() {
  auto served = waitFor(R"(serving /metrics on 127\.0\.0\.1:(\d+))");
  if (!served) {
    return false;
  }
  prometheus_port_ = std::stoi((*served)[1].str());
  return true;
}

std::pair<int, std::string> MixsProcess::mixc(const std::string& command,
                                              const std::vector<std::string>& args) const {
  return mixcAt(address_, command, args);
}

std::pair<int, std::string> MixsProcess::mixcAt(const std::string& address,
                                                const std::string& command,
                                                const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {binDir() + "/mixc", command, "-m", address};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv);
}

std::string redisQuotaConfig(int redis_port, int max_amount, const std::string& window,
                             const std::string& algorithm) {
  return R"(apiVersion: config.istio.io/v1alpha2
kind: redisquota
metadata: {name: shared, namespace: istio-system}
spec:
  redisServerUrl: 127.0.0.1:)" +
         std::to_string(redis_port) + R"(
  connectionPoolSize: 2
  failurePolicy: FAIL_CLOSED
  quotas:
  - name: requestcount.quota.istio-system
    maxAmount: )" +
         std::to_string(max_amount) + R"(
    validDuration: )" +
         window + "\n" + (algorithm.empty() ? "" : "    rateLimitAlgorithm: " + algorithm + "\n") +
         R"(---
apiVersion: config.istio.io/v1alpha2
kind: quota
metadata: {name: requestcount, namespace: istio-system}
spec:
  dimensions:
    destination: destination.service | "unknown"
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: quota, namespace: istio-system}
spec:
  actions:
  - handler: shared.redisquota
    instances: [requestcount.quota]
)";
}

}  // namespace mixer::testing
