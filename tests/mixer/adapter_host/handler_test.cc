#include "mixer/adapter_host/handler.h"

#include <chrono>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mixer/adapter_host/loaded_adapter.h"
#include "tests/mixer/adapter_host/test_host.h"

namespace mixer::adapter_host {
namespace {

using testing::fixtureDir;
using ::testing::HasSubstr;
using testing::TestHost;

class HandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::string> errors;
    ASSERT_EQ(host_.registry().loadDirectory(fixtureDir("good"), &errors), 2);
  }

  HandlerPtr handler(const std::string& adapter, AbiValue params) {
    auto loaded = host_.registry().find(adapter);
    EXPECT_NE(loaded, nullptr);
    auto created = loaded->createHandler("h1", params);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? *std::move(created) : nullptr;
  }
  HandlerPtr rawHandler(const std::string& mode, int64_t delay_ms = 0) {
    return handler("raw", AbiValue::map({{"mode", AbiValue::string(mode)},
                                         {"delay_ms", AbiValue::int64(delay_ms)}}));
  }
  static Instance instance(const std::string& value = "") {
    Instance i{"i1.checknothing", "checknothing", AbiValue::map()};
    if (!value.empty()) {
      i.fields.set("value", AbiValue::string(value));
    }
    return i;
  }
  // Waits until `predicate` holds or 5 s pass.
  template <class P>
  static bool eventually(P predicate) {
    for (int i = 0; i < 500 && !predicate(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return predicate();
  }

  TestHost host_;
};

TEST_F(HandlerTest, CheckCarriesTheInstanceAndReturnsTheAdaptersVerdict) {
  HandlerPtr h = rawHandler("ok");
  auto result = h->checkAndWait(instance("hello"), absl::Seconds(2));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->status.ok());
  EXPECT_EQ(result->status.message(), "");  // OK statuses carry no message in absl
  EXPECT_EQ(result->valid_duration, absl::Seconds(7));
  EXPECT_EQ(result->valid_use_count, 3);
}

TEST_F(HandlerTest, SdkAdapterVerdictAndAdapterCounter) {
  HandlerPtr h = handler("sdkkit", AbiValue::map());
  auto result = h->checkAndWait(instance(), absl::Seconds(2));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(std::string(result->status.message()), "kit says no to checknothing");
  EXPECT_EQ(result->valid_duration, absl::Microseconds(1));
  EXPECT_EQ(result->valid_use_count, 2);
  h->checkAndWait(instance(), absl::Seconds(2)).IgnoreError();
  EXPECT_EQ(host_.counters().value("mixer_adapter_sdkkit_checks_total", {{"adapter", "sdkkit"}}),
            2);
}

// ABI 1.2 through the C++ SDK: the generator's outputs cross back as a map of typed values; an
// exception becomes an error result.
TEST_F(HandlerTest, SdkGeneratorAnswersItsOutputs) {
  HandlerPtr h = handler("sdkkit", AbiValue::map());
  Instance in{"attributes.kubernetes", "kubernetes",
              AbiValue::map({{"source_uid", AbiValue::string("kubernetes://a.b")}})};
  EncodedInstance encoded(in);
  auto outputs = h->generateAndWait(*encoded.get(), absl::Seconds(2));
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  ASSERT_NE(outputs->find("source_workload_name"), nullptr);
  EXPECT_EQ(outputs->find("source_workload_name")->stringValue(), "kit-kubernetes://a.b");
  ASSERT_NE(outputs->find("source_labels"), nullptr);
  EXPECT_EQ(outputs->find("source_labels")->type(), MIXER_VALUE_STRING_MAP);
  EXPECT_EQ(outputs->find("source_labels")->find("app")->stringValue(), "kit");
  EXPECT_EQ(outputs->find("destination_port_seen")->int64Value(), 1);

  HandlerPtr failing = handler("sdkkit", AbiValue::map({{"mode", AbiValue::string("throw")}}));
  auto failed = failing->generateAndWait(*encoded.get(), absl::Seconds(2));
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInternal) << failed.status();
  EXPECT_THAT(host_.logs(), ::testing::Contains(HasSubstr("exception in generate")));
}

TEST_F(HandlerTest, QuotaPassesAmountBestEffortAndDeduplicationId) {
  HandlerPtr h = rawHandler("ok");
  auto all = h->quotaAndWait(instance(), AdapterQuotaArgs{10, false, "dedup-1"}, absl::Seconds(2));
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->granted_amount, 10);
  EXPECT_EQ(all->valid_duration, absl::Seconds(1));
  auto half = h->quotaAndWait(instance(), AdapterQuotaArgs{10, true, "dedup-2"}, absl::Seconds(2));
  ASSERT_TRUE(half.ok()) << half.status();
  EXPECT_EQ(half->granted_amount, 5);
  auto denied =
      h->quotaAndWait(instance(), AdapterQuotaArgs{10, false, "deny:req-42"}, absl::Seconds(2));
  ASSERT_TRUE(denied.ok()) << denied.status();
  EXPECT_EQ(denied->status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(std::string(denied->status.message()), "deny:req-42");
  EXPECT_EQ(denied->granted_amount, 0);
}

TEST_F(HandlerTest, ReportSendsTheBatch) {
  HandlerPtr h = rawHandler("ok");
  Instance a = instance("a"), b = instance("b");
  EXPECT_TRUE(h->reportAndWait({&a, &b}, absl::Seconds(2)).ok());
}

// The fixture completes 300 ms late; the host answers at the 50 ms deadline, counts it, and
// ignores (and counts) the late completion without crashing.
TEST_F(HandlerTest, LateCompletionGetsADeadlineErrorAndIsCountedWhenItArrives) {
  HandlerPtr h = rawHandler("late", 300);
  const auto start = std::chrono::steady_clock::now();
  auto result = h->checkAndWait(instance(), absl::Milliseconds(50));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(result.status().message()),
              HasSubstr("adapter 'raw' handler 'h1' check: no result by the deadline"));
  EXPECT_LT(elapsed, std::chrono::milliseconds(250));
  EXPECT_EQ(host_.callErrors("raw", "check", "deadline_exceeded"), 1);
  EXPECT_EQ(host_.callErrors("raw", "check", "late_completion"), 0);
  EXPECT_TRUE(eventually([&] { return host_.callErrors("raw", "check", "late_completion") == 1; }));
}

TEST_F(HandlerTest, CompletionWithinTheDeadlineIsDeliveredOnce) {
  HandlerPtr h = rawHandler("late", 20);
  std::atomic<int> calls{0};
  absl::StatusOr<AdapterCheckResult> seen;
  h->check(instance(), absl::Seconds(2), [&](absl::StatusOr<AdapterCheckResult> r) {
    seen = r;
    ++calls;
  });
  ASSERT_TRUE(eventually([&] { return calls.load() == 1; }));
  ASSERT_TRUE(seen.ok()) << seen.status();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // no deadline answer later
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(host_.callErrors("raw", "check", "deadline_exceeded"), 0);
}

// Calls still out when a handler closes are answered by the adapter before close returns (the
// fixture answers UNAVAILABLE), so neither the host's call state nor the adapter's is left behind:
// under AddressSanitizer a forgotten call is a leak.
TEST_F(HandlerTest, CallsPendingAtCloseAreAnsweredBeforeCloseReturns) {
  HandlerPtr h = rawHandler("late", 60000);
  std::atomic<int> checks{0}, quotas{0};
  absl::StatusOr<AdapterCheckResult> check_seen;
  absl::StatusOr<AdapterQuotaResult> quota_seen;
  h->check(instance(), absl::Seconds(60), [&](absl::StatusOr<AdapterCheckResult> r) {
    check_seen = r;
    ++checks;
  });
  Instance q{"q1.quota", "quota", AbiValue::map()};
  h->quota(q, AdapterQuotaArgs{3, false, "dedup"}, absl::Seconds(60),
           [&](absl::StatusOr<AdapterQuotaResult> r) {
             quota_seen = r;
             ++quotas;
           });
  EXPECT_EQ(checks.load() + quotas.load(), 0);
  h->close();
  EXPECT_EQ(checks.load(), 1);
  EXPECT_EQ(quotas.load(), 1);
  ASSERT_FALSE(check_seen.ok());
  EXPECT_EQ(check_seen.status().code(), absl::StatusCode::kUnavailable);
  ASSERT_FALSE(quota_seen.ok());
  EXPECT_EQ(quota_seen.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(HandlerTest, SdkLateCompletionThroughHostTimer) {
  HandlerPtr h = handler("sdkkit", AbiValue::map({{"mode", AbiValue::string("late")},
                                                  {"delay_ms", AbiValue::int64(10)}}));
  auto result = h->checkAndWait(instance(), absl::Seconds(2));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->status.ok());
}

struct InvalidCase {
  std::string mode;
  std::string why;
};

class InvalidResultTest : public HandlerTest, public ::testing::WithParamInterface<InvalidCase> {};

// Invalid adapter results become an INTERNAL error for that call and a counter, not a crash.
TEST_P(InvalidResultTest, BecomesAnErrorAndACounter) {
  HandlerPtr h = rawHandler(GetParam().mode);
  auto result = h->checkAndWait(instance(), absl::Seconds(2));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr(GetParam().why));
  EXPECT_EQ(host_.callErrors("raw", "check", "invalid_result"), 1);
}

INSTANTIATE_TEST_SUITE_P(
    Modes, InvalidResultTest,
    ::testing::Values(InvalidCase{"bad_code", "invalid result: unknown status code 99"},
                      InvalidCase{"null_result", "invalid result: null result"},
                      InvalidCase{"small_struct", "result struct_size 4 is too small"},
                      InvalidCase{"negative", "negative valid_duration"},
                      InvalidCase{"unknown_rc", "unknown result code 42"}),
    [](const auto& info) { return info.param.mode; });

TEST_F(HandlerTest, InvalidQuotaGrantsAreErrors) {
  auto over = rawHandler("over_grant")
                  ->quotaAndWait(instance(), AdapterQuotaArgs{4, false, ""}, absl::Seconds(2));
  ASSERT_FALSE(over.ok());
  EXPECT_THAT(std::string(over.status().message()), HasSubstr("granted 5 of a request for 4"));
  auto partial = rawHandler("partial")->quotaAndWait(instance(), AdapterQuotaArgs{4, false, ""},
                                                     absl::Seconds(2));
  ASSERT_FALSE(partial.ok());
  EXPECT_THAT(std::string(partial.status().message()), HasSubstr("without best_effort"));
  auto null = rawHandler("null_result")
                  ->quotaAndWait(instance(), AdapterQuotaArgs{4, false, ""}, absl::Seconds(2));
  ASSERT_FALSE(null.ok());
  EXPECT_EQ(host_.callErrors("raw", "quota", "invalid_result"), 3);
}

TEST_F(HandlerTest, InvalidReportStatusIsAnError) {
  Instance a = instance();
  absl::Status status = rawHandler("bad_code")->reportAndWait({&a}, absl::Seconds(2));
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(host_.callErrors("raw", "report", "invalid_result"), 1);
}

TEST_F(HandlerTest, HookRejectionIsAnAdapterError) {
  auto result = rawHandler("reject")->checkAndWait(instance(), absl::Seconds(2));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(host_.callErrors("raw", "check", "adapter_error"), 1);
}

// The SDK catches the exception at the ABI border and completes the call with an error.
TEST_F(HandlerTest, SdkTurnsAnExceptionIntoAnErrorResult) {
  HandlerPtr h = handler("sdkkit", AbiValue::map({{"mode", AbiValue::string("throw")}}));
  auto result = h->checkAndWait(instance(), absl::Seconds(2));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(host_.logs(), ::testing::Contains(HasSubstr("exception in check: kaboom")));
}

// A handler that drops its completion still answers (with an error) instead of hanging.
TEST_F(HandlerTest, SdkAnswersADroppedCompletion) {
  HandlerPtr h = handler("sdkkit", AbiValue::map({{"mode", AbiValue::string("drop")}}));
  const auto start = std::chrono::steady_clock::now();
  auto result = h->checkAndWait(instance(), absl::Seconds(5));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST_F(HandlerTest, UnservedKindAndClosedHandler) {
  HandlerPtr h = handler("sdkkit", AbiValue::map());
  const Instance log = instance();
  const absl::Status report = h->reportAndWait({&log}, absl::Seconds(1));
  EXPECT_EQ(report.code(), absl::StatusCode::kUnimplemented);
  h->close();
  h->close();  // idempotent
  auto check = h->checkAndWait(instance(), absl::Seconds(1));
  EXPECT_EQ(check.status().code(), absl::StatusCode::kFailedPrecondition);
}

// When sdkkit granted a quota call: its valid duration says.
std::string whenGranted(const absl::StatusOr<AdapterQuotaResult>& r) {
  if (!r.ok()) return r.status().ToString();
  if (r->valid_duration == absl::Microseconds(1)) return "at once";
  if (r->valid_duration == absl::Microseconds(2)) return "at flush";
  if (r->valid_duration == absl::Microseconds(3)) return "at close";
  return "unexpected";
}

// ABI 1.3: in a FlushScope, a quota call to an adapter with a `flush` hook carries
// MIXER_CALL_FLUSHED_LATER, and the scope's flush() runs the hook once for the pass.
TEST_F(HandlerTest, QuotaCallsInAFlushScopeWaitForItsFlush) {
  HandlerPtr h = handler("sdkkit", AbiValue::map());
  Instance q{"q1.quota", "quota", AbiValue::map()};
  std::vector<std::string> answers;  // this thread's: every answer here comes on it
  auto record = [&](absl::StatusOr<AdapterQuotaResult> r) { answers.push_back(whenGranted(r)); };
  h->quota(q, AdapterQuotaArgs{1, false, "a"}, absl::Seconds(60), record);
  EXPECT_THAT(answers, ::testing::ElementsAre("at once"));  // no scope: no flag
  answers.clear();
  {
    FlushScope scope;
    EXPECT_EQ(FlushScope::current(), &scope);
    EXPECT_FALSE(scope.pending());
    h->quota(q, AdapterQuotaArgs{2, false, "b"}, absl::Seconds(60), record);
    h->quota(q, AdapterQuotaArgs{3, false, "c"}, absl::Seconds(60), record);
    EXPECT_TRUE(answers.empty());
    EXPECT_TRUE(scope.pending());
    scope.flush();
    EXPECT_THAT(answers, ::testing::ElementsAre("at flush", "at flush"));
    EXPECT_FALSE(scope.pending());
    EXPECT_EQ(host_.counters().value("mixer_adapter_sdkkit_flushes_total", {{"adapter", "sdkkit"}}),
              1);
    // A thread that waits for a call's result flushes its held calls first.
    auto waited = h->quotaAndWait(q, AdapterQuotaArgs{4, false, "d"}, absl::Seconds(5));
    ASSERT_TRUE(waited.ok()) << waited.status();
    EXPECT_EQ(whenGranted(waited), "at flush");
    EXPECT_EQ(waited->granted_amount, 4);
    EXPECT_EQ(host_.counters().value("mixer_adapter_sdkkit_flushes_total", {{"adapter", "sdkkit"}}),
              2);
    answers.clear();
    scope.flush();  // nothing pending: no hook call
    h->quota(q, AdapterQuotaArgs{5, false, "e"}, absl::Seconds(60), record);
  }  // the scope's end flushes
  EXPECT_THAT(answers, ::testing::ElementsAre("at flush"));
  EXPECT_EQ(host_.counters().value("mixer_adapter_sdkkit_flushes_total", {{"adapter", "sdkkit"}}),
            3);
  EXPECT_EQ(FlushScope::current(), nullptr);
}

// A handler closed after its call joined a scope is not flushed by it: close_handler answered
// the held call, and the adapter gets no hook call on a closed handler.
TEST_F(HandlerTest, AFlushScopeSkipsAHandlerClosedSinceItsCall) {
  HandlerPtr h = handler("sdkkit", AbiValue::map());
  Instance q{"q1.quota", "quota", AbiValue::map()};
  std::vector<std::string> answers;
  FlushScope scope;
  h->quota(q, AdapterQuotaArgs{1, false, "a"}, absl::Seconds(60),
           [&](absl::StatusOr<AdapterQuotaResult> r) { answers.push_back(whenGranted(r)); });
  h.reset();  // closes the handler; the scope still holds its flush site
  EXPECT_THAT(answers, ::testing::ElementsAre("at close"));
  scope.flush();
  EXPECT_EQ(host_.counters().value("mixer_adapter_sdkkit_flushes_total", {{"adapter", "sdkkit"}}),
            0);
  EXPECT_FALSE(scope.pending());
}

TEST_F(HandlerTest, ValidationReportsEveryErrorWithItsParamPath) {
  auto kit = host_.registry().find("sdkkit");
  AbiValue params =
      AbiValue::map({{"mode", AbiValue::string("sideways")},
                     {"delay_ms", AbiValue::string("soon")},
                     {"limits", AbiValue::list({AbiValue::map({{"max", AbiValue::int64(5)}}),
                                                AbiValue::map({{"max", AbiValue::int64(500)}})})},
                     {"colour", AbiValue::string("blue")}});
  std::vector<std::string> errors;
  for (const ParamError& e : kit->validateParams(params)) {
    errors.push_back(e.toString());
  }
  EXPECT_THAT(errors,
              ::testing::UnorderedElementsAre(
                  "params.colour: unknown field 'colour'", "params.mode: unknown mode 'sideways'",
                  "params.delay_ms: expected an integer, got string",
                  "params.limits[1].max: must be between 0 and 100, got 500"));
  auto created = kit->createHandler("bad", params);
  ASSERT_FALSE(created.ok());
  EXPECT_THAT(std::string(created.status().message()),
              HasSubstr("handler 'bad' (adapter 'sdkkit'): invalid params:\n"));
  EXPECT_THAT(std::string(created.status().message()),
              HasSubstr("params.mode: unknown mode 'sideways'"));
}

TEST_F(HandlerTest, AThrowingValidatorIsAnErrorNotACrash) {
  auto errors = host_.registry().find("sdkkit")->validateParams(
      AbiValue::map({{"explode", AbiValue::boolean(true)}}));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].toString(), "params: the adapter failed while validating its params");
}

TEST_F(HandlerTest, ManyConcurrentCallsEachCompleteOnce) {
  HandlerPtr h = rawHandler("ok");
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        h->check(instance("x"), absl::Seconds(5), [&](absl::StatusOr<AdapterCheckResult> r) {
          if (r.ok()) {
            ++ok;
          }
        });
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(ok.load(), 2000);
}

}  // namespace
}  // namespace mixer::adapter_host
