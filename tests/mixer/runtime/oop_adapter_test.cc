// Istio 1.x out-of-process adapters end to end: Istio's own `kind: template` documents (metric,
// listentry, quota) and a `kind: adapter` document are loaded as mixs loads them, and handlers with
// `connection: {address}` call a real gRPC adapter (tests/mixer/runtime/oop/oop_adapter_server.py,
// which builds its services and messages from the same template documents at run time). Checks
// the instances it receives, that its answers decide Check and quota and merge with in-process
// adapters' results, and the fail policy when it is slow or gone.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "absl/strings/escaping.h"
#include "config/loader.h"
#include "mixer/adapter_host/adapter_host.h"
#include "mixer/runtime/config_snapshot.h"
#include "mixer/runtime/dispatcher.h"
#include "mixer/runtime/report_queue.h"
#include "tests/testing/subprocess.h"

namespace mixer::runtime {
namespace {

using attribute::AttributeBag;
using attribute::AttributeReferences;
using attribute::AttributeValue;

std::string sourceDir() {
  const char* dir = std::getenv("MIXER_SOURCE_DIR");
  return dir != nullptr ? dir : ".";
}

std::string dataDir() { return sourceDir() + "/tests/mixer/runtime/oop/data"; }

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The adapter server, on an ephemeral port, logging what it receives to `log`.
class AdapterServer {
 public:
  bool start(const std::string& log, std::vector<std::string> extra = {}) {
    log_ = log;
    std::filesystem::remove(log_);
    std::vector<std::string> argv = {"/usr/bin/python3",
                                     sourceDir() + "/tests/mixer/runtime/oop/oop_adapter_server.py",
                                     dataDir() + "/metric.yaml",
                                     dataDir() + "/listentry.yaml",
                                     dataDir() + "/quota.yaml",
                                     "--log",
                                     log_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    if (!process_.start(argv)) {
      return false;
    }
    auto m = process_.waitFor("PORT (\\d+)");
    if (!m) {
      return false;
    }
    port_ = std::stoi((*m)[1].str());
    return true;
  }
  void stop() { process_.stop(SIGTERM); }
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // The requests received so far, one JSON object a line.
  std::string received() const { return readFile(log_); }
  std::string output() const { return process_.output(); }

 private:
  testing::Subprocess process_;
  std::string log_;
  int port_ = 0;
};

class OopAdapterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { host_ = new adapter_host::AdapterHost({}); }
  static void TearDownTestSuite() {
    delete host_;
    host_ = nullptr;
  }

  // Istio's template documents, the adapter document, and `config` (handlers, instances, rules)
  // loaded and compiled as mixs does.
  // `adapter_edit` rewrites the adapter document's text first.
  ConfigSnapshotConstSharedPtr load(const std::string& config,
                                    std::function<void(std::string*)> adapter_edit = nullptr) {
    config::LoadResult result;
    for (const char* file : {"metric.yaml", "listentry.yaml", "quota.yaml", "adapter.yaml"}) {
      std::string text = readFile(dataDir() + "/" + file);
      if (adapter_edit && std::string(file) == "adapter.yaml") {
        adapter_edit(&text);
      }
      config::loadText(text, file, &result);
    }
    config::loadText(config, "oop.yaml", &result);
    config::resolve(&result);
    errors_ = result.errors;
    descriptor_documents_ = result.descriptor_documents;
    return compileSnapshot(result.model, host_->registry(), attribute::Vocabulary::builtin(), 1,
                           &errors_);
  }

  std::string errorsText() const {
    std::string out;
    for (const auto& e : errors_) {
      out += e.str() + "\n";
    }
    return out;
  }

  static std::string handlerYaml(const std::string& name, const std::string& address,
                                 const std::string& params, const std::string& timeout = "") {
    return "apiVersion: config.istio.io/v1alpha2\n"
           "kind: handler\n"
           "metadata: {name: " +
           name +
           ", namespace: istio-system}\n"
           "spec:\n"
           "  adapter: testoop\n"
           "  params: " +
           params +
           "\n"
           "  connection: {address: \"" +
           address + "\"" + (timeout.empty() ? "" : ", timeout: " + timeout) + "}\n---\n";
  }

  static adapter_host::AdapterHost* host_;
  std::vector<config::ConfigError> errors_;
  size_t descriptor_documents_ = 0;
};

adapter_host::AdapterHost* OopAdapterTest::host_ = nullptr;

const char* kMetricConfig = R"(
apiVersion: config.istio.io/v1alpha2
kind: instance
metadata: {name: requestcount, namespace: istio-system}
spec:
  template: metric
  params:
    value: "1"
    dimensions:
      source: source.labels["app"] | "unknown"
      code: response.code | 200
      latency: response.duration
    monitored_resource_type: '"UNSPECIFIED"'
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: promhttp, namespace: istio-system}
spec:
  match: context.protocol == "http"
  actions:
  - handler: remote.handler
    instances: [requestcount]
)";

TEST_F(OopAdapterTest, AMetricAdapterReceivesTheReportsInstances) {
  AdapterServer server;
  ASSERT_TRUE(server.start(::testing::TempDir() + "/oop-metric.jsonl"));
  auto snapshot = load(handlerYaml("remote", server.address(),
                                   "{label: my-label, allowed: [a, b], valid_duration: 2s}") +
                       kMetricConfig);
  ASSERT_NE(snapshot, nullptr) << errorsText();
  EXPECT_EQ(descriptor_documents_, 4u);
  {
    ReportQueue queue(100, absl::Seconds(2), nullptr);
    Dispatcher d(snapshot, &queue);
    AttributeBag bag(snapshot->vocabulary());
    PendingReports pending;
    for (int i = 0; i < 3; ++i) {
      bag.clear();
      bag.set("context.protocol", AttributeValue::string(i == 1 ? "tcp" : "http"));
      const attribute::StringMapEntry src[] = {{"app", i == 0 ? "reviews" : "ratings"}};
      bag.set("source.labels", bag.makeStringMap(src));
      bag.set("response.code", AttributeValue::int64(200 + i));
      bag.set("response.duration", AttributeValue::duration({0, 5000000}));
      d.report(bag, &pending);
    }
    EXPECT_EQ(d.flushReports(&pending), 0u);
    queue.shutdown();  // waits for the delivery
  }
  const std::string got = server.received();
  server.stop();
  // One HandleMetric call with both http records (the tcp one did not match), each InstanceMsg
  // with its name and fields encoded as Istio's Value types.
  std::istringstream lines(got);
  std::string line;
  std::vector<std::string> calls;
  while (std::getline(lines, line)) {
    calls.push_back(line);
  }
  ASSERT_EQ(calls.size(), 1u) << got << server.output();
  const std::string& call = calls[0];
  EXPECT_NE(call.find("\"method\": \"HandleMetric\""), std::string::npos) << call;
  EXPECT_NE(call.find("\"name\": \"requestcount.instance.istio-system\""), std::string::npos)
      << call;
  EXPECT_NE(call.find("\"value\": {\"int64_value\": \"1\"}"), std::string::npos) << call;
  EXPECT_NE(call.find("\"source\": {\"string_value\": \"reviews\"}"), std::string::npos) << call;
  EXPECT_NE(call.find("\"source\": {\"string_value\": \"ratings\"}"), std::string::npos) << call;
  EXPECT_NE(call.find("\"code\": {\"int64_value\": \"200\"}"), std::string::npos) << call;
  EXPECT_NE(call.find("\"code\": {\"int64_value\": \"202\"}"), std::string::npos) << call;
  EXPECT_EQ(call.find("\"code\": {\"int64_value\": \"201\"}"), std::string::npos) << call;
  EXPECT_NE(call.find("\"latency\": {\"duration_value\": {\"value\": \"0.005s\"}}"),
            std::string::npos)
      << call;
  EXPECT_NE(call.find("\"monitored_resource_type\": \"UNSPECIFIED\""), std::string::npos) << call;
  EXPECT_NE(call.find("\"dedup_id\": \""), std::string::npos) << call;
  // adapter_config: the handler's params as the adapter's config message, in an Any.
  EXPECT_NE(
      call.find("\"adapter_config_type\": \"type.googleapis.com/adapter.testoop.config.Params\""),
      std::string::npos)
      << call;
  const auto at = call.find("\"adapter_config\": \"");
  ASSERT_NE(at, std::string::npos);
  const auto start = at + std::string("\"adapter_config\": \"").size();
  std::string config;
  ASSERT_TRUE(absl::Base64Unescape(call.substr(start, call.find('"', start) - start), &config));
  EXPECT_NE(config.find("my-label"), std::string::npos);
}

const char* kListConfig = R"(
apiVersion: config.istio.io/v1alpha2
kind: instance
metadata: {name: appname, namespace: istio-system}
spec:
  template: listentry
  params:
    value: source.labels["app"] | "none"
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: checkapp, namespace: istio-system}
spec:
  actions:
  - handler: remote.handler
    instances: [appname]
---
apiVersion: config.istio.io/v1alpha2
kind: denier
metadata: {name: slowdown, namespace: istio-system}
spec:
  status: {code: 0}
  valid_duration: 2s
  valid_use_count: 100
---
apiVersion: config.istio.io/v1alpha2
kind: checknothing
metadata: {name: nothing, namespace: istio-system}
spec: {}
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: inprocess, namespace: istio-system}
spec:
  actions:
  - handler: slowdown.denier
    instances: [nothing.checknothing]
)";

TEST_F(OopAdapterTest, AListAdaptersAnswerDecidesTheCheckAndMergesWithInProcessResults) {
  AdapterServer server;
  ASSERT_TRUE(server.start(
      ::testing::TempDir() + "/oop-list.jsonl",
      {"--allow", "reviews", "--valid-duration-ms", "5000", "--valid-use-count", "7"}));
  auto snapshot = load(handlerYaml("remote", server.address(), "{}") + kListConfig);
  ASSERT_NE(snapshot, nullptr) << errorsText();
  Dispatcher d(snapshot, nullptr);
  AttributeBag bag(snapshot->vocabulary());
  const attribute::StringMapEntry allowed[] = {{"app", "reviews"}};
  bag.set("source.labels", bag.makeStringMap(allowed));
  AttributeReferences refs;
  CheckDecision r = d.check(bag, &refs);
  EXPECT_EQ(r.status_code, 0) << r.status_message;
  // The minimum of the remote adapter's (5 s, 7 uses) and the denier's (2 s, 100 uses).
  EXPECT_EQ(r.valid_duration.seconds, 2);
  EXPECT_EQ(r.valid_use_count, 7);

  const attribute::StringMapEntry denied[] = {{"app", "ratings"}};
  bag.set("source.labels", bag.makeStringMap(denied));
  r = d.check(bag, &refs);
  EXPECT_EQ(r.status_code, 7);
  EXPECT_EQ(r.status_message, "remote.handler.istio-system:ratings is not listed");
  EXPECT_EQ(r.valid_use_count, 7);
  const std::string got = server.received();
  EXPECT_NE(got.find("\"method\": \"HandleListEntry\""), std::string::npos) << got;
  EXPECT_NE(got.find("\"value\": {\"string_value\": \"ratings\"}"), std::string::npos) << got;
  EXPECT_NE(got.find("\"name\": \"appname.instance.istio-system\""), std::string::npos) << got;
  server.stop();
}

const char* kQuotaConfig = R"(
apiVersion: config.istio.io/v1alpha2
kind: instance
metadata: {name: requestcount, namespace: istio-system}
spec:
  template: quota
  params:
    dimensions:
      source: source.labels["app"] | "unknown"
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: quota, namespace: istio-system}
spec:
  actions:
  - handler: remote.handler
    instances: [requestcount]
)";

TEST_F(OopAdapterTest, AQuotaAdaptersGrantIsHonoured) {
  AdapterServer server;
  ASSERT_TRUE(server.start(::testing::TempDir() + "/oop-quota.jsonl", {"--quota-max", "3"}));
  auto snapshot = load(handlerYaml("remote", server.address(), "{max_amount: 3}") + kQuotaConfig);
  ASSERT_NE(snapshot, nullptr) << errorsText();
  Dispatcher d(snapshot, nullptr);
  AttributeBag bag(snapshot->vocabulary());
  QuotaRequest args;
  args.name = "requestcount";
  args.amount = 2;
  args.deduplication_id = "req-1";
  AttributeReferences refs;
  QuotaDecision q = d.quota(bag, args, &refs);
  EXPECT_TRUE(q.matched);
  EXPECT_EQ(q.status_code, 0) << q.status_message;
  EXPECT_EQ(q.granted_amount, 2);
  EXPECT_EQ(q.valid_duration.seconds, 3);
  // 1 of 3 is left: all or nothing denies 2, best effort gets 1.
  args.deduplication_id = "req-2";
  q = d.quota(bag, args, &refs);
  EXPECT_EQ(q.granted_amount, 0);
  args.deduplication_id = "req-3";
  args.best_effort = true;
  q = d.quota(bag, args, &refs);
  EXPECT_EQ(q.granted_amount, 1);
  const std::string got = server.received();
  EXPECT_NE(got.find("\"method\": \"HandleQuota\""), std::string::npos) << got;
  // Istio's quota request: the instance name as the key, the dedup id as Istio composed it.
  EXPECT_NE(got.find("\"quotas\": {\"requestcount.instance.istio-system\": {\"amount\": \"2\"}}"),
            std::string::npos)
      << got;
  EXPECT_NE(got.find("\"dedup_id\": \"req-1requestcount\""), std::string::npos) << got;
  EXPECT_NE(got.find("\"source\": {\"string_value\": \"unknown\"}"), std::string::npos) << got;
  server.stop();
}

// A gone adapter and a slow one are failures of the call: the fail policy of in-process adapters
// applies (a Check is denied with the failure's code, a quota grants nothing).
TEST_F(OopAdapterTest, ADeadOrSlowAdapterFollowsTheFailPolicy) {
  AdapterServer dead;
  ASSERT_TRUE(dead.start(::testing::TempDir() + "/oop-dead.jsonl"));
  const std::string address = dead.address();
  dead.stop();
  auto snapshot = load(handlerYaml("remote", address, "{}") + kListConfig + "---\n" + kQuotaConfig);
  ASSERT_NE(snapshot, nullptr) << errorsText();
  Dispatcher d(snapshot, nullptr, absl::Seconds(2));
  AttributeBag bag(snapshot->vocabulary());
  AttributeReferences refs;
  CheckDecision r = d.check(bag, &refs);
  EXPECT_EQ(r.status_code, 14) << r.status_message;  // UNAVAILABLE
  EXPECT_NE(r.status_message.find("remote.handler.istio-system:"), std::string::npos);
  QuotaRequest args;
  args.name = "requestcount";
  args.amount = 1;
  QuotaDecision q = d.quota(bag, args, &refs);
  EXPECT_EQ(q.status_code, 14) << q.status_message;
  EXPECT_EQ(q.granted_amount, 0);

  // Slower than the connection's timeout: DEADLINE_EXCEEDED.
  AdapterServer slow;
  ASSERT_TRUE(slow.start(::testing::TempDir() + "/oop-slow.jsonl",
                         {"--delay-ms", "1500", "--allow", "none"}));
  snapshot = load(handlerYaml("remote", slow.address(), "{}", "200ms") + kListConfig);
  ASSERT_NE(snapshot, nullptr) << errorsText();
  Dispatcher slow_d(snapshot, nullptr, absl::Seconds(2));
  const auto started = std::chrono::steady_clock::now();
  r = slow_d.check(bag, &refs);
  EXPECT_EQ(r.status_code, 4) << r.status_message;  // DEADLINE_EXCEEDED
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1400));
  snapshot.reset();  // closes the handler: cancels what is in flight
  slow.stop();
}

TEST_F(OopAdapterTest, ConfigurationErrorsNameTheirPlace) {
  // An adapter document that is not there, params the config message does not have, a template
  // without its document.
  auto snapshot = load(handlerYaml("remote", "127.0.0.1:1", "{labelz: x}") + kListConfig);
  ASSERT_EQ(snapshot, nullptr);
  std::string text = errorsText();
  EXPECT_NE(text.find("oop.yaml:6:"), std::string::npos) << text;
  EXPECT_NE(text.find("params.labelz: adapter.testoop.config.Params has no such field"),
            std::string::npos)
      << text;

  std::string other = handlerYaml("remote", "127.0.0.1:1", "{}") + kListConfig;
  other.replace(other.find("adapter: testoop"), 16, "adapter: nosuchadapter");
  snapshot = load(other);
  ASSERT_EQ(snapshot, nullptr);
  text = errorsText();
  EXPECT_NE(text.find("no `kind: adapter` document is named 'nosuchadapter'"), std::string::npos)
      << text;

  snapshot = load(handlerYaml("remote", "no-port", "{}") + kListConfig);
  ASSERT_EQ(snapshot, nullptr);
  EXPECT_NE(errorsText().find("connection.address 'no-port' is not HOST:PORT"), std::string::npos)
      << errorsText();
}

// Istio sent a session-based adapter its config through a session API and no adapter_config in
// the calls; this mixs has no session API, and sends none either. TLS to the adapter is refused
// at load time rather than silently dropped.
TEST_F(OopAdapterTest, ASessionBasedAdapterGetsNoAdapterConfigAndAuthenticationIsRefused) {
  AdapterServer server;
  ASSERT_TRUE(server.start(::testing::TempDir() + "/oop-session.jsonl", {"--allow", "reviews"}));
  auto snapshot = load(
      handlerYaml("remote", server.address(), "{label: x}") + kListConfig, [](std::string* text) {
        text->replace(text->find("session_based: false"), 20, "session_based: true");
      });
  ASSERT_NE(snapshot, nullptr) << errorsText();
  Dispatcher d(snapshot, nullptr);
  AttributeBag bag(snapshot->vocabulary());
  AttributeReferences refs;
  EXPECT_EQ(d.check(bag, &refs).status_code, 7);
  const std::string got = server.received();
  EXPECT_NE(got.find("\"adapter_config_type\": \"\""), std::string::npos) << got;
  server.stop();

  std::string config = handlerYaml("remote", "127.0.0.1:1", "{}") + kListConfig;
  config.replace(config.find("connection: {"), 13, "connection: {authentication: {mutual: {}}, ");
  EXPECT_EQ(load(config), nullptr);
  EXPECT_NE(errorsText().find("connection.authentication (TLS or mutual TLS to the adapter) is not "
                              "supported by this mixs"),
            std::string::npos)
      << errorsText();
}

}  // namespace
}  // namespace mixer::runtime
