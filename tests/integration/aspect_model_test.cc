// The aspect model as Istio 0.1's documentation wrote it, in real mixs processes driven by mixc:
// every documented example (tests/config/aspect_docs/) validates; the documentation's first
// example serves as written; errors name the 0.1 concepts; and, end to end, an ipListChecker
// blacklist fetched over HTTPS from a real list publisher (a Python server, certificates made with
// openssl) decides Checks, refreshes, and fails as documented when the publisher goes away, while
// the prometheus adapter serves the documented metric descriptor.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/testing/mixs_process.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace mixer {
namespace {

using testing::binDir;
using testing::MixsOptions;
using testing::MixsProcess;
using testing::readFile;
using testing::runCommand;
using testing::sourceDir;
using testing::Subprocess;
using testing::TempDir;
namespace fs = std::filesystem;

// Whether ctest gave the source tree (the documented examples live there).
bool haveSourceDir() { return std::getenv("MIXER_SOURCE_DIR") != nullptr; }

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

class Mixs {
 public:
  void start(const std::string& config_dir) {
    MixsOptions options;
    options.config_dir = config_dir;
    options.prometheus_on_free_port = true;
    ASSERT_TRUE(process_.start(options)) << process_.output();
  }
  // The port the prometheus adapter serves /metrics on.
  int prometheusPort() { return process_.waitForPrometheus() ? process_.prometheusPort() : -1; }
  // One Check with `args` (mixc attribute flags); mixc's output.
  std::string check(const std::vector<std::string>& args) {
    return process_.mixc("check", args).second;
  }
  bool denied(const std::string& ip) {
    return check({"-a", "source.ip=" + ip}).find("PERMISSION_DENIED") != std::string::npos;
  }
  std::pair<int, std::string> report(const std::vector<std::string>& args) {
    return process_.mixc("report", args);
  }
  std::optional<testing::Match> waitFor(const std::string& pattern, std::chrono::milliseconds t) {
    return process_.waitFor(pattern, t);
  }
  std::string output() const { return process_.output(); }
  int stop() { return process_.stop(SIGTERM); }

 private:
  MixsProcess process_;
};

// Polls `condition` every 100 ms for up to `seconds`.
template <typename F>
bool eventually(F condition, int seconds) {
  for (int i = 0; i < seconds * 10; ++i) {
    if (condition()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return condition();
}

// ---------------------------------------------------------------------------------------------
// The documented examples.

std::vector<fs::path> fixtures() {
  std::vector<fs::path> out;
  for (const auto& entry :
       fs::directory_iterator(fs::path(sourceDir()) / "tests" / "config" / "aspect_docs")) {
    if (entry.path().extension() == ".yaml") {
      out.push_back(entry.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(AspectDocsTest, EveryDocumentedExampleValidates) {
  if (!haveSourceDir()) {
    GTEST_SKIP() << "MIXER_SOURCE_DIR is not set";
  }
  const auto files = fixtures();
  ASSERT_GE(files.size(), 22u);
  for (const fs::path& file : files) {
    TempDir dir("aspect-validate");
    dir.write(file.filename().string(), readFile(file.string()));
    auto [code, out] = runCommand({binDir() + "/mixs", "validate", dir.path()});
    EXPECT_EQ(code, 0) << file.filename() << ":\n" << out;
    EXPECT_NE(out.find(": valid:"), std::string::npos) << file.filename() << ":\n" << out;
  }
}

TEST(AspectDocsTest, TheFirstExampleServesAsWritten) {
  if (!haveSourceDir()) {
    GTEST_SKIP() << "MIXER_SOURCE_DIR is not set";
  }
  TempDir config("aspect-first");
  config.write("config.yaml",
               readFile(sourceDir() + "/tests/config/aspect_docs/issue_first_example.yaml"));
  Mixs mixs;
  mixs.start(config.path());
  // https://mylistserver:912 does not answer here: the fetch error is logged, and with no list
  // the blacklist denies nothing.
  EXPECT_TRUE(mixs.waitFor("fetching list from https://mylistserver:912", std::chrono::seconds(20)))
      << mixs.output();
  EXPECT_NE(mixs.check({"-a", "source.ip=192.168.0.1"}).find("OK"), std::string::npos);
  EXPECT_EQ(WEXITSTATUS(mixs.stop()), 0) << mixs.output();
}

TEST(AspectDocsTest, MixcEvalKnowsTheIstio01Vocabulary) {
  auto [code, out] = runCommand({binDir() + "/mixc", "eval", "-e", "target.service == \"example\"",
                                 "-s", "target.service=example"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("true"), std::string::npos) << out;
  std::tie(code, out) =
      runCommand({binDir() + "/mixc", "eval", "--vocabulary", "1.x", "-e",
                  "target.service == \"example\"", "-s", "target.service=example"});
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("target.service"), std::string::npos) << out;
}

TEST(AspectDocsTest, ErrorsNameTheAspectModelConceptsAndPositions) {
  TempDir config("aspect-errors");
  config.write("bad.yaml", R"(adapters:
  - name: myListChecker
    kind: lists
    impl: ipListChecker
    params:
      publisherUrl: ftp://mylistserver:912
      refreshInterval: 60s
aspects:
- kind: lists
  adapter: myListChecker
  params:
    blacklist: true
    checkExpression: source.ipz
rules:
- selector: target.servize == "x"
  aspects:
  - kind: lists
    adapter: myListChecker
    params:
      checkExpression: source.ip
      blacklist: true
)");
  auto [code, out] = runCommand({binDir() + "/mixs", "validate", config.path()});
  EXPECT_EQ(code, 1) << out;
  const std::string file = config.file("bad.yaml");
  EXPECT_NE(out.find(file + ":6:21: adapter 'myListChecker' (kind lists, impl ipListChecker): "
                            "params.publisherUrl: expected an http:// or https:// URL"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(file + ":13:22: lists aspect of adapter 'myListChecker', param "
                            "'checkExpression': unknown attribute source.ipz"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(file + ":15:13: rule selector: unknown attribute target.servize"),
            std::string::npos)
      << out;
  // Nothing of the 1.x names the aspects are translated into.
  EXPECT_EQ(out.find(".adapter.lists"), std::string::npos) << out;
  EXPECT_EQ(out.find("listentry"), std::string::npos) << out;
}

// ---------------------------------------------------------------------------------------------
// End to end: the first example with a real list publisher over HTTPS.

// A CA and a certificate for 127.0.0.1 signed by it, made with openssl in `dir`.
void makeCertificates(const TempDir& dir) {
  const std::string d = dir.path() + "/";
  dir.write("san.ext", "subjectAltName=IP:127.0.0.1\n");
  for (const std::vector<std::string>& argv : std::vector<std::vector<std::string>>{
           {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", d + "ca.key", "-out", d + "ca.pem",
            "-days", "1", "-subj", "/CN=list publisher test CA"},
           {"/usr/bin/openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", d + "server.key", "-out", d + "server.csr", "-subj",
            "/CN=127.0.0.1"},
           {"/usr/bin/openssl", "x509", "-req", "-in", d + "server.csr", "-CA", d + "ca.pem",
            "-CAkey", d + "ca.key", "-CAcreateserial", "-out", d + "server.pem", "-days", "1",
            "-extfile", d + "san.ext"}}) {
    auto [code, out] = runCommand(argv);
    ASSERT_EQ(code, 0) << out;
  }
}

// Serves the files of a directory over HTTPS on an ephemeral port of 127.0.0.1.
constexpr char kPublisher[] = R"(import functools, http.server, ssl, sys
root, cert, key = sys.argv[1:4]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print("publishing on port", server.server_address[1], flush=True)
server.serve_forever()
)";

// The list format ipListChecker fetched: YAML with the addresses and CIDRs under `whitelist`.
constexpr char kList1[] = "whitelist:\n- 10.1.2.3\n- 192.168.7.0/24\n";
constexpr char kList2[] = "whitelist:\n- 10.9.9.9\n";

TEST(AspectModelEndToEndTest, TheFirstExampleWithAListPublisherOverHttps) {
  if (!haveSourceDir()) {
    GTEST_SKIP() << "MIXER_SOURCE_DIR is not set";
  }
  TempDir certs("aspect-certs");
  makeCertificates(certs);
  if (::testing::Test::HasFatalFailure()) {
    return;
  }
  TempDir lists("aspect-lists");
  lists.write("blacklist.yaml", kList1);
  lists.write("publisher.py", kPublisher);
  Subprocess publisher;
  ASSERT_TRUE(publisher.start({"/usr/bin/python3", "-u", lists.file("publisher.py"), lists.path(),
                               certs.file("server.pem"), certs.file("server.key")}));
  auto port = publisher.waitFor(R"(publishing on port (\d+))");
  ASSERT_TRUE(port) << publisher.output();

  // The first example, with the publisher's URL, a 1 s refresh and a 3 s ttl (for a fast test).
  std::string example =
      readFile(sourceDir() + "/tests/config/aspect_docs/issue_first_example.yaml");
  example = replaceAll(example, "https://mylistserver:912",
                       "https://127.0.0.1:" + (*port)[1].str() + "/blacklist.yaml\n      ttl: 3s");
  example = replaceAll(example, "refreshInterval: 60s", "refreshInterval: 1s");
  TempDir config("aspect-e2e");
  config.write("example.yaml", example);
  // The page's metrics aspect and request_count descriptor for its myMetricsCollector, and a
  // rule on target.service.
  config.write("metrics.yaml", R"(aspects:
- kind: metrics
  adapter: myMetricsCollector
  params:
    metrics:
    - descriptorName: request_count
      value: "1"
      labels:
        source: source.name
        target: target.name
        service: api.name
        responseCode: response.code
metrics:
  - name: request_count
    kind: COUNTER
    value: INT64
    labels:
      source: STRING
      target: STRING
      service: STRING
      responseCode: INT64
)");
  config.write("deny.yaml", R"(adapters:
- name: denyall
  kind: denials
  impl: denyChecker
rules:
- selector: target.service == "example"
  aspects:
  - kind: denials
    adapter: denyall
)");
  // The publisher's CA, for the listchecker adapter (inherited by mixs).
  ASSERT_EQ(setenv("MIXER_LISTCHECKER_CA_FILE", certs.file("ca.pem").c_str(), 1), 0);
  Mixs mixs;
  mixs.start(config.path());
  unsetenv("MIXER_LISTCHECKER_CA_FILE");

  // A blacklisted source.ip is denied (once the first fetch is in), others pass.
  EXPECT_TRUE(eventually([&] { return mixs.denied("10.1.2.3"); }, 10)) << mixs.output();
  EXPECT_TRUE(mixs.denied("192.168.7.200"));
  EXPECT_FALSE(mixs.denied("10.9.9.9"));
  EXPECT_FALSE(mixs.denied("192.168.0.1"));

  // A rule on target.service decides a Check that carries it (denyChecker: FAILED_PRECONDITION).
  const std::string example_out =
      mixs.check({"-a", "source.ip=192.168.0.1", "-s", "target.service=example"});
  EXPECT_NE(example_out.find("Check status was FAILED_PRECONDITION"), std::string::npos)
      << example_out;
  EXPECT_NE(example_out.find("target.service"), std::string::npos) << example_out;
  EXPECT_NE(mixs.check({"-a", "source.ip=192.168.0.1", "-s", "target.service=other"})
                .find("Check status was OK"),
            std::string::npos);

  // The list refreshes on refreshInterval.
  lists.write("blacklist.yaml", kList2);
  EXPECT_TRUE(eventually([&] { return mixs.denied("10.9.9.9") && !mixs.denied("10.1.2.3"); }, 5))
      << mixs.output();

  // The publisher goes away: the last list keeps serving until ttl, the failures are logged, then
  // the list is purged (the blacklist then denies nothing) and that is logged too.
  publisher.stop(SIGTERM);
  EXPECT_TRUE(mixs.denied("10.9.9.9"));
  EXPECT_TRUE(mixs.waitFor(R"(fetching list from https://127\.0\.0\.1:\d+/blacklist\.yaml: )",
                           std::chrono::seconds(5)))
      << mixs.output();
  EXPECT_TRUE(mixs.waitFor("purged: no good fetch for ttl", std::chrono::seconds(10)))
      << mixs.output();
  EXPECT_FALSE(mixs.denied("10.9.9.9")) << mixs.output();

  // The metrics adapter serves the documented descriptor.
  const int prometheus = mixs.prometheusPort();
  ASSERT_GT(prometheus, 0) << mixs.output();
  for (int i = 0; i < 3; ++i) {
    auto [code, out] = mixs.report({"-s", "source.name=productpage,target.name=reviews,api.name=v1",
                                    "-i", "response.code=200"});
    ASSERT_EQ(code, 0) << out;
  }
  std::string body;
  const std::regex series(
      R"(\nistio_request_count\{responseCode="200",service="v1",source="productpage",target="reviews"\} 3\n)");
  EXPECT_TRUE(eventually(
      [&] {
        body = testing::httpGet(prometheus, "/metrics").second;
        return std::regex_search(body, series);
      },
      5))
      << body;
  EXPECT_EQ(WEXITSTATUS(mixs.stop()), 0) << mixs.output();
}

}  // namespace
}  // namespace mixer
