// Where mixs' listeners go by default: the embedded prometheus exposition follows the monitoring
// host; the connection limit stays below the open-file limit.
#include <gtest/gtest.h>

#include "mixer/server/grpc_acceptor.h"
#include "mixer/server/mixs_server.h"

namespace mixer::server {
namespace {

TEST(ServerAddressesTest, PrometheusFollowsTheMonitoringHost) {
  EXPECT_EQ(defaultPrometheusAddress(""), ":42422");
  EXPECT_EQ(defaultPrometheusAddress("0.0.0.0"), ":42422");
  EXPECT_EQ(defaultPrometheusAddress("::"), ":42422");
  EXPECT_EQ(defaultPrometheusAddress("127.0.0.1"), "127.0.0.1:42422");
  EXPECT_EQ(defaultPrometheusAddress("10.1.2.3"), "10.1.2.3:42422");
  EXPECT_EQ(defaultPrometheusAddress("::1"), "127.0.0.1:42422");
  EXPECT_EQ(defaultPrometheusAddress("localhost"), "127.0.0.1:42422");
}

TEST(ServerAddressesTest, DefaultMaxConnectionsStaysBelowTheOpenFileLimit) {
  EXPECT_EQ(defaultMaxConnections(1048576), 10000);
  EXPECT_EQ(defaultMaxConnections(20000), 10000);
  EXPECT_EQ(defaultMaxConnections(1024), 768);
  EXPECT_EQ(defaultMaxConnections(256), 128);
  EXPECT_EQ(defaultMaxConnections(1), 1);
}

TEST(ServerAddressesTest, SplitHostPort) {
  std::string host;
  int port = 0;
  ASSERT_TRUE(splitHostPort("[::1]:9093", &host, &port));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 9093);
  ASSERT_TRUE(splitHostPort(":9093", &host, &port));
  EXPECT_EQ(host, "");
  EXPECT_FALSE(splitHostPort("9093", &host, &port));
}

}  // namespace
}  // namespace mixer::server
