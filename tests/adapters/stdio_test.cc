// The stdio adapter, loaded from the build's adapter folder like any third-party adapter.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mixer/adapter_host/adapter_registry.h"
#include "mixer/adapter_host/host_services.h"
#include "mixer/adapter_host/yaml_params.h"

namespace mixer::adapter_host {
namespace {

using ::testing::ElementsAre;
using ::testing::MatchesRegex;

class StdioTest : public ::testing::Test {
 protected:
  StdioTest() : services_(&counters_, &executor_, nullptr), registry_(&services_) {}
  ~StdioTest() override { executor_.shutdown(); }

  void SetUp() override {
    ASSERT_TRUE(registry_.loadFile(std::string(ADAPTER_DIR) + "/stdio.so").ok());
    stdio_ = registry_.find("stdio");
    ASSERT_NE(stdio_, nullptr);
    dir_ = std::filesystem::temp_directory_path() /
           ("stdio_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "out.log").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static AbiValue yaml(const std::string& text) {
    std::vector<ParamError> errors;
    AbiValue v = valueFromYaml(YAML::Load(text), "params", &errors);
    EXPECT_TRUE(errors.empty());
    return v;
  }
  HandlerPtr handler(const std::string& params_yaml) {
    auto created = stdio_->createHandler("log", yaml(params_yaml));
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? *std::move(created) : nullptr;
  }
  std::vector<std::string> lines() const {
    std::ifstream in(path_);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
      out.push_back(line);
    }
    return out;
  }
  static Instance accessLog(const std::string& severity, const std::string& method) {
    Instance i{"accesslog.logentry", "logentry", AbiValue::map()};
    i.fields.set("severity", AbiValue::string(severity));
    i.fields.set("timestamp", AbiValue::timestampNs(1'700'000'000'500'000'000));
    i.fields.set(
        "variables",
        AbiValue::map({{"method", AbiValue::string(method)},
                       {"code", AbiValue::int64(200)},
                       {"latency", AbiValue::durationNs(1'500'000)},
                       {"source_ip", AbiValue::ipAddress(std::string("\x0a\x00\x00\x01", 4))},
                       {"ok", AbiValue::boolean(true)},
                       {"ratio", AbiValue::float64(0.1)},
                       {"headers", AbiValue::stringMap({{"x-id", "a\"b"}})},
                       {"absent", AbiValue()}}));
    return i;
  }
  std::vector<std::string> errors(const std::string& params_yaml) {
    std::vector<std::string> out;
    for (const ParamError& e : stdio_->validateParams(yaml(params_yaml))) {
      out.push_back(e.toString());
    }
    return out;
  }

  InMemoryCounterRegistry counters_;
  BackgroundExecutor executor_{1};
  HostServices services_;
  AdapterRegistry registry_;
  std::shared_ptr<const LoadedAdapter> stdio_;
  std::filesystem::path dir_;
  std::string path_;
};

constexpr char kGetLine[] =
    R"({"level":"warn","time":"2023-11-14T22:13:20.5Z","instance":"accesslog.logentry",)"
    R"("code":200,"headers":{"x-id":"a\"b"},"latency":"1.5ms","method":"GET","ok":true,)"
    R"("ratio":0.1,"source_ip":"10.0.0.1"})";

TEST_F(StdioTest, WritesLogEntriesAsJsonLinesToAFile) {
  HandlerPtr h = handler("log_stream: FILE\noutput_path: " + path_);
  Instance get = accessLog("warning", "GET"), post = accessLog("ERROR", "POST");
  ASSERT_TRUE(h->reportAndWait({&get, &post}, absl::Seconds(1)).ok());
  h->close();
  std::vector<std::string> out = lines();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], kGetLine);
  EXPECT_THAT(out[1], MatchesRegex(R"(\{"level":"error",.*"method":"POST".*\})"));
}

// Keys are written sorted whatever the instance's order, also when instances with other keys
// (or the same keys in another order) alternate in one batch.
TEST_F(StdioTest, SortsKeysOfEveryInstanceInABatch) {
  HandlerPtr h = handler("log_stream: FILE\noutput_path: " + path_);
  auto entry = [](std::vector<std::pair<std::string, AbiValue>> vars) {
    Instance i{"e.logentry", "logentry", AbiValue::map()};
    i.fields.set("severity", AbiValue::string("info"));
    i.fields.set("timestamp", AbiValue::timestampNs(0));
    i.fields.set("variables", AbiValue::map(std::move(vars)));
    return i;
  };
  Instance a = entry({{"b", AbiValue::int64(2)}, {"a", AbiValue::int64(1)}});
  Instance b =
      entry({{"z", AbiValue::int64(26)}, {"c", AbiValue::int64(3)}, {"m", AbiValue::int64(13)}});
  Instance c = entry({{"a", AbiValue::int64(1)}, {"b", AbiValue::int64(2)}});
  Instance d = entry({{"y", AbiValue::int64(25)}, {"x", AbiValue::int64(24)}});
  ASSERT_TRUE(h->reportAndWait({&a, &b, &a, &c, &d, &b}, absl::Seconds(1)).ok());
  h->close();
  std::vector<std::string> keys;
  for (const std::string& line : lines()) {
    const size_t at = line.find(R"("instance":"e.logentry",)");
    ASSERT_NE(at, std::string::npos) << line;
    keys.push_back(line.substr(at + 24));
  }
  EXPECT_THAT(keys, ElementsAre(R"("a":1,"b":2})", R"("c":3,"m":13,"z":26})", R"("a":1,"b":2})",
                                R"("a":1,"b":2})", R"("x":24,"y":25})", R"("c":3,"m":13,"z":26})"));
}

// Maps nested deeper than the levels that keep their key order per thread are still written
// whole and sorted at every level.
TEST_F(StdioTest, SortsKeysOfDeeplyNestedMaps) {
  HandlerPtr h = handler("log_stream: FILE\noutput_path: " + path_);
  AbiValue inner = AbiValue::string("leaf");
  std::string want = "\"leaf\"";
  for (int level = 11; level >= 0; --level) {  // levels of 2 and of 3 keys, alternating
    const std::string n = std::to_string(level);
    if (level % 2 == 0) {
      inner = AbiValue::map({{"z", AbiValue::int64(level)}, {"a", std::move(inner)}});
      want = "{\"a\":" + want + ",\"z\":" + n + "}";
    } else {
      inner = AbiValue::map(
          {{"y", AbiValue::int64(level)}, {"m", std::move(inner)}, {"c", AbiValue::string(n)}});
      want = "{\"c\":\"" + n + "\",\"m\":" + want + ",\"y\":" + n + "}";
    }
  }
  Instance i{"n.logentry", "logentry", AbiValue::map()};
  i.fields.set("severity", AbiValue::string("info"));
  i.fields.set("timestamp", AbiValue::timestampNs(0));
  i.fields.set("variables", AbiValue::map({{"m", std::move(inner)}, {"b", AbiValue::int64(1)}}));
  ASSERT_TRUE(h->reportAndWait({&i}, absl::Seconds(1)).ok());
  h->close();
  ASSERT_EQ(lines().size(), 1u);
  EXPECT_EQ(lines()[0], R"({"level":"info","time":"1970-01-01T00:00:00Z","instance":"n.logentry",)"
                        R"("b":1,"m":)" +
                            want + "}");
}

// Timestamps print as Go's RFC3339Nano does, across the calendar: before the epoch, leap days,
// centuries, and the trimmed fraction.
TEST_F(StdioTest, PrintsTimestampsInRfc3339NanoAcrossTheCalendar) {
  HandlerPtr h = handler("log_stream: FILE\noutput_path: " + path_);
  Instance i{"t.logentry", "logentry", AbiValue::map()};
  i.fields.set("severity", AbiValue::string("info"));
  i.fields.set("timestamp", AbiValue::timestampNs(0));
  i.fields.set(
      "variables",
      AbiValue::map({{"a", AbiValue::timestampNs(-1)},
                     {"b", AbiValue::timestampNs(951'782'400'000'001'000)},     // 2000-02-29
                     {"c", AbiValue::timestampNs(-2'208'988'800'000'000'000)},  // 1900-01-01
                     {"d", AbiValue::timestampNs(4'107'542'399'120'000'000)},   // 2100-02-28
                     {"e", AbiValue::timestampNs(INT64_MAX)}}));
  ASSERT_TRUE(h->reportAndWait({&i}, absl::Seconds(1)).ok());
  h->close();
  ASSERT_EQ(lines().size(), 1u);
  EXPECT_EQ(lines()[0], R"({"level":"info","time":"1970-01-01T00:00:00Z","instance":"t.logentry",)"
                        R"("a":"1969-12-31T23:59:59.999999999Z","b":"2000-02-29T00:00:00.000001Z",)"
                        R"("c":"1900-01-01T00:00:00Z","d":"2100-02-28T23:59:59.12Z",)"
                        R"("e":"2262-04-11T23:47:16.854775807Z"})");
}

TEST_F(StdioTest, PrintsIpv4InIpv6FormDottedAndIpv6AsIs) {
  HandlerPtr h = handler("log_stream: FILE\noutput_path: " + path_);
  Instance i{"accesslog.logentry", "logentry", AbiValue::map()};
  i.fields.set("severity", AbiValue::string("info"));
  i.fields.set("variables",
               AbiValue::map({{"mapped", AbiValue::ipAddress(std::string(
                                             "\0\0\0\0\0\0\0\0\0\0\xff\xff\x0a\x00\x00\x02", 16))},
                              {"v6", AbiValue::ipAddress(std::string(
                                         "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16))}}));
  ASSERT_TRUE(h->reportAndWait({&i}, absl::Seconds(1)).ok());
  h->close();
  std::vector<std::string> out = lines();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_THAT(out[0], MatchesRegex(R"(.*"mapped":"10\.0\.0\.2".*"v6":"2001:db8::1".*)"));
}

TEST_F(StdioTest, WritesMetricsWithTheirValueAndDimensions) {
  HandlerPtr h = handler("log_stream: FILE\noutput_path: " + path_ + "\nmetric_level: WARNING");
  Instance metric{"requestcount.metric", "metric", AbiValue::map()};
  metric.fields.set("value", AbiValue::int64(1));
  metric.fields.set("dimensions", AbiValue::map({{"destination", AbiValue::string("reviews")}}));
  ASSERT_TRUE(h->reportAndWait({&metric}, absl::Seconds(1)).ok());
  h->close();
  EXPECT_THAT(lines(),
              ElementsAre(MatchesRegex(
                  R"(\{"level":"warn","time":"20[0-9-]+T[0-9:.]+Z",)"
                  R"("instance":"requestcount.metric","value":1,"destination":"reviews"\})")));
}

TEST_F(StdioTest, WritesTextLinesWhenNotJson) {
  HandlerPtr h = handler("log_stream: FILE\noutput_as_json: false\noutput_path: " + path_);
  Instance get = accessLog("info", "GET");
  ASSERT_TRUE(h->reportAndWait({&get}, absl::Seconds(1)).ok());
  h->close();
  ASSERT_EQ(lines().size(), 1u);
  EXPECT_THAT(lines()[0], MatchesRegex("2023-11-14T22:13:20.5Z\tinfo\taccesslog.logentry\t"
                                       R"(\{"code":200,.*"source_ip":"10.0.0.1"\})"));
}

TEST_F(StdioTest, FiltersBySeverityWithConfiguredLevels) {
  HandlerPtr h = handler("log_stream: FILE\noutput_level: WARNING\noutput_path: " + path_ +
                         "\nseverity_levels: {loud: ERROR}");
  Instance info = accessLog("info", "INFO"), unknown = accessLog("chatty", "UNKNOWN"),
           loud = accessLog("loud", "LOUD"), warn = accessLog("WARN", "WARN");
  ASSERT_TRUE(h->reportAndWait({&info, &unknown, &loud, &warn}, absl::Seconds(1)).ok());
  h->close();
  EXPECT_THAT(lines(), ElementsAre(MatchesRegex(R"(\{"level":"error".*"method":"LOUD".*)"),
                                   MatchesRegex(R"(\{"level":"warn".*"method":"WARN".*)")));
}

// Writes happen off the request path: the lines reach the file from the host's executor without
// a close, and close() flushes whatever is still buffered.
TEST_F(StdioTest, FlushesInTheBackgroundAndOnClose) {
  HandlerPtr h = handler("log_stream: FILE\noutput_path: " + path_);
  Instance get = accessLog("info", "GET");
  ASSERT_TRUE(h->reportAndWait({&get}, absl::Seconds(1)).ok());
  for (int i = 0; i < 200 && lines().size() < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(lines().size(), 1u);
  std::vector<const Instance*> batch(500, &get);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(h->reportAndWait(batch, absl::Seconds(1)).ok());
  }
  h->close();
  EXPECT_EQ(lines().size(), 5001u);
}

// ROTATED_FILE: a full file is renamed <stem>-<time>.<ext>, and only max_rotated_files remain.
TEST_F(StdioTest, RotatesFilesBySizeAndKeepsTheNewestBackups) {
  HandlerPtr h = handler("log_stream: ROTATED_FILE\noutput_path: " + path_ +
                         "\nmax_megabytes_before_rotation: 1\nmax_rotated_files: 2");
  Instance get = accessLog("info", "GET");
  const size_t line_bytes = std::string(kGetLine).size() + 1;  // "warn" vs "info": same length
  const std::vector<const Instance*> batch(1000, &get);        // ~0.2 MB per report
  const size_t total_lines = 20 * batch.size();                // ~4 MB: 3 rotations or more
  // No pause between reports: the writer gets chunks larger than the limit and must split them.
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(h->reportAndWait(batch, absl::Seconds(1)).ok());
  }
  h->close();
  std::vector<std::string> backups;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    const std::string name = entry.path().filename().string();
    if (name != "out.log") {
      backups.push_back(name);
      EXPECT_THAT(name, MatchesRegex(R"(out-20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}-[0-9]{2}-)"
                                     R"([0-9]{2}\.[0-9]{9}\.log)"));
      EXPECT_LE(std::filesystem::file_size(entry.path()), 1u << 20);
    }
  }
  EXPECT_EQ(backups.size(), 2u);
  EXPECT_LE(std::filesystem::file_size(path_), 1u << 20);
  EXPECT_LT(lines().size(), total_lines);  // older lines went with the deleted backups
  EXPECT_EQ(lines().size() * line_bytes, std::filesystem::file_size(path_));
}

TEST_F(StdioTest, WritesToStdout) {
  const std::string captured = (dir_ / "stdout").string();
  std::fflush(stdout);
  const int saved = ::dup(STDOUT_FILENO);
  FILE* file = std::fopen(captured.c_str(), "w");
  ASSERT_NE(file, nullptr);
  ::dup2(::fileno(file), STDOUT_FILENO);
  {
    HandlerPtr h = handler("log_stream: STDOUT");
    Instance get = accessLog("warning", "GET");
    EXPECT_TRUE(h->reportAndWait({&get}, absl::Seconds(1)).ok());
    h->close();
  }
  ::dup2(saved, STDOUT_FILENO);
  ::close(saved);
  std::fclose(file);
  std::ifstream in(captured);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line, kGetLine);
}

TEST_F(StdioTest, ValidationReportsEveryErrorWithItsPath) {
  EXPECT_THAT(errors("log_stream: FILE"),
              ElementsAre("params.output_path: need a valid output path when using a FILE or "
                          "ROTATED_FILE log stream"));
  EXPECT_THAT(errors("log_stream: STDERR\noutput_path: /tmp/x"),
              ElementsAre("params.output_path: cannot specify an output path with a STDOUT or "
                          "STDERR log stream"));
  EXPECT_THAT(errors("log_stream: SOCKET\noutput_as_json: maybe\nseverity_levels: {loud: SHOUT}\n"
                     "colour: red"),
              ElementsAre("params.colour: unknown field 'colour'",
                          "params.log_stream: expected one of STDOUT, STDERR, FILE, ROTATED_FILE",
                          "params.output_as_json: expected true or false",
                          "params.severity_levels.loud: expected one of INFO, WARNING, ERROR"));
  EXPECT_THAT(errors("log_stream: ROTATED_FILE\nmax_megabytes_before_rotation: 0"),
              ElementsAre("params.output_path: need a valid output path when using a FILE or "
                          "ROTATED_FILE log stream",
                          "params.max_megabytes_before_rotation: must be between 1 and "
                          "9223372036854775807, got 0"));
  EXPECT_TRUE(errors("log_stream: 1\noutput_level: ERROR\nmax_rotated_files: 10").empty());
  // Istio's default config, with its 100 * 1024 * 1024 "megabytes", loads.
  EXPECT_TRUE(errors("log_stream: ROTATED_FILE\noutput_path: /tmp/x\n"
                     "max_megabytes_before_rotation: 104857600\nmax_days_before_rotation: 30\n"
                     "max_rotated_files: 1000")
                  .empty());
}

}  // namespace
}  // namespace mixer::adapter_host
