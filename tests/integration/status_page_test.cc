// The operator's page (mixs --debug-views, mixer/server/status_page.h) against a real mixs, read
// and used in headless Chromium (tests/integration/status_page/browser.py drives it over the
// DevTools protocol): what a person sees (version, uptime, configuration, handlers, rules with
// their counts, a denial made by a real Check with its reason and a secret redacted, the last
// reload's error), the log-level form changing the level, the JSON twins agreeing with the page,
// and the page being off without the flag. With STATUS_PAGE_SCREENSHOT=<file.png> the test also
// saves the screenshot docs/images/status-page.png is made from.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "tests/testing/mixs_process.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace mixer {
namespace {

using testing::httpGet;
using testing::MixsProcess;
using testing::runCommand;
using testing::sourceDir;
using testing::TempDir;

namespace fs = std::filesystem;

constexpr char kPython[] = "/usr/bin/python3";

// An API-key whitelist on the orders service (listchecker; the key is a request header), a rule
// that denies requests without credentials, and a rule whose match fails to evaluate on requests
// without a request.size (an error, counted: the rule does not apply).
constexpr char kPolicy[] = R"(apiVersion: config.istio.io/v1alpha2
kind: handler
metadata: {name: apikeys, namespace: istio-system}
spec:
  compiledAdapter: listchecker
  params:
    overrides: [key-good-0001]
    entryType: STRINGS
    blacklist: false
---
apiVersion: config.istio.io/v1alpha2
kind: instance
metadata: {name: apikey, namespace: istio-system}
spec:
  compiledTemplate: listentry
  params:
    value: request.headers["x-api-key"] | ""
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: check-api-key, namespace: istio-system}
spec:
  match: destination.service == "orders.svc"
  actions:
  - handler: apikeys
    instances: [apikey]
---
apiVersion: config.istio.io/v1alpha2
kind: handler
metadata: {name: nocredentials, namespace: istio-system}
spec:
  compiledAdapter: denier
  params:
    status: {code: 16, message: no credentials}
---
apiVersion: config.istio.io/v1alpha2
kind: instance
metadata: {name: nothing, namespace: istio-system}
spec:
  compiledTemplate: checknothing
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: require-credentials, namespace: istio-system}
spec:
  match: destination.service == "orders.svc" && (request.headers["authorization"] | "") == ""
  actions:
  - handler: nocredentials
    instances: [nothing]
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: big-requests, namespace: istio-system}
spec:
  match: request.size > 1000000
  actions:
  - handler: nocredentials
    instances: [nothing]
)";

constexpr char kSecretKey[] = "sk-live-SECRET-7f3a9";
constexpr char kSecretToken[] = "Bearer tok-SECRET-c0ffee";

struct Mixs {
  MixsProcess process;

  void start(const std::string& config_dir, bool debug_views) {
    ASSERT_TRUE(process.start(config_dir, debug_views ? std::vector<std::string>{"--debug-views"}
                                                      : std::vector<std::string>{}))
        << process.output();
  }
  int monitoring() const { return process.monitoringPort(); }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(monitoring()) + path;
  }
  std::string check(const std::vector<std::string>& extra) {
    return process.mixc("check", extra).second;
  }
};

// What the browser shows or does (browser.py); fails the test when it fails.
std::string browser(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kPython,
                                   sourceDir() + "/tests/integration/status_page/browser.py"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto [code, out] = runCommand(argv, std::chrono::seconds(90));
  EXPECT_EQ(code, 0) << out;
  return out;
}

// The number after `"key":` in the JSON object of `json` that has `"name":"<name>"`.
long jsonNumberFor(const std::string& json, const std::string& name, const std::string& key) {
  std::smatch m;
  const std::regex re("\\{\"name\":\"" + name + "\"[^}]*\"" + key + "\":(\\d+)");
  return std::regex_search(json, m, re) ? std::stol(m[1].str()) : -1;
}

TEST(StatusPageTest, APersonSeesTheServerAndChangesItsLogLevel) {
  if (runCommand({"/bin/sh", "-c", "command -v chromium"}).first != 0) {
    GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it)";
  }
  TempDir config("status-page");
  config.write("policy.yaml", kPolicy);
  Mixs mixs;
  ASSERT_NO_FATAL_FAILURE(mixs.start(config.path(), true));

  // Real Checks: one allowed, one denied by the whitelist (carrying two secrets), one denied for
  // want of credentials.
  const std::string allowed =
      mixs.check({"-s", "destination.service=orders.svc", "--stringmap_attributes",
                  "request.headers=x-api-key:key-good-0001;authorization:Bearer fine", "-i",
                  "request.size=10"});
  EXPECT_NE(allowed.find("OK"), std::string::npos) << allowed;
  EXPECT_EQ(allowed.find("DENIED"), std::string::npos) << allowed;
  const std::string denied =
      mixs.check({"-s", "destination.service=orders.svc", "--stringmap_attributes",
                  std::string("request.headers=x-api-key:") + kSecretKey +
                      ";authorization:" + kSecretToken + ";user-agent:curl/8.5"});
  EXPECT_NE(denied.find("PERMISSION_DENIED"), std::string::npos) << denied;
  std::this_thread::sleep_for(std::chrono::milliseconds(250));  // past the sampling interval
  const std::string anonymous =
      mixs.check({"-s", "destination.service=orders.svc", "--stringmap_attributes",
                  "request.headers=x-api-key:key-good-0001;user-agent:curl/8.5"});
  EXPECT_NE(anonymous.find("UNAUTHENTICATED"), std::string::npos) << anonymous;

  // The JSON twins.
  const auto [dcode, denials] = httpGet(mixs.monitoring(), "/status/denials.json");
  ASSERT_EQ(dcode, 200) << denials;
  EXPECT_NE(denials.find("\"seen\":2,\"recorded\":2"), std::string::npos) << denials;
  EXPECT_NE(denials.find("\"code\":\"UNAUTHENTICATED\",\"reason\":\"nocredentials"),
            std::string::npos)
      << denials;
  EXPECT_NE(denials.find("\"code\":\"PERMISSION_DENIED\""), std::string::npos) << denials;
  EXPECT_NE(denials.find("\"rule\":\"check-api-key"), std::string::npos) << denials;
  EXPECT_NE(denials.find("[redacted] is not whitelisted"), std::string::npos) << denials;
  EXPECT_NE(denials.find("\"request.headers[x-api-key]\":\"[redacted]\""), std::string::npos)
      << denials;
  EXPECT_NE(denials.find("\"destination.service\":\"\\\"orders.svc\\\"\""), std::string::npos)
      << denials;
  EXPECT_EQ(denials.find("SECRET"), std::string::npos) << denials;
  const std::string rules = httpGet(mixs.monitoring(), "/status/rules.json").second;
  const std::string rule_prefix = "check-api-key[^\"]*";
  EXPECT_EQ(jsonNumberFor(rules, rule_prefix, "hits"), 3) << rules;
  EXPECT_EQ(jsonNumberFor(rules, "require-credentials[^\"]*", "hits"), 1) << rules;
  EXPECT_EQ(jsonNumberFor(rules, "big-requests[^\"]*", "errors"), 2) << rules;
  const std::string handlers = httpGet(mixs.monitoring(), "/status/handlers.json").second;
  EXPECT_NE(handlers.find("\"adapter\":\"listchecker\",\"health\":\"ok\""), std::string::npos)
      << handlers;
  const std::string all = httpGet(mixs.monitoring(), "/status/json").second;
  EXPECT_NE(all.find("\"version\":\"0.1.0\""), std::string::npos) << all;
  EXPECT_NE(all.find("\"source\":\"" + config.path() + "\""), std::string::npos) << all;

  // What a person sees: the rendered page's text, and the DOM (hidden fields included).
  const std::string text = browser({"text", mixs.url("/status")});
  EXPECT_NE(text.find("mixs 0.1.0"), std::string::npos) << text;
  EXPECT_TRUE(std::regex_search(text, std::regex(R"(up \d+s since 20\d\d-)"))) << text;
  EXPECT_NE(text.find(config.path()), std::string::npos) << text;
  EXPECT_NE(text.find("none since start"), std::string::npos) << text;
  EXPECT_TRUE(std::regex_search(
      text, std::regex(R"(apikeys[^\n]*\tlisterchecker|apikeys[^\n]*\tlistchecker\tok)")))
      << text;
  // The rule rows show the JSON's counts.
  std::smatch row;
  ASSERT_TRUE(std::regex_search(
      text, row, std::regex(R"(check-api-key\S*\tistio-system\t[^\t]*\t(\d+)\t(\d+))")))
      << text;
  EXPECT_EQ(std::stol(row[1].str()), jsonNumberFor(rules, rule_prefix, "hits"));
  EXPECT_EQ(std::stol(row[2].str()), jsonNumberFor(rules, rule_prefix, "errors"));
  ASSERT_TRUE(std::regex_search(
      text, row, std::regex(R"(big-requests\S*\tistio-system\t[^\t]*\t(\d+)\t(\d+))")))
      << text;
  EXPECT_EQ(std::stol(row[2].str()), 2);
  EXPECT_NE(text.find("2 denied since start"), std::string::npos) << text;
  EXPECT_NE(text.find("PERMISSION_DENIED"), std::string::npos) << text;
  EXPECT_NE(text.find("[redacted] is not whitelisted"), std::string::npos) << text;
  EXPECT_NE(text.find("request.headers[x-api-key] = [redacted]"), std::string::npos) << text;
  EXPECT_NE(text.find("request.headers[authorization] = [redacted]"), std::string::npos) << text;
  EXPECT_NE(text.find("destination.service = \"orders.svc\""), std::string::npos) << text;
  EXPECT_NE(text.find("Now: info"), std::string::npos) << text;
  const std::string dom = browser({"dom", mixs.url("/status")});
  EXPECT_NE(dom.find("<form method=\"post\" action=\"/status/loglevel\">"), std::string::npos);
  EXPECT_EQ(dom.find("<script"), std::string::npos) << "the page has no script";
  EXPECT_EQ(dom.find("SECRET"), std::string::npos) << dom;
  EXPECT_EQ(dom.find("tok-"), std::string::npos) << dom;

  // A reload that fails: the page says so, the old configuration still serves.
  config.write("broken.yaml",
               "apiVersion: config.istio.io/v1alpha2\nkind: rule\nmetadata: {name: "
               "bad, namespace: istio-system}\nspec:\n  match: \"(((\"\n");
  std::string cfg;
  for (int i = 0; i < 100; ++i) {
    cfg = httpGet(mixs.monitoring(), "/status/config.json").second;
    if (cfg.find("\"ok\":false") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(cfg.find("\"ok\":false"), std::string::npos) << cfg;
  EXPECT_NE(cfg.find("broken.yaml"), std::string::npos) << cfg;
  EXPECT_NE(cfg.find("\"reloads_failed\":1"), std::string::npos) << cfg;
  const std::string after_reload = browser({"text", mixs.url("/status")});
  EXPECT_TRUE(std::regex_search(after_reload,
                                std::regex(R"(rejected at [^\n]*\(generation 1 still serving\))")))
      << after_reload;
  EXPECT_NE(after_reload.find("broken.yaml:"), std::string::npos) << after_reload;
  // A screenshot, as the docs show it: a denial and a rejected reload on the page.
  const std::string png =
      ::testing::TempDir() + "/status-page-" + std::to_string(getpid()) + ".png";
  browser({"screenshot", mixs.url("/status"), png, "1200", "900"});
  ASSERT_TRUE(fs::exists(png));
  EXPECT_GT(fs::file_size(png), 10000u);
  std::ifstream in(png, std::ios::binary);
  char magic[8] = {};
  in.read(magic, 8);
  EXPECT_EQ(std::string(magic + 1, 3), "PNG");
  if (const char* keep = std::getenv("STATUS_PAGE_SCREENSHOT")) {
    fs::copy_file(png, keep, fs::copy_options::overwrite_existing);
  }
  fs::remove(png);
  fs::remove(config.path() + "/broken.yaml");

  // The log-level form, used as a person would: pick "warn", click Set.
  const std::string changed = browser({"set-level", mixs.url("/status"), "warn"});
  EXPECT_NE(changed.find(mixs.url("/status#log-level")), std::string::npos) << changed;
  EXPECT_NE(changed.find("Now: warn"), std::string::npos) << changed;
  EXPECT_NE(httpGet(mixs.monitoring(), "/status/loglevel.json").second.find("\"level\":\"warn\""),
            std::string::npos);
  EXPECT_TRUE(mixs.process.waitFor("log level changed from info to warn through the status page"))
      << mixs.process.output();

  // Another site's page cannot change it through a visitor's browser, nor a client without the
  // page's token.
  const std::string token = [&] {
    std::smatch m;
    const std::string j = httpGet(mixs.monitoring(), "/status/loglevel.json").second;
    return std::regex_search(j, m, std::regex("\"token\":\"([0-9a-f]+)\"")) ? m[1].str() : "";
  }();
  ASSERT_FALSE(token.empty());
  auto post = [&](const std::string& body, const std::string& origin) {
    std::vector<std::string> args = {"/usr/bin/curl",
                                     "-s",
                                     "-o",
                                     "/dev/null",
                                     "-w",
                                     "%{http_code}",
                                     "-d",
                                     body,
                                     mixs.url("/status/loglevel")};
    if (!origin.empty()) args.insert(args.begin() + 1, {"-H", "Origin: " + origin});
    return runCommand(args).second;
  };
  EXPECT_EQ(post("level=debug&token=" + token, "http://evil.example"), "403");
  EXPECT_EQ(post("level=debug&token=0000", ""), "403");
  EXPECT_EQ(post("level=debug", ""), "403");
  EXPECT_EQ(post("level=loud&token=" + token, ""), "400");
  EXPECT_NE(httpGet(mixs.monitoring(), "/status/loglevel.json").second.find("\"level\":\"warn\""),
            std::string::npos);
  EXPECT_EQ(post("level=info&token=" + token, ""), "303");
  EXPECT_EQ(httpGet(mixs.monitoring(), "/status/loglevel").first, 405);

  mixs.process.stop(SIGTERM);
}

TEST(StatusPageTest, ThePageIsOffWithoutDebugViews) {
  TempDir config("status-page");
  config.write("policy.yaml", kPolicy);
  Mixs mixs;
  ASSERT_NO_FATAL_FAILURE(mixs.start(config.path(), false));
  for (const char* path : {"/status", "/status/json", "/status/denials.json"}) {
    const auto [code, body] = httpGet(mixs.monitoring(), path);
    EXPECT_EQ(code, 404) << path;
    EXPECT_NE(body.find("start mixs with --debug-views"), std::string::npos) << body;
  }
  const std::string out = runCommand({"/usr/bin/curl", "-s", "-w", " %{http_code}", "-d",
                                      "level=debug", mixs.url("/status/loglevel")})
                              .second;
  EXPECT_NE(out.find(" 404"), std::string::npos) << out;
  EXPECT_EQ(httpGet(mixs.monitoring(), "/metrics").first, 200);
  mixs.process.stop(SIGTERM);
}

}  // namespace
}  // namespace mixer
