// End to end: a real nginx with the mixer module in front of a static upstream (a second server
// of the same nginx), and a real mixs with a list, a denier, a memquota and prometheus
// (tests/proxy-filter/testdata/policy.yaml). Requests are made with curl.
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "mixer/v1/mixer.grpc.pb.h"
#include "tests/adapters/redis_server.h"
#include "tests/testing/metrics.h"
#include "tests/testing/mixs_process.h"
#include "tests/testing/nginx_config.h"
#include "tests/testing/subprocess.h"

namespace mixer {
namespace {

using testing::httpGet;
using testing::MixsOptions;
using testing::MixsProcess;
using testing::runCommand;
using testing::sourceDir;
using testing::Subprocess;
using testing::unusedPort;

namespace fs = std::filesystem;

// The proxy-filter integration tests' mixs policy.
std::string configDir() { return sourceDir() + "/tests/proxy-filter/testdata"; }

std::string modulepath() {
  const char* build = std::getenv("MIXER_BUILD_DIR");
  return std::string(build == nullptr ? "." : build) + "/modules/ngx_http_mixer_module.so";
}

struct HttpAnswer {
  int status = 0;
  std::string headers;  // lower-cased
  std::string body;
};

HttpAnswer get(int port, const std::string& path, const std::string& user = "alice") {
  auto [code, out] =
      runCommand({"/usr/bin/curl", "-s", "-i", "--max-time", "10", "-H", "x-user: " + user,
                  "http://127.0.0.1:" + std::to_string(port) + path});
  HttpAnswer a;
  std::smatch m;
  if (code != 0 || !std::regex_search(out, m, std::regex("^HTTP/1\\.1 (\\d+)"))) {
    return a;
  }
  a.status = std::stoi(m[1].str());
  const size_t split = out.find("\r\n\r\n");
  a.headers = out.substr(0, split);
  std::transform(a.headers.begin(), a.headers.end(), a.headers.begin(), ::tolower);
  a.body = split == std::string::npos ? "" : out.substr(split + 4);
  return a;
}

class NginxMixerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    prefix_ = ::testing::TempDir() + "/nginx-mixer-" + std::to_string(getpid());
    fs::remove_all(prefix_);
    fs::create_directories(prefix_ + "/logs");
  }
  void TearDown() override {
    if (nginx_.running()) {
      nginx_.stop(SIGTERM);
    }
    if (mixs_.running()) {
      mixs_.stop(SIGTERM);
    }
    fs::remove_all(prefix_);
  }

  void startMixs(const std::string& address = "127.0.0.1:0",
                 const std::vector<std::string>& extra = {}) {
    MixsOptions options;
    options.address = address;
    options.config_dir = configDir();
    options.extra = extra;
    ASSERT_TRUE(mixs_.start(options)) << mixs_.output();
    ASSERT_TRUE(mixs_.waitForPrometheus()) << mixs_.output();
    mixs_port_ = mixs_.port();
  }

  // Three more mixs, started with `options`, whose addresses make up mixer_server_ (their lean
  // ports' with `lean`; options.extra then has --lean-address).
  void startReplicas(MixsProcess (&replicas)[3], const MixsOptions& options, bool lean = false) {
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(replicas[i].start(options)) << replicas[i].output();
      mixer_server_ +=
          (i == 0 ? "" : ",") + (lean ? replicas[i].leanAddress() : replicas[i].address());
    }
  }

  // `http_extra`: more directives for the http block; `upstream_extra`, `front_extra`: for the
  // upstream's and the front server's blocks.
  void startNginx(const std::string& http_extra = "", const std::string& upstream_extra = "",
                  const std::string& front_extra = "") {
    upstream_port_ = unusedPort();
    front_port_ = unusedPort();
    std::ofstream(prefix_ + "/nginx.conf")
        << testing::nginxConfigHead(prefix_, modulepath()) << R"(  mixer_server )"
        << (mixer_server_.empty() ? "127.0.0.1:" + std::to_string(mixs_port_) : mixer_server_)
        << R"(;
  mixer_timeout 2000ms;
  mixer_report_batch_max_entries 10;
  mixer_report_batch_max_time 100ms;
)" << http_extra
        << R"(
  server {
    listen 127.0.0.1:)"
        << upstream_port_ << ";\n    " << upstream_extra << R"(
    location / { return 200 "upstream ok user=$http_x_mixer_user\n"; }
  }
  server {
    listen 127.0.0.1:)"
        << front_port_ << ";\n    " << front_extra << R"(
    mixer_check on;
    mixer_report on;
    mixer_fail_open off;
    mixer_attribute destination.service productpage.default.svc.cluster.local;
    mixer_attribute source.user $http_x_user;
    location / { proxy_pass http://127.0.0.1:)"
        << upstream_port_ << R"(; }
    location /limited {
      mixer_quota requestcount 1;
      proxy_pass http://127.0.0.1:)"
        << upstream_port_ << R"(;
    }
    location /open/ {
      mixer_fail_open on;
      proxy_pass http://127.0.0.1:)"
        << upstream_port_ << R"(;
    }
  }
}
)";
    ASSERT_TRUE(nginx_.start(testing::nginxCommand(prefix_)));
    for (int i = 0; i < 100 && httpGet(upstream_port_, "/").first != 200; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_EQ(httpGet(upstream_port_, "/").first, 200) << nginx_.output() << errorLog();
  }

  std::string errorLog() const { return testing::nginxErrorLog(prefix_); }
  void allowsDeniesLimitsAndReports();
  void reachesMixsOverMutualTls(bool lean);
  void failPolicyWhileMixsIsDownAndRecovery(bool lean);
  void spreadsOverReplicasAndLeavesADeadOne(bool lean);

  double metric(const std::string& code) {
    const std::string series =
        "istio_requests_total{destination_service=\"productpage.default.svc.cluster.local\","
        "response_code=\"" +
        code + "\"}";
    return testing::sampleValue(testing::scrapeMetrics(mixs_.prometheusPort()), series).value_or(0);
  }

  std::string prefix_;
  std::string mixer_server_;  // the mixer_server directive's value; empty: mixs_'s address
  MixsProcess mixs_;
  Subprocess nginx_;
  int mixs_port_ = 0, upstream_port_ = 0, front_port_ = 0;
};

// Requests allowed, denied by the denier and by the list, limited by memquota, routed by the
// route directive, and reported to Prometheus through mixs; no report lost.
void NginxMixerTest::allowsDeniesLimitsAndReports() {
  HttpAnswer ok = get(front_port_, "/");
  EXPECT_EQ(ok.status, 200) << errorLog();
  EXPECT_NE(ok.body.find("upstream ok"), std::string::npos) << ok.body;
  EXPECT_EQ(get(front_port_, "/").status, 200);  // from the check cache

  EXPECT_EQ(get(front_port_, "/private/area").status, 403);  // denier
  EXPECT_EQ(get(front_port_, "/", "mallory").status, 403);   // listchecker blacklist

  std::vector<int> limited;
  for (int i = 0; i < 5; ++i) {
    limited.push_back(get(front_port_, "/limited").status);
  }
  EXPECT_EQ(limited, (std::vector<int>{200, 200, 200, 429, 429}));

  // The route directive: a request header for the upstream and a response header.
  HttpAnswer tagged = get(front_port_, "/tagged", "bob");
  EXPECT_EQ(tagged.status, 200);
  EXPECT_NE(tagged.body.find("user=bob"), std::string::npos) << tagged.body;
  EXPECT_NE(tagged.headers.find("x-policy: checked"), std::string::npos) << tagged.headers;
  EXPECT_EQ(get(front_port_, "/").headers.find("x-policy"), std::string::npos);

  // Reports: 7 answers of 200, 2 of 403, 2 of 429 reach Prometheus through mixs.
  for (int i = 0; i < 200 && (metric("200") < 7 || metric("403") < 2 || metric("429") < 2); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_EQ(metric("200"), 7) << httpGet(mixs_.prometheusPort(), "/metrics").second;
  EXPECT_EQ(metric("403"), 2);
  EXPECT_EQ(metric("429"), 2);

  // A graceful stop logs the worker's client counters: the repeated "/" was a cache hit, and no
  // report was lost.
  nginx_.stop(SIGQUIT);
  std::smatch m;
  const std::string log = errorLog();
  ASSERT_TRUE(std::regex_search(
      log, m,
      std::regex(
          R"(mixer: check cache hits (\d+), .* reports (\d+) in \d+ batches, dropped (\d+))")))
      << log;
  EXPECT_GE(std::stoi(m[1].str()), 1);
  EXPECT_EQ(std::stoi(m[2].str()), 11);
  EXPECT_EQ(std::stoi(m[3].str()), 0);
}

TEST_F(NginxMixerTest, AllowsDeniesLimitsAndReports) {
  startMixs();
  startNginx();
  allowsDeniesLimitsAndReports();
}

// The same through mixs' lean port (--lean-address): the module's gRPC client cannot tell it from
// the gRPC port.
TEST_F(NginxMixerTest, AllowsDeniesLimitsAndReportsThroughTheLeanPort) {
  startMixs("127.0.0.1:0", {"--lean-address", "127.0.0.1:0"});
  mixer_server_ = mixs_.leanAddress();
  startNginx();
  allowsDeniesLimitsAndReports();
}

// The module's lean transport (mixer_transport lean: libnghttp2, no gRPC library) to the lean
// port: the same answers, limits, routes and reports.
TEST_F(NginxMixerTest, AllowsDeniesLimitsAndReportsWithTheLeanTransport) {
  startMixs("127.0.0.1:0", {"--lean-address", "127.0.0.1:0"});
  mixer_server_ = mixs_.leanAddress();
  startNginx("  mixer_transport lean;\n");
  allowsDeniesLimitsAndReports();
}

// The lean transport also speaks to mixs' gRPC port, which is standard gRPC.
TEST_F(NginxMixerTest, TheLeanTransportReachesTheGrpcPortToo) {
  startMixs();
  startNginx("  mixer_transport lean;\n");
  allowsDeniesLimitsAndReports();
}

// The module reaches mixs over mTLS (mixer_ssl_* directives): mixs requires client certificates,
// and its caller policy trusts the nginx workload's identity to report on its clients. With
// `lean`, through the lean transport to mixs' lean port.
void NginxMixerTest::reachesMixsOverMutualTls(bool lean) {
  const std::string certs = prefix_ + "/certs";
  auto [code, out] = runCommand({"/bin/sh", sourceDir() + "/tests/testing/make_test_certs.sh",
                                 certs, "nginx=istio-system/nginx"});
  ASSERT_EQ(code, 0) << out;
  std::ofstream(prefix_ + "/callers.yaml")
      << "callers:\n- principals: [\"spiffe://cluster.local/ns/istio-system/sa/nginx\"]\n"
         "  apis: [check, report]\n  trusted: true\n";
  std::vector<std::string> flags = {
      "--tls-cert",      certs + "/server.pem", "--tls-key", certs + "/server.key",
      "--tls-client-ca", certs + "/ca.pem",     "--callers", prefix_ + "/callers.yaml"};
  if (lean) {
    flags.insert(flags.end(), {"--lean-address", "127.0.0.1:0"});
  }
  startMixs("127.0.0.1:0", flags);
  if (lean) {
    mixer_server_ = mixs_.leanAddress();
  }
  startNginx("  mixer_ssl_trusted_certificate " + certs + "/ca.pem;\n" +
             "  mixer_ssl_certificate " + certs + "/nginx.pem;\n" + "  mixer_ssl_certificate_key " +
             certs + "/nginx.key;\n" + (lean ? "  mixer_transport lean;\n" : ""));

  EXPECT_EQ(get(front_port_, "/").status, 200) << errorLog() << mixs_.output();
  EXPECT_EQ(get(front_port_, "/private/area").status, 403);  // denier
  EXPECT_EQ(get(front_port_, "/", "mallory").status, 403);   // listchecker blacklist
  for (int i = 0; i < 200 && (metric("200") < 1 || metric("403") < 2); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_EQ(metric("200"), 1) << httpGet(mixs_.prometheusPort(), "/metrics").second;
  EXPECT_EQ(metric("403"), 2);
  // Nothing was refused, and the connection was TLS: mixs saw no plain-text handshake.
  EXPECT_EQ(mixs_.output().find("Handshake failed"), std::string::npos) << mixs_.output();
}

TEST_F(NginxMixerTest, ReachesMixsOverMutualTls) { reachesMixsOverMutualTls(false); }

TEST_F(NginxMixerTest, ReachesTheLeanPortOverMutualTlsWithTheLeanTransport) {
  reachesMixsOverMutualTls(true);
}

// mixs stopped: the fail policy answers; mixs back on the same port: Checks reach it again. With
// `lean`, through the lean transport to the lean port (a refused connection is tried again after
// its backoff).
void NginxMixerTest::failPolicyWhileMixsIsDownAndRecovery(bool lean) {
  if (lean) {
    startMixs("127.0.0.1:0", {"--lean-address", "127.0.0.1:0"});
    mixer_server_ = mixs_.leanAddress();
    startNginx("  mixer_transport lean;\n");
  } else {
    startMixs();
    startNginx();
  }
  EXPECT_EQ(get(front_port_, "/before").status, 200) << errorLog();
  const std::string lean_address = mixs_.leanAddress();
  mixs_.stop(SIGTERM);

  EXPECT_EQ(get(front_port_, "/down").status, 503);       // mixer_fail_open off
  EXPECT_EQ(get(front_port_, "/open/down").status, 200);  // mixer_fail_open on
  EXPECT_EQ(get(front_port_, "/before").status, 200);     // still cached

  if (lean) {
    startMixs("127.0.0.1:" + std::to_string(mixs_port_), {"--lean-address", lean_address});
  } else {
    startMixs("127.0.0.1:" + std::to_string(mixs_port_));
  }
  int status = 0;
  for (int i = 0; i < 100 && status != 200; ++i) {
    status = get(front_port_, "/back-" + std::to_string(i)).status;
    if (status != 200) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_EQ(status, 200) << errorLog();
  EXPECT_EQ(get(front_port_, "/private/after").status, 403);
}

TEST_F(NginxMixerTest, FailPolicyWhileMixsIsDownAndRecovery) {
  failPolicyWhileMixsIsDownAndRecovery(false);
}

TEST_F(NginxMixerTest, TheLeanTransportFollowsTheFailPolicyAndRecovers) {
  failPolicyWhileMixsIsDownAndRecovery(true);
}

// mixer_server with three replicas: requests are checked and reported by all three (each
// replica's own Check count and istio_requests_total); one replica killed (SIGKILL), the next
// requests are all served, checked by the two left (mixer_max_retries sends a call that found the
// dead replica to another one). With `lean`, the lean transport to the replicas' lean ports.
void NginxMixerTest::spreadsOverReplicasAndLeavesADeadOne(bool lean) {
  startMixs();
  MixsOptions options;
  options.config_dir = configDir();
  if (lean) {
    options.extra = {"--lean-address", "127.0.0.1:0"};
  }
  MixsProcess replicas[3];
  ASSERT_NO_FATAL_FAILURE(startReplicas(replicas, options, lean));
  for (MixsProcess& r : replicas) {
    ASSERT_TRUE(r.waitForPrometheus()) << r.output();
  }
  startNginx(std::string("  mixer_max_retries 2;\n  mixer_check_cache off;\n") +
             (lean ? "  mixer_transport lean;\n" : ""));
  auto checks = [](const MixsProcess& r) {
    return testing::metricSum(testing::scrapeMetrics(r.monitoringPort()),
                              "grpc_server_handled_total", R"(grpc_method="Check")")
        .value_or(0);
  };
  auto reported = [](const MixsProcess& r) {  // records counted, all series
    return testing::metricSum(testing::scrapeMetrics(r.prometheusPort()), "istio_requests_total")
        .value_or(0);
  };
  // Waits until the replicas in `live` have counted `want` records (batches go out within
  // 100ms), and returns what they counted.
  auto counted = [&](std::initializer_list<int> live, double want) {
    double n = 0;
    for (int i = 0; i < 100; ++i) {
      n = 0;
      for (int r : live) {
        n += reported(replicas[r]);
      }
      if (n >= want) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return n;
  };
  int served = 0;
  for (int i = 0; i < 60; ++i) {
    served += get(front_port_, "/r" + std::to_string(i)).status == 200;
  }
  EXPECT_EQ(served, 60) << errorLog();
  double before[3];
  for (int i = 0; i < 3; ++i) {
    before[i] = checks(replicas[i]);
    EXPECT_GE(before[i], 5) << "replica " << i << " checked " << before[i] << " of 60";
  }
  EXPECT_EQ(before[0] + before[1] + before[2], 60);
  EXPECT_EQ(counted({0, 1, 2}, 60), 60);  // every request reported once, wherever
  const double reported_before = counted({1, 2}, 0);

  replicas[0].stop(SIGKILL);
  served = 0;
  for (int i = 0; i < 60; ++i) {
    served += get(front_port_, "/after" + std::to_string(i)).status == 200;
  }
  EXPECT_EQ(served, 60) << errorLog();
  EXPECT_EQ(checks(replicas[1]) + checks(replicas[2]) - before[1] - before[2], 60);
  // No report lost: the 60 records went to the two replicas left.
  EXPECT_EQ(counted({1, 2}, reported_before + 60) - reported_before, 60);
  for (MixsProcess& r : replicas) {
    r.stop(SIGTERM);
  }
}

TEST_F(NginxMixerTest, SpreadsOverSeveralMixsReplicasAndLeavesADeadOne) {
  spreadsOverReplicasAndLeavesADeadOne(false);
}

TEST_F(NginxMixerTest, TheLeanTransportSpreadsOverReplicasAndLeavesADeadOne) {
  spreadsOverReplicasAndLeavesADeadOne(true);
}

// The same three replicas under wrk's load, one killed with SIGKILL in the middle: the requests
// nginx answers stay 2xx (gRPC's round_robin leaves the dead replica, the module retries), and
// the reports reach the replicas left, counted at their Prometheus endpoints against the
// requests wrk completed. The dead replica's count is read just before it is killed; records it
// counted after that read cannot be seen, which bounds what "lost" can mean here.
TEST_F(NginxMixerTest, AReplicaKilledUnderWrkLoadCostsNoRequestAndFewReports) {
  startMixs();
  MixsOptions options;
  options.config_dir = configDir();
  options.monitoring = false;
  MixsProcess replicas[3];
  ASSERT_NO_FATAL_FAILURE(startReplicas(replicas, options));
  for (MixsProcess& r : replicas) {
    ASSERT_TRUE(r.waitForPrometheus()) << r.output();
  }
  startNginx("  mixer_max_retries 2;\n  mixer_check_cache off;\n");
  auto reported = [&](int i) {
    return testing::metricSum(testing::scrapeMetrics(replicas[i].prometheusPort()),
                              "istio_requests_total")
        .value_or(0);
  };
  ASSERT_EQ(get(front_port_, "/warm").status, 200) << errorLog();

  Subprocess wrk;
  ASSERT_TRUE(wrk.start({"/usr/bin/wrk", "-t1", "-c8", "-d4s",
                         "http://127.0.0.1:" + std::to_string(front_port_) + "/load"}));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const double dead_counted = reported(0);
  replicas[0].stop(SIGKILL);
  auto done = wrk.waitFor(R"((\d+) requests in [0-9.]+s)", std::chrono::seconds(30));
  ASSERT_TRUE(done) << wrk.output();
  const double requests = std::stod((*done)[1].str()) + 1;  // and the warm-up request
  std::smatch non2xx;
  const std::string out = wrk.output();
  const double failed =
      std::regex_search(out, non2xx, std::regex(R"(Non-2xx or 3xx responses: (\d+))"))
          ? std::stod(non2xx[1].str())
          : 0;
  EXPECT_EQ(failed, 0) << out << errorLog();
  EXPECT_GT(requests, 100) << out;

  // Reports settle within the batch time (100 ms) and the retry back-off.
  double counted = 0;
  for (int i = 0; i < 100; ++i) {
    counted = dead_counted + reported(1) + reported(2);
    if (counted >= requests) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const double lost = requests - counted;
  std::printf(
      "wrk: %.0f requests, %.0f non-2xx; reports counted %.0f (the killed replica %.0f "
      "before the kill): %.0f not seen\n",
      requests, failed, counted, dead_counted, lost);
  // What the killed replica counted between its last read and the kill, and a batch in flight
  // that it answered before dying (resent, so counted twice), stay within two batches of 10
  // and the requests of that moment.
  EXPECT_LE(std::abs(lost), 40) << out;
  for (MixsProcess& r : replicas) {
    r.stop(SIGTERM);
  }
}

// A quota of N per second, enforced by redisquota across three mixs replicas sharing one real
// redis-server, under wrk's load through nginx (its module spreads the Checks over the replicas
// with round_robin). redisquota's FIXED_WINDOW is one Lua script run atomically by Redis for
// every replica's call: a window starts with the first call after the previous one ended and
// grants N until it ends, 1s later. So in the T whole seconds that follow the first grant at
// most T windows start, and each grants at most N: the requests let through in [t0, t0 + T)
// are at most N*T (plus a few for the replicas' and nginx's clocks, which stamp the calls and
// the log lines a little apart), and, with wrk asking far more than N per second, at least N*T
// minus what the proxy's quota prefetch (Istio's) leaves unused. Asserted: within 5% of N*T
// over the run's whole seconds, and over the whole run at most one window more. What was let
// through is counted by the upstream's own access log (one line per request that reached it);
// everything else must be a 429.
TEST_F(NginxMixerTest, AQuotaPerSecondHoldsAcrossThreeReplicasUnderWrkLoad) {
  constexpr int kPerSecond = 50;
  mixer::testing::RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.output();
  const std::string config = prefix_ + "/quota-config";
  fs::create_directories(config);
  std::ofstream(config + "/quota.yaml")
      << testing::redisQuotaConfig(redis.port(), kPerSecond, "1s", "FIXED_WINDOW");
  MixsOptions options;
  options.config_dir = config;
  MixsProcess replicas[3];
  ASSERT_NO_FATAL_FAILURE(startReplicas(replicas, options));
  const std::string allowed_log = prefix_ + "/logs/allowed.log";
  const std::string front_log = prefix_ + "/logs/front.log";
  startNginx("  mixer_max_retries 2;\n  mixer_check_cache off;\n  log_format t '$msec $status';\n",
             "access_log " + allowed_log + " t;", "access_log " + front_log + " t;");

  // The upstream's log lines so far are startNginx's probes (nginx writes each line as its
  // request ends); those after them are wrk's requests.
  size_t probes = 0;
  {
    std::ifstream in(allowed_log);
    for (std::string line; std::getline(in, line);) ++probes;
  }
  Subprocess wrk;
  ASSERT_TRUE(wrk.start({"/usr/bin/wrk", "-t1", "-c4", "-d10s",
                         "http://127.0.0.1:" + std::to_string(front_port_) + "/limited"}));
  auto done = wrk.waitFor(R"((\d+) requests in ([0-9.]+)s)", std::chrono::seconds(60));
  ASSERT_TRUE(done) << wrk.output();
  const double requests = std::stod((*done)[1].str());
  const double seconds = std::stod((*done)[2].str());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the last log lines

  auto read = [](const std::string& path) {
    std::vector<std::pair<double, int>> lines;  // time, status
    std::ifstream in(path);
    double t;
    int status;
    while (in >> t >> status) lines.emplace_back(t, status);
    return lines;
  };
  const auto front = read(front_log);
  ASSERT_FALSE(front.empty()) << errorLog();
  std::vector<std::pair<double, int>> allowed;  // the front's 200s
  double limited = 0, other = 0;
  for (const auto& line : front) {
    if (line.second == 200) {
      allowed.push_back(line);
    } else {
      (line.second == 429 ? limited : other) += 1;
    }
  }
  ASSERT_FALSE(allowed.empty()) << errorLog();
  const double ok = static_cast<double>(allowed.size());
  EXPECT_EQ(other, 0) << errorLog();
  EXPECT_GE(front.size(), requests);  // wrk's count leaves out what was in flight at its end
  // Every request let through reached the upstream, and no other did (its log also holds
  // startNginx's probes, counted before wrk started).
  const double upstream = static_cast<double>(read(allowed_log).size() - probes);
  EXPECT_EQ(upstream, ok);

  const double t0 = allowed.front().first;
  const double last = std::max(allowed.back().first, front.back().first);
  const int whole = static_cast<int>(std::floor(last - t0));
  std::vector<int> per_second(whole + 1, 0);
  for (const auto& [t, status] : allowed) {
    per_second[std::min(whole, static_cast<int>(t - t0))]++;
  }
  double in_whole = 0;
  std::string shape;
  for (int k = 0; k < whole; ++k) {
    in_whole += per_second[k];
    shape += (k ? " " : "") + std::to_string(per_second[k]);
  }
  const double expected = static_cast<double>(kPerSecond) * whole;
  std::printf(
      "redisquota %d/s across 3 replicas under wrk: %.0f requests in %.2fs (%.0f/s), %.0f let "
      "through, %.0f limited (429); %.0f in the %d whole seconds after the first (expected %.0f: "
      "%+.1f%%); per second: %s\n",
      kPerSecond, front.size() * 1.0, seconds, front.size() / seconds, ok, limited, in_whole, whole,
      expected, 100 * (in_whole - expected) / expected, shape.c_str());
  EXPECT_GE(whole, 9);
  EXPECT_GT(front.size(), 20.0 * kPerSecond * whole) << "wrk must ask far more than the limit";
  EXPECT_GE(in_whole, 0.95 * expected);
  EXPECT_LE(in_whole, 1.05 * expected);
  EXPECT_LE(ok, kPerSecond * (whole + 1.0) * 1.05);  // the whole run: one window more at most
  for (MixsProcess& r : replicas) {                  // every replica decided some of the Checks
    const std::string body = httpGet(r.monitoringPort(), "/metrics").second;
    std::smatch m;
    EXPECT_TRUE(std::regex_search(
        body, m,
        std::regex(R"(grpc_server_handled_total\{[^}]*grpc_method="Check"[^}]*\} ([1-9]\d*))")))
        << body;
  }
  for (MixsProcess& r : replicas) {
    r.stop(SIGTERM);
  }
}

TEST_F(NginxMixerTest, BadDirectivesAreRejectedWithTheirReason) {
  // `directive` in a server block, or `http_directive` in the http block.
  auto test = [&](const std::string& directive, const std::string& http_directive = "") {
    const std::string conf = prefix_ + "/bad.conf";
    std::ofstream(conf) << "load_module " << modulepath() << ";\npid " << prefix_
                        << "/bad.pid;\nerror_log stderr;\nevents {}\nhttp {\n  " << http_directive
                        << "\n  server {\n    listen 127.0.0.1:1;\n    " << directive
                        << "\n  }\n}\n";
    return runCommand({"/usr/sbin/nginx", "-t", "-p", prefix_, "-c", conf});
  };
  auto [code, out] = test("mixer_quota requestcount -1;");
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("needs a quota name and a positive amount"), std::string::npos) << out;
  std::tie(code, out) = test("mixer_check maybe;");
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("invalid value \"maybe\""), std::string::npos) << out;
  std::tie(code, out) = test("mixer_server 127.0.0.1:9091;");  // http level only
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("\"mixer_server\" directive is not allowed here"), std::string::npos) << out;
  std::tie(code, out) = test("mixer_attribute destination.service svc;");
  EXPECT_EQ(code, 0) << out;
  std::tie(code, out) = test("", "mixer_transport quic;");
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("invalid value \"quic\""), std::string::npos) << out;
  std::tie(code, out) = test("", "mixer_transport lean;");
  EXPECT_EQ(code, 0) << out;
}

// mixs never sends a direct response (no adapter of ours produces one), so this test puts an
// in-test istio.mixer.v1 server, real gRPC on loopback, where mixs would be.
class DirectResponseMixer final : public istio::mixer::v1::Mixer::Service {
 public:
  grpc::Status Check(grpc::ServerContext*, const istio::mixer::v1::CheckRequest*,
                     istio::mixer::v1::CheckResponse* response) override {
    auto* p = response->mutable_precondition();
    p->set_valid_use_count(100);
    auto* route = p->mutable_route_directive();
    route->set_direct_response_code(302);
    route->set_direct_response_body("moved elsewhere\n");
    auto* location = route->add_response_header_operations();
    location->set_name("location");
    location->set_value("http://elsewhere.example/");
    return grpc::Status::OK;
  }
  grpc::Status Report(grpc::ServerContext*, const istio::mixer::v1::ReportRequest*,
                      istio::mixer::v1::ReportResponse*) override {
    return grpc::Status::OK;
  }
};

TEST_F(NginxMixerTest, DirectResponsesReplaceTheUpstreamsAnswer) {
  DirectResponseMixer service;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &mixs_port_);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  startNginx();
  for (int i = 0; i < 2; ++i) {  // remote, then from the cache
    HttpAnswer a = get(front_port_, "/anything");
    EXPECT_EQ(a.status, 302) << errorLog();
    EXPECT_EQ(a.body, "moved elsewhere\n");
    EXPECT_NE(a.headers.find("location: http://elsewhere.example/"), std::string::npos)
        << a.headers;
  }
  nginx_.stop(SIGTERM);
  server->Shutdown();
}

}  // namespace
}  // namespace mixer
