#include "proxy-filter/core/attributes.h"

#include <gtest/gtest.h>

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
  EXPECT_EQ(a.values(), expected.values());
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
  EXPECT_EQ(target.values(), source.values());
  target.assign(source);  // a second round takes the first one's storage back
  EXPECT_EQ(target.values(), source.values());
}

TEST(AttributesTest, ACopyCarriesTheAttributesOnly) {
  Attributes a;
  a.setString("request.path", "/p");
  a.clear();
  a.setString("request.method", "GET");
  Attributes copy = a;
  EXPECT_EQ(copy.values(), a.values());
  Attributes assigned;
  assigned = a;
  EXPECT_EQ(assigned.values(), a.values());
}

}  // namespace
}  // namespace mixer::proxy
