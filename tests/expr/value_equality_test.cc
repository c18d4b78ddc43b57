// valuesEqual (expr/value_equality.cc): CEL's heterogeneous numeric and deep equality, CEXL's
// typed equality, and the Istio types' own notions of equal.
#include <cmath>
#include <string>

#include "expr/builtins.h"
#include "gtest/gtest.h"
#include "tests/expr/eval_fixture.h"

namespace expr {
namespace {

class ValueEqualityTest : public testing::EvalFixture {
 protected:
  bool cel(const Value& a, const Value& b) { return valuesEqual(a, b, Dialect::kCel); }
  bool cexl(const Value& a, const Value& b) { return valuesEqual(a, b, Dialect::kCexl); }
  Value typed(ValueType t, std::string_view s) { return Value::makeStringLike(t, own(s)); }
};

TEST_F(ValueEqualityTest, NumbersCompareByValueInCelOnly) {
  EXPECT_TRUE(cel(Value::makeInt(1), Value::makeUint(1)));
  EXPECT_TRUE(cel(Value::makeInt(1), Value::makeDouble(1.0)));
  EXPECT_FALSE(cel(Value::makeInt(-1), Value::makeUint(UINT64_MAX)));
  EXPECT_FALSE(cexl(Value::makeInt(1), Value::makeDouble(1.0)));
  EXPECT_FALSE(cel(Value::makeDouble(NAN), Value::makeDouble(NAN)));
  EXPECT_TRUE(cel(Value::makeDouble(0.0), Value::makeDouble(-0.0)));
  EXPECT_FALSE(cel(Value::makeInt(1), Value::makeString("1")));
}

TEST_F(ValueEqualityTest, ListsAndMapsCompareDeeply) {
  EXPECT_EQ(eval("[1, [2]] == [1.0, [2u]]"), "true");
  EXPECT_EQ(eval("[1, 2] == [2, 1]"), "false");
  EXPECT_EQ(eval("[1] == [1, 1]"), "false");
  EXPECT_EQ(eval(R"({"a": 1, "b": [2]} == {"b": [2.0], "a": 1u})"), "true");
  EXPECT_EQ(eval(R"({"a": 1} == {"b": 1})"), "false");
  EXPECT_EQ(eval(R"({"a": 1} == {"a": 1, "b": 2})"), "false");
}

TEST_F(ValueEqualityTest, StringMapsIgnoreOrderAndEqualCelMaps) {
  testing::TestStringMap ab({{"a", "1"}, {"b", "2"}}), ba({{"b", "2"}, {"a", "1"}}),
      other({{"a", "1"}, {"b", "3"}});
  EXPECT_TRUE(cexl(Value::makeStringMap(&ab), Value::makeStringMap(&ba)));
  EXPECT_FALSE(cexl(Value::makeStringMap(&ab), Value::makeStringMap(&other)));
  // A CEL map literal equals a string map with the same entries.
  Value keys[] = {str("b"), str("a")};
  Value values[] = {str("2"), str("1")};
  MapValue map{keys, values, 2};
  EXPECT_TRUE(cel(Value::makeMap(&map), Value::makeStringMap(&ab)));
  EXPECT_TRUE(cel(Value::makeStringMap(&ab), Value::makeMap(&map)));
  EXPECT_FALSE(cel(Value::makeMap(&map), Value::makeStringMap(&other)));
  EXPECT_FALSE(cexl(Value::makeMap(&map), Value::makeStringMap(&ab)));
}

TEST_F(ValueEqualityTest, IpAddressesIgnoreTheIpv4MappedFormInCexl) {
  std::string v4("\x0a\x00\x00\x01", 4);
  std::string mapped = std::string(10, '\0') + "\xff\xff" + v4;
  EXPECT_TRUE(cexl(Value::makeIp(own(v4)), Value::makeIp(own(mapped))));
  // CEL keeps IPv4 addresses as 4 bytes: a 16-byte address is another address.
  EXPECT_FALSE(cel(Value::makeIp(own(v4)), Value::makeIp(own(mapped))));
  EXPECT_TRUE(cel(Value::makeIp(own(v4)), Value::makeIp(own(v4))));
  EXPECT_FALSE(cexl(Value::makeIp(own(v4)), Value::makeIp(own("\x0a\x00\x00\x02"))));
}

TEST_F(ValueEqualityTest, DnsNamesIgnoreCaseAndOneTrailingDot) {
  EXPECT_TRUE(
      cexl(typed(ValueType::kDnsName, "Istio.IO."), typed(ValueType::kDnsName, "istio.io")));
  EXPECT_FALSE(
      cexl(typed(ValueType::kDnsName, "istio.io.."), typed(ValueType::kDnsName, "istio.io")));
  EXPECT_FALSE(cexl(typed(ValueType::kDnsName, "a.io"), typed(ValueType::kDnsName, "b.io")));
}

TEST_F(ValueEqualityTest, EmailsUnquoteTheLocalPartAndCompareTheDomainAsDnsName) {
  auto email = [&](std::string_view s) { return typed(ValueType::kEmailAddress, s); };
  EXPECT_TRUE(cexl(email(R"("istio"@istio.io)"), email("istio@ISTIO.IO.")));
  EXPECT_TRUE(cexl(email(R"("a\"b"@x.io)"), email(R"(a"b@x.io)")));
  EXPECT_FALSE(cexl(email("Istio@istio.io"), email("istio@istio.io")));
  EXPECT_FALSE(cexl(email("noat"), email("NOAT")));  // without '@': exact
}

TEST_F(ValueEqualityTest, UrisCompareSchemesAndHttpHostsWithoutCase) {
  auto uri = [&](std::string_view s) { return typed(ValueType::kUri, s); };
  EXPECT_TRUE(cexl(uri("HTTPS://User@Example.COM:8443/p?q"), uri("https://example.com:8443/p?q")));
  EXPECT_FALSE(cexl(uri("http://x.io/P"), uri("http://x.io/p")));
  EXPECT_FALSE(cexl(uri("http://x.io:80/"), uri("http://x.io/")));
  EXPECT_TRUE(cexl(uri("FTP://Host/a"), uri("ftp://Host/a")));
  EXPECT_FALSE(cexl(uri("ftp://HOST/a"), uri("ftp://host/a")));
  EXPECT_FALSE(cexl(uri("mailto:a@b"), uri("mailto://a@b")));
}

TEST_F(ValueEqualityTest, ScalarsOfOneType) {
  EXPECT_TRUE(cexl(str("a"), str("a")));
  EXPECT_FALSE(cexl(str("a"), bytes("a")));
  EXPECT_TRUE(cexl(Value::makeDuration(5), Value::makeDuration(5)));
  EXPECT_FALSE(cexl(Value::makeDuration(5), Value::makeInt(5)));
  EXPECT_TRUE(cexl(Value::makeTimestamp(1, 2), Value::makeTimestamp(1, 2)));
  EXPECT_FALSE(cexl(Value::makeTimestamp(1, 2), Value::makeTimestamp(1, 3)));
  EXPECT_TRUE(cel(Value::makeNull(), Value::makeNull()));
  EXPECT_TRUE(cel(Value::makeBool(false), Value::makeBool(false)));
  EXPECT_TRUE(cel(Value::makeType("int"), Value::makeType("int")));
}

}  // namespace
}  // namespace expr
