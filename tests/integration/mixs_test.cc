// End-to-end: a real mixs process on ephemeral ports, driven by the real mixc binary and by raw
// gRPC calls over loopback.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "mixer/v1/mixer.pb.h"
#include "tests/testing/hostile_requests.h"
#include "tests/testing/mixs_process.h"
#include "tests/testing/raw_grpc.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/wire_builder.h"

namespace mixer {
namespace {

using testing::binDir;
using testing::httpGet;
using testing::MixsOptions;
using testing::MixsProcess;
using testing::runCommand;
using testing::Subprocess;
using testing::WireBuilder;

class MixsTest : public ::testing::Test {
 protected:
  void SetUp() override { startMixs({}); }

  void startMixs(std::vector<std::string> extra) {
    // The embedded configuration's prometheus handler on a free port: tests run in parallel.
    MixsOptions options;
    options.prometheus_on_free_port = true;
    options.extra = std::move(extra);
    mixs_ = std::make_unique<MixsProcess>();
    ASSERT_TRUE(mixs_->start(options)) << mixs_->output();
    channel_ = grpc::CreateChannel(mixs_->address(), grpc::InsecureChannelCredentials());
  }

  void TearDown() override {
    if (mixs_ && mixs_->running()) {
      mixs_->stop(SIGKILL);
    }
  }

  std::pair<int, std::string> mixc(std::vector<std::string> args) {
    args.insert(args.begin(), binDir() + "/mixc");
    args.push_back("-m");
    args.push_back(mixs_->address());
    return runCommand(args);
  }

  // A unary call with raw request bytes.
  grpc::Status rawCall(const std::string& method, const std::string& bytes,
                       std::string* response = nullptr,
                       std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    return testing::rawUnaryCall(channel_, method, bytes, response, deadline);
  }

  std::unique_ptr<MixsProcess> mixs_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(MixsTest, MixcCheckAnswersOkWithIstioDefaults) {
  const auto [code, out] = mixc({"check", "-s", "destination.service=a.b.svc"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("Check RPC completed successfully. Check status was OK"), std::string::npos)
      << out;
  EXPECT_NE(out.find("Valid use count: 10000, valid duration: 1m0s"), std::string::npos) << out;
  EXPECT_NE(out.find("context.reporter.kind"), std::string::npos) << out;
  EXPECT_NE(out.find("destination.namespace                    ABSENCE"), std::string::npos) << out;
}

TEST_F(MixsTest, MixcCheckWithQuotaPrintsTheGrant) {
  const auto [code, out] =
      mixc({"check", "-a", "context.reporter.kind=outbound,source.namespace=ns", "-q",
            "requestcount=3"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("Quota 'requestcount': granted 0, valid duration 0s"), std::string::npos)
      << out;
  EXPECT_NE(out.find("source.namespace                         EXACT"), std::string::npos) << out;
}

TEST_F(MixsTest, MixcReportAndLoadMode) {
  auto [code, out] = mixc({"report", "-a", "request.size=10,source.ip=10.0.0.1",
                           "--stringmap_attributes", "request.headers=a:b;c:d"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("Report RPC returned OK"), std::string::npos) << out;

  std::tie(code, out) =
      mixc({"check", "-s", "destination.service=x", "-r", "200", "-c", "4", "--json"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("\"calls\":200,\"ok\":200,\"errors\":{}"), std::string::npos) << out;

  std::tie(code, out) = mixc({"report", "--rate", "500", "--duration", "200ms"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("open loop at 500"), std::string::npos) << out;

  // The same through the proxy library's lean transport (libnghttp2), which mixs' gRPC port
  // answers as any gRPC client.
  std::tie(code, out) = mixc({"check", "-s", "destination.service=x", "-r", "200", "-c", "4",
                              "--json", "--transport", "lean"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("\"calls\":200,\"ok\":200,\"errors\":{}"), std::string::npos) << out;
  std::tie(code, out) =
      mixc({"report", "--rate", "500", "--duration", "200ms", "--transport", "lean"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("open loop at 500"), std::string::npos) << out;
  std::tie(code, out) = mixc({"check", "--transport", "lean"});
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("--transport lean is for load runs"), std::string::npos) << out;
}

TEST_F(MixsTest, TypeMismatchFromTheClientIsInvalidArgument) {
  const auto [code, out] = mixc({"check", "-i", "destination.service=3"});
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("Check RPC failed with: INVALID_ARGUMENT: attribute 'destination.service' is "
                     "declared STRING but was sent as an INT64"),
            std::string::npos)
      << out;
}

TEST_F(MixsTest, MalformedRequestsGetInvalidArgumentWithAReason) {
  struct Case {
    std::string method;
    std::string bytes;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"Check",
       WireBuilder().lenField(1, WireBuilder().lenField(2, "\x08\xd8\x04\x10\x01").bytes()).bytes(),
       "attribute name: word index 300 is out of range"},
      {"Check", std::string("\x0a\x10\x12", 3), "malformed CheckRequest"},
      {"Report",
       WireBuilder()
           .lenField(1, "")
           .lenField(1, WireBuilder().lenField(2, "\x08\xb0\x02\x10\x09").bytes())
           .bytes(),
       "report entry 1: value of attribute 'destination.service': word index -5"},
      {"Report", WireBuilder().varintField(4, 9).bytes(),
       "unknown repeated_attributes_semantics 9"},
  };
  for (const auto& c : cases) {
    const auto s = rawCall("/istio.mixer.v1.Mixer/" + c.method, c.bytes);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.reason;
    EXPECT_NE(s.error_message().find(c.reason), std::string::npos) << s.error_message();
  }
  // The server keeps serving.
  EXPECT_TRUE(rawCall("/istio.mixer.v1.Mixer/Check", "").ok());
  const auto [code, body] = httpGet(mixs_->monitoringPort(), "/metrics");
  EXPECT_EQ(code, 200);
  EXPECT_NE(body.find("mixer_server_invalid_requests_total{grpc_method=\"Check\"} 2"),
            std::string::npos)
      << body;
}

// Text that is not UTF-8 never reaches a response, a log line or a JSON line as it came: a quota
// name that is not UTF-8 is refused (it would be echoed as a key of the response's quota map), the
// rejections are logged sampled, and an attribute value that is not UTF-8 is written into the
// access log's JSON line with each bad byte as \ufffd.
TEST_F(MixsTest, InvalidUtf8IsRefusedOrReplacedAndItsLogsAreSampled) {
  const std::string quota_entry = WireBuilder()
                                      .lenField(1, "bad\xff\xfe quota")
                                      .lenField(2, WireBuilder().varintField(1, 1).bytes())
                                      .bytes();
  const std::string check = WireBuilder().lenField(4, quota_entry).bytes();
  constexpr int kCalls = 2000;
  for (int i = 0; i < kCalls; ++i) {
    const auto s = rawCall("/istio.mixer.v1.Mixer/Check", check);
    ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << i;
    ASSERT_NE(s.error_message().find("quotas: name #1 is not valid UTF-8"), std::string::npos)
        << s.error_message();
  }
  auto [code, out] =
      mixc({"report", "-s",
            std::string("context.protocol=http,request.path=/caf\xc3\xa9/\xff\xfe/end")});
  ASSERT_EQ(code, 0) << out;
  ASSERT_TRUE(mixs_->waitFor(R"(/end)", std::chrono::seconds(10))) << mixs_->output();

  const std::string log = mixs_->output();
  EXPECT_EQ(log.find("libprotobuf"), std::string::npos) << log;
  size_t rejected_lines = 0;
  for (size_t at = 0; (at = log.find("rejected: quotas: name #1", at)) != std::string::npos; ++at) {
    ++rejected_lines;
  }
  EXPECT_GE(rejected_lines, 1u);
  EXPECT_LE(rejected_lines, 12u) << "every 2^n-th of " << kCalls << " rejections is logged";
  EXPECT_EQ(log.find("\xff"), std::string::npos) << "a raw byte reached the output";
  // The access log's JSON line: the well-formed é is kept, each bad byte is \ufffd.
  EXPECT_NE(log.find("/caf\xc3\xa9/\\ufffd\\ufffd/end"), std::string::npos) << log;
}

TEST_F(MixsTest, NewerGlobalDictionaryIsInternalAsInIstio) {
  const auto s = rawCall("/istio.mixer.v1.Mixer/Check", WireBuilder().varintField(2, 500).bytes());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_NE(s.error_message().find("inconsistent global dictionary versions"), std::string::npos);
}

// One answer to an oversized request, whatever its size: gRPC's RESOURCE_EXHAUSTED, before the
// server reads more than the limit. (The server once let gRPC accept up to twice the limit and
// answered INVALID_ARGUMENT itself below that, RESOURCE_EXHAUSTED above.)
TEST_F(MixsTest, OversizedRequestIsResourceExhaustedWhateverItsSize) {
  mixs_->stop(SIGTERM);
  startMixs({"--max-message-size", "1000"});
  for (const size_t size : {1001, 1500, 3000, 100000}) {
    std::string big;
    for (size_t padding = size - 6; big.empty() || big.size() > size; --padding) {
      big = WireBuilder()
                .lenField(1, WireBuilder().lenField(1, std::string(padding, 'x')).bytes())
                .bytes();
    }
    ASSERT_EQ(big.size(), size);
    const auto s = rawCall("/istio.mixer.v1.Mixer/Check", big);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << size;
    EXPECT_NE(s.error_message().find("Received message larger than max (" + std::to_string(size) +
                                     " vs. 1000)"),
              std::string::npos)
        << s.error_message();
  }
  const std::string at_limit =
      WireBuilder().lenField(1, WireBuilder().lenField(1, std::string(994, 'x')).bytes()).bytes();
  ASSERT_EQ(at_limit.size(), 1000u);
  EXPECT_TRUE(rawCall("/istio.mixer.v1.Mixer/Check", at_limit).ok());
}

// docs/limits.md, "Requests": each limit at its default, just over and at it.
TEST_F(MixsTest, RequestLimitsAreInvalidArgumentNamingTheirFlags) {
  using testing::distinctMapKeysCheck;
  using testing::distinctNamesCheck;
  using testing::distinctQuotasCheck;
  using testing::distinctWordsCheck;
  using testing::sharedWordsReport;
  struct Case {
    std::string method;
    std::string over;
    std::string at;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"Check", distinctNamesCheck(4097), distinctNamesCheck(4096),
       "attributes of the request: more than 4096, the limit set by --max-attributes-per-request"},
      {"Check", distinctMapKeysCheck(4097), distinctMapKeysCheck(4096),
       "entries of attribute 'request.headers': more than 4096, the limit set by "
       "--max-string-map-entries"},
      {"Check", distinctWordsCheck(65537), distinctWordsCheck(65536),
       "words of the request: more than 65536, the limit set by --max-words-per-request"},
      {"Report", sharedWordsReport(65537, 1), sharedWordsReport(65536, 1),
       "default_words of the Report: more than 65536, the limit set by --max-words-per-request"},
      {"Report", sharedWordsReport(1, 10001), sharedWordsReport(1, 10000),
       "entries of the Report: more than 10000, the limit set by --max-report-records"},
      {"Check", distinctQuotasCheck(65), distinctQuotasCheck(64),
       "quotas of the Check: more than 64, the limit set by --max-quotas-per-check"},
  };
  for (const auto& c : cases) {
    const auto s = rawCall("/istio.mixer.v1.Mixer/" + c.method, c.over);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.reason;
    EXPECT_EQ(s.error_message(), c.reason);
    const auto at = rawCall("/istio.mixer.v1.Mixer/" + c.method, c.at);
    EXPECT_TRUE(at.ok()) << c.reason << ": " << at.error_message();
  }

  // A raised limit is honoured.
  mixs_->stop(SIGTERM);
  startMixs({"--max-attributes-per-request", "5000"});
  EXPECT_TRUE(rawCall("/istio.mixer.v1.Mixer/Check", distinctNamesCheck(4097)).ok());
}

// Eight ~1 MiB Checks of distinct names, abandoned by their clients after 100 ms, must not keep
// a valid Check from being answered within its own 1 s deadline: once with the default limits
// (the flood is refused at the attribute limit), once with limits raised so that every flood
// request is decoded in full.
// Under a sanitizer (a Debug build several times slower) the valid Check gets a longer deadline:
// the property is the same, that the abandoned work does not hold it.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr std::chrono::milliseconds kValidCheckDeadline{5000};
#else
constexpr std::chrono::milliseconds kValidCheckDeadline{1000};
#endif

TEST_F(MixsTest, AbandonedCallsDoNotDelayAValidCheck) {
  const std::string flood = testing::distinctNamesCheck(54000);
  ASSERT_GT(flood.size(), 900u * 1024);
  auto run = [&] {
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
      threads.emplace_back([&] {
        (void)rawCall("/istio.mixer.v1.Mixer/Check", flood, nullptr,
                      std::chrono::milliseconds(100));
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const auto start = std::chrono::steady_clock::now();
    const auto s = rawCall("/istio.mixer.v1.Mixer/Check", WireBuilder().varintField(2, 222).bytes(),
                           nullptr, kValidCheckDeadline);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    for (auto& t : threads) {
      t.join();
    }
    EXPECT_TRUE(s.ok()) << s.error_message() << " after " << took.count() << " s";
  };
  run();
  mixs_->stop(SIGTERM);
  startMixs({"--max-attributes-per-request", "1000000", "--max-words-per-request", "1000000"});
  run();
}

TEST_F(MixsTest, HealthServiceReportsServing) {
  std::string resp;
  // grpc.health.v1.HealthCheckRequest{service = 1}; HealthCheckResponse{status = 1}, SERVING = 1.
  ASSERT_TRUE(rawCall("/grpc.health.v1.Health/Check",
                      WireBuilder().lenField(1, "istio.mixer.v1.Mixer").bytes(), &resp)
                  .ok());
  EXPECT_EQ(resp, std::string("\x08\x01", 2));
  ASSERT_TRUE(rawCall("/grpc.health.v1.Health/Check", "", &resp).ok());
  EXPECT_EQ(resp, std::string("\x08\x01", 2));
}

TEST_F(MixsTest, ReflectionListsTheMixerService) {
  const auto bytes = testing::listServicesByReflection(channel_);
  ASSERT_TRUE(bytes);
  EXPECT_NE(bytes->find("istio.mixer.v1.Mixer"), std::string::npos);
  EXPECT_NE(bytes->find("grpc.health.v1.Health"), std::string::npos);
}

TEST_F(MixsTest, HealthCheckOfAnUnknownServiceIsNotFound) {
  const grpc::Status s =
      rawCall("/grpc.health.v1.Health/Check", WireBuilder().lenField(1, "no.such.Service").bytes());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  EXPECT_EQ(rawCall("/grpc.health.v1.Health/Check", "\xff").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(MixsTest, HealthWatchSendsServingThenNotServingWhenTheServerStops) {
  testing::RawStream watch(channel_, "/grpc.health.v1.Health/Watch");
  ASSERT_TRUE(watch.started());
  ASSERT_TRUE(watch.write(WireBuilder().lenField(1, "istio.mixer.v1.Mixer").bytes()));
  ASSERT_TRUE(watch.writesDone());
  EXPECT_EQ(watch.read(), std::string("\x08\x01", 2));  // SERVING
  // An unknown service is SERVICE_UNKNOWN to Watch, and its stream stays open.
  testing::RawStream unknown(channel_, "/grpc.health.v1.Health/Watch");
  ASSERT_TRUE(unknown.write(WireBuilder().lenField(1, "no.such.Service").bytes()));
  EXPECT_EQ(unknown.read(), std::string("\x08\x03", 2));
  ASSERT_EQ(::kill(mixs_->pid(), SIGTERM), 0);
  EXPECT_EQ(watch.read(), std::string("\x08\x02", 2));  // NOT_SERVING
  const grpc::Status end = watch.finish();
  EXPECT_EQ(end.error_code(), grpc::StatusCode::UNAVAILABLE) << end.error_message();
  EXPECT_EQ(unknown.finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  const int status = mixs_->stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << mixs_->output();
}

TEST_F(MixsTest, ReflectionGivesTheFileOfASymbolWithItsDependencies) {
  testing::RawStream stream(channel_,
                            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo");
  ASSERT_TRUE(stream.started());
  // ServerReflectionRequest{host = 1, file_containing_symbol = 4}
  const std::string request =
      WireBuilder().lenField(1, "h").lenField(4, "istio.mixer.v1.Mixer").bytes();
  ASSERT_TRUE(stream.write(request));
  const auto first = stream.read();
  ASSERT_TRUE(first);
  // ServerReflectionResponse{valid_host = 1, original_request = 2, file_descriptor_response = 4}
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(first->data()),
                                            static_cast<int>(first->size()));
  std::vector<google::protobuf::FileDescriptorProto> files;
  std::string original;
  while (uint32_t t = in.ReadTag()) {
    std::string field;
    ASSERT_EQ(t & 7, 2u);
    ASSERT_TRUE(google::protobuf::internal::WireFormatLite::ReadBytes(&in, &field));
    if (t >> 3 == 2) original = field;
    if (t >> 3 != 4) continue;
    google::protobuf::io::CodedInputStream fin(reinterpret_cast<const uint8_t*>(field.data()),
                                               static_cast<int>(field.size()));
    while (uint32_t ft = fin.ReadTag()) {
      std::string file;
      ASSERT_EQ(ft >> 3, 1u);
      ASSERT_TRUE(google::protobuf::internal::WireFormatLite::ReadBytes(&fin, &file));
      ASSERT_TRUE(files.emplace_back().ParseFromString(file));
    }
  }
  EXPECT_EQ(original, request);
  ASSERT_FALSE(files.empty());
  ASSERT_EQ(files[0].service_size(), 1);
  EXPECT_EQ(files[0].package() + "." + files[0].service(0).name(), "istio.mixer.v1.Mixer");
  std::set<std::string> names;
  for (const auto& f : files) names.insert(f.name());
  for (const auto& dependency : files[0].dependency()) {
    EXPECT_TRUE(names.count(dependency)) << dependency;  // every import comes along
  }
  // A symbol the server does not know: error_response (7) NOT_FOUND, and the stream goes on.
  ASSERT_TRUE(stream.write(WireBuilder().lenField(4, "no.such.Symbol").bytes()));
  const auto second = stream.read();
  ASSERT_TRUE(second);
  EXPECT_NE(second->find(WireBuilder().varintField(1, 5).bytes()), std::string::npos);
  ASSERT_TRUE(stream.writesDone());
  EXPECT_TRUE(stream.finish().ok());
}

TEST_F(MixsTest, AnUnknownMethodIsUnimplemented) {
  const grpc::Status s = rawCall("/istio.mixer.v1.Mixer/NoSuchMethod", "");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED) << s.error_message();
}

// The port's calls run on the completion queues' threads (--grpc-threads, one by default);
// gRPC's callback API, whose threads would take calls from them, is not in use.
TEST_F(MixsTest, CallsRunOnTheCompletionQueueThreads) {
  auto threads = [this] {
    std::map<std::string, long> ticks;  // thread name → user + system clock ticks
    const std::string task = "/proc/" + std::to_string(mixs_->pid()) + "/task";
    for (const auto& entry : std::filesystem::directory_iterator(task)) {
      std::string comm = testing::readFile(entry.path().string() + "/comm");
      while (!comm.empty() && comm.back() == '\n') comm.pop_back();
      // Fields 14 and 15 (utime, stime), counted from the state after the parenthesized name.
      const std::string stat = testing::readFile(entry.path().string() + "/stat");
      std::istringstream rest(stat.substr(stat.rfind(')') + 2));
      std::vector<std::string> fields;
      for (std::string field; rest >> field;) fields.push_back(field);
      ticks[comm] += std::stol(fields.at(11)) + std::stol(fields.at(12));
    }
    return ticks;
  };
  ASSERT_TRUE(rawCall("/istio.mixer.v1.Mixer/Check", "").ok());
  const auto by_default = threads();
  EXPECT_TRUE(by_default.count("mixs-grpc-0"));
  EXPECT_FALSE(by_default.count("mixs-grpc-1"));
  mixs_->stop(SIGTERM);
  startMixs({"--grpc-threads", "3"});
  const std::string check;  // an empty CheckRequest: answered OK by the default rules
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(rawCall("/istio.mixer.v1.Mixer/Check", check).ok());
  }
  const auto after = threads();
  for (const char* name : {"mixs-grpc-0", "mixs-grpc-1", "mixs-grpc-2"}) {
    EXPECT_TRUE(after.count(name)) << name;
  }
  EXPECT_FALSE(after.count("mixs-grpc-3"));
  long on_queues = 0;
  for (const auto& [name, t] : after) {
    EXPECT_EQ(name.rfind("nexting", 0), std::string::npos) << name << ": a callback-API thread";
    EXPECT_EQ(name.rfind("grpcpp_sync", 0), std::string::npos) << name << ": a sync-API thread";
    if (name.rfind("mixs-grpc-", 0) == 0) on_queues += t;
  }
  EXPECT_GT(on_queues, 0);  // 1,000 Checks' policy and answers ran there
}

TEST_F(MixsTest, MonitoringEndpoints) {
  ASSERT_EQ(mixc({"check", "-s", "destination.service=x"}).first, 0);
  auto [code, body] = httpGet(mixs_->monitoringPort(), "/metrics");
  EXPECT_EQ(code, 200);
  EXPECT_NE(body.find("grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Check\","
                      "grpc_service=\"istio.mixer.v1.Mixer\",grpc_type=\"unary\"} 1"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("grpc_server_handling_seconds_count{grpc_method=\"Check\""),
            std::string::npos);
  std::tie(code, body) = httpGet(mixs_->monitoringPort(), "/healthz");
  EXPECT_EQ(code, 200);
  std::tie(code, body) = httpGet(mixs_->monitoringPort(), "/readyz");
  EXPECT_EQ(code, 200);
  std::tie(code, body) = httpGet(mixs_->monitoringPort(), "/version");
  EXPECT_EQ(code, 200);
  EXPECT_NE(body.find("\"api\":\"istio.mixer.v1\""), std::string::npos) << body;
  std::tie(code, body) = httpGet(mixs_->monitoringPort(), "/nope");
  EXPECT_EQ(code, 404);
}

// `make run` + `mixc report` shows Istio's standard metrics: the embedded configuration's
// prometheus handler counts every reported request by its standard labels.
TEST_F(MixsTest, EmbeddedConfigurationServesTheStandardMetrics) {
  ASSERT_TRUE(mixs_->waitForPrometheus()) << mixs_->output();
  const int port = mixs_->prometheusPort();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(mixc({"report", "-s",
                    "destination.service.host=reviews.default.svc.cluster.local,"
                    "context.protocol=http",
                    "-i", "response.code=503,request.size=300"})
                  .first,
              0);
  }
  // Reports are delivered off the request thread: wait for the third.
  std::string line;
  for (int attempt = 0; attempt < 100 && line.empty(); ++attempt) {
    auto [code, body] = httpGet(port, "/metrics");
    ASSERT_EQ(code, 200);
    std::istringstream in(body);
    for (std::string l; std::getline(in, l);) {
      if (l.rfind("istio_requests_total{", 0) == 0 &&
          l.find("destination_service=\"reviews.default.svc.cluster.local\"") !=
              std::string::npos &&
          l.find("response_code=\"503\"") != std::string::npos &&
          l.find("request_protocol=\"http\"") != std::string::npos &&
          l.substr(l.rfind(' ') + 1) == "3") {
        line = l;
      }
    }
    if (line.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  EXPECT_FALSE(line.empty()) << httpGet(port, "/metrics").second;
  const std::string body = httpGet(port, "/metrics").second;
  EXPECT_NE(body.find("istio_request_bytes_sum{"), std::string::npos);
  EXPECT_NE(body.find("istio_request_duration_seconds_bucket{"), std::string::npos);
  EXPECT_NE(body.find("istio_response_bytes_count{"), std::string::npos);
}

// Validation creates no handler: a prometheus handler whose port is taken is still valid.
TEST_F(MixsTest, ValidateStartsNoHandler) {
  const std::string dir = ::testing::TempDir() + "/mixs-validate-noports";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/prom.yaml") << "apiVersion: config.istio.io/v1alpha2\n"
                                       "kind: prometheus\n"
                                       "metadata: {name: handler, namespace: istio-system}\n"
                                       "spec:\n"
                                       "  address: \"127.0.0.1:"
                                    << mixs_->monitoringPort() << "\"\n"
                                    << "  metrics:\n"
                                       "  - {name: c, instance_name: c.metric.istio-system, kind: "
                                       "COUNTER}\n";
  const auto [code, out] = runCommand({binDir() + "/mixs", "validate", dir});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("valid: 1 files, 1 documents, 0 rules, 1 handlers"), std::string::npos) << out;
  std::filesystem::remove_all(dir);
}

TEST_F(MixsTest, SigtermStopsGracefullyUnderLoad) {
  Subprocess load;
  ASSERT_TRUE(load.start({binDir() + "/mixc", "check", "-m", mixs_->address(), "-s",
                          "destination.service=x", "--duration", "5s", "-c", "4"}));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const int status = mixs_->stop(SIGTERM);
  ASSERT_TRUE(WIFEXITED(status)) << mixs_->output();
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(mixs_->output().find("received SIGTERM"), std::string::npos);
  EXPECT_NE(mixs_->output().find("mixs: stopped"), std::string::npos);
  load.stop(SIGKILL);
}

TEST(MixsAdaptersTest, ListsTheInTreeAdapters) {
  const auto [code, out] = runCommand({binDir() + "/mixs", "adapters"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("denier"), std::string::npos) << out;
  EXPECT_NE(out.find("check,quota"), std::string::npos) << out;
  EXPECT_NE(out.find("stdio"), std::string::npos) << out;
}

TEST(MixsAdaptersTest, ABadSharedObjectIsReportedAndTheServerStillServes) {
  const std::string dir = ::testing::TempDir() + "/mixs-bad-adapters";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/broken.so") << "not an ELF file";
  Subprocess mixs;
  // The build's adapters too: the embedded configuration uses stdio.
  ASSERT_TRUE(mixs.start({binDir() + "/mixs", "server", "--address", "127.0.0.1:0",
                          "--monitoring-port", "-1", "--prometheus-address", "127.0.0.1:0",
                          "--adapter-dir", dir, "--adapter-dir", binDir() + "/../adapters"}));
  ASSERT_TRUE(mixs.waitFor(R"(API\) on 127\.0\.0\.1:\d+)")) << mixs.output();
  EXPECT_NE(mixs.output().find("broken.so"), std::string::npos) << mixs.output();
  EXPECT_EQ(WEXITSTATUS(mixs.stop(SIGTERM)), 0);
  const auto [code, out] = runCommand({binDir() + "/mixs", "adapters", "--adapter-dir", dir});
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("broken.so"), std::string::npos) << out;
  std::filesystem::remove_all(dir);
}

TEST(MixsFlagsTest, BadFlagsExitWithAClearError) {
  auto [code, out] = runCommand({binDir() + "/mixs", "server", "--address", "nonsense"});
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("--address 'nonsense' is not host:port"), std::string::npos) << out;
  std::tie(code, out) =
      runCommand({binDir() + "/mixs", "server", "--config-dir", "/nonexistent/dir"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("not a directory"), std::string::npos) << out;
  std::tie(code, out) = runCommand({binDir() + "/mixs", "server", "--log-level", "loud"});
  EXPECT_EQ(code, 2);
}

}  // namespace
}  // namespace mixer
