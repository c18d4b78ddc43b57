#include "expr/ip_address.h"

#include <string>

#include "gtest/gtest.h"

namespace expr {
namespace {

const std::string kMappedPrefix("\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);

TEST(IpAddressTest, ParsesIpv4AsSixteenMappedBytes) {
  std::string b;
  ASSERT_TRUE(parseIp("10.1.2.3", &b));
  EXPECT_EQ(b, kMappedPrefix + std::string("\x0a\x01\x02\x03", 4));
  ASSERT_TRUE(parseIp("::ffff:10.1.2.3", &b));  // the dotted mapped form is the same address
  EXPECT_EQ(b, kMappedPrefix + std::string("\x0a\x01\x02\x03", 4));
}

TEST(IpAddressTest, ParsesIpv6) {
  std::string b;
  ASSERT_TRUE(parseIp("2001:db8::1", &b));
  EXPECT_EQ(b, std::string("\x20\x01\x0d\xb8", 4) + std::string(11, '\0') + "\x01");
  ASSERT_TRUE(parseIp("::", &b));
  EXPECT_EQ(b, std::string(16, '\0'));
}

TEST(IpAddressTest, RejectsMalformedAddressesAndZones) {
  std::string b = "unchanged";
  EXPECT_FALSE(parseIp("10.1.12", &b));
  EXPECT_FALSE(parseIp("256.1.1.1", &b));
  EXPECT_FALSE(parseIp("1.2.3.4 ", &b));
  EXPECT_FALSE(parseIp("fe80::1%eth0", &b));
  EXPECT_FALSE(parseIp("2001:db8:::1", &b));
  EXPECT_FALSE(parseIp("", &b));
  EXPECT_EQ(b, "unchanged");
}

TEST(IpAddressTest, FormatsLikeGo) {
  EXPECT_EQ(formatIp(std::string("\x0a\x01\x02\x03", 4)), "10.1.2.3");
  EXPECT_EQ(formatIp(kMappedPrefix + std::string("\x0a\x01\x02\x03", 4)), "10.1.2.3");
  EXPECT_EQ(formatIp(std::string("\x20\x01\x0d\xb8", 4) + std::string(11, '\0') + "\x01"),
            "2001:db8::1");
  EXPECT_EQ(formatIp(std::string(16, '\0')), "::");
  EXPECT_EQ(formatIp("abcde"), "?5");  // neither 4 nor 16 bytes
  EXPECT_EQ(formatIp(""), "?0");
}

TEST(IpAddressTest, IsIpv4) {
  EXPECT_TRUE(isIpv4(std::string("\x7f\0\0\x01", 4)));
  EXPECT_TRUE(isIpv4(kMappedPrefix + std::string("\x7f\0\0\x01", 4)));
  EXPECT_FALSE(isIpv4(std::string(15, '\0') + "\x01"));
  EXPECT_FALSE(isIpv4("abc"));
}

}  // namespace
}  // namespace expr
