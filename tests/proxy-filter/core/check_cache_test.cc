#include "proxy-filter/core/check_cache.h"

#include <gtest/gtest.h>

#include <thread>

namespace mixer::proxy {
namespace {

using istio::mixer::v1::CheckResponse;
using istio::mixer::v1::ReferencedAttributes;

constexpr int64_t kSecond = 1000000000;

// A precondition answer whose references are given as (condition, name, map key) with words
// carried in the message's own dictionary.
struct Ref {
  ReferencedAttributes::Condition condition;
  std::string name;
  std::string map_key;
};

CheckResponse::PreconditionResult answer(int code, const std::vector<Ref>& refs, int uses = 100,
                                         int64_t seconds = 60) {
  CheckResponse::PreconditionResult r;
  r.mutable_status()->set_code(code);
  if (code != 0) {
    r.mutable_status()->set_message("denied here");
  }
  r.set_valid_use_count(uses);
  r.mutable_valid_duration()->set_seconds(seconds);
  auto* ra = r.mutable_referenced_attributes();
  auto word = [ra](const std::string& w) {
    ra->add_words(w);
    return -ra->words_size();
  };
  for (const Ref& ref : refs) {
    auto* m = ra->add_attribute_matches();
    m->set_condition(ref.condition);
    m->set_name(word(ref.name));
    if (!ref.map_key.empty()) {
      m->set_map_key(word(ref.map_key));
    }
  }
  return r;
}

Attributes request(const std::string& service, const std::string& user = "") {
  Attributes a;
  a.setString("destination.service", service);
  a.setString("request.path", "/unrelated/" + user);
  if (!user.empty()) {
    a.setMapEntry("request.headers", "x-user", user);
  }
  return a;
}

TEST(CheckCacheTest, ExactReferencesKeyTheAnswerAndUnreferencedAttributesDoNotMatter) {
  CheckCache cache;
  ASSERT_TRUE(cache
                  .insert(request("reviews", "a"),
                          answer(7, {{ReferencedAttributes::EXACT, "destination.service", ""}}), 0)
                  .ok());
  CheckResult out;
  ASSERT_TRUE(cache.lookup(request("reviews", "b"), 1, &out));  // path and header differ
  EXPECT_EQ(out.code, StatusCode::kPermissionDenied);
  EXPECT_EQ(out.message, "denied here");
  EXPECT_FALSE(cache.lookup(request("ratings", "a"), 1, &out));
}

TEST(CheckCacheTest, MapKeysAreReferencedOneByOne) {
  CheckCache cache;
  ASSERT_TRUE(cache
                  .insert(request("reviews", "alice"),
                          answer(0, {{ReferencedAttributes::EXACT, "request.headers", "x-user"}}),
                          0)
                  .ok());
  CheckResult out;
  EXPECT_TRUE(cache.lookup(request("other", "alice"), 1, &out));
  EXPECT_TRUE(out.ok());
  EXPECT_FALSE(cache.lookup(request("reviews", "bob"), 1, &out));
  EXPECT_FALSE(cache.lookup(request("reviews"), 1, &out));  // no such header at all
}

TEST(CheckCacheTest, AbsenceReferencesRequireTheAttributeToStayAbsent) {
  CheckCache cache;
  ASSERT_TRUE(cache
                  .insert(request("reviews"),
                          answer(16, {{ReferencedAttributes::ABSENCE, "request.auth.principal", ""},
                                      {ReferencedAttributes::EXACT, "destination.service", ""}}),
                          0)
                  .ok());
  CheckResult out;
  EXPECT_TRUE(cache.lookup(request("reviews"), 1, &out));
  EXPECT_EQ(out.code, StatusCode::kUnauthenticated);
  Attributes with = request("reviews");
  with.setString("request.auth.principal", "alice");
  EXPECT_FALSE(cache.lookup(with, 1, &out));
}

TEST(CheckCacheTest, AbsentMapKeyReference) {
  CheckCache cache;
  ASSERT_TRUE(cache
                  .insert(request("reviews"),
                          answer(0, {{ReferencedAttributes::ABSENCE, "request.headers", "x-user"}}),
                          0)
                  .ok());
  CheckResult out;
  EXPECT_TRUE(cache.lookup(request("x"), 1, &out));
  EXPECT_FALSE(cache.lookup(request("x", "alice"), 1, &out));
}

TEST(CheckCacheTest, RegexReferencesAreNotCacheable) {
  CheckCache cache;
  auto status = cache.insert(request("reviews"),
                             answer(0, {{ReferencedAttributes::REGEX, "request.path", ""}}), 0);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  CheckResult out;
  EXPECT_FALSE(cache.lookup(request("reviews"), 1, &out));
  EXPECT_EQ(cache.size(), 0u);
}

TEST(CheckCacheTest, MalformedReferencesAreRejected) {
  CheckCache cache;
  auto bad = answer(0, {});
  auto* m = bad.mutable_referenced_attributes()->add_attribute_matches();
  m->set_condition(ReferencedAttributes::EXACT);
  m->set_name(-9);  // no such message word
  EXPECT_EQ(cache.insert(request("x"), bad, 0).code(), absl::StatusCode::kInvalidArgument);
  auto past = answer(0, {});
  auto* p = past.mutable_referenced_attributes()->add_attribute_matches();
  p->set_condition(ReferencedAttributes::EXACT);
  p->set_name(100000);  // past the global dictionary
  EXPECT_EQ(cache.insert(request("x"), past, 0).code(), absl::StatusCode::kInvalidArgument);
}

TEST(CheckCacheTest, UseCountAndDurationExpire) {
  CheckCache cache;
  const auto key = std::vector<Ref>{{ReferencedAttributes::EXACT, "destination.service", ""}};
  ASSERT_TRUE(cache.insert(request("a"), answer(0, key, /*uses=*/2), 0).ok());
  CheckResult out;
  EXPECT_TRUE(cache.lookup(request("a"), 1, &out));
  EXPECT_TRUE(cache.lookup(request("a"), 2, &out));
  EXPECT_FALSE(cache.lookup(request("a"), 3, &out));  // two uses spent

  ASSERT_TRUE(cache.insert(request("b"), answer(0, key, 1000, /*seconds=*/5), 0).ok());
  EXPECT_TRUE(cache.lookup(request("b"), 5 * kSecond - 1, &out));
  EXPECT_FALSE(cache.lookup(request("b"), 5 * kSecond, &out));

  // No valid_duration at all: never expires by time.
  auto forever = answer(0, key, 1000);
  forever.clear_valid_duration();
  ASSERT_TRUE(cache.insert(request("c"), forever, 0).ok());
  EXPECT_TRUE(cache.lookup(request("c"), 1000000 * kSecond, &out));

  // Zero uses: not stored.
  ASSERT_TRUE(cache.insert(request("d"), answer(0, key, 0), 0).ok());
  EXPECT_FALSE(cache.lookup(request("d"), 1, &out));
}

TEST(CheckCacheTest, DurationsPastTheNanosecondRangeSaturate) {
  CheckCache cache;
  const auto key = std::vector<Ref>{{ReferencedAttributes::EXACT, "destination.service", ""}};
  ASSERT_TRUE(cache.insert(request("far"), answer(0, key, 10, INT64_MAX), 5).ok());
  CheckResult out;
  EXPECT_TRUE(cache.lookup(request("far"), INT64_MAX - 1, &out));  // never expires in practice
  ASSERT_TRUE(cache.insert(request("past"), answer(0, key, 10, -18014398509481989), 5).ok());
  EXPECT_FALSE(cache.lookup(request("past"), 6, &out));  // expired at once
}

TEST(CheckCacheTest, RouteDirectivesAreCached) {
  CheckCache cache;
  auto a = answer(0, {{ReferencedAttributes::EXACT, "destination.service", ""}});
  auto* op = a.mutable_route_directive()->add_response_header_operations();
  op->set_name("x-checked");
  op->set_value("yes");
  a.mutable_route_directive()->set_direct_response_code(302);
  ASSERT_TRUE(cache.insert(request("a"), a, 0).ok());
  CheckResult out;
  ASSERT_TRUE(cache.lookup(request("a"), 1, &out));
  ASSERT_NE(out.route, nullptr);
  EXPECT_EQ(out.route->response_header_operations.at(0).name, "x-checked");
  EXPECT_EQ(out.route->direct_response_code, 302u);
}

TEST(CheckCacheTest, FullCacheEvictsTheLeastRecentlyUsed) {
  CheckCache cache(2);
  const auto key = std::vector<Ref>{{ReferencedAttributes::EXACT, "destination.service", ""}};
  ASSERT_TRUE(cache.insert(request("a"), answer(0, key), 0).ok());
  ASSERT_TRUE(cache.insert(request("b"), answer(0, key), 1).ok());
  CheckResult out;
  ASSERT_TRUE(cache.lookup(request("a"), 2, &out));  // b is now the least recently used
  ASSERT_TRUE(cache.insert(request("c"), answer(0, key), 3).ok());
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_TRUE(cache.lookup(request("a"), 4, &out));
  EXPECT_FALSE(cache.lookup(request("b"), 4, &out));
  EXPECT_TRUE(cache.lookup(request("c"), 4, &out));
}

TEST(CheckCacheTest, AFullCacheStaysAtItsSizeAndKeepsRecentlyUsedEntries) {
  CheckCache cache(100);
  const auto key = std::vector<Ref>{{ReferencedAttributes::EXACT, "destination.service", ""}};
  ASSERT_TRUE(cache.insert(request("hot"), answer(0, key, 1 << 30), 0).ok());
  CheckResult out;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(cache.lookup(request("hot"), 1 + i, &out)) << i;  // used before every insert
    ASSERT_TRUE(cache.insert(request("cold" + std::to_string(i)), answer(0, key), 1 + i).ok());
    ASSERT_LE(cache.size(), 100u);
  }
  EXPECT_EQ(cache.size(), 100u);
  EXPECT_TRUE(cache.lookup(request("cold999"), 2000, &out));  // the newest is kept
}

TEST(CheckCacheTest, SeveralKeySetsLiveSideBySide) {
  CheckCache cache;
  ASSERT_TRUE(cache
                  .insert(request("a"),
                          answer(7, {{ReferencedAttributes::EXACT, "destination.service", ""}}), 0)
                  .ok());
  ASSERT_TRUE(cache
                  .insert(request("z", "alice"),
                          answer(0, {{ReferencedAttributes::EXACT, "request.headers", "x-user"}}),
                          0)
                  .ok());
  CheckResult out;
  ASSERT_TRUE(cache.lookup(request("a"), 1, &out));
  EXPECT_EQ(out.code, StatusCode::kPermissionDenied);
  ASSERT_TRUE(cache.lookup(request("q", "alice"), 1, &out));
  EXPECT_TRUE(out.ok());
}

TEST(CheckCacheTest, ConcurrentHitsAndInsertsConsumeExactlyTheUseCount) {
  CheckCache cache;
  const auto key = std::vector<Ref>{{ReferencedAttributes::EXACT, "destination.service", ""}};
  ASSERT_TRUE(cache.insert(request("a"), answer(0, key, /*uses=*/1000), 0).ok());
  std::atomic<int> hits{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const Attributes a = request("a");
      CheckResult out;
      for (int i = 0; i < 500; ++i) {
        if (cache.lookup(a, 1, &out)) {
          hits.fetch_add(1);
        }
        if (i % 50 == 0) {
          cache.insert(request("other" + std::to_string(t * 1000 + i)), answer(0, key), 1)
              .IgnoreError();
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(hits.load(), 1000);
}

}  // namespace
}  // namespace mixer::proxy
