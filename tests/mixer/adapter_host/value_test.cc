#include "mixer/adapter_host/value.h"

#include "gtest/gtest.h"
#include "mixer/adapter_sdk/adapter.h"

namespace mixer::adapter_host {
namespace {

using mixer::adapter_sdk::ValueView;

Value sample() {
  return Value::map({{"s", Value::string("text")},
                     {"i", Value::int64(-42)},
                     {"d", Value::float64(2.5)},
                     {"b", Value::boolean(true)},
                     {"t", Value::timestampNs(1'500'000'000'123)},
                     {"dur", Value::durationNs(5'000'000'000)},
                     {"ip", Value::ipAddress(std::string("\x0a\x00\x00\x01", 4))},
                     {"headers", Value::stringMap({{"a", "1"}, {"b", "2"}})},
                     {"list", Value::list({Value::int64(1), Value::string("two"), Value()})},
                     {"nested", Value::map({{"deep", Value::map({{"x", Value::int64(7)}})}})}});
}

// What the host encodes is what an adapter reads through the SDK views.
TEST(EncodedValueTest, AdapterViewsSeeTheEncodedRecord) {
  const Value value = sample();
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
  const Value value = sample();
  EncodedValue encoded(value);
  EXPECT_EQ(Value::fromAbi(encoded.get()), value);
}

TEST(EncodedInstanceTest, CarriesNameTemplateAndFields) {
  Instance instance{"requestcount.metric", "metric", Value::map({{"value", Value::int64(1)}})};
  EncodedInstance encoded(instance);
  mixer::adapter_sdk::InstanceView view(encoded.get());
  EXPECT_EQ(encoded.get()->struct_size, sizeof(mixer_instance));
  EXPECT_EQ(view.name(), "requestcount.metric");
  EXPECT_EQ(view.templateName(), "metric");
  EXPECT_EQ(view.field("value").int64Value(), 1);
}

TEST(ValueTest, SetReplacesExistingKeys) {
  Value v;
  v.set("a", Value::int64(1));
  v.set("a", Value::int64(2));
  EXPECT_EQ(v.type(), MIXER_VALUE_MAP);
  ASSERT_EQ(v.mapValue().size(), 1u);
  EXPECT_EQ(v.find("a")->int64Value(), 2);
}

}  // namespace
}  // namespace mixer::adapter_host
