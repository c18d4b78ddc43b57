// HTTP forward-auth end to end: a real mixs (--forward-auth-address) asked by stock Debian nginx
// (its built-in auth_request) and by Debian's Caddy 2 (forward_auth), each in front of static
// content and of an upstream that echoes the headers the proxy copied from mixs' answer. The
// proxy configurations are the ones docs/envoy.md gives, with the test's ports and paths.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/testing/doc_blocks.h"
#include "tests/testing/metrics.h"
#include "tests/testing/mixs_process.h"
#include "tests/testing/nginx_config.h"
#include "tests/testing/subprocess.h"

namespace mixer {
namespace {

using testing::httpGet;
using testing::MixsProcess;
using testing::runCommand;
using testing::Subprocess;
using testing::unusedPort;

namespace fs = std::filesystem;

// A header deny (x-deny: yes), a user blacklist (listchecker on x-user), a login denier on
// /private (UNAUTHENTICATED), a memquota of 3 on /limited (asked with --forward-auth-quota) and
// header operations on /echo/.
constexpr char kPolicy[] = R"(apiVersion: config.istio.io/v1alpha2
kind: denier
metadata: {name: headerdeny, namespace: istio-system}
spec:
  status: {code: 7, message: denied by header}
---
apiVersion: config.istio.io/v1alpha2
kind: denier
metadata: {name: login, namespace: istio-system}
spec:
  status: {code: 16, message: log in first}
---
apiVersion: config.istio.io/v1alpha2
kind: denier
metadata: {name: allow, namespace: istio-system}
spec:
  status: {code: 0}
---
apiVersion: config.istio.io/v1alpha2
kind: checknothing
metadata: {name: nothing, namespace: istio-system}
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: headerdeny, namespace: istio-system}
spec:
  match: (request.headers["x-deny"] | "") == "yes"
  actions: [{handler: headerdeny.denier, instances: [nothing.checknothing]}]
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: login, namespace: istio-system}
spec:
  match: request.url_path == "/private" && (request.headers["authorization"] | "") == ""
  actions: [{handler: login.denier, instances: [nothing.checknothing]}]
---
apiVersion: config.istio.io/v1alpha2
kind: listchecker
metadata: {name: blockedusers, namespace: istio-system}
spec:
  overrides: [mallory]
  blacklist: true
  cachingInterval: 30s
  cachingUseCount: 100
---
apiVersion: config.istio.io/v1alpha2
kind: listentry
metadata: {name: user, namespace: istio-system}
spec:
  value: request.headers["x-user"] | ""
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: blockusers, namespace: istio-system}
spec:
  actions: [{handler: blockedusers.listchecker, instances: [user.listentry]}]
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: echo, namespace: istio-system}
spec:
  match: request.url_path.startsWith("/echo/") && request.method == "GET"
  actions: [{handler: allow.denier, instances: [nothing.checknothing]}]
  requestHeaderOperations:
  - {name: x-mixer-user, values: ['request.headers["x-user"] | "anonymous"']}
  - {name: x-mixer-checked, values: ['request.scheme + " " + request.host + " " + request.path']}
---
apiVersion: config.istio.io/v1alpha2
kind: memquota
metadata: {name: quota, namespace: istio-system}
spec:
  quotas:
  - name: requestcount.quota.istio-system
    maxAmount: 3
    validDuration: 1h
---
apiVersion: config.istio.io/v1alpha2
kind: quota
metadata: {name: requestcount, namespace: istio-system}
spec:
  dimensions:
    path: request.url_path
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: quota, namespace: istio-system}
spec:
  match: request.url_path == "/limited"
  actions: [{handler: quota.memquota, instances: [requestcount.quota]}]
)";

struct HttpAnswer {
  int status = 0;
  std::string body;
};

HttpAnswer get(int port, const std::string& path, std::vector<std::string> headers = {}) {
  std::vector<std::string> argv = {"/usr/bin/curl",  "-s",         "-o", "-", "-w",
                                   "\n%{http_code}", "--max-time", "10"};
  for (const auto& h : headers) {
    argv.push_back("-H");
    argv.push_back(h);
  }
  argv.push_back("http://127.0.0.1:" + std::to_string(port) + path);
  auto [code, out] = runCommand(argv);
  HttpAnswer a;
  const size_t nl = out.rfind('\n');
  if (code != 0 || nl == std::string::npos) return a;
  a.status = std::atoi(out.c_str() + nl + 1);
  a.body = out.substr(0, nl);
  return a;
}

// The fenced block (```<lang>) after `heading` in docs/envoy.md, with the documented ports and
// paths replaced.
std::string docBlock(const std::string& heading, const std::string& lang,
                     const std::vector<std::pair<std::string, std::string>>& replace) {
  std::string block = testing::docBlock("docs/envoy.md", heading, lang);
  for (const auto& [from, to] : replace) {
    for (size_t p = block.find(from); p != std::string::npos; p = block.find(from, p + to.size())) {
      block.replace(p, from.size(), to);
    }
  }
  return block;
}

class ForwardAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/forward-auth-" + std::to_string(getpid());
    fs::remove_all(dir_);
    for (const char* d : {"/config", "/html", "/logs", "/home"}) fs::create_directories(dir_ + d);
    std::ofstream(dir_ + "/config/policy.yaml") << kPolicy;
    std::ofstream(dir_ + "/html/index.html") << "static ok\n";
    std::ofstream(dir_ + "/html/limited") << "limited ok\n";
    std::ofstream(dir_ + "/html/private") << "private ok\n";
    pickPorts();
  }

  // The proxy's two ports. A port found free may be taken by another process before the proxy
  // binds it (tests run in parallel, and every connection takes an ephemeral port): a proxy that
  // exits at start is started again on new ports (startProxy).
  void pickPorts() {
    front_port_ = unusedPort();
    upstream_port_ = unusedPort();
    while (upstream_port_ == front_port_) upstream_port_ = unusedPort();
  }
  void TearDown() override {
    if (proxy_.running()) proxy_.stop(SIGTERM);
    if (mixs_.running()) mixs_.stop(SIGTERM);
    fs::remove_all(dir_);
  }

  void startMixs() {
    ASSERT_TRUE(mixs_.start(dir_ + "/config", {"--forward-auth-address", "127.0.0.1:0",
                                               "--forward-auth-quota", "requestcount"}))
        << mixs_.output();
    auth_port_ = mixs_.forwardAuthPort();
    ASSERT_TRUE(mixs_.waitFor("configuration .*: 5 rules")) << mixs_.output();
  }

  std::vector<std::pair<std::string, std::string>> replacements() const {
    return {{"127.0.0.1:9094", "127.0.0.1:" + std::to_string(auth_port_)},
            {"127.0.0.1:8080", "127.0.0.1:" + std::to_string(upstream_port_)},
            {"/srv/www", dir_ + "/html"}};
  }

  // Whether the proxy serves both ports (false as soon as it has exited).
  bool waitUp() {
    for (int i = 0; i < 200; ++i) {
      if (!proxy_.running()) return false;
      if (httpGet(upstream_port_, "/echo/up").first == 200 &&
          httpGet(front_port_, "/index.html").first != 0) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  // Starts the proxy with the command `start` gives after writing its configuration for the
  // current ports; up to three times on new ports when the proxy exits at start.
  void startProxy(const std::function<std::vector<std::string>()>& start) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      ASSERT_TRUE(proxy_.start(start()));
      if (waitUp()) return;
      if (proxy_.running()) break;  // up but not answering: not a port taken meanwhile
      pickPorts();
    }
    FAIL() << "the proxy did not come up: " << proxy_.output() << log();
  }

  // Forward-auth calls mixs answered with `code`.
  int answered(int code) {
    const std::string series =
        "mixer_forward_auth_requests_total{code=\"" + std::to_string(code) + "\"}";
    return static_cast<int>(
        testing::sampleValue(testing::scrapeMetrics(mixs_.monitoringPort()), series).value_or(0));
  }

  void startNginx(const std::string& heading = "### nginx auth_request\n") {
    startProxy([this, heading] {
      auto replace = replacements();
      replace.emplace_back("listen 8000;", "listen 127.0.0.1:" + std::to_string(front_port_) + ";");
      replace.emplace_back("/var/cache/nginx/mixs", dir_ + "/cache");
      const std::string servers = docBlock(heading, "nginx", replace);
      EXPECT_FALSE(servers.empty()) << "no nginx block in docs/envoy.md";
      std::ofstream(dir_ + "/nginx.conf")
          << testing::nginxConfigHead(dir_) << "  server {\n    listen 127.0.0.1:" << upstream_port_
          << ";\n"
          << "    location / { return 200 \"upstream $request_uri user=$http_x_mixer_user "
             "checked=$http_x_mixer_checked\\n\"; }\n  }\n"
          << servers << "}\n";
      return testing::nginxCommand(dir_);
    });
  }

  void startCaddy() {
    startProxy([this] {
      auto replace = replacements();
      replace.emplace_back(":8000 {", "http://127.0.0.1:" + std::to_string(front_port_) + " {");
      const std::string site = docBlock("### Caddy forward_auth", "caddyfile", replace);
      EXPECT_FALSE(site.empty()) << "no caddyfile block in docs/envoy.md";
      std::ofstream(dir_ + "/Caddyfile")
          << "{\n\tadmin off\n\tauto_https off\n}\n"
          << "http://127.0.0.1:" << upstream_port_
          << " {\n\trespond \"upstream {uri} user={header.X-Mixer-User} "
             "checked={header.X-Mixer-Checked}\n\"\n}\n"
          << site;
      const std::string home = dir_ + "/home";
      return std::vector<std::string>{"/usr/bin/env",
                                      "HOME=" + home,
                                      "XDG_DATA_HOME=" + home,
                                      "XDG_CONFIG_HOME=" + home,
                                      "/usr/bin/caddy",
                                      "run",
                                      "--config",
                                      dir_ + "/Caddyfile",
                                      "--adapter",
                                      "caddyfile"};
    });
  }

  std::string log() const { return testing::nginxErrorLog(dir_) + mixs_.output(); }

  // Established connections accepted on mixs' forward-auth port (/proc/net/tcp, loopback IPv4):
  // a proxy keeping its connections alive leaves some open between requests.
  int establishedToMixs() const {
    std::ifstream in("/proc/net/tcp");
    std::string line;
    std::getline(in, line);  // the heading
    int n = 0;
    char want[8];
    std::snprintf(want, sizeof(want), ":%04X", auth_port_);
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      fields >> slot >> local >> remote >> state;
      if (local.size() > 5 && local.substr(local.size() - 5) == want && state == "01") ++n;
    }
    return n;
  }

  // What a user of either proxy sees.
  void expectPolicy() {
    HttpAnswer ok = get(front_port_, "/index.html", {"x-user: alice"});
    EXPECT_EQ(ok.status, 200) << log();
    EXPECT_EQ(ok.body, "static ok\n");
    EXPECT_EQ(get(front_port_, "/index.html", {"x-deny: yes"}).status, 403);      // header deny
    EXPECT_EQ(get(front_port_, "/index.html", {"x-user: mallory"}).status, 403);  // list
    EXPECT_EQ(get(front_port_, "/private").status, 401);                          // login
    EXPECT_EQ(get(front_port_, "/private", {"authorization: Basic eDp5"}).status, 200);
    std::vector<int> limited;
    for (int i = 0; i < 5; ++i) limited.push_back(get(front_port_, "/limited").status);
    EXPECT_EQ(limited, (std::vector<int>{200, 200, 200, 429, 429})) << log();

    // The allow path's header operations reach the upstream.
    HttpAnswer echo = get(front_port_, "/echo/hi?x=1", {"x-user: bob"});
    EXPECT_EQ(echo.status, 200) << log();
    const std::string host = "127.0.0.1:" + std::to_string(front_port_);
    EXPECT_EQ(echo.body, "upstream /echo/hi?x=1 user=bob checked=http " + host + " /echo/hi?x=1\n")
        << log();
    EXPECT_EQ(get(front_port_, "/echo/hi", {"x-user: mallory"}).status, 403);
    // The proxy reused its connections to mixs (kept alive) rather than one per request.
    EXPECT_GE(establishedToMixs(), 1) << log();
  }

  std::string dir_;
  MixsProcess mixs_;
  Subprocess proxy_;
  int auth_port_ = 0, front_port_ = 0, upstream_port_ = 0;
};

TEST_F(ForwardAuthTest, NginxAuthRequest) {
  startMixs();
  startNginx();
  expectPolicy();
}

// The cached variant: nginx keeps mixs' answers as Cache-Control and Vary say; quota'd requests
// are asked every time.
TEST_F(ForwardAuthTest, NginxAuthRequestCached) {
  startMixs();
  startNginx("### nginx auth_request, cached\n");
  const int base = answered(200);  // the start-up probe's
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(get(front_port_, "/index.html", {"x-user: alice"}).status, 200) << log();
  }
  EXPECT_EQ(answered(200), base + 1);
  // Another user and the deny header are other variants (Vary: x-deny, x-user, ...).
  EXPECT_EQ(get(front_port_, "/index.html", {"x-user: bob"}).status, 200);
  EXPECT_EQ(get(front_port_, "/index.html", {"x-user: alice", "x-deny: yes"}).status, 403);
  EXPECT_EQ(get(front_port_, "/index.html", {"x-user: mallory"}).status, 403);
  EXPECT_EQ(answered(200), base + 2);
  EXPECT_EQ(get(front_port_, "/index.html", {"x-user: bob"}).status, 200);
  EXPECT_EQ(answered(200), base + 2);
  // Header operations come from the cached answer too.
  for (int i = 0; i < 2; ++i) {
    HttpAnswer echo = get(front_port_, "/echo/a", {"x-user: carol"});
    EXPECT_EQ(echo.status, 200);
    EXPECT_NE(echo.body.find("user=carol checked=http"), std::string::npos) << echo.body;
  }
  EXPECT_EQ(answered(200), base + 3);
  std::vector<int> limited;
  for (int i = 0; i < 5; ++i) limited.push_back(get(front_port_, "/limited").status);
  EXPECT_EQ(limited, (std::vector<int>{200, 200, 200, 429, 429})) << log();
}

TEST_F(ForwardAuthTest, CaddyForwardAuth) {
  startMixs();
  startCaddy();
  expectPolicy();
}

TEST_F(ForwardAuthTest, WithoutTheOriginalRequestIs400WithAReason) {
  startMixs();
  HttpAnswer a = get(auth_port_, "/");
  EXPECT_EQ(a.status, 400);
  EXPECT_NE(a.body.find("missing the original request"), std::string::npos) << a.body;
  a = get(auth_port_, "/", {"X-Original-URI: /index.html"});
  EXPECT_EQ(a.status, 400);
  EXPECT_NE(a.body.find("X-Original-Method"), std::string::npos) << a.body;
  a = get(auth_port_, "/",
          {"X-Forwarded-Uri: /a", "X-Forwarded-Method: GET", "X-Original-URI: /b",
           "X-Original-Method: GET"});
  EXPECT_EQ(a.status, 400);
  EXPECT_NE(a.body.find("one convention"), std::string::npos) << a.body;
  // Both conventions, directly.
  EXPECT_EQ(get(auth_port_, "/", {"X-Original-URI: /index.html", "X-Original-Method: GET"}).status,
            200);
  EXPECT_EQ(get(auth_port_, "/",
                {"X-Forwarded-Uri: /index.html", "X-Forwarded-Method: GET", "x-deny: yes"})
                .status,
            403);
  // Allows have no body; a denial's reason is a header, and the body too but for nginx (whose
  // auth_request keeps its upstream connection only after an answer without a body).
  auto raw = [this](std::vector<std::string> headers) {
    std::vector<std::string> argv = {"/usr/bin/curl", "-s", "-i", "--max-time", "10"};
    for (const auto& h : headers) {
      argv.push_back("-H");
      argv.push_back(h);
    }
    argv.push_back("http://127.0.0.1:" + std::to_string(auth_port_) + "/");
    return runCommand(argv).second;
  };
  std::string r = raw({"X-Original-URI: /index.html", "X-Original-Method: GET"});
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("Content-Length: 0\r\n"), std::string::npos) << r;
  r = raw({"X-Original-URI: /index.html", "X-Original-Method: GET", "x-deny: yes"});
  EXPECT_EQ(r.rfind("HTTP/1.1 403", 0), 0u) << r;
  EXPECT_NE(r.find("X-Mixer-Reason: headerdeny.denier.istio-system:denied by header\r\n"),
            std::string::npos)
      << r;
  EXPECT_EQ(r.substr(r.size() - 4), "\r\n\r\n") << r;
  r = raw({"X-Forwarded-Uri: /index.html", "X-Forwarded-Method: GET", "x-deny: yes"});
  EXPECT_NE(r.find("X-Mixer-Reason: headerdeny.denier.istio-system:denied by header\r\n"),
            std::string::npos)
      << r;
  EXPECT_NE(r.find("\r\n\r\nheaderdeny.denier.istio-system:denied by header\n"), std::string::npos)
      << r;
}

}  // namespace
}  // namespace mixer
