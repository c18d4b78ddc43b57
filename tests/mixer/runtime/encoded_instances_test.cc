// EncodedInstances: what the runtime hands adapters must decode to exactly the values evaluated.
#include "mixer/runtime/encoded_instances.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "mixer/adapter_host/value.h"

namespace mixer::runtime {
namespace {

using adapter_host::AbiValue;

class Headers : public expr::StringMapView {
 public:
  explicit Headers(std::vector<std::pair<std::string, std::string>> e) : e_(std::move(e)) {}
  bool find(std::string_view key, std::string_view* value) const override {
    for (const auto& [k, v] : e_) {
      if (k == key) {
        *value = v;
        return true;
      }
    }
    return false;
  }
  size_t size() const override { return e_.size(); }
  void entry(size_t i, std::string_view* key, std::string_view* value) const override {
    *key = e_[i].first;
    *value = e_[i].second;
  }

 private:
  std::vector<std::pair<std::string, std::string>> e_;
};

// Builds one instance of every value type, with a nested map.
void addRequestInstance(EncodedInstances* out, const Headers& headers, const std::string& path) {
  static const expr::Value kItems[] = {expr::Value::makeInt(1), expr::Value::makeString("two")};
  static const expr::ListValue kList{kItems, 2};
  static const std::string kIp("\x0a\x00\x00\x01", 4);  // values are views: keep it alive
  const size_t base = out->addInstance("access.logentry.istio-system", "logentry", 4);
  out->setKey(base, "url");
  out->setValue({false, base}, expr::Value::makeString(path));
  out->setKey(base + 1, "headers");
  out->setValue({false, base + 1}, expr::Value::makeStringMap(&headers));
  out->setKey(base + 2, "variables");
  const size_t vars = out->setMap({false, base + 2}, 6);
  const std::pair<const char*, expr::Value> values[] = {
      {"code", expr::Value::makeInt(503)},
      {"ratio", expr::Value::makeDouble(0.25)},
      {"mtls", expr::Value::makeBool(true)},
      {"at", expr::Value::makeTimestamp(1700000000, 5)},
      {"latency", expr::Value::makeDuration(8000000)},
      {"ip", expr::Value::makeIp(kIp)},
  };
  for (size_t i = 0; i < 6; ++i) {
    out->setKey(vars + i, values[i].first);
    out->setValue({false, vars + i}, values[i].second);
  }
  out->setKey(base + 3, "list");
  out->setValue({false, base + 3}, expr::Value::makeList(&kList));
}

AbiValue expected(const std::string& path) {
  AbiValue vars = AbiValue::map();
  vars.set("code", AbiValue::int64(503));
  vars.set("ratio", AbiValue::float64(0.25));
  vars.set("mtls", AbiValue::boolean(true));
  vars.set("at", AbiValue::timestampNs(1700000000LL * 1000000000 + 5));
  vars.set("latency", AbiValue::durationNs(8000000));
  vars.set("ip", AbiValue::ipAddress(std::string("\x0a\x00\x00\x01", 4)));
  AbiValue fields = AbiValue::map();
  fields.set("url", AbiValue::string(path));
  fields.set("headers", AbiValue::stringMap({{"x-b3-sampled", "1"}, {"user-agent", "curl"}}));
  fields.set("variables", std::move(vars));
  fields.set("list", AbiValue::list({AbiValue::int64(1), AbiValue::string("two")}));
  return fields;
}

TEST(EncodedInstancesTest, DecodesToTheEvaluatedValuesAfterMoves) {
  Headers headers({{"x-b3-sampled", "1"}, {"user-agent", "curl"}});
  EncodedInstances enc;
  for (int i = 0; i < 50; ++i) {  // enough to make every array reallocate while building
    addRequestInstance(&enc, headers, "/reviews/" + std::to_string(i));
  }
  EncodedInstances moved = std::move(enc);
  moved.finalize();
  ASSERT_EQ(moved.size(), 50u);
  for (size_t i = 0; i < moved.size(); ++i) {
    const mixer_instance* inst = moved.instances()[i];
    EXPECT_EQ(inst->struct_size, sizeof(mixer_instance));
    EXPECT_EQ(std::string(inst->name.data, inst->name.size), "access.logentry.istio-system");
    EXPECT_EQ(std::string(inst->template_name.data, inst->template_name.size), "logentry");
    EXPECT_EQ(AbiValue::fromAbi(&inst->fields), expected("/reviews/" + std::to_string(i))) << i;
  }
}

TEST(EncodedInstancesTest, RollbackForgetsAHalfBuiltInstance) {
  Headers headers({{"x-b3-sampled", "1"}, {"user-agent", "curl"}});
  EncodedInstances enc;
  addRequestInstance(&enc, headers, "/a");
  const EncodedInstances::Mark mark = enc.mark();
  const size_t base = enc.addInstance("broken.metric.istio-system", "metric", 2);
  enc.setKey(base, "value");
  enc.setValue({false, base}, expr::Value::makeString("partial"));
  enc.rollback(mark);
  addRequestInstance(&enc, headers, "/b");
  enc.finalize();
  ASSERT_EQ(enc.size(), 2u);
  EXPECT_EQ(AbiValue::fromAbi(&enc.instances()[0]->fields), expected("/a"));
  EXPECT_EQ(AbiValue::fromAbi(&enc.instances()[1]->fields), expected("/b"));
}

TEST(EncodedInstancesTest, ClearKeepsNothingOfThePreviousBatch) {
  Headers headers({{"x-b3-sampled", "1"}, {"user-agent", "curl"}});
  EncodedInstances enc;
  addRequestInstance(&enc, headers, "/first");
  enc.finalize();
  enc.clear();
  EXPECT_TRUE(enc.empty());
  addRequestInstance(&enc, headers, "/second");
  enc.finalize();
  ASSERT_EQ(enc.size(), 1u);
  EXPECT_EQ(AbiValue::fromAbi(&enc.instances()[0]->fields), expected("/second"));
}

TEST(EncodedInstancesTest, UnsupportedValuesBecomeNull) {
  EncodedInstances enc;
  const size_t base = enc.addInstance("m.metric.istio-system", "metric", 1);
  enc.setKey(base, "value");
  enc.setValue({false, base}, expr::Value::makeNull());
  enc.finalize();
  EXPECT_EQ(enc.instances()[0]->fields.u.map_value.entries[0].value.type, MIXER_VALUE_NULL);
}

}  // namespace
}  // namespace mixer::runtime
