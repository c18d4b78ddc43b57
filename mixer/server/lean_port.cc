#include "mixer/server/lean_port.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/grpc_message.h"
#include "base/log.h"
#include "base/str_cat.h"
#include "mixer/adapter_host/handler.h"

namespace mixer::server {

std::optional<std::chrono::nanoseconds> parseGrpcTimeout(std::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  int64_t n = 0;
  for (size_t i = 0; i + 1 < value.size(); ++i) {
    if (value[i] < '0' || value[i] > '9') return std::nullopt;
    n = n * 10 + (value[i] - '0');
  }
  using std::chrono::nanoseconds;
  switch (value.back()) {
    case 'H':
      return std::chrono::duration_cast<nanoseconds>(std::chrono::hours(n));
    case 'M':
      return std::chrono::duration_cast<nanoseconds>(std::chrono::minutes(n));
    case 'S':
      return std::chrono::duration_cast<nanoseconds>(std::chrono::seconds(n));
    case 'm':
      return std::chrono::duration_cast<nanoseconds>(std::chrono::milliseconds(n));
    case 'u':
      return std::chrono::duration_cast<nanoseconds>(std::chrono::microseconds(n));
    case 'n':
      return nanoseconds(n);
    default:
      return std::nullopt;
  }
}

namespace {

constexpr std::string_view kCheckPath = "/istio.mixer.v1.Mixer/Check";
constexpr std::string_view kReportPath = "/istio.mixer.v1.Mixer/Report";
constexpr size_t kPrefix = 5;  // gRPC's message prefix: compressed flag, 4-byte length

nghttp2_nv header(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

// A request stream's state, from its HEADERS to its close. Reused across streams.
struct LeanSession::Stream {
  int32_t id = 0;
  int method = -1;   // LeanSession::Method, or -1 for any other path
  std::string path;  // of an unknown method only
  bool post = false;
  bool grpc_content = false;
  bool identity_encoding = true;  // no grpc-encoding, or "identity"
  std::string encoding;
  std::optional<std::chrono::nanoseconds> timeout;
  bool bad_timeout = false;
  size_t metadata_bytes = 0;
  bool open = false;          // between its HEADERS and its close
  bool request_done = false;  // the request arrived whole (END_STREAM)
  std::chrono::steady_clock::time_point opened_at;
  bool answered = false;            // an answer was submitted; what else arrives is dropped
  bool reset_after_answer = false;  // refused before its request ended: RST_STREAM once answered
  std::string body;                 // the request's DATA
  std::string out;                  // the answer's DATA: prefix and response
  size_t out_pos = 0;

  void reset(int32_t stream_id) {
    id = stream_id;
    method = -1;
    path.clear();
    post = false;
    grpc_content = false;
    identity_encoding = true;
    encoding.clear();
    timeout.reset();
    bad_timeout = false;
    metadata_bytes = 0;
    open = true;
    request_done = false;
    opened_at = std::chrono::steady_clock::now();
    answered = false;
    reset_after_answer = false;
    body.clear();
    out.clear();
    out_pos = 0;
  }
};

LeanSession::LeanSession(Handler* handler, const LeanLimits& limits, LeanBuffered* port_buffered)
    : handler_(handler), limits_(limits), port_buffered_(port_buffered) {
  if (limits_.max_connection_buffered == 0) {
    limits_.max_connection_buffered = 4 * limits_.max_message_size;
  }
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  nghttp2_option_set_no_closed_streams(option, 1);
  nghttp2_session_server_new2(&session_, callbacks(), this, option);
  nghttp2_option_del(option);
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS,
       static_cast<uint32_t>(limits_.max_concurrent_streams)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(limits_.max_metadata_size)},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 2);
}

LeanSession::~LeanSession() { nghttp2_session_del(session_); }

bool LeanSession::receive(const char* data, size_t size) {
  if (failed_) return false;
  const ssize_t n =
      nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data), size);
  if (n < 0) {
    failed_ = true;
    // A bad preface ends the session without a GOAWAY; any other error has queued one.
    if (n != NGHTTP2_ERR_BAD_CLIENT_MAGIC) {
      nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
    }
    return false;
  }
  return true;
}

void LeanSession::produce(std::string* out) {
  for (;;) {
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n <= 0) {
      if (n < 0) failed_ = true;
      return;
    }
    out->append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
}

bool LeanSession::alive() const {
  return nghttp2_session_want_read(session_) != 0 || nghttp2_session_want_write(session_) != 0;
}

void LeanSession::goAway(uint32_t error_code) {
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), error_code, nullptr, 0);
}

LeanSession::Stream* LeanSession::take() {
  if (free_.empty()) {
    streams_.push_back(std::make_unique<Stream>());
    return streams_.back().get();
  }
  Stream* s = free_.back();
  free_.pop_back();
  return s;
}

void LeanSession::release(Stream* s) {
  // A large answer's buffer is not kept for the connection's life (dropBody did the request's).
  if (s->out.capacity() > 64 * 1024) std::string().swap(s->out);
  free_.push_back(s);
}

int LeanSession::onBeginHeaders(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<LeanSession*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  Stream* s = self->take();
  s->reset(frame->hd.stream_id);
  if (nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, s) != 0) {
    s->open = false;
    self->release(s);
    return 0;
  }
  ++self->open_streams_;
  return 0;
}

int LeanSession::onHeader(nghttp2_session* session, const nghttp2_frame* frame,
                          const uint8_t* name_bytes, size_t name_len, const uint8_t* value_bytes,
                          size_t value_len, uint8_t, void*) {
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  auto* s =
      static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
  if (s == nullptr) return 0;
  const std::string_view name(reinterpret_cast<const char*>(name_bytes), name_len);
  const std::string_view value(reinterpret_cast<const char*>(value_bytes), value_len);
  // HPACK's accounting, as gRPC's limit counts it: name, value and 32 bytes per field.
  s->metadata_bytes += name_len + value_len + 32;
  if (name == ":path") {
    s->method = value == kCheckPath ? kCheck : value == kReportPath ? kReport : -1;
    if (s->method < 0) s->path.assign(value.substr(0, 256));  // for its UNIMPLEMENTED answer
  } else if (name == ":method") {
    s->post = value == "POST";
  } else if (name == "content-type") {
    // application/grpc, or application/grpc+proto and the like.
    s->grpc_content = value.substr(0, 16) == "application/grpc" &&
                      (value.size() == 16 || value[16] == '+' || value[16] == ';');
  } else if (name == "grpc-encoding") {
    s->identity_encoding = value == "identity";
    s->encoding.assign(value.substr(0, 64));
  } else if (name == "grpc-timeout") {
    s->timeout = parseGrpcTimeout(value);
    s->bad_timeout = !s->timeout.has_value();
  }
  return 0;
}

int LeanSession::onData(nghttp2_session* session, uint8_t, int32_t stream_id, const uint8_t* data,
                        size_t len, void* user) {
  auto* self = static_cast<LeanSession*>(user);
  auto* s = static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, stream_id));
  if (s == nullptr || s->answered) return 0;
  if (s->body.size() + len > self->limits_.max_message_size + kPrefix) {
    // Refused before it is all read, as gRPC does.
    const size_t at_least = s->body.size() + len - kPrefix;
    ++self->limit_refusals_;
    self->refuse(s,
                 grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                              base::strCat("Received message larger than max (at least ", at_least,
                                           " vs. ", self->limits_.max_message_size, ")")));
    return 0;
  }
  // What unfinished requests may hold, on this connection and on the port: a client cannot make
  // the server buffer a message's worth of bytes on every stream it opens.
  if (self->buffered_ + len > self->limits_.max_connection_buffered ||
      (self->port_buffered_ != nullptr &&
       self->port_buffered_->used + len > self->port_buffered_->limit)) {
    ++self->limit_refusals_;
    const bool connection = self->buffered_ + len > self->limits_.max_connection_buffered;
    self->refuse(
        s,
        grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                     base::strCat("requests still arriving hold more than ",
                                  connection ? self->limits_.max_connection_buffered
                                             : self->port_buffered_->limit,
                                  connection ? " bytes on this connection (4 x --max-message-size)"
                                             : " bytes on the lean port's thread")));
    return 0;
  }
  s->body.append(reinterpret_cast<const char*>(data), len);
  self->buffered_ += len;
  if (self->port_buffered_ != nullptr) self->port_buffered_->used += len;
  return 0;
}

void LeanSession::dropBody(Stream* s) {
  buffered_ -= s->body.size();
  if (port_buffered_ != nullptr) port_buffered_->used -= s->body.size();
  if (s->body.capacity() > 64 * 1024) {
    std::string().swap(s->body);
  } else {
    s->body.clear();
  }
}

void LeanSession::refuse(Stream* s, const grpc::Status& status) {
  answerError(s, status);
  s->reset_after_answer = true;  // onFrameSent, once the answer is out
  dropBody(s);
}

int LeanSession::expireStalled(std::chrono::steady_clock::time_point now) {
  if (limits_.request_timeout.count() <= 0 || open_streams_ == 0) return 0;
  int expired = 0;
  for (const auto& s : streams_) {
    if (s->open && !s->request_done && !s->answered &&
        now - s->opened_at > limits_.request_timeout) {
      refuse(s.get(), grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                   base::strCat("the request did not arrive whole within ",
                                                limits_.request_timeout.count(),
                                                " ms of its headers (--handshake-timeout)")));
      ++expired;
    }
  }
  return expired;
}

int LeanSession::onFrame(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<LeanSession*>(user);
  switch (frame->hd.type) {
    case NGHTTP2_SETTINGS:
      self->started_ = true;
      return 0;
    case NGHTTP2_PING: {
      if ((frame->hd.flags & NGHTTP2_FLAG_ACK) != 0 || self->limits_.max_ping_strikes <= 0) {
        return 0;
      }
      const auto now = std::chrono::steady_clock::now();
      if (now - self->last_ping_ < self->limits_.keepalive_min_time &&
          ++self->ping_strikes_ > self->limits_.max_ping_strikes) {
        self->goAway(NGHTTP2_ENHANCE_YOUR_CALM);
        nghttp2_session_terminate_session(session, NGHTTP2_ENHANCE_YOUR_CALM);
      }
      self->last_ping_ = now;
      return 0;
    }
    case NGHTTP2_HEADERS:
    case NGHTTP2_DATA:
      break;
    default:
      return 0;
  }
  if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) return 0;
  auto* s =
      static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
  if (s != nullptr && !s->answered) {
    s->request_done = true;
    self->requestDone(s);  // the handler has the message until it returns
    self->dropBody(s);
  }
  return 0;
}

void LeanSession::requestDone(Stream* s) {
  if (!s->post || !s->grpc_content) {
    answerHttp(s, !s->post ? "405" : "415");  // gRPC's answer to a request that is not gRPC
    return;
  }
  if (s->metadata_bytes > static_cast<size_t>(limits_.max_metadata_size)) {
    ++limit_refusals_;
    answerError(s, grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                base::strCat("request metadata of ", s->metadata_bytes,
                                             " bytes is over the limit of ",
                                             limits_.max_metadata_size, " (--max-metadata-size)")));
    return;
  }
  if (s->method < 0) {
    answerError(s, grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                base::strCat("unknown method ", s->path,
                                             ": the lean port serves istio.mixer.v1.Mixer "
                                             "Check and Report")));
    return;
  }
  if (s->bad_timeout) {
    answerError(s, grpc::Status(grpc::StatusCode::INTERNAL, "malformed grpc-timeout header"));
    return;
  }
  // A unary call: exactly one message.
  const std::string& b = s->body;
  if (b.size() < kPrefix) {
    answerError(s, grpc::Status(grpc::StatusCode::INTERNAL,
                                b.empty() ? "a unary call needs one request message; none came"
                                          : "the request message's prefix is truncated"));
    return;
  }
  const uint32_t length = (static_cast<uint32_t>(static_cast<uint8_t>(b[1])) << 24) |
                          (static_cast<uint32_t>(static_cast<uint8_t>(b[2])) << 16) |
                          (static_cast<uint32_t>(static_cast<uint8_t>(b[3])) << 8) |
                          static_cast<uint32_t>(static_cast<uint8_t>(b[4]));
  if (b[0] != 0) {
    answerError(s, s->identity_encoding
                       ? grpc::Status(grpc::StatusCode::INTERNAL,
                                      "the request message is marked compressed without a "
                                      "grpc-encoding")
                       : grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                      base::strCat("compressed requests (", s->encoding,
                                                   ") are not served on the lean port")));
    return;
  }
  if (length > limits_.max_message_size) {
    ++limit_refusals_;
    answerError(s, grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                base::strCat("Received message larger than max (", length, " vs. ",
                                             limits_.max_message_size, ")")));
    return;
  }
  if (b.size() != kPrefix + length) {
    answerError(s, grpc::Status(grpc::StatusCode::INTERNAL,
                                b.size() < kPrefix + length
                                    ? "the request message is truncated"
                                    : "a unary call takes one request message; more came"));
    return;
  }
  runtime::CallDeadline deadline;
  if (s->timeout) {
    deadline = runtime::CallDeadline(
        runtime::CallDeadline::Clock::now() +
        std::chrono::duration_cast<std::chrono::microseconds>(
            std::min(*s->timeout, std::chrono::nanoseconds(std::chrono::hours(24 * 365)))));
  }
  handler_->onCall(this, s->id, static_cast<Method>(s->method), std::string_view(b).substr(kPrefix),
                   deadline);
}

void LeanSession::answer(int32_t stream, const grpc::Status& status, std::string_view response) {
  auto* s = static_cast<Stream*>(nghttp2_session_get_stream_user_data(session_, stream));
  if (s == nullptr || s->answered) return;
  ping_strikes_ = 0;
  if (!status.ok()) {
    answerError(s, status);
    return;
  }
  s->answered = true;
  s->out.resize(kPrefix);
  s->out[0] = 0;
  const auto n = static_cast<uint32_t>(response.size());
  s->out[1] = static_cast<char>(n >> 24);
  s->out[2] = static_cast<char>(n >> 16);
  s->out[3] = static_cast<char>(n >> 8);
  s->out[4] = static_cast<char>(n);
  s->out.append(response);
  s->out_pos = 0;
  const nghttp2_nv headers[] = {header(":status", "200"),
                                header("content-type", "application/grpc")};
  nghttp2_data_provider provider{};
  provider.source.ptr = s;
  provider.read_callback = &readAnswer;
  nghttp2_submit_response(session_, stream, headers, 2, &provider);
}

ssize_t LeanSession::readAnswer(nghttp2_session* session, int32_t stream_id, uint8_t* buf,
                                size_t length, uint32_t* flags, nghttp2_data_source* source,
                                void*) {
  auto* s = static_cast<Stream*>(source->ptr);
  const size_t n = std::min(length, s->out.size() - s->out_pos);
  std::memcpy(buf, s->out.data() + s->out_pos, n);
  s->out_pos += n;
  if (s->out_pos == s->out.size()) {
    // The stream ends with the trailers, not with this DATA frame.
    *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
    const nghttp2_nv trailers[] = {header("grpc-status", "0")};
    nghttp2_submit_trailer(session, stream_id, trailers, 1);
  }
  return static_cast<ssize_t>(n);
}

void LeanSession::answerError(Stream* s, const grpc::Status& status) {
  s->answered = true;
  ping_strikes_ = 0;
  const std::string code = std::to_string(static_cast<int>(status.error_code()));
  const std::string message = base::percentEncodeGrpcMessage(status.error_message());
  const nghttp2_nv headers[] = {header(":status", "200"),
                                header("content-type", "application/grpc"),
                                header("grpc-status", code), header("grpc-message", message)};
  nghttp2_submit_response(session_, s->id, headers, message.empty() ? 3 : 4, nullptr);
}

void LeanSession::answerHttp(Stream* s, const char* code) {
  s->answered = true;
  const nghttp2_nv headers[] = {header(":status", code)};
  nghttp2_submit_response(session_, s->id, headers, 1, nullptr);
}

int LeanSession::onFrameSent(nghttp2_session* session, const nghttp2_frame* frame, void*) {
  if (frame->hd.type != NGHTTP2_HEADERS || (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) {
    return 0;
  }
  auto* s =
      static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
  if (s != nullptr && s->reset_after_answer) {
    s->reset_after_answer = false;
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
  }
  return 0;
}

int LeanSession::onStreamClose(nghttp2_session* session, int32_t stream_id, uint32_t, void* user) {
  auto* self = static_cast<LeanSession*>(user);
  auto* s = static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, stream_id));
  if (s == nullptr) return 0;
  nghttp2_session_set_stream_user_data(session, stream_id, nullptr);
  --self->open_streams_;
  self->dropBody(s);  // reset by the client while arriving
  s->open = false;
  self->release(s);
  return 0;
}

const nghttp2_session_callbacks* LeanSession::callbacks() {
  static nghttp2_session_callbacks* const callbacks = [] {
    nghttp2_session_callbacks* c = nullptr;
    nghttp2_session_callbacks_new(&c);
    nghttp2_session_callbacks_set_on_begin_headers_callback(c, &onBeginHeaders);
    nghttp2_session_callbacks_set_on_header_callback(c, &onHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(c, &onData);
    nghttp2_session_callbacks_set_on_frame_recv_callback(c, &onFrame);
    nghttp2_session_callbacks_set_on_frame_send_callback(c, &onFrameSent);
    nghttp2_session_callbacks_set_on_stream_close_callback(c, &onStreamClose);
    return c;
  }();
  return callbacks;
}

// ---------------------------------------------------------------------------------------------
// LeanPort: the sockets and the thread.

struct LeanPort::Connection {
  Connection(uint64_t i, int f, LeanSession::Handler* handler, const LeanLimits& limits,
             LeanBuffered* buffered)
      : id(i), fd(f), session(handler, limits, buffered) {}
  ~Connection() {
    if (tls) tls->close();
    ::close(fd);
  }
  // recv() and send() through TLS when there is TLS: bytes moved, 0 at the end of the stream, -1
  // with errno (EAGAIN: *want_write says for which readiness to wait).
  ssize_t read(char* buf, size_t size, bool* want_write) {
    *want_write = false;
    return tls ? tls->read(buf, size, want_write) : recv(fd, buf, size, 0);
  }
  ssize_t write(const char* buf, size_t size, bool* want_write) {
    *want_write = true;
    return tls ? tls->write(buf, size, want_write) : send(fd, buf, size, MSG_NOSIGNAL);
  }

  const uint64_t id;
  const int fd;
  std::string peer;                     // as gRPC names peers: "ipv4:127.0.0.1:40000"
  std::unique_ptr<HttpTlsSession> tls;  // null: plain text
  LeanSession session;
  std::string out;  // bytes the socket has not taken yet, from out_pos
  size_t out_pos = 0;
  bool writing = false;  // waiting for EPOLLOUT, not reading meanwhile
  bool idle_closing = false;
  std::chrono::steady_clock::time_point accepted;
  std::chrono::steady_clock::time_point last_active;
};

// A Check answered on another thread, waiting in the mailbox for the port's thread.
struct LeanPort::Later {
  uint64_t connection;
  int32_t stream;
  grpc::Status status;
  std::string response;
};

// The sink of a Check while decideCheck() runs on the port's thread.
class LeanPort::CheckCall final : public CallSink {
 public:
  CheckCall(LeanPort* port, Connection* c, int32_t stream)
      : port_(port), c_(c), stream_(stream), timer_(port->metrics_, ServerMetrics::kCheck) {}
  void finish(const grpc::Status& status, std::string_view response) override {
    port_->service_->noteInvalid(ServerMetrics::kCheck, c_->peer, status);
    timer_.finish(status);
    c_->session.answer(stream_, status, response);
  }
  CallSink* detach() override;

 private:
  LeanPort* port_;
  Connection* c_;
  int32_t stream_;
  CallTimer timer_;
};

namespace {
// The port whose thread this is (run() sets it), so that a Check finished there skips the mailbox.
thread_local const LeanPort* t_running_port = nullptr;
}  // namespace

// The sink of a Check whose quota adapter may answer later, on its own thread: the answer goes to
// the port's mailbox (or, finished on the port's thread, straight to its connection). Deletes
// itself when finished.
class LeanPort::LaterCall final : public CallSink {
 public:
  LaterCall(LeanPort* port, uint64_t connection, int32_t stream, const CallTimer& timer)
      : port_(port), connection_(connection), stream_(stream), timer_(timer) {}
  void finish(const grpc::Status& status, std::string_view response) override {
    port_->service_->noteInvalid(ServerMetrics::kCheck, "a lean port connection", status);
    timer_.finish(status);
    if (t_running_port == port_) {
      port_->answerHere(connection_, stream_, status, response);
    } else {
      port_->post(Later{connection_, stream_, status, std::string(response)});
    }
    delete this;
  }
  CallSink* detach() override { return this; }

 private:
  LeanPort* port_;
  uint64_t connection_;
  int32_t stream_;
  CallTimer timer_;
};

CallSink* LeanPort::CheckCall::detach() {
  {
    std::lock_guard<std::mutex> lock(port_->mu_);
    ++port_->later_calls_;
  }
  return new LaterCall(port_, c_->id, stream_, timer_);
}

namespace {

constexpr uint64_t kListenerId = 0;
constexpr uint64_t kWakeId = 1;

std::string peerName(const sockaddr_storage& a) {
  char host[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&a);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    return base::strCat("ipv4:", host, ":", ntohs(in->sin_port));
  }
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a);
  inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
  return base::strCat("ipv6:[", host, "]:", ntohs(in6->sin6_port));
}

}  // namespace

LeanPort::LeanPort(const Options& options, MixerService* service, ServerMetrics* metrics)
    : options_(options), service_(service), metrics_(metrics) {
  buffered_.limit = std::max<size_t>(buffered_.limit, 4 * options.limits.max_message_size);
}

absl::StatusOr<std::unique_ptr<LeanPort>> LeanPort::listen(const Options& options,
                                                           MixerService* service,
                                                           ServerMetrics* metrics) {
  std::unique_ptr<LeanPort> p(new LeanPort(options, service, metrics));
  sockaddr_storage addr{};
  socklen_t len = 0;
  const std::string host = options.host == "localhost" ? "127.0.0.1" : options.host;
  if (host.empty() || host == "0.0.0.0" || inet_pton(AF_INET, host.c_str(), &addr) == 1) {
    auto* in = reinterpret_cast<sockaddr_in*>(&addr);
    in_addr a{};
    a.s_addr = htonl(INADDR_ANY);
    if (!host.empty()) inet_pton(AF_INET, host.c_str(), &a);
    *in = sockaddr_in{};
    in->sin_family = AF_INET;
    in->sin_addr = a;
    in->sin_port = htons(static_cast<uint16_t>(options.port));
    len = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
    in6_addr a{};
    if (inet_pton(AF_INET6, host.c_str(), &a) != 1) {
      return absl::InvalidArgumentError(
          base::strCat("--lean-address: '", options.host, "' is not an IP address"));
    }
    *in6 = sockaddr_in6{};
    in6->sin6_family = AF_INET6;
    in6->sin6_addr = a;
    in6->sin6_port = htons(static_cast<uint16_t>(options.port));
    len = sizeof(sockaddr_in6);
  }
  p->listen_fd_ = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  const int zero = 0;
  setsockopt(p->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (options.reuse_port) {
    setsockopt(p->listen_fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  }
  if (addr.ss_family == AF_INET6) {
    setsockopt(p->listen_fd_, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  }
  if (p->listen_fd_ < 0 || bind(p->listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::listen(p->listen_fd_, 1024) != 0) {
    return absl::UnavailableError(base::strCat("--lean-address: cannot listen on ", options.host,
                                               ":", options.port, ": ", std::strerror(errno)));
  }
  len = sizeof(addr);
  getsockname(p->listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  p->port_ = ntohs(addr.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&addr)->sin_port
                                             : reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  p->epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  p->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeId;
  epoll_ctl(p->epoll_fd_, EPOLL_CTL_ADD, p->wake_fd_, &ev);
  return p;
}

LeanPort::~LeanPort() {
  stop(std::chrono::milliseconds(0));
  if (listen_fd_ >= 0) ::close(listen_fd_);
  ::close(epoll_fd_);
  ::close(wake_fd_);
}

void LeanPort::start() {
  setAccepting(true);
  thread_ = std::thread([this] { run(); });
}

void LeanPort::stop(std::chrono::milliseconds grace) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stop_requested_.load(std::memory_order_relaxed)) {
      stop_by_ = std::chrono::steady_clock::now() + grace;
      stop_requested_.store(true, std::memory_order_release);
    }
  }
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
  metrics_->leanConnections().Decrement(static_cast<double>(connections_.size()));
  connections_.clear();
  connection_count_ = 0;
  // A Check still waiting on its quota adapter posts to the mailbox when the adapter answers or
  // its deadline passes; the port must outlive that.
  std::unique_lock<std::mutex> lock(mu_);
  later_done_.wait(lock, [this] { return later_calls_ == 0; });
}

void LeanPort::post(Later later) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake = mailbox_.empty();
    mailbox_.push_back(std::move(later));
    if (--later_calls_ == 0) later_done_.notify_all();
  }
  if (wake) {
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
  }
}

void LeanPort::setAccepting(bool on) {
  if (on == accepting_ || listen_fd_ < 0) return;
  accepting_ = on;
  if (on) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenerId;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
  } else {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
  }
}

void LeanPort::acceptSome() {
  const int one = 1;
  for (;;) {
    if (connection_count_.load(std::memory_order_relaxed) >= options_.max_connections) {
      setAccepting(false);  // the rest wait in the kernel's backlog
      return;
    }
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    const int fd =
        accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      // Out of descriptors or memory: pause, and let the sweep try again.
      MIXER_LOG(Warn) << "lean port: accept failed (" << std::strerror(errno)
                      << "); retrying in 100 ms";
      setAccepting(false);
      accept_retry_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
      return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    const uint64_t id = next_id_++;
    auto c = std::make_unique<Connection>(id, fd, static_cast<LeanSession::Handler*>(this),
                                          options_.limits, &buffered_);
    c->peer = peerName(addr);
    c->accepted = c->last_active = std::chrono::steady_clock::now();
    if (options_.tls) {
      c->tls = options_.tls->accept(fd);
      if (!c->tls) {
        MIXER_LOG(Warn) << "lean port: no TLS session for " << c->peer;
        continue;  // the descriptor closes with `c`
      }
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = id;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    Connection* raw = c.get();
    connections_.emplace(id, std::move(c));
    connection_count_.fetch_add(1, std::memory_order_relaxed);
    metrics_->leanConnections().Increment();
    if (!writeTo(raw)) close(id);  // the server's SETTINGS go first
  }
}

void LeanPort::onCall(LeanSession* session, int32_t stream, LeanSession::Method method,
                      std::string_view message, runtime::CallDeadline deadline) {
  const bool report = method == LeanSession::kReport;
  CallControl control{deadline};
  security::tls::Caller caller;
  if (options_.gate != nullptr) {
    // As on the gRPC port: a refused call reaches no adapter, and is answered before it is read.
    const std::string_view principal =
        current_->tls ? current_->tls->peerPrincipal() : std::string_view();
    std::string refusal;
    if (!options_.gate->admitIdentity(
            !principal.empty(), principal,
            report ? security::tls::Api::kReport : security::tls::Api::kCheck, &caller,
            current_->peer, &refusal)) {
      const grpc::Status denied(grpc::StatusCode::PERMISSION_DENIED, refusal);
      CallTimer(metrics_, report ? ServerMetrics::kReport : ServerMetrics::kCheck).finish(denied);
      session->answer(stream, denied, {});
      return;
    }
    control.caller = &caller;
  }
  if (report) {
    CallTimer timer(metrics_, ServerMetrics::kReport);
    const grpc::Status status = service_->reportInProcess(message, control);
    service_->noteInvalid(ServerMetrics::kReport, current_->peer, status);
    timer.finish(status);
    session->answer(stream, status, {});
    return;
  }
  CheckCall call(this, current_, stream);
  service_->decideCheck(message, &call, control);
}

void LeanPort::readFrom(Connection* c) {
  char buf[16 * 1024];
  bool open = true;
  for (int reads = 0; reads < 16; ++reads) {  // then the other connections get their turn
    bool want_write = false;
    const ssize_t r = c->read(buf, sizeof(buf), &want_write);
    if (r > 0) {
      current_ = c;
      open = c->session.receive(buf, static_cast<size_t>(r));
      current_ = nullptr;
      // Plain text: a short read emptied the socket. TLS reads a record at a time.
      if (!open || (!c->tls && static_cast<size_t>(r) < sizeof(buf))) break;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (want_write) waitWritable(c);  // a TLS handshake or renegotiation step
      break;
    }
    open = false;  // the peer closed, or the socket failed
    break;
  }
  c->last_active = std::chrono::steady_clock::now();
  if (!writeTo(c) || !open) close(c->id);
}

void LeanPort::waitWritable(Connection* c) {
  if (c->writing) return;
  // Reading stops until the socket takes what is waiting.
  c->writing = true;
  epoll_event ev{};
  ev.events = EPOLLOUT;
  ev.data.u64 = c->id;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &ev);
}

bool LeanPort::writeTo(Connection* c) {
  c->session.produce(&c->out);
  while (c->out_pos < c->out.size()) {
    bool want_write = true;
    const ssize_t w = c->write(c->out.data() + c->out_pos, c->out.size() - c->out_pos, &want_write);
    if (w > 0) {
      c->out_pos += static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // Full socket: wait for it to drain. A TLS write that must read first (the handshake,
      // before the client's hello) is retried after the next read.
      if (want_write) waitWritable(c);
      return true;
    }
    return false;
  }
  c->out.clear();
  c->out_pos = 0;
  if (c->writing) {
    c->writing = false;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = c->id;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &ev);
  }
  return c->session.alive();
}

void LeanPort::close(uint64_t id) {
  if (connections_.erase(id) == 0) return;
  connection_count_.fetch_sub(1, std::memory_order_relaxed);
  metrics_->leanConnections().Decrement();
  if (!accepting_ && listen_fd_ >= 0 && std::chrono::steady_clock::now() >= accept_retry_ &&
      connection_count_.load(std::memory_order_relaxed) < options_.max_connections) {
    setAccepting(true);
  }
}

void LeanPort::takeMailbox() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    taken_.swap(mailbox_);  // both keep their capacity across wake-ups
  }
  for (Later& l : taken_) {
    auto it = connections_.find(l.connection);
    if (it == connections_.end()) continue;  // the connection went away meanwhile
    it->second->session.answer(l.stream, l.status, l.response);
    if (touched_.empty() || touched_.back() != l.connection) touched_.push_back(l.connection);
  }
  taken_.clear();
  writeTouched();
}

void LeanPort::answerHere(uint64_t connection, int32_t stream, const grpc::Status& status,
                          std::string_view response) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (--later_calls_ == 0) later_done_.notify_all();
  }
  auto it = connections_.find(connection);
  if (it == connections_.end()) return;  // the connection went away meanwhile
  Connection* c = it->second.get();
  c->session.answer(stream, status, response);
  // The connection being read is written when its bytes are done; any other, before the wait.
  if (c != current_ && (touched_.empty() || touched_.back() != connection)) {
    touched_.push_back(connection);
  }
}

void LeanPort::writeTouched() {
  for (const uint64_t id : touched_) {
    auto it = connections_.find(id);
    if (it != connections_.end() && !writeTo(it->second.get())) close(id);
  }
  touched_.clear();
}

void LeanPort::sweep(std::chrono::steady_clock::time_point now) {
  std::vector<uint64_t> closing;
  for (auto& [id, c] : connections_) {
    if (c->session.expireStalled(now) > 0 && !writeTo(c.get())) {
      closing.push_back(id);
      continue;
    }
    if (!c->session.started()) {
      if (now - c->accepted > options_.handshake_timeout) closing.push_back(id);
      continue;
    }
    if (options_.max_connection_idle.count() > 0 && !c->idle_closing &&
        c->session.openStreams() == 0 && now - c->last_active > options_.max_connection_idle) {
      c->idle_closing = true;
      c->session.goAway();
      if (!writeTo(c.get())) closing.push_back(id);
    }
  }
  for (const uint64_t id : closing) close(id);
  if (!accepting_ && listen_fd_ >= 0 && now >= accept_retry_ &&
      connection_count_.load(std::memory_order_relaxed) < options_.max_connections) {
    setAccepting(true);
  }
}

void LeanPort::run() {
  pthread_setname_np(pthread_self(), options_.thread_name.substr(0, 15).c_str());
  // The quota calls of one wake-up are flushed together, before the thread waits again.
  adapter_host::FlushScope flush_scope;
  t_running_port = this;
  epoll_event events[64];
  bool stopping = false;
  auto last_sweep = std::chrono::steady_clock::now();
  for (;;) {
    if (flush_scope.pending()) flush_scope.flush();
    writeTouched();  // answers the flush (or the pass) completed
    const int n = epoll_wait(epoll_fd_, events, 64, stopping ? 10 : 100);
    for (int i = 0; i < n; ++i) {
      const uint64_t id = events[i].data.u64;
      if (id == kListenerId) {
        acceptSome();
        continue;
      }
      if (id == kWakeId) {
        uint64_t count;
        (void)!read(wake_fd_, &count, sizeof(count));
        takeMailbox();
        continue;
      }
      auto it = connections_.find(id);
      if (it == connections_.end()) continue;
      Connection* c = it->second.get();
      if (c->writing) {
        if (!writeTo(c)) {
          close(id);
        } else if (!c->writing) {
          readFrom(c);  // what waited for the socket to drain (a TLS handshake step) goes on
        }
      } else {
        readFrom(c);
      }
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_sweep >= std::chrono::milliseconds(100)) {
      last_sweep = now;
      sweep(now);
    }
    if (!stop_requested_.load(std::memory_order_acquire)) continue;
    std::chrono::steady_clock::time_point stop_by;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_by = stop_by_;
    }
    if (!stopping) {
      // No new connection; every connection is told to finish what it has.
      stopping = true;
      setAccepting(false);
      ::close(listen_fd_);
      listen_fd_ = -1;
      std::vector<uint64_t> closing;
      for (auto& [cid, c] : connections_) {
        c->session.goAway();
        if (!writeTo(c.get())) closing.push_back(cid);
      }
      for (const uint64_t cid : closing) close(cid);
    }
    if (connections_.empty() || now >= stop_by) break;
  }
  if (flush_scope.pending()) flush_scope.flush();
  writeTouched();
  t_running_port = nullptr;
}

}  // namespace mixer::server
