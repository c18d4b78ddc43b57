// RedisPipeline: a pool of pipelined connections to one Redis server that runs Lua scripts, for
// redisquota. It knows Redis (RESP, scripts, AUTH, Sentinel, reconnects), not quota.
//
// Sentinel: every connection attempt asks the sentinels in turn for the master's address
// (SENTINEL get-master-addr-by-name; the first that answers moves to the front of the list, as
// the Redis clients' Sentinel protocol has it), connects there and checks with ROLE that the
// server is a master; an answer that is not (a sentinel behind a failover) fails the attempt,
// which is retried with the backoff below. A connection to a master that was demoted is closed
// by the sentinels when they reconfigure it, and a READONLY reply drops it too, so after a
// failover every connection comes back to the promoted replica without a restart; the calls in
// between end kUnavailable. A changed master address is counted (Counters::master_switches).
//
// I/O: the SDK offers no I/O service and its executor is for short tasks, so the pipeline keeps
// `pool_size` connections, each with a reader thread started by the constructor and joined in
// close(). eval() encodes the call's EVALSHA (RESP) and writes it to a connection's socket itself
// (a non-blocking send under the connection's lock, which also appends the call to the
// connection's FIFO of awaited replies). The connection is the first one up with fewer than 32
// calls awaiting replies ("fill first"), else round robin over those that are up: at moderate
// load the replies then come back on one socket and its reader thread completes several per
// wake-up (with 16 calls in flight spread round robin over 4 connections each reader woke for
// one or two, and a quota Check cost mixs about 0.25 context switches more). The reader
// thread reads and parses replies (hiredis' redisReader) and completes their calls, and sends
// what a full socket did not take.
//
// The calls awaiting replies on a connection (its FIFO) have a lock of their own, held only to
// push or pop: the thread that takes answered calls off the head (the reader thread, or a
// request thread draining) does not wait for a request thread's send() on the same connection,
// which the connection's write lock covers. (With one lock for both, the reader thread blocked
// on it in about one in six of its context switches under load.)
//
// Reading is not the reader thread's alone: a request thread that has just written a call to a
// connection with earlier calls outstanding tries the connection's read lock (read_mu, never
// waited for) and, if it gets it, reads what the socket already holds and completes those calls
// itself, on its own thread (for mixs, a gRPC thread: the response is then finished where gRPC
// expects it, without the hand-offs a completion from a foreign thread costs). Whoever holds
// read_mu reads, parses, and takes the answered calls off the head of the FIFO in one step, so
// replies pair with their calls in order whichever thread reads; the calls are then completed
// with read_mu released (calls read by two threads may complete in parallel, each exactly
// once). A completion that makes a new call does not drain again on its stack. Only the reader
// thread drops and reconnects: a drain that finds the connection lost leaves the reason for it
// and wakes it. A NOSCRIPT reply (Redis restarted, script cache flushed) sends the call again
// as EVAL. On a connection error, or when no reply comes
// within `timeout`, the reader ends the connection's waiting calls kUnavailable and reconnects
// with exponential backoff (at once, then 50ms doubling to 2s); when no connection is up, calls
// end kUnavailable at once (or, during a connection attempt, wait for it).
//
// Held writes: a caller that runs its calls in passes and flushes at the end of each (mixs'
// completion-queue threads, through the adapter ABI's MIXER_CALL_FLUSHED_LATER) makes them with
// Write::kAtFlush. Their commands wait in the connection's `at_flush_wire` (the calls are already
// in its FIFO, in order) until flush(), which sends them in one send(): a pass of several quota
// Checks costs one system call to Redis, and Redis answers them together. A kNow call on the same
// connection sends those bytes ahead of its own, so the byte order is always the FIFO's. (Not to
// be confused with `held`: calls that came while no connection was up.)
//
// Per-call state: a call's completion (Done) is a fixed-size callable stored inside the call's
// entry in the FIFO, not a std::function: redisquota's (the host's completion, the amount, the
// limit, the window) fits its 64 bytes, so a quota call allocates nothing for it (it did once
// per call; tests/bench/redisquota_adapter_load counts allocations per call).
#ifndef MIXER_ADAPTERS_REDISQUOTA_REDIS_PIPELINE_H_
#define MIXER_ADAPTERS_REDISQUOTA_REDIS_PIPELINE_H_

#include <hiredis/hiredis.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "mixer/adapter_sdk/host.h"

namespace redisquota {

constexpr int64_t kMsNs = 1'000'000;

struct Endpoint {
  std::string host;
  int port = 0;
  std::string text() const { return host + ":" + std::to_string(port); }
  bool operator==(const Endpoint& o) const { return host == o.host && port == o.port; }
};

// Parses "host:port" or "redis://host:port"; false when malformed (the port must be 1-65535).
bool parseServerUrl(std::string_view url, std::string* host, int* port);

// Appends `a` followed by `b` as one RESP bulk string.
void appendBulk(std::string& out, std::string_view a, std::string_view b = {});
// Appends the decimal text of `n` as one RESP bulk string.
void appendBulk(std::string& out, int64_t n);

// Where the pipeline connects, and how.
struct RedisOptions {
  Endpoint server{"localhost", 6379};  // without sentinels
  std::vector<Endpoint> sentinels;     // with master_name: the master is asked of these
  std::string master_name;
  std::string username;  // with password: AUTH username password; else AUTH password
  std::string password;
  std::string sentinel_username;
  std::string sentinel_password;
  int64_t pool_size = 10;
  int64_t timeout_ns = 500 * kMsNs;        // connect, and each reply
  const char* thread_name = "redis-read";  // of the reader threads (at most 15 characters)
};

// Thread-safe: eval() may be called from any thread; see the top of this file.
class RedisPipeline {
 public:
  // How a call ended.
  enum class Outcome {
    kReply,        // `reply` is the script's reply (an error reply other than NOSCRIPT included)
    kUnavailable,  // no reply (not connected, connection lost, timed out, no longer the master)
    kClosing,      // close() had been called: the call was not sent
    kClosed,       // close() was called while the call waited for a connection: not sent
    kNoScript,     // NOSCRIPT again after the call was sent as EVAL
  };
  // Called exactly once per call, on the calling thread or a reader thread. `reply` is set with
  // kReply only (and freed after the call); `error` says why with kUnavailable. A move-only
  // callable kept inside the call itself (up to kInlineBytes of captures, checked at compile
  // time): a call allocates nothing for its completion.
  class Done {
   public:
    static constexpr size_t kInlineBytes = 64;

    Done() = default;
    template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, Done>>>
    Done(F&& f) {  // NOLINT(google-explicit-constructor): a callable, like std::function
      using Fn = std::decay_t<F>;
      static_assert(sizeof(Fn) <= kInlineBytes, "Done: the captures do not fit inline");
      static_assert(alignof(Fn) <= alignof(std::max_align_t), "Done: over-aligned captures");
      static_assert(std::is_nothrow_move_constructible_v<Fn>, "Done: the callable must move");
      ::new (static_cast<void*>(storage_)) Fn(std::forward<F>(f));
      ops_ = &kOps<Fn>;
    }
    Done(Done&& o) noexcept : ops_(o.ops_) {
      if (ops_ != nullptr) {
        ops_->move(o.storage_, storage_);
        o.ops_ = nullptr;
      }
    }
    Done& operator=(Done&& o) noexcept {
      if (this != &o) {
        reset();
        ops_ = o.ops_;
        if (ops_ != nullptr) {
          ops_->move(o.storage_, storage_);
          o.ops_ = nullptr;
        }
      }
      return *this;
    }
    Done(const Done&) = delete;
    Done& operator=(const Done&) = delete;
    ~Done() { reset(); }

    explicit operator bool() const { return ops_ != nullptr; }
    void operator()(Outcome outcome, const redisReply* reply, const std::string& error) {
      ops_->invoke(storage_, outcome, reply, error);
    }

   private:
    struct Ops {
      void (*invoke)(void* f, Outcome, const redisReply*, const std::string&);
      void (*move)(void* from, void* to);  // move-constructs at `to`, destroys `from`
      void (*destroy)(void* f);
    };
    template <class Fn>
    static constexpr Ops kOps = {[](void* f, Outcome o, const redisReply* r, const std::string& e) {
                                   (*static_cast<Fn*>(f))(o, r, e);
                                 },
                                 [](void* from, void* to) {
                                   ::new (to) Fn(std::move(*static_cast<Fn*>(from)));
                                   static_cast<Fn*>(from)->~Fn();
                                 },
                                 [](void* f) { static_cast<Fn*>(f)->~Fn(); }};

    void reset() {
      if (ops_ != nullptr) {
        ops_->destroy(storage_);
        ops_ = nullptr;
      }
    }

    const Ops* ops_ = nullptr;
    alignas(std::max_align_t) unsigned char storage_[kInlineBytes];
  };

  // What the pipeline counts (host counters declared by the owner; default ones count nothing).
  struct Counters {
    mixer::adapter_sdk::Host::Counter errors;           // connection and command errors
    mixer::adapter_sdk::Host::Counter connects;         // connections (re)established
    mixer::adapter_sdk::Host::Counter master_switches;  // the sentinels named another master
  };

  // Starts the reader threads, which connect at once. `scripts`: Lua sources loaded (SCRIPT LOAD)
  // on every connection, run by their index in eval().
  RedisPipeline(RedisOptions options, std::vector<std::string> scripts,
                mixer::adapter_sdk::Host host, Counters counters);
  ~RedisPipeline();
  RedisPipeline(const RedisPipeline&) = delete;
  RedisPipeline& operator=(const RedisPipeline&) = delete;

  // When a call's command is sent.
  enum class Write {
    kNow,      // before eval() returns
    kAtFlush,  // at the next flush() (of any thread), or before a later kNow call on its
               // connection: the caller promises to call flush() before it waits for anything
  };

  // Runs script number `script` with `args`: the RESP of the `arg_count` bulk strings that follow
  // the script's SHA in EVALSHA (numkeys, the keys, the arguments; see appendBulk).
  void eval(size_t script, std::string args, size_t arg_count, Done done,
            Write write = Write::kNow);

  // Sends the commands held by kAtFlush calls, each connection's in one send(), then completes
  // the replies of earlier calls that are already on those sockets (as eval() does after a write).
  void flush();

  // Stops new calls (kClosing), lets each reader thread wait for the replies still due (up to the
  // timeout) and joins the threads. Idempotent.
  void close();

  // Counts an error of the owner's (e.g. a reply it could not use) with the pipeline's errors.
  void countError() const { counters_.errors.add(); }

  // For tests: the lock a request thread holds while it writes to connection `i` (across the
  // send()); reading and completing replies does not take it.
  std::mutex& writeMutexForTesting(size_t i);

 private:
  struct Call;
  struct Connection;
  struct Session;

  bool writeLocked(Connection& c, Call& call, Write write);
  static void sendLocked(Connection& c, const char* data, size_t size);
  static void sendAtFlushLocked(Connection& c);
  static bool sendSome(Connection& c, const char* data, size_t size, size_t* sent);
  timeval timeout() const;
  redisContext* connectTo(const Endpoint& e, std::string* error) const;
  bool askSentinel(const Endpoint& sentinel, Endpoint* master, std::string* error) const;
  bool locateMaster(Endpoint* master, std::string* error);
  bool isMaster(redisContext* ctx, std::string* error) const;
  redisContext* connect(std::vector<std::string>* shas, std::string* address, std::string* error);
  bool complete(Call& call, redisReply* reply, std::string* lost);
  void drop(Connection& c, Session* s, const std::string& error);
  bool completeReplies(Connection& c, std::vector<Call>& calls, std::vector<redisReply*>& replies,
                       std::string* error);
  bool readReplies(Connection& c, std::unique_lock<std::mutex>& read_lock, std::string* error);
  void drain(Connection& c);
  void readLoop(Connection& c);
  static std::vector<Call>& completingCalls();

  const RedisOptions options_;
  const std::vector<std::string> scripts_;
  mixer::adapter_sdk::Host host_;
  const Counters counters_;
  std::mutex sentinel_mu_;
  std::vector<Endpoint> sentinel_order_;  // guarded by sentinel_mu_: the one that answered first
  Endpoint last_master_;                  // guarded by sentinel_mu_: empty before the first answer
  std::vector<std::unique_ptr<Connection>> connections_;  // fixed after construction
  std::atomic<size_t> next_connection_{0};
};

}  // namespace redisquota

#endif  // MIXER_ADAPTERS_REDISQUOTA_REDIS_PIPELINE_H_
