// The Rules API in process over a config directory: Kubernetes-shaped paths, create/get/list/
// replace/delete, YAML and JSON, validation with field paths (422, nothing written), stale
// resourceVersions (409), racing replaces (exactly one 409), deletes that would break the config,
// objects in shared hand-written files, the caller policy for writes, the watch, request
// decoding, and the HTTP transport over loopback.
#include "pilot/rules/rules_api.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "pilot/ctl/http_client.h"
#include "pilot/rules/rules_server.h"

namespace pilot::rules {
namespace {

constexpr char kBase[] = "/apis/networking.istio.io/v1beta1/namespaces/default/";

constexpr char kDestinationRule[] = R"(apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: echo}
spec:
  host: echo
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
)";

std::string virtualService(int v1, int v2, const std::string& rv = "") {
  return std::string("apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\n") +
         "metadata: {name: echo" + (rv.empty() ? "" : ", resourceVersion: \"" + rv + "\"") +
         "}\nspec:\n  hosts: [echo]\n  http:\n  - route:\n" +
         "    - {destination: {host: echo, subset: v1}, weight: " + std::to_string(v1) + "}\n" +
         "    - {destination: {host: echo, subset: v2}, weight: " + std::to_string(v2) + "}\n";
}

std::string versionOf(const std::string& json) {
  const YAML::Node n = YAML::Load(json);
  return n["metadata"]["resourceVersion"].as<std::string>();
}

class RulesApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("rules_api_test_" + std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "dr.yaml") << kDestinationRule;
    api_ = std::make_unique<RulesApi>(std::make_unique<DirStore>(dir_.string()),
                                      routing::ParseOptions{}, nullptr, [this] { ++writes_; });
  }
  void TearDown() override {
    api_.reset();
    std::filesystem::remove_all(dir_);
  }

  ApiResponse call(const std::string& method, const std::string& path, const std::string& body = "",
                   const std::string& accept = "") {
    ApiRequest r;
    r.method = method;
    const size_t q = path.find('?');
    r.path = path.substr(0, q);
    r.query = q == std::string::npos ? "" : path.substr(q + 1);
    r.body = body;
    if (!accept.empty()) r.headers.emplace_back("accept", accept);
    return api_->handle(r);
  }

  std::string fileText(const std::string& name) {
    std::ifstream in(dir_ / name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::filesystem::path dir_;
  std::unique_ptr<RulesApi> api_;
  std::atomic<int> writes_{0};
};

TEST_F(RulesApiTest, CreatesGetsListsReplacesAndDeletes) {
  ApiResponse r = call("POST", std::string(kBase) + "virtualservices", virtualService(80, 20));
  ASSERT_EQ(r.code, 201) << r.body;
  EXPECT_EQ(writes_.load(), 1);
  // One file per object, in the store the loader reads.
  const std::string text = fileText("virtualservices_default_echo.yaml");
  EXPECT_NE(text.find("weight: 80"), std::string::npos) << text;
  EXPECT_NE(text.find("namespace: default"), std::string::npos) << text;
  EXPECT_EQ(text.find("resourceVersion"), std::string::npos) << text;
  const std::string v1 = versionOf(r.body);

  r = call("GET", std::string(kBase) + "virtualservices/echo");
  ASSERT_EQ(r.code, 200);
  EXPECT_EQ(versionOf(r.body), v1);
  // YAML on request, and every version of the group names the same objects.
  r = call("GET", "/apis/networking.istio.io/v1alpha3/namespaces/default/virtualservices/echo", "",
           "application/yaml");
  ASSERT_EQ(r.code, 200);
  EXPECT_EQ(r.content_type, "application/yaml");
  EXPECT_NE(r.body.find("apiVersion: networking.istio.io/v1alpha3"), std::string::npos) << r.body;

  r = call("GET", "/apis/networking.istio.io/v1/virtualservices");
  ASSERT_EQ(r.code, 200);
  EXPECT_NE(r.body.find("\"kind\": \"VirtualServiceList\""), std::string::npos) << r.body;
  r = call("GET", std::string(kBase) + "destinationrules");
  EXPECT_NE(r.body.find("\"name\": \"echo\""), std::string::npos) << r.body;

  // Create twice: AlreadyExists.
  r = call("POST", std::string(kBase) + "virtualservices", virtualService(80, 20));
  EXPECT_EQ(r.code, 409);
  EXPECT_NE(r.body.find("AlreadyExists"), std::string::npos);

  // Replace with the current version, in JSON.
  r = call("PUT", std::string(kBase) + "virtualservices/echo",
           R"({"apiVersion":"networking.istio.io/v1beta1","kind":"VirtualService",
               "metadata":{"name":"echo","resourceVersion":")" +
               v1 + R"("},
               "spec":{"hosts":["echo"],"http":[{"route":[{"destination":{"host":"echo","subset":"v2"}}]}]}})");
  ASSERT_EQ(r.code, 200) << r.body;
  const std::string v2 = versionOf(r.body);
  EXPECT_NE(v1, v2);
  EXPECT_NE(r.body.find("\"generation\": 2"), std::string::npos) << r.body;

  // A stale version: 409, nothing written.
  const std::string before = fileText("virtualservices_default_echo.yaml");
  r = call("PUT", std::string(kBase) + "virtualservices/echo", virtualService(50, 50, v1));
  EXPECT_EQ(r.code, 409) << r.body;
  EXPECT_NE(r.body.find("the object has been modified"), std::string::npos) << r.body;
  EXPECT_EQ(fileText("virtualservices_default_echo.yaml"), before);

  // Deleting the DestinationRule would leave subsets undefined: refused.
  r = call("DELETE", std::string(kBase) + "destinationrules/echo");
  EXPECT_EQ(r.code, 422) << r.body;
  EXPECT_NE(r.body.find("subset 'v2' of echo.default.svc.cluster.local is not defined"),
            std::string::npos)
      << r.body;
  EXPECT_TRUE(std::filesystem::exists(dir_ / "dr.yaml"));

  r = call("DELETE", std::string(kBase) + "virtualservices/echo");
  EXPECT_EQ(r.code, 200) << r.body;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "virtualservices_default_echo.yaml"));
  r = call("GET", std::string(kBase) + "virtualservices/echo");
  EXPECT_EQ(r.code, 404);
  // The hand-written DestinationRule file is its only document's file: it can go now.
  r = call("DELETE", std::string(kBase) + "destinationrules/echo");
  EXPECT_EQ(r.code, 200) << r.body;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "dr.yaml"));
}

TEST_F(RulesApiTest, InvalidObjectsAreRefusedWithFieldPaths) {
  ApiResponse r = call("POST", std::string(kBase) + "virtualservices", virtualService(80, 10));
  EXPECT_EQ(r.code, 422) << r.body;
  EXPECT_NE(r.body.find("\"field\":\"spec.http[0].route\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("route weights must add up to 100, got 90"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "virtualservices_default_echo.yaml"));

  // JSON on one line: the path still names the field.
  r = call(
      "POST", std::string(kBase) + "virtualservices",
      R"({"apiVersion":"networking.istio.io/v1beta1","kind":"VirtualService","metadata":{"name":"x"},"spec":{"hosts":["x"],"http":[{"route":[{"destination":{"host":"echo"},"weight":100}],"timeout":"soon"}]}})");
  EXPECT_EQ(r.code, 422) << r.body;
  EXPECT_NE(r.body.find("\"field\":\"spec.http[0].timeout\""), std::string::npos) << r.body;
  r = call(
      "POST", std::string(kBase) + "virtualservices",
      R"({"apiVersion":"networking.istio.io/v1beta1","kind":"VirtualService","metadata":{"name":"x"},"spec":{"hosts":["x"],"http":[{"route":[{"destination":{"host":"echo"},"weight":"heavy"}]}]}})");
  EXPECT_EQ(r.code, 422) << r.body;
  EXPECT_NE(r.body.find("\"field\":\"spec.http[0].route[0].weight\""), std::string::npos) << r.body;

  // Unknown and missing fields.
  r = call("POST", std::string(kBase) + "destinationrules",
           "apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\nmetadata: {name: d}\n"
           "spec:\n  hosst: echo\n");
  EXPECT_EQ(r.code, 422) << r.body;
  EXPECT_NE(r.body.find("\"field\":\"spec.hosst\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"field\":\"spec.host\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("missing required field 'host'"), std::string::npos) << r.body;

  // A second VirtualService for the same host: the loader's cross-object check.
  ASSERT_EQ(call("POST", std::string(kBase) + "virtualservices", virtualService(80, 20)).code, 201);
  std::string other = virtualService(80, 20);
  other.replace(other.find("name: echo"), 10, "name: echo2");
  r = call("POST", std::string(kBase) + "virtualservices", other);
  EXPECT_EQ(r.code, 422) << r.body;
  EXPECT_NE(r.body.find("already has VirtualService echo"), std::string::npos) << r.body;

  // Names Kubernetes would refuse; a kind that is not the path's; bodies that do not decode.
  std::string upper = virtualService(80, 20);
  upper.replace(upper.find("name: echo"), 10, "name: Echo");
  EXPECT_EQ(call("POST", std::string(kBase) + "virtualservices", upper).code, 422);
  EXPECT_EQ(call("POST", std::string(kBase) + "destinationrules", virtualService(80, 20)).code,
            400);
  EXPECT_EQ(call("POST", std::string(kBase) + "virtualservices", "{not: [yaml").code, 400);
  EXPECT_EQ(call("POST", std::string(kBase) + "virtualservices", "a: 1\n---\nb: 2\n").code, 400);
  EXPECT_EQ(call("PUT", std::string(kBase) + "virtualservices/other", virtualService(80, 20)).code,
            400);
  // Dry run: validated, not written.
  r = call("POST", std::string(kBase) + "serviceentries?dryRun=All",
           "apiVersion: networking.istio.io/v1beta1\nkind: ServiceEntry\nmetadata: {name: ext}\n"
           "spec:\n  hosts: [api.example.com]\n  ports: [{number: 443, name: grpc, protocol: "
           "GRPC}]\n  resolution: DNS\n");
  EXPECT_EQ(r.code, 201) << r.body;
  EXPECT_EQ(call("GET", std::string(kBase) + "serviceentries/ext").code, 404);
}

TEST_F(RulesApiTest, PathsAndMethods) {
  EXPECT_EQ(call("GET", "/apis/networking.istio.io/v2/virtualservices").code, 404);
  EXPECT_EQ(call("GET", "/apis/networking.istio.io/v1beta1/gateways").code, 404);
  EXPECT_EQ(call("GET", "/api/v1/namespaces").code, 404);
  EXPECT_EQ(call("GET", std::string(kBase) + "virtualservices/Bad_Name").code, 404);
  EXPECT_EQ(call("PATCH", std::string(kBase) + "virtualservices/echo").code, 405);
  EXPECT_EQ(call("DELETE", std::string(kBase) + "virtualservices").code, 405);
  EXPECT_EQ(call("GET", std::string(kBase) + "virtualservices?labelSelector=app%3Dx").code, 400);
  const ApiResponse r = call("GET", "/apis/networking.istio.io/v1beta1");
  EXPECT_EQ(r.code, 200);
  EXPECT_NE(r.body.find("serviceentries"), std::string::npos);
}

TEST_F(RulesApiTest, SharedFilesAreReadOnly) {
  std::ofstream(dir_ / "both.yaml") << virtualService(80, 20) << "---\n"
                                    << "apiVersion: networking.istio.io/v1beta1\n"
                                       "kind: ServiceEntry\nmetadata: {name: ext}\n"
                                       "spec:\n  hosts: [api.example.com]\n"
                                       "  ports: [{number: 443, name: grpc}]\n"
                                       "  resolution: DNS\n";
  ApiResponse r = call("GET", std::string(kBase) + "virtualservices/echo");
  ASSERT_EQ(r.code, 200) << r.body;
  r = call("PUT", std::string(kBase) + "virtualservices/echo", virtualService(70, 30));
  EXPECT_EQ(r.code, 409) << r.body;
  EXPECT_NE(r.body.find("together with other documents"), std::string::npos) << r.body;
  EXPECT_EQ(call("DELETE", std::string(kBase) + "serviceentries/ext").code, 409);
}

TEST_F(RulesApiTest, RacingReplacesHaveOneWinner) {
  ApiResponse r = call("POST", std::string(kBase) + "virtualservices", virtualService(80, 20));
  ASSERT_EQ(r.code, 201) << r.body;
  for (int round = 0; round < 10; ++round) {
    const std::string version =
        versionOf(call("GET", std::string(kBase) + "virtualservices/echo").body);
    std::atomic<int> ok{0}, conflict{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([&, i] {
        const ApiResponse a = call("PUT", std::string(kBase) + "virtualservices/echo",
                                   virtualService(60 + i, 40 - i, version));
        if (a.code == 200) {
          ++ok;
        } else if (a.code == 409) {
          ++conflict;
        } else {
          ADD_FAILURE() << a.code << " " << a.body;
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), 1) << "round " << round;
    EXPECT_EQ(conflict.load(), 3) << "round " << round;
  }
}

TEST_F(RulesApiTest, CallerPolicyGuardsWrites) {
  auto policy = security::tls::CallerPolicy::parse(
      "callers:\n- principals: [\"spiffe://cluster.local/ns/ops/*\"]\n  apis: [rules, "
      "rules_write]\n- principals: [\"*\"]\n  apis: [rules]\n",
      "callers.yaml");
  ASSERT_TRUE(policy.ok()) << policy.status();
  auto registry = std::make_shared<prometheus::Registry>();
  security::tls::CallerGate gate(*policy, registry, "pilot_callers_denied_total");
  RulesApi api(std::make_unique<DirStore>(dir_.string()), routing::ParseOptions{}, &gate);
  ApiRequest r;
  r.method = "POST";
  r.path = std::string(kBase) + "virtualservices";
  r.body = virtualService(80, 20);
  r.authenticated = true;
  r.principal = "spiffe://cluster.local/ns/default/sa/app";
  EXPECT_EQ(api.handle(r).code, 403);
  r.authenticated = false;
  r.principal = "";
  EXPECT_EQ(api.handle(r).code, 403);
  r.authenticated = true;
  r.principal = "spiffe://cluster.local/ns/ops/sa/meshctl";
  EXPECT_EQ(api.handle(r).code, 201);
  // Reading is allowed to any verified identity, not to an anonymous caller.
  r.method = "GET";
  r.body.clear();
  r.principal = "spiffe://cluster.local/ns/default/sa/app";
  EXPECT_EQ(api.handle(r).code, 200);
  r.authenticated = false;
  r.principal = "";
  EXPECT_EQ(api.handle(r).code, 403);
}

TEST_F(RulesApiTest, WatchReportsAddsChangesAndDeletes) {
  ApiRequest w;
  w.method = "GET";
  w.path = std::string(kBase) + "virtualservices";
  w.query = "watch=true";
  ASSERT_TRUE(RulesApi::isWatch(w));
  std::mutex mu;
  std::vector<std::string> lines;
  std::atomic<bool> stop{false};
  int started = 0;
  std::thread watcher([&] {
    api_->watch(
        w,
        [&](const ApiResponse& r) {
          started = r.code;
          return true;
        },
        [&](const std::string& line) {
          if (!line.empty()) {
            std::lock_guard<std::mutex> lock(mu);
            lines.push_back(line);
          }
          return !stop;
        });
  });
  const auto waitFor = [&](const std::string& needle) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu);
        for (const std::string& l : lines) {
          if (l.find(needle) != std::string::npos) return true;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(call("POST", std::string(kBase) + "virtualservices", virtualService(80, 20)).code, 201);
  EXPECT_TRUE(
      waitFor("{\"type\":\"ADDED\",\"object\":{\"apiVersion\":\"networking.istio.io/"
              "v1beta1\",\"kind\":\"VirtualService\""));
  ASSERT_EQ(call("PUT", std::string(kBase) + "virtualservices/echo", virtualService(70, 30)).code,
            200);
  EXPECT_TRUE(waitFor("\"type\":\"MODIFIED\""));
  // A change made behind the API's back (a hand edit) is reported too.
  std::filesystem::remove(dir_ / "virtualservices_default_echo.yaml");
  EXPECT_TRUE(waitFor("\"type\":\"DELETED\""));
  stop = true;
  watcher.join();
  EXPECT_EQ(started, 200);
  std::lock_guard<std::mutex> lock(mu);
  for (const std::string& l : lines) EXPECT_EQ(l.find("DestinationRule"), std::string::npos) << l;
}

TEST(RulesServerTest, DecodesRequests) {
  ApiRequest r;
  EXPECT_EQ(decodeHttpRequest("GET /a?watch=true HTTP/1.1\r\nHost: x\r\n", &r), -1);
  EXPECT_EQ(decodeHttpRequest("GET /a?watch=true HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
  EXPECT_EQ(r.path, "/a");
  EXPECT_EQ(r.query, "watch=true");
  EXPECT_EQ(decodeHttpRequest("PUT /a HTTP/1.1\r\nContent-Length: 4\r\n\r\nab", &r), -1);
  EXPECT_EQ(decodeHttpRequest("PUT /a HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcdEXTRA", &r), 0);
  EXPECT_EQ(r.body, "abcd");
  EXPECT_EQ(decodeHttpRequest("PUT /a HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", &r), 413);
  EXPECT_EQ(decodeHttpRequest("PUT /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &r), 411);
  EXPECT_EQ(decodeHttpRequest("PUT /a HTTP/1.1\r\nContent-Length: -1\r\n\r\n", &r), 400);
  EXPECT_EQ(decodeHttpRequest("garbage\r\n\r\n", &r), 400);
  EXPECT_EQ(decodeHttpRequest(std::string(20000, 'a'), &r), 431);
  EXPECT_EQ(RulesApi::queryParam("a=1&dryRun=All&watch", "dryRun"), "All");
  EXPECT_EQ(RulesApi::queryParam("a=1&dryRun=All&watch", "watch"), "true");
  EXPECT_EQ(RulesApi::queryParam("a=1", "watch"), "");
}

TEST_F(RulesApiTest, ServesOverHttp) {
  RulesServer::Options options;
  auto server = RulesServer::start(options, api_.get());
  ASSERT_TRUE(server.ok()) << server.status();
  meshctl::Endpoint e;
  e.url = "http://127.0.0.1:" + std::to_string((*server)->port());
  meshctl::HttpResult r;
  std::string error;
  ASSERT_TRUE(meshctl::httpCall(e, "POST", std::string(kBase) + "virtualservices",
                                "application/yaml", virtualService(80, 20), "", &r, &error))
      << error;
  EXPECT_EQ(r.code, 201) << r.body;
  // A watch streams the object, then ends when the consumer stops.
  std::string streamed;
  ASSERT_TRUE(meshctl::httpCall(e, "GET", std::string(kBase) + "virtualservices?watch=true", "", "",
                                "", &r, &error,
                                [&](std::string_view data) {
                                  streamed.append(data);
                                  return streamed.find('\n') == std::string::npos;
                                }))
      << error;
  EXPECT_EQ(r.code, 200);
  EXPECT_EQ(streamed.rfind("{\"type\":\"ADDED\"", 0), 0u) << streamed;
  ASSERT_TRUE(meshctl::httpCall(e, "DELETE", std::string(kBase) + "virtualservices/echo", "", "",
                                "application/yaml", &r, &error));
  EXPECT_EQ(r.code, 200) << r.body;
  EXPECT_NE(r.body.find("status: Success"), std::string::npos) << r.body;
  server->reset();
}

}  // namespace
}  // namespace pilot::rules
