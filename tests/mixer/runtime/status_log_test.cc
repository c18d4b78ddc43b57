// The status page's request-path records (mixer/runtime/status_log.h): what counts as a secret,
// how a denial is recorded (attributes read, secrets redacted, also out of the reason), and the
// sampler that keeps a flood of denials cheap.
#include "mixer/runtime/status_log.h"

#include <gtest/gtest.h>

#include <thread>

namespace mixer::runtime {
namespace {

using attribute::AttributeBag;
using attribute::AttributeReferences;
using attribute::AttributeValue;
using attribute::StringMapEntry;
using attribute::Vocabulary;

TEST(StatusLogTest, SecretsAreCredentialHeadersAndNamedAttributes) {
  for (const char* key : {"authorization", "Proxy-Authorization", "cookie", "set-cookie",
                          "x-api-key", "x-auth-token", "X-Session-Id", "client_secret", "jwt"}) {
    EXPECT_TRUE(isSecretAttribute("request.headers", key)) << key;
  }
  for (const char* key : {"user-agent", "x-request-id", "host", ":path", "content-type"}) {
    EXPECT_FALSE(isSecretAttribute("request.headers", key)) << key;
  }
  EXPECT_TRUE(isSecretAttribute("request.api_key", ""));
  EXPECT_TRUE(isSecretAttribute("request.auth.raw_claims", ""));
  EXPECT_TRUE(isSecretAttribute("request.auth.token", ""));
  EXPECT_FALSE(isSecretAttribute("request.auth.principal", ""));
  EXPECT_FALSE(isSecretAttribute("destination.service", ""));
}

TEST(StatusLogTest, ADenialKeepsWhatWasReadWithSecretsRedactedEverywhere) {
  AttributeBag bag(Vocabulary::builtin());
  bag.set("destination.service", AttributeValue::string("orders.svc"));
  const StringMapEntry headers[] = {
      {"x-api-key", "sk-live-0123456789"}, {"user-agent", "curl/8"}, {"cookie", "sid=abcdef"}};
  bag.set("request.headers", bag.makeStringMap(headers));
  bag.set("request.size", AttributeValue::int64(42));
  AttributeReferences refs;
  refs.add("destination.service", true);
  refs.addMapKey("request.headers", "x-api-key", true);
  refs.addMapKey("request.headers", "user-agent", true);
  refs.add("request.headers", true);
  refs.add("source.user", false);
  refs.add("request.size", true);

  DenialLog& log = DenialLog::global();
  log.resetForTest();
  ASSERT_TRUE(log.sample());
  DenialRecord r;
  r.rule = "check-api-key.rule.istio-system";
  r.code = 7;
  r.reason = "apikeys:sk-live-0123456789 is not whitelisted";
  log.record(std::move(r), bag, &refs);
  const auto recent = log.recent();
  ASSERT_EQ(recent.size(), 1u);
  const DenialRecord& d = recent[0];
  EXPECT_EQ(d.reason, "apikeys:[redacted] is not whitelisted");
  const std::vector<std::pair<std::string, std::string>> want = {
      {"destination.service", "\"orders.svc\""},
      {"request.headers[x-api-key]", "[redacted]"},
      {"request.headers[user-agent]", "\"curl/8\""},
      {"request.headers", "{x-api-key: [redacted], user-agent: \"curl/8\", cookie: [redacted]}"},
      {"source.user", "(absent)"},
      {"request.size", "42"}};
  EXPECT_EQ(d.attributes, want);
  EXPECT_GT(d.unix_millis, 0);
  EXPECT_EQ(log.seen(), 1u);
  EXPECT_EQ(log.recorded(), 1u);
}

TEST(StatusLogTest, TheSamplerLetsOneThroughPerInterval) {
  Sampler sampler(std::chrono::milliseconds(200));
  EXPECT_TRUE(sampler.sample());
  int more = 0;
  for (int i = 0; i < 1000; ++i) more += sampler.sample();
  EXPECT_EQ(more, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_TRUE(sampler.sample());
  EXPECT_FALSE(sampler.sample());
  // Concurrent callers: one of them wins.
  Sampler slow(std::chrono::seconds(60));
  std::atomic<int> won{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) won += slow.sample();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
}

}  // namespace
}  // namespace mixer::runtime
