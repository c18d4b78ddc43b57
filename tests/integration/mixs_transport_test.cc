// mixs against careless and hostile clients at the transport: a real mixs process, raw sockets
// and gRPC channels over loopback. Each limit of docs/limits.md's "Connections and streams" and
// "Monitoring port" sections is taken just past its value here.
#include <arpa/inet.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "tests/testing/mixs_process.h"
#include "tests/testing/raw_grpc.h"
#include "tests/testing/subprocess.h"

namespace mixer {
namespace {

using testing::binDir;
using testing::runCommand;
using testing::Subprocess;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr char kCheck[] = "/istio.mixer.v1.Mixer/Check";

int connectTo(int port) { return testing::connectLoopback(port); }

// GET with a deadline: {status code or 0, body}.
std::pair<int, std::string> get(int port, const std::string& path,
                                std::chrono::milliseconds timeout = 2s) {
  const int fd = connectTo(port);
  if (fd < 0) {
    return {0, ""};
  }
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  (void)!write(fd, req.data(), req.size());
  std::string resp;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || poll(&p, 1, static_cast<int>(left)) <= 0) {
      close(fd);
      return {0, "(timeout) " + resp};
    }
    char buf[4096];
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) {
      break;
    }
    resp.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  const auto body = resp.find("\r\n\r\n");
  return {resp.rfind("HTTP/1.", 0) == 0 ? std::atoi(resp.c_str() + 9) : 0,
          body == std::string::npos ? "" : resp.substr(body + 4)};
}

// Polls `pred` every 50 ms until it holds or `timeout` passes.
template <typename F>
bool eventually(F pred, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

// A channel of its own (not sharing gRPC's global subchannel pool), so its own connection.
std::shared_ptr<grpc::Channel> ownChannel(const std::string& address,
                                          grpc::ChannelArguments args = {}) {
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

grpc::Status unary(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                   const std::string& bytes, std::chrono::milliseconds timeout = 10s,
                   std::string* response = nullptr,
                   const std::vector<std::pair<std::string, std::string>>& metadata = {}) {
  return testing::rawUnaryCall(channel, method, bytes, response, timeout, metadata);
}

// A call that stays open: headers sent, no message, until cancelled.
struct HeldCall {
  grpc::ClientContext ctx;
  grpc::CompletionQueue cq;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call;

  HeldCall(grpc::GenericStub* stub, const std::string& method) {
    call = stub->PrepareCall(&ctx, method, &cq);
    call->StartCall(reinterpret_cast<void*>(1));
    void* tag;
    bool ok;
    cq.Next(&tag, &ok);
  }
  ~HeldCall() {
    ctx.TryCancel();
    grpc::Status status;
    call->Finish(&status, reinterpret_cast<void*>(2));
    void* tag;
    bool ok;
    while (cq.Next(&tag, &ok) && tag != reinterpret_cast<void*>(2)) {
    }
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
  }
};

class Mixs {
 public:
  // Starts mixs on 127.0.0.1 with free ports and `extra` flags; `prefix` runs before it (e.g.
  // prlimit).
  bool start(std::vector<std::string> extra, std::vector<std::string> prefix = {},
             bool prometheus_on_free_port = true) {
    testing::MixsOptions options;
    options.extra = std::move(extra);
    options.wrapper = std::move(prefix);
    options.prometheus_on_free_port = prometheus_on_free_port;
    if (!process.start(options)) {
      return false;
    }
    port = process.port();
    address = process.address();
    monitoring_port = process.monitoringPort();
    return true;
  }
  ~Mixs() {
    if (process.running()) {
      process.stop(SIGKILL);
    }
  }
  int readyz() { return get(monitoring_port, "/readyz").first; }

  testing::MixsProcess process;
  std::string address;
  int port = 0;
  int monitoring_port = 0;
};

// grpc.health.v1.Health/Check for "" on `channel`: 1 SERVING, 2 NOT_SERVING, -1 failed.
int healthStatus(const std::shared_ptr<grpc::Channel>& channel) {
  std::string resp;
  if (!unary(channel, "/grpc.health.v1.Health/Check", "", 5s, &resp).ok()) {
    return -1;
  }
  return resp.size() == 2 && resp[0] == 0x08 ? resp[1] : 0;
}

int openDescriptors(pid_t pid) {
  int n = 0;
  for ([[maybe_unused]] const auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    ++n;
  }
  return n;
}

// ---- Connections ----

TEST(MixsTransportTest, AtMaxConnectionsTheServerStopsAcceptingAndKeepsServing) {
  Mixs mixs;
  ASSERT_TRUE(mixs.start({"--max-connections", "3"})) << mixs.process.output();
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < 3; ++i) {
    channels.push_back(ownChannel(mixs.address));
    ASSERT_TRUE(unary(channels.back(), kCheck, "").ok()) << i;
  }
  // The fourth connection waits in the backlog: its call does not get through.
  auto fourth = ownChannel(mixs.address);
  const auto refused = unary(fourth, kCheck, "", 1500ms);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << refused.error_message();
  // The connections it has keep working; readiness says it takes no more.
  EXPECT_TRUE(unary(channels[0], kCheck, "").ok());
  EXPECT_EQ(mixs.readyz(), 503);
  EXPECT_EQ(healthStatus(channels[1]), 2);  // NOT_SERVING
  const std::string metrics = get(mixs.monitoring_port, "/metrics").second;
  EXPECT_NE(metrics.find("mixer_server_connections 3"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("mixer_server_accepting 0"), std::string::npos) << metrics;
  EXPECT_NE(mixs.process.output().find("the limit (--max-connections)"), std::string::npos)
      << mixs.process.output();

  channels.pop_back();  // one connection closes: the waiting one is accepted
  EXPECT_TRUE(unary(fourth, kCheck, "", 10s).ok());
  EXPECT_EQ(mixs.readyz(), 503);  // three open again: at the limit
  channels.pop_back();
  EXPECT_TRUE(eventually([&] { return mixs.readyz() == 200; })) << mixs.process.output();
  EXPECT_EQ(healthStatus(channels[0]), 1);
}

TEST(MixsTransportTest, AcceptResumesAfterTheOpenFileLimitWasReached) {
  // --max-connections far above the open-file limit, so that accepting runs out of descriptors.
  constexpr int kNoFile = 160;
  Mixs mixs;
  ASSERT_TRUE(mixs.start({"--max-connections", "100000"},
                         {"/usr/bin/prlimit", "--nofile=" + std::to_string(kNoFile)}))
      << mixs.process.output();
  ASSERT_EQ(mixs.readyz(), 200);
  std::vector<int> fds;
  for (int i = 0; i < kNoFile + 40; ++i) {
    const int fd = connectTo(mixs.port);
    ASSERT_GE(fd, 0);
    fds.push_back(fd);
  }
  // Out of descriptors: not ready, yet the monitoring port still answers.
  EXPECT_TRUE(eventually([&] { return mixs.readyz() == 503; })) << mixs.process.output();
  EXPECT_NE(mixs.process.output().find("Too many open files"), std::string::npos)
      << mixs.process.output();
  EXPECT_GE(openDescriptors(mixs.process.pid()), kNoFile - 10);

  for (int fd : fds) {
    close(fd);
  }
  EXPECT_TRUE(eventually([&] { return mixs.readyz() == 200; }, 20s)) << mixs.process.output();
  auto [code, out] = runCommand({binDir() + "/mixc", "check", "-m", mixs.address});
  EXPECT_EQ(code, 0) << out << mixs.process.output();
  EXPECT_NE(out.find("Check status was OK"), std::string::npos) << out;
  EXPECT_TRUE(unary(ownChannel(mixs.address), kCheck, "").ok());
}

// mixs' CPU time so far (utime + stime from /proc), in seconds.
double cpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  const std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  long long ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i >= 14) ticks += std::stoll(field);  // fields 14 and 15
  }
  return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The same on the lean port: out of descriptors it pauses accepting (100 ms at a time, not a busy
// loop), says why, and accepts again once descriptors are free.
TEST(MixsTransportTest, TheLeanPortPausesAcceptingOutOfDescriptorsAndResumes) {
  constexpr int kNoFile = 160;
  Mixs mixs;
  ASSERT_TRUE(mixs.start({"--max-connections", "100000", "--lean-address", "127.0.0.1:0"},
                         {"/usr/bin/prlimit", "--nofile=" + std::to_string(kNoFile)}))
      << mixs.process.output();
  const std::string lean = mixs.process.leanAddress();
  const int lean_port = std::stoi(lean.substr(lean.rfind(':') + 1));
  std::vector<int> fds;
  for (int i = 0; i < kNoFile + 40; ++i) {
    const int fd = connectTo(lean_port);
    ASSERT_GE(fd, 0);
    fds.push_back(fd);
  }
  EXPECT_TRUE(eventually([&] {
    return mixs.process.output().find("lean port: accept failed (Too many open files)") !=
           std::string::npos;
  })) << mixs.process.output();
  // Connections are still waiting in the backlog: a loop retrying accept at once would spin a
  // core; the pause leaves mixs nearly idle.
  const double before = cpuSeconds(mixs.process.pid());
  std::this_thread::sleep_for(1s);
  EXPECT_LT(cpuSeconds(mixs.process.pid()) - before, 0.5);

  for (int fd : fds) {
    close(fd);
  }
  // Accepting again: a Check on the lean port is answered.
  EXPECT_TRUE(eventually([&] { return unary(ownChannel(lean), kCheck, "", 2s).ok(); }, 20s))
      << mixs.process.output();
}

// mixer_lean_connections from mixs' /metrics; -1 when absent.
double leanConnections(int monitoring_port) {
  const std::string metrics = get(monitoring_port, "/metrics").second;
  const size_t at = metrics.find("\nmixer_lean_connections ");
  return at == std::string::npos ? -1 : std::stod(metrics.substr(at + 24));
}

// --max-connections is split over --lean-threads: with 2 threads and a limit of 4, each thread
// accepts at most 2 of the connections the kernel hands its listener (SO_REUSEPORT), so 8
// connections are served 2 to 4 at a time, never more; the others wait in the backlog, and are
// served once the first ones close.
TEST(MixsTransportTest, TheLeanPortsThreadsShareTheConnectionLimit) {
  Mixs mixs;
  ASSERT_TRUE(mixs.start(
      {"--lean-address", "127.0.0.1:0", "--lean-threads", "2", "--max-connections", "4"}))
      << mixs.process.output();
  const std::string lean = mixs.process.leanAddress();
  const int lean_port = std::stoi(lean.substr(lean.rfind(':') + 1));
  std::vector<int> fds;
  for (int i = 0; i < 8; ++i) {
    fds.push_back(connectTo(lean_port));
    ASSERT_GE(fds.back(), 0);
  }
  EXPECT_TRUE(eventually([&] { return leanConnections(mixs.monitoring_port) >= 2; }));
  std::this_thread::sleep_for(300ms);  // any further accepts have happened by now
  const double open = leanConnections(mixs.monitoring_port);
  EXPECT_GE(open, 2);
  EXPECT_LE(open, 4);
  for (int fd : fds) {
    close(fd);
  }
  EXPECT_TRUE(unary(ownChannel(lean), kCheck, "", 10s).ok()) << mixs.process.output();
}

TEST(MixsTransportTest, DefaultConnectionLimitStaysBelowTheOpenFileLimit) {
  // With the default limit, connections beyond it wait: accept never meets EMFILE.
  constexpr int kNoFile = 200;
  Mixs mixs;
  ASSERT_TRUE(mixs.start({}, {"/usr/bin/prlimit", "--nofile=" + std::to_string(kNoFile)}))
      << mixs.process.output();
  auto kept = ownChannel(mixs.address);
  ASSERT_TRUE(unary(kept, kCheck, "").ok());
  std::vector<int> fds;
  for (int i = 0; i < kNoFile + 40; ++i) {
    const int fd = connectTo(mixs.port);
    ASSERT_GE(fd, 0);
    fds.push_back(fd);
  }
  EXPECT_TRUE(eventually([&] { return mixs.readyz() == 503; })) << mixs.process.output();
  EXPECT_TRUE(unary(kept, kCheck, "").ok());
  EXPECT_EQ(mixs.process.output().find("Too many open files"), std::string::npos)
      << mixs.process.output();
  for (int fd : fds) {
    close(fd);
  }
  EXPECT_TRUE(eventually([&] { return mixs.readyz() == 200; }, 20s)) << mixs.process.output();
  EXPECT_TRUE(unary(ownChannel(mixs.address), kCheck, "").ok());
}

// ---- Streams, keepalive, idle connections, metadata ----

TEST(MixsTransportTest, CallsBeyondMaxConcurrentStreamsWaitForAFreeStream) {
  Mixs mixs;
  ASSERT_TRUE(mixs.start({"--max-concurrent-streams", "2"})) << mixs.process.output();
  auto channel = ownChannel(mixs.address);
  ASSERT_TRUE(unary(channel, kCheck, "").ok());
  grpc::GenericStub stub(channel);
  auto first = std::make_unique<HeldCall>(&stub, kCheck);
  auto second = std::make_unique<HeldCall>(&stub, kCheck);
  const auto waited = unary(channel, kCheck, "", 1500ms);
  EXPECT_EQ(waited.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << waited.error_message();
  first.reset();  // a stream frees up
  EXPECT_TRUE(unary(channel, kCheck, "").ok());
  // A second connection has streams of its own.
  EXPECT_TRUE(unary(ownChannel(mixs.address), kCheck, "", 5s).ok());
}

TEST(MixsTransportTest, MaxConcurrentStreamsDefaultsTo1024) {
  Mixs mixs;
  ASSERT_TRUE(mixs.start({})) << mixs.process.output();
  // The server's first SETTINGS frame, after the client's preface and empty SETTINGS.
  const int fd = connectTo(mixs.port);
  ASSERT_GE(fd, 0);
  const std::string preface =
      std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + std::string("\0\0\0\x04\0\0\0\0\0", 9);
  ASSERT_EQ(write(fd, preface.data(), preface.size()), static_cast<ssize_t>(preface.size()));
  std::string in;
  char buf[1024];
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  while (in.size() < 9 ||
         in.size() < 9 + (static_cast<uint8_t>(in[0]) << 16 | static_cast<uint8_t>(in[1]) << 8 |
                          static_cast<uint8_t>(in[2]))) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    ASSERT_GT(n, 0);
    in.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  ASSERT_EQ(in[3], 0x04);  // SETTINGS
  const size_t len = static_cast<uint8_t>(in[0]) << 16 | static_cast<uint8_t>(in[1]) << 8 |
                     static_cast<uint8_t>(in[2]);
  std::map<int, uint32_t> settings;
  for (size_t at = 9; at + 6 <= 9 + len; at += 6) {
    const auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(in[i])); };
    settings[static_cast<int>(b(at) << 8 | b(at + 1))] =
        b(at + 2) << 24 | b(at + 3) << 16 | b(at + 4) << 8 | b(at + 5);
  }
  EXPECT_EQ(settings[0x3], 1024u);  // SETTINGS_MAX_CONCURRENT_STREAMS
  EXPECT_EQ(settings[0x6], 8192u);  // SETTINGS_MAX_HEADER_LIST_SIZE
}

// True when the channel left READY (the server closed the connection) within `within`.
bool leavesReady(const std::shared_ptr<grpc::Channel>& channel, std::chrono::milliseconds within) {
  return eventually([&] { return channel->GetState(false) != GRPC_CHANNEL_READY; }, within);
}

// A raw HTTP/2 connection: gRPC's C++ client paces its own keepalive pings, so flooding takes
// frames written by hand.
class RawHttp2 {
 public:
  explicit RawHttp2(int port) : fd_(connectTo(port)) {
    const std::string preface = std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + frame(0x4, 0, "");
    send(preface);
  }
  ~RawHttp2() { close(fd_); }
  bool ok() const { return fd_ >= 0; }

  static std::string frame(int type, int flags, const std::string& payload) {
    std::string f = {static_cast<char>(payload.size() >> 16),
                     static_cast<char>(payload.size() >> 8), static_cast<char>(payload.size()),
                     static_cast<char>(type), static_cast<char>(flags)};
    f += std::string(4, '\0');  // stream 0
    return f + payload;
  }
  void send(const std::string& bytes) { (void)!write(fd_, bytes.data(), bytes.size()); }
  void ping() { send(frame(0x6, 0, "12345678")); }

  // Reads frames for up to `timeout`; returns the GOAWAY's error code, or -1 if none came (-2
  // when the connection closed without one).
  int goaway(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) {
        continue;
      }
      char buf[4096];
      const ssize_t n = read(fd_, buf, sizeof(buf));
      if (n <= 0) {
        return -2;
      }
      in_.append(buf, static_cast<size_t>(n));
      if (int code = parse(); code >= 0) {
        return code;
      }
    }
    return -1;
  }

 private:
  int parse() {
    const auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(in_[i])); };
    while (in_.size() >= 9) {
      const size_t len = b(0) << 16 | b(1) << 8 | b(2);
      if (in_.size() < 9 + len) {
        return -1;
      }
      const int type = static_cast<int>(b(3));
      if (type == 0x4 && (b(4) & 1) == 0) {
        send(frame(0x4, 1, ""));  // SETTINGS ACK
      }
      if (type == 0x7 && len >= 8) {
        return static_cast<int>(b(13) << 24 | b(14) << 16 | b(15) << 8 | b(16));
      }
      in_.erase(0, 9 + len);
    }
    return -1;
  }

  int fd_;
  std::string in_;
};

// Pings every 100 ms on a fresh connection until a GOAWAY: {pings sent, its error code}.
std::pair<int, int> pingUntilGoaway(int port) {
  RawHttp2 conn(port);
  int pings = 0;
  int code = -1;
  while (conn.ok() && pings < 30 && code == -1) {
    conn.ping();
    ++pings;
    code = conn.goaway(100ms);
  }
  return {pings, code};
}

TEST(MixsTransportTest, PingsFasterThanKeepaliveMinTimeCloseTheConnection) {
  Mixs mixs;
  ASSERT_TRUE(mixs.start({"--keepalive-min-time", "1s"})) << mixs.process.output();
  const auto [pings, code] = pingUntilGoaway(mixs.port);
  EXPECT_EQ(code, 0xb) << "after " << pings << " pings";  // ENHANCE_YOUR_CALM
  EXPECT_LE(pings, 5);

  // Pings every 1.2 s against the 1 s minimum: never a strike.
  RawHttp2 polite(mixs.port);
  ASSERT_TRUE(polite.ok());
  for (int i = 0; i < 5; ++i) {
    polite.ping();
    ASSERT_EQ(polite.goaway(1200ms), -1) << "ping " << i;
  }
}

TEST(MixsTransportTest, PingStrikesFollowTheFlag) {
  Mixs two;
  ASSERT_TRUE(two.start({"--keepalive-min-time", "1s"})) << two.process.output();
  Mixs five;
  ASSERT_TRUE(five.start({"--keepalive-min-time", "1s", "--keepalive-max-ping-strikes", "5"}))
      << five.process.output();
  const auto [pings_two, code_two] = pingUntilGoaway(two.port);
  const auto [pings_five, code_five] = pingUntilGoaway(five.port);
  EXPECT_EQ(code_two, 0xb);
  EXPECT_EQ(code_five, 0xb);
  // Which ping is the first strike depends on how the server's acknowledgements interleave;
  // three strikes more are borne with 5.
  EXPECT_GE(pings_two, 3);
  EXPECT_LE(pings_two, 5);
  EXPECT_GE(pings_five, 6);
  EXPECT_LE(pings_five, 9);
}

TEST(MixsTransportTest, ConnectionIdlePastMaxConnectionIdleIsClosed) {
  Mixs mixs;
  ASSERT_TRUE(mixs.start({"--max-connection-idle", "1s"})) << mixs.process.output();
  RawHttp2 idle(mixs.port);
  ASSERT_TRUE(idle.ok());
  const auto start = Clock::now();
  EXPECT_GE(idle.goaway(5s), 0) << "no GOAWAY";
  const auto took = Clock::now() - start;
  EXPECT_GE(took, 800ms);
  EXPECT_LT(took, 3s);
  // A gRPC client whose connection was closed so reconnects on its next call.
  auto channel = ownChannel(mixs.address);
  ASSERT_TRUE(unary(channel, kCheck, "").ok());
  EXPECT_TRUE(leavesReady(channel, 8s));
  EXPECT_TRUE(unary(channel, kCheck, "").ok());
}

TEST(MixsTransportTest, ConnectionWithoutHandshakeIsClosedAtHandshakeTimeout) {
  Mixs mixs;
  ASSERT_TRUE(mixs.start({"--handshake-timeout", "1s"})) << mixs.process.output();
  const int silent = connectTo(mixs.port);
  ASSERT_GE(silent, 0);
  const auto start = Clock::now();
  // The server sends its own settings at once, then closes the connection at the timeout.
  bool closed = false;
  while (!closed && Clock::now() - start < 5s) {
    pollfd p{silent, POLLIN, 0};
    char buf[256];
    closed = poll(&p, 1, 100) == 1 && read(silent, buf, sizeof(buf)) <= 0;
  }
  ASSERT_TRUE(closed) << "not closed within 5 s";
  const auto took = Clock::now() - start;
  EXPECT_GE(took, 800ms);
  EXPECT_LT(took, 3s);
  close(silent);
  // A client that completes its handshake is served as usual.
  EXPECT_TRUE(unary(ownChannel(mixs.address), kCheck, "").ok());
}

TEST(MixsTransportTest, ConnectionsWithoutCallsStayByDefault) {
  Mixs mixs;
  ASSERT_TRUE(mixs.start({})) << mixs.process.output();
  RawHttp2 idle(mixs.port);
  ASSERT_TRUE(idle.ok());
  EXPECT_EQ(idle.goaway(2s), -1);
}

TEST(MixsTransportTest, MetadataBeyondMaxMetadataSizeIsRefused) {
  Mixs mixs;
  ASSERT_TRUE(mixs.start({})) << mixs.process.output();  // the default, 8 KiB
  auto channel = ownChannel(mixs.address);
  EXPECT_TRUE(unary(channel, kCheck, "", 10s, nullptr, {{"x-pad", std::string(7000, 'a')}}).ok());
  const auto refused =
      unary(channel, kCheck, "", 10s, nullptr, {{"x-pad", std::string(8200, 'a')}});
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << refused.error_code() << " " << refused.error_message();
  // gRPC 1.51 may also close the connection after such a header block (a call racing on it gets
  // UNAVAILABLE); the client reconnects, and the server serves it.
  EXPECT_TRUE(eventually([&] { return unary(channel, kCheck, "", 2s).ok(); }, 5s));
}

// ---- Monitoring port ----

TEST(MixsTransportTest, MonitoringAnswersWhileIdleAndSlowClientsHoldConnections) {
  Mixs mixs;
  ASSERT_TRUE(mixs.start({})) << mixs.process.output();
  std::vector<int> idle;
  for (int i = 0; i < 100; ++i) {
    const int fd = connectTo(mixs.monitoring_port);
    ASSERT_GE(fd, 0);
    idle.push_back(fd);
  }
  std::atomic<bool> stop{false};
  std::thread slowloris([&] {
    const int fd = connectTo(mixs.monitoring_port);
    const std::string text = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
    for (size_t i = 0; i < text.size() && !stop; ++i) {
      (void)!write(fd, &text[i], 1);
      for (int t = 0; t < 10 && !stop; ++t) {
        std::this_thread::sleep_for(100ms);
      }
    }
    close(fd);
  });
  std::this_thread::sleep_for(1500ms);
  for (const char* path : {"/healthz", "/readyz", "/metrics"}) {
    const auto start = Clock::now();
    const auto [code, body] = get(mixs.monitoring_port, path);
    EXPECT_EQ(code, 200) << path << ": " << body;
    EXPECT_LT(Clock::now() - start, 1s) << path;
  }
  // The first idle connection has been closed: by eviction, or at the 5 s read timeout.
  pollfd p{idle.front(), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 6000), 1);
  char c;
  EXPECT_EQ(read(idle.front(), &c, 1), 0);
  stop = true;
  slowloris.join();
  for (int fd : idle) {
    close(fd);
  }
}

TEST(MixsTransportTest, MonitoringConnectionIdlePastTheReadTimeoutIsClosed) {
  Mixs mixs;
  ASSERT_TRUE(mixs.start({})) << mixs.process.output();
  const int fd = connectTo(mixs.monitoring_port);
  ASSERT_GE(fd, 0);
  const auto start = Clock::now();
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 10000), 1);
  char c;
  EXPECT_EQ(read(fd, &c, 1), 0);
  const auto took = Clock::now() - start;
  EXPECT_GE(took, 4s);
  EXPECT_LT(took, 7s);
  close(fd);
}

// ---- Addresses ----

// Local addresses ("0100007F:1F90") of the TCP sockets `pid` listens on, IPv4 and IPv6.
std::vector<std::string> listeningAddresses(pid_t pid) {
  std::set<std::string> inodes;
  for (const auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    std::error_code ec;
    const std::string target = std::filesystem::read_symlink(e.path(), ec).string();
    if (target.rfind("socket:[", 0) == 0) {
      inodes.insert(target.substr(8, target.size() - 9));
    }
  }
  std::vector<std::string> out;
  for (const char* table : {"tcp", "tcp6"}) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/net/" + table);
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues, timer, retr, uid, timeout, inode;
      fields >> slot >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >>
          inode;
      if (state == "0A" && inodes.count(inode) > 0) {
        out.push_back(local);
      }
    }
  }
  return out;
}

TEST(MixsTransportTest, ALoopbackAddressKeepsEveryListenerOnLoopback) {
  Mixs mixs;
  // The embedded configuration's prometheus exposition on its default port, 42422.
  if (!mixs.start({}, {}, /*prometheus_on_free_port=*/false)) {
    if (mixs.process.output().find("42422") != std::string::npos) {
      GTEST_SKIP() << "port 42422 is taken here: " << mixs.process.output();
    }
    FAIL() << mixs.process.output();
  }
  const auto listening = listeningAddresses(mixs.process.pid());
  std::string all;
  for (const auto& a : listening) {
    all += a + " ";
  }
  ASSERT_GE(listening.size(), 3u) << all;  // gRPC, monitoring, prometheus
  for (const auto& a : listening) {
    const std::string host = a.substr(0, a.find(':'));
    EXPECT_TRUE(host == "0100007F" || host == "00000000000000000000000001000000")
        << "listening on " << a << " (all: " << all << ")";
  }
  EXPECT_NE(all.find("0100007F:A5B6"), std::string::npos) << all;  // 127.0.0.1:42422
  EXPECT_EQ(get(42422, "/metrics").first, 200);
}

TEST(MixsTransportTest, MonitoringAddressWinsOverMonitoringPort) {
  Mixs mixs;
  ASSERT_TRUE(mixs.start({"--monitoring-port", "1", "--monitoring-address", "127.0.0.1:0"}))
      << mixs.process.output();
  EXPECT_NE(mixs.monitoring_port, 1);
  EXPECT_EQ(get(mixs.monitoring_port, "/healthz").first, 200);
}

}  // namespace
}  // namespace mixer
