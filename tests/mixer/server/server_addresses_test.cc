// Where mixs' listeners go by default: the embedded prometheus exposition follows the monitoring
// host; the connection limit stays below the open-file limit, and a bad lean address.
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

// The lean port's address is checked before anything starts.
TEST(ServerAddressesTest, ABadLeanAddressIsAnErrorThatNamesIt) {
  ServerOptions o;
  o.address = "127.0.0.1:0";
  o.monitoring_port = -1;
  o.lean_address = "9095";
  std::vector<config::ConfigError> errors;
  auto s = MixsServer::start(o, &errors);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("--lean-address '9095' is not host:port"), std::string::npos)
      << s.status();
}

}  // namespace
}  // namespace mixer::server
