// The lean port: istio.mixer.v1.Mixer's two unary methods, Check and Report, over HTTP/2 from
// Debian's libnghttp2 on one epoll thread, without the gRPC library (--lean-address; off by
// default). A gRPC client (Envoy's Mixer filter, the proxy-filter library, mixc, any generated
// stub) calls it as it calls the gRPC port: same paths, same request and response bytes, gRPC's
// framing (the 5-byte message prefix, grpc-status and grpc-message trailers, grpc-timeout).
//
// Why: a Check's server CPU is mostly the transport. gRPC C++'s call machinery costs ≈ 10 µs per
// call on its own; libnghttp2 on one epoll thread costs about half of it
// (docs/performance.md §17, §23). mixs already decodes the request bytes and writes the response
// bytes itself, so from the transport it needs framing only.
//
// Transport security: with --tls-cert, the port serves TLS (ALPN "h2") from the same files as the
// gRPC port, and with --tls-client-ca it requires and verifies client certificates; --callers then
// admits each call by its certificate's identity, as on the gRPC port (docs/security.md).
//
// What the port does not have (docs/mixs-and-mixc.md, "The lean port"):
//   - the other services of the gRPC port (Envoy front-ends, health, reflection);
//   - compressed messages (a compressed request is answered UNIMPLEMENTED, as gRPC answers an
//     encoding it does not support).
// The limits of the gRPC port apply to it (docs/limits.md): connections, streams per connection,
// message and metadata size, ping strikes, idle connections and the handshake's deadline.
//
// Threads: one per LeanPort. A Check whose quota adapter answers later (redisquota) is answered
// from a mailbox the adapter's thread fills and an eventfd wakes; one that finishes on the port's
// own thread (memquota at once, a Redis reply drained after a flush) is answered there, without
// the mailbox. The thread keeps an adapter_host::FlushScope: the quota calls of one epoll wake-up
// are flushed together before it waits again. Several LeanPorts may share one port
// (Options::reuse_port, --lean-threads): each has its own listening socket and the kernel spreads
// connections over them, so a connection is read, decided and answered on one thread, with no
// hand-off between them.
#pragma once

#include <grpcpp/support/status.h>
#include <nghttp2/nghttp2.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "base/http_server.h"
#include "mixer/runtime/call_deadline.h"
#include "mixer/server/mixer_service.h"
#include "mixer/server/server_metrics.h"
#include "security/tls/caller_gate.h"

namespace mixer::server {

// A grpc-timeout header's value: 1 to 8 ASCII digits and a unit (H, M, S, m, u, n). nullopt when
// malformed.
std::optional<std::chrono::nanoseconds> parseGrpcTimeout(std::string_view value);

struct LeanLimits {
  size_t max_message_size = 1024 * 1024;
  int max_concurrent_streams = 1024;
  int max_metadata_size = 8 * 1024;
  // Pings closer together than keepalive_min_time are strikes; more than max_ping_strikes close
  // the connection with GOAWAY ENHANCE_YOUR_CALM (0: never). An answer clears the strikes.
  std::chrono::milliseconds keepalive_min_time{std::chrono::minutes(5)};
  int max_ping_strikes = 2;
  // Bytes of requests not yet arrived whole that one connection may hold (0: 4 ×
  // max_message_size); a DATA frame past it refuses its stream with RESOURCE_EXHAUSTED.
  size_t max_connection_buffered = 0;
  // A request must arrive whole within this of its HEADERS, else it is answered
  // DEADLINE_EXCEEDED and reset (0: never).
  std::chrono::milliseconds request_timeout{std::chrono::seconds(20)};
};

// Bytes of unfinished requests held by every session of one port (one thread), against a limit.
struct LeanBuffered {
  size_t used = 0;
  size_t limit = 64 * 1024 * 1024;
};

// One connection's HTTP/2 session and gRPC framing, without the socket: bytes in (receive),
// calls out (Handler), answers in (answer), bytes out (produce). Single-threaded.
class LeanSession {
 public:
  enum Method { kCheck, kReport };
  class Handler {
   public:
    virtual ~Handler() = default;
    // A whole request of `method` on `stream`: its message (borrowed until this returns) and its
    // deadline. answer() may be called now or later.
    virtual void onCall(LeanSession* session, int32_t stream, Method method,
                        std::string_view message, runtime::CallDeadline deadline) = 0;
  };

  // OWNERSHIP: `handler` and `port_buffered` (null: no port-wide limit) are borrowed and must
  // outlive the session.
  LeanSession(Handler* handler, const LeanLimits& limits, LeanBuffered* port_buffered = nullptr);
  ~LeanSession();
  LeanSession(const LeanSession&) = delete;
  LeanSession& operator=(const LeanSession&) = delete;

  // Bytes from the peer. False when the session failed (a protocol error: a GOAWAY is queued);
  // the connection closes once produce() has given its last bytes.
  bool receive(const char* data, size_t size);
  // Answers `stream`: a message with `response` when `status` is OK, else a trailers-only answer
  // with grpc-status and grpc-message. Nothing when the stream is gone (reset by the client).
  void answer(int32_t stream, const grpc::Status& status, std::string_view response);
  // Appends the bytes to send to `out`.
  void produce(std::string* out);
  // Sends GOAWAY: no new stream is accepted; those open are answered.
  void goAway(uint32_t error_code = NGHTTP2_NO_ERROR);

  // False once the session is over (both sides done, or a fatal error) and its bytes produced.
  bool alive() const;
  // True once the peer's connection preface and SETTINGS arrived.
  bool started() const { return started_; }
  // Streams opened by the peer and not closed yet.
  size_t openStreams() const { return open_streams_; }
  // Streams refused or reset for a limit (metadata size, message size, buffered bytes).
  uint64_t limitRefusals() const { return limit_refusals_; }
  // Bytes of requests that have not arrived whole, held by this session.
  size_t bufferedBytes() const { return buffered_; }
  // Answers DEADLINE_EXCEEDED, and resets, the requests still arriving whose HEADERS came more than
  // limits.request_timeout before `now`; how many.
  int expireStalled(std::chrono::steady_clock::time_point now);

  struct Stream;  // lean_port.cc

 private:
  static const nghttp2_session_callbacks* callbacks();
  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame*, void*);
  static int onHeader(nghttp2_session*, const nghttp2_frame*, const uint8_t*, size_t,
                      const uint8_t*, size_t, uint8_t, void*);
  static int onData(nghttp2_session*, uint8_t, int32_t, const uint8_t*, size_t, void*);
  static int onFrame(nghttp2_session*, const nghttp2_frame*, void*);
  static int onFrameSent(nghttp2_session*, const nghttp2_frame*, void*);
  static int onStreamClose(nghttp2_session*, int32_t, uint32_t, void*);
  static ssize_t readAnswer(nghttp2_session*, int32_t, uint8_t*, size_t, uint32_t*,
                            nghttp2_data_source*, void*);

  void requestDone(Stream* s);
  void dropBody(Stream* s);  // the request's bytes are no longer needed
  // Refuses a stream still arriving: the answer, then a reset for the rest of its bytes.
  void refuse(Stream* s, const grpc::Status& status);
  void answerError(Stream* s, const grpc::Status& status);
  void answerHttp(Stream* s, const char* code);
  Stream* take();
  void release(Stream* s);

  Handler* handler_;
  LeanLimits limits_;
  nghttp2_session* session_ = nullptr;
  bool started_ = false;
  bool failed_ = false;
  size_t open_streams_ = 0;
  uint64_t limit_refusals_ = 0;
  size_t buffered_ = 0;
  LeanBuffered* port_buffered_;
  int ping_strikes_ = 0;
  std::chrono::steady_clock::time_point last_ping_{};
  std::vector<std::unique_ptr<Stream>> streams_;  // every Stream made; reused
  std::vector<Stream*> free_;
};

// The lean port's listener, connections and thread.
class LeanPort final : private LeanSession::Handler {
 public:
  struct Options {
    std::string host;  // "" or "0.0.0.0": every IPv4 interface; "::": every interface
    int port = 0;      // 0 picks a free port
    int max_connections = 10000;
    LeanLimits limits;
    std::chrono::milliseconds max_connection_idle{std::chrono::minutes(10)};  // 0: never
    std::chrono::milliseconds handshake_timeout{std::chrono::seconds(20)};
    // TLS on every connection (ALPN "h2"); null: plain text.
    std::shared_ptr<HttpTls> tls;
    // Who may call Check and Report (by the client certificate's identity), and whose identity
    // claims are believed; null: every caller, claims as sent. Borrowed; outlives the port.
    const security::tls::CallerGate* gate = nullptr;
    // SO_REUSEPORT on the listening socket, so that other LeanPorts can listen on the same port.
    bool reuse_port = false;
    // The thread's name, as /proc shows it (at most 15 characters).
    std::string thread_name = "mixs-lean";
  };

  // Binds and listens. OWNERSHIP: `service` and `metrics` are borrowed and must outlive the port.
  static absl::StatusOr<std::unique_ptr<LeanPort>> listen(const Options& options,
                                                          MixerService* service,
                                                          ServerMetrics* metrics);
  ~LeanPort() override;  // stop(0)

  int port() const { return port_; }
  // Starts the thread.
  void start();
  // Stops accepting and sends GOAWAY on every connection; waits up to `grace` for the calls in
  // flight (a Check waiting on a quota adapter included), then closes every connection.
  void stop(std::chrono::milliseconds grace);
  int connections() const { return connection_count_.load(std::memory_order_relaxed); }

 private:
  struct Connection;
  struct Later;
  class CheckCall;
  class LaterCall;

  LeanPort(const Options& options, MixerService* service, ServerMetrics* metrics);
  void onCall(LeanSession* session, int32_t stream, LeanSession::Method method,
              std::string_view message, runtime::CallDeadline deadline) override;
  void run();
  void acceptSome();
  void setAccepting(bool on);
  void readFrom(Connection* c);
  void waitWritable(Connection* c);
  // Produces and writes the connection's bytes; false when it is to be closed.
  bool writeTo(Connection* c);
  void close(uint64_t id);
  void takeMailbox();
  // Writes the connections answered outside their own reading (touched_), and forgets them.
  void writeTouched();
  void sweep(std::chrono::steady_clock::time_point now);
  void post(Later later);  // from any thread
  // A detached Check finished on this port's own thread (its quota adapter answered during the
  // call, or during the thread's flush): answered at once, without the mailbox.
  void answerHere(uint64_t connection, int32_t stream, const grpc::Status& status,
                  std::string_view response);

  Options options_;
  MixerService* service_;
  ServerMetrics* metrics_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  bool accepting_ = false;
  std::chrono::steady_clock::time_point accept_retry_{};  // after EMFILE and the like
  uint64_t next_id_ = 2;                                  // 0: the listener, 1: the eventfd
  LeanBuffered buffered_;  // what this thread's sessions hold of requests still arriving
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  // takeMailbox()'s buffers, kept so that a wake-up with answers allocates nothing.
  std::vector<Later> taken_;
  std::vector<uint64_t> touched_;
  Connection* current_ = nullptr;  // the connection whose bytes are being received
  std::atomic<int> connection_count_{0};

  std::mutex mu_;  // guards what follows
  std::condition_variable later_done_;
  long later_calls_ = 0;  // Checks detached and not yet in the mailbox
  std::vector<Later> mailbox_;
  // Set under mu_ with stop_by_; the thread reads it without the lock at every wake-up.
  std::atomic<bool> stop_requested_{false};
  std::chrono::steady_clock::time_point stop_by_{};
};

}  // namespace mixer::server
