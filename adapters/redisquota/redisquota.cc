// redisquota: Istio's Redis-backed quota adapter (quota template), so several mixs processes
// enforce one limit. Params:
//   quotas[]{name, max_amount, valid_duration, bucket_duration, rate_limit_algorithm
//   (FIXED_WINDOW default | ROLLING_WINDOW), overrides[]{dimensions, max_amount}},
//   redis_server_url ("host:port" or "redis://host:port"), connection_pool_size (10),
//   and, beyond Istio: timeout (500ms: connect and each reply), failure_policy
//   (FAIL_CLOSED default: deny with UNAVAILABLE | FAIL_OPEN: grant what was asked).
//
// I/O: the SDK offers no I/O service and its executor is for short tasks, so each handler runs
// `connection_pool_size` threads, each owning one hiredis connection, started by the handler and
// joined in close(). quota() only queues the call and returns; a connection thread takes every
// queued call (up to 128), pipelines their EVALSHAs, and completes each from the replies. A
// NOSCRIPT reply (Redis restarted, script cache flushed) reloads the script and retries with
// EVAL. On a connection error the thread answers its calls by the failure policy, then reconnects
// with exponential backoff (50ms doubling to 2s); while disconnected, calls are answered by the
// failure policy at once. Counters on /metrics: mixer_adapter_redisquota_{redis_errors,
// reconnects,fail_open_grants,fail_closed_denials}_total.
#include <hiredis/hiredis.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mixer/adapter_sdk/adapter.h"
#include "redis_scripts.h"

namespace redisquota {

namespace sdk = mixer::adapter_sdk;

constexpr int64_t kMsNs = 1'000'000;
constexpr int kMaxBatch = 128;

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

struct Config {
  std::vector<QuotaSpec> quotas;
  std::string host = "localhost";
  int port = 6379;
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
  sdk::checkKnownKeys(
      params, {"quotas", "redis_server_url", "connection_pool_size", "timeout", "failure_policy"},
      "", errors);
  sdk::ValueView url = params.find("redis_server_url");
  if (url.type() != MIXER_VALUE_STRING || !parseServerUrl(url.stringValue(), &c.host, &c.port)) {
    errors.add("redis_server_url", "required: host:port");
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

// One queued quota call.
struct Call {
  std::string meta_key;
  std::string data_key;
  std::string argv[7];
  bool rolling = false;
  int64_t amount = 0;
  sdk::QuotaCompletion done;
};

// Thread-safe: the queue is locked; each connection is owned by its thread.
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
            "Quota denied because Redis was unreachable (failure_policy FAIL_CLOSED)")) {
    for (int64_t i = 0; i < config_.pool_size; ++i) {
      threads_.emplace_back([this] { connectionLoop(); });
    }
  }
  ~RedisQuotaHandler() override { close(); }

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
    Call call{"", "", {}, spec->algorithm == Algorithm::kRollingWindow, args.amount, done};
    std::string key = spec->name;
    for (const auto& [k, v] : dims) {
      key += ';';
      key += k;
      key += '=';
      key += v;
    }
    call.meta_key = key + ".meta";
    call.data_key = key + ".data";
    call.argv[0] = std::to_string(max_amount);
    call.argv[1] = std::to_string(spec->window_ns / kMsNs);
    call.argv[2] = std::to_string(spec->bucket_ns / kMsNs);
    call.argv[3] = args.best_effort ? "1" : "0";
    call.argv[4] = std::to_string(std::max<int64_t>(0, args.amount));
    call.argv[5] = std::to_string(host_.nowUnixNs() / kMsNs);
    call.argv[6] = args.deduplication_id;
    bool queued = false;
    bool wake = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!stopping_) {
        queue_.push_back(std::move(call));
        queued = true;
        // A connection thread in a round trip takes what is queued when it returns (pipelined in
        // its next batch): only an idle one needs waking, which spares a thread switch per call
        // under load.
        wake = idle_threads_ > 0;
      }
    }
    if (!queued) {
      done.respond(sdk::QuotaResult{sdk::Code::kUnavailable, "handler closing", 0, 0});
      return;
    }
    if (wake) {
      cv_.notify_one();
    }
  }

  void close() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) {
      if (t.joinable()) {
        t.join();
      }
    }
    for (Call& c : queue_) {
      c.done.respond(sdk::QuotaResult{sdk::Code::kUnavailable, "handler closed", 0, 0});
    }
    queue_.clear();
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

  // The connection's loaded script SHAs; empty when not connected.
  struct Connection {
    redisContext* ctx = nullptr;
    std::string fixed_sha;
    std::string rolling_sha;
    std::string command;  // the RESP encoding of the call being queued, reused
    ~Connection() { reset(); }
    void reset() {
      if (ctx != nullptr) {
        redisFree(ctx);
        ctx = nullptr;
      }
    }
  };

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

  bool connect(Connection* conn, std::string* error) {
    conn->reset();
    timeval tv{static_cast<time_t>(config_.timeout_ns / 1'000'000'000),
               static_cast<suseconds_t>((config_.timeout_ns % 1'000'000'000) / 1000)};
    conn->ctx = redisConnectWithTimeout(config_.host.c_str(), config_.port, tv);
    if (conn->ctx == nullptr || conn->ctx->err != 0) {
      *error = conn->ctx == nullptr ? "cannot allocate a connection" : conn->ctx->errstr;
      conn->reset();
      return false;
    }
    redisSetTimeout(conn->ctx, tv);
    if (!loadScript(conn->ctx, kFixedWindowScript, &conn->fixed_sha) ||
        !loadScript(conn->ctx, kRollingWindowScript, &conn->rolling_sha)) {
      *error = conn->ctx->err != 0 ? conn->ctx->errstr : "SCRIPT LOAD failed";
      conn->reset();
      return false;
    }
    reconnects_.add();
    return true;
  }

  // Queues the script call on the connection's output buffer, encoded here in RESP (an array of
  // bulk strings) rather than by redisAppendCommandArgv's general formatter: the arguments are a
  // fixed dozen, so this is a few appends into the connection's reused buffer.
  void append(Connection* conn, const Call& c, bool eval) {
    const std::string_view script =
        eval ? std::string_view(c.rolling ? kRollingWindowScript : kFixedWindowScript)
             : std::string_view(c.rolling ? conn->rolling_sha : conn->fixed_sha);
    std::string& out = conn->command;
    out.clear();
    out.append("*12\r\n");
    auto bulk = [&out](std::string_view arg) {
      char len[24];
      out.push_back('$');
      out.append(len, std::to_chars(len, len + sizeof(len), arg.size()).ptr);
      out.append("\r\n");
      out.append(arg);
      out.append("\r\n");
    };
    bulk(eval ? "EVAL" : "EVALSHA");
    bulk(script);
    bulk("2");
    bulk(c.meta_key);
    bulk(c.data_key);
    for (int i = 0; i < 7; ++i) {
      bulk(c.argv[i]);
    }
    redisAppendFormattedCommand(conn->ctx, out.data(), out.size());
  }

  // Completes `call` from `reply`; false when the reply is NOSCRIPT (the caller retries).
  bool complete(Call& call, redisReply* reply) {
    if (reply->type == REDIS_REPLY_ERROR) {
      std::string message(reply->str, reply->len);
      if (message.rfind("NOSCRIPT", 0) == 0) {
        return false;
      }
      redis_errors_.add();
      host_.error("redis script error: " + message);
      call.done.respond(sdk::QuotaResult{sdk::Code::kInternal, "redis: " + message, 0, 0});
      return true;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER ||
        reply->element[1]->type != REDIS_REPLY_INTEGER) {
      redis_errors_.add();
      call.done.respond(
          sdk::QuotaResult{sdk::Code::kInternal, "redis: unexpected script reply", 0, 0});
      return true;
    }
    int64_t granted = std::min<int64_t>(reply->element[0]->integer, call.amount);
    call.done.respond(sdk::QuotaResult{sdk::Code::kOk, "", std::max<int64_t>(0, granted),
                                       reply->element[1]->integer * kMsNs});
    return true;
  }

  // Runs `batch` on the connection; false on a connection error (unanswered calls stay in batch).
  bool run(Connection* conn, std::vector<Call>* batch, std::string* error) {
    for (const Call& c : *batch) {
      append(conn, c, /*eval=*/false);
    }
    std::vector<Call> retry;
    size_t answered = 0;
    for (Call& c : *batch) {
      void* raw = nullptr;
      if (redisGetReply(conn->ctx, &raw) != REDIS_OK || raw == nullptr) {
        *error = conn->ctx->errstr;
        batch->erase(batch->begin(), batch->begin() + static_cast<ptrdiff_t>(answered));
        batch->insert(batch->end(), std::make_move_iterator(retry.begin()),
                      std::make_move_iterator(retry.end()));
        return false;
      }
      auto* reply = static_cast<redisReply*>(raw);
      if (!complete(c, reply)) {
        retry.push_back(std::move(c));
      }
      freeReplyObject(reply);
      ++answered;
    }
    batch->clear();
    // NOSCRIPT: the server lost its script cache; EVAL (which caches the script again).
    for (Call& c : retry) {
      append(conn, c, /*eval=*/true);
    }
    for (size_t i = 0; i < retry.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(conn->ctx, &raw) != REDIS_OK || raw == nullptr) {
        *error = conn->ctx->errstr;
        batch->assign(std::make_move_iterator(retry.begin() + static_cast<ptrdiff_t>(i)),
                      std::make_move_iterator(retry.end()));
        return false;
      }
      auto* reply = static_cast<redisReply*>(raw);
      if (!complete(retry[i], reply)) {
        retry[i].done.respond(
            sdk::QuotaResult{sdk::Code::kInternal, "redis: script not loaded", 0, 0});
      }
      freeReplyObject(reply);
    }
    return true;
  }

  void connectionLoop() {
    Connection conn;
    int64_t backoff_ms = 0;
    auto next_attempt = std::chrono::steady_clock::now();
    std::string last_error = "not connected";
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      if (conn.ctx == nullptr) {
        if (std::chrono::steady_clock::now() >= next_attempt) {
          lock.unlock();
          std::string error;
          bool ok = connect(&conn, &error);
          lock.lock();
          if (ok) {
            if (backoff_ms > 0) {
              host_.info("reconnected to redis " + config_.host + ":" +
                         std::to_string(config_.port));
            }
            backoff_ms = 0;
          } else {
            if (backoff_ms == 0) {
              host_.error("cannot connect to redis " + config_.host + ":" +
                          std::to_string(config_.port) + ": " + error);
            }
            redis_errors_.add();
            last_error = error;
            backoff_ms = std::min<int64_t>(backoff_ms == 0 ? 50 : backoff_ms * 2, 2000);
            next_attempt = std::chrono::steady_clock::now() + std::chrono::milliseconds(backoff_ms);
          }
        }
        if (conn.ctx == nullptr) {
          // Disconnected: answer what is queued by the failure policy, wait for the next attempt.
          std::vector<Call> pending(std::make_move_iterator(queue_.begin()),
                                    std::make_move_iterator(queue_.end()));
          queue_.clear();
          if (!pending.empty()) {
            lock.unlock();
            for (Call& c : pending) {
              failByPolicy(c, last_error);
            }
            lock.lock();
            continue;
          }
          if (stopping_) {
            return;
          }
          ++idle_threads_;
          cv_.wait_until(lock, next_attempt, [this] { return stopping_ || !queue_.empty(); });
          --idle_threads_;
          continue;
        }
      }
      ++idle_threads_;
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      --idle_threads_;
      if (queue_.empty()) {
        return;  // stopping
      }
      std::vector<Call> batch;
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      if (!queue_.empty() && idle_threads_ > 0) {
        cv_.notify_one();  // more for another connection
      }
      lock.unlock();
      std::string error;
      if (!run(&conn, &batch, &error)) {
        redis_errors_.add();
        host_.error("redis " + config_.host + ":" + std::to_string(config_.port) + ": " + error);
        conn.reset();
        last_error = error;
        for (Call& c : batch) {
          failByPolicy(c, error);
        }
        next_attempt = std::chrono::steady_clock::now();  // first reconnect at once
      }
      lock.lock();
    }
  }

  const Config config_;
  sdk::Host host_;
  sdk::Host::Counter redis_errors_;
  sdk::Host::Counter reconnects_;
  sdk::Host::Counter fail_open_;
  sdk::Host::Counter fail_closed_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Call> queue_;  // guarded by mu_
  int idle_threads_ = 0;    // connection threads waiting on cv_; guarded by mu_
  bool stopping_ = false;   // guarded by mu_
  std::vector<std::thread> threads_;
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
