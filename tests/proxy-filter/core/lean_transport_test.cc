// LeanTransport against servers that do what a standard gRPC server may do at the HTTP/2 level,
// beyond answering: refuse a stream (RST_STREAM REFUSED_STREAM), or send GOAWAY with streams in
// flight above its last stream id, or below it (draining). The server here is an in-test HTTP/2
// server from libnghttp2 on a loopback ephemeral port that each test scripts per request. Also:
// a DNS name resolved again while the transport runs, through the transport's resolver seam.
// (transport_test.cc covers what both transports do against a gRPC C++ server.)
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proxy-filter/core/lean_transport.h"
#include "tests/proxy-filter/core/scripted_mixer.h"

namespace mixer::proxy {
namespace {

using istio::mixer::v1::CheckRequest;
using istio::mixer::v1::CheckResponse;

// What the server does with a request whose body has arrived.
enum class Action {
  kAnswer,        // a trailers-only answer: grpc-status 7, "connection C request R"
  kRefuse,        // RST_STREAM REFUSED_STREAM
  kGoAwayBefore,  // GOAWAY whose last stream is below this one, then the connection is closed
  kGoAwayAfter,   // GOAWAY whose last stream is this one, then the answer (a draining server)
};

// An HTTP/2 server on 127.0.0.1:<ephemeral port>, one thread, that applies `script` to every
// request: script(connection, request) numbers both from 0 in the order they came.
class H2ScriptServer {
 public:
  using Script = std::function<Action(int connection, int request)>;

  explicit H2ScriptServer(Script script) : script_(std::move(script)) {
    listen_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(listen_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(listen_, 16) != 0 ||
        getsockname(listen_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return;
    }
    port_ = ntohs(addr.sin_port);
    if (pipe(stop_) != 0) return;
    thread_ = std::thread([this] { run(); });
  }
  ~H2ScriptServer() {
    if (thread_.joinable()) {
      const char byte = 0;
      (void)!write(stop_[1], &byte, 1);
      thread_.join();
    }
    for (auto& c : conns_) closeConn(*c);
    close(listen_);
    close(stop_[0]);
    close(stop_[1]);
  }

  bool started() const { return thread_.joinable(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int connections() const { return accepted_.load(); }
  int requests() const { return requests_.load(); }

 private:
  struct Conn {
    H2ScriptServer* server = nullptr;
    int fd = -1;
    int index = 0;
    nghttp2_session* h2 = nullptr;
    bool close_after_send = false;  // after GOAWAY: our side ends, then we read to the end
    bool half_closed = false;
  };

  void run() {
    for (;;) {
      std::vector<pollfd> fds{{stop_[0], POLLIN, 0}, {listen_, POLLIN, 0}};
      for (auto& c : conns_) fds.push_back({c->fd, POLLIN, 0});
      if (poll(fds.data(), fds.size(), -1) < 0) continue;
      if (fds[0].revents != 0) return;
      if (fds[1].revents != 0) accept();
      for (size_t i = 2; i < fds.size(); ++i) {
        if (fds[i].revents != 0) receive(*conns_[i - 2]);
      }
      std::erase_if(conns_, [this](const std::unique_ptr<Conn>& c) {
        if (c->fd >= 0) return false;
        closeConn(*c);
        return true;
      });
    }
  }

  void accept() {
    const int fd = accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    auto c = std::make_unique<Conn>();
    c->server = this;
    c->fd = fd;
    c->index = accepted_++;
    nghttp2_session_callbacks* callbacks = nullptr;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &onFrame);
    nghttp2_session_server_new(&c->h2, callbacks, c.get());
    nghttp2_session_callbacks_del(callbacks);
    nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, nullptr, 0);
    send(*c);
    conns_.push_back(std::move(c));
  }

  void receive(Conn& c) {
    uint8_t buf[16384];
    const ssize_t n = read(c.fd, buf, sizeof(buf));
    if (n <= 0 ||
        (!c.half_closed && nghttp2_session_mem_recv(c.h2, buf, static_cast<size_t>(n)) < 0)) {
      shut(c);
      return;
    }
    if (c.half_closed) return;  // read to the client's end, so that closing sends no reset
    send(c);
  }

  static void send(Conn& c) {
    for (;;) {
      const uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(c.h2, &data);
      if (n <= 0) break;
      for (ssize_t off = 0; off < n;) {
        const ssize_t w = write(c.fd, data + off, static_cast<size_t>(n - off));
        if (w <= 0) {
          shut(c);
          return;
        }
        off += w;
      }
    }
    if (c.close_after_send && !c.half_closed) {
      shutdown(c.fd, SHUT_WR);
      c.half_closed = true;
    }
  }

  static void shut(Conn& c) {
    if (c.fd >= 0) close(c.fd);
    c.fd = -1;
  }
  static void closeConn(Conn& c) {
    shut(c);
    if (c.h2 != nullptr) nghttp2_session_del(c.h2);
    c.h2 = nullptr;
  }

  static nghttp2_nv header(const char* name, const std::string& value) {
    return {reinterpret_cast<uint8_t*>(const_cast<char*>(name)),
            reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), strlen(name), value.size(),
            NGHTTP2_NV_FLAG_NONE};
  }

  static int onFrame(nghttp2_session* h2, const nghttp2_frame* frame, void* user) {
    const bool request_ends =
        (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (!request_ends) return 0;
    auto* c = static_cast<Conn*>(user);
    H2ScriptServer* server = c->server;
    const int request = server->requests_++;
    const int32_t id = frame->hd.stream_id;
    switch (server->script_(c->index, request)) {
      case Action::kRefuse:
        nghttp2_submit_rst_stream(h2, NGHTTP2_FLAG_NONE, id, NGHTTP2_REFUSED_STREAM);
        return 0;
      case Action::kGoAwayBefore:
        nghttp2_submit_goaway(h2, NGHTTP2_FLAG_NONE, std::max(0, id - 2), NGHTTP2_NO_ERROR, nullptr,
                              0);
        c->close_after_send = true;
        return 0;
      case Action::kGoAwayAfter:
        nghttp2_submit_goaway(h2, NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR, nullptr, 0);
        break;
      case Action::kAnswer:
        break;
    }
    const std::string message =
        "connection " + std::to_string(c->index) + " request " + std::to_string(request);
    const std::string status = "200", type = "application/grpc", code = "7";
    const nghttp2_nv headers[] = {header(":status", status), header("content-type", type),
                                  header("grpc-status", code), header("grpc-message", message)};
    nghttp2_submit_response(h2, id, headers, 4, nullptr);
    return 0;
  }

  Script script_;
  int listen_ = -1;
  int stop_[2] = {-1, -1};
  int port_ = 0;
  std::thread thread_;
  std::vector<std::unique_ptr<Conn>> conns_;  // the server's thread only
  std::atomic<int> accepted_{0};
  std::atomic<int> requests_{0};
};

struct Outcome {
  grpc::Status status;
  CheckResponse response;
};

Outcome check(MixerTransport& transport) {
  CheckRequest request;
  request.set_global_word_count(222);
  request.set_deduplication_id("dedup");
  auto done = std::make_shared<std::promise<Outcome>>();
  transport.check(request, [done](const grpc::Status& s, const CheckResponse& r) {
    done->set_value({s, r});
  });
  return done->get_future().get();
}

std::unique_ptr<LeanTransport> makeLean(const std::string& address, int max_retries,
                                        LeanTransportOptions o = {}) {
  o.address = address;
  o.timeout_ms = 10000;
  o.max_retries = max_retries;
  o.base_retry_ms = 1;
  o.max_retry_ms = 5;
  auto made = LeanTransport::create(std::move(o));
  EXPECT_TRUE(made.ok()) << made.status();
  return made.ok() ? *std::move(made) : nullptr;
}

TEST(LeanTransportH2Test, ARefusedStreamIsSentAgainOnceAtNoRetrysCost) {
  // No retries: the second attempt is the refused stream's resend, not a retry.
  H2ScriptServer server(
      [](int, int request) { return request == 0 ? Action::kRefuse : Action::kAnswer; });
  ASSERT_TRUE(server.started());
  auto transport = makeLean(server.address(), 0);
  ASSERT_NE(transport, nullptr);
  const Outcome out = check(*transport);
  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(out.status.error_message(), "connection 0 request 1");
  EXPECT_EQ(server.requests(), 2);
  EXPECT_EQ(server.connections(), 1);  // a refused stream leaves its connection up
}

TEST(LeanTransportH2Test, AStreamRefusedTwiceFailsUnavailableWithoutRetries) {
  H2ScriptServer server([](int, int) { return Action::kRefuse; });
  ASSERT_TRUE(server.started());
  auto transport = makeLean(server.address(), 0);
  ASSERT_NE(transport, nullptr);
  const Outcome out = check(*transport);
  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(out.status.error_message().find("REFUSED_STREAM"), std::string::npos)
      << out.status.error_message();
  EXPECT_EQ(server.requests(), 2);  // sent, refused, sent again once, refused: no more
}

TEST(LeanTransportH2Test, ARefusedResendDoesNotUseUpTheRetries) {
  // Refused three times, answered the fourth time: with two retries, only if the resend (the
  // 2nd request) did not count as one (the retries are the 3rd and 4th).
  H2ScriptServer server(
      [](int, int request) { return request < 3 ? Action::kRefuse : Action::kAnswer; });
  ASSERT_TRUE(server.started());
  auto transport = makeLean(server.address(), 2);
  ASSERT_NE(transport, nullptr);
  const Outcome out = check(*transport);
  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << out.status.error_message();
  EXPECT_EQ(out.status.error_message(), "connection 0 request 3");
  EXPECT_EQ(server.requests(), 4);
}

TEST(LeanTransportH2Test, AStreamAboveAGoAwaysLastStreamIsSentAgainOnANewConnection) {
  H2ScriptServer server([](int connection, int) {
    return connection == 0 ? Action::kGoAwayBefore : Action::kAnswer;
  });
  ASSERT_TRUE(server.started());
  auto transport = makeLean(server.address(), 0);
  ASSERT_NE(transport, nullptr);
  const Outcome out = check(*transport);
  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << out.status.error_message();
  EXPECT_EQ(out.status.error_message(), "connection 1 request 1");
  EXPECT_EQ(server.connections(), 2);
  EXPECT_EQ(transport->connections(), 2);
}

TEST(LeanTransportH2Test, ADrainingConnectionFinishesItsStreamAndTakesNoNewOne) {
  // GOAWAY at or above the stream: it is answered where it was sent; the next call goes to a new
  // connection, and is not sent again.
  H2ScriptServer server(
      [](int connection, int) { return connection == 0 ? Action::kGoAwayAfter : Action::kAnswer; });
  ASSERT_TRUE(server.started());
  auto transport = makeLean(server.address(), 0);
  ASSERT_NE(transport, nullptr);
  Outcome out = check(*transport);
  EXPECT_EQ(out.status.error_message(), "connection 0 request 0");
  out = check(*transport);
  EXPECT_EQ(out.status.error_message(), "connection 1 request 1");
  EXPECT_EQ(server.requests(), 2);
  EXPECT_EQ(server.connections(), 2);
}

// Calls until one is answered by `server` (each to whichever replica the transport picks), at
// most `limit`; true when one was.
bool reaches(MixerTransport& transport, testing::ScriptedMixerServer& server, int limit) {
  for (int i = 0; i < limit; ++i) {
    const size_t before = server.mixer().checks().size();
    const Outcome out = check(transport);
    if (out.status.ok() && server.mixer().checks().size() > before) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST(LeanTransportResolveTest, ANameIsResolvedAgainAndFollowsItsNewAddresses) {
  testing::ScriptedMixerServer first("127.0.0.1");
  ASSERT_TRUE(first.started());
  // The second replica: the same port on another loopback address.
  testing::ScriptedMixerServer second("127.0.0.2", first.port());
  ASSERT_TRUE(second.started());
  std::mutex mu;
  std::vector<std::string> answer{"127.0.0.1"};
  std::atomic<int> lookups{0};
  LeanTransportOptions o;
  o.resolve_every_ms = 50;
  o.resolve_name = [&](const std::string& name) {
    EXPECT_EQ(name, "mixer.example");
    ++lookups;
    std::lock_guard<std::mutex> lock(mu);
    return answer;
  };
  auto transport = makeLean("mixer.example:" + std::to_string(first.port()), 0, o);
  ASSERT_NE(transport, nullptr);
  EXPECT_TRUE(reaches(*transport, first, 1));
  EXPECT_TRUE(second.mixer().checks().empty());

  // The name now names the second replica only: after the next resolution every call goes there.
  {
    std::lock_guard<std::mutex> lock(mu);
    answer = {"127.0.0.2"};
  }
  ASSERT_TRUE(reaches(*transport, second, 200));
  const size_t at_first = first.mixer().checks().size();
  for (int i = 0; i < 10; ++i) {
    const Outcome out = check(*transport);
    EXPECT_TRUE(out.status.ok()) << out.status.error_message();
  }
  EXPECT_EQ(first.mixer().checks().size(), at_first);

  // A failed resolution keeps the replicas the name had.
  {
    std::lock_guard<std::mutex> lock(mu);
    answer.clear();
  }
  const int seen = lookups.load();
  while (lookups.load() < seen + 2) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const size_t at_second = second.mixer().checks().size();
  const Outcome out = check(*transport);
  EXPECT_TRUE(out.status.ok()) << out.status.error_message();
  EXPECT_EQ(second.mixer().checks().size(), at_second + 1);
  EXPECT_EQ(first.mixer().checks().size(), at_first);
}

}  // namespace
}  // namespace mixer::proxy
