#include "proxy-filter/core/attributes.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

namespace mixer::proxy {
namespace {

TEST(AttributesTest, ClearRemovesEveryAttributeAndTheNextRoundSeesOnlyItsOwn) {
  Attributes a;
  a.setString("request.path", "/first");
  a.setString("request.useragent", "a user agent longer than the small-string buffer");
  a.setInt64("request.size", 10);
  a.setMapEntry("request.headers", "x-user", "alice");
  a.setMapEntry("request.headers", "x-old", "only in the first request");
  a.clear();
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(a.find("request.path"), nullptr);

  a.setString("request.path", "/second");
  a.setMapEntry("request.headers", "x-user", "bob");
  a.setMapEntry("request.headers", "x-new", "v");
  a.setInt64("request.useragent", 7);  // another type under a recycled name
  Attributes expected;
  expected.setString("request.path", "/second");
  expected.setMapEntry("request.headers", "x-user", "bob");
  expected.setMapEntry("request.headers", "x-new", "v");
  expected.setInt64("request.useragent", 7);
  EXPECT_EQ(a, expected);
  EXPECT_FALSE(a.contains("request.size"));
}

TEST(AttributesTest, RecycledMapEntriesGoToWhicheverMapAsksFirst) {
  Attributes a;
  a.setMapEntry("request.headers", "k", "request");
  a.setMapEntry("response.headers", "k", "response");
  a.clear();
  a.setMapEntry("response.headers", "other", "x");
  a.setMapEntry("request.headers", "k", "again");
  ASSERT_NE(a.find("request.headers"), nullptr);
  EXPECT_EQ(std::get<StringMap>(*a.find("request.headers")), (StringMap{{"k", "again"}}));
  EXPECT_EQ(std::get<StringMap>(*a.find("response.headers")), (StringMap{{"other", "x"}}));
}

// Nodes taken back from a cleared map are placed by their new keys, whatever the order the keys
// come in, and a key set again in the same round only changes its value.
TEST(AttributesTest, RecycledMapNodesAreOrderedByTheirNewKeys) {
  Attributes a;
  for (const char* k : {"x-b", "x-a", "accept", "cookie", "host", "user-agent", "x-request-id"}) {
    a.setMapEntry("request.headers", k, std::string("old-") + k);
  }
  a.clear();
  StringMap expected;
  for (const char* k : {"z", "x-request-id", "a-very-long-header-name", "b", "host", "a", "x-b"}) {
    a.setMapEntry("request.headers", k, k);
    expected[k] = k;
  }
  a.setMapEntry("request.headers", "b", "set twice");
  expected["b"] = "set twice";
  ASSERT_NE(a.find("request.headers"), nullptr);
  EXPECT_EQ(std::get<StringMap>(*a.find("request.headers")), expected);
}

TEST(AttributesTest, ClearingAnEmptySetKeepsTheStorageForTheNextRound) {
  Attributes a;
  a.setString("destination.service", "productpage.default.svc.cluster.local");
  a.clear();
  a.clear();  // a host may clear a set that is already clear (e.g. one a report swap gave back)
  const std::string* before = nullptr;
  a.setString("destination.service", "reviews.default.svc.cluster.local");
  before = &std::get<std::string>(*a.find("destination.service"));
  a.clear();
  a.clear();
  a.setString("destination.service", "ratings.default.svc.cluster.local");
  // The same node came back (its value is where the previous round's was).
  EXPECT_EQ(&std::get<std::string>(*a.find("destination.service")), before);
}

TEST(AttributesTest, AssignCopiesIntoReusedStorage) {
  Attributes source;
  source.setString("destination.service", "productpage.default.svc.cluster.local");
  source.setMapEntry("request.headers", "x-user", "alice");
  source.setBytes("source.ip", std::string("\x0a\x00\x00\x07", 4));
  source.setTimestamp("request.time", Timestamp(Duration(123)));
  Attributes target;
  target.setString("request.path", "/stale");
  target.setMapEntry("request.headers", "x-stale", "1");
  target.assign(source);
  EXPECT_EQ(target, source);
  target.assign(source);  // a second round takes the first one's storage back
  EXPECT_EQ(target, source);
}

TEST(AttributesTest, ACopyCarriesTheAttributesOnly) {
  Attributes a;
  a.setString("request.path", "/p");
  a.clear();
  a.setString("request.method", "GET");
  Attributes copy = a;
  EXPECT_EQ(copy, a);
  Attributes assigned;
  assigned = a;
  EXPECT_EQ(assigned, a);
}

// The batcher moves records in and out: the moved-to set has the attributes, the moved-from one
// is empty and takes new attributes as a new set does.
TEST(AttributesTest, AMovedFromSetIsEmptyAndUsable) {
  Attributes a;
  a.setString("request.path", "/p");
  a.setMapEntry("request.headers", "x-user", "alice");
  Attributes moved(std::move(a));
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): the state after a move is the API
  EXPECT_EQ(a.find("request.path"), nullptr);
  a.setString("request.method", "GET");
  ASSERT_NE(a.find("request.method"), nullptr);
  EXPECT_EQ(a.size(), 1u);
  ASSERT_NE(moved.find("request.path"), nullptr);
  EXPECT_EQ(std::get<std::string>(*moved.find("request.path")), "/p");
  Attributes assigned;
  assigned.setString("request.scheme", "http");
  assigned = std::move(moved);
  EXPECT_EQ(assigned.find("request.scheme"), nullptr);
  ASSERT_NE(assigned.find("request.headers"), nullptr);
  EXPECT_EQ(std::get<StringMap>(*assigned.find("request.headers")).at("x-user"), "alice");
  EXPECT_EQ(moved.size(), 0u);  // NOLINT(bugprone-use-after-move)
  moved.setString("request.path", "/q");
  EXPECT_EQ(std::get<std::string>(*moved.find("request.path")), "/q");
}

TEST(AttributesTest, NamesSetInAnotherOrderOrTwiceStayOneAttributeEach) {
  Attributes a;
  a.setString("a", "1");
  a.setString("b", "2");
  a.setString("c", "3");
  a.clear();
  // Round 2: another order, a name set twice, one name left out, one new.
  a.setString("c", "x");
  a.setString("a", "y");
  a.setString("c", "z");
  a.setString("d", "w");
  EXPECT_EQ(a.size(), 3u);
  EXPECT_EQ(std::get<std::string>(*a.find("c")), "z");
  EXPECT_EQ(std::get<std::string>(*a.find("a")), "y");
  EXPECT_EQ(a.find("b"), nullptr);
  a.clear();
  // Round 3: the first round's order again, after the set was rearranged.
  a.setString("a", "1");
  a.setString("b", "2");
  a.setString("c", "3");
  a.setString("a", "4");
  EXPECT_EQ(a.size(), 3u);
  EXPECT_EQ(std::get<std::string>(*a.find("a")), "4");
  EXPECT_EQ(a.find("d"), nullptr);
}

TEST(AttributesTest, EraseRemovesOneAttributeAndItsMapEntriesDoNotComeBack) {
  Attributes a;
  a.setMapEntry("request.headers", "x-user", "alice");
  a.setString("request.path", "/");
  a.erase("request.headers");
  EXPECT_EQ(a.find("request.headers"), nullptr);
  EXPECT_EQ(a.size(), 1u);
  a.setMapEntry("request.headers", "x-other", "v");
  EXPECT_EQ(std::get<StringMap>(*a.find("request.headers")), (StringMap{{"x-other", "v"}}));
}

// Random rounds of sets, map entries, erases, clears, copies and moves, checked after each step
// against a std::map holding what the set should hold.
TEST(AttributesTest, RandomRoundsMatchAMapModel) {
  std::mt19937 random(7);
  const std::vector<std::string> names = {"request.path",
                                          "request.headers",
                                          "response.code",
                                          "source.ip",
                                          "a name longer than sixteen bytes",
                                          "x",
                                          "destination.service",
                                          "request.time"};
  std::map<std::string, AttributeValue> model;
  Attributes a;
  auto pick = [&](size_t n) { return static_cast<size_t>(random() % n); };
  auto check = [&](const Attributes& set) {
    ASSERT_EQ(set.size(), model.size());
    for (const std::string& name : names) {
      const AttributeValue* v = set.find(name);
      auto it = model.find(name);
      if (it == model.end()) {
        EXPECT_EQ(v, nullptr) << name;
      } else {
        ASSERT_NE(v, nullptr) << name;
        EXPECT_TRUE(*v == it->second) << name;
      }
    }
    size_t seen = 0;
    for (const Attribute& e : set.entries()) {
      ++seen;
      EXPECT_TRUE(model.count(e.name)) << e.name;
    }
    EXPECT_EQ(seen, model.size());
  };
  for (int step = 0; step < 20000; ++step) {
    const std::string& name = names[pick(names.size())];
    switch (pick(12)) {
      case 0:
        a.clear();
        model.clear();
        break;
      case 1:
        a.erase(name);
        model.erase(name);
        break;
      case 2: {
        Attributes copy = a;
        check(copy);
        a = std::move(copy);
        break;
      }
      case 3: {
        Attributes other;
        other.assign(a);
        a.clear();
        a.assign(other);
        break;
      }
      case 4:
      case 5: {
        const std::string key = "k" + std::to_string(pick(4));
        const std::string value = std::string(pick(24), 'v');
        a.setMapEntry(name, key, value);
        auto& slot = model[name];
        if (!std::holds_alternative<StringMap>(slot)) {
          slot = StringMap{};
        }
        std::get<StringMap>(slot)[key] = value;
        break;
      }
      case 6: {
        const int64_t v = static_cast<int64_t>(pick(1000));
        a.setInt64(name, v);
        model[name] = v;
        break;
      }
      case 7: {
        const std::string v(pick(40), 'b');
        a.setBytes(name, v);
        model[name] = Bytes{v};
        break;
      }
      default: {
        const std::string v(pick(40), 's');
        a.setString(name, v);
        model[name] = v;
        break;
      }
    }
    check(a);
    if (HasFatalFailure()) {
      FAIL() << "at step " << step;
    }
  }
}

// A STRING_MAP's keys in their fixed order: shorter first, bytewise among keys of one length,
// whatever the order they were set in; lookups by a view of the key find them.
TEST(AttributesTest, MapKeysAreOrderedShorterFirst) {
  Attributes a;
  for (const char* key : {"x-user", "accept-language", "host", "accept", "cookie", "user-agent"}) {
    a.setMapEntry("request.headers", key, std::string("v-") + key);
  }
  const auto* map = std::get_if<StringMap>(a.find("request.headers"));
  ASSERT_NE(map, nullptr);
  std::vector<std::string> keys;
  for (const auto& [k, v] : *map) {
    keys.push_back(k);
    EXPECT_EQ(v, "v-" + k);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"host", "accept", "cookie", "x-user", "user-agent",
                                            "accept-language"}));
  EXPECT_NE(map->find(std::string_view("cookie")), map->end());
  EXPECT_EQ(map->find(std::string_view("cookies")), map->end());
}

}  // namespace
}  // namespace mixer::proxy
