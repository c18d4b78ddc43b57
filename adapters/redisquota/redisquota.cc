// redisquota: Istio's Redis-backed quota adapter (quota template), so several mixs processes
// enforce one limit. Params:
//   quotas[]{name, max_amount, valid_duration, bucket_duration, rate_limit_algorithm
//   (FIXED_WINDOW default | ROLLING_WINDOW), overrides[]{dimensions, max_amount}},
//   redis_server_url ("host:port" or "redis://host:port"), connection_pool_size (10),
//   and, beyond Istio: timeout (500ms: connect and each reply), failure_policy
//   (FAIL_CLOSED default: deny with UNAVAILABLE | FAIL_OPEN: grant what was asked),
//   sentinels (a list of "host:port") with master_name, instead of redis_server_url: the master
//   is found through Redis Sentinel; password (and username, for a Redis 6 ACL user): AUTH on
//   every connection to the server (the master, and the replica promoted after a failover);
//   sentinel_password (and sentinel_username): AUTH on every connection to a sentinel (the
//   sentinels' `requirepass`), as go-redis' FailoverOptions and redis-py's Sentinel have them.
//   Neither is ever logged nor put in an error message.
//
// Sentinel: every connection attempt asks the sentinels in turn for the master's address
// (SENTINEL get-master-addr-by-name; the first that answers moves to the front of the list, as
// the Redis clients' Sentinel protocol has it), connects there and checks with ROLE that the
// server is a master; an answer that is not (a sentinel behind a failover) fails the attempt,
// which is retried with the backoff below. A connection to a master that was demoted is closed
// by the sentinels when they reconfigure it, and a READONLY reply drops it too, so after a
// failover every connection comes back to the promoted replica without a restart; the calls in
// between are answered by the failure policy. A changed master address is counted
// (mixer_adapter_redisquota_master_switches_total).
//
// I/O: the SDK offers no I/O service and its executor is for short tasks, so each handler keeps
// `connection_pool_size` connections, each with a reader thread started by the handler and joined
// in close(). quota() encodes the call's EVALSHA (RESP) and writes it to a connection's socket
// itself (round robin over the connections that are up; a non-blocking send under the
// connection's lock, which also appends the call to the connection's FIFO of awaited replies);
// the reader thread only reads and parses replies (hiredis' redisReader) and completes the calls
// in FIFO order, and sends what a full socket did not take. A NOSCRIPT reply (Redis restarted,
// script cache flushed) sends the call again as EVAL. On a connection error, or when no reply
// comes within `timeout`, the reader answers the connection's waiting calls by the failure policy
// and reconnects with exponential backoff (at once, then 50ms doubling to 2s); when no connection
// is up, calls are answered by the failure policy at once. Counters on /metrics:
// mixer_adapter_redisquota_{redis_errors,reconnects,fail_open_grants,fail_closed_denials,
// master_switches}_total.
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "mixer/adapter_sdk/adapter.h"
#include "redis_scripts.h"

namespace redisquota {

namespace sdk = mixer::adapter_sdk;

constexpr int64_t kMsNs = 1'000'000;

enum class Algorithm { kFixedWindow, kRollingWindow };

using Dimensions = std::vector<std::pair<std::string, std::string>>;

struct QuotaOverride {
  Dimensions dimensions;
  int64_t max_amount = 0;
};

struct QuotaSpec {
  std::string name;
  int64_t max_amount = 0;
  int64_t window_ns = 0;
  int64_t bucket_ns = 0;
  Algorithm algorithm = Algorithm::kFixedWindow;
  std::vector<QuotaOverride> overrides;
};

struct Endpoint {
  std::string host;
  int port = 0;
  std::string text() const { return host + ":" + std::to_string(port); }
  bool operator==(const Endpoint& o) const { return host == o.host && port == o.port; }
};

struct Config {
  std::vector<QuotaSpec> quotas;
  Endpoint server{"localhost", 6379};  // without sentinels
  std::vector<Endpoint> sentinels;     // with master_name: the master is asked of these
  std::string master_name;
  std::string username;  // with password: AUTH username password; else AUTH password
  std::string password;
  std::string sentinel_username;
  std::string sentinel_password;
  int64_t pool_size = 10;
  int64_t timeout_ns = 500 * kMsNs;
  bool fail_open = false;
};

std::string dimensionText(sdk::ValueView v) {
  if (v.isStringLike()) {
    return std::string(v.stringValue());
  }
  switch (v.type()) {
    case MIXER_VALUE_INT64:
    case MIXER_VALUE_TIMESTAMP:
    case MIXER_VALUE_DURATION:
      return std::to_string(v.int64Value());
    case MIXER_VALUE_BOOL:
      return v.boolValue() ? "true" : "false";
    case MIXER_VALUE_DOUBLE:
      return std::to_string(v.doubleValue());
    default:
      return "";
  }
}

Dimensions readDimensions(sdk::ValueView map) {
  Dimensions dims;
  for (size_t i = 0; i < map.size(); ++i) {
    dims.emplace_back(std::string(map.keyAt(i)), dimensionText(map.valueAt(i)));
  }
  std::sort(dims.begin(), dims.end());
  return dims;
}

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

Config readConfig(sdk::ValueView params, sdk::ErrorSink& errors) {
  Config c;
  sdk::checkKnownKeys(params,
                      {"quotas", "redis_server_url", "connection_pool_size", "timeout",
                       "failure_policy", "sentinels", "master_name", "username", "password",
                       "sentinel_username", "sentinel_password"},
                      "", errors);
  sdk::ValueView url = params.find("redis_server_url");
  sdk::ValueView sentinels = params.find("sentinels");
  sdk::ValueView master = params.find("master_name");
  if (!sentinels.isNull()) {
    if (!url.isNull()) {
      errors.add("redis_server_url", "give either redis_server_url or sentinels, not both");
    }
    if (!sentinels.isList() || sentinels.size() == 0) {
      errors.add("sentinels", "expected a non-empty list of host:port");
    }
    for (size_t i = 0; i < sentinels.size(); ++i) {
      Endpoint e;
      if (sentinels.at(i).type() != MIXER_VALUE_STRING ||
          !parseServerUrl(sentinels.at(i).stringValue(), &e.host, &e.port)) {
        errors.add(sdk::indexPath("sentinels", i), "expected host:port");
        continue;
      }
      c.sentinels.push_back(std::move(e));
    }
    if (master.type() != MIXER_VALUE_STRING || master.stringValue().empty()) {
      errors.add("master_name", "required with sentinels: the name the sentinels monitor");
    } else {
      c.master_name = std::string(master.stringValue());
    }
  } else {
    if (url.type() != MIXER_VALUE_STRING ||
        !parseServerUrl(url.stringValue(), &c.server.host, &c.server.port)) {
      errors.add("redis_server_url", "required: host:port (or sentinels and master_name)");
    }
    if (!master.isNull()) {
      errors.add("master_name", "only with sentinels");
    }
  }
  for (auto [key, out] : {std::pair{"username", &c.username}, std::pair{"password", &c.password},
                          std::pair{"sentinel_username", &c.sentinel_username},
                          std::pair{"sentinel_password", &c.sentinel_password}}) {
    sdk::ValueView v = params.find(key);
    if (v.isNull()) {
      continue;
    }
    if (v.type() != MIXER_VALUE_STRING || v.stringValue().empty()) {
      errors.add(key, "expected a non-empty string");
      continue;
    }
    out->assign(v.stringValue());
  }
  if (!c.username.empty() && c.password.empty()) {
    errors.add("username", "needs password");
  }
  if (!c.sentinel_username.empty() && c.sentinel_password.empty()) {
    errors.add("sentinel_username", "needs sentinel_password");
  }
  if (c.sentinels.empty() && (!c.sentinel_password.empty() || !c.sentinel_username.empty())) {
    errors.add("sentinel_password", "only with sentinels");
  }
  sdk::readInt(params.find("connection_pool_size"), "connection_pool_size", 1, 64, errors,
               &c.pool_size);
  sdk::readDuration(params.find("timeout"), "timeout", errors, &c.timeout_ns);
  if (c.timeout_ns <= 0) {
    errors.add("timeout", "must be positive");
  }
  sdk::ValueView policy = params.find("failure_policy");
  if (!policy.isNull()) {
    if (policy.stringValue() == "FAIL_OPEN") {
      c.fail_open = true;
    } else if (policy.stringValue() != "FAIL_CLOSED") {
      errors.add("failure_policy", "expected FAIL_CLOSED or FAIL_OPEN");
    }
  }
  sdk::ValueView quotas = params.find("quotas");
  if (!quotas.isList() || quotas.size() == 0) {
    errors.add("quotas", "required: a non-empty list");
  }
  for (size_t i = 0; i < quotas.size(); ++i) {
    std::string path = sdk::indexPath("quotas", i);
    sdk::ValueView q = quotas.at(i);
    if (!q.isMap()) {
      errors.add(path, "expected a map");
      continue;
    }
    sdk::checkKnownKeys(q,
                        {"name", "max_amount", "valid_duration", "bucket_duration",
                         "rate_limit_algorithm", "overrides"},
                        path, errors);
    QuotaSpec spec;
    spec.name = std::string(q.find("name").stringValue());
    if (spec.name.empty()) {
      errors.add(sdk::joinPath(path, "name"), "required: a non-empty string");
    }
    sdk::readInt(q.find("max_amount"), sdk::joinPath(path, "max_amount"), 0, INT64_MAX / 2, errors,
                 &spec.max_amount);
    sdk::readDuration(q.find("valid_duration"), sdk::joinPath(path, "valid_duration"), errors,
                      &spec.window_ns);
    sdk::readDuration(q.find("bucket_duration"), sdk::joinPath(path, "bucket_duration"), errors,
                      &spec.bucket_ns);
    if (spec.window_ns < kMsNs) {
      errors.add(sdk::joinPath(path, "valid_duration"), "must be at least 1ms");
    }
    sdk::ValueView algo = q.find("rate_limit_algorithm");
    if (algo.stringValue() == "ROLLING_WINDOW" ||
        (algo.type() == MIXER_VALUE_INT64 && algo.int64Value() == 1)) {
      spec.algorithm = Algorithm::kRollingWindow;
      if (spec.bucket_ns < kMsNs || spec.bucket_ns >= spec.window_ns) {
        errors.add(sdk::joinPath(path, "bucket_duration"),
                   "ROLLING_WINDOW needs 1ms <= bucket_duration < valid_duration");
      }
    } else if (!algo.isNull() && algo.stringValue() != "FIXED_WINDOW" &&
               !(algo.type() == MIXER_VALUE_INT64 && algo.int64Value() == 0)) {
      errors.add(sdk::joinPath(path, "rate_limit_algorithm"),
                 "expected FIXED_WINDOW or ROLLING_WINDOW");
    }
    sdk::ValueView overrides = q.find("overrides");
    for (size_t j = 0; j < overrides.size(); ++j) {
      std::string opath = sdk::indexPath(sdk::joinPath(path, "overrides"), j);
      sdk::ValueView o = overrides.at(j);
      sdk::checkKnownKeys(o, {"dimensions", "max_amount"}, opath, errors);
      QuotaOverride ov;
      sdk::readInt(o.find("max_amount"), sdk::joinPath(opath, "max_amount"), 0, INT64_MAX / 2,
                   errors, &ov.max_amount);
      if (!o.find("dimensions").isMap() || o.find("dimensions").size() == 0) {
        errors.add(sdk::joinPath(opath, "dimensions"), "required: a non-empty map");
      }
      ov.dimensions = readDimensions(o.find("dimensions"));
      spec.overrides.push_back(std::move(ov));
    }
    c.quotas.push_back(std::move(spec));
  }
  return c;
}

// One quota call, from the moment it is written to a connection until its reply.
struct Call {
  sdk::QuotaCompletion done;
  int64_t amount = 0;
  bool rolling = false;
  bool eval = false;   // sent again as EVAL after a NOSCRIPT reply
  std::string args;    // RESP of what follows the script: numkeys, the two keys, the seven ARGV
  int64_t limit = -1;  // the max_amount that applied (ABI 1.1 result, with the script's remainder)
  int64_t window_ns = 0;
};

int64_t monotonicNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string errnoText(int err) { return std::error_code(err, std::system_category()).message(); }

// Appends `a` followed by `b` as one RESP bulk string.
void appendBulk(std::string& out, std::string_view a, std::string_view b = {}) {
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

// Bytes a connection keeps for a socket that takes none (Redis not reading): past this, calls go
// to another connection or to the failure policy instead of piling up.
constexpr size_t kMaxUnsentBytes = size_t{64} << 20;

// One pooled connection. Request threads write their calls to its socket themselves (a
// non-blocking send under `mu`, which also appends the call to `waiting`, so replies come back in
// the order of `waiting`); its reader thread connects and reconnects, reads and parses replies,
// and completes the calls in that order. Thread-safe: the members under "guarded by mu" are
// locked; the reader thread alone owns the hiredis context and reader.
struct Connection {
  std::mutex mu;
  // Guarded by mu.
  bool up = false;         // connected with the scripts loaded: calls may be written
  bool connecting = true;  // the reader is in a connection attempt: calls may wait in `held`
  bool stopping = false;   // close() was called: no new calls
  std::vector<Call> held;  // calls that came during a connection attempt, written once it is up
  int fd = -1;             // the socket, while up
  std::string fixed_sha;
  std::string rolling_sha;
  std::string unsent;        // encoded calls the socket did not take yet (the reader sends them)
  std::deque<Call> waiting;  // calls written (or in `unsent`), in the order of their replies
  int64_t progress_ns = 0;   // when `waiting` last became non-empty or got a reply
  std::string write_error;   // a send failed: the reader drops the connection
  std::string last_error = "not connected";  // why it is not up
  // Set at construction.
  int wake_fd = -1;  // an eventfd: wakes the reader (bytes left unsent, a failed send, close())
  std::thread reader;

  void wake() const {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd, &one, sizeof(one));
  }
};

// Thread-safe: quota() runs on any request thread; see Connection.
class RedisQuotaHandler : public sdk::Handler {
 public:
  RedisQuotaHandler(Config config, sdk::Host host)
      : config_(std::move(config)),
        host_(host),
        redis_errors_(
            host.declareCounter("redisquota_redis_errors", "Redis connection or command errors")),
        reconnects_(host.declareCounter("redisquota_reconnects", "Connections (re)established")),
        fail_open_(host.declareCounter("redisquota_fail_open_grants",
                                       "Quota granted without Redis (failure_policy FAIL_OPEN)")),
        fail_closed_(host.declareCounter(
            "redisquota_fail_closed_denials",
            "Quota denied because Redis was unreachable (failure_policy FAIL_CLOSED)")),
        master_switches_(host.declareCounter(
            "redisquota_master_switches",
            "Times the sentinels named another master than before (a failover)")),
        sentinel_order_(config_.sentinels) {
    for (int64_t i = 0; i < config_.pool_size; ++i) {
      auto conn = std::make_unique<Connection>();
      conn->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
      connections_.push_back(std::move(conn));
    }
    for (const auto& conn : connections_) {
      conn->reader = std::thread([this, c = conn.get()] { readLoop(*c); });
    }
  }
  ~RedisQuotaHandler() override {
    close();
    for (const auto& conn : connections_) {
      if (conn->wake_fd >= 0) {
        ::close(conn->wake_fd);
      }
    }
  }

  void quota(const sdk::InstanceView& instance, const sdk::QuotaArgs& args, const sdk::CallContext&,
             sdk::QuotaCompletion done) override {
    const QuotaSpec* spec = find(instance.name());
    if (spec == nullptr) {
      done.respond(sdk::QuotaResult{
          sdk::Code::kNotFound,
          "no quota configured for instance '" + std::string(instance.name()) + "'", 0, 0});
      return;
    }
    Dimensions dims = readDimensions(instance.field("dimensions"));
    int64_t max_amount = spec->max_amount;
    for (const QuotaOverride& o : spec->overrides) {
      bool match = std::all_of(o.dimensions.begin(), o.dimensions.end(), [&](const auto& d) {
        return std::binary_search(dims.begin(), dims.end(), d);
      });
      if (match) {
        max_amount = o.max_amount;
        break;
      }
    }
    thread_local std::string key;
    key = spec->name;
    for (const auto& [k, v] : dims) {
      key += ';';
      key += k;
      key += '=';
      key += v;
    }
    Call call{done, args.amount, spec->algorithm == Algorithm::kRollingWindow, false, {}};
    call.limit = max_amount;
    call.window_ns = spec->window_ns;
    std::string& a = call.args;
    a.reserve(2 * key.size() + args.deduplication_id.size() + 128);
    appendBulk(a, "2");
    appendBulk(a, key, ".meta");
    appendBulk(a, key, ".data");
    appendBulk(a, max_amount);
    appendBulk(a, spec->window_ns / kMsNs);
    appendBulk(a, spec->bucket_ns / kMsNs);
    appendBulk(a, args.best_effort ? "1" : "0");
    appendBulk(a, std::max<int64_t>(0, args.amount));
    appendBulk(a, host_.nowUnixNs() / kMsNs);
    appendBulk(a, args.deduplication_id);

    // Round robin over the pool, skipping connections that are down. With none up, the call waits
    // for a connection attempt in progress (as at start-up), else the failure policy answers.
    const size_t n = connections_.size();
    const size_t first = next_connection_.fetch_add(1, std::memory_order_relaxed);
    std::string why;
    Connection* connecting = nullptr;
    for (size_t i = 0; i < n; ++i) {
      Connection& c = *connections_[(first + i) % n];
      std::lock_guard<std::mutex> lock(c.mu);
      if (c.stopping) {
        done.respond(sdk::QuotaResult{sdk::Code::kUnavailable, "handler closing", 0, 0});
        return;
      }
      if (writeLocked(c, call)) {
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
      if (writeLocked(*connecting, call)) {
        return;
      }
    }
    failByPolicy(call, why);
  }

  // Stops new calls, lets each reader thread wait for the replies still due (up to the timeout),
  // and joins the threads.
  void close() override {
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

 private:
  const QuotaSpec* find(std::string_view name) const {
    for (const QuotaSpec& q : config_.quotas) {
      if (name == q.name ||
          (name.size() > q.name.size() && name.compare(0, q.name.size(), q.name) == 0 &&
           name[q.name.size()] == '.')) {
        return &q;
      }
    }
    return nullptr;
  }

  void failByPolicy(Call& call, const std::string& why) {
    if (config_.fail_open) {
      fail_open_.add();
      call.done.respond(sdk::QuotaResult{sdk::Code::kOk, "", call.amount, 0});
    } else {
      fail_closed_.add();
      call.done.respond(
          sdk::QuotaResult{sdk::Code::kUnavailable, "quota backend unavailable: " + why, 0, 0});
    }
  }

  // Writes `call` (EVALSHA, or EVAL once it had a NOSCRIPT reply) to `c`'s socket and appends it
  // to `c.waiting`; `c.mu` is held. What the socket does not take at once stays in `c.unsent`
  // for the reader thread to send, and later calls queue behind it. False, leaving `call` to the
  // caller, when `c` cannot take calls.
  bool writeLocked(Connection& c, Call& call) {
    if (!c.up || !c.write_error.empty() || c.unsent.size() > kMaxUnsentBytes) {
      return false;
    }
    thread_local std::string wire;
    wire.clear();
    wire.append("*12\r\n");
    if (call.eval) {
      appendBulk(wire, "EVAL");
      appendBulk(wire, call.rolling ? kRollingWindowScript : kFixedWindowScript);
    } else {
      appendBulk(wire, "EVALSHA");
      appendBulk(wire, call.rolling ? c.rolling_sha : c.fixed_sha);
    }
    wire.append(call.args);
    if (c.waiting.empty()) {
      c.progress_ns = monotonicNs();
    }
    c.waiting.push_back(std::move(call));
    if (!c.unsent.empty()) {
      c.unsent.append(wire);  // the reader is waiting for the socket to take the earlier bytes
      return true;
    }
    size_t sent = 0;
    if (!sendSome(c, wire.data(), wire.size(), &sent)) {
      c.wake();
      return true;
    }
    if (sent < wire.size()) {
      c.unsent.assign(wire, sent);
      c.wake();
    }
    return true;
  }

  // Sends what the socket takes without blocking; false (with c.write_error set) on an error.
  static bool sendSome(Connection& c, const char* data, size_t size, size_t* sent) {
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

  static bool loadScript(redisContext* ctx, const char* script, std::string* sha) {
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

  timeval timeout() const {
    return timeval{static_cast<time_t>(config_.timeout_ns / 1'000'000'000),
                   static_cast<suseconds_t>((config_.timeout_ns % 1'000'000'000) / 1000)};
  }

  // A blocking connection to `e` within the timeout; nullptr and `error` on failure.
  redisContext* connectTo(const Endpoint& e, std::string* error) const {
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

  // AUTH on a fresh connection when `password` is set; false with `error` (the server's reply,
  // never the credentials) when refused.
  static bool authenticate(redisContext* ctx, const std::string& username,
                           const std::string& password, std::string* error) {
    if (password.empty()) {
      return true;
    }
    auto* reply = static_cast<redisReply*>(
        username.empty() ? redisCommand(ctx, "AUTH %b", password.data(), password.size())
                         : redisCommand(ctx, "AUTH %b %b", username.data(), username.size(),
                                        password.data(), password.size()));
    bool ok = reply != nullptr && reply->type == REDIS_REPLY_STATUS;
    if (!ok) {
      *error = "AUTH refused: " + (reply == nullptr ? std::string(ctx->errstr)
                                   : reply->type == REDIS_REPLY_ERROR
                                       ? std::string(reply->str, reply->len)
                                       : std::string("unexpected reply"));
    }
    if (reply != nullptr) {
      freeReplyObject(reply);
    }
    return ok;
  }

  // Asks one sentinel for the master's address; false with `error` when it cannot say.
  bool askSentinel(const Endpoint& sentinel, Endpoint* master, std::string* error) const {
    redisContext* ctx = connectTo(sentinel, error);
    if (ctx == nullptr) {
      return false;
    }
    if (!authenticate(ctx, config_.sentinel_username, config_.sentinel_password, error)) {
      redisFree(ctx);
      return false;
    }
    auto* reply = static_cast<redisReply*>(redisCommand(ctx, "SENTINEL get-master-addr-by-name %b",
                                                        config_.master_name.data(),
                                                        config_.master_name.size()));
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
      *error = "no master named '" + config_.master_name + "'";
    }
    if (reply != nullptr) {
      freeReplyObject(reply);
    }
    redisFree(ctx);
    return ok;
  }

  // The master's address: the configured one, or the first answer of the sentinels asked in
  // turn (that sentinel then moves to the front). False with `error` when none answers.
  bool locateMaster(Endpoint* master, std::string* error) {
    if (config_.sentinels.empty()) {
      *master = config_.server;
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
            master_switches_.add();
            host_.info("redis master '" + config_.master_name + "' moved from " +
                       last_master_.text() + " to " + master->text());
          }
          last_master_ = *master;
        }
        return true;
      }
      errors += (errors.empty() ? "" : "; ") + ("sentinel " + sentinel.text() + ": " + why);
    }
    *error = "no sentinel named the master '" + config_.master_name + "' (" + errors + ")";
    return false;
  }

  // With sentinels, true when the server `ctx` is connected to is a master (ROLE).
  bool isMaster(redisContext* ctx, std::string* error) const {
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
  redisContext* connect(std::string* fixed_sha, std::string* rolling_sha, std::string* address,
                        std::string* error) {
    Endpoint master;
    if (!locateMaster(&master, error)) {
      *address = "master '" + config_.master_name + "'";
      return nullptr;
    }
    *address = master.text();
    redisContext* ctx = connectTo(master, error);
    if (ctx == nullptr) {
      return nullptr;
    }
    if (!authenticate(ctx, config_.username, config_.password, error)) {
      redisFree(ctx);
      return nullptr;
    }
    if (!config_.sentinels.empty() && !isMaster(ctx, error)) {
      redisFree(ctx);
      return nullptr;
    }
    if (!loadScript(ctx, kFixedWindowScript, fixed_sha) ||
        !loadScript(ctx, kRollingWindowScript, rolling_sha)) {
      *error = ctx->err != 0 ? ctx->errstr : "SCRIPT LOAD failed";
      redisFree(ctx);
      return nullptr;
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
  // READONLY reply (the server is now a replica) answers the call by the failure policy and sets
  // `lost`: the connection is dropped, and the next attempt finds the master again.
  bool complete(Call& call, redisReply* reply, std::string* lost) {
    if (reply->type == REDIS_REPLY_ERROR) {
      std::string message(reply->str, reply->len);
      if (message.rfind("NOSCRIPT", 0) == 0) {
        return false;
      }
      if (message.rfind("READONLY", 0) == 0) {
        *lost = "no longer the master: " + message;
        failByPolicy(call, *lost);
        return true;
      }
      redis_errors_.add();
      host_.error("redis script error: " + message);
      call.done.respond(sdk::QuotaResult{sdk::Code::kInternal, "redis: " + message, 0, 0});
      return true;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER ||
        reply->element[1]->type != REDIS_REPLY_INTEGER ||
        reply->element[2]->type != REDIS_REPLY_INTEGER) {
      redis_errors_.add();
      call.done.respond(
          sdk::QuotaResult{sdk::Code::kInternal, "redis: unexpected script reply", 0, 0});
      return true;
    }
    int64_t granted = std::min<int64_t>(reply->element[0]->integer, call.amount);
    sdk::QuotaResult r{sdk::Code::kOk, "", std::max<int64_t>(0, granted),
                       reply->element[1]->integer * kMsNs};
    r.limit = call.limit;
    r.remaining = reply->element[2]->integer;  // -1: not known (a deduplicated answer)
    r.window_ns = call.window_ns;
    call.done.respond(r);
    return true;
  }

  // The reader thread's state of its connection.
  struct Session {
    redisContext* ctx = nullptr;
    redisReader* reader = nullptr;
    std::string address;  // host:port of the server connected to
  };

  // Takes `c` down: the calls still waiting are answered by the failure policy (counted and
  // logged as a connection error when `error` is not empty; then a reconnect attempt follows at
  // once, for which new calls wait).
  void drop(Connection& c, Session* s, const std::string& error) {
    std::deque<Call> failed;
    {
      std::lock_guard<std::mutex> lock(c.mu);
      c.up = false;
      c.connecting = !error.empty() && !c.stopping;
      c.fd = -1;
      c.unsent.clear();
      c.write_error.clear();
      c.last_error = error.empty() ? "not connected" : error;
      failed.swap(c.waiting);
    }
    // No request thread uses the socket once `up` is false.
    redisFree(s->ctx);
    redisReaderFree(s->reader);
    const std::string address = std::move(s->address);
    *s = Session{};
    if (!error.empty()) {
      redis_errors_.add();
      host_.error("redis " + address + ": " + error);
    }
    for (Call& call : failed) {
      failByPolicy(call, error);
    }
  }

  static void drainWake(const Connection& c) {
    uint64_t count;
    [[maybe_unused]] ssize_t n = ::read(c.wake_fd, &count, sizeof(count));
  }

  static int pollMs(int64_t ns) {
    return static_cast<int>(std::clamp<int64_t>((ns + kMsNs - 1) / kMsNs, 1, 60'000));
  }

  // Completes the calls at the head of `c.waiting` from `replies` (freed here). A NOSCRIPT reply
  // sends its call again as EVAL (which caches the script again), behind what is in flight.
  // False (with `error`) when Redis sent more replies than calls were written, or is no longer
  // the master.
  bool completeReplies(Connection& c, std::vector<redisReply*>& replies, std::string* error) {
    std::vector<Call>& calls = completing_calls();
    calls.clear();
    {
      std::lock_guard<std::mutex> lock(c.mu);
      const size_t k = std::min(replies.size(), c.waiting.size());
      for (size_t i = 0; i < k; ++i) {
        calls.push_back(std::move(c.waiting.front()));
        c.waiting.pop_front();
      }
      if (!c.waiting.empty()) {
        c.progress_ns = monotonicNs();
      }
    }
    std::vector<Call> retry;
    std::string lost;
    for (size_t i = 0; i < calls.size(); ++i) {
      if (!complete(calls[i], replies[i], &lost)) {
        if (calls[i].eval) {
          calls[i].done.respond(
              sdk::QuotaResult{sdk::Code::kInternal, "redis: script not loaded", 0, 0});
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
        if (!writeLocked(c, call)) {
          unwritten.push_back(std::move(call));
        }
      }
    }
    for (Call& call : unwritten) {
      failByPolicy(call, "connection lost before the script was sent again");
    }
    return in_step && lost.empty();
  }

  static std::vector<Call>& completing_calls() {
    thread_local std::vector<Call> calls;
    return calls;
  }

  // Reads what the socket has, parses the replies and completes their calls; false (with
  // `error`) when the connection is lost or out of step.
  bool readReplies(Connection& c, Session* s, std::string* error) {
    char buf[16384];
    bool open = true;
    while (true) {
      ssize_t n = ::recv(s->ctx->fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n > 0) {
        redisReaderFeed(s->reader, buf, static_cast<size_t>(n));
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
      if (redisReaderGetReply(s->reader, &raw) != REDIS_OK) {
        *error = std::string("protocol error: ") + s->reader->errstr;
        open = false;
        break;
      }
      if (raw == nullptr) {
        break;
      }
      replies.push_back(static_cast<redisReply*>(raw));
    }
    if (!replies.empty() && !completeReplies(c, replies, error)) {
      open = false;
    }
    return open;
  }

  // The reader thread of `c`: connects with backoff, waits for replies (or for the socket to take
  // unsent bytes), completes calls, and drops the connection on an error or when no reply comes
  // within the timeout.
  void readLoop(Connection& c) {
    pthread_setname_np(pthread_self(), "redisquota-read");  // 15 characters: Linux's limit
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
            call.done.respond(sdk::QuotaResult{sdk::Code::kUnavailable, "handler closed", 0, 0});
          }
          return;
        }
        if (monotonicNs() >= next_attempt) {
          {
            std::lock_guard<std::mutex> lock(c.mu);
            c.connecting = true;
          }
          std::string fixed_sha, rolling_sha, address, error;
          s.ctx = connect(&fixed_sha, &rolling_sha, &address, &error);
          if (s.ctx != nullptr) {
            s.reader = redisReaderCreate();
            s.address = address;
            reconnects_.add();
            if (backoff_ms > 0) {
              host_.info("reconnected to redis " + address);
            }
            backoff_ms = 0;
            std::vector<Call> unwritten;
            {
              std::lock_guard<std::mutex> lock(c.mu);
              c.fd = s.ctx->fd;
              c.fixed_sha = std::move(fixed_sha);
              c.rolling_sha = std::move(rolling_sha);
              c.up = true;
              c.connecting = false;
              for (Call& call : c.held) {
                if (!writeLocked(c, call)) {
                  unwritten.push_back(std::move(call));
                }
              }
              c.held.clear();
            }
            for (Call& call : unwritten) {
              failByPolicy(call, "connection lost at once");
            }
            continue;
          }
          if (backoff_ms == 0) {
            host_.error("cannot connect to redis " + address + ": " + error);
          }
          redis_errors_.add();
          std::vector<Call> held;
          {
            std::lock_guard<std::mutex> lock(c.mu);
            c.last_error = error;
            c.connecting = false;
            held.swap(c.held);
          }
          for (Call& call : held) {
            failByPolicy(call, error);
          }
          backoff_ms = std::min<int64_t>(backoff_ms == 0 ? 50 : backoff_ms * 2, 2000);
          next_attempt = monotonicNs() + backoff_ms * kMsNs;
        }
        pollfd wake{c.wake_fd, POLLIN, 0};
        if (::poll(&wake, 1, pollMs(next_attempt - monotonicNs())) > 0) {
          drainWake(c);
        }
        continue;
      }

      std::string error;
      bool want_out = false;
      bool stop = false;
      bool stalled = false;
      int64_t wait_ns = config_.timeout_ns;
      {
        std::lock_guard<std::mutex> lock(c.mu);
        error = c.write_error;
        want_out = !c.unsent.empty();
        stop = c.stopping && c.waiting.empty();
        if (!c.waiting.empty()) {
          wait_ns = c.progress_ns + config_.timeout_ns - monotonicNs();
          stalled = wait_ns <= 0;
        }
      }
      if (!error.empty()) {
        drop(c, &s, "send: " + error);
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
        drainWake(c);
      }
      if ((fds[0].revents & POLLOUT) != 0) {
        std::lock_guard<std::mutex> lock(c.mu);
        size_t sent = 0;
        sendSome(c, c.unsent.data(), c.unsent.size(), &sent);
        c.unsent.erase(0, sent);
      }
      if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0 && !readReplies(c, &s, &error)) {
        drop(c, &s, error);
        next_attempt = 0;
      }
    }
  }

  const Config config_;
  sdk::Host host_;
  sdk::Host::Counter redis_errors_;
  sdk::Host::Counter reconnects_;
  sdk::Host::Counter fail_open_;
  sdk::Host::Counter fail_closed_;
  sdk::Host::Counter master_switches_;
  std::mutex sentinel_mu_;
  std::vector<Endpoint> sentinel_order_;  // guarded by sentinel_mu_: the one that answered first
  Endpoint last_master_;                  // guarded by sentinel_mu_: empty before the first answer
  std::vector<std::unique_ptr<Connection>> connections_;  // fixed after construction
  std::atomic<size_t> next_connection_{0};
};

class RedisQuotaAdapter : public sdk::Adapter {
 public:
  static sdk::AdapterInfo info() {
    return sdk::AdapterInfo{"redisquota",
                            "1.0.0",
                            "Quota shared by mixs processes through Redis: fixed or rolling "
                            "windows run as Lua scripts",
                            MIXER_KIND_QUOTA,
                            {"quota"}};
  }
  void validate(sdk::ValueView params, sdk::ErrorSink& errors) const override {
    readConfig(params, errors);
  }
  std::unique_ptr<sdk::Handler> createHandler(const std::string&, sdk::ValueView params) override {
    sdk::ErrorSink ignored(nullptr);
    return std::make_unique<RedisQuotaHandler>(readConfig(params, ignored), host());
  }
};

}  // namespace redisquota

MIXER_DEFINE_ADAPTER(redisquota::RedisQuotaAdapter);
