// Configuration end to end: real mixs processes serving configuration directories, driven by
// mixc; hot reload under load; `mixs validate`.
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/duration.pb.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "absl/strings/escaping.h"
#include "tests/testing/metrics.h"
#include "tests/testing/mixs_process.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace mixer {
namespace {

using testing::binDir;
using testing::MixsProcess;
using testing::runCommand;
using testing::Subprocess;

namespace fs = std::filesystem;

// Written atomically (rename), as configuration management tools do.
struct ConfigDir : testing::TempDir {
  ConfigDir() : TempDir("mixs-config") {}
};

// A deny rule for requests to `service`, in Istio's 1.x model.
std::string denyConfig(const std::string& service) {
  return R"(apiVersion: config.istio.io/v1alpha2
kind: denier
metadata:
  name: denyall
  namespace: istio-system
spec:
  status:
    code: 7
    message: Not allowed
---
apiVersion: config.istio.io/v1alpha2
kind: checknothing
metadata:
  name: denyrequest
  namespace: istio-system
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata:
  name: deny
  namespace: istio-system
spec:
  match: destination.service == ")" +
         service + R"("
  actions:
  - handler: denyall.denier
    instances: [denyrequest.checknothing]
)";
}

class MixsConfigTest : public ::testing::Test {
 protected:
  void start(const std::string& dir) { ASSERT_TRUE(mixs_.start(dir)) << mixs_.output(); }
  std::string check(const std::string& service) {
    return mixs_.mixc("check", {"-s", "destination.service=" + service}).second;
  }
  static bool denied(const std::string& out) {
    return out.find("Check status was PERMISSION_DENIED") != std::string::npos;
  }
  // Waits until `service` is denied (or allowed) as wanted.
  bool eventually(const std::string& service, bool want_denied) {
    for (int i = 0; i < 250; ++i) {
      if (denied(check(service)) == want_denied) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  double metric(const std::string& name) {
    return testing::sampleValue(testing::scrapeMetrics(mixs_.monitoringPort()), name).value_or(-1);
  }

  MixsProcess mixs_;
};

TEST_F(MixsConfigTest, ServesTheDirectoryAndDeniesAsConfigured) {
  ConfigDir dir;
  dir.write("deny.yaml", denyConfig("blocked.svc"));
  start(dir.path());
  const std::string out = check("blocked.svc");
  EXPECT_TRUE(denied(out)) << out;
  EXPECT_NE(out.find("denyall.denier.istio-system:Not allowed"), std::string::npos) << out;
  EXPECT_NE(out.find("destination.service                      EXACT"), std::string::npos) << out;
  EXPECT_FALSE(denied(check("open.svc")));
  EXPECT_EQ(metric("mixer_config_generation"), 1);
}

TEST_F(MixsConfigTest, HotReloadUnderLoadFollowsValidVersionsAndKeepsServing) {
  ConfigDir dir;
  dir.write("deny.yaml", denyConfig("svc-0"));
  start(dir.path());
  ASSERT_TRUE(denied(check("svc-0")));

  // Closed-loop load for the whole test: every call must succeed.
  Subprocess load;
  ASSERT_TRUE(load.start({binDir() + "/mixc", "check", "-m", mixs_.address(), "-s",
                          "destination.service=svc-x", "-c", "4", "--duration", "60s", "--json"}));
  int valid = 0, invalid = 0;
  for (int i = 1; i <= 20; ++i) {
    if (i % 4 == 0) {
      // Invalid: an unknown attribute. The previous version must keep serving.
      dir.write("deny.yaml", denyConfig("svc-" + std::to_string(i)) + "  # broken below\n" +
                                 "---\napiVersion: config.istio.io/v1alpha2\nkind: rule\n"
                                 "metadata: {name: bad, namespace: istio-system}\n"
                                 "spec: {match: request.headerz == \"x\", actions: []}\n");
      ++invalid;
      std::this_thread::sleep_for(std::chrono::milliseconds(400));
      EXPECT_TRUE(denied(check("svc-" + std::to_string(i - 1)))) << "version " << i;
      EXPECT_FALSE(denied(check("svc-" + std::to_string(i)))) << "version " << i;
      continue;
    }
    dir.write("deny.yaml", denyConfig("svc-" + std::to_string(i)));
    ++valid;
    EXPECT_TRUE(eventually("svc-" + std::to_string(i), true)) << "version " << i;
    EXPECT_FALSE(denied(check("svc-" + std::to_string(i - 1)))) << "version " << i;
  }
  EXPECT_GE(metric("mixer_config_generation"), 1 + valid);
  EXPECT_GE(metric("mixer_config_errors_total"), invalid);

  // SIGINT ends the load early; mixc then prints its summary.
  const int status = load.stop(SIGINT);
  const std::string summary = load.output();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << summary;
  EXPECT_NE(summary.find("\"errors\":{}"), std::string::npos) << summary;
  EXPECT_EQ(summary.find("\"calls\":0,"), std::string::npos) << summary;
  EXPECT_NE(mixs_.output().find("rejected"), std::string::npos);
}

// A file edited in place by a writer that pauses mid-file (the file open, half written, for longer
// than the reload debounce) is not loaded until its writer closes it: the deny rule the old file
// held keeps deciding meanwhile, and the new one decides after the close.
TEST_F(MixsConfigTest, AFileHalfWrittenInPlaceIsNotLoadedUntilItsWriterClosesIt) {
  ConfigDir dir;
  dir.write("deny.yaml", denyConfig("svc-old"));
  start(dir.path());
  ASSERT_TRUE(denied(check("svc-old")));
  const double reloads_before = metric("mixer_config_generation");

  const std::string next = denyConfig("svc-new");
  const size_t half = next.find("kind: rule");  // the new deny rule is in the second half
  ASSERT_NE(half, std::string::npos);
  {
    std::ofstream out(dir.path() + "/deny.yaml", std::ios::trunc);  // in place, no rename
    out << next.substr(0, half) << std::flush;
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the writer pauses
    EXPECT_TRUE(denied(check("svc-old"))) << "a half-written file was loaded\n" << mixs_.output();
    EXPECT_EQ(metric("mixer_config_generation"), reloads_before);
    out << next.substr(half) << std::flush;
  }  // closed: the change is complete
  EXPECT_TRUE(eventually("svc-new", true)) << mixs_.output();
  EXPECT_FALSE(denied(check("svc-old")));
  EXPECT_EQ(metric("mixer_config_generation"), reloads_before + 1);
}

TEST(MixsValidateTest, ReportsEveryErrorWithPositionAndExitsNonZero) {
  ConfigDir dir;
  dir.write("good.yaml", denyConfig("x"));
  dir.write("sub/bad.yaml",
            "apiVersion: config.istio.io/v1alpha2\nkind: rule\n"
            "metadata: {name: r1, namespace: istio-system}\n"
            "spec:\n  match: request.headerz == \"x\"\n"
            "  actions:\n  - handler: missing.denier\n    instances: [denyrequest.checknothing]\n");
  auto [code, out] = runCommand({binDir() + "/mixs", "validate", dir.path()});
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("sub/bad.yaml:"), std::string::npos) << out;
  EXPECT_NE(out.find("missing.denier"), std::string::npos) << out;

  ConfigDir good;
  good.write("deny.yaml", denyConfig("x"));
  std::tie(code, out) = runCommand({binDir() + "/mixs", "validate", good.path()});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("valid: 1 files, 3 documents, 1 rules, 1 handlers, 1 instances"),
            std::string::npos)
      << out;
}

// Instances that do not fit their template's schema: a misspelled field, an expression of the
// wrong type, a missing required field.
constexpr char kSchemaErrors[] = R"(apiVersion: config.istio.io/v1alpha2
kind: metric
metadata: {name: requestcount, namespace: istio-system}
spec:
  valeu: "1"
  dimensions:
    path: request.path
---
apiVersion: config.istio.io/v1alpha2
kind: tracespan
metadata: {name: span, namespace: istio-system}
spec:
  traceId: request.headers["x-b3-traceid"] | ""
  httpStatusCode: request.path
)";

TEST(MixsValidateTest, InstanceFieldsOutsideTheTemplateSchemaAreErrorsWithTheirPlace) {
  ConfigDir dir;
  dir.write("deny.yaml", denyConfig("x"));
  dir.write("telemetry/instances.yaml", kSchemaErrors);
  auto [code, out] = runCommand({binDir() + "/mixs", "validate", dir.path()});
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("telemetry/instances.yaml:5:3: instance 'requestcount.metric.istio-system' "
                     "field 'valeu': template 'metric' has no such field"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("telemetry/instances.yaml:3:18: instance 'requestcount.metric.istio-system' "
                     "field 'value' is required by template 'metric' and is not set"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("telemetry/instances.yaml:14:19: instance 'span.tracespan.istio-system' "
                     "field 'httpStatusCode': the expression is of type STRING but the field is "
                     "INT64"),
            std::string::npos)
      << out;
}

// A reload with a schema error is rejected with the error's place, and the previous configuration
// keeps serving.
TEST_F(MixsConfigTest, AReloadWithASchemaErrorKeepsThePreviousConfiguration) {
  ConfigDir dir;
  dir.write("deny.yaml", denyConfig("svc-old"));
  start(dir.path());
  ASSERT_TRUE(denied(check("svc-old")));
  const double errors_before = metric("mixer_config_errors_total");
  dir.write("deny.yaml", denyConfig("svc-new") + "---\n" + kSchemaErrors);
  // The rejection is logged after it is counted: wait for the log line itself.
  EXPECT_TRUE(mixs_.waitFor(
      R"(deny\.yaml:32:3: instance 'requestcount\.metric\.istio-system' field 'valeu')"))
      << mixs_.output();
  EXPECT_GT(metric("mixer_config_errors_total"), errors_before) << mixs_.output();
  EXPECT_TRUE(denied(check("svc-old")));
  EXPECT_FALSE(denied(check("svc-new")));
}

// Istio 1.x resources mixs does not serve but must load: an out-of-process template and adapter
// (their descriptors are checked), and the kubernetesenv attribute generator with its instance and
// rule (reported unavailable; its rule skipped).
std::string istioExtrasConfig() {
  google::protobuf::FileDescriptorSet set;
  google::protobuf::Duration::descriptor()->file()->CopyTo(set.add_file());
  const std::string descriptor = absl::Base64Escape(set.SerializeAsString());
  return "apiVersion: config.istio.io/v1alpha2\nkind: template\n"
         "metadata: {name: sample, namespace: istio-system}\n"
         "spec:\n  descriptor: \"" +
         descriptor +
         "\"\n---\n"
         "apiVersion: config.istio.io/v1alpha2\nkind: adapter\n"
         "metadata: {name: sampleadapter, namespace: istio-system}\n"
         "spec:\n  description: out of process\n  session_based: false\n"
         "  templates: [sample]\n  config: " +
         descriptor + "\n" + R"(---
apiVersion: config.istio.io/v1alpha2
kind: kubernetesenv
metadata:
  name: handler
  namespace: istio-system
spec: {}
---
apiVersion: config.istio.io/v1alpha2
kind: kubernetes
metadata:
  name: attributes
  namespace: istio-system
spec:
  source_uid: source.uid | ""
  source_ip: source.ip | ip("0.0.0.0")
  destination_uid: destination.uid | ""
  destination_port: destination.port | 0
  attribute_bindings:
    source.ip: $out.source_pod_ip | ip("0.0.0.0")
    source.labels: $out.source_labels | emptyStringMap()
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata:
  name: kubeattrgenrulerule
  namespace: istio-system
spec:
  actions:
  - handler: handler.kubernetesenv
    instances: [attributes.kubernetes]
)";
}

TEST(MixsValidateTest, ShowsUnavailableHandlersAndCountsDescriptorDocuments) {
  ConfigDir dir;
  dir.write("deny.yaml", denyConfig("x"));
  dir.write("istio/extras.yaml", istioExtrasConfig());
  auto [code, out] = runCommand({binDir() + "/mixs", "validate", dir.path()});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("istio/extras.yaml:19:9: handler 'handler.kubernetesenv.istio-system' "
                     "(adapter kubernetesenv) is unavailable: it needs a Kubernetes API, which "
                     "this mixs does not use; its rules are skipped: "
                     "kubeattrgenrulerule.rule.istio-system"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("valid: 2 files, 8 documents, 1 rules, 1 handlers, 1 instances, 2 "
                     "template/adapter descriptors, 1 unavailable handler(s) whose rules are "
                     "skipped"),
            std::string::npos)
      << out;
}

TEST_F(MixsConfigTest, AnUnavailableHandlerIsLoggedAndCountedAndTheRestServes) {
  ConfigDir dir;
  dir.write("deny.yaml", denyConfig("blocked.svc"));
  dir.write("istio/extras.yaml", istioExtrasConfig());
  start(dir.path());
  EXPECT_TRUE(denied(check("blocked.svc")));
  EXPECT_FALSE(denied(check("open.svc")));
  EXPECT_EQ(metric("mixer_config_unavailable_handlers"), 1);
  EXPECT_TRUE(mixs_.waitFor(R"(\(adapter kubernetesenv\) is unavailable)")) << mixs_.output();
}

// Istio's attribute generation configuration with a registryenv handler: workload attributes
// come from a service registry directory, looked up by the request's source.ip, and decide a rule.
std::string registryenvConfig(const std::string& registry_dir) {
  return R"(apiVersion: config.istio.io/v1alpha2
kind: registryenv
metadata: {name: handler, namespace: istio-system}
spec:
  directory: )" +
         registry_dir +
         R"(
---
apiVersion: config.istio.io/v1alpha2
kind: kubernetes
metadata: {name: attributes, namespace: istio-system}
spec:
  source_uid: source.uid | ""
  source_ip: source.ip | ip("0.0.0.0")
  attribute_bindings:
    source.workload.name: $out.source_workload_name | "unknown"
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: kubeattrgenrulerule, namespace: istio-system}
spec:
  actions:
  - handler: handler.registryenv
    instances: [attributes.kubernetes]
---
apiVersion: config.istio.io/v1alpha2
kind: denier
metadata: {name: denyv2, namespace: istio-system}
spec:
  status: {code: 7, message: reviews-v2 is not allowed}
---
apiVersion: config.istio.io/v1alpha2
kind: checknothing
metadata: {name: denyv2request, namespace: istio-system}
spec: {}
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: denyreviewsv2, namespace: istio-system}
spec:
  match: source.workload.name == "reviews-v2"
  actions:
  - handler: denyv2.denier
    instances: [denyv2request.checknothing]
)";
}

TEST_F(MixsConfigTest, ARegistryGeneratedWorkloadNameDecidesACheck) {
  ConfigDir registry;
  registry.write("services.yaml", R"(services:
- hostname: reviews.default.svc.cluster.local
  ports: [{name: http, number: 9080, protocol: HTTP}]
  instances:
  - {address: 10.1.0.2, port: 9080, labels: {app: reviews, version: v2}}
)");
  ConfigDir dir;
  dir.write("generate.yaml", registryenvConfig(registry.path()));
  start(dir.path());
  auto checkFrom = [&](const std::string& ip) {
    return runCommand({binDir() + "/mixc", "check", "-m", mixs_.address(), "--bytes_attributes",
                       "source.ip=" + ip})
        .second;
  };
  const std::string reviews = checkFrom("0a:01:00:02");
  EXPECT_TRUE(denied(reviews)) << reviews;
  // The proxy's cache keys on what the generator read, not on what it generated.
  EXPECT_NE(reviews.find("source.ip"), std::string::npos) << reviews;
  EXPECT_NE(reviews.find("source.workload.name                     ABSENCE"), std::string::npos)
      << reviews;
  EXPECT_EQ(reviews.find("source.workload.name                     EXACT"), std::string::npos)
      << reviews;
  const std::string other = checkFrom("0a:09:09:09");
  EXPECT_FALSE(denied(other)) << other;
}

// Istio 0.1's aspect model: an `attributes` aspect on an adapter of kind attributes (impl
// registryenv) generates the workload name that a denials aspect's selector decides on.
TEST_F(MixsConfigTest, TheAspectModelsAttributesAspectFeedsASelector) {
  ConfigDir registry;
  registry.write("services.yaml", R"(services:
- hostname: reviews.default.svc.cluster.local
  ports: [{name: http, number: 9080, protocol: HTTP}]
  instances:
  - {address: 10.1.0.2, port: 9080, labels: {app: reviews, version: v2}}
)");
  ConfigDir dir;
  dir.write("global.yaml", R"(adapters:
- name: registry
  kind: attributes
  impl: registryenv
  params: {directory: )" + registry.path() +
                               R"(}
- name: default
  kind: denials
  impl: denyChecker
  params: {status: {code: 7, message: reviews-v2 is not allowed}}
aspects:
- kind: attributes
  adapter: registry
  params:
    inputExpressions:
      sourceIp: source.ip | ip("0.0.0.0")
    attributeBindings:
      source.workload.name: sourceWorkloadName
rules:
- selector: source.workload.name == "reviews-v2"
  aspects:
  - kind: denials
)");
  start(dir.path());
  auto checkFrom = [&](const std::string& ip) {
    return runCommand({binDir() + "/mixc", "check", "-m", mixs_.address(), "--bytes_attributes",
                       "source.ip=" + ip})
        .second;
  };
  const std::string reviews = checkFrom("0a:01:00:02");
  EXPECT_TRUE(denied(reviews)) << reviews;
  const std::string other = checkFrom("0a:09:09:09");
  EXPECT_FALSE(denied(other)) << other;
}

TEST_F(MixsConfigTest, AMissingRegistryDirectoryLeavesTheRestServing) {
  ConfigDir dir;
  dir.write("generate.yaml", registryenvConfig(dir.path() + "/no-such-registry"));
  dir.write("deny.yaml", denyConfig("blocked.svc"));
  start(dir.path());
  EXPECT_TRUE(denied(check("blocked.svc")));
  EXPECT_FALSE(denied(check("open.svc")));
  EXPECT_TRUE(mixs_.waitFor(R"(no-such-registry' does not exist)")) << mixs_.output();
}

TEST(MixsStartTest, InvalidInitialConfigurationIsFatalWithErrors) {
  ConfigDir dir;
  dir.write("r.yaml",
            "apiVersion: config.istio.io/v1alpha2\nkind: rule\n"
            "metadata: {name: r, namespace: istio-system}\n"
            "spec:\n  match: request.headerz == \"x\"\n  actions: []\n");
  const auto [code, out] = runCommand(
      {binDir() + "/mixs", "server", "--address", "127.0.0.1:0", "--config-dir", dir.path()});
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("r.yaml:5:"), std::string::npos) << out;
}

}  // namespace
}  // namespace mixer
