#include "mixer/adapter_host/value.h"

#include "gtest/gtest.h"
#include "mixer/adapter_sdk/adapter.h"

namespace mixer::adapter_host {
namespace {

using mixer::adapter_sdk::ValueView;

AbiValue sample() {
  return AbiValue::map(
      {{"s", AbiValue::string("text")},
       {"i", AbiValue::int64(-42)},
       {"d", AbiValue::float64(2.5)},
       {"b", AbiValue::boolean(true)},
       {"t", AbiValue::timestampNs(1'500'000'000'123)},
       {"dur", AbiValue::durationNs(5'000'000'000)},
       {"ip", AbiValue::ipAddress(std::string("\x0a\x00\x00\x01", 4))},
       {"headers", AbiValue::stringMap({{"a", "1"}, {"b", "2"}})},
       {"list", AbiValue::list({AbiValue::int64(1), AbiValue::string("two"), AbiValue()})},
       {"nested", AbiValue::map({{"deep", AbiValue::map({{"x", AbiValue::int64(7)}})}})}});
}

// What the host encodes is what an adapter reads through the SDK views.
TEST(EncodedValueTest, AdapterViewsSeeTheEncodedRecord) {
  const AbiValue value = sample();
  EncodedValue encoded(value);
  ValueView v(encoded.get());
  EXPECT_EQ(v.type(), MIXER_VALUE_MAP);
  EXPECT_EQ(v.size(), 10u);
  EXPECT_EQ(v.find("s").stringValue(), "text");
  EXPECT_EQ(v.find("i").int64Value(), -42);
  EXPECT_EQ(v.find("d").doubleValue(), 2.5);
  EXPECT_TRUE(v.find("b").boolValue());
  EXPECT_EQ(v.find("t").type(), MIXER_VALUE_TIMESTAMP);
  EXPECT_EQ(v.find("t").int64Value(), 1'500'000'000'123);
  EXPECT_EQ(v.find("dur").type(), MIXER_VALUE_DURATION);
  EXPECT_EQ(v.find("ip").stringValue().size(), 4u);
  EXPECT_EQ(v.find("headers").type(), MIXER_VALUE_STRING_MAP);
  EXPECT_EQ(v.find("headers").find("b").stringValue(), "2");
  EXPECT_EQ(v.find("list").size(), 3u);
  EXPECT_EQ(v.find("list").at(1).stringValue(), "two");
  EXPECT_TRUE(v.find("list").at(2).isNull());
  EXPECT_TRUE(v.find("list").at(3).isNull());  // out of range
  EXPECT_EQ(v.find("nested").find("deep").find("x").int64Value(), 7);
  EXPECT_TRUE(v.find("missing").isNull());
  EXPECT_EQ(v.find("s").int64Value(), 0);  // wrong type reads as zero
}

TEST(EncodedValueTest, RoundTripsThroughTheAbi) {
  const AbiValue value = sample();
  EncodedValue encoded(value);
  EXPECT_EQ(AbiValue::fromAbi(encoded.get()), value);
}

TEST(EncodedInstanceTest, CarriesNameTemplateAndFields) {
  Instance instance{"requestcount.metric", "metric",
                    AbiValue::map({{"value", AbiValue::int64(1)}})};
  EncodedInstance encoded(instance);
  mixer::adapter_sdk::InstanceView view(encoded.get());
  EXPECT_EQ(encoded.get()->struct_size, sizeof(mixer_instance));
  EXPECT_EQ(view.name(), "requestcount.metric");
  EXPECT_EQ(view.templateName(), "metric");
  EXPECT_EQ(view.field("value").int64Value(), 1);
}

TEST(ValueTest, SetReplacesExistingKeys) {
  AbiValue v;
  v.set("a", AbiValue::int64(1));
  v.set("a", AbiValue::int64(2));
  EXPECT_EQ(v.type(), MIXER_VALUE_MAP);
  ASSERT_EQ(v.mapValue().size(), 1u);
  EXPECT_EQ(v.find("a")->int64Value(), 2);
}

}  // namespace
}  // namespace mixer::adapter_host
