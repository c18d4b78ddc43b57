// Transport security end to end: a real mixs and a real pilot-discovery with --tls-* flags,
// certificates made by Debian's openssl (tests/testing/make_test_certs.sh), and real clients
// (mixc, and Python's grpcio for xDS) over mTLS on loopback. docs/security.md.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing/metrics.h"
#include "tests/testing/mixs_process.h"
#include "tests/testing/pilot_process.h"
#include "tests/testing/subprocess.h"

namespace fs = std::filesystem;
using mixer::testing::binDir;
using mixer::testing::httpGet;
using mixer::testing::MixsProcess;
using mixer::testing::PilotProcess;
using mixer::testing::runCommand;
using mixer::testing::sourceDir;
using mixer::testing::Subprocess;

namespace {

constexpr char kPython[] = "/usr/bin/python3";

// A denier that lets only the admin workload reach the admin service, and a request count by the
// identities a Report carries, exposed by the prometheus adapter.
constexpr char kPolicy[] = R"(apiVersion: config.istio.io/v1alpha2
kind: handler
metadata: {name: adminonly, namespace: istio-system}
spec:
  compiledAdapter: denier
  params:
    status: {code: 7, message: "the admin service is for the admin workload"}
---
apiVersion: config.istio.io/v1alpha2
kind: instance
metadata: {name: nothing, namespace: istio-system}
spec:
  compiledTemplate: checknothing
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: adminonly, namespace: istio-system}
spec:
  match: destination.service.host == "admin.default.svc.cluster.local" && (source.principal | "") != "spiffe://cluster.local/ns/default/sa/admin"
  actions: [{handler: adminonly, instances: [nothing]}]
---
apiVersion: config.istio.io/v1alpha2
kind: handler
metadata: {name: prom, namespace: istio-system}
spec:
  compiledAdapter: prometheus
  params:
    address: "127.0.0.1:0"
    metrics:
    - name: requests_total
      instance_name: requestcount.instance.istio-system
      kind: COUNTER
      label_names: [source_principal, reporter_principal, mtls]
---
apiVersion: config.istio.io/v1alpha2
kind: instance
metadata: {name: requestcount, namespace: istio-system}
spec:
  compiledTemplate: metric
  params:
    value: "1"
    dimensions:
      source_principal: source.principal | "none"
      reporter_principal: context.reporter.principal | "none"
      mtls: connection.mtls | false
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: count, namespace: istio-system}
spec:
  actions: [{handler: prom, instances: [requestcount]}]
)";

// Workloads may Check; only the reporter may Report; the ingress proxy may do anything and is
// believed when it reports other workloads' identities.
constexpr char kCallers[] = R"(callers:
- principals: ["spiffe://cluster.local/ns/default/*"]
  apis: [check, forward_auth]
- principals: ["spiffe://cluster.local/ns/default/sa/client", "spiffe://cluster.local/ns/default/sa/admin"]
  apis: [report]
- principals: ["spiffe://cluster.local/ns/istio-system/sa/ingress"]
  apis: ["*"]
  trusted: true
)";

const std::string kClient = "spiffe://cluster.local/ns/default/sa/client";
const std::string kAdmin = "spiffe://cluster.local/ns/default/sa/admin";

class SecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(::testing::TempDir() + "/mesh-security-" + std::to_string(getpid()));
    fs::remove_all(*dir_);
    fs::create_directories(*dir_ + "/config");
    auto [code, out] =
        runCommand({"/bin/sh", sourceDir() + "/tests/testing/make_test_certs.sh", certs(),
                    "client=default/client", "admin=default/admin", "reader=default/reader",
                    "intruder=other/intruder", "proxy=istio-system/ingress"});
    ASSERT_EQ(code, 0) << out;
    std::ofstream(*dir_ + "/config/policy.yaml") << kPolicy;
    std::ofstream(*dir_ + "/callers.yaml") << kCallers;
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  void TearDown() override {
    if (mixs_.running()) mixs_.stop(SIGTERM);
  }

  static std::string certs() { return *dir_ + "/certs"; }
  static std::string pem(const std::string& name) { return certs() + "/" + name + ".pem"; }
  static std::string key(const std::string& name) { return certs() + "/" + name + ".key"; }

  void startMixs(std::vector<std::string> extra = {}) {
    std::vector<std::string> flags = {"--tls-client-ca", pem("ca"), "--callers",
                                      *dir_ + "/callers.yaml"};
    bool has_cert = false;
    for (const auto& a : extra) has_cert = has_cert || a == "--tls-cert";
    if (!has_cert) {
      flags.insert(flags.end(), {"--tls-cert", pem("server"), "--tls-key", key("server")});
    }
    flags.insert(flags.end(), extra.begin(), extra.end());
    ASSERT_TRUE(mixs_.start(*dir_ + "/config", flags)) << mixs_.output();
    ASSERT_TRUE(mixs_.waitForPrometheus()) << mixs_.output();
  }

  // mixc CMD over TLS as workload `who` ("" for no client certificate), with `args`, to mixs'
  // gRPC port or to `address`.
  std::pair<int, std::string> mixc(const std::string& cmd, const std::string& who,
                                   std::vector<std::string> args, std::string address = "") {
    if (address.empty()) address = mixs_.address();
    std::vector<std::string> argv = {binDir() + "/mixc", cmd,       "-m",           address,
                                     "--tls-ca",         pem("ca"), "--timeout-ms", "5000"};
    if (!who.empty()) {
      argv.insert(argv.end(), {"--tls-cert", pem(who), "--tls-key", key(who)});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    return runCommand(argv);
  }

  double metric(int port, const std::string& series) {
    return mixer::testing::sampleValue(mixer::testing::scrapeMetrics(port), series).value_or(0);
  }

  static std::string* dir_;
  MixsProcess mixs_;
};

std::string* SecurityTest::dir_ = nullptr;

constexpr char kCheckOk[] = "Check status was OK";

TEST_F(SecurityTest, ClientsWithoutAValidCertificateAreRefusedAtTheHandshake) {
  startMixs();
  // The allowed workload first: the server is up and TLS works.
  auto [ok_code, ok] = mixc("check", "client", {"-s", "destination.service=x"});
  ASSERT_NE(ok.find(kCheckOk), std::string::npos) << ok << mixs_.output();

  struct Case {
    const char* name;
    std::string who;
    const char* server_says;  // the reason in mixs' log
  };
  for (const Case& c :
       {Case{"no certificate", "", "peer did not return a certificate"},
        Case{"a certificate from an unknown CA", "rogue", "certificate verify failed"},
        Case{"an expired certificate", "expired", "certificate verify failed"}}) {
    const std::string before = mixs_.output();
    auto [code, out] = mixc("check", c.who, {"-s", "destination.service=x"});
    EXPECT_EQ(out.find(kCheckOk), std::string::npos) << c.name << ": " << out;
    EXPECT_NE(out.find("UNAVAILABLE"), std::string::npos) << c.name << ": " << out;
    EXPECT_TRUE(mixs_.waitFor(c.server_says, std::chrono::seconds(5)))
        << c.name << ": " << mixs_.output().substr(before.size());
  }
  // Plain text on the TLS port is refused too.
  auto [plain_code, plain] = runCommand({binDir() + "/mixc", "check", "-m", mixs_.address(),
                                         "--timeout-ms", "3000", "-s", "destination.service=x"});
  EXPECT_EQ(plain.find(kCheckOk), std::string::npos) << plain;
  // And the server is still serving.
  auto [again_code, again] = mixc("check", "client", {"-s", "destination.service=x"});
  EXPECT_NE(again.find(kCheckOk), std::string::npos) << again;
}

TEST_F(SecurityTest, IdentitiesThePolicyDoesNotAllowArePermissionDeniedAndCounted) {
  startMixs();
  // Another namespace may not even Check.
  auto [c1, intruder] = mixc("check", "intruder", {"-s", "destination.service=x"});
  EXPECT_NE(intruder.find("PERMISSION_DENIED"), std::string::npos) << intruder;
  EXPECT_NE(intruder.find("spiffe://cluster.local/ns/other/sa/intruder"), std::string::npos)
      << intruder;
  EXPECT_NE(intruder.find("may not call check"), std::string::npos) << intruder;

  // The reader may Check but not Report: its Report reaches no adapter.
  auto [c2, check] = mixc("check", "reader", {"-s", "destination.service=x"});
  EXPECT_NE(check.find(kCheckOk), std::string::npos) << check;
  auto [c3, report] = mixc("report", "reader", {"-s", "destination.service=x"});
  EXPECT_NE(report.find("PERMISSION_DENIED"), std::string::npos) << report;
  EXPECT_NE(report.find("may not call report"), std::string::npos) << report;
  EXPECT_EQ(metric(mixs_.monitoringPort(), R"(mixer_callers_denied_total{api="report"})"), 1);
  EXPECT_EQ(metric(mixs_.monitoringPort(), R"(mixer_callers_denied_total{api="check"})"), 1);
  const std::string exposition = httpGet(mixs_.prometheusPort(), "/metrics").second;
  EXPECT_EQ(exposition.find("reader"), std::string::npos) << exposition;

  // The Envoy front-ends are under the same policy: the intruder may not call ext_authz.
  auto [c4, authz] =
      runCommand({kPython, "-c",
                  "import grpc,sys\n"
                  "r=lambda p: open(p,'rb').read()\n"
                  "c=grpc.ssl_channel_credentials(r(sys.argv[1]),r(sys.argv[2]),r(sys.argv[3]))\n"
                  "ch=grpc.secure_channel(sys.argv[4],c)\n"
                  "f=ch.unary_unary('/envoy.service.auth.v3.Authorization/Check')\n"
                  "try:\n  f(b'',timeout=5); print('OK')\n"
                  "except grpc.RpcError as e: print(e.code().name, e.details())\n",
                  pem("ca"), key("intruder"), pem("intruder"), mixs_.address()});
  EXPECT_NE(authz.find("PERMISSION_DENIED"), std::string::npos) << authz;
  EXPECT_EQ(metric(mixs_.monitoringPort(), R"(mixer_callers_denied_total{api="ext_authz"})"), 1);
}

// The lean port serves the gRPC port's TLS (ALPN h2), client certificates and caller policy.
TEST_F(SecurityTest, TheLeanPortHasTheSameTlsAndCallerPolicy) {
  startMixs({"--lean-address", "127.0.0.1:0"});
  const std::string lean = mixs_.leanAddress();
  auto [c1, ok] = mixc("check", "client", {"-s", "destination.service=x"}, lean);
  EXPECT_NE(ok.find(kCheckOk), std::string::npos) << ok << mixs_.output();
  auto [c2, intruder] = mixc("check", "intruder", {"-s", "destination.service=x"}, lean);
  EXPECT_NE(intruder.find("PERMISSION_DENIED"), std::string::npos) << intruder;
  EXPECT_NE(intruder.find("may not call check"), std::string::npos) << intruder;
  auto [c3, report] = mixc("report", "reader", {"-s", "destination.service=x"}, lean);
  EXPECT_NE(report.find("may not call report"), std::string::npos) << report;
  EXPECT_EQ(metric(mixs_.monitoringPort(), R"(mixer_callers_denied_total{api="check"})"), 1);
  EXPECT_EQ(metric(mixs_.monitoringPort(), R"(mixer_callers_denied_total{api="report"})"), 1);
  // The certificate wins over a claimed identity; the trusted proxy's claim stands.
  const std::vector<std::string> forged = {
      "-s", "destination.service.host=admin.default.svc.cluster.local,source.principal=" + kAdmin,
      "-b", "connection.mtls=false"};
  auto [c4, forger] = mixc("check", "client", forged, lean);
  EXPECT_NE(forger.find("for the admin workload"), std::string::npos) << forger;
  auto [c5, proxy] = mixc("check", "proxy", forged, lean);
  EXPECT_NE(proxy.find(kCheckOk), std::string::npos) << proxy;
  // No certificate, and plain text: refused, and the port serves on.
  auto [c6, anonymous] = mixc("check", "", {"-s", "destination.service=x"}, lean);
  EXPECT_NE(anonymous.find("UNAVAILABLE"), std::string::npos) << anonymous;
  auto [c7, plain] = runCommand({binDir() + "/mixc", "check", "-m", lean, "--timeout-ms", "3000",
                                 "-s", "destination.service=x"});
  EXPECT_EQ(plain.find(kCheckOk), std::string::npos) << plain;
  auto [c8, again] = mixc("check", "client", {"-s", "destination.service=x"}, lean);
  EXPECT_NE(again.find(kCheckOk), std::string::npos) << again;
}

TEST_F(SecurityTest, TheCertificateWinsOverClaimedIdentitiesUnlessTheCallerIsTrusted) {
  startMixs();
  const std::vector<std::string> forged = {
      "-s", "destination.service.host=admin.default.svc.cluster.local,source.principal=" + kAdmin,
      "-b", "connection.mtls=false"};
  // A workload claiming to be the admin is not believed: the admin-only rule denies it.
  auto [c1, client] = mixc("check", "client", forged);
  EXPECT_NE(client.find("PERMISSION_DENIED"), std::string::npos) << client;
  EXPECT_NE(client.find("for the admin workload"), std::string::npos) << client;
  // The admin workload's own certificate is enough, with no claim at all.
  auto [c2, admin] =
      mixc("check", "admin", {"-s", "destination.service.host=admin.default.svc.cluster.local"});
  EXPECT_NE(admin.find(kCheckOk), std::string::npos) << admin;
  // The trusted proxy reports on its peers: its claim stands.
  auto [c3, proxy] = mixc("check", "proxy", forged);
  EXPECT_NE(proxy.find(kCheckOk), std::string::npos) << proxy;

  // Reports: the forged identity never reaches a metric; the caller's certificate does.
  auto [c4, r1] =
      mixc("report", "client",
           {"-r", "5", "-s", "source.principal=" + kAdmin, "-b", "connection.mtls=false"});
  ASSERT_EQ(c4, 0) << r1;
  auto [c5, r2] = mixc("report", "proxy", {"-s", "source.principal=" + kAdmin});
  ASSERT_EQ(c5, 0) << r2;
  const std::string proxy_id = "spiffe://cluster.local/ns/istio-system/sa/ingress";
  const std::string from_client = "istio_requests_total{mtls=\"true\",reporter_principal=\"" +
                                  kClient + "\",source_principal=\"" + kClient + "\"}";
  const std::string from_proxy = "istio_requests_total{mtls=\"false\",reporter_principal=\"" +
                                 proxy_id + "\",source_principal=\"" + kAdmin + "\"}";
  for (int i = 0; i < 50 && metric(mixs_.prometheusPort(), from_client) < 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const std::string exposition = httpGet(mixs_.prometheusPort(), "/metrics").second;
  EXPECT_EQ(metric(mixs_.prometheusPort(), from_client), 5) << exposition;
  EXPECT_EQ(metric(mixs_.prometheusPort(), from_proxy), 1) << exposition;
  // No series carries the forged admin identity from the client.
  EXPECT_EQ(exposition.find("reporter_principal=\"" + kClient + "\",source_principal=\"" + kAdmin),
            std::string::npos)
      << exposition;
}

TEST_F(SecurityTest, ARotatedServerCertificateLosesNoCall) {
  // The files live behind a symbolic link that is swapped at once, as Kubernetes and SPIRE do,
  // so that gRPC never reads a certificate with the other one's key.
  const std::string live = *dir_ + "/live";
  fs::remove_all(live);
  fs::create_directories(live + "/v1");
  fs::copy_file(pem("server"), live + "/v1/cert.pem");
  fs::copy_file(key("server"), live + "/v1/key.pem");
  fs::create_directory_symlink("v1", live + "/current");
  startMixs({"--tls-cert", live + "/current/cert.pem", "--tls-key", live + "/current/key.pem",
             "--tls-refresh-interval", "1s", "--forward-auth-address", "127.0.0.1:0"});
  auto fa = mixs_.waitFor(R"(forward-auth on https://127\.0\.0\.1:(\d+))");
  ASSERT_TRUE(fa) << mixs_.output();
  const int forward_auth_port = std::stoi((*fa)[1].str());

  // The certificate a new connection to `port` gets (the gRPC port by default).
  auto fingerprint = [&](int port = 0) {
    auto [code, out] = runCommand(
        {"/bin/sh", "-c",
         "openssl s_client -connect 127.0.0.1:" + std::to_string(port ? port : mixs_.port()) +
             " -cert " + pem("client") + " -key " + key("client") +
             " </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256"});
    return out;
  };
  const std::string first = fingerprint();
  ASSERT_NE(first.find("Fingerprint"), std::string::npos) << first;

  // Load on one long-lived connection while new connections come and go.
  Subprocess load;
  ASSERT_TRUE(load.start({binDir() + "/mixc", "check", "-m", mixs_.address(), "--tls-ca", pem("ca"),
                          "--tls-cert", pem("client"), "--tls-key", key("client"), "-c", "4",
                          "--duration", "6s", "--json", "-s", "destination.service=x"}));
  int fresh_ok = 0, fresh = 0;
  auto freshCheck = [&] {
    ++fresh;
    auto [code, out] = mixc("check", "client", {"-s", "destination.service=x"});
    if (out.find(kCheckOk) != std::string::npos) ++fresh_ok;
  };
  for (int i = 0; i < 3; ++i) freshCheck();

  // A new key and certificate, from the same CA.
  auto [code, out] =
      runCommand({"/bin/sh", sourceDir() + "/tests/testing/make_test_certs.sh", live + "/gen"});
  ASSERT_EQ(code, 0) << out;
  fs::create_directories(live + "/v2");
  fs::copy_file(live + "/gen/server.pem", live + "/v2/cert.pem");
  fs::copy_file(live + "/gen/server.key", live + "/v2/key.pem");
  // The new CA signed it: the clients must trust both roots during the change.
  {
    std::ofstream bundle(live + "/bundle.pem");
    bundle << std::ifstream(pem("ca")).rdbuf() << std::ifstream(live + "/gen/ca.pem").rdbuf();
  }
  fs::create_directory_symlink("v2", live + "/next");
  fs::rename(live + "/next", live + "/current");

  std::string now;
  for (int i = 0; i < 100; ++i) {
    now = fingerprint();
    if (now.find("Fingerprint") != std::string::npos && now != first) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(now, first) << "mixs still serves the old certificate";
  // The forward-auth port (its own OpenSSL reload) moves to the new certificate too.
  std::string forward_auth_now;
  for (int i = 0; i < 100; ++i) {
    forward_auth_now = fingerprint(forward_auth_port);
    if (forward_auth_now == now) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(forward_auth_now, now) << "forward-auth still serves the old certificate";
  // New connections verify the new certificate against the bundle.
  auto [c2, rotated] = runCommand({binDir() + "/mixc", "check", "-m", mixs_.address(), "--tls-ca",
                                   live + "/bundle.pem", "--tls-cert", pem("client"), "--tls-key",
                                   key("client"), "-s", "destination.service=x"});
  EXPECT_NE(rotated.find(kCheckOk), std::string::npos) << rotated;

  ASSERT_TRUE(load.waitFor(R"("ok":(\d+),"errors":\{\})", std::chrono::seconds(30)))
      << load.output();
  auto m = load.waitFor(R"("calls":(\d+),"ok":(\d+))");
  ASSERT_TRUE(m) << load.output();
  EXPECT_EQ((*m)[1].str(), (*m)[2].str()) << load.output();
  EXPECT_GT(std::stoll((*m)[2].str()), 0);
  EXPECT_EQ(fresh_ok, fresh);
}

TEST_F(SecurityTest, BadFilesAndPoliciesStopTheServerWithTheirReason) {
  struct Case {
    std::vector<std::string> args;
    const char* says;
  };
  const std::string bad_callers = *dir_ + "/bad-callers.yaml";
  std::ofstream(bad_callers) << "callers:\n- principals: [\"*\"]\n  apis: [chek]\n";
  for (const Case& c :
       {Case{{"--tls-cert", pem("server"), "--tls-key", key("client")},
             "does not belong to certificate"},
        Case{{"--tls-cert", pem("server"), "--tls-key", certs() + "/missing.key"},
             "missing.key: cannot be read"},
        Case{{"--tls-cert", pem("expired"), "--tls-key", key("expired")}, "expired on"},
        Case{{"--tls-cert", pem("server"), "--tls-key", key("server"), "--tls-client-ca", pem("ca"),
              "--callers", bad_callers},
             "bad-callers.yaml:3: unknown API \"chek\""},
        Case{{"--tls-cert", pem("server"), "--tls-key", key("server"), "--callers", bad_callers},
             "--callers needs mTLS"}}) {
    std::vector<std::string> argv = {binDir() + "/mixs",  "server", "--address", "127.0.0.1:0",
                                     "--monitoring-port", "-1"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto [code, out] = runCommand(argv, std::chrono::seconds(20));
    EXPECT_NE(code, 0) << out;
    EXPECT_NE(out.find(c.says), std::string::npos) << out;
  }
}

// HTTP forward-auth on the same certificates: curl as the proxy, over mTLS, with keep-alive.
TEST_F(SecurityTest, ForwardAuthSpeaksMutualTlsWithTheSameCertificatesAndPolicy) {
  startMixs({"--forward-auth-address", "127.0.0.1:0"});
  auto m = mixs_.waitFor(R"(forward-auth on https://127\.0\.0\.1:(\d+))");
  ASSERT_TRUE(m) << mixs_.output();
  const std::string url = "https://127.0.0.1:" + (*m)[1].str() + "/";
  auto curl = [&](const std::string& who, int requests) {
    std::vector<std::string> argv = {"/usr/bin/curl",
                                     "-s",
                                     "--max-time",
                                     "10",
                                     "--cacert",
                                     pem("ca"),
                                     "-H",
                                     "X-Forwarded-Method: GET",
                                     "-H",
                                     "X-Forwarded-Proto: https",
                                     "-H",
                                     "X-Forwarded-Host: web.default.svc.cluster.local",
                                     "-H",
                                     "X-Forwarded-Uri: /index.html",
                                     "-w",
                                     "[%{http_code} %{num_connects}]"};
    if (!who.empty()) argv.insert(argv.end(), {"--cert", pem(who), "--key", key(who)});
    for (int i = 0; i < requests; ++i) argv.push_back(url);
    return runCommand(argv);
  };
  // Two requests on one connection: the second makes no new connection.
  auto [code, ok] = curl("client", 2);
  EXPECT_EQ(code, 0) << ok;
  EXPECT_NE(ok.find("[200 1]"), std::string::npos) << ok << mixs_.output();
  EXPECT_NE(ok.find("[200 0]"), std::string::npos) << ok;
  // The policy: another namespace may not call forward_auth.
  auto [c2, intruder] = curl("intruder", 1);
  EXPECT_NE(intruder.find("may not call forward_auth"), std::string::npos) << intruder;
  EXPECT_NE(intruder.find("[403 1]"), std::string::npos) << intruder;
  EXPECT_EQ(metric(mixs_.monitoringPort(), R"(mixer_callers_denied_total{api="forward_auth"})"), 1);
  // No certificate, a certificate from another CA: the handshake fails, and mixs says why.
  for (const std::string who : {"", "rogue"}) {
    auto [c3, refused] = curl(who, 1);
    EXPECT_NE(c3, 0) << who << ": " << refused;
    EXPECT_EQ(refused.find("[200"), std::string::npos) << who << ": " << refused;
  }
  EXPECT_TRUE(mixs_.waitFor("TLS handshake failed", std::chrono::seconds(5))) << mixs_.output();
  // Plain HTTP on the TLS port gets no answer.
  auto [c4, plain] = runCommand({"/usr/bin/curl", "-s", "--max-time", "5", "-w", "[%{http_code}]",
                                 "http://127.0.0.1:" + (*m)[1].str() + "/"});
  EXPECT_EQ(plain.find("[200]"), std::string::npos) << plain;
}

// pilot-discovery's xDS over mTLS, fetched by Python's grpcio with stubs generated from the
// project's xDS protos.
TEST_F(SecurityTest, PilotServesXdsOverMutualTlsToAllowedCallersOnly) {
  const std::string gen = *dir_ + "/xds-gen";
  fs::create_directories(gen);
  const std::string api = sourceDir() + "/pilot/api";
  std::vector<std::string> argv = {
      "/usr/bin/protoc",          "-I" + api,
      "-I/usr/include",           "--python_out=" + gen,
      "--grpc_python_out=" + gen, "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin"};
  for (const auto& e : fs::recursive_directory_iterator(api)) {
    if (e.path().extension() == ".proto") argv.push_back(e.path().string());
  }
  auto [pc, pout] = runCommand(argv);
  ASSERT_EQ(pc, 0) << pout;

  const std::string registry = *dir_ + "/registry";
  fs::create_directories(registry);
  std::ofstream(registry + "/echo.yaml")
      << "services:\n- hostname: echo.default.svc.cluster.local\n"
         "  ports: [{name: grpc, number: 9080, protocol: GRPC}]\n"
         "  instances:\n  - {address: 127.0.0.1, port: 9999, labels: {version: v1}}\n";
  std::ofstream(*dir_ + "/xds-callers.yaml")
      << "callers:\n- principals: [\"spiffe://cluster.local/ns/default/*\"]\n  apis: [xds]\n";
  PilotProcess pilot;
  ASSERT_TRUE(pilot.start({"--registry-dir", registry, "--tls-cert", pem("server"), "--tls-key",
                           key("server"), "--tls-client-ca", pem("ca"), "--callers",
                           *dir_ + "/xds-callers.yaml"}))
      << pilot.output();
  ASSERT_TRUE(pilot.waitFor(R"(xDS \(mTLS\) on 127\.0\.0\.1:)")) << pilot.output();
  const std::string addr = pilot.xdsAddress();
  const int monitoring = pilot.monitoringPort();

  auto fetch = [&](const std::string& who) {
    std::vector<std::string> a = {
        "/usr/bin/env", "PYTHONPATH=" + gen,
        kPython,        sourceDir() + "/tests/integration/pilot/ads_fetch.py",
        "--addr",       addr,
        "--ca",         pem("ca")};
    if (!who.empty()) a.insert(a.end(), {"--cert", pem(who), "--key", key(who)});
    return runCommand(a).second;
  };
  const std::string allowed = fetch("client");
  EXPECT_NE(allowed.find(R"("code": "OK")"), std::string::npos) << allowed << pilot.output();
  EXPECT_NE(allowed.find(R"("resources": 1)"), std::string::npos) << allowed;
  const std::string denied = fetch("intruder");
  EXPECT_NE(denied.find("PERMISSION_DENIED"), std::string::npos) << denied;
  EXPECT_NE(denied.find("may not call xds"), std::string::npos) << denied;
  const std::string anonymous = fetch("");
  EXPECT_NE(anonymous.find("UNAVAILABLE"), std::string::npos) << anonymous;
  EXPECT_EQ(metric(monitoring, R"(pilot_callers_denied_total{api="xds"})"), 1);
  // The debug views are off unless asked for.
  EXPECT_EQ(httpGet(monitoring, "/debug/config_dump").first, 404);
  pilot.stop(SIGTERM);
}

}  // namespace
