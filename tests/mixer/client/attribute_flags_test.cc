#include "mixer/client/attribute_flags.h"

#include <gtest/gtest.h>

namespace mixer::client {
namespace {

using attribute::AttributeBag;
using attribute::ValueType;

class AttributeFlagsTest : public ::testing::Test {
 protected:
  absl::Status build(const AttributeFlags& f) { return buildAttributes(f, &bag_); }
  AttributeBag bag_{attribute::Vocabulary::builtin()};
};

TEST_F(AttributeFlagsTest, AutoTypesByManifestThenBySyntax) {
  AttributeFlags f;
  f.attributes = {"request.size=12,source.ip=10.0.0.1,destination.service=a.b",
                  "x.int=5,x.double=1.5,x.bool=true,x.time=2017-01-02T15:04:05Z,x.dur=10ms,x.s=hi"};
  ASSERT_TRUE(build(f).ok());
  EXPECT_EQ(bag_.find("request.size")->type(), ValueType::kInt64);
  EXPECT_EQ(bag_.find("source.ip")->type(), ValueType::kIpAddress);
  EXPECT_EQ(bag_.find("source.ip")->stringValue(), std::string("\x0a\x00\x00\x01", 4));
  EXPECT_EQ(bag_.find("destination.service")->stringValue(), "a.b");
  EXPECT_EQ(bag_.find("x.int")->type(), ValueType::kInt64);
  EXPECT_EQ(bag_.find("x.double")->type(), ValueType::kDouble);
  EXPECT_EQ(bag_.find("x.bool")->type(), ValueType::kBool);
  EXPECT_EQ(bag_.find("x.time")->timestampValue().seconds, 1483369445);
  EXPECT_EQ(bag_.find("x.dur")->durationValue().nanos, 10000000);
  EXPECT_EQ(bag_.find("x.s")->type(), ValueType::kString);
}

TEST_F(AttributeFlagsTest, TypedFlags) {
  AttributeFlags f;
  f.strings = {"destination.service=svc,request.size_as_text=12"};
  f.int64s = {"response.code=404"};
  f.bools = {"connection.mtls=false"};
  f.bytes = {"my.bytes=c0:a8:0:1,origin.ip=7f:0:0:1"};
  f.string_maps = {"request.headers=a:1;b:2:3"};
  f.durations = {"response.duration=1.5s"};
  ASSERT_TRUE(build(f).ok());
  EXPECT_EQ(bag_.find("request.size_as_text")->type(), ValueType::kString);
  EXPECT_EQ(bag_.find("response.code")->int64Value(), 404);
  EXPECT_FALSE(bag_.find("connection.mtls")->boolValue());
  EXPECT_EQ(bag_.find("my.bytes")->stringValue(), std::string("\xc0\xa8\x00\x01", 4));
  EXPECT_EQ(bag_.find("origin.ip")->type(), ValueType::kIpAddress);
  std::string_view v;
  ASSERT_TRUE(bag_.find("request.headers")->mapFind("b", &v));
  EXPECT_EQ(v, "2:3");
  EXPECT_EQ(bag_.find("response.duration")->durationValue(), (attribute::Duration{1, 500000000}));
}

TEST_F(AttributeFlagsTest, ErrorsNameTheFlagAndAttribute) {
  AttributeFlags f;
  f.int64s = {"response.code=abc"};
  auto s = build(f);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(std::string(s.message()),
            "--int64_attributes: attribute 'response.code': 'abc' is not an INT64");
  AttributeFlags g;
  g.attributes = {"source.ip=not-an-ip"};
  s = build(g);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("'not-an-ip' is not an IP_ADDRESS"), std::string::npos);
  AttributeFlags h;
  h.strings = {"novalue"};
  s = build(h);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("'novalue' is not name=value"), std::string::npos);
}

TEST(ParseIpTest, V4AndV6) {
  std::string b;
  ASSERT_TRUE(parseIp("192.168.0.1", &b));
  EXPECT_EQ(b.size(), 4u);
  ASSERT_TRUE(parseIp("::1", &b));
  EXPECT_EQ(b.size(), 16u);
  EXPECT_FALSE(parseIp("1.2.3", &b));
}

}  // namespace
}  // namespace mixer::client
