// Table-driven: a configuration directory, the requests mixc sends, and the decisions (and
// referenced attributes) expected; one real mixs per case. Both config models.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>

#include "tests/testing/mixs_process.h"
#include "tests/testing/subprocess.h"

namespace mixer {
namespace {

using testing::binDir;
using testing::MixsOptions;
using testing::MixsProcess;
using testing::runCommand;
namespace fs = std::filesystem;

struct Request {
  std::vector<std::string> mixc_args;  // after `mixc`, before -m
  std::vector<std::string> expect;     // substrings of the output
  std::vector<std::string> expect_not = {};
};

struct Case {
  std::string name;
  std::vector<std::pair<std::string, std::string>> files;
  std::vector<Request> requests;
};

const char* kDenyLabel = R"(apiVersion: config.istio.io/v1alpha2
kind: denier
metadata: {name: denyreviewsv3handler, namespace: istio-system}
spec:
  status: {code: 7, message: Not allowed}
---
apiVersion: config.istio.io/v1alpha2
kind: checknothing
metadata: {name: denyreviewsv3request, namespace: istio-system}
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: denyreviewsv3, namespace: istio-system}
spec:
  match: destination.labels["app"] == "ratings" && source.labels["app"]=="reviews" && source.labels["version"] == "v3"
  actions:
  - handler: denyreviewsv3handler.denier
    instances: [denyreviewsv3request.checknothing]
)";

const char* kAspectDeny = R"(adapters:
- name: denyall
  kind: denials
  impl: denyChecker
  params:
    error: {code: 7, message: Not allowed}
rules:
- selector: destination.service == "reviews.default.svc.cluster.local"
  aspects:
  - kind: denials
    adapter: denyall
  rules:
  - selector: request.headers["x-deny"] == "yes"
    aspects:
    - kind: denials
      adapter: denyall
)";

const char* kNamespaced = R"(apiVersion: config.istio.io/v1alpha2
kind: denier
metadata: {name: closed, namespace: bookinfo}
spec:
  status: {code: 16, message: log in first}
---
apiVersion: config.istio.io/v1alpha2
kind: checknothing
metadata: {name: nothing, namespace: bookinfo}
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: closed, namespace: bookinfo}
spec:
  match: request.auth.principal | "" == ""
  actions:
  - handler: closed.denier
    instances: [nothing.checknothing]
)";

const char* kHeaders = R"(apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: tag, namespace: istio-system}
spec:
  match: request.path.startsWith("/api")
  requestHeaderOperations:
  - name: x-api-user
    values: ['request.headers["user"] | "anonymous"']
  responseHeaderOperations:
  - name: server
    operation: REMOVE
)";

// Istio's bookinfo samples: a whitelist of versions, and a rate limit with an override.
const char* kListCheck = R"(apiVersion: config.istio.io/v1alpha2
kind: listchecker
metadata: {name: whitelist, namespace: istio-system}
spec:
  overrides: ["v1", "v2"]
  blacklist: false
---
apiVersion: config.istio.io/v1alpha2
kind: listentry
metadata: {name: appversion, namespace: istio-system}
spec:
  value: source.labels["version"]
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: checkversion, namespace: istio-system}
spec:
  match: destination.labels["app"] == "ratings"
  actions:
  - handler: whitelist.listchecker
    instances:
    - appversion.listentry
)";

const char* kRateLimit = R"(apiVersion: config.istio.io/v1alpha2
kind: memquota
metadata: {name: handler, namespace: istio-system}
spec:
  quotas:
  - name: requestcount.quota.istio-system
    maxAmount: 3
    validDuration: 60s
    overrides:
    - dimensions: {destination: reviews}
      maxAmount: 1
---
apiVersion: config.istio.io/v1alpha2
kind: quota
metadata: {name: requestcount, namespace: istio-system}
spec:
  dimensions:
    source: request.headers["x-forwarded-for"] | "unknown"
    destination: destination.labels["app"] | destination.service.name | "unknown"
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: quota, namespace: istio-system}
spec:
  actions:
  - handler: handler.memquota
    instances:
    - requestcount.quota
)";

const char* kAspectList = R"(adapters:
- name: versions
  kind: lists
  impl: genericListChecker
  params:
    listEntries: ["v1", "v2"]
rules:
- selector: destination.service == "ratings.default.svc.cluster.local"
  aspects:
  - kind: lists
    adapter: versions
    params:
      checkExpression: source.labels["version"]
)";

class ConfigTableTest : public ::testing::TestWithParam<Case> {};

TEST_P(ConfigTableTest, DecisionsFollowTheConfiguration) {
  const Case& c = GetParam();
  const std::string dir = ::testing::TempDir() + "/mixs-table-" + c.name;
  fs::remove_all(dir);
  for (const auto& [name, text] : c.files) {
    fs::create_directories(fs::path(dir + "/" + name).parent_path());
    std::ofstream(dir + "/" + name) << text;
  }
  const auto [vcode, vout] = runCommand({binDir() + "/mixs", "validate", dir});
  ASSERT_EQ(vcode, 0) << vout;

  MixsProcess mixs;
  MixsOptions options;
  options.config_dir = dir;
  options.monitoring = false;
  ASSERT_TRUE(mixs.start(options)) << mixs.output();
  for (const Request& r : c.requests) {
    std::vector<std::string> argv = {binDir() + "/mixc"};
    argv.insert(argv.end(), r.mixc_args.begin(), r.mixc_args.end());
    argv.push_back("-m");
    argv.push_back(mixs.address());
    const auto [code, out] = runCommand(argv);
    EXPECT_EQ(code, 0) << out;
    for (const auto& want : r.expect) {
      EXPECT_NE(out.find(want), std::string::npos) << "want: " << want << "\n" << out;
    }
    for (const auto& unwanted : r.expect_not) {
      EXPECT_EQ(out.find(unwanted), std::string::npos) << "unwanted: " << unwanted << "\n" << out;
    }
  }
  mixs.stop(SIGTERM);
  fs::remove_all(dir);
}

const char* kOk = "Check status was OK";
const char* kDenied = "Check status was PERMISSION_DENIED";

INSTANTIATE_TEST_SUITE_P(
    Samples, ConfigTableTest,
    ::testing::Values(
        Case{"istio_deny_by_label",
             {{"policy/deny.yaml", kDenyLabel}},
             {{{"check", "--stringmap_attributes",
                "destination.labels=app:ratings,source.labels=app:reviews;version:v3"},
               {kDenied, "denyreviewsv3handler.denier.istio-system:Not allowed",
                "destination.labels[app]", "source.labels[version]", "Valid use count: 1000"}},
              {{"check", "--stringmap_attributes",
                "destination.labels=app:ratings,source.labels=app:reviews;version:v2"},
               {kOk, "Valid use count: 10000, valid duration: 1m0s"}}}},
        Case{"aspect_model_denials_with_nested_rules",
             {{"global.yaml", kAspectDeny}},
             {{{"check", "-s", "destination.service=reviews.default.svc.cluster.local"},
               {kDenied, "Not allowed"}},
              {{"check", "-s", "destination.service=ratings.default.svc.cluster.local"},
               {kOk, "destination.service                      EXACT"}}}},
        Case{"both_models_in_one_directory",
             {{"a/istio.yaml", kDenyLabel}, {"b/aspect.yaml", kAspectDeny}},
             {{{"check", "--stringmap_attributes",
                "destination.labels=app:ratings,source.labels=app:reviews;version:v3"},
               {kDenied}},
              {{"check", "-s", "destination.service=reviews.default.svc.cluster.local"}, {kDenied}},
              {{"check", "-s", "destination.service=other"}, {kOk}}}},
        Case{"rules_scoped_to_their_namespace",
             {{"ns.yaml", kNamespaced}},
             {{{"check", "-s", "destination.namespace=bookinfo"},
               {"Check status was UNAUTHENTICATED", "closed.denier.bookinfo:log in first"}},
              {{"check", "-s", "destination.namespace=bookinfo,request.auth.principal=alice"},
               {kOk, "request.auth.principal                   EXACT"}},
              {{"check", "-s", "destination.namespace=default"},
               {kOk},
               {"request.auth.principal"}}}},
        Case{"istio_list_check_whitelist",
             {{"list.yaml", kListCheck}},
             {{{"check", "--stringmap_attributes",
                "destination.labels=app:ratings,source.labels=version:v1"},
               {kOk, "source.labels[version]"}},
              {{"check", "--stringmap_attributes",
                "destination.labels=app:ratings,source.labels=version:v3"},
               {kDenied, "whitelist.listchecker.istio-system"}},
              {{"check", "--stringmap_attributes",
                "destination.labels=app:reviews,source.labels=version:v3"},
               {kOk},
               {"source.labels[version]"}}}},
        Case{"aspect_model_list_check",
             {{"lists.yaml", kAspectList}},
             {{{"check", "-s", "destination.service=ratings.default.svc.cluster.local",
                "--stringmap_attributes", "source.labels=version:v2"},
               {kOk}},
              {{"check", "-s", "destination.service=ratings.default.svc.cluster.local",
                "--stringmap_attributes", "source.labels=version:v3"},
               {kDenied}}}},
        Case{"istio_rate_limit_with_an_override",
             {{"quota.yaml", kRateLimit}},
             {{{"check", "-s", "destination.service.name=ratings", "-q", "requestcount=1"},
               {"Quota 'requestcount': granted 1"}},
              {{"check", "-s", "destination.service.name=ratings", "-q", "requestcount=2"},
               {"Quota 'requestcount': granted 2"}},
              {{"check", "-s", "destination.service.name=ratings", "-q", "requestcount=1"},
               {"Quota 'requestcount': granted 0"}},
              {{"check", "--stringmap_attributes", "destination.labels=app:reviews", "-q",
                "requestcount=1"},
               {"Quota 'requestcount': granted 1", "destination.labels[app]"}},
              {{"check", "--stringmap_attributes", "destination.labels=app:reviews", "-q",
                "requestcount=1"},
               {"Quota 'requestcount': granted 0"}}}},
        Case{"header_operations_become_the_route_directive",
             {{"headers.yaml", kHeaders}},
             {{{"check", "-s", "request.path=/api/v1", "--stringmap_attributes",
                "request.headers=user:bob"},
               {kOk, "Request header REPLACE x-api-user: bob", "Response header REMOVE server"}},
              {{"check", "-s", "request.path=/other"}, {kOk}, {"Request header"}}}}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace mixer
