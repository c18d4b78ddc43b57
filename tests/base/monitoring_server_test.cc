// MonitoringServer: the monitoring endpoints mixs and pilot-discovery share. The binary's routes
// come first; the built-in endpoints answer only GET and HEAD; /readyz and /version exist only
// when configured; anything else gets the binary's 404 text.
#include "base/monitoring_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include <prometheus/counter.h>

#include "tests/testing/subprocess.h"

namespace mixer {
namespace {

using testing::httpGet;

// One request with `method`, the whole response back.
std::string send(int port, const std::string& method, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return "";
  }
  const std::string request =
      method + " " + path +
      " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  (void)::write(fd, request.data(), request.size());
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) {
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

TEST(MonitoringServerTest, ServesMetricsHealthAndTheBinarysRoutes) {
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildCounter().Name("probe_total").Help("h").Register(*registry).Add({}).Increment(3);
  std::atomic<bool> ready{false};
  MonitoringServer::Options o;
  o.host = "127.0.0.1";
  o.registry = registry;
  o.ready = [&ready] { return ready.load(); };
  o.version_json = "{\"version\":\"test\"}\n";
  o.routes.push_back(
      {[](std::string_view p) { return p.starts_with("/debug/"); },
       [](const HttpRequest& r) -> HttpResponse {
         return {200, "text/plain", std::string(r.method) + " " + std::string(r.path) + "\n"};
       }});
  o.routes.push_back({[](std::string_view p) { return p == "/form"; },
                      [](const HttpRequest& r) -> HttpResponse {
                        return {200, "text/plain", std::string(r.method) + "\n"};
                      },
                      /*any_method=*/true});
  o.not_found = "not found: try /debug/x\n";
  auto server = MonitoringServer::start(std::move(o));
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();

  auto [code, body] = httpGet(port, "/metrics");
  EXPECT_EQ(code, 200);
  EXPECT_NE(body.find("probe_total 3"), std::string::npos) << body;
  EXPECT_EQ(httpGet(port, "/healthz"), std::make_pair(200, std::string("ok\n")));
  EXPECT_EQ(httpGet(port, "/readyz"), std::make_pair(503, std::string("not ready\n")));
  ready = true;
  EXPECT_EQ(httpGet(port, "/readyz"), std::make_pair(200, std::string("ready\n")));
  EXPECT_EQ(httpGet(port, "/version"),
            std::make_pair(200, std::string("{\"version\":\"test\"}\n")));
  EXPECT_EQ(httpGet(port, "/debug/x"), std::make_pair(200, std::string("GET /debug/x\n")));
  EXPECT_EQ(httpGet(port, "/nowhere"),
            std::make_pair(404, std::string("not found: try /debug/x\n")));

  // A route that takes any method sees the POST; the others, and the built-in endpoints, refuse it.
  EXPECT_NE(send(port, "POST", "/form").find("\r\n\r\nPOST\n"), std::string::npos);
  EXPECT_NE(send(port, "POST", "/debug/x").find("405"), std::string::npos);
  EXPECT_NE(send(port, "POST", "/metrics").find("405"), std::string::npos);
}

TEST(MonitoringServerTest, WithoutReadyOrVersionThoseAreNotFound) {
  MonitoringServer::Options o;
  o.host = "127.0.0.1";
  o.registry = std::make_shared<prometheus::Registry>();
  auto server = MonitoringServer::start(std::move(o));
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(httpGet((*server)->port(), "/readyz").first, 404);
  EXPECT_EQ(httpGet((*server)->port(), "/version").first, 404);
  EXPECT_EQ(httpGet((*server)->port(), "/healthz").first, 200);
}

TEST(MonitoringServerTest, APortInUseIsAnErrorNamingTheEndpoints) {
  MonitoringServer::Options a;
  a.host = "127.0.0.1";
  auto first = MonitoringServer::start(std::move(a));
  ASSERT_TRUE(first.ok());
  MonitoringServer::Options b;
  b.host = "127.0.0.1";
  b.port = (*first)->port();
  auto second = MonitoringServer::start(std::move(b));
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("(the monitoring endpoints)"), std::string::npos)
      << second.status();
}

}  // namespace
}  // namespace mixer
