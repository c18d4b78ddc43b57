// pilot-discovery as the mesh's CA, end to end: a real pilot-discovery on ephemeral ports with a
// self-signed root and a join-token file, asked by a client generated from the project's protos
// (protoc and grpc_python_plugin, Debian's python3-grpcio). CSRs are made and certificates checked
// with the openssl command-line tool (`openssl verify` against the root pilot wrote out).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "tests/testing/metrics.h"
#include "tests/testing/pilot_process.h"
#include "tests/testing/subprocess.h"

namespace {

namespace fs = std::filesystem;
using mixer::testing::binDir;
using mixer::testing::runCommand;
using mixer::testing::Subprocess;

constexpr char kPython[] = "/usr/bin/python3";
constexpr char kOpenssl[] = "/usr/bin/openssl";

std::string sourceDir() { return std::getenv("MIXER_SOURCE_DIR"); }

std::string readAll(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void writeAtomically(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.parent_path() / ("." + path.filename().string() + ".tmp");
  std::ofstream(tmp) << text;
  fs::rename(tmp, path);
}

// The first JSON string value of "key" in `json` (the client's output), unescaped enough for
// PEM (\n).
std::string jsonString(const std::string& json, const std::string& key) {
  const std::regex re("\"" + key + "\": \"((?:[^\"\\\\]|\\\\.)*)\"");
  std::smatch m;
  if (!std::regex_search(json, m, re)) return "";
  return std::regex_replace(m[1].str(), std::regex(R"(\\n)"), "\n");
}

std::vector<std::string> jsonStrings(const std::string& json) {
  std::vector<std::string> out;
  const std::regex re(R"re("((?:[^"\\]|\\.)*)")re");
  for (auto it = std::sregex_iterator(json.begin(), json.end(), re); it != std::sregex_iterator();
       ++it) {
    out.push_back(std::regex_replace((*it)[1].str(), std::regex(R"(\\n)"), "\n"));
  }
  return out;
}

// The cert_chain of a CreateCertificate answer.
std::vector<std::string> certChain(const std::string& out) {
  const size_t at = out.find("\"cert_chain\": [");
  if (at == std::string::npos) return {};
  return jsonStrings(out.substr(at + 15));
}

constexpr char kTokens[] = R"(- token: reviews-token-0123456789
  spiffe_id: spiffe://cluster.local/ns/default/sa/reviews
  expires: "2099-01-01T00:00:00Z"
- token: ratings-token-0123456789
  spiffe_id: spiffe://cluster.local/ns/default/sa/ratings
  expires: "2099-01-01T00:00:00Z"
- token: details-token-0123456789
  spiffe_id: spiffe://cluster.local/ns/default/sa/details
  expires: "2099-01-01T00:00:00Z"
- token: old-token-0123456789
  spiffe_id: spiffe://cluster.local/ns/default/sa/old
  expires: "2001-01-01T00:00:00Z"
)";

class CitadelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    gen_ = new std::string(::testing::TempDir() + "/citadel-client-" + std::to_string(getpid()));
    fs::remove_all(*gen_);
    fs::create_directories(*gen_);
    std::vector<std::string> argv = {"/usr/bin/protoc",
                                     "-I" + sourceDir() + "/security/ca/api",
                                     "-I" + sourceDir() + "/pilot/api",
                                     "-I/usr/include",
                                     "--python_out=" + *gen_,
                                     "--grpc_python_out=" + *gen_,
                                     "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin"};
    for (const std::string root : {"/security/ca/api", "/pilot/api"}) {
      for (const auto& e : fs::recursive_directory_iterator(sourceDir() + root)) {
        if (e.path().extension() == ".proto") argv.push_back(e.path().string());
      }
    }
    auto [code, out] = runCommand(argv);
    ASSERT_EQ(code, 0) << out;
  }
  static void TearDownTestSuite() {
    fs::remove_all(*gen_);
    delete gen_;
  }

  void SetUp() override {
    makeDir("citadel_test_");
    writeAtomically(dir_ / "tokens.yaml", kTokens);
    startPilot();
  }

  void makeDir(const std::string& prefix) {
    dir_ = fs::temp_directory_path() /
           (prefix + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "registry");
  }

  void startPilot() {
    if (pilot_ != nullptr) pilot_->stop(SIGTERM);
    pilot_ = std::make_unique<mixer::testing::PilotProcess>();
    std::vector<std::string> flags = {"--registry-dir", (dir_ / "registry").string(),
                                      "--join-tokens", path("tokens.yaml")};
    const std::vector<std::string> more = pilotArgs();
    flags.insert(flags.end(), more.begin(), more.end());
    ASSERT_TRUE(pilot_->start(flags, grpc_address_)) << pilot_->output();
    address_ = pilot_->xdsAddress();
    monitoring_port_ = pilot_->monitoringPort();
    ASSERT_TRUE(pilot_->waitFor("CA for trust domain cluster.local, join tokens: "))
        << pilot_->output();
  }
  void TearDown() override {
    pilot_->stop(SIGTERM);
    fs::remove_all(dir_);
  }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // The CA's flags: a self-signed root, written to root.pem.
  virtual std::vector<std::string> pilotArgs() {
    return {"--ca-self-signed", "--ca-root-out", path("root.pem"), "--workload-cert-ttl", "1h"};
  }

  std::pair<int, std::string> openssl(std::vector<std::string> args) {
    args.insert(args.begin(), kOpenssl);
    return runCommand(args);
  }

  // A key and CSR made by openssl (`newkey` as for `req -newkey`), asking for `san`.
  std::string makeCsr(const std::string& name, const std::string& newkey,
                      const std::string& san = "spiffe://cluster.local/ns/kube-system/sa/admin") {
    auto [rc, out] = openssl({"req", "-new", "-newkey", newkey, "-nodes", "-keyout",
                              path(name + "-key.pem"), "-subj", "/CN=" + name, "-addext",
                              "subjectAltName=URI:" + san, "-out", path(name + ".csr")});
    EXPECT_EQ(rc, 0) << out;
    return path(name + ".csr");
  }

  std::string client(std::vector<std::string> args, const std::string& token = "") {
    std::vector<std::string> argv = {
        "/usr/bin/env", "PYTHONPATH=" + *gen_,
        kPython,        sourceDir() + "/tests/integration/citadel/citadel_client.py",
        "--addr",       address_};
    argv.insert(argv.end(), client_tls_.begin(), client_tls_.end());
    if (!token.empty()) {
      argv.push_back("--token");
      argv.push_back(token);
    }
    argv.insert(argv.end(), args.begin(), args.end());
    auto [code, out] = runCommand(argv);
    EXPECT_EQ(code, 0) << out;
    return out;
  }

  std::string metric(const std::string& name) {
    return mixer::testing::sampleText(mixer::testing::scrapeMetrics(monitoring_port_), name)
        .value_or("");
  }

  std::string certText(const std::string& pem) {
    std::ofstream(path("c.pem")) << pem;
    auto [rc, out] = openssl({"x509", "-in", path("c.pem"), "-noout", "-text"});
    EXPECT_EQ(rc, 0) << out;
    return out;
  }

  std::pair<int, std::string> verify(const std::string& leaf_pem) {
    std::ofstream(path("leaf.pem")) << leaf_pem;
    return openssl({"verify", "-CAfile", path("root.pem"), path("leaf.pem")});
  }

  static std::string* gen_;
  fs::path dir_;
  std::unique_ptr<mixer::testing::PilotProcess> pilot_;
  std::string address_;
  int monitoring_port_ = 0;
  std::vector<std::string> client_tls_;       // the client's TLS flags, if any
  std::string grpc_address_ = "127.0.0.1:0";  // pilot's: a restart may keep the port
};

std::string* CitadelTest::gen_ = nullptr;

TEST_F(CitadelTest, JoinTokenGivesACertificateForItsSpiffeIdOnlyOnce) {
  const std::string csr = makeCsr(
      "reviews", "ec:" + [&] {
        openssl({"ecparam", "-name", "prime256v1", "-out", path("p256.pem")});
        return path("p256.pem");
      }());
  std::string out = client({"create", "--csr", csr}, "reviews-token-0123456789");
  ASSERT_NE(out.find("\"code\": \"OK\""), std::string::npos) << out;
  const std::vector<std::string> chain = certChain(out);
  ASSERT_EQ(chain.size(), 2u) << out;  // the leaf, the root
  const std::string leaf = chain[0];
  EXPECT_EQ(chain[1], readAll(path("root.pem")));
  auto [rc, verified] = verify(leaf);
  EXPECT_EQ(rc, 0) << verified;
  const std::string text = certText(leaf);
  EXPECT_NE(text.find("URI:spiffe://cluster.local/ns/default/sa/reviews"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("kube-system"), std::string::npos) << text;
  EXPECT_EQ(metric(R"(pilot_ca_certificates_issued_total{auth="token"})"), "1");

  // The same token again: used.
  out = client({"create", "--csr", csr}, "reviews-token-0123456789");
  EXPECT_NE(out.find("UNAUTHENTICATED"), std::string::npos) << out;
  EXPECT_NE(out.find("token_used"), std::string::npos) << out;
  // A forged token, an expired one, none at all.
  out = client({"create", "--csr", csr}, "reviews-token-0123456780");
  EXPECT_NE(out.find("UNAUTHENTICATED"), std::string::npos) << out;
  EXPECT_NE(out.find("token_unknown"), std::string::npos) << out;
  out = client({"create", "--csr", csr}, "old-token-0123456789");
  EXPECT_NE(out.find("token_expired"), std::string::npos) << out;
  out = client({"create", "--csr", csr});
  EXPECT_NE(out.find("UNAUTHENTICATED"), std::string::npos) << out;
  EXPECT_NE(out.find("no_credentials"), std::string::npos) << out;

  EXPECT_EQ(metric(R"(pilot_ca_rejected_total{reason="token_used"})"), "1");
  EXPECT_EQ(metric(R"(pilot_ca_rejected_total{reason="token_unknown"})"), "1");
  EXPECT_EQ(metric(R"(pilot_ca_rejected_total{reason="token_expired"})"), "1");
  EXPECT_EQ(metric(R"(pilot_ca_rejected_total{reason="no_credentials"})"), "1");
  EXPECT_NE(pilot_->output().find("UNAUTHENTICATED (token_used)"), std::string::npos)
      << pilot_->output();
}

TEST_F(CitadelTest, WeakOrMalformedCsrIsRefusedWithoutUsingTheToken) {
  std::string out =
      client({"create", "--csr", makeCsr("weak", "rsa:1024")}, "ratings-token-0123456789");
  EXPECT_NE(out.find("UNAUTHENTICATED"), std::string::npos) << out;
  EXPECT_NE(out.find("csr_weak_key"), std::string::npos) << out;
  std::ofstream(path("junk.csr")) << "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
                                     "-----END CERTIFICATE REQUEST-----\n";
  out = client({"create", "--csr", path("junk.csr")}, "ratings-token-0123456789");
  EXPECT_NE(out.find("csr_malformed"), std::string::npos) << out;
  EXPECT_EQ(metric(R"(pilot_ca_rejected_total{reason="csr_weak_key"})"), "1");
  EXPECT_EQ(metric(R"(pilot_ca_rejected_total{reason="csr_malformed"})"), "1");
  // The token is still good, and an RSA 2048 key is accepted; the request's validity is honoured
  // below the TTL.
  out = client({"create", "--csr", makeCsr("rsa", "rsa:2048"), "--validity", "600"},
               "ratings-token-0123456789");
  ASSERT_NE(out.find("\"code\": \"OK\""), std::string::npos) << out;
  const std::string leaf = certChain(out)[0];
  EXPECT_EQ(verify(leaf).first, 0);
  EXPECT_NE(certText(leaf).find("URI:spiffe://cluster.local/ns/default/sa/ratings"),
            std::string::npos);
}

TEST_F(CitadelTest, TokenFileIsReloadedOnChange) {
  const std::string csr = makeCsr("new", "rsa:2048");
  std::string out = client({"create", "--csr", csr}, "productpage-token-0123456789");
  EXPECT_NE(out.find("token_unknown"), std::string::npos) << out;
  writeAtomically(dir_ / "tokens.yaml", std::string(kTokens) +
                                            "- token: productpage-token-0123456789\n"
                                            "  spiffe_id: spiffe://cluster.local/ns/shop/sa/pp\n"
                                            "  expires: \"2099-01-01T00:00:00Z\"\n");
  out = client({"create", "--csr", csr}, "productpage-token-0123456789");
  ASSERT_NE(out.find("\"code\": \"OK\""), std::string::npos) << out;
  EXPECT_NE(certText(certChain(out)[0]).find("URI:spiffe://cluster.local/ns/shop/sa/pp"),
            std::string::npos);
}

TEST_F(CitadelTest, SdsServesDefaultAndRootcaOnEveryApi) {
  const std::vector<std::pair<std::string, std::string>> vias = {
      {"fetch", "reviews-token-0123456789"},
      {"stream", "ratings-token-0123456789"},
      {"ads", "details-token-0123456789"}};
  for (const auto& [via, token] : vias) {
    const std::string out = client({"sds", "--via", via, "--names", "default,ROOTCA"}, token);
    ASSERT_NE(out.find("\"code\": \"OK\""), std::string::npos) << via << ": " << out;
    EXPECT_NE(out.find("envoy.extensions.transport_sockets.tls.v3.Secret"), std::string::npos);
    EXPECT_EQ(jsonString(out, "trusted_ca"), readAll(path("root.pem"))) << via;
    const std::string chain = jsonString(out, "certificate_chain");
    const std::string key = jsonString(out, "private_key");
    ASSERT_FALSE(chain.empty()) << out;
    EXPECT_EQ(verify(chain).first, 0) << via;
    // The key is the certificate's.
    std::ofstream(path("sds-key.pem")) << key;
    std::ofstream(path("sds-cert.pem")) << chain;
    auto [rc1, pub_from_key] = openssl({"pkey", "-in", path("sds-key.pem"), "-pubout"});
    auto [rc2, pub_from_cert] = openssl({"x509", "-in", path("sds-cert.pem"), "-noout", "-pubkey"});
    EXPECT_EQ(rc1, 0);
    EXPECT_EQ(pub_from_key, pub_from_cert) << via;
    // The same token again is refused.
    const std::string again = client({"sds", "--via", via}, token);
    EXPECT_NE(again.find("UNAUTHENTICATED"), std::string::npos) << via << ": " << again;
  }
  EXPECT_EQ(metric(R"(pilot_ca_certificates_issued_total{auth="token"})"), "3");
}

TEST_F(CitadelTest, AgentWritesTheFilesAndKeepsThemAcrossARestart) {
  fs::create_directories(dir_ / "certs");
  std::ofstream(path("token")) << "details-token-0123456789\n";
  const std::vector<std::string> agent = {binDir() + "/pilot-agent",
                                          "--ca-address",
                                          address_,
                                          "--out-dir",
                                          path("certs"),
                                          "--token-file",
                                          path("token"),
                                          "--once"};
  auto [rc, out] = runCommand(agent);
  ASSERT_EQ(rc, 0) << out;
  for (const char* name : {"cert-chain.pem", "key.pem", "root-cert.pem"}) {
    EXPECT_TRUE(fs::exists(dir_ / "certs" / name)) << name;
  }
  struct stat st {};
  ASSERT_EQ(stat(path("certs/key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(readAll(path("certs/root-cert.pem")), readAll(path("root.pem")));
  auto [vrc, vout] =
      openssl({"verify", "-CAfile", path("certs/root-cert.pem"), path("certs/cert-chain.pem")});
  EXPECT_EQ(vrc, 0) << vout;
  EXPECT_NE(certText(readAll(path("certs/cert-chain.pem")))
                .find("URI:spiffe://cluster.local/ns/default/sa/details"),
            std::string::npos);
  auto [krc, key_pub] = openssl({"pkey", "-in", path("certs/key.pem"), "-pubout"});
  auto [crc, cert_pub] =
      openssl({"x509", "-in", path("certs/cert-chain.pem"), "-noout", "-pubkey"});
  EXPECT_EQ(key_pub, cert_pub);
  // No temporary file is left behind.
  for (const auto& e : fs::directory_iterator(dir_ / "certs")) {
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
  }

  // Started again, it keeps the valid certificate (the token, used, would be refused).
  const std::string before = readAll(path("certs/cert-chain.pem"));
  auto [rc2, out2] = runCommand(agent);
  EXPECT_EQ(rc2, 0) << out2;
  EXPECT_EQ(readAll(path("certs/cert-chain.pem")), before);
  EXPECT_EQ(metric(R"(pilot_ca_certificates_issued_total{auth="token"})"), "1");
}

TEST_F(CitadelTest, AgentBacksOffWhileTheCaIsAway) {
  fs::create_directories(dir_ / "certs");
  std::ofstream(path("token")) << "reviews-token-0123456789\n";
  // A port nothing listens on: pilot's monitoring port speaks HTTP/1, not gRPC.
  Subprocess agent;
  ASSERT_TRUE(agent.start({binDir() + "/pilot-agent", "--ca-address",
                           "127.0.0.1:" + std::to_string(monitoring_port_), "--out-dir",
                           path("certs"), "--token-file", path("token"), "--backoff-initial",
                           "50ms", "--backoff-max", "200ms"}));
  // Delays double up to the cap (plus up to a quarter of jitter).
  ASSERT_TRUE(agent.waitFor(R"(retrying in (\d+) ms[\s\S]*retrying in (\d+) ms[\s\S]*)"
                            R"(retrying in (\d+) ms[\s\S]*retrying in (\d+) ms)"))
      << agent.output();
  auto m = agent.waitFor(R"(retrying in (\d+) ms[\s\S]*retrying in (\d+) ms[\s\S]*)"
                         R"(retrying in (\d+) ms[\s\S]*retrying in (\d+) ms)");
  const int d1 = std::stoi((*m)[1].str()), d2 = std::stoi((*m)[2].str()),
            d3 = std::stoi((*m)[3].str()), d4 = std::stoi((*m)[4].str());
  EXPECT_TRUE(d1 >= 50 && d1 <= 62) << d1;
  EXPECT_TRUE(d2 >= 100 && d2 <= 125) << d2;
  EXPECT_TRUE(d3 >= 200 && d3 <= 250) << d3;
  EXPECT_TRUE(d4 >= 200 && d4 <= 250) << d4;
  EXPECT_FALSE(fs::exists(dir_ / "certs" / "cert-chain.pem"));
  EXPECT_EQ(agent.stop(SIGTERM), 0);
}

// The same CA with an operator's root (made by openssl) and TLS on pilot's port: renewal over
// mutual TLS, the agent's rotation, and workloads talking mTLS with the agent's files.
class CitadelMtlsTest : public CitadelTest {
 protected:
  void SetUp() override {
    makeDir("citadel_mtls_");
    writeAtomically(dir_ / "tokens.yaml", kTokens);
    makeRoot("root", "mesh root");
    makeRoot("other", "another CA");
    // pilot's serving certificate, from the mesh root; a workload certificate from the other CA.
    issue("root", "pilot",
          "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth");
    issue("other", "intruder",
          "subjectAltName=URI:spiffe://cluster.local/ns/default/sa/reviews\n"
          "extendedKeyUsage=clientAuth,serverAuth");
    // The port trusts the other CA too (for some other use): the CA itself must refuse it.
    std::ofstream(path("client-ca.pem")) << readAll(path("root.pem")) << readAll(path("other.pem"));
    startPilot();
    client_tls_ = {"--root", path("root.pem"), "--server-name", "localhost"};
  }

  std::vector<std::string> pilotArgs() override {
    std::vector<std::string> args = {"--ca-cert",
                                     path(signer_ + ".pem"),
                                     "--ca-key",
                                     path(signer_ + "-key.pem"),
                                     "--tls-cert",
                                     path("pilot.pem"),
                                     "--tls-key",
                                     path("pilot-key.pem"),
                                     "--tls-client-ca",
                                     path("client-ca.pem"),
                                     "--workload-cert-ttl",
                                     ttl_};
    if (!trust_bundle_.empty()) {
      args.insert(args.end(), {"--ca-trust-bundle", path(trust_bundle_ + ".pem")});
    }
    return args;
  }

  void makeRoot(const std::string& name, const std::string& cn) {
    auto [rc, out] = openssl(
        {"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days",
         "30", "-subj", "/O=cluster.local/CN=" + cn, "-keyout", path(name + "-key.pem"), "-out",
         path(name + ".pem"), "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
         "keyUsage=critical,keyCertSign,cRLSign"});
    ASSERT_EQ(rc, 0) << out;
  }
  void issue(const std::string& ca, const std::string& name, const std::string& ext) {
    std::ofstream(path(name + ".ext")) << ext << "\n";
    auto [rc, out] = openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                              "-nodes", "-subj", "/O=test", "-keyout", path(name + "-key.pem"),
                              "-out", path(name + ".csr")});
    ASSERT_EQ(rc, 0) << out;
    auto [rc2, out2] =
        openssl({"x509", "-req", "-in", path(name + ".csr"), "-CA", path(ca + ".pem"), "-CAkey",
                 path(ca + "-key.pem"), "-CAcreateserial", "-days", "2", "-extfile",
                 path(name + ".ext"), "-out", path(name + ".pem")});
    ASSERT_EQ(rc2, 0) << out2;
  }

  // Starts pilot-agent for `token` into dir_/<name>, and waits for its files.
  std::unique_ptr<Subprocess> startAgent(const std::string& name, const std::string& token) {
    fs::create_directories(dir_ / name);
    std::ofstream(path(name + ".token")) << token << "\n";
    auto agent = std::make_unique<Subprocess>();
    EXPECT_TRUE(agent->start({binDir() + "/pilot-agent", "--ca-address", address_, "--out-dir",
                              path(name), "--token-file", path(name + ".token"), "--ca-root",
                              path("root.pem"), "--server-name", "localhost", "--backoff-initial",
                              "100ms", "--backoff-max", "1s"}));
    EXPECT_TRUE(agent->waitFor("obtained spiffe://")) << agent->output();
    return agent;
  }

  // Waits (up to a minute) until `file` differs from `before`; returns its content.
  std::string waitForChange(const std::string& file, const std::string& before) {
    for (int i = 0; i < 600; ++i) {
      const std::string now = readAll(file);
      if (!now.empty() && now != before) return now;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return before;
  }

  std::string ttl_ = "1h";
  std::string signer_ = "root";  // the CA's signing root: root.pem or other.pem
  std::string trust_bundle_;     // extra roots (a rotation's overlap), or none
};

constexpr char kServingTokens[] = R"(- token: reviews-token-0123456789
  spiffe_id: spiffe://cluster.local/ns/default/sa/reviews
  expires: "2099-01-01T00:00:00Z"
  dns_names: [localhost]
- token: ratings-token-0123456789
  spiffe_id: spiffe://cluster.local/ns/default/sa/ratings
  expires: "2099-01-01T00:00:00Z"
  dns_names: [localhost]
)";

TEST_F(CitadelMtlsTest, RenewalWithTheCurrentCertificateKeepsTheSpiffeId) {
  const std::string csr = makeCsr("first", "rsa:2048");
  std::string out = client({"create", "--csr", csr}, "reviews-token-0123456789");
  ASSERT_NE(out.find("\"code\": \"OK\""), std::string::npos) << out;
  const std::vector<std::string> chain = certChain(out);
  ASSERT_EQ(chain.size(), 2u);
  std::ofstream(path("first.pem")) << chain[0];
  EXPECT_EQ(verify(chain[0]).first, 0);

  // Renewal: a new key, a CSR asking for another identity, the old certificate over mTLS.
  const std::string renew_csr =
      makeCsr("second", "rsa:2048", "spiffe://cluster.local/ns/default/sa/admin");
  client_tls_.insert(client_tls_.end(),
                     {"--cert", path("first.pem"), "--key", path("first-key.pem")});
  out = client({"create", "--csr", renew_csr});
  ASSERT_NE(out.find("\"code\": \"OK\""), std::string::npos) << out;
  const std::string renewed = certChain(out)[0];
  EXPECT_NE(renewed, chain[0]);
  EXPECT_EQ(verify(renewed).first, 0);
  const std::string text = certText(renewed);
  EXPECT_NE(text.find("URI:spiffe://cluster.local/ns/default/sa/reviews"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("sa/admin"), std::string::npos) << text;
  EXPECT_EQ(metric(R"(pilot_ca_certificates_issued_total{auth="certificate"})"), "1");

  // SDS over mTLS with the certificate alone.
  out = client({"sds", "--via", "stream"});
  ASSERT_NE(out.find("\"code\": \"OK\""), std::string::npos) << out;
  EXPECT_NE(certText(jsonString(out, "certificate_chain"))
                .find("URI:spiffe://cluster.local/ns/default/sa/reviews"),
            std::string::npos);

  // A certificate from another CA (which the TLS port trusts) is refused by the CA.
  client_tls_.resize(4);
  client_tls_.insert(client_tls_.end(),
                     {"--cert", path("intruder.pem"), "--key", path("intruder-key.pem")});
  out = client({"create", "--csr", renew_csr});
  EXPECT_NE(out.find("UNAUTHENTICATED"), std::string::npos) << out;
  EXPECT_NE(out.find("certificate_untrusted"), std::string::npos) << out;
  EXPECT_EQ(metric(R"(pilot_ca_rejected_total{reason="certificate_untrusted"})"), "1");
}

TEST_F(CitadelMtlsTest, SdsStreamSendsAFreshDefaultAtHalfLife) {
  ttl_ = "4s";
  startPilot();
  const std::string out =
      client({"sds", "--via", "ads", "--names", "default,ROOTCA", "--responses", "2"},
             "details-token-0123456789");
  ASSERT_NE(out.find("\"code\": \"OK\""), std::string::npos) << out;
  const std::regex chain_re(R"re("certificate_chain": "((?:[^"\\]|\\.)*)")re");
  std::vector<std::string> chains;
  for (auto it = std::sregex_iterator(out.begin(), out.end(), chain_re);
       it != std::sregex_iterator(); ++it) {
    chains.push_back(std::regex_replace((*it)[1].str(), std::regex(R"(\\n)"), "\n"));
  }
  ASSERT_EQ(chains.size(), 2u) << out;
  EXPECT_NE(chains[0], chains[1]);
  for (const std::string& c : chains) {
    EXPECT_EQ(verify(c).first, 0);
    EXPECT_NE(certText(c).find("URI:spiffe://cluster.local/ns/default/sa/details"),
              std::string::npos);
  }
  EXPECT_NE(out.find("\"version\": \"2\""), std::string::npos) << out;
  EXPECT_EQ(metric(R"(pilot_ca_certificates_issued_total{auth="token"})"), "2");
}

TEST_F(CitadelMtlsTest, AgentFilesRotateKeepingIdentityAndKey) {
  ttl_ = "6s";
  writeAtomically(dir_ / "tokens.yaml", kServingTokens);
  startPilot();
  auto agent = startAgent("reviews", "reviews-token-0123456789");
  const std::string cert = path("reviews/cert-chain.pem");
  const std::string key = readAll(path("reviews/key.pem"));
  std::string current = readAll(cert);
  EXPECT_EQ(readAll(path("reviews/root-cert.pem")), readAll(path("root.pem")));
  for (int rotation = 1; rotation <= 2; ++rotation) {
    const std::string next = waitForChange(cert, current);
    ASSERT_NE(next, current) << "rotation " << rotation << "\n" << agent->output();
    current = next;
    auto [rc, out] = openssl({"verify", "-CAfile", path("reviews/root-cert.pem"), cert});
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(certText(current).find("URI:spiffe://cluster.local/ns/default/sa/reviews"),
              std::string::npos);
    EXPECT_EQ(readAll(path("reviews/key.pem")), key);
  }
  EXPECT_NE(agent->output().find("renewed spiffe://cluster.local/ns/default/sa/reviews"),
            std::string::npos);
  EXPECT_EQ(agent->stop(SIGTERM), 0);
}

TEST_F(CitadelMtlsTest, PythonClientAndServerTalkMtlsAcrossRotations) {
  ttl_ = "8s";
  writeAtomically(dir_ / "tokens.yaml", kServingTokens);
  startPilot();
  auto server_agent = startAgent("reviews", "reviews-token-0123456789");
  auto client_agent = startAgent("ratings", "ratings-token-0123456789");
  auto [rc, out] = runCommand(
      {kPython, sourceDir() + "/tests/integration/citadel/mtls_pair.py", "--server-dir",
       path("reviews"), "--client-dir", path("ratings"), "--rotations", "3", "--timeout", "150"},
      std::chrono::seconds(200));
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("\"failures\": []"), std::string::npos) << out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex(R"("client_certs_seen": (\d+))"))) << out;
  EXPECT_GE(std::stoi(m[1].str()), 3) << out;
  ASSERT_TRUE(std::regex_search(out, m, std::regex(R"("server_config_loads": (\d+))"))) << out;
  EXPECT_GE(std::stoi(m[1].str()), 2) << out;
  EXPECT_NE(out.find(R"("peers": ["spiffe://cluster.local/ns/default/sa/ratings"])"),
            std::string::npos)
      << out;
  EXPECT_EQ(server_agent->stop(SIGTERM), 0);
  EXPECT_EQ(client_agent->stop(SIGTERM), 0);
}

TEST_F(CitadelMtlsTest, MixsServesCheckOverMtlsWithAgentFiles) {
  writeAtomically(dir_ / "tokens.yaml",
                  std::string(kServingTokens) +
                      "- token: mixs-token-0123456789\n"
                      "  spiffe_id: spiffe://cluster.local/ns/istio-system/sa/mixs\n"
                      "  expires: \"2099-01-01T00:00:00Z\"\n"
                      "  dns_names: [localhost]\n");
  auto mixs_agent = startAgent("mixs", "mixs-token-0123456789");
  auto client_agent = startAgent("ratings", "ratings-token-0123456789");
  Subprocess mixs;
  ASSERT_TRUE(mixs.start({binDir() + "/mixs", "server", "--address", "127.0.0.1:0",
                          "--monitoring-port", "0", "--prometheus-address", "127.0.0.1:0",
                          "--tls-cert", path("mixs/cert-chain.pem"), "--tls-key",
                          path("mixs/key.pem"), "--tls-client-ca", path("mixs/root-cert.pem")}));
  auto m = mixs.waitFor(R"(API\) on 127\.0\.0\.1:(\d+))");
  ASSERT_TRUE(m) << mixs.output();
  // 127.0.0.1, not a name a resolver must find; the certificate's name is checked as localhost.
  const std::string address = "127.0.0.1:" + (*m)[1].str();
  auto check = [&](bool with_cert) {
    std::vector<std::string> argv = {binDir() + "/mixc",
                                     "check",
                                     "-m",
                                     address,
                                     "--tls-ca",
                                     path("ratings/root-cert.pem"),
                                     "--tls-server-name",
                                     "localhost",
                                     "--timeout-ms",
                                     "5000",
                                     "-s",
                                     "destination.service=reviews.default.svc"};
    if (with_cert) {
      argv.insert(argv.end(), {"--tls-cert", path("ratings/cert-chain.pem"), "--tls-key",
                               path("ratings/key.pem")});
    }
    return runCommand(argv);
  };
  auto [rc, out] = check(true);
  EXPECT_EQ(rc, 0) << out << mixs.output();
  EXPECT_NE(out.find("Check RPC completed successfully"), std::string::npos) << out;
  // Without a workload certificate mixs does not let the client in.
  auto [rc2, out2] = check(false);
  EXPECT_NE(rc2, 0) << out2;
  EXPECT_EQ(out2.find("Check RPC completed successfully"), std::string::npos) << out2;
  mixs.stop(SIGTERM);
  EXPECT_EQ(mixs_agent->stop(SIGTERM), 0);
  EXPECT_EQ(client_agent->stop(SIGTERM), 0);
}

// docs/citadel.md's root rotation, with "other" as the new root: both roots are served first,
// then the new root signs while the old one stays trusted; the agent keeps renewing throughout
// and its bundle holds both roots.
TEST_F(CitadelMtlsTest, RootRotationWithOverlappingBundles) {
  ttl_ = "6s";
  writeAtomically(dir_ / "tokens.yaml", kServingTokens);
  startPilot();
  auto agent = startAgent("reviews", "reviews-token-0123456789");
  const std::string cert = path("reviews/cert-chain.pem");
  const std::string old_root = readAll(path("root.pem"));
  const std::string new_root = readAll(path("other.pem"));
  EXPECT_EQ(readAll(path("reviews/root-cert.pem")), old_root);

  // Step 2: the old root signs, the new root is served beside it. Pilot restarts on its port.
  grpc_address_ = address_;
  trust_bundle_ = "other";
  startPilot();
  std::string current = waitForChange(cert, readAll(cert));
  current = waitForChange(cert, current);  // a renewal that certainly fetched the new bundle
  EXPECT_EQ(readAll(path("reviews/root-cert.pem")), old_root + new_root) << agent->output();
  auto [rc, out] = openssl({"verify", "-CAfile", path("root.pem"), cert});
  EXPECT_EQ(rc, 0) << out;

  // Step 3: the new root signs; the old root stays trusted, so the agent's old-root certificate
  // still renews.
  signer_ = "other";
  trust_bundle_ = "root";
  startPilot();
  current = waitForChange(cert, current);
  auto [rc2, out2] = openssl({"verify", "-CAfile", path("other.pem"), cert});
  EXPECT_EQ(rc2, 0) << out2 << agent->output();
  EXPECT_NE(certText(current).find("URI:spiffe://cluster.local/ns/default/sa/reviews"),
            std::string::npos);
  current = waitForChange(cert, current);  // and renews with the new-root certificate
  EXPECT_EQ(openssl({"verify", "-CAfile", path("other.pem"), cert}).first, 0);
  EXPECT_EQ(readAll(path("reviews/root-cert.pem")), new_root + old_root);
  EXPECT_EQ(agent->stop(SIGTERM), 0);
}

}  // namespace
