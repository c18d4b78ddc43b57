// Tests of the configuration loader over small directories of YAML written by each test: both
// config models, mixed, multi-document files, and every kind of error with its position.
#include "config/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace mixer::config {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::StartsWith;

using Files = std::vector<std::pair<std::string, std::string>>;

// A directory under the test temp dir holding `files`, removed at the end of the test.
class ConfigDir {
 public:
  ConfigDir(std::initializer_list<std::pair<std::string, std::string>> files)
      : ConfigDir(Files(files)) {}
  explicit ConfigDir(const Files& files) {
    static std::atomic<int> counter{0};
    path_ = fs::path(::testing::TempDir()) /
            ("config_loader_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
    for (const auto& [name, text] : files) {
      const fs::path file = path_ / name;
      fs::create_directories(file.parent_path());
      std::ofstream(file) << text;
    }
  }
  ~ConfigDir() { fs::remove_all(path_); }
  ConfigDir(const ConfigDir&) = delete;
  ConfigDir& operator=(const ConfigDir&) = delete;

  std::string path() const { return path_.string(); }

  LoadResult load() const { return loadDirectory(path_.string()); }

  // The errors as "file:line:column: message", file relative to the directory.
  std::vector<std::string> errors(const LoadResult& result) const {
    std::vector<std::string> out;
    const std::string prefix = path_.string() + "/";
    for (const ConfigError& e : result.errors) {
      std::string s = e.str();
      for (size_t at; (at = s.find(prefix)) != std::string::npos;) {
        s.erase(at, prefix.size());
      }
      out.push_back(s);
    }
    return out;
  }

 private:
  fs::path path_;
};

std::string relative(const ConfigDir& dir, const SourcePos& pos) {
  std::string s = pos.str();
  const std::string prefix = dir.path() + "/";
  return s.rfind(prefix, 0) == 0 ? s.substr(prefix.size()) : s;
}

const Handler* findHandler(const ConfigModel& model, const std::string& name) {
  for (const Handler& h : model.handlers) {
    if (h.name == name) {
      return &h;
    }
  }
  return nullptr;
}

const Instance* findInstance(const ConfigModel& model, const std::string& name) {
  for (const Instance& i : model.instances) {
    if (i.name == name) {
      return &i;
    }
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Bookinfo-style samples of the Istio 1.x model.

constexpr char kDenyLabel[] = R"(apiVersion: "config.istio.io/v1alpha2"
kind: denier
metadata:
  name: denyreviewsv3handler
spec:
  status:
    code: 7
    message: Not allowed
---
apiVersion: "config.istio.io/v1alpha2"
kind: checknothing
metadata:
  name: denyreviewsv3request
spec:
---
apiVersion: "config.istio.io/v1alpha2"
kind: rule
metadata:
  name: denyreviewsv3
spec:
  match: destination.labels["app"] == "ratings" && source.labels["app"]=="reviews"
  actions:
  - handler: denyreviewsv3handler.denier
    instances: [ denyreviewsv3request.checknothing ]
)";

TEST(IstioModelTest, DenyByLabel) {
  ConfigDir dir({{"deny-label.yaml", kDenyLabel}});
  LoadResult r = dir.load();
  EXPECT_THAT(dir.errors(r), IsEmpty());
  EXPECT_EQ(r.files, 1u);
  EXPECT_EQ(r.documents, 3u);
  ASSERT_EQ(r.model.handlers.size(), 1u);
  const Handler& h = r.model.handlers[0];
  EXPECT_EQ(h.name, "denyreviewsv3handler.denier.istio-system");
  EXPECT_EQ(h.ns, "istio-system");
  EXPECT_EQ(h.adapter, "denier");
  EXPECT_EQ(h.params["status"]["code"].as<int>(), 7);
  EXPECT_EQ(h.params["status"]["message"].as<std::string>(), "Not allowed");
  EXPECT_EQ(relative(dir, h.pos), "deny-label.yaml:4:9");
  ASSERT_EQ(r.model.instances.size(), 1u);
  EXPECT_EQ(r.model.instances[0].name, "denyreviewsv3request.checknothing.istio-system");
  EXPECT_EQ(r.model.instances[0].template_name, "checknothing");
  ASSERT_EQ(r.model.rules.size(), 1u);
  const Rule& rule = r.model.rules[0];
  EXPECT_EQ(rule.name, "denyreviewsv3.rule.istio-system");
  EXPECT_EQ(rule.lang, "cexl");
  EXPECT_EQ(rule.match,
            "destination.labels[\"app\"] == \"ratings\" && source.labels[\"app\"]==\"reviews\"");
  EXPECT_EQ(relative(dir, rule.match_pos), "deny-label.yaml:21:10");
  ASSERT_EQ(rule.actions.size(), 1u);
  EXPECT_EQ(rule.actions[0].handler, "denyreviewsv3handler.denier.istio-system");
  EXPECT_THAT(rule.actions[0].instances,
              ElementsAre("denyreviewsv3request.checknothing.istio-system"));
  EXPECT_EQ(relative(dir, rule.actions[0].handler_pos), "deny-label.yaml:23:14");
  EXPECT_EQ(relative(dir, rule.actions[0].instance_pos[0]), "deny-label.yaml:24:18");
}

constexpr char kListCheck[] = R"(apiVersion: config.istio.io/v1alpha2
kind: listchecker
metadata:
  name: whitelistip
spec:
  overrides: ["10.57.0.0/16"]
  blacklist: false
  entryType: IP_ADDRESSES
---
apiVersion: config.istio.io/v1alpha2
kind: listentry
metadata:
  name: sourceip
spec:
  value: source.ip | ip("0.0.0.0")
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata:
  name: checkip
spec:
  match: source.labels["istio"] == "ingressgateway"
  actions:
  - handler: whitelistip.listchecker
    instances:
    - sourceip.listentry
)";

TEST(IstioModelTest, ListCheck) {
  ConfigDir dir({{"list.yaml", kListCheck}});
  LoadResult r = dir.load();
  EXPECT_THAT(dir.errors(r), IsEmpty());
  const Handler* h = findHandler(r.model, "whitelistip.listchecker.istio-system");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->adapter, "listchecker");
  EXPECT_EQ(h->params["overrides"][0].as<std::string>(), "10.57.0.0/16");
  EXPECT_EQ(h->params["entryType"].as<std::string>(), "IP_ADDRESSES");
  const Instance* i = findInstance(r.model, "sourceip.listentry.istio-system");
  ASSERT_NE(i, nullptr);
  EXPECT_EQ(i->params["value"].as<std::string>(), "source.ip | ip(\"0.0.0.0\")");
  ASSERT_EQ(r.model.rules.size(), 1u);
  EXPECT_EQ(r.model.rules[0].actions[0].handler, "whitelistip.listchecker.istio-system");
  EXPECT_THAT(r.model.rules[0].actions[0].instances,
              ElementsAre("sourceip.listentry.istio-system"));
}

constexpr char kRateLimit[] = R"(apiVersion: "config.istio.io/v1alpha2"
kind: memquota
metadata:
  name: handler
  namespace: istio-system
spec:
  quotas:
  - name: requestcount.quota.istio-system
    maxAmount: 5000
    validDuration: 1s
    overrides:
    - dimensions:
        destination: ratings
        source: reviews
        sourceVersion: v3
      maxAmount: 1
      validDuration: 5s
---
apiVersion: "config.istio.io/v1alpha2"
kind: quota
metadata:
  name: requestcount
  namespace: istio-system
spec:
  dimensions:
    source: request.headers["x-forwarded-for"] | "unknown"
    destination: destination.labels["app"] | destination.service.name | "unknown"
    destinationVersion: destination.labels["version"] | "unknown"
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata:
  name: quota
  namespace: istio-system
spec:
  actions:
  - handler: handler.memquota
    instances:
    - requestcount.quota
---
apiVersion: config.istio.io/v1alpha2
kind: QuotaSpec
metadata:
  name: request-count
  namespace: istio-system
spec:
  rules:
  - quotas:
    - charge: 1
      quota: requestcount
---
apiVersion: config.istio.io/v1alpha2
kind: QuotaSpecBinding
metadata:
  name: request-count
  namespace: istio-system
spec:
  quotaSpecs:
  - name: request-count
    namespace: istio-system
  services:
  - name: ratings
)";

constexpr char kVirtualService[] = R"(apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: ratings
spec:
  hosts: [ratings]
  http:
  - route:
    - destination: {host: ratings, subset: v1}
)";

TEST(IstioModelTest, RateLimitAndSkippedKinds) {
  ConfigDir dir({{"ratelimit.yaml", kRateLimit}, {"networking/vs.yml", kVirtualService}});
  LoadResult r = dir.load();
  EXPECT_THAT(dir.errors(r), IsEmpty());
  EXPECT_EQ(r.files, 2u);
  EXPECT_EQ(r.documents, 6u);
  EXPECT_EQ(r.skipped_documents, 3u);  // QuotaSpec, QuotaSpecBinding, VirtualService
  const Handler* h = findHandler(r.model, "handler.memquota.istio-system");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->adapter, "memquota");
  EXPECT_EQ(h->params["quotas"][0]["overrides"][0]["maxAmount"].as<int>(), 1);
  const Instance* i = findInstance(r.model, "requestcount.quota.istio-system");
  ASSERT_NE(i, nullptr);
  EXPECT_EQ(i->template_name, "quota");
  EXPECT_EQ(i->params["dimensions"].size(), 3u);
  ASSERT_EQ(r.model.rules.size(), 1u);
  EXPECT_EQ(r.model.rules[0].match, "");
  EXPECT_EQ(r.model.rules[0].actions[0].handler, "handler.memquota.istio-system");
  EXPECT_THAT(r.model.rules[0].actions[0].instances,
              ElementsAre("requestcount.quota.istio-system"));
}

// `kind: handler` / `kind: instance` (Istio 1.1+), short references, namespaces, the language
// annotation and header operations.
constexpr char kGenericKinds[] = R"yaml(apiVersion: policy.istio.io/v1beta1
kind: handler
metadata:
  name: deny
  namespace: bookinfo
spec:
  compiledAdapter: denier
  params:
    status: {code: 7}
---
apiVersion: policy.istio.io/v1beta1
kind: instance
metadata:
  name: nothing
  namespace: bookinfo
  annotations:
    policy.istio.io/lang: CEL
spec:
  compiled_template: checknothing
---
apiVersion: policy.istio.io/v1beta1
kind: rule
metadata:
  name: r
  namespace: bookinfo
  annotations:
    policy.istio.io/lang: CEL
spec:
  match: "request.path.startsWith('/admin')"
  actions:
  - handler: deny
    instances: [nothing]
    name: a1
  request_header_operations:
  - name: x-user
    values: [request.auth.principal]
  responseHeaderOperations:
  - name: server
    operation: REMOVE
)yaml";

TEST(IstioModelTest, GenericKindsNamespacesLanguageAndHeaders) {
  ConfigDir dir({{"generic.yaml", kGenericKinds}});
  LoadResult r = dir.load();
  EXPECT_THAT(dir.errors(r), IsEmpty());
  const Handler* h = findHandler(r.model, "deny.handler.bookinfo");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->adapter, "denier");
  EXPECT_EQ(h->ns, "bookinfo");
  EXPECT_EQ(h->params["status"]["code"].as<int>(), 7);
  const Instance* i = findInstance(r.model, "nothing.instance.bookinfo");
  ASSERT_NE(i, nullptr);
  EXPECT_EQ(i->template_name, "checknothing");
  EXPECT_EQ(i->lang, "cel");
  ASSERT_EQ(r.model.rules.size(), 1u);
  const Rule& rule = r.model.rules[0];
  EXPECT_EQ(rule.name, "r.rule.bookinfo");
  EXPECT_EQ(rule.lang, "cel");
  EXPECT_EQ(rule.match, "request.path.startsWith('/admin')");
  // The position of the expression's first character, after the opening quote.
  EXPECT_EQ(relative(dir, rule.match_pos), "generic.yaml:29:11");
  ASSERT_EQ(rule.actions.size(), 1u);
  EXPECT_EQ(rule.actions[0].handler, "deny.handler.bookinfo");
  EXPECT_THAT(rule.actions[0].instances, ElementsAre("nothing.instance.bookinfo"));
  EXPECT_EQ(rule.actions[0].name, "a1");
  ASSERT_EQ(rule.request_header_operations.size(), 1u);
  EXPECT_EQ(rule.request_header_operations[0].name, "x-user");
  EXPECT_THAT(rule.request_header_operations[0].values, ElementsAre("request.auth.principal"));
  EXPECT_EQ(rule.request_header_operations[0].op, HeaderOperation::Op::Replace);
  ASSERT_EQ(rule.response_header_operations.size(), 1u);
  EXPECT_EQ(rule.response_header_operations[0].op, HeaderOperation::Op::Remove);
}

TEST(IstioModelTest, BlockScalarMatchPositionIsItsContent) {
  ConfigDir dir({{"r.yaml", R"(apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: r}
spec:
  match: >-
    source.namespace == "a"
  requestHeaderOperations: [{name: x, values: ['"1"']}]
)"}});
  LoadResult r = dir.load();
  EXPECT_THAT(dir.errors(r), IsEmpty());
  ASSERT_EQ(r.model.rules.size(), 1u);
  EXPECT_EQ(r.model.rules[0].match, "source.namespace == \"a\"");
  EXPECT_EQ(relative(dir, r.model.rules[0].match_pos), "r.yaml:6:5");
}

TEST(IstioModelTest, AttributeManifest) {
  ConfigDir dir({{"manifest.yaml", R"(apiVersion: config.istio.io/v1alpha2
kind: attributemanifest
metadata:
  name: kubernetes
spec:
  attributes:
    source.ip:
      valueType: IP_ADDRESS
    source.labels:
      value_type: STRING_MAP
      description: labels of the source
)"}});
  LoadResult r = dir.load();
  EXPECT_THAT(dir.errors(r), IsEmpty());
  ASSERT_EQ(r.model.attributes.size(), 2u);
  EXPECT_EQ(r.model.attributes[0].name, "source.ip");
  EXPECT_EQ(r.model.attributes[0].type, attribute::ValueType::kIpAddress);
  EXPECT_EQ(relative(dir, r.model.attributes[0].pos), "manifest.yaml:7:5");
  EXPECT_EQ(r.model.attributes[1].type, attribute::ValueType::kStringMap);
}

// ---------------------------------------------------------------------------------------------
// The aspect model, spread over files as Istio 0.1 laid it out.

constexpr char kAspectAdapters[] = R"(adapters:
- name: default
  kind: quotas
  impl: memQuota
  params:
    minDeduplicationDuration: 2s
- name: prometheus
  kind: metrics
  impl: prometheus
- name: default
  kind: access-logs
  impl: stdioLogger
  params:
    logStream: STDERR
- name: denyall
  kind: denials
  impl: denyChecker
  params:
    error: {code: 7, message: denied}
- name: versionList
  kind: lists
  impl: genericListChecker
  params:
    listEntries: ["v1", "v2"]
)";

constexpr char kAspectDescriptors[] = R"(metrics:
- name: request_count
  kind: COUNTER
  value: INT64
  labels: {source: 1, target: 1, response_code: 2}
- name: request_duration
  kind: DISTRIBUTION
  value: DURATION
  labels: {target: 1}
  buckets:
    explicit_buckets:
      bounds: [0.005, 0.01, 0.1, 1, 10]
quotas:
- name: RequestCount
  rate_limit: 5000
  labels: {source: 1}
manifests:
- name: istio-proxy
  attributes:
    source.name: {value_type: STRING}
    response.code: {valueType: INT64}
)";

constexpr char kAspectRules[] = R"(subject: namespace:ns
revision: "2022"
rules:
- selector:
  aspects:
  - kind: metrics
    adapter: prometheus
    params:
      metrics:
      - descriptor_name: request_count
        value: "1"
        labels:
          source: source.name | "unknown"
          target: target.service | "unknown"
          response_code: response.code | 200
      - descriptorName: request_duration
        value: response.duration | "0ms"
        labels: {target: target.service}
  - kind: access-logs
    params:
      log_name: accesslog
      log:
        descriptor_name: accesslog.common
        template_expressions:
          originIp: origin.ip
        labels:
          responseCode: response.code
  - kind: quotas
    params:
      quotas:
      - descriptorName: RequestCount
        maxAmount: 100
        expiration: 1s
        labels: {source: source.name}
- selector: target.service == "reviews"
  rules:
  - selector: request.headers["x-user"] == "bob"
    aspects:
    - kind: denials
      adapter: denyall
  - selector: source.labels["version"] != ""
    aspects:
    - kind: lists
      adapter: versionList
      params:
        checkExpression: source.labels["version"]
        blacklist: true
)";

TEST(AspectModelTest, TranslatesAdaptersAspectsDescriptorsAndNestedRules) {
  ConfigDir dir({{"global/adapters.yml", kAspectAdapters},
                 {"global/descriptors.yml", kAspectDescriptors},
                 {"subjects/global/rules.yml", kAspectRules}});
  LoadResult r = dir.load();
  EXPECT_THAT(dir.errors(r), IsEmpty());
  EXPECT_EQ(r.files, 3u);
  EXPECT_TRUE(r.aspect_documents.empty());

  // Adapters become handlers served by the in-tree adapters.
  ASSERT_EQ(r.model.handlers.size(), 5u);
  const Handler* quota = findHandler(r.model, "default.adapter.quotas");
  ASSERT_NE(quota, nullptr);
  EXPECT_EQ(quota->adapter, "memquota");
  EXPECT_EQ(quota->ns, "istio-system");
  EXPECT_EQ(quota->params["minDeduplicationDuration"].as<std::string>(), "2s");
  ASSERT_EQ(quota->params["quotas"].size(), 1u);
  EXPECT_EQ(quota->params["quotas"][0]["name"].as<std::string>(),
            "RequestCount.quota.istio-system");
  EXPECT_EQ(quota->params["quotas"][0]["max_amount"].as<int>(), 100);
  EXPECT_EQ(quota->params["quotas"][0]["valid_duration"].as<std::string>(), "1s");

  const Handler* prom = findHandler(r.model, "prometheus.adapter.metrics");
  ASSERT_NE(prom, nullptr);
  EXPECT_EQ(prom->adapter, "prometheus");
  const YAML::Node metrics = prom->params["metrics"];
  ASSERT_EQ(metrics.size(), 2u);
  EXPECT_EQ(metrics[0]["name"].as<std::string>(), "request_count");
  EXPECT_EQ(metrics[0]["instance_name"].as<std::string>(), "request_count.metric.istio-system");
  EXPECT_EQ(metrics[0]["kind"].as<std::string>(), "COUNTER");
  EXPECT_EQ(metrics[0]["label_names"].size(), 3u);
  EXPECT_EQ(metrics[1]["kind"].as<std::string>(), "DISTRIBUTION");
  EXPECT_EQ(metrics[1]["buckets"]["explicit_buckets"]["bounds"].size(), 5u);

  const Handler* logs = findHandler(r.model, "default.adapter.access-logs");
  ASSERT_NE(logs, nullptr);
  EXPECT_EQ(logs->adapter, "stdio");
  const Handler* deny = findHandler(r.model, "denyall.adapter.denials");
  ASSERT_NE(deny, nullptr);
  EXPECT_EQ(deny->adapter, "denier");
  EXPECT_EQ(deny->params["status"]["code"].as<int>(), 7);
  const Handler* list = findHandler(r.model, "versionList.adapter.lists");
  ASSERT_NE(list, nullptr);
  EXPECT_EQ(list->adapter, "listchecker");
  EXPECT_EQ(list->params["overrides"].size(), 2u);
  EXPECT_TRUE(list->params["blacklist"].as<bool>());

  // Aspects become instances.
  const Instance* count = findInstance(r.model, "request_count.metric.istio-system");
  ASSERT_NE(count, nullptr);
  EXPECT_EQ(count->params["value"].as<std::string>(), "1");
  EXPECT_EQ(count->params["dimensions"]["target"].as<std::string>(),
            "target.service | \"unknown\"");
  const Instance* log = findInstance(r.model, "accesslog.logentry.istio-system");
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->params["variables"]["originIp"].as<std::string>(), "origin.ip");
  EXPECT_EQ(log->params["variables"]["responseCode"].as<std::string>(), "response.code");
  EXPECT_EQ(log->params["severity"].as<std::string>(), "\"INFO\"");
  EXPECT_EQ(log->params["timestamp"].as<std::string>(), "request.time");
  const Instance* q = findInstance(r.model, "RequestCount.quota.istio-system");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->params["dimensions"]["source"].as<std::string>(), "source.name");
  const Instance* nothing = findInstance(r.model, "denyall.checknothing.istio-system");
  ASSERT_NE(nothing, nullptr);
  const Instance* entry = findInstance(r.model, "versionList.listentry.istio-system");
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->params["value"].as<std::string>(), "source.labels[\"version\"]");

  // Selectors become rules; nested ones AND their parent's selector.
  ASSERT_EQ(r.model.rules.size(), 3u);
  const Rule& top = r.model.rules[0];
  EXPECT_EQ(top.match, "");
  EXPECT_EQ(top.name.rfind("selector@", 0), 0u);
  ASSERT_EQ(top.actions.size(), 3u);
  EXPECT_EQ(top.actions[0].handler, "prometheus.adapter.metrics");
  EXPECT_THAT(top.actions[0].instances, ElementsAre("request_count.metric.istio-system",
                                                    "request_duration.metric.istio-system"));
  EXPECT_EQ(top.actions[1].handler, "default.adapter.access-logs");
  EXPECT_EQ(top.actions[2].handler, "default.adapter.quotas");
  EXPECT_THAT(top.actions[2].instances, ElementsAre("RequestCount.quota.istio-system"));
  EXPECT_EQ(r.model.rules[1].match,
            "(target.service == \"reviews\") && (request.headers[\"x-user\"] == \"bob\")");
  EXPECT_EQ(relative(dir, r.model.rules[1].match_pos), "subjects/global/rules.yml:37:15");
  EXPECT_EQ(r.model.rules[1].actions[0].handler, "denyall.adapter.denials");
  EXPECT_EQ(r.model.rules[2].match,
            "(target.service == \"reviews\") && (source.labels[\"version\"] != \"\")");
  EXPECT_EQ(r.model.rules[2].actions[0].handler, "versionList.adapter.lists");

  // Manifests become attribute declarations.
  ASSERT_EQ(r.model.attributes.size(), 2u);
  EXPECT_EQ(r.model.attributes[0].name, "source.name");
  EXPECT_EQ(r.model.attributes[1].type, attribute::ValueType::kInt64);
}

TEST(AspectModelTest, ParamsTranslationAndDescriptorDefaults) {
  ConfigDir dir({{"aspects.yaml", R"(adapters:
- name: ips
  kind: lists
  impl: ipListChecker
  params: {provider_url: "http://lists", ttl: 300s}
- {name: default, kind: quotas, impl: redisQuota, params: {redis_server_url: "localhost:6379"}}
- {name: default, kind: metrics, impl: prometheus}
- {name: default, kind: application-logs, impl: stdioLogger}
- {name: custom, kind: denials, impl: myOwnDenier}
quotas:
- {name: rq, rateLimit: 10, expiration: 2s}
metrics:
- name: latency
  kind: 3
  buckets:
    linear: {numFiniteBuckets: 3, width: 0.5, offset: 0}
rules:
- aspects:
  - kind: lists
    adapter: ips
    params: {check_expression: source.ip}
  - kind: quotas
    params: {quotas: [{descriptorName: rq}]}
  - kind: metrics
    params:
      metrics: [{descriptorName: latency, value: response.duration, labels: {code: response.code}}]
  - kind: application-logs
    params:
      logName: app
      logs:
      - {descriptorName: a, severity: '"ERROR"', timestamp: request.time, labels: {p: request.path}}
      - {descriptorName: b}
  - {kind: denials, adapter: custom}
)"}});
  LoadResult r = dir.load();
  EXPECT_THAT(dir.errors(r), IsEmpty());
  const Handler* ips = findHandler(r.model, "ips.adapter.lists");
  ASSERT_NE(ips, nullptr);
  EXPECT_EQ(ips->params["entry_type"].as<std::string>(), "IP_ADDRESSES");
  EXPECT_EQ(ips->params["provider_url"].as<std::string>(), "http://lists");
  EXPECT_FALSE(ips->params["blacklist"].as<bool>());
  const Handler* quota = findHandler(r.model, "default.adapter.quotas");
  ASSERT_NE(quota, nullptr);
  EXPECT_EQ(quota->adapter, "redisquota");
  EXPECT_EQ(quota->params["quotas"][0]["max_amount"].as<int>(), 10);  // the descriptor's
  EXPECT_EQ(quota->params["quotas"][0]["valid_duration"].as<std::string>(), "2s");
  const Handler* prom = findHandler(r.model, "default.adapter.metrics");
  ASSERT_NE(prom, nullptr);
  const YAML::Node metric = prom->params["metrics"][0];
  EXPECT_EQ(metric["kind"].as<std::string>(), "DISTRIBUTION");
  EXPECT_EQ(metric["buckets"]["linear_buckets"]["num_finite_buckets"].as<int>(), 3);
  // The descriptor declares no labels: the aspect's label names are used.
  ASSERT_EQ(metric["label_names"].size(), 1u);
  EXPECT_EQ(metric["label_names"][0].as<std::string>(), "code");
  const Instance* app = findInstance(r.model, "app.logentry.istio-system");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->params["severity"].as<std::string>(), "\"ERROR\"");
  EXPECT_EQ(app->params["variables"]["p"].as<std::string>(), "request.path");
  const Instance* app2 = findInstance(r.model, "app-2.logentry.istio-system");
  ASSERT_NE(app2, nullptr);
  EXPECT_EQ(app2->params["severity"].as<std::string>(), "\"INFO\"");
  const Handler* custom = findHandler(r.model, "custom.adapter.denials");
  ASSERT_NE(custom, nullptr);
  EXPECT_EQ(custom->adapter, "myOwnDenier");  // left for the runtime to report as unknown
  ASSERT_EQ(r.model.rules.size(), 1u);
  EXPECT_EQ(r.model.rules[0].actions.size(), 5u);
}

TEST(IstioModelTest, CompatLanguageAndOtherApisSkipped) {
  ConfigDir dir({{"c.yaml", R"(apiVersion: config.istio.io/v1alpha2
kind: listentry
metadata:
  name: e
  annotations: {policy.istio.io/lang: COMPAT}
spec: {value: source.ip}
---
apiVersion: rbac.istio.io/v1alpha1
kind: ServiceRole
metadata: {name: viewer}
---
apiVersion: config.istio.io/v1alpha2
kind: HTTPAPISpec
metadata: {name: api}
)"}});
  LoadResult r = dir.load();
  EXPECT_THAT(dir.errors(r), IsEmpty());
  EXPECT_EQ(r.documents, 3u);
  EXPECT_EQ(r.skipped_documents, 2u);
  ASSERT_EQ(r.model.instances.size(), 1u);
  EXPECT_EQ(r.model.instances[0].lang, "cexl");
}

TEST(MixedModelsTest, BothModelsInOneDirectory) {
  ConfigDir dir({{"a-istio.yaml", kDenyLabel},
                 {"b-aspects.yaml", std::string(kAspectAdapters) + "---\n" + kAspectDescriptors +
                                        "---\n" + kAspectRules}});
  LoadResult r = dir.load();
  EXPECT_THAT(dir.errors(r), IsEmpty());
  EXPECT_EQ(r.documents, 6u);
  EXPECT_EQ(r.model.handlers.size(), 6u);
  EXPECT_EQ(r.model.rules.size(), 4u);
  EXPECT_NE(findHandler(r.model, "denyreviewsv3handler.denier.istio-system"), nullptr);
  EXPECT_NE(findHandler(r.model, "prometheus.adapter.metrics"), nullptr);
}

TEST(LoadDirectoryTest, OnlyYamlFilesInPathOrderSkippingHiddenEntries) {
  const std::string rule = R"(apiVersion: config.istio.io/v1alpha2
kind: checknothing
metadata: {name: NAME}
)";
  auto named = [&](const std::string& name) {
    std::string s = rule;
    s.replace(s.find("NAME"), 4, name);
    return s;
  };
  ConfigDir dir({{"b.yml", named("b")},
                 {"a/z.yaml", named("az")},
                 {"c.txt", "not: [yaml"},
                 {"..data/c.yaml", named("hidden")},
                 {".git/x.yaml", "broken: ["}});
  LoadResult r = dir.load();
  EXPECT_THAT(dir.errors(r), IsEmpty());
  EXPECT_EQ(r.files, 2u);
  ASSERT_EQ(r.model.instances.size(), 2u);
  EXPECT_EQ(r.model.instances[0].name, "az.checknothing.istio-system");
  EXPECT_EQ(r.model.instances[1].name, "b.checknothing.istio-system");
}

TEST(LoadDirectoryTest, MissingDirectoryIsAnError) {
  LoadResult r = loadDirectory("/nonexistent/config/dir");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].str(), "/nonexistent/config/dir: not a readable configuration directory");
}

TEST(LoadTextTest, SyntaxErrorKeepsTheOtherDocuments) {
  LoadResult r;
  loadText(R"(apiVersion: config.istio.io/v1alpha2
kind: denier
metadata:
  name: first
---
apiVersion: config.istio.io/v1alpha2
kind: checknothing
metadata:
  name: [broken
---
apiVersion: config.istio.io/v1alpha2
kind: checknothing
metadata:
  name: third
)",
           "multi.yaml", &r);
  resolve(&r);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_THAT(r.errors[0].str(), StartsWith("multi.yaml:10:1: YAML syntax error: "));
  ASSERT_EQ(r.model.handlers.size(), 1u);
  EXPECT_EQ(r.model.handlers[0].name, "first.denier.istio-system");
  ASSERT_EQ(r.model.instances.size(), 1u);
  EXPECT_EQ(r.model.instances[0].name, "third.checknothing.istio-system");
  EXPECT_EQ(r.model.instances[0].pos.str(), "multi.yaml:14:9");
}

// yaml-cpp 0.7 alone loops forever on a line starting with ',' in block context.
TEST(LoadTextTest, StrayCommaIsASyntaxErrorNotAHang) {
  LoadResult r;
  loadText(
      "apiVersion: config.istio.io/v1alpha2\nkind: checknothing\nmetadata: {name: a}\n---\n,\n",
      "comma.yaml", &r);
  resolve(&r);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].str(), "comma.yaml:5:1: YAML syntax error: unexpected character");
  ASSERT_EQ(r.model.instances.size(), 1u);
  EXPECT_EQ(r.model.instances[0].name, "a.checknothing.istio-system");
}

TEST(CanonicalReferenceTest, AsIstioQualifiesNames) {
  EXPECT_EQ(canonicalReference("h", "handler", "ns1"), "h.handler.ns1");
  EXPECT_EQ(canonicalReference("h.denier", "handler", "ns1"), "h.denier.ns1");
  EXPECT_EQ(canonicalReference("h.denier.ns2", "handler", "ns1"), "h.denier.ns2");
  EXPECT_EQ(canonicalReference("i", "instance", "default"), "i.instance.default");
}

// Every example of docs/configuration.md (the ```yaml blocks starting with "# file: <path>")
// loads, both models together in one directory, with no error.
TEST(DocumentationTest, ExamplesLoadWithoutErrors) {
  const char* source_dir = std::getenv("MIXER_SOURCE_DIR");
  if (source_dir == nullptr) {
    GTEST_SKIP() << "MIXER_SOURCE_DIR is not set";
  }
  std::ifstream in(fs::path(source_dir) / "docs" / "configuration.md");
  ASSERT_TRUE(in) << "docs/configuration.md";
  Files files;
  std::string line;
  bool in_block = false;
  while (std::getline(in, line)) {
    if (!in_block && line == "```yaml") {
      in_block = true;
      files.emplace_back("", "");
    } else if (in_block && line == "```") {
      in_block = false;
    } else if (in_block) {
      if (files.back().first.empty() && line.rfind("# file: ", 0) == 0) {
        files.back().first = line.substr(8);
      }
      files.back().second += line + "\n";
    }
  }
  std::erase_if(files, [](const auto& f) { return f.first.empty(); });
  ASSERT_EQ(files.size(), 8u);
  ConfigDir dir(files);
  LoadResult r = dir.load();
  EXPECT_THAT(dir.errors(r), IsEmpty());
  EXPECT_EQ(r.skipped_documents, 1u);  // the QuotaSpec
  // Istio model: 5 handlers, 5 instances, 5 rules; aspect model: 5 adapters, 5 instances, 3 rules.
  EXPECT_EQ(r.model.handlers.size(), 10u);
  EXPECT_EQ(r.model.instances.size(), 10u);
  EXPECT_EQ(r.model.rules.size(), 8u);
  EXPECT_EQ(r.model.attributes.size(), 2u);  // request.colour is declared twice, alike
}

// ---------------------------------------------------------------------------------------------
// Errors: each reports the position of the offending node and a message naming the problem.

struct ErrorCase {
  std::string name;
  Files files;
  // Prefixes of the expected errors ("file:line:column: message..."), in order; the count must
  // match exactly.
  std::vector<std::string> errors;
};

constexpr char kHeader[] = "apiVersion: config.istio.io/v1alpha2\n";

std::vector<ErrorCase> errorCases() {
  const std::string h = kHeader;
  return {
      {"UnknownKind",
       {{"c.yaml", h + "kind: denyer\nmetadata: {name: x}\n"}},
       {"c.yaml:2:7: unknown kind 'denyer' (expected handler, instance, rule, "}},
      {"UnknownValueType",
       {{"c.yaml", h + R"(kind: attributemanifest
metadata:
  name: m
spec:
  attributes:
    request.size:
      valueType: INT64
    request.colour:
      valueType: COLOUR
)"}},
       {"c.yaml:10:18: unknown valueType 'COLOUR' of attribute 'request.colour' (expected STRING"}},
      {"DanglingHandler",
       {{"c.yaml", h + R"(kind: rule
metadata: {name: r}
spec:
  actions:
  - handler: nothere.denier
    instances: [i.checknothing]
---
)" + h + "kind: checknothing\nmetadata: {name: i}\n"}},
       {"c.yaml:6:14: handler 'nothere.denier' not found (looked for "
        "'nothere.denier.istio-system' and 'nothere.handler.denier', referenced by rule "
        "'r.rule.istio-system')"}},
      {"NameDotNamespaceOfAHandlerResource",
       {{"c.yaml",
         h + R"(kind: rule
metadata: {name: r}
spec:
  actions:
  - handler: w.ns1
    instances: [i.checknothing]
---
)" + h +
             "kind: handler\nmetadata: {name: w, namespace: ns1}\nspec: {compiledAdapter: denier}\n"
             "---\n" +
             h + "kind: checknothing\nmetadata: {name: i}\n"}},
       {}},
      {"DanglingShortInstanceWithHint",
       {{"c.yaml", h + R"(kind: rule
metadata: {name: r, namespace: ns1}
spec:
  actions:
  - handler: d.denier
    instances:
    - d.checknothing
    - nothing
---
)" + h + "kind: denier\nmetadata: {name: d, namespace: ns1}\n---\n" +
                       h + "kind: checknothing\nmetadata: {name: d, namespace: ns1}\n---\n" + h +
                       "kind: checknothing\nmetadata: {name: nothing}\n"}},
       {"c.yaml:9:7: instance 'nothing' not found (looked for 'nothing.instance.ns1', "
        "referenced by rule 'r.rule.ns1')"}},
      {"ShortHandlerHint",
       {{"c.yaml", h + R"(kind: rule
metadata: {name: r}
spec:
  actions:
  - {handler: d, instances: [d.checknothing]}
---
)" + h + "kind: denier\nmetadata: {name: d}\n---\n" +
                       h + "kind: checknothing\nmetadata: {name: d}\n"}},
       {"c.yaml:6:15: handler 'd' not found (looked for 'd.handler.istio-system', referenced by "
        "rule 'r.rule.istio-system'); did you mean 'd.denier'?"}},
      {"DuplicateNameAcrossFiles",
       {{"a.yaml", h + "kind: denier\nmetadata:\n  name: h\n"},
        {"b.yaml", h + "kind: denier\nmetadata:\n  name: h\n"}},
       {"b.yaml:4:9: duplicate handler 'h.denier.istio-system' (first defined at a.yaml:4:9)"}},
      {"SameNameInOtherNamespaceIsNoDuplicate",
       {{"a.yaml", h + "kind: denier\nmetadata:\n  name: h\n  namespace: a\n"},
        {"b.yaml", h + "kind: denier\nmetadata:\n  name: h\n  namespace: b\n"}},
       {}},
      {"RuleWithoutActions",
       {{"c.yaml", h + "kind: rule\nmetadata:\n  name: r\nspec:\n  match: \"true\"\n"}},
       {"c.yaml:4:9: rule 'r.rule.istio-system' has no actions"}},
      {"MisspelledField",
       {{"c.yaml", h + R"(kind: rule
metadata:
  name: r
spec:
  acitons:
  - handler: h.denier
)"}},
       {"c.yaml:4:9: rule 'r.rule.istio-system' has no actions",
        "c.yaml:6:3: unknown field 'acitons' in the spec of rule 'r.rule.istio-system'"}},
      {"ActionWithoutHandlerOrInstances",
       {{"c.yaml", h + R"(kind: rule
metadata: {name: r}
spec:
  actions:
  - instances: [i.checknothing]
  - handler: h.denier
)"}},
       {"c.yaml:6:5: the handler of an action of rule 'r.rule.istio-system' is required",
        "c.yaml:7:5: an action of rule 'r.rule.istio-system' has no instances",
        "c.yaml:7:14: handler 'h.denier' not found (looked for 'h.denier.istio-system'"}},
      {"InstanceWithoutTemplate",
       {{"c.yaml", h + "kind: instance\nmetadata: {name: i}\nspec:\n  params: {}\n"}},
       {"c.yaml:4:1: instance 'i.instance.istio-system' has no compiledTemplate (or template)"}},
      {"HandlerWithoutAdapter",
       {{"c.yaml", h + "kind: handler\nmetadata: {name: x}\n"}},
       {"c.yaml:3:18: handler 'x.handler.istio-system' has no compiledAdapter (or adapter)"}},
      {"MissingName",
       {{"c.yaml", h + "kind: denier\nmetadata:\n  namespace: x\n"}},
       {"c.yaml:4:3: metadata.name is required"}},
      {"MissingApiVersion",
       {{"c.yaml", "kind: denier\nmetadata: {name: x}\n"}},
       {"c.yaml:1:1: apiVersion is required"}},
      {"UnknownLanguage",
       {{"c.yaml", h + R"(kind: checknothing
metadata:
  name: x
  annotations:
    policy.istio.io/lang: Go
)"}},
       {"c.yaml:6:27: unknown policy.istio.io/lang 'Go' (expected CEXL, CEL or COMPAT)"}},
      {"UnknownHeaderOperation",
       {{"c.yaml", h + R"(kind: rule
metadata: {name: r}
spec:
  responseHeaderOperations:
  - {name: x, operation: DELETE}
)"}},
       {"c.yaml:3:18: rule 'r.rule.istio-system' has no actions",
        "c.yaml:6:26: unknown header operation 'DELETE' (expected REPLACE, REMOVE or APPEND)"}},
      {"NotAConfigDocument",
       {{"c.yaml", "hello: world\n"}},
       {"c.yaml:1:1: not a configuration document: expected apiVersion and kind"}},
      {"AspectKindMismatch",
       {{"c.yaml", R"(adapters:
- {name: prom, kind: metrics, impl: prometheus}
rules:
- aspects:
  - kind: quotas
    adapter: prom
)"}},
       {"c.yaml:6:14: aspect of kind 'quotas' uses adapter 'prom', which is of kind 'metrics' "
        "(declared at c.yaml:2:10)"}},
      {"AspectWithoutAdapter",
       {{"c.yaml", "rules:\n- aspects:\n  - kind: denials\n"}},
       {"c.yaml:3:5: aspect of kind 'denials' uses adapter 'default', but no adapter of that name "
        "is declared"}},
      {"AspectUnknownKindAndDescriptor",
       {{"a.yaml", "adapters:\n- {name: default, kind: metrics, impl: prometheus}\n"},
        {"b.yaml", R"(rules:
- aspects:
  - kind: metric
  - kind: metrics
    params:
      metrics:
      - {descriptorName: nope, value: "1"}
)"}},
       {"b.yaml:3:11: unknown aspect kind 'metric' (expected access-logs",
        "b.yaml:7:26: metric descriptor 'nope' not found (declare it under metrics:)"}},
      {"AspectListUsedAsBlacklistAndWhitelist",
       {{"c.yaml", R"(adapters: [{name: l, kind: lists, impl: list}]
rules:
- aspects:
  - {kind: lists, adapter: l, params: {checkExpression: a}}
  - {kind: lists, adapter: l, params: {checkExpression: b, blacklist: true}}
)"}},
       {"c.yaml:5:71: adapter 'l' is used as a blacklist here but as a whitelist at c.yaml:4:5"}},
      {"AspectSyntaxError",
       {{"c.yaml", "adapters:\n- {name: d, kind: denials, impl: denier\nrules: []\n"}},
       {"c.yaml:"}},
      {"AspectUnknownValueTypeInManifest",
       {{"c.yaml", "manifests:\n- name: m\n  attributes:\n    a.b: {value_type: TEXT}\n"}},
       {"c.yaml:4:23: unknown valueType 'TEXT' of attribute 'a.b'"}},
  };
}

class LoaderErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(LoaderErrorTest, ReportsPositionAndMessage) {
  const ErrorCase& c = GetParam();
  ConfigDir dir(c.files);
  LoadResult r = dir.load();
  const std::vector<std::string> errors = dir.errors(r);
  ASSERT_EQ(errors.size(), c.errors.size()) << ::testing::PrintToString(errors);
  for (size_t i = 0; i < errors.size(); ++i) {
    EXPECT_THAT(errors[i], StartsWith(c.errors[i]));
  }
}

INSTANTIATE_TEST_SUITE_P(All, LoaderErrorTest, ::testing::ValuesIn(errorCases()),
                         [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------------
// The aspect model as Istio 0.1's documentation wrote it.

TEST(AspectModelTest, TopLevelAspectsApplyToEveryRequest) {
  ConfigDir dir({{"a.yaml", R"(adapters:
  - name: myListChecker
    kind: lists
    impl: ipListChecker
    params:
      publisherUrl: https://mylistserver:912
      refreshInterval: 60s
aspects:
- kind: lists
  adapter: myListChecker
  params:
    blacklist: true
    checkExpression: source.ip
)"}});
  LoadResult r = dir.load();
  EXPECT_THAT(dir.errors(r), IsEmpty());
  EXPECT_TRUE(r.model.aspect_model);
  ASSERT_EQ(r.model.rules.size(), 1u);
  EXPECT_EQ(r.model.rules[0].match, "true");
  ASSERT_EQ(r.model.handlers.size(), 1u);
  const Handler& h = r.model.handlers[0];
  EXPECT_EQ(h.adapter, "listchecker");
  EXPECT_EQ(h.params["provider_url"].as<std::string>(), "https://mylistserver:912");
  EXPECT_EQ(h.params["refresh_interval"].as<std::string>(), "60s");
  EXPECT_FALSE(h.params["publisherUrl"].IsDefined());
  EXPECT_TRUE(h.params["blacklist"].as<bool>());
  EXPECT_EQ(h.origin, "adapter 'myListChecker' (kind lists, impl ipListChecker)");
  EXPECT_THAT(
      h.param_names,
      ElementsAre(std::make_pair(std::string("provider_url"), std::string("publisherUrl")),
                  std::make_pair(std::string("refresh_interval"), std::string("refreshInterval"))));
  ASSERT_EQ(r.model.instances.size(), 1u);
  EXPECT_EQ(r.model.instances[0].params["value"].as<std::string>(), "source.ip");
}

TEST(AspectModelTest, AnAttributesAspectBecomesAKubernetesGeneratorInstance) {
  ConfigDir dir({{"a.yaml", R"(adapters:
- {name: kube, kind: attributes, impl: kubernetes}
- {name: registry, kind: attributes, impl: registryenv, params: {directory: /srv/registry}}
aspects:
- kind: attributes
  adapter: registry
  params:
    inputExpressions:
      sourceUid: source.uid | ""
    attributeBindings:
      source.workload.name: sourceWorkloadName
      source.labels: $out.source_labels | emptyStringMap()
- kind: attributes
  adapter: kube
  params:
    input_expressions: {source_ip: source.ip}
    attribute_bindings: {source.namespace: source_namespace}
)"}});
  LoadResult r = dir.load();
  EXPECT_THAT(dir.errors(r), IsEmpty());
  ASSERT_EQ(r.model.handlers.size(), 2u);
  EXPECT_EQ(r.model.handlers[0].adapter, "kubernetesenv");  // reported unavailable at run time
  EXPECT_EQ(r.model.handlers[1].adapter, "registryenv");
  ASSERT_EQ(r.model.instances.size(), 2u);
  const Instance& i = r.model.instances[0];
  EXPECT_EQ(i.template_name, "kubernetes");
  EXPECT_EQ(i.params["sourceUid"].as<std::string>(), "source.uid | \"\"");
  EXPECT_EQ(i.params["attribute_bindings"]["source.workload.name"].as<std::string>(),
            "$out.source_workload_name");
  EXPECT_EQ(i.params["attribute_bindings"]["source.labels"].as<std::string>(),
            "$out.source_labels | emptyStringMap()");
  EXPECT_EQ(r.model.instances[1].params["attribute_bindings"]["source.namespace"].as<std::string>(),
            "$out.source_namespace");
  ASSERT_EQ(r.model.rules.size(), 1u);
  ASSERT_EQ(r.model.rules[0].actions.size(), 2u);
  EXPECT_EQ(r.model.rules[0].actions[0].handler, "registry.adapter.attributes");

  ConfigDir bad({{"a.yaml", R"(adapters:
- {name: registry, kind: attributes, impl: registryenv}
aspects:
- kind: attributes
  adapter: registry
  params: {inputExpressions: {sourceUid: source.uid}}
)"}});
  LoadResult rb = bad.load();
  EXPECT_THAT(bad.errors(rb),
              ElementsAre(::testing::HasSubstr("an attributes aspect needs attributeBindings")));
}

TEST(AspectModelTest, ASelectorOnAnAspectMakesARuleOfItsOwn) {
  ConfigDir dir({{"a.yaml", R"(adapters:
- {name: default, kind: denials, impl: denyChecker}
rules:
- selector: source.labels["app"] == "reviews"
  aspects:
  - kind: denials
  - selector: target.service == "MyService"
    kind: denials
)"}});
  LoadResult r = dir.load();
  EXPECT_THAT(dir.errors(r), IsEmpty());
  ASSERT_EQ(r.model.rules.size(), 2u);
  EXPECT_EQ(r.model.rules[0].match, "source.labels[\"app\"] == \"reviews\"");
  EXPECT_EQ(r.model.rules[1].match,
            "(source.labels[\"app\"] == \"reviews\") && (target.service == \"MyService\")");
}

TEST(AspectModelTest, DocumentedSpellingsOfDescriptorsAndParams) {
  ConfigDir dir({{"a.yaml", R"(adapters:
- {name: default, kind: quotas, impl: memQuota}
- name: slow
  kind: lists
  impl: ipListChecker
  params: {providerUrl: "https://l:1/x", refreshInterval: 3600s}
- name: codes
  kind: lists
  impl: genericListChecker
  params:
    listEntries:
      400
      401
quotas:
- name: RequestCount
  rate_limit: true
metrics:
  name: responseCode
  kind: COUNTER
  value: INT64
monitoredResources:
- name: vm
principals:
- name: user
aspects:
- kind: quotas
  params:
    quotas:
    - {descriptorName: RequestCount, maxAmount: 5, expiration: 1s}
)"}});
  LoadResult r = dir.load();
  EXPECT_THAT(dir.errors(r), IsEmpty());
  ASSERT_EQ(r.model.handlers.size(), 3u);
  const YAML::Node quota = r.model.handlers[0].params["quotas"][0];
  EXPECT_EQ(quota["max_amount"].as<std::string>(), "5");  // not rate_limit's `true`
  EXPECT_EQ(r.model.handlers[1].params["ttl"].as<std::string>(), "10800s");
  const YAML::Node entries = r.model.handlers[2].params["overrides"];
  ASSERT_TRUE(entries.IsSequence());
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].as<std::string>(), "401");
}

TEST(AspectModelTest, AnUnusedQuotasAdapterIsCheckedButNotInstantiated) {
  ConfigDir dir({{"a.yaml", "adapters:\n- {name: default, kind: quotas, impl: redisQuota}\n"}});
  LoadResult r = dir.load();
  EXPECT_THAT(dir.errors(r), IsEmpty());
  EXPECT_THAT(r.model.handlers, IsEmpty());
}

TEST(AspectModelTest, ARuleSpecWrittenAsAListOfOneIsThatRule) {
  ConfigDir dir({{"r.yaml", std::string(kHeader) + R"(kind: rule
metadata: {name: promcount, namespace: istio-system}
spec:
- match: destination.service == "*"
  actions:
  - handler: handler.prometheus
    instances: [RequestCount.metric]
---
apiVersion: config.istio.io/v1alpha2
kind: prometheus
metadata: {name: handler, namespace: istio-system}
---
apiVersion: config.istio.io/v1alpha2
kind: metric
metadata: {name: RequestCount, namespace: istio-system}
spec: {value: "1"}
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: two, namespace: istio-system}
spec:
- match: "true"
- match: "false"
)"}});
  LoadResult r = dir.load();
  EXPECT_THAT(dir.errors(r), ElementsAre(StartsWith("r.yaml:23:1: spec must be a mapping")));
  ASSERT_EQ(r.model.rules.size(), 1u);
  EXPECT_EQ(r.model.rules[0].match, "destination.service == \"*\"");
  ASSERT_EQ(r.model.rules[0].actions.size(), 1u);
  EXPECT_EQ(r.model.rules[0].actions[0].handler, "handler.prometheus.istio-system");
}

}  // namespace
}  // namespace mixer::config

namespace mixer::config {
namespace {

// An attribute generator's bindings reach the runtime in the instance's params, in both forms:
// the template kind (`kind: kubernetes`, bindings in the spec) and `kind: instance` (bindings
// beside the params). `registryenv` is a handler kind.
TEST(IstioModelTest, AttributeBindingsAreKeptAndRegistryenvIsAHandlerKind) {
  ConfigDir dir({{"generate.yaml", R"(apiVersion: config.istio.io/v1alpha2
kind: registryenv
metadata: {name: handler, namespace: istio-system}
spec: {directory: registry-dir}
---
apiVersion: config.istio.io/v1alpha2
kind: kubernetes
metadata: {name: attributes, namespace: istio-system}
spec:
  source_ip: source.ip | ip("0.0.0.0")
  attribute_bindings:
    source.workload.name: $out.source_workload_name | "unknown"
---
apiVersion: config.istio.io/v1alpha2
kind: instance
metadata: {name: generic, namespace: istio-system}
spec:
  compiledTemplate: kubernetes
  params:
    source_ip: source.ip | ip("0.0.0.0")
  attributeBindings:
    source.namespace: $out.source_namespace | "default"
)"}});
  LoadResult r = dir.load();
  EXPECT_THAT(dir.errors(r), IsEmpty());
  ASSERT_EQ(r.model.handlers.size(), 1u);
  EXPECT_EQ(r.model.handlers[0].adapter, "registryenv");
  EXPECT_EQ(r.model.handlers[0].params["directory"].as<std::string>(), "registry-dir");
  const Instance* a = findInstance(r.model, "attributes.kubernetes.istio-system");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->params["attribute_bindings"]["source.workload.name"].as<std::string>(),
            "$out.source_workload_name | \"unknown\"");
  const Instance* g = findInstance(r.model, "generic.instance.istio-system");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->params["source_ip"].as<std::string>(), "source.ip | ip(\"0.0.0.0\")");
  EXPECT_EQ(g->params["attribute_bindings"]["source.namespace"].as<std::string>(),
            "$out.source_namespace | \"default\"");
}

}  // namespace
}  // namespace mixer::config

namespace mixer::config {
namespace {

// The places LoadResult::skip takes, and what leaving them out does: a document, a rule's
// instance reference (and with it an action left with no instance), the earlier of two
// definitions.
constexpr char kSkipConfig[] = R"(apiVersion: config.istio.io/v1alpha2
kind: denier
metadata: {name: deny, namespace: istio-system}
spec: {status: {code: 7}}
---
apiVersion: config.istio.io/v1alpha2
kind: checknothing
metadata: {name: nothing, namespace: istio-system}
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: r, namespace: istio-system}
spec:
  actions:
  - handler: deny.denier
    instances: [nothing.checknothing, missing.checknothing]
  - handler: deny.denier
    instances: [missing.checknothing]
)";

TEST(LoaderSkipTest, AnErrorAtAnInstanceReferenceSkipsThatReference) {
  ConfigDir dir({{"a.yaml", kSkipConfig}});
  LoadResult first = dir.load();
  ASSERT_EQ(dir.errors(first).size(), 2u) << ::testing::PrintToString(dir.errors(first));
  std::set<std::string> skip;
  for (const ConfigError& e : first.errors) {
    const std::string place = skipPlaceFor(e, first);
    EXPECT_EQ(place, e.pos.str()) << e.str();  // the reference itself, not the rule document
    skip.insert(place);
  }
  LoadResult second = loadDirectory(dir.path(), skip);
  EXPECT_THAT(second.errors, IsEmpty());
  ASSERT_EQ(second.model.rules.size(), 1u);
  // The first action keeps its valid instance; the second had no other and is gone.
  ASSERT_EQ(second.model.rules[0].actions.size(), 1u);
  EXPECT_THAT(second.model.rules[0].actions[0].instances,
              ElementsAre("nothing.checknothing.istio-system"));
  EXPECT_EQ(second.skipped_by_request, 2u);  // the two references
}

TEST(LoaderSkipTest, AnErrorInADocumentSkipsTheDocumentAndADuplicateSkipsTheEarlierOne) {
  ConfigDir dir({{"a.yaml",
                  "apiVersion: config.istio.io/v1alpha2\n"
                  "kind: checknothing\n"
                  "metadata: {name: x, namespace: istio-system}\n"
                  "---\n"
                  "# a comment before the document's first key\n"
                  "apiVersion: config.istio.io/v1alpha2\n"
                  "kind: nosuchkind\n"
                  "metadata: {name: y, namespace: istio-system}\n"},
                 {"b.yaml",
                  "apiVersion: config.istio.io/v1alpha2\n"
                  "kind: checknothing\n"
                  "metadata: {name: x, namespace: istio-system}\n"}});
  LoadResult first = dir.load();
  ASSERT_EQ(first.errors.size(), 2u) << ::testing::PrintToString(dir.errors(first));
  std::set<std::string> skip;
  for (const ConfigError& e : first.errors) {
    skip.insert(skipPlaceFor(e, first));
  }
  EXPECT_THAT(skip, ElementsAre(dir.path() + "/a.yaml:1:1", dir.path() + "/a.yaml:6:1"));
  LoadResult second = loadDirectory(dir.path(), skip);
  EXPECT_THAT(second.errors, IsEmpty());
  EXPECT_EQ(second.documents, 1u);
  EXPECT_EQ(second.skipped_by_request, 2u);
  ASSERT_EQ(second.model.instances.size(), 1u);
  EXPECT_EQ(second.model.instances[0].pos.file, dir.path() + "/b.yaml");  // the last one wins
}

TEST(LoaderSkipTest, AYamlSyntaxErrorHasNoPlaceToSkip) {
  ConfigDir dir({{"a.yaml", "apiVersion: config.istio.io/v1alpha2\nkind: [unclosed\n"}});
  LoadResult r = dir.load();
  ASSERT_FALSE(r.errors.empty());
  EXPECT_EQ(skipPlaceFor(r.errors[0], r), "") << r.errors[0].str();
}

}  // namespace
}  // namespace mixer::config
