// The zipkin adapter, loaded from the build's adapter folder, posting to an in-test collector.
// Every body the collector receives is validated against the Zipkin v2 API schema.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mixer/adapter_host/adapter_registry.h"
#include "mixer/adapter_host/host_services.h"
#include "mixer/adapter_host/yaml_params.h"
#include "tests/testing/http_collector.h"
#include "tests/testing/subprocess.h"

namespace mixer::adapter_host {
namespace {

using ::testing::HasSubstr;
using testing::HttpCollector;
using ::testing::UnorderedElementsAre;

// Zipkin's v2 API schema, kept in the repository (tests/adapters/data/README.md).
std::string schemaPath() { return ZIPKIN_API_SCHEMA; }

// Runs the schema check over `bodies`; returns its output, with the exit code in *code.
std::string validate(const std::vector<std::string>& bodies, int* code) {
  std::vector<std::string> argv = {"/usr/bin/python3", ZIPKIN_SCHEMA_CHECK, schemaPath()};
  std::vector<std::string> paths;
  for (size_t i = 0; i < bodies.size(); ++i) {
    paths.push_back(::testing::TempDir() + "/zipkin_body_" + std::to_string(::getpid()) + "_" +
                    std::to_string(i) + ".json");
    std::ofstream(paths.back()) << bodies[i];
    argv.push_back(paths.back());
  }
  auto [c, out] = testing::runCommand(argv);
  for (const std::string& p : paths) {
    std::filesystem::remove(p);
  }
  *code = c;
  return out;
}

class ZipkinTest : public ::testing::Test {
 protected:
  ZipkinTest() : services_(&counters_, &executor_), registry_(&services_) {}
  ~ZipkinTest() override { executor_.shutdown(); }

  void SetUp() override {
    ASSERT_TRUE(registry_.loadFile(std::string(ADAPTER_DIR) + "/zipkin.so").ok());
    adapter_ = registry_.find("zipkin");
    ASSERT_NE(adapter_, nullptr);
  }

  static AbiValue yaml(const std::string& text) {
    std::vector<ParamError> errors;
    AbiValue v = valueFromYaml(YAML::Load(text), "params", &errors);
    EXPECT_TRUE(errors.empty());
    return v;
  }
  HandlerPtr handler(const std::string& params_yaml) {
    auto created = adapter_->createHandler("tracing", yaml(params_yaml));
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? *std::move(created) : nullptr;
  }
  std::string url(int port) { return "http://127.0.0.1:" + std::to_string(port) + "/api/v2/spans"; }
  // A tracespan instance with Istio 1.x field names.
  static Instance span(const std::string& trace, const std::string& id, const std::string& parent,
                       bool client, int64_t status = 200) {
    Instance i{"default.tracespan.istio-system", "tracespan", AbiValue::map()};
    i.fields.set("traceId", AbiValue::string(trace));
    i.fields.set("spanId", AbiValue::string(id));
    i.fields.set("parentSpanId", AbiValue::string(parent));
    i.fields.set("spanName", AbiValue::string("reviews.default.svc.cluster.local:9080/*"));
    i.fields.set("startTime", AbiValue::timestampNs(1'700'000'000'123'456'789));
    i.fields.set("endTime", AbiValue::timestampNs(1'700'000'000'125'456'789));
    i.fields.set("httpStatusCode", AbiValue::int64(status));
    i.fields.set("clientSpan", AbiValue::boolean(client));
    i.fields.set("sourceName", AbiValue::string("productpage"));
    i.fields.set("sourceIp", AbiValue::ipAddress(std::string("\x0a\x00\x00\x01", 4)));
    i.fields.set("destinationName", AbiValue::string("Reviews"));
    i.fields.set("destinationIp",
                 AbiValue::ipAddress(std::string(
                     "\xfd\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02", 16)));
    i.fields.set("spanTags", AbiValue::map({{"http.method", AbiValue::string("GET")},
                                            {"request.size", AbiValue::int64(128)},
                                            {"absent", AbiValue()}}));
    return i;
  }
  void report(Handler& h, const std::vector<Instance>& spans) {
    std::vector<const Instance*> ptrs;
    for (const Instance& i : spans) {
      ptrs.push_back(&i);
    }
    ASSERT_TRUE(h.reportAndWait(ptrs, absl::Seconds(1)).ok());
  }
  double counter(const std::string& name) {
    return counters_.value("mixer_adapter_zipkin_" + name + "_total", {{"adapter", "zipkin"}});
  }
  // The span ids the collector received, after checking every body against the schema.
  std::vector<std::string> receivedIds(const HttpCollector& collector) {
    std::vector<std::string> bodies, ids;
    for (const auto& r : collector.requests()) {
      EXPECT_EQ(r.method, "POST");
      EXPECT_EQ(r.path, "/api/v2/spans");
      EXPECT_EQ(r.content_type, "application/json");
      bodies.push_back(r.body);
      std::regex re(R"re("id":"([0-9a-f]+)")re");
      for (auto it = std::sregex_iterator(r.body.begin(), r.body.end(), re);
           it != std::sregex_iterator(); ++it) {
        ids.push_back((*it)[1].str());
      }
    }
    int code = -1;
    const std::string out = validate(bodies, &code);
    EXPECT_EQ(code, 0) << out;
    EXPECT_THAT(out, HasSubstr("valid: " + std::to_string(ids.size()) + " spans")) << out;
    return ids;
  }

  InMemoryCounterRegistry counters_;
  BackgroundExecutor executor_{2};
  HostServices services_;
  AdapterRegistry registry_;
  std::shared_ptr<const LoadedAdapter> adapter_;
};

TEST_F(ZipkinTest, SendsSchemaValidSpansWithEndpointsTagsAndMicroseconds) {
  HttpCollector collector;
  HandlerPtr h = handler("url: " + url(collector.port()) + "\nflush_interval: 10ms");
  report(*h, {span("463AC35C9F6413AD48485A3953BB6124", "a2fb4a1d1a96d312", "0020000000000001",
                   /*client=*/false, 503),
              span("abc", "b", "", /*client=*/true)});
  ASSERT_TRUE(collector.waitForRequests(1));
  EXPECT_THAT(receivedIds(collector), UnorderedElementsAre("a2fb4a1d1a96d312", "000000000000000b"));
  const std::string body = collector.requests()[0].body;
  EXPECT_THAT(body,
              HasSubstr(R"({"traceId":"463ac35c9f6413ad48485a3953bb6124","id":"a2fb4a1d1a96d312",)"
                        R"("parentId":"0020000000000001","kind":"SERVER",)"
                        R"("name":"reviews.default.svc.cluster.local:9080/*",)"
                        R"("timestamp":1700000000123456,"duration":2000,)"
                        R"("localEndpoint":{"serviceName":"reviews","ipv6":"fd00::2"},)"
                        R"("remoteEndpoint":{"serviceName":"productpage","ipv4":"10.0.0.1"},)"
                        R"("tags":{"http.method":"GET","request.size":"128",)"
                        R"("http.status_code":"503","error":"503"}})"));
  // A client span: short IDs are zero-padded, endpoints swap, no parent.
  EXPECT_THAT(body, HasSubstr(R"({"traceId":"0000000000000abc","id":"000000000000000b",)"
                              R"("kind":"CLIENT")"));
  EXPECT_THAT(body,
              HasSubstr(R"("localEndpoint":{"serviceName":"productpage","ipv4":"10.0.0.1"})"));
  h->close();
  EXPECT_EQ(counter("sent_spans"), 2);
  EXPECT_EQ(counter("dropped_spans"), 0);
}

TEST_F(ZipkinTest, CollectorReceivesExactlyTheReportedSpansInBatches) {
  HttpCollector collector;
  HandlerPtr h = handler("url: " + url(collector.port()) + "\nbatch_size: 7\nflush_interval: 5ms");
  std::set<std::string> sent;
  for (int r = 0; r < 10; ++r) {
    std::vector<Instance> batch;
    for (int i = 0; i < 5; ++i) {
      char id[17];
      std::snprintf(id, sizeof(id), "%016x", r * 100 + i + 1);
      sent.insert(id);
      batch.push_back(span("00000000000000000000000000000042", id, "", false));
    }
    report(*h, batch);
  }
  h->close();  // flushes whatever is still queued
  const std::vector<std::string> ids = receivedIds(collector);
  EXPECT_EQ(ids.size(), 50u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), sent);
  for (const auto& r : collector.requests()) {
    EXPECT_LE(std::count(r.body.begin(), r.body.end(), '{') / 4, 7);  // 4 objects per span
  }
  EXPECT_EQ(counter("sent_spans"), 50);
}

// A full batch starts its POST at once, in place of the flush timer the first spans armed; after
// close() no timer of the handler is left in the host's queue (a timer left there would hold its
// task, and the sender through it, until the host dropped it unrun).
TEST_F(ZipkinTest, CloseLeavesNoTimerBehind) {
  HttpCollector collector;
  HandlerPtr h = handler("url: " + url(collector.port()) + "\nbatch_size: 4\nflush_interval: 1h");
  auto spans = [&](int first, int n) {
    std::vector<Instance> batch;
    for (int i = first; i < first + n; ++i) {
      char id[17];
      std::snprintf(id, sizeof(id), "%016x", i);
      batch.push_back(span("00000000000000000000000000000042", id, "", false));
    }
    report(*h, batch);
  };
  spans(1, 2);  // arms the hour-long flush timer
  spans(3, 2);  // a full batch: sent now
  for (int i = 0; i < 500 && collector.requests().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(collector.requests().size(), 1u);
  h->close();
  EXPECT_EQ(executor_.pending(), 0u);
  EXPECT_EQ(counter("sent_spans"), 4);
}

TEST_F(ZipkinTest, SampleProbabilityKeepsOrDropsWholeTraces) {
  HttpCollector collector;
  HandlerPtr h = handler("url: " + url(collector.port()) + "\nsample_probability: 0.5");
  std::vector<Instance> spans;
  for (int t = 0; t < 200; ++t) {
    char trace[17];
    std::snprintf(trace, sizeof(trace), "%016llx",
                  static_cast<unsigned long long>(t) * 0x9E3779B97F4A7C15ULL);
    spans.push_back(span(trace, "0000000000000001", "", false));
    spans.push_back(span(trace, "0000000000000002", "0000000000000001", true));
  }
  report(*h, spans);
  h->close();
  // Both spans of a trace share the decision.
  std::map<std::string, int> per_trace;
  for (const auto& r : collector.requests()) {
    std::regex re(R"re("traceId":"([0-9a-f]+)")re");
    for (auto it = std::sregex_iterator(r.body.begin(), r.body.end(), re);
         it != std::sregex_iterator(); ++it) {
      ++per_trace[(*it)[1].str()];
    }
  }
  for (const auto& [trace, n] : per_trace) {
    EXPECT_EQ(n, 2) << trace;
  }
  EXPECT_GT(per_trace.size(), 50u);
  EXPECT_LT(per_trace.size(), 150u);
  EXPECT_EQ(counter("sent_spans") + counter("unsampled_spans"), 400);
  EXPECT_EQ(counter("sent_spans"), 2.0 * per_trace.size());
}

TEST_F(ZipkinTest, FailingCollectorIsRetriedThenSpansAreCountedAsDropped) {
  HttpCollector collector;
  collector.setStatus(503);
  HandlerPtr h = handler("url: " + url(collector.port()) +
                         "\nflush_interval: 1ms\nmax_retries: 2\nretry_backoff: 5ms");
  report(*h, {span("0000000000000001", "0000000000000001", "", false),
              span("0000000000000001", "0000000000000002", "", false)});
  for (int i = 0; i < 500 && counter("dropped_spans") < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(counter("dropped_spans"), 2);
  EXPECT_EQ(collector.requests().size(), 3u);  // the first attempt and two retries
  EXPECT_EQ(counter("sent_spans"), 0);
}

TEST_F(ZipkinTest, CollectorDownNeverBlocksReportAndCountsDrops) {
  HandlerPtr h = handler("url: " + url(testing::unusedPort()) +
                         "\nflush_interval: 1ms\nmax_retries: 1\nretry_backoff: 1ms"
                         "\nmax_queued_spans: 10");
  // The queue holds 10 spans; the rest of the 30 are dropped at once, and the report still
  // succeeds.
  std::vector<Instance> spans;
  for (int i = 0; i < 30; ++i) {
    spans.push_back(span("0000000000000001",
                         "000000000000000" + std::string(1, "0123456789abcdef"[i % 16]), "",
                         false));
  }
  report(*h, spans);
  for (int i = 0; i < 500 && counter("dropped_spans") < 30; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  h->close();
  EXPECT_EQ(counter("dropped_spans"), 30);
  EXPECT_EQ(counter("sent_spans"), 0);
}

TEST_F(ZipkinTest, InvalidIdsAreCountedAndNotSent) {
  HttpCollector collector;
  HandlerPtr h = handler("url: " + url(collector.port()));
  report(*h,
         {span("not-hex", "0000000000000001", "", false), span("0000000000000001", "", "", false),
          span("0000000000000001", "00000000000000001", "", false)});  // 17 digits
  h->close();
  EXPECT_EQ(counter("invalid_spans"), 3);
  EXPECT_TRUE(collector.requests().empty());
}

TEST_F(ZipkinTest, ValidatesParams) {
  std::vector<std::string> out;
  for (const ParamError& e : adapter_->validateParams(
           yaml("url: zipkin:9411\nsampleProbability: 1.5\nbatch_size: 0\ntimeout: 0s\nx: 1"))) {
    out.push_back(e.toString());
  }
  EXPECT_THAT(out, UnorderedElementsAre(
                       "params.x: unknown field 'x'",
                       "params.url: required: the collector's http:// or https:// URL, e.g. "
                       "http://zipkin:9411/api/v2/spans",
                       "params.sample_probability: must be between 0 and 1",
                       "params.batch_size: must be between 1 and 100000, got 0",
                       "params.timeout: must be at least 1ms"));
  EXPECT_TRUE(adapter_
                  ->validateParams(yaml("url: http://zipkin:9411/api/v2/spans\n"
                                        "sampleProbability: 0.25"))
                  .empty());
}

}  // namespace
}  // namespace mixer::adapter_host
