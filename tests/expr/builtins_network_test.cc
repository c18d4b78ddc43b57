// Network values (expr/builtins_network.cc): ip() in both dialects, the CEL network extension,
// and the Istio typed strings dnsName(), email() and uri().
#include "gtest/gtest.h"
#include "tests/expr/eval_fixture.h"

namespace expr {
namespace {

class NetworkBuiltinsTest : public testing::EvalFixture {};

TEST_F(NetworkBuiltinsTest, CexlIpFollowsGoParseIp) {
  EXPECT_EQ(eval(R"(ip("10.0.0.1") == ip("::ffff:10.0.0.1"))", Dialect::kCexl), "true");
  EXPECT_EQ(eval(R"(ip("2001:db8:0:0::1"))", Dialect::kCexl), "2001:db8::1");
  EXPECT_EQ(eval(R"(ip("1.2.3"))", Dialect::kCexl), "error: could not convert 1.2.3 to IP_ADDRESS");
  EXPECT_EQ(eval(R"(ip("fe80::1%eth0"))", Dialect::kCexl),
            "error: could not convert fe80::1%eth0 to IP_ADDRESS");
}

TEST_F(NetworkBuiltinsTest, CelIpRejectsZonesAndTheDottedMappedForm) {
  EXPECT_EQ(eval(R"(string(ip("2001:db8:0:0::1")))"), "2001:db8::1");
  EXPECT_EQ(eval(R"(ip("::ffff:10.0.0.1"))"), "error: IPv4-mapped IPv6 address is not allowed");
  EXPECT_EQ(eval(R"(ip("fe80::1%eth0"))"), "error: IP Address with zone value is not allowed");
  EXPECT_EQ(eval(R"(ip("1.2.3"))"),
            "error: IP Address '1.2.3' parse error during conversion from string");
  EXPECT_EQ(call("ip", false, {Value::makeInt(1)}), "error: no such overload: ip(INT64)");
  EXPECT_EQ(eval(R"(type(ip("1.2.3.4")))"), "net.IP");
}

TEST_F(NetworkBuiltinsTest, IsIpAndIsCanonical) {
  EXPECT_EQ(eval(R"(isIP("1.2.3.4"))"), "true");
  EXPECT_EQ(eval(R"(isIP("::1"))"), "true");
  EXPECT_EQ(eval(R"(isIP("1.2.3.256"))"), "false");
  EXPECT_EQ(eval(R"(isIP(""))"), "false");
  EXPECT_EQ(eval(R"(ip.isCanonical("2001:db8::1"))"), "true");
  EXPECT_EQ(eval(R"(ip.isCanonical("2001:DB8::1"))"), "false");
  EXPECT_EQ(eval(R"(ip.isCanonical("2001:db8:0::1"))"), "false");
  EXPECT_EQ(eval(R"(ip.isCanonical("127.0.0.1"))"), "true");
  EXPECT_EQ(eval(R"(ip.isCanonical("1.2.3"))"),
            "error: IP Address '1.2.3' parse error during conversion from string");
}

TEST_F(NetworkBuiltinsTest, AddressPredicates) {
  EXPECT_EQ(eval(R"(ip("1.2.3.4").family())"), "4");
  EXPECT_EQ(eval(R"(ip("::1").family())"), "6");
  EXPECT_EQ(eval(R"(ip("127.0.0.5").isLoopback())"), "true");
  EXPECT_EQ(eval(R"(ip("::1").isLoopback())"), "true");
  EXPECT_EQ(eval(R"(ip("::2").isLoopback())"), "false");
  EXPECT_EQ(eval(R"(ip("10.0.0.1").isLoopback())"), "false");
  EXPECT_EQ(eval(R"(ip("0.0.0.0").isUnspecified())"), "true");
  EXPECT_EQ(eval(R"(ip("::").isUnspecified())"), "true");
  EXPECT_EQ(eval(R"(ip("::1").isUnspecified())"), "false");
  EXPECT_EQ(eval(R"(ip("8.8.8.8").isGlobalUnicast())"), "true");
  EXPECT_EQ(eval(R"(ip("2001:db8::1").isGlobalUnicast())"), "true");
  EXPECT_EQ(eval(R"(ip("127.0.0.1").isGlobalUnicast())"), "false");
  EXPECT_EQ(eval(R"(ip("255.255.255.255").isGlobalUnicast())"), "false");
  EXPECT_EQ(eval(R"(ip("224.0.0.1").isGlobalUnicast())"), "false");
  EXPECT_EQ(eval(R"(ip("fe80::1").isGlobalUnicast())"), "false");
  EXPECT_EQ(eval(R"(ip("224.0.0.251").isLinkLocalMulticast())"), "true");
  EXPECT_EQ(eval(R"(ip("224.0.1.1").isLinkLocalMulticast())"), "false");
  EXPECT_EQ(eval(R"(ip("ff02::1").isLinkLocalMulticast())"), "true");
  EXPECT_EQ(eval(R"(ip("ff05::1").isLinkLocalMulticast())"), "false");
  EXPECT_EQ(eval(R"(ip("169.254.1.1").isLinkLocalUnicast())"), "true");
  EXPECT_EQ(eval(R"(ip("fe80::1").isLinkLocalUnicast())"), "true");
  EXPECT_EQ(eval(R"(ip("10.0.0.1").isLinkLocalUnicast())"), "false");
  EXPECT_EQ(call("family", true, {str("1.2.3.4")}), "error: no such overload: family(STRING)");
  EXPECT_EQ(call("isLoopback", true, {str("::1")}), "error: no such overload: isLoopback(STRING)");
}

TEST_F(NetworkBuiltinsTest, CidrParsing) {
  EXPECT_EQ(eval(R"(string(cidr("192.168.0.0/24")))"), "192.168.0.0/24");
  EXPECT_EQ(eval(R"(type(cidr("192.168.0.0/24")))"), "net.CIDR");
  EXPECT_EQ(eval(R"(cidr("10.0.0.0/33"))"),
            "error: network address parse error during conversion from string");
  EXPECT_EQ(eval(R"(cidr("::1/129"))"),
            "error: network address parse error during conversion from string");
  EXPECT_EQ(eval(R"(cidr("10.0.0.0"))"),
            "error: network address parse error during conversion from string");
  EXPECT_EQ(eval(R"(cidr("10.0.0/8"))"),
            "error: network address parse error during conversion from string");
  EXPECT_EQ(eval(R"(cidr("fe80::%eth0/10"))"), "error: CIDR with zone value is not allowed");
  EXPECT_EQ(eval(R"(cidr("::ffff:1.2.3.4/96"))"), "error: IPv4-mapped IPv6 address is not allowed");
}

TEST_F(NetworkBuiltinsTest, CidrMembership) {
  EXPECT_EQ(eval(R"(cidr("10.0.0.0/8").containsIP(ip("10.1.2.3")))"), "true");
  EXPECT_EQ(eval(R"(cidr("10.0.0.0/8").containsIP(ip("11.0.0.1")))"), "false");
  EXPECT_EQ(eval(R"(cidr("10.0.0.0/8").containsIP("10.1.2.3"))"), "true");
  EXPECT_EQ(eval(R"(cidr("10.0.0.0/8").containsIP(ip("::1")))"), "false");  // other family
  EXPECT_EQ(eval(R"(cidr("2001:db8::/32").containsIP("2001:db8:1::1"))"), "true");
  EXPECT_EQ(eval(R"(cidr("10.0.0.0/8").containsIP("10.1"))"),
            "error: IP Address '10.1' parse error during conversion from string");
  EXPECT_EQ(eval(R"(cidr("10.0.0.0/8").containsCIDR("10.1.0.0/16"))"), "true");
  EXPECT_EQ(eval(R"(cidr("10.0.0.0/8").containsCIDR(cidr("10.0.0.0/8")))"), "true");
  EXPECT_EQ(eval(R"(cidr("10.0.0.0/8").containsCIDR(cidr("0.0.0.0/0")))"), "false");
  EXPECT_EQ(eval(R"(cidr("10.0.0.0/8").containsCIDR("11.0.0.0/16"))"), "false");
  EXPECT_EQ(eval(R"(cidr("10.0.0.0/8").containsCIDR("10.0.0.0/40"))"),
            "error: network address parse error during conversion from string");
  EXPECT_EQ(call("containsIP", true, {str("10.0.0.0/8"), str("10.0.0.1")}),
            "error: no such overload: containsIP(STRING, STRING)");
}

TEST_F(NetworkBuiltinsTest, CidrParts) {
  EXPECT_EQ(eval(R"(string(cidr("192.168.1.5/24").ip()))"), "192.168.1.5");
  EXPECT_EQ(eval(R"(string(cidr("192.168.1.5/24").masked()))"), "192.168.1.0/24");
  EXPECT_EQ(eval(R"(string(cidr("192.168.1.255/23").masked()))"), "192.168.0.0/23");
  EXPECT_EQ(eval(R"(string(cidr("2001:db8::1/32").masked()))"), "2001:db8::/32");
  EXPECT_EQ(eval(R"(cidr("192.168.1.5/24").prefixLength())"), "24");
  EXPECT_EQ(call("prefixLength", true, {str("1.2.3.4/8")}),
            "error: no such overload: prefixLength(STRING)");
  EXPECT_EQ(call("masked", true, {Value::makeInt(1)}), "error: no such overload: masked(INT64)");
}

TEST_F(NetworkBuiltinsTest, DnsNames) {
  EXPECT_EQ(eval(R"(dnsName("Foo.Example.com.") == dnsName("foo.example.com"))", Dialect::kCexl),
            "true");
  EXPECT_EQ(eval(R"(dnsName("a_b.example.com"))", Dialect::kCexl), "a_b.example.com");
  EXPECT_EQ(eval(R"(dnsName("a..b"))", Dialect::kCexl),
            R"(error: error converting 'a..b' to dns name: 'idna: invalid label ""')");
  EXPECT_EQ(eval(R"(dnsName("-a.com"))", Dialect::kCexl),
            R"(error: error converting '-a.com' to dns name: 'idna: invalid label "-a"')");
  EXPECT_EQ(eval(R"(dnsName("a b.com"))", Dialect::kCexl),
            R"(error: error converting 'a b.com' to dns name: 'idna: invalid label "a b"')");
  EXPECT_EQ(eval(R"(dnsName(""))", Dialect::kCexl),
            R"(error: error converting '' to dns name: 'idna: invalid label ""')");
}

TEST_F(NetworkBuiltinsTest, EmailAddresses) {
  EXPECT_EQ(eval(R"(email("\"istio\"@istio.io") == email("istio@ISTIO.io"))", Dialect::kCexl),
            "true");
  EXPECT_EQ(eval(R"(email("Istio@istio.io") == email("istio@istio.io"))", Dialect::kCexl),
            "false");  // the local part is exact
  EXPECT_EQ(eval(R"(email("noat"))", Dialect::kCexl),
            "error: error converting 'noat' to e-mail: 'mail: missing @ in addr-spec'");
  EXPECT_EQ(eval(R"(email("@istio.io"))", Dialect::kCexl),
            "error: error converting '@istio.io' to e-mail: 'mail: missing @ in addr-spec'");
  EXPECT_EQ(eval(R"(email("a b@istio.io"))", Dialect::kCexl),
            "error: error converting 'a b@istio.io' to e-mail: 'mail: expected single address'");
  EXPECT_EQ(eval(R"(email("a@b..c"))", Dialect::kCexl),
            R"(error: error converting 'a@b..c' to e-mail: 'idna: invalid label ""')");
}

TEST_F(NetworkBuiltinsTest, Uris) {
  EXPECT_EQ(eval(R"(uri("HTTP://Example.COM/a") == uri("http://example.com/a"))", Dialect::kCexl),
            "true");
  EXPECT_EQ(eval(R"(uri("http://x.com/a") == uri("http://x.com/A"))", Dialect::kCexl), "false");
  EXPECT_EQ(eval(R"(uri("http://x.com:80/") == uri("http://x.com:8080/"))", Dialect::kCexl),
            "false");
  EXPECT_EQ(eval(R"(uri("ftp://HOST/a") == uri("ftp://host/a"))", Dialect::kCexl), "false");
  EXPECT_EQ(eval(R"(uri(""))", Dialect::kCexl),
            "error: error converting string to uri: empty string");
  EXPECT_EQ(eval(R"(uri(":foo"))", Dialect::kCexl),
            "error: error converting string to uri ':foo': 'parse :foo: missing protocol scheme'");
  EXPECT_EQ(
      eval(R"(uri("http://x/%zz"))", Dialect::kCexl),
      "error: error converting string to uri 'http://x/%zz': 'parse http://x/%zz: invalid URL "
      "escape \"%zz\"'");
  EXPECT_EQ(call("uri", false, {Value::makeInt(1)}), "error: no such overload: uri(INT64)");
}

}  // namespace
}  // namespace expr
