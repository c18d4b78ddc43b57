// RedisPipeline (see redis_pipeline.h).
#include "redis_pipeline.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <deque>
#include <system_error>
#include <thread>
#include <utility>

namespace redisquota {

namespace {

int64_t monotonicNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string errnoText(int err) { return std::error_code(err, std::system_category()).message(); }

// Bytes a connection keeps for a socket that takes none (Redis not reading): past this, calls go
// to another connection or end kUnavailable instead of piling up.
constexpr size_t kMaxUnsentBytes = size_t{64} << 20;

// Calls a connection takes before eval() prefers the next one (see eval()).
constexpr size_t kFillInFlight = 32;

bool loadScript(redisContext* ctx, const char* script, std::string* sha) {
  auto* reply = static_cast<redisReply*>(redisCommand(ctx, "SCRIPT LOAD %s", script));
  bool ok = reply != nullptr && reply->type == REDIS_REPLY_STRING;
  if (ok) {
    sha->assign(reply->str, reply->len);
  }
  if (reply != nullptr) {
    freeReplyObject(reply);
  }
  return ok;
}

// AUTH on a fresh connection when `password` is set; false with `error` (the server's reply,
// never the credentials) when refused.
bool authenticate(redisContext* ctx, const std::string& username, const std::string& password,
                  std::string* error) {
  if (password.empty()) {
    return true;
  }
  auto* reply = static_cast<redisReply*>(
      username.empty() ? redisCommand(ctx, "AUTH %b", password.data(), password.size())
                       : redisCommand(ctx, "AUTH %b %b", username.data(), username.size(),
                                      password.data(), password.size()));
  bool ok = reply != nullptr && reply->type == REDIS_REPLY_STATUS;
  if (!ok) {
    *error =
        "AUTH refused: " + (reply == nullptr                   ? std::string(ctx->errstr)
                            : reply->type == REDIS_REPLY_ERROR ? std::string(reply->str, reply->len)
                                                               : std::string("unexpected reply"));
  }
  if (reply != nullptr) {
    freeReplyObject(reply);
  }
  return ok;
}

int pollMs(int64_t ns) {
  return static_cast<int>(std::clamp<int64_t>((ns + kMsNs - 1) / kMsNs, 1, 60'000));
}

}  // namespace

bool parseServerUrl(std::string_view url, std::string* host, int* port) {
  if (url.rfind("redis://", 0) == 0) {
    url.remove_prefix(8);
  }
  size_t colon = url.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return false;
  }
  std::string digits(url.substr(colon + 1));
  if (digits.empty() || digits.size() > 5 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  int p = std::stoi(digits);
  if (p <= 0 || p > 65535) {
    return false;
  }
  *host = std::string(url.substr(0, colon));
  *port = p;
  return true;
}

void appendBulk(std::string& out, std::string_view a, std::string_view b) {
  char len[24];
  out.push_back('$');
  out.append(len, std::to_chars(len, len + sizeof(len), a.size() + b.size()).ptr);
  out.append("\r\n");
  out.append(a);
  out.append(b);
  out.append("\r\n");
}

void appendBulk(std::string& out, int64_t n) {
  char digits[24];
  appendBulk(out, std::string_view(digits,
                                   std::to_chars(digits, digits + sizeof(digits), n).ptr - digits));
}

// One call, from the moment it is written to a connection until its reply.
struct RedisPipeline::Call {
  Done done;
  size_t script = 0;
  size_t arg_count = 0;
  bool eval = false;  // sent again as EVAL after a NOSCRIPT reply
  std::string args;   // RESP of what follows the script: numkeys, keys, arguments
};

// One pooled connection. Request threads write their calls to its socket themselves (a
// non-blocking send under `mu`, which also appends the call to `waiting`, so replies come back in
// the order of `waiting`); its reader thread connects and reconnects, reads and parses replies,
// and completes the calls in that order. Thread-safe: the members under "guarded by mu" are
// locked; the reader thread alone owns the hiredis context and reader.
struct RedisPipeline::Connection {
  std::mutex mu;
  // Guarded by mu.
  bool up = false;         // connected with the scripts loaded: calls may be written
  bool connecting = true;  // the reader is in a connection attempt: calls may wait in `held`
  bool stopping = false;   // close() was called: no new calls
  std::vector<Call> held;  // calls that came during a connection attempt, written once it is up
  int fd = -1;             // the socket, while up
  std::vector<std::string> shas;  // of the scripts, by index
  std::string unsent;  // encoded calls the socket did not take yet (the reader sends them)
  // Encoded Write::kAtFlush calls not sent yet (empty whenever `unsent` is not), and how many.
  std::string at_flush_wire;
  size_t at_flush_calls = 0;
  std::atomic<bool> at_flush_hint{false};  // !at_flush_wire.empty(), read without mu by flush()
  std::string write_error;                 // a send failed: the reader drops the connection
  std::string read_error;  // a request thread's drain found the connection lost: likewise
  std::string last_error = "not connected";  // why it is not up
  // Copies of `up` and of waiting.size(), written under mu and read without it by eval() to
  // choose a connection (a stale value only makes it choose another one).
  std::atomic<bool> up_hint{false};
  std::atomic<size_t> in_flight{0};
  // The calls awaiting replies, under their own lock (queue_mu, taken under mu by writers, alone
  // by readers and never held across a system call): a thread that takes answered calls off the
  // head does not wait for a writer's send(), which mu covers.
  std::mutex queue_mu;
  std::deque<Call> waiting;  // guarded by queue_mu: calls written (or in `unsent`), in order
  int64_t progress_ns = 0;   // guarded by queue_mu: when `waiting` last became non-empty or
                             // got a reply
  // The socket while up, for readers: set under mu with `fd`, and -1 before drop() takes
  // read_mu, so a holder of read_mu that sees it set reads an open socket.
  std::atomic<int> read_fd{-1};
  // The read side: whoever holds read_mu (the reader thread, or a request thread draining
  // replies that are already readable) reads the socket, parses, and takes the answered calls
  // off `waiting`, so replies and calls pair in order whichever thread reads.
  std::mutex read_mu;
  redisReader* parser = nullptr;  // guarded by read_mu: set while up
  // Set at construction.
  int wake_fd = -1;  // an eventfd: wakes the reader (bytes left unsent, a failed send, close())
  std::thread reader;

  void wake() const {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd, &one, sizeof(one));
  }
  void drainWake() const {
    uint64_t count;
    [[maybe_unused]] ssize_t n = ::read(wake_fd, &count, sizeof(count));
  }
};

// The reader thread's state of its connection.
struct RedisPipeline::Session {
  redisContext* ctx = nullptr;
  std::string address;  // host:port of the server connected to
};

namespace {
// Set while this thread completes calls: a completion that makes a new call (eval() from inside
// a Done) does not drain replies again on the same stack.
thread_local bool t_completing = false;
}  // namespace

RedisPipeline::RedisPipeline(RedisOptions options, std::vector<std::string> scripts,
                             mixer::adapter_sdk::Host host, Counters counters)
    : options_(std::move(options)),
      scripts_(std::move(scripts)),
      host_(host),
      counters_(counters),
      sentinel_order_(options_.sentinels) {
  for (int64_t i = 0; i < options_.pool_size; ++i) {
    auto conn = std::make_unique<Connection>();
    conn->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    connections_.push_back(std::move(conn));
  }
  for (const auto& conn : connections_) {
    conn->reader = std::thread([this, c = conn.get()] { readLoop(*c); });
  }
}

RedisPipeline::~RedisPipeline() {
  close();
  for (const auto& conn : connections_) {
    if (conn->wake_fd >= 0) {
      ::close(conn->wake_fd);
    }
  }
}

void RedisPipeline::eval(size_t script, std::string args, size_t arg_count, Done done,
                         Write write) {
  Call call{std::move(done), script, arg_count, false, std::move(args)};
  const size_t n = connections_.size();
  // Fill first: the first connection that is up with fewer than kFillInFlight calls awaiting
  // replies takes the call. At moderate load the replies of many calls then come back on one
  // socket, and its reader thread completes several per wake-up instead of each connection's
  // reader waking for one or two; past that load the calls spread over the pool.
  for (size_t i = 0; i < n; ++i) {
    Connection& c = *connections_[i];
    if (!c.up_hint.load(std::memory_order_relaxed) ||
        c.in_flight.load(std::memory_order_relaxed) >= kFillInFlight) {
      continue;
    }
    std::unique_lock<std::mutex> lock(c.mu);
    if (!c.stopping && writeLocked(c, call, write)) {
      // Earlier calls on this connection may have replies waiting on the socket already: this
      // thread completes them now if no other thread is reading it (a held call: at flush()).
      const bool earlier = write == Write::kNow && c.in_flight.load(std::memory_order_relaxed) > 1;
      lock.unlock();
      if (earlier) {
        drain(c);
      }
      return;
    }
  }
  // Round robin over the pool, skipping connections that are down. With none up, the call waits
  // for a connection attempt in progress (as at start-up), else it ends kUnavailable.
  const size_t first = next_connection_.fetch_add(1, std::memory_order_relaxed);
  std::string why;
  Connection* connecting = nullptr;
  for (size_t i = 0; i < n; ++i) {
    Connection& c = *connections_[(first + i) % n];
    std::unique_lock<std::mutex> lock(c.mu);
    if (c.stopping) {
      lock.unlock();
      call.done(Outcome::kClosing, nullptr, "");  // outside the lock, like every completion
      return;
    }
    if (writeLocked(c, call, write)) {
      // Earlier calls on this connection may have replies waiting on the socket already: this
      // thread completes them now if no other thread is reading it (a held call: at flush()).
      const bool earlier = write == Write::kNow && c.in_flight.load(std::memory_order_relaxed) > 1;
      lock.unlock();
      if (earlier) {
        drain(c);
      }
      return;
    }
    if (c.connecting && connecting == nullptr) {
      connecting = &c;
    }
    if (why.empty()) {
      why = c.up ? "redis is not reading its connection" : c.last_error;
    }
  }
  if (connecting != nullptr) {
    std::lock_guard<std::mutex> lock(connecting->mu);
    if (connecting->connecting && !connecting->stopping) {
      connecting->held.push_back(std::move(call));
      return;
    }
    if (writeLocked(*connecting, call, write)) {
      return;
    }
  }
  call.done(Outcome::kUnavailable, nullptr, why);
}

// A request thread's opportunistic read of `c`: when no other thread is reading it, completes
// the calls whose replies are already on the socket (without waiting for any). A lost
// connection is left to the reader thread, woken for it.
void RedisPipeline::drain(Connection& c) {
  if (t_completing) {
    return;
  }
  std::unique_lock<std::mutex> read_lock(c.read_mu, std::try_to_lock);
  if (!read_lock.owns_lock()) {
    return;  // the reader thread (or another request thread) is at it
  }
  std::string error;
  if (!readReplies(c, read_lock, &error)) {
    {
      std::lock_guard<std::mutex> lock(c.mu);
      if (c.read_error.empty()) {
        c.read_error = error;
      }
    }
    c.wake();
  }
}

void RedisPipeline::flush() {
  for (const auto& conn : connections_) {
    Connection& c = *conn;
    // Relaxed: a thread sees its own held calls; another thread's are that thread's to flush.
    if (!c.at_flush_hint.load(std::memory_order_relaxed)) {
      continue;
    }
    size_t sent_calls = 0;
    {
      std::lock_guard<std::mutex> lock(c.mu);
      sent_calls = c.at_flush_calls;
      if (sent_calls == 0 || !c.up || !c.write_error.empty()) {
        continue;  // nothing held, or the reader will drop the connection and end its calls
      }
      sendAtFlushLocked(c);
    }
    // Earlier calls on this connection may have replies waiting on the socket already.
    if (c.in_flight.load(std::memory_order_relaxed) > sent_calls) {
      drain(c);
    }
  }
}

void RedisPipeline::close() {
  flush();  // no call is left held by a caller that will not flush any more
  for (const auto& conn : connections_) {
    {
      std::lock_guard<std::mutex> lock(conn->mu);
      conn->stopping = true;
    }
    conn->wake();
  }
  for (const auto& conn : connections_) {
    if (conn->reader.joinable()) {
      conn->reader.join();
    }
  }
}

// Writes `call` (EVALSHA, or EVAL once it had a NOSCRIPT reply) to `c`'s socket and appends it
// to `c.waiting` (under c.queue_mu, before the send); `c.mu` is held. What the socket does not
// take at once stays in `c.unsent` for the reader thread to send, and later calls queue behind
// it; a kAtFlush call's bytes stay in `c.at_flush_wire` until flush() or the next kNow call. False,
// leaving `call` to the caller, when `c` cannot take calls.
bool RedisPipeline::writeLocked(Connection& c, Call& call, Write write) {
  if (!c.up || !c.write_error.empty() || c.unsent.size() > kMaxUnsentBytes) {
    return false;
  }
  thread_local std::string wire;
  wire.clear();
  char count[24];
  wire.push_back('*');
  wire.append(count, std::to_chars(count, count + sizeof(count), call.arg_count + 2).ptr);
  wire.append("\r\n");
  if (call.eval) {
    appendBulk(wire, "EVAL");
    appendBulk(wire, scripts_[call.script]);
  } else {
    appendBulk(wire, "EVALSHA");
    appendBulk(wire, c.shas[call.script]);
  }
  wire.append(call.args);
  {
    std::lock_guard<std::mutex> queue_lock(c.queue_mu);
    if (c.waiting.empty()) {
      c.progress_ns = monotonicNs();
    }
    c.waiting.push_back(std::move(call));
    c.in_flight.store(c.waiting.size(), std::memory_order_relaxed);
  }
  if (!c.unsent.empty()) {
    c.unsent.append(wire);  // the reader is waiting for the socket to take the earlier bytes
    return true;
  }
  if (write == Write::kAtFlush || c.at_flush_calls > 0) {
    c.at_flush_wire.append(wire);
    ++c.at_flush_calls;
    if (write == Write::kAtFlush) {
      c.at_flush_hint.store(true, std::memory_order_relaxed);
    } else {
      sendAtFlushLocked(c);  // the kAtFlush calls go first, with this one
    }
    return true;
  }
  sendLocked(c, wire.data(), wire.size());
  return true;
}

// Sends `data` on `c` (`c.mu` held, `c.unsent` empty); what the socket does not take goes to
// `c.unsent`, and the reader thread is woken for it (or for a failed send).
void RedisPipeline::sendLocked(Connection& c, const char* data, size_t size) {
  size_t sent = 0;
  if (!sendSome(c, data, size, &sent)) {
    c.wake();
    return;
  }
  if (sent < size) {
    c.unsent.assign(data + sent, size - sent);
    c.wake();
  }
}

// Sends the kAtFlush calls' bytes (`c.mu` held).
void RedisPipeline::sendAtFlushLocked(Connection& c) {
  sendLocked(c, c.at_flush_wire.data(), c.at_flush_wire.size());
  c.at_flush_wire.clear();
  c.at_flush_calls = 0;
  c.at_flush_hint.store(false, std::memory_order_relaxed);
}

// Sends what the socket takes without blocking; false (with c.write_error set) on an error.
bool RedisPipeline::sendSome(Connection& c, const char* data, size_t size, size_t* sent) {
  while (*sent < size) {
    ssize_t n = ::send(c.fd, data + *sent, size - *sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      *sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return true;
    } else {
      c.write_error = n < 0 ? errnoText(errno) : "send wrote nothing";
      return false;
    }
  }
  return true;
}

timeval RedisPipeline::timeout() const {
  return timeval{static_cast<time_t>(options_.timeout_ns / 1'000'000'000),
                 static_cast<suseconds_t>((options_.timeout_ns % 1'000'000'000) / 1000)};
}

// A blocking connection to `e` within the timeout; nullptr and `error` on failure.
redisContext* RedisPipeline::connectTo(const Endpoint& e, std::string* error) const {
  const timeval tv = timeout();
  redisContext* ctx = redisConnectWithTimeout(e.host.c_str(), e.port, tv);
  if (ctx == nullptr || ctx->err != 0) {
    *error = ctx == nullptr ? "cannot allocate a connection" : ctx->errstr;
    if (ctx != nullptr) {
      redisFree(ctx);
    }
    return nullptr;
  }
  redisSetTimeout(ctx, tv);
  return ctx;
}

// Asks one sentinel for the master's address; false with `error` when it cannot say.
bool RedisPipeline::askSentinel(const Endpoint& sentinel, Endpoint* master,
                                std::string* error) const {
  redisContext* ctx = connectTo(sentinel, error);
  if (ctx == nullptr) {
    return false;
  }
  if (!authenticate(ctx, options_.sentinel_username, options_.sentinel_password, error)) {
    redisFree(ctx);
    return false;
  }
  auto* reply = static_cast<redisReply*>(redisCommand(ctx, "SENTINEL get-master-addr-by-name %b",
                                                      options_.master_name.data(),
                                                      options_.master_name.size()));
  bool ok = false;
  if (reply == nullptr) {
    *error = ctx->errstr;
  } else if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
             reply->element[0]->type == REDIS_REPLY_STRING &&
             reply->element[1]->type == REDIS_REPLY_STRING) {
    master->host.assign(reply->element[0]->str, reply->element[0]->len);
    std::string port(reply->element[1]->str, reply->element[1]->len);
    int p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    ok = ec == std::errc() && end == port.data() + port.size() && p > 0 && p <= 65535;
    master->port = p;
    if (!ok) {
      *error = "a malformed master port '" + port + "'";
    }
  } else if (reply->type == REDIS_REPLY_ERROR) {
    *error = std::string(reply->str, reply->len);
  } else {
    *error = "no master named '" + options_.master_name + "'";
  }
  if (reply != nullptr) {
    freeReplyObject(reply);
  }
  redisFree(ctx);
  return ok;
}

// The master's address: the configured one, or the first answer of the sentinels asked in
// turn (that sentinel then moves to the front). False with `error` when none answers.
bool RedisPipeline::locateMaster(Endpoint* master, std::string* error) {
  if (options_.sentinels.empty()) {
    *master = options_.server;
    return true;
  }
  std::vector<Endpoint> order;
  {
    std::lock_guard<std::mutex> lock(sentinel_mu_);
    order = sentinel_order_;
  }
  std::string errors;
  for (const Endpoint& sentinel : order) {
    std::string why;
    if (askSentinel(sentinel, master, &why)) {
      std::lock_guard<std::mutex> lock(sentinel_mu_);
      auto it = std::find(sentinel_order_.begin(), sentinel_order_.end(), sentinel);
      if (it != sentinel_order_.end()) {
        std::rotate(sentinel_order_.begin(), it, it + 1);
      }
      if (!(last_master_ == *master)) {
        if (!last_master_.host.empty()) {
          counters_.master_switches.add();
          host_.info("redis master '" + options_.master_name + "' moved from " +
                     last_master_.text() + " to " + master->text());
        }
        last_master_ = *master;
      }
      return true;
    }
    errors += (errors.empty() ? "" : "; ") + ("sentinel " + sentinel.text() + ": " + why);
  }
  *error = "no sentinel named the master '" + options_.master_name + "' (" + errors + ")";
  return false;
}

// With sentinels, true when the server `ctx` is connected to is a master (ROLE).
bool RedisPipeline::isMaster(redisContext* ctx, std::string* error) const {
  auto* reply = static_cast<redisReply*>(redisCommand(ctx, "ROLE"));
  bool ok = reply != nullptr && reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
            reply->element[0]->type == REDIS_REPLY_STRING &&
            std::string_view(reply->element[0]->str, reply->element[0]->len) == "master";
  if (!ok) {
    *error = reply == nullptr ? std::string(ctx->errstr)
             : reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
                     reply->element[0]->type == REDIS_REPLY_STRING
                 ? "not a master (ROLE " + std::string(reply->element[0]->str) +
                       "): the sentinels have not seen a failover yet"
                 : "ROLE failed";
  }
  if (reply != nullptr) {
    freeReplyObject(reply);
  }
  return ok;
}

// Finds the master (through the sentinels, if any), connects (blocking, within the timeout),
// loads both scripts and makes the socket non-blocking; nullptr and `error` on failure.
// `address` is the server it tried.
redisContext* RedisPipeline::connect(std::vector<std::string>* shas, std::string* address,
                                     std::string* error) {
  Endpoint master;
  if (!locateMaster(&master, error)) {
    *address = "master '" + options_.master_name + "'";
    return nullptr;
  }
  *address = master.text();
  redisContext* ctx = connectTo(master, error);
  if (ctx == nullptr) {
    return nullptr;
  }
  if (!authenticate(ctx, options_.username, options_.password, error)) {
    redisFree(ctx);
    return nullptr;
  }
  if (!options_.sentinels.empty() && !isMaster(ctx, error)) {
    redisFree(ctx);
    return nullptr;
  }
  shas->assign(scripts_.size(), std::string());
  for (size_t i = 0; i < scripts_.size(); ++i) {
    if (!loadScript(ctx, scripts_[i].c_str(), &(*shas)[i])) {
      *error = ctx->err != 0 ? ctx->errstr : "SCRIPT LOAD failed";
      redisFree(ctx);
      return nullptr;
    }
  }
  const int flags = ::fcntl(ctx->fd, F_GETFL);
  if (flags < 0 || ::fcntl(ctx->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    *error = "cannot make the socket non-blocking: " + errnoText(errno);
    redisFree(ctx);
    return nullptr;
  }
  return ctx;
}

// Completes `call` from `reply`; false when the reply is NOSCRIPT (the caller retries). A
// READONLY reply (the server is now a replica) ends the call kUnavailable and sets `lost`: the
// connection is dropped, and the next attempt finds the master again. Other error replies are
// counted and logged, and passed on.
bool RedisPipeline::complete(Call& call, redisReply* reply, std::string* lost) {
  if (reply->type == REDIS_REPLY_ERROR) {
    std::string message(reply->str, reply->len);
    if (message.rfind("NOSCRIPT", 0) == 0) {
      return false;
    }
    if (message.rfind("READONLY", 0) == 0) {
      *lost = "no longer the master: " + message;
      call.done(Outcome::kUnavailable, nullptr, *lost);
      return true;
    }
    counters_.errors.add();
    host_.error("redis script error: " + message);
  }
  call.done(Outcome::kReply, reply, "");
  return true;
}

// Takes `c` down: the calls still waiting are answered by the failure policy (counted and
// logged as a connection error when `error` is not empty; then a reconnect attempt follows at
// once, for which new calls wait).
void RedisPipeline::drop(Connection& c, Session* s, const std::string& error) {
  std::deque<Call> failed;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    c.up = false;
    c.connecting = !error.empty() && !c.stopping;
    c.fd = -1;
    c.read_fd.store(-1, std::memory_order_release);
    c.unsent.clear();
    c.at_flush_wire.clear();
    c.at_flush_calls = 0;
    c.at_flush_hint.store(false, std::memory_order_relaxed);
    c.write_error.clear();
    c.read_error.clear();
    c.last_error = error.empty() ? "not connected" : error;
    std::lock_guard<std::mutex> queue_lock(c.queue_mu);
    failed.swap(c.waiting);
    c.in_flight.store(0, std::memory_order_relaxed);
    c.up_hint.store(false, std::memory_order_relaxed);
  }
  // No request thread writes the socket once `up` is false, nor reads it once read_mu is ours.
  {
    std::lock_guard<std::mutex> read_lock(c.read_mu);
    redisReaderFree(c.parser);
    c.parser = nullptr;
  }
  redisFree(s->ctx);
  const std::string address = std::move(s->address);
  *s = Session{};
  if (!error.empty()) {
    counters_.errors.add();
    host_.error("redis " + address + ": " + error);
  }
  for (Call& call : failed) {
    call.done(Outcome::kUnavailable, nullptr, error);
  }
}

// Completes `calls` from `replies` (their replies, in order, freed here), outside every lock. A
// NOSCRIPT reply sends its call again as EVAL (which caches the script again), behind what is in
// flight. False (with `error`) when Redis sent more replies than calls were written, or is no
// longer the master.
bool RedisPipeline::completeReplies(Connection& c, std::vector<Call>& calls,
                                    std::vector<redisReply*>& replies, std::string* error) {
  t_completing = true;
  std::vector<Call> retry;
  std::string lost;
  for (size_t i = 0; i < calls.size(); ++i) {
    if (!complete(calls[i], replies[i], &lost)) {
      if (calls[i].eval) {
        calls[i].done(Outcome::kNoScript, nullptr, "");
      } else {
        calls[i].eval = true;
        retry.push_back(std::move(calls[i]));
      }
    }
  }
  const bool in_step = replies.size() == calls.size();
  if (!in_step) {
    *error = "a reply without a call";
  } else if (!lost.empty()) {
    *error = lost;
  }
  for (redisReply* r : replies) {
    freeReplyObject(r);
  }
  replies.clear();
  calls.clear();
  std::vector<Call> unwritten;
  if (!retry.empty()) {
    std::lock_guard<std::mutex> lock(c.mu);
    for (Call& call : retry) {
      if (!writeLocked(c, call, Write::kNow)) {
        unwritten.push_back(std::move(call));
      }
    }
  }
  for (Call& call : unwritten) {
    call.done(Outcome::kUnavailable, nullptr, "connection lost before the script was sent again");
  }
  t_completing = false;
  return in_step && lost.empty();
}

// Reads what `c`'s socket has, parses the replies and takes the calls they answer off the head
// of `c.waiting`, all under `read_lock` (c.read_mu, held by the caller), which it then releases
// to complete the calls. False (with `error`) when the connection is lost or out of step.
bool RedisPipeline::readReplies(Connection& c, std::unique_lock<std::mutex>& read_lock,
                                std::string* error) {
  const int fd = c.read_fd.load(std::memory_order_acquire);  // open until drop() gets read_mu
  if (fd < 0 || c.parser == nullptr) {
    return true;  // not connected (any more): the reader thread deals with it
  }
  char buf[16384];
  bool open = true;
  while (true) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
      redisReaderFeed(c.parser, buf, static_cast<size_t>(n));
      if (static_cast<size_t>(n) < sizeof(buf)) {
        break;
      }
    } else if (n == 0) {
      *error = "connection closed by redis";
      open = false;
      break;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;
    } else {
      *error = errnoText(errno);
      open = false;
      break;
    }
  }
  thread_local std::vector<redisReply*> replies;
  replies.clear();
  while (true) {
    void* raw = nullptr;
    if (redisReaderGetReply(c.parser, &raw) != REDIS_OK) {
      *error = std::string("protocol error: ") + c.parser->errstr;
      open = false;
      break;
    }
    if (raw == nullptr) {
      break;
    }
    replies.push_back(static_cast<redisReply*>(raw));
  }
  std::vector<Call>& calls = completingCalls();
  calls.clear();
  if (!replies.empty()) {
    std::lock_guard<std::mutex> queue_lock(c.queue_mu);
    const size_t k = std::min(replies.size(), c.waiting.size());
    for (size_t i = 0; i < k; ++i) {
      calls.push_back(std::move(c.waiting.front()));
      c.waiting.pop_front();
    }
    c.in_flight.store(c.waiting.size(), std::memory_order_relaxed);
    if (!c.waiting.empty()) {
      c.progress_ns = monotonicNs();
    }
  }
  read_lock.unlock();
  if (!replies.empty() && !completeReplies(c, calls, replies, error)) {
    open = false;
  }
  return open;
}

// The reader thread of `c`: connects with backoff, waits for replies (or for the socket to take
// unsent bytes), completes calls, and drops the connection on an error or when no reply comes
// within the timeout.
void RedisPipeline::readLoop(Connection& c) {
  pthread_setname_np(pthread_self(), options_.thread_name);
  Session s;
  int64_t backoff_ms = 0;
  int64_t next_attempt = 0;
  while (true) {
    if (s.ctx == nullptr) {
      std::vector<Call> held;
      bool stopping = false;
      {
        std::lock_guard<std::mutex> lock(c.mu);
        stopping = c.stopping;
        if (stopping) {
          c.connecting = false;
          held.swap(c.held);  // calls that came before the first attempt
        }
      }
      if (stopping) {
        for (Call& call : held) {
          call.done(Outcome::kClosed, nullptr, "");
        }
        return;
      }
      if (monotonicNs() >= next_attempt) {
        {
          std::lock_guard<std::mutex> lock(c.mu);
          c.connecting = true;
        }
        std::vector<std::string> shas;
        std::string address, error;
        s.ctx = connect(&shas, &address, &error);
        if (s.ctx != nullptr) {
          {
            std::lock_guard<std::mutex> read_lock(c.read_mu);
            c.parser = redisReaderCreate();
          }
          s.address = address;
          counters_.connects.add();
          if (backoff_ms > 0) {
            host_.info("reconnected to redis " + address);
          }
          backoff_ms = 0;
          std::vector<Call> unwritten;
          {
            std::lock_guard<std::mutex> lock(c.mu);
            c.fd = s.ctx->fd;
            c.read_fd.store(c.fd, std::memory_order_release);
            c.shas = std::move(shas);
            c.up = true;
            c.up_hint.store(true, std::memory_order_relaxed);
            c.connecting = false;
            for (Call& call : c.held) {
              if (!writeLocked(c, call, Write::kNow)) {
                unwritten.push_back(std::move(call));
              }
            }
            c.held.clear();
          }
          for (Call& call : unwritten) {
            call.done(Outcome::kUnavailable, nullptr, "connection lost at once");
          }
          continue;
        }
        if (backoff_ms == 0) {
          host_.error("cannot connect to redis " + address + ": " + error);
        }
        counters_.errors.add();
        std::vector<Call> held;
        {
          std::lock_guard<std::mutex> lock(c.mu);
          c.last_error = error;
          c.connecting = false;
          held.swap(c.held);
        }
        for (Call& call : held) {
          call.done(Outcome::kUnavailable, nullptr, error);
        }
        backoff_ms = std::min<int64_t>(backoff_ms == 0 ? 50 : backoff_ms * 2, 2000);
        next_attempt = monotonicNs() + backoff_ms * kMsNs;
      }
      pollfd wake{c.wake_fd, POLLIN, 0};
      if (::poll(&wake, 1, pollMs(next_attempt - monotonicNs())) > 0) {
        c.drainWake();
      }
      continue;
    }

    std::string error;
    bool want_out = false;
    bool stop = false;
    bool stalled = false;
    int64_t wait_ns = options_.timeout_ns;
    {
      std::lock_guard<std::mutex> lock(c.mu);
      error = c.write_error.empty() ? c.read_error : "send: " + c.write_error;
      want_out = !c.unsent.empty();
      std::lock_guard<std::mutex> queue_lock(c.queue_mu);
      stop = c.stopping && c.waiting.empty();
      if (!c.waiting.empty()) {
        wait_ns = c.progress_ns + options_.timeout_ns - monotonicNs();
        stalled = wait_ns <= 0;
      }
    }
    if (!error.empty()) {
      drop(c, &s, error);
      next_attempt = 0;  // the first reconnect at once
      continue;
    }
    if (stop) {
      drop(c, &s, "");
      return;
    }
    if (stalled) {
      drop(c, &s, "no reply within the timeout");
      next_attempt = 0;
      continue;
    }
    pollfd fds[2] = {{s.ctx->fd, static_cast<short>(POLLIN | (want_out ? POLLOUT : 0)), 0},
                     {c.wake_fd, POLLIN, 0}};
    if (::poll(fds, 2, pollMs(wait_ns)) < 0 && errno != EINTR) {
      drop(c, &s, "poll: " + errnoText(errno));
      next_attempt = 0;
      continue;
    }
    if ((fds[1].revents & POLLIN) != 0) {
      c.drainWake();
    }
    if ((fds[0].revents & POLLOUT) != 0) {
      std::lock_guard<std::mutex> lock(c.mu);
      size_t sent = 0;
      sendSome(c, c.unsent.data(), c.unsent.size(), &sent);
      c.unsent.erase(0, sent);
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      std::unique_lock<std::mutex> read_lock(c.read_mu);
      if (!readReplies(c, read_lock, &error)) {
        drop(c, &s, error);
        next_attempt = 0;
      }
    }
  }
}

std::mutex& RedisPipeline::writeMutexForTesting(size_t i) { return connections_.at(i)->mu; }

// The calls completeReplies() takes off a connection, kept per reader thread.
std::vector<RedisPipeline::Call>& RedisPipeline::completingCalls() {
  thread_local std::vector<Call> calls;
  return calls;
}

}  // namespace redisquota
