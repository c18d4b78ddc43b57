// HttpServer: the monitoring ports' event-loop HTTP server keeps answering while idle and slow
// clients hold connections, closes connections that do not send a request in time, refuses
// oversized headers and stops at once.
#include "mixer/common/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace mixer {
namespace {

using Clock = std::chrono::steady_clock;

int connectTo(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Reads until the peer closes or `timeout` passes; returns what came and whether it closed.
std::pair<std::string, bool> readAll(int fd, std::chrono::milliseconds timeout) {
  std::string out;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      return {out, false};
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) {
      continue;
    }
    char buf[4096];
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) {
      return {out, true};
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

std::string request(int port, const std::string& text,
                    std::chrono::milliseconds timeout = std::chrono::seconds(2)) {
  const int fd = connectTo(port);
  if (fd < 0) {
    return "";
  }
  (void)!write(fd, text.data(), text.size());
  auto [out, closed] = readAll(fd, timeout);
  close(fd);
  return closed ? out : "(no answer) " + out;
}

std::string get(int port, const std::string& path) {
  return request(port, "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
}

std::unique_ptr<HttpServer> startServer(HttpServer::Options options = {}) {
  options.host = "127.0.0.1";
  auto s = HttpServer::start(options, [](const std::string& path) -> HttpResponse {
    if (path == "/healthz") {
      return {200, "text/plain", "ok\n"};
    }
    return {404, "text/plain", "no\n"};
  });
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}

TEST(HttpServerTest, AnswersGetAndHeadAndRefusesOtherMethods) {
  auto s = startServer();
  ASSERT_TRUE(s);
  const std::string ok = get(s->port(), "/healthz?x=1");
  EXPECT_EQ(ok.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << ok;
  EXPECT_NE(ok.find("Content-Length: 3\r\n"), std::string::npos) << ok;
  EXPECT_NE(ok.find("\r\n\r\nok\n"), std::string::npos) << ok;
  const std::string head = request(s->port(), "HEAD /healthz HTTP/1.1\r\n\r\n");
  EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n") << head;
  EXPECT_EQ(get(s->port(), "/nope").rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(request(s->port(), "POST /healthz HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 405", 0), 0u);
  EXPECT_EQ(request(s->port(), "garbage\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
}

TEST(HttpServerTest, ParsesHeaderFieldsLowerCasedAndTrimmed) {
  std::string head =
      "POST /auth?q=1 HTTP/1.1\r\nHost: a:1\r\nX-Original-URI:  /p?x \r\nX-A: 1\r\nx-a:2\r\n\r\n";
  HttpRequest r;
  ASSERT_EQ(parseHttpRequest(&head, true, &r), 0);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/auth");
  ASSERT_EQ(r.headers.size(), 4u);
  EXPECT_EQ(r.headers[0], (std::pair<std::string_view, std::string_view>("host", "a:1")));
  EXPECT_EQ(r.headers[1],
            (std::pair<std::string_view, std::string_view>("x-original-uri", "/p?x")));
  EXPECT_EQ(r.headers[2].first, "x-a");
  EXPECT_EQ(r.headers[3], (std::pair<std::string_view, std::string_view>("x-a", "2")));
  head = "POST / HTTP/1.1\r\n\r\n";
  EXPECT_EQ(parseHttpRequest(&head, false, &r), 405);
  for (std::string bad :
       {"GET / HTTP/1.1\r\nno colon\r\n\r\n", "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Name: b\r\n\r\n", "GET / HTTP/1.1\r\nA: b\nc\r\n\r\n",
        "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", "G(T / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nA: b\r\n"}) {
    EXPECT_EQ(parseHttpRequest(&bad, true, &r), 400) << bad;
  }
  EXPECT_EQ(httpHeaderValue("a\r\nSet-Cookie: x\x01"), "a  Set-Cookie: x ");
  EXPECT_TRUE(isHttpToken("X-Mixer-User"));
  EXPECT_FALSE(isHttpToken("x y"));
  EXPECT_FALSE(isHttpToken(""));
}

TEST(HttpServerTest, RequestHandlerSeesHeadersAnyMethodAndSetsResponseHeaders) {
  HttpServer::Options options;
  options.host = "127.0.0.1";
  options.any_method = true;
  auto s = HttpServer::start(options, [](const HttpRequest& r) {
    HttpResponse out(200, "text/plain", std::string(r.method) + "\n");
    for (const auto& [name, value] : r.headers) {
      if (name == "x-in") out.headers.emplace_back("X-Out", std::string(value));
    }
    return out;
  });
  ASSERT_TRUE(s.ok()) << s.status();
  const std::string a = request((*s)->port(), "PUT /x HTTP/1.1\r\nX-In: v\r\n\r\n");
  EXPECT_EQ(a.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << a;
  EXPECT_NE(a.find("\r\nX-Out: v\r\n"), std::string::npos) << a;
  EXPECT_NE(a.find("\r\n\r\nPUT\n"), std::string::npos) << a;
  EXPECT_EQ(request((*s)->port(), "GET / HTTP/1.1\r\nbad\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
}

TEST(HttpServerTest, HundredIdleConnectionsAndASlowClientDoNotDelayAProbe) {
  auto s = startServer();  // the defaults: 64 connections, 5 s read timeout
  ASSERT_TRUE(s);
  std::vector<int> idle;
  for (int i = 0; i < 100; ++i) {
    const int fd = connectTo(s->port());
    ASSERT_GE(fd, 0);
    idle.push_back(fd);
  }
  std::atomic<bool> stop{false};
  std::thread slowloris([&] {
    const int fd = connectTo(s->port());
    const std::string text = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    for (size_t i = 0; i < text.size() && !stop; ++i) {
      (void)!write(fd, &text[i], 1);
      for (int t = 0; t < 10 && !stop; ++t) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    close(fd);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  for (int i = 0; i < 5; ++i) {
    const auto start = Clock::now();
    const std::string r = get(s->port(), "/healthz");
    EXPECT_EQ(r.rfind("HTTP/1.1 200", 0), 0u) << r;
    EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(500));
  }
  stop = true;
  slowloris.join();
  for (int fd : idle) {
    close(fd);
  }
}

TEST(HttpServerTest, ConnectionIdlePastTheReadTimeoutIsClosed) {
  HttpServer::Options options;
  options.read_timeout = std::chrono::milliseconds(300);
  auto s = startServer(options);
  ASSERT_TRUE(s);
  const int silent = connectTo(s->port());
  const int partial = connectTo(s->port());
  ASSERT_GE(silent, 0);
  ASSERT_GE(partial, 0);
  (void)!write(partial, "GET /hea", 8);
  const auto start = Clock::now();
  auto [out, closed] = readAll(silent, std::chrono::seconds(3));
  EXPECT_TRUE(closed);
  EXPECT_EQ(out, "");
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(200));
  auto [out2, closed2] = readAll(partial, std::chrono::seconds(3));
  EXPECT_TRUE(closed2);
  EXPECT_EQ(out2.rfind("HTTP/1.1 408", 0), 0u) << out2;
  close(silent);
  close(partial);
}

TEST(HttpServerTest, OversizedHeaderGets431) {
  HttpServer::Options options;
  options.max_header_bytes = 1024;
  auto s = startServer(options);
  ASSERT_TRUE(s);
  const std::string r =
      request(s->port(), "GET /healthz HTTP/1.1\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 431", 0), 0u) << r;
  EXPECT_EQ(get(s->port(), "/healthz").rfind("HTTP/1.1 200", 0), 0u);
}

TEST(HttpServerTest, StopsAtOnceWithConnectionsOpen) {
  auto s = startServer();
  ASSERT_TRUE(s);
  const int fd = connectTo(s->port());
  ASSERT_GE(fd, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto start = Clock::now();
  s.reset();
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(100));
  auto [out, closed] = readAll(fd, std::chrono::seconds(1));
  EXPECT_TRUE(closed);
  close(fd);
}

}  // namespace
}  // namespace mixer
