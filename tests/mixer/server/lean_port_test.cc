// The lean port (lean_port.h) against gRPC C++ clients over loopback: the generated Mixer stub
// and hand-built calls. The service behind it is the real MixerService over the raw C fixture
// adapter's quota, which answers inside its call ("ok") or later from a host timer ("late").
#include "mixer/server/lean_port.h"

#include <arpa/inet.h>
#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mixer/adapter_host/adapter_host.h"
#include "mixer/runtime/config_snapshot.h"
#include "mixer/v1/mixer.grpc.pb.h"
#include "tests/mixer/server/late_quota.h"
#include "tests/mixer/server/lean_client.h"
#include "tests/testing/raw_grpc.h"

namespace mixer::server {
namespace {

using istio::mixer::v1::CheckRequest;
using istio::mixer::v1::CheckResponse;
using namespace std::chrono_literals;

TEST(GrpcTimeoutTest, ParsesEveryUnitAndRefusesWhatIsNotOne) {
  EXPECT_EQ(parseGrpcTimeout("1H"), std::chrono::hours(1));
  EXPECT_EQ(parseGrpcTimeout("2M"), std::chrono::minutes(2));
  EXPECT_EQ(parseGrpcTimeout("3S"), std::chrono::seconds(3));
  EXPECT_EQ(parseGrpcTimeout("250m"), std::chrono::milliseconds(250));
  EXPECT_EQ(parseGrpcTimeout("99999999u"), std::chrono::microseconds(99999999));
  EXPECT_EQ(parseGrpcTimeout("7n"), std::chrono::nanoseconds(7));
  for (const char* bad : {"", "S", "5", "5s", "5x", "123456789S", "-5S", "1.5S", " 5S"}) {
    EXPECT_FALSE(parseGrpcTimeout(bad).has_value()) << bad;
  }
}

class LeanPortTest : public ::testing::Test {
 protected:
  LeanPortTest() : host_(hostOptions()) {}
  ~LeanPortTest() override {
    if (port_) port_->stop(0ms);
  }

  static adapter_host::AdapterHost::Options hostOptions() {
    adapter_host::AdapterHost::Options o;
    o.adapter_dirs = {FIXTURE_DIR};
    return o;
  }

  // The service over the fixture's quota and a lean port in front of it.
  void serve(int delay_ms, const std::string& mode, LeanPort::Options options = {}) {
    std::vector<config::ConfigError> errors;
    auto snapshot = runtime::compileSnapshot(lateQuotaModel(delay_ms, mode), host_.registry(),
                                             attribute::Vocabulary::builtin(), 1, &errors);
    ASSERT_NE(snapshot, nullptr) << (errors.empty() ? "" : errors[0].str());
    source_ = std::make_unique<runtime::FixedDispatcherSource>(
        std::make_shared<runtime::Dispatcher>(snapshot, nullptr, absl::Seconds(10)));
    service_ = std::make_unique<MixerService>(source_.get(), &metrics_, 1 << 20);
    options.host = "127.0.0.1";
    auto port = LeanPort::listen(options, service_.get(), &metrics_);
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *std::move(port);
    port_->start();
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_->port()); }
  std::shared_ptr<grpc::Channel> channel() {
    return grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
  }

  // A TCP connection to the port that says nothing.
  int rawConnection() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port_->port()));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    return fd;
  }

  adapter_host::AdapterHost host_;  // outlives the handlers of the snapshot
  ServerMetrics metrics_;
  std::unique_ptr<runtime::FixedDispatcherSource> source_;
  std::unique_ptr<MixerService> service_;
  std::unique_ptr<LeanPort> port_;
};

CheckRequest checkRequest(int64_t amount, const std::string& dedup_id) {
  CheckRequest req;
  EXPECT_TRUE(req.ParseFromString(lateQuotaRequest(amount, dedup_id)));
  return req;
}

TEST_F(LeanPortTest, ACheckGetsTheAnswerTheServiceGivesInProcess) {
  ASSERT_NO_FATAL_FAILURE(serve(0, "ok"));
  auto stub = istio::mixer::v1::Mixer::NewStub(channel());
  for (int i = 1; i <= 3; ++i) {
    grpc::ClientContext ctx;
    CheckResponse over_lean;
    const grpc::Status s =
        stub->Check(&ctx, checkRequest(i, "id-" + std::to_string(i)), &over_lean);
    ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
    std::string bytes;
    ASSERT_TRUE(
        service_->checkInProcess(lateQuotaRequest(i, "id-" + std::to_string(i)), &bytes).ok());
    CheckResponse in_process;
    ASSERT_TRUE(in_process.ParseFromString(bytes));
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(over_lean, in_process))
        << over_lean.DebugString() << "\nvs\n"
        << in_process.DebugString();
    EXPECT_EQ(over_lean.quotas().at("requestcount").granted_amount(), i);
  }
}

// A quota the adapter grants at the port's flush finishes its Check on the port's own thread,
// outside the reading of its connection: the answer is written there and then (nothing else
// would wake the port for it: no more requests come).
TEST_F(LeanPortTest, AQuotaGrantedAtThePortsFlushIsAnsweredAtOnce) {
  // The fixture's "held" mode holds a call the host will flush for and grants it at the flush:
  // on the port's thread, after the pass that read the Check.
  ASSERT_NO_FATAL_FAILURE(serve(0, "held"));
  auto stub = istio::mixer::v1::Mixer::NewStub(channel());
  for (int i = 1; i <= 3; ++i) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    CheckResponse response;
    const grpc::Status s =
        stub->Check(&ctx, checkRequest(i, "held-" + std::to_string(i)), &response);
    ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
    const auto& q = response.quotas().at("requestcount");
    EXPECT_EQ(q.granted_amount(), i);
    EXPECT_EQ(q.valid_duration().nanos(), 2000);  // the fixture's mark of a grant at a flush
  }
}

TEST_F(LeanPortTest, ChecksWhoseQuotaAnswersLaterAreAllAnsweredOnOneConnection) {
  ASSERT_NO_FATAL_FAILURE(serve(/*delay_ms=*/300, "late"));
  auto stub = istio::mixer::v1::Mixer::NewStub(channel());
  grpc::CompletionQueue cq;
  constexpr int kCalls = 40;
  struct Call {
    grpc::ClientContext ctx;
    CheckResponse response;
    grpc::Status status;
    std::unique_ptr<grpc::ClientAsyncResponseReader<CheckResponse>> reader;
  };
  std::vector<std::unique_ptr<Call>> calls;
  for (int i = 0; i < kCalls; ++i) {
    auto c = std::make_unique<Call>();
    c->ctx.set_deadline(std::chrono::system_clock::now() + 20s);
    c->reader = stub->AsyncCheck(&c->ctx, checkRequest(i + 1, "late-" + std::to_string(i)), &cq);
    c->reader->Finish(&c->response, &c->status, c.get());
    calls.push_back(std::move(c));
  }
  for (int i = 0; i < kCalls; ++i) {
    void* tag;
    bool ok;
    ASSERT_TRUE(cq.Next(&tag, &ok));
  }
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(calls[i]->status.ok()) << calls[i]->status.error_message();
    EXPECT_EQ(calls[i]->response.quotas().at("requestcount").granted_amount(), i + 1);
  }
}

TEST_F(LeanPortTest, ReportsAreServedAndABadOneIsRefusedWithItsReason) {
  ASSERT_NO_FATAL_FAILURE(serve(0, "ok"));
  auto stub = istio::mixer::v1::Mixer::NewStub(channel());
  istio::mixer::v1::ReportRequest report;
  report.set_global_word_count(api::kGlobalWordCount);
  report.add_attributes();
  grpc::ClientContext ctx;
  istio::mixer::v1::ReportResponse response;
  const grpc::Status ok = stub->Report(&ctx, report, &response);
  EXPECT_TRUE(ok.ok()) << ok.error_message();

  // Field 1 (attributes) with a length past the end of the message.
  const grpc::Status bad =
      testing::rawUnaryCall(channel(), "/istio.mixer.v1.Mixer/Report", std::string("\x0a\x7f", 2));
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_FALSE(bad.error_message().empty());
  EXPECT_EQ(metrics_.invalidRequests(ServerMetrics::kReport).Value(), 1);
}

TEST_F(LeanPortTest, OtherMethodsAreUnimplemented) {
  ASSERT_NO_FATAL_FAILURE(serve(0, "ok"));
  const grpc::Status s =
      testing::rawUnaryCall(channel(), "/grpc.health.v1.Health/Check", std::string());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_NE(s.error_message().find("/grpc.health.v1.Health/Check"), std::string::npos)
      << s.error_message();
}

TEST_F(LeanPortTest, AMessageOverTheLimitIsRefusedAndTheConnectionServesOn) {
  LeanPort::Options o;
  o.limits.max_message_size = 1000;
  ASSERT_NO_FATAL_FAILURE(serve(0, "ok", o));
  auto ch = channel();
  for (const size_t size : {1001u, 200000u}) {  // in one DATA frame, and over several
    const grpc::Status s =
        testing::rawUnaryCall(ch, "/istio.mixer.v1.Mixer/Check", std::string(size, '\0'));
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << size;
    EXPECT_NE(s.error_message().find("vs. 1000"), std::string::npos) << s.error_message();
  }
  auto stub = istio::mixer::v1::Mixer::NewStub(ch);
  grpc::ClientContext ctx;
  CheckResponse response;
  EXPECT_TRUE(stub->Check(&ctx, checkRequest(1, "after"), &response).ok());
}

TEST_F(LeanPortTest, ACompressedRequestIsUnimplemented) {
  ASSERT_NO_FATAL_FAILURE(serve(0, "ok"));
  auto stub = istio::mixer::v1::Mixer::NewStub(channel());
  grpc::ClientContext ctx;
  ctx.set_compression_algorithm(GRPC_COMPRESS_GZIP);
  CheckResponse response;
  // Large and compressible: gRPC sends a message uncompressed when compressing does not shrink it.
  const grpc::Status s = stub->Check(&ctx, checkRequest(1, std::string(8000, 'z')), &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED) << s.error_message();
  EXPECT_NE(s.error_message().find("gzip"), std::string::npos) << s.error_message();
}

TEST_F(LeanPortTest, AClientThatGaveUpDoesNotStopTheOthers) {
  ASSERT_NO_FATAL_FAILURE(serve(/*delay_ms=*/500, "late"));
  auto ch = channel();
  auto stub = istio::mixer::v1::Mixer::NewStub(ch);
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 50ms);
    CheckResponse response;
    EXPECT_EQ(stub->Check(&ctx, checkRequest(1, "gave-up"), &response).error_code(),
              grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  // The late answer of the abandoned call arrives for a stream the client has reset.
  grpc::ClientContext ctx;
  CheckResponse response;
  const grpc::Status s = stub->Check(&ctx, checkRequest(2, "waited"), &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.quotas().at("requestcount").granted_amount(), 2);
}

TEST_F(LeanPortTest, StopAnswersTheChecksStillWaitingOnTheirQuota) {
  ASSERT_NO_FATAL_FAILURE(serve(/*delay_ms=*/400, "late"));
  auto stub = istio::mixer::v1::Mixer::NewStub(channel());
  CheckResponse response;
  grpc::Status status;
  std::thread client([&] {
    grpc::ClientContext ctx;
    status = stub->Check(&ctx, checkRequest(3, "at-stop"), &response);
  });
  // Stop once the call is in the service (the quota called, its answer 400 ms away).
  for (int i = 0; i < 500 && metrics_.inFlight(ServerMetrics::kCheck).Value() == 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(metrics_.inFlight(ServerMetrics::kCheck).Value(), 1);
  port_->stop(10s);
  client.join();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.quotas().at("requestcount").granted_amount(), 3);
  EXPECT_EQ(port_->connections(), 0);
}

TEST_F(LeanPortTest, AConnectionThatNeverSendsItsPrefaceIsClosedAtTheHandshakeDeadline) {
  LeanPort::Options o;
  o.handshake_timeout = 200ms;
  ASSERT_NO_FATAL_FAILURE(serve(0, "ok", o));
  const int fd = rawConnection();
  // The server's SETTINGS come first; then, with nothing from the client, the end of the stream.
  char buf[256];
  bool closed = false;
  for (int i = 0; i < 100 && !closed; ++i) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) == 1) closed = recv(fd, buf, sizeof(buf), 0) <= 0;
  }
  EXPECT_TRUE(closed);
  ::close(fd);
}

TEST_F(LeanPortTest, ConnectionsOverTheLimitWaitUntilOneCloses) {
  LeanPort::Options o;
  o.max_connections = 1;
  ASSERT_NO_FATAL_FAILURE(serve(0, "ok", o));
  const int fd = rawConnection();
  for (int i = 0; i < 100 && port_->connections() == 0; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(port_->connections(), 1);
  auto stub = istio::mixer::v1::Mixer::NewStub(channel());
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 300ms);
    CheckResponse response;
    EXPECT_FALSE(stub->Check(&ctx, checkRequest(1, "waits"), &response).ok());
  }
  ::close(fd);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 20s);
  ctx.set_wait_for_ready(true);
  CheckResponse response;
  const grpc::Status s = stub->Check(&ctx, checkRequest(1, "served"), &response);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

// Several ports on one port number (--lean-threads): the kernel spreads the connections over
// their listening sockets, and each port serves its own.
TEST_F(LeanPortTest, PortsSharingAPortNumberEachServeSomeOfTheConnections) {
  LeanPort::Options o;
  o.reuse_port = true;
  ASSERT_NO_FATAL_FAILURE(serve(0, "ok", o));
  o.host = "127.0.0.1";
  o.port = port_->port();
  o.thread_name = "mixs-lean-1";
  auto second = LeanPort::listen(o, service_.get(), &metrics_);
  ASSERT_TRUE(second.ok()) << second.status();
  (*second)->start();
  constexpr int kConnections = 24;  // all on one socket: a chance of 2^-23
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < kConnections; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
    channels.push_back(
        grpc::CreateCustomChannel(address(), grpc::InsecureChannelCredentials(), args));
    auto stub = istio::mixer::v1::Mixer::NewStub(channels.back());
    grpc::ClientContext ctx;
    CheckResponse response;
    const grpc::Status s = stub->Check(&ctx, checkRequest(1, "spread"), &response);
    ASSERT_TRUE(s.ok()) << i << ": " << s.error_message();
  }
  EXPECT_EQ(port_->connections() + (*second)->connections(), kConnections);
  EXPECT_GT(port_->connections(), 0);
  EXPECT_GT((*second)->connections(), 0);
  EXPECT_EQ(metrics_.leanConnections().Value(), kConnections);  // one gauge for both
  (*second)->stop(0ms);
  EXPECT_EQ(metrics_.leanConnections().Value(), port_->connections());
}

class NoCalls final : public LeanSession::Handler {
 public:
  void onCall(LeanSession*, int32_t, LeanSession::Method, std::string_view,
              runtime::CallDeadline) override {
    ADD_FAILURE() << "no request arrives whole";
  }
};

// Answers every call that reaches it with OK and an empty response; counts them.
class Counting final : public LeanSession::Handler {
 public:
  void onCall(LeanSession* session, int32_t stream, LeanSession::Method, std::string_view,
              runtime::CallDeadline) override {
    ++calls;
    session->answer(stream, grpc::Status::OK, {});
  }
  int calls = 0;
};

// Requests the port cannot serve get a clear answer, and reach no handler.
TEST(LeanSessionTest, MalformedRequestsGetAnAnswerThatSaysWhy) {
  Counting handler;
  LeanLimits limits;
  limits.max_metadata_size = 1024;
  LeanSession server(&handler, limits);
  InMemoryClient client(&server);
  using H = InMemoryClient::Headers;
  auto with = [](H headers, const std::string& name, const std::string& value) {
    for (auto& [n, v] : headers) {
      if (n == name) {
        v = value;
        return headers;
      }
    }
    headers.push_back({name, value});
    return headers;
  };
  const H check = InMemoryClient::checkHeaders();
  const std::string ok = InMemoryClient::message("x");
  struct Case {
    const char* name;
    int32_t stream;
    int http_status;
    int grpc_status;
    const char* says;
  };
  const std::vector<Case> cases = {
      {"not POST", client.request(with(check, ":method", "PUT"), ok), 405, -1, ""},
      {"not gRPC", client.request(with(check, "content-type", "application/json"), ok), 415, -1,
       ""},
      {"too much metadata", client.request(with(check, "x-pad", std::string(1200, 'p')), ok), 200,
       8, "--max-metadata-size"},
      {"bad grpc-timeout", client.request(with(check, "grpc-timeout", "1.5S"), ok), 200, 13,
       "malformed grpc-timeout"},
      {"no message", client.request(check, ""), 200, 13, "none came"},
      {"truncated prefix", client.request(check, std::string(3, '\0')), 200, 13,
       "prefix is truncated"},
      {"truncated message", client.request(check, ok.substr(0, ok.size() - 1)), 200, 13,
       "message is truncated"},
      {"two messages", client.request(check, ok + ok), 200, 13, "more came"},
      {"compressed, no encoding", client.request(check, InMemoryClient::message("x", true)), 200,
       13, "without a grpc-encoding"},
  };
  ASSERT_TRUE(client.exchange());
  for (const Case& c : cases) {
    const InMemoryClient::Answer a = client.answer(c.stream);
    EXPECT_EQ(a.http_status, c.http_status) << c.name;
    EXPECT_EQ(a.grpc_status, c.grpc_status) << c.name;
    EXPECT_NE(a.grpc_message.find(c.says), std::string::npos) << c.name << ": " << a.grpc_message;
  }
  EXPECT_EQ(handler.calls, 0);
  // A well-formed call on the same connection is served.
  const int32_t good = client.request(with(check, "grpc-timeout", "5S"), ok);
  ASSERT_TRUE(client.exchange());
  EXPECT_EQ(client.status(good), 0);
  EXPECT_EQ(handler.calls, 1);
}

// Without the limit, a client could make the server hold a message's worth of bytes on every
// stream it opens (1,024 streams of 1 MiB per connection).
TEST(LeanSessionTest, RequestsStillArrivingHoldAtMostTheConnectionsShare) {
  NoCalls handler;
  LeanLimits limits;
  limits.max_message_size = 100 * 1000;  // a connection may hold 400,000 bytes of them
  LeanSession server(&handler, limits);
  InMemoryClient client(&server);
  std::vector<int32_t> streams;
  for (int i = 0; i < 10; ++i) streams.push_back(client.partialCheck(60 * 1000));
  ASSERT_TRUE(client.exchange());
  EXPECT_LE(server.bufferedBytes(), 400u * 1000);
  EXPECT_GT(server.bufferedBytes(), 300u * 1000);  // the streams within the share are kept
  int refused = 0;
  int waiting = 0;
  for (const int32_t id : streams) {
    if (client.status(id) == static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED)) ++refused;
    if (client.status(id) == -1) ++waiting;
  }
  EXPECT_EQ(refused + waiting, 10);
  EXPECT_GE(refused, 3);
  EXPECT_EQ(server.limitRefusals(), static_cast<uint64_t>(refused));
}

TEST(LeanSessionTest, RequestsStillArrivingOnAPortShareItsLimit) {
  NoCalls handler;
  LeanLimits limits;
  limits.max_message_size = 100 * 1000;
  LeanBuffered port;
  port.limit = 150 * 1000;  // less than one connection's share
  LeanSession a(&handler, limits, &port);
  LeanSession b(&handler, limits, &port);
  InMemoryClient to_a(&a);
  InMemoryClient to_b(&b);
  const int32_t first = to_a.partialCheck(90 * 1000);
  ASSERT_TRUE(to_a.exchange());
  const int32_t second = to_b.partialCheck(90 * 1000);
  ASSERT_TRUE(to_b.exchange());
  EXPECT_EQ(to_a.status(first), -1);
  EXPECT_EQ(to_b.status(second), static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_LE(port.used, port.limit);
  EXPECT_EQ(port.used, a.bufferedBytes() + b.bufferedBytes());
}

TEST(LeanSessionTest, ARequestThatNeverEndsIsAnsweredAtTheRequestTimeout) {
  NoCalls handler;
  LeanLimits limits;
  limits.request_timeout = 50ms;
  LeanSession server(&handler, limits);
  InMemoryClient client(&server);
  const int32_t stream = client.partialCheck(1000);
  ASSERT_TRUE(client.exchange());
  const auto now = std::chrono::steady_clock::now();
  EXPECT_EQ(server.expireStalled(now), 0);
  EXPECT_EQ(server.expireStalled(now + 60ms), 1);
  ASSERT_TRUE(client.exchange());
  EXPECT_EQ(client.status(stream), static_cast<int>(grpc::StatusCode::DEADLINE_EXCEEDED));
  EXPECT_EQ(server.bufferedBytes(), 0u);
  EXPECT_EQ(server.openStreams(), 0u);  // answered, then reset
}

// A raw HTTP/2 client (libnghttp2) on one connection, for what a gRPC client never does on its
// own: pings at will, silence. Records the GOAWAY it gets.
class RawH2Client {
 public:
  explicit RawH2Client(int fd) : fd_(fd) {
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_frame_recv_callback(
        cb, [](nghttp2_session*, const nghttp2_frame* f, void* user) {
          if (f->hd.type == NGHTTP2_GOAWAY) {
            static_cast<RawH2Client*>(user)->goaway_ = static_cast<int>(f->goaway.error_code);
          }
          return 0;
        });
    nghttp2_session_client_new(&session_, cb, this);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~RawH2Client() {
    nghttp2_session_del(session_);
    ::close(fd_);
  }
  void ping() { nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr); }
  void send() {
    const uint8_t* data;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(session_, &data)) > 0) {
      ASSERT_EQ(::send(fd_, data, static_cast<size_t>(n), MSG_NOSIGNAL), n);
    }
  }
  // Reads until the server closes the connection (up to `wait`); true when it did.
  bool readUntilClosed(std::chrono::milliseconds wait) {
    const auto until = std::chrono::steady_clock::now() + wait;
    uint8_t buf[4096];
    while (std::chrono::steady_clock::now() < until) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) != 1) continue;
      const ssize_t r = recv(fd_, buf, sizeof(buf), 0);
      if (r <= 0) return true;
      nghttp2_session_mem_recv(session_, buf, static_cast<size_t>(r));
    }
    return false;
  }
  int goaway() const { return goaway_; }  // its error code; -1 for none

 private:
  int fd_;
  nghttp2_session* session_ = nullptr;
  int goaway_ = -1;
};

TEST_F(LeanPortTest, PingsCloserThanTheMinimumTimeAreStrikesAndEndTheConnection) {
  LeanPort::Options o;
  o.limits.keepalive_min_time = std::chrono::minutes(5);
  o.limits.max_ping_strikes = 2;
  ASSERT_NO_FATAL_FAILURE(serve(0, "ok", o));
  RawH2Client client(rawConnection());
  for (int i = 0; i < 4; ++i) client.ping();
  ASSERT_NO_FATAL_FAILURE(client.send());
  EXPECT_TRUE(client.readUntilClosed(10s));
  EXPECT_EQ(client.goaway(), NGHTTP2_ENHANCE_YOUR_CALM);
}

TEST_F(LeanPortTest, PingsWithinTheStrikesKeepTheConnection) {
  LeanPort::Options o;
  o.limits.max_ping_strikes = 2;
  ASSERT_NO_FATAL_FAILURE(serve(0, "ok", o));
  RawH2Client client(rawConnection());
  for (int i = 0; i < 3; ++i) client.ping();  // the first is no strike
  ASSERT_NO_FATAL_FAILURE(client.send());
  EXPECT_FALSE(client.readUntilClosed(500ms));
  EXPECT_EQ(client.goaway(), -1);
}

TEST_F(LeanPortTest, AnIdleConnectionIsSentGoawayAndClosed) {
  LeanPort::Options o;
  o.max_connection_idle = 200ms;
  ASSERT_NO_FATAL_FAILURE(serve(0, "ok", o));
  RawH2Client client(rawConnection());
  ASSERT_NO_FATAL_FAILURE(client.send());
  EXPECT_TRUE(client.readUntilClosed(10s));
  EXPECT_EQ(client.goaway(), NGHTTP2_NO_ERROR);
}

}  // namespace
}  // namespace mixer::server
