#include "mixer/attribute/attribute_bag.h"

#include <gtest/gtest.h>

namespace mixer::attribute {
namespace {

TEST(AttributeBagTest, GetByIdAndFindByName) {
  AttributeBag bag(Vocabulary::builtin());
  const AttributeId id = *bag.vocabulary().find("request.path");
  EXPECT_EQ(bag.get(id), nullptr);
  bag.set(id, AttributeValue::string("/a"));
  ASSERT_NE(bag.get(id), nullptr);
  EXPECT_EQ(bag.get(id)->stringValue(), "/a");
  EXPECT_EQ(bag.find("request.path")->stringValue(), "/a");
  EXPECT_EQ(bag.find("request.host"), nullptr);
}

TEST(AttributeBagTest, KeepsUndeclaredAttributesByName) {
  AttributeBag bag(Vocabulary::builtin());
  bag.set("my.custom", AttributeValue::int64(3));
  bag.set("my.custom", AttributeValue::int64(4));
  ASSERT_NE(bag.find("my.custom"), nullptr);
  EXPECT_EQ(bag.find("my.custom")->int64Value(), 4);
  EXPECT_EQ(bag.size(), 1u);
}

TEST(AttributeBagTest, ClearForgetsEverythingAndTheBagIsReusable) {
  AttributeBag bag(Vocabulary::builtin());
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(bag.size(), 0u);
    EXPECT_EQ(bag.find("request.path"), nullptr);
    EXPECT_EQ(bag.find("x"), nullptr);
    bag.set("request.path", AttributeValue::string("/"));
    bag.set("x", AttributeValue::boolean(true));
    const StringMapEntry e[] = {{"k", "v"}};
    bag.set("request.headers", bag.makeStringMap(e));
    EXPECT_EQ(bag.size(), 3u);
    bag.clear();
  }
}

TEST(AttributeBagTest, StringMapsStayValidAsMoreAreAllocated) {
  AttributeBag bag(Vocabulary::builtin());
  std::vector<AttributeValue> maps;
  std::vector<std::string> keys;
  for (int i = 0; i < 1000; ++i) {
    keys.push_back("k" + std::to_string(i));
  }
  for (int i = 0; i < 1000; ++i) {
    const StringMapEntry e[] = {{keys[i], "v"}, {"common", keys[i]}};
    maps.push_back(bag.makeStringMap(e));
  }
  for (int i = 0; i < 1000; ++i) {
    std::string_view v;
    ASSERT_TRUE(maps[i].mapFind("common", &v));
    EXPECT_EQ(v, keys[i]);
    ASSERT_TRUE(maps[i].mapFind(keys[i], &v));
  }
}

TEST(AttributeBagTest, ForEachVisitsPresentAttributesOnly) {
  AttributeBag bag(Vocabulary::builtin());
  bag.set("request.path", AttributeValue::string("/"));
  bag.clear();
  bag.set("request.host", AttributeValue::string("h"));
  bag.set("undeclared", AttributeValue::int64(1));
  std::vector<std::string> names;
  bag.forEach([&](std::string_view n, const AttributeValue&) { names.emplace_back(n); });
  EXPECT_EQ(names, (std::vector<std::string>{"request.host", "undeclared"}));
}

TEST(ValueTest, EqualityIsTypedAndMapsCompareAsSets) {
  EXPECT_TRUE(AttributeValue::string("a").equals(AttributeValue::string("a")));
  EXPECT_FALSE(
      AttributeValue::string("a").equals(AttributeValue::string("a", ValueType::kDnsName)));
  EXPECT_FALSE(AttributeValue::int64(1).equals(AttributeValue::doubleValue(1)));
  const StringMapEntry a[] = {{"x", "1"}, {"y", "2"}};
  const StringMapEntry b[] = {{"y", "2"}, {"x", "1"}};
  const StringMapEntry c[] = {{"y", "2"}, {"x", "3"}};
  EXPECT_TRUE(AttributeValue::stringMap(a, 2).equals(AttributeValue::stringMap(b, 2)));
  EXPECT_FALSE(AttributeValue::stringMap(a, 2).equals(AttributeValue::stringMap(c, 2)));
}

}  // namespace
}  // namespace mixer::attribute
