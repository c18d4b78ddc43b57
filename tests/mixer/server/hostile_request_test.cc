// Requests built to be expensive: every name, map key or word distinct. Decoding must stay linear
// in the request's size (CPU for 4N distinct items well under 16 times that for N), requests over
// a limit are refused with a reason naming the limit and its flag, and calls whose deadline has
// passed stop after decoding.
#include <gtest/gtest.h>
#include <time.h>

#include <algorithm>
#include <functional>

#include "mixer/server/mixer_service.h"
#include "tests/testing/hostile_requests.h"

namespace mixer::server {
namespace {

using namespace mixer::testing;

double threadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double cpuOf(const std::function<void()>& fn) {
  const double start = threadCpuSeconds();
  fn();
  return threadCpuSeconds() - start;
}

api::DecodeLimits unlimited() {
  api::DecodeLimits l;
  l.max_attributes = l.max_string_map_entries = l.max_words = l.max_report_records = l.max_quotas =
      100000000;
  return l;
}

class HostileRequestTest : public ::testing::Test {
 protected:
  HostileRequestTest()
      : source_(std::make_shared<runtime::Dispatcher>(
            runtime::ConfigSnapshot::empty(attribute::Vocabulary::builtin()), nullptr)),
        defaults_(&source_, &metrics_, 64 << 20),
        unlimited_(&source_, &metrics_, 64 << 20, unlimited()) {}

  grpc::Status check(MixerService& service, const std::string& bytes,
                     const MixerService::CallControl& call = {}) {
    std::string out;
    return service.checkInProcess(bytes, &out, call);
  }

  // CPU(8N) / CPU(N) for a request shape: linear is about 8 (up to about 12 when the larger
  // request's tables no longer fit the caches), quadratic about 64. The tests' bound, 24, sits
  // between the two on a log scale, with room for a disturbed run on a shared box.
  double growth(const std::function<std::string(size_t)>& shape, size_t n, bool report = false) {
    const std::string small = shape(n), large = shape(8 * n);
    auto run = [&](const std::string& bytes) {
      const grpc::Status s = report ? unlimited_.reportInProcess(bytes) : check(unlimited_, bytes);
      ASSERT_TRUE(s.ok()) << s.error_message();
    };
    // The least of five runs each (the least disturbed), alternating so that both sizes see the
    // same machine: other processes on a shared box slow runs down, never speed them up.
    double t1 = 1e9, t4 = 1e9;
    for (int i = 0; i < 5; ++i) {
      t1 = std::min(t1, cpuOf([&] { run(small); }));
      t4 = std::min(t4, cpuOf([&] { run(large); }));
    }
    std::printf("%zu items: %.3f ms, %zu items: %.3f ms, ratio %.1f\n", n, t1 * 1e3, 8 * n,
                t4 * 1e3, t4 / t1);
    return t4 / t1;
  }

  ServerMetrics metrics_;
  runtime::FixedDispatcherSource source_;
  MixerService defaults_;
  MixerService unlimited_;
};

TEST_F(HostileRequestTest, DistinctNamesDecodeInLinearTime) {
  EXPECT_LT(growth(distinctNamesCheck, 20000), 24.0);
}

TEST_F(HostileRequestTest, DistinctStringMapKeysDecodeInLinearTime) {
  EXPECT_LT(growth(distinctMapKeysCheck, 20000), 24.0);
}

TEST_F(HostileRequestTest, ReportEntriesSharingManyWordsDecodeInLinearTime) {
  EXPECT_LT(growth([](size_t n) { return sharedWordsReport(n, n); }, 20000, true), 24.0);
}

TEST_F(HostileRequestTest, DistinctQuotasAreBoundedByTheirLimit) {
  // Repeated quota names are merged by scanning the earlier ones, which the limit keeps cheap.
  const auto s = check(defaults_, distinctQuotasCheck(10000));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("--max-quotas-per-check"), std::string::npos);
}

// The shape of the reported incident: a ~1 MiB Check of 54,000 distinct names is answered at
// once, with the limit's error.
TEST_F(HostileRequestTest, MegabyteOfDistinctNamesIsRefusedQuicklyByTheAttributeLimit) {
  const std::string bytes = distinctNamesCheck(54000);
  ASSERT_GT(bytes.size(), 900u * 1024);
  const double start = threadCpuSeconds();
  const auto s = check(defaults_, bytes);
  const double cpu = threadCpuSeconds() - start;
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "attributes of the request: more than 4096, the limit set by "
            "--max-attributes-per-request");
  EXPECT_LT(cpu, 0.2) << "seconds of CPU";
}

TEST_F(HostileRequestTest, EachLimitJustOverIsInvalidArgumentNamingItsFlag) {
  api::DecodeLimits small;
  small.max_attributes = 10;
  small.max_string_map_entries = 10;
  small.max_words = 20;
  small.max_report_records = 10;
  small.max_quotas = 10;
  MixerService service(&source_, &metrics_, 1 << 20, small);
  struct Case {
    std::string bytes;
    bool report;
    std::string message;
  };
  const std::vector<Case> cases = {
      {distinctNamesCheck(11), false,
       "attributes of the request: more than 10, the limit set by --max-attributes-per-request"},
      {distinctMapKeysCheck(11), false,
       "entries of attribute 'request.headers': more than 10, the limit set by "
       "--max-string-map-entries"},
      {distinctWordsCheck(21), false,
       "words of the request: more than 20, the limit set by --max-words-per-request"},
      {sharedWordsReport(21, 1), true,
       "default_words of the Report: more than 20, the limit set by --max-words-per-request"},
      {sharedWordsReport(1, 11), true,
       "entries of the Report: more than 10, the limit set by --max-report-records"},
      {distinctQuotasCheck(11), false,
       "quotas of the Check: more than 10, the limit set by --max-quotas-per-check"},
  };
  for (const auto& c : cases) {
    const auto s = c.report ? service.reportInProcess(c.bytes) : check(service, c.bytes);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.message;
    EXPECT_EQ(s.error_message(), c.message);
  }
  // At the limits: accepted.
  EXPECT_TRUE(check(service, distinctNamesCheck(10)).ok());
  EXPECT_TRUE(check(service, distinctMapKeysCheck(10)).ok());
  EXPECT_TRUE(check(service, distinctWordsCheck(20)).ok());
  EXPECT_TRUE(service.reportInProcess(sharedWordsReport(20, 10)).ok());
  EXPECT_TRUE(check(service, distinctQuotasCheck(10)).ok());
}

TEST_F(HostileRequestTest, RepeatedMapKeysStillReplaceEarlierValuesBeyondTheScannedSize) {
  // 40 keys then the same 40 again with other values: the second value of each key wins and the
  // map keeps 40 entries in first-seen order.
  attribute::AttributeBag bag(attribute::Vocabulary::builtin());
  WireBuilder attrs;
  attrs.lenField(1, "request.headers");
  WireBuilder map;
  for (int i = 0; i < 80; ++i) {
    attrs.lenField(1, distinctWord(i));
  }
  for (int i = 0; i < 80; ++i) {
    map.lenField(1, sintEntry(-(i % 40) - 2, -i - 2));
  }
  attrs.lenField(9, lenEntry(-1, map.bytes()));
  std::vector<std::string_view> words;
  ASSERT_TRUE(api::decodeCompressedAttributes(attrs.bytes(), &words, &bag).ok());
  const attribute::AttributeValue* v = bag.find("request.headers");
  ASSERT_NE(v, nullptr);
  ASSERT_EQ(v->mapSize(), 40u);
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(v->mapBegin()[i].key, distinctWord(i));
    EXPECT_EQ(v->mapBegin()[i].value, distinctWord(i + 40));
  }
}

TEST_F(HostileRequestTest, CallsPastTheirDeadlineStopAfterDecodingAndAreCounted) {
  const MixerService::CallControl late{
      runtime::CallDeadline(std::chrono::system_clock::now() - std::chrono::seconds(1))};
  auto s = check(defaults_, distinctNamesCheck(100), late);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(s.error_message(), "the call's deadline passed; stopped after decoding");
  EXPECT_EQ(metrics_.stoppedAtDeadline(ServerMetrics::kCheck).Value(), 1);

  s = defaults_.reportInProcess(sharedWordsReport(3, 5), late);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(s.error_message(),
            "the call's deadline passed; stopped between entries (0 earlier entries were "
            "accepted)");
  EXPECT_EQ(metrics_.stoppedAtDeadline(ServerMetrics::kReport).Value(), 1);
  EXPECT_EQ(metrics_.reportRecords().Value(), 0);

  // A malformed request is still told what is wrong with it, deadline or not.
  EXPECT_EQ(check(defaults_, distinctQuotasCheck(100), late).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  const MixerService::CallControl in_time{
      runtime::CallDeadline(std::chrono::system_clock::now() + std::chrono::seconds(60))};
  EXPECT_TRUE(check(defaults_, distinctNamesCheck(100), in_time).ok());
  EXPECT_TRUE(defaults_.reportInProcess(sharedWordsReport(3, 5), in_time).ok());
  EXPECT_EQ(metrics_.stoppedAtDeadline(ServerMetrics::kCheck).Value(), 1);
}

}  // namespace
}  // namespace mixer::server
