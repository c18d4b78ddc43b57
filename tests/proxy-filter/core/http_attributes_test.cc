#include "proxy-filter/core/http_attributes.h"

#include <gtest/gtest.h>

namespace mixer::proxy {
namespace {

TEST(HttpAttributesTest, RequestAttributesUseIstiosVocabulary) {
  HttpRequestInfo r;
  r.method = "GET";
  r.path = "/books/1?lang=en&x";
  r.host = "bookinfo";
  r.scheme = "http";
  r.headers = {{"User-Agent", "curl/8"}, {"X-Request-Id", "abc"}, {"Accept", "a"}, {"accept", "b"}};
  r.size = 0;
  r.time = Timestamp(Duration(5));
  r.source_ip = "127.0.0.1";
  r.source_port = 5555;
  r.destination_ip = "::1";
  r.destination_port = 80;
  Attributes a;
  buildRequestAttributes(r, &a);
  EXPECT_EQ(std::get<std::string>(*a.find("request.method")), "GET");
  EXPECT_EQ(std::get<std::string>(*a.find("request.path")), "/books/1?lang=en&x");
  EXPECT_EQ(std::get<std::string>(*a.find("request.url_path")), "/books/1");
  EXPECT_EQ(std::get<StringMap>(*a.find("request.query_params")),
            (StringMap{{"lang", "en"}, {"x", ""}}));
  EXPECT_EQ(std::get<std::string>(*a.find("request.host")), "bookinfo");
  EXPECT_EQ(std::get<std::string>(*a.find("request.useragent")), "curl/8");
  EXPECT_EQ(std::get<std::string>(*a.find("request.id")), "abc");
  const auto& headers = std::get<StringMap>(*a.find("request.headers"));
  EXPECT_EQ(headers.at("accept"), "a,b");
  EXPECT_EQ(headers.at("user-agent"), "curl/8");
  EXPECT_EQ(std::get<int64_t>(*a.find("request.size")), 0);
  EXPECT_EQ(std::get<Bytes>(*a.find("source.ip")).data, std::string("\x7f\0\0\x01", 4));
  EXPECT_EQ(std::get<Bytes>(*a.find("destination.ip")).data.size(), 16u);
  EXPECT_EQ(std::get<int64_t>(*a.find("source.port")), 5555);
  EXPECT_EQ(std::get<int64_t>(*a.find("destination.port")), 80);
  EXPECT_EQ(std::get<std::string>(*a.find("context.protocol")), "http");
  EXPECT_TRUE(a.contains("request.time"));
  EXPECT_FALSE(a.contains("request.total_size"));  // unknown stays unset
}

TEST(HttpAttributesTest, ResponseAttributes) {
  HttpResponseInfo r;
  r.code = 404;
  r.size = 10;
  r.duration = std::chrono::milliseconds(3);
  r.headers = {{"Content-Type", "text/plain"}};
  Attributes a;
  buildResponseAttributes(r, &a);
  EXPECT_EQ(std::get<int64_t>(*a.find("response.code")), 404);
  EXPECT_EQ(std::get<int64_t>(*a.find("response.size")), 10);
  EXPECT_EQ(std::get<Duration>(*a.find("response.duration")), std::chrono::milliseconds(3));
  EXPECT_EQ(std::get<StringMap>(*a.find("response.headers")).at("content-type"), "text/plain");
}

TEST(HttpAttributesTest, InvalidAddressesAreLeftUnset) {
  HttpRequestInfo r;
  r.source_ip = "not-an-ip";
  Attributes a;
  buildRequestAttributes(r, &a);
  EXPECT_FALSE(a.contains("source.ip"));
  EXPECT_FALSE(ipAddressBytes("1.2.3.4.5"));
  EXPECT_FALSE(ipAddressBytes(std::string(100, '1')));
}

}  // namespace
}  // namespace mixer::proxy
