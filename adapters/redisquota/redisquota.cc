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
// The Redis side (pooled pipelined connections, Sentinel, AUTH, NOSCRIPT retries, reconnects) is
// RedisPipeline (redis_pipeline.h); this file is the quota semantics: the params, the scripts'
// keys and arguments, the failure policy for calls Redis did not answer. Counters on /metrics:
// mixer_adapter_redisquota_{redis_errors,reconnects,fail_open_grants,fail_closed_denials,
// master_switches}_total.
#include <hiredis/hiredis.h>

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mixer/adapter_sdk/adapter.h"
#include "mixer/adapter_sdk/quota_params.h"
#include "redis_pipeline.h"
#include "redis_scripts.h"

namespace redisquota {

namespace sdk = mixer::adapter_sdk;

using Dimensions = sdk::QuotaDimensions;

struct QuotaOverride {
  Dimensions dimensions;
  int64_t max_amount = 0;
};

struct QuotaSpec {
  std::string name;
  int64_t max_amount = 0;
  int64_t window_ns = 0;
  int64_t bucket_ns = 0;
  sdk::QuotaAlgorithm algorithm = sdk::QuotaAlgorithm::kFixedWindow;
  std::vector<QuotaOverride> overrides;
};

struct Config {
  std::vector<QuotaSpec> quotas;
  RedisOptions redis;
  bool fail_open = false;
};

// The scripts, by their index in RedisPipeline::eval().
enum Script : size_t { kFixedWindow = 0, kRollingWindow = 1 };

Config readConfig(sdk::ValueView params, sdk::ErrorSink& errors) {
  Config c;
  RedisOptions& r = c.redis;
  r.thread_name = "redisquota-read";
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
      r.sentinels.push_back(std::move(e));
    }
    if (master.type() != MIXER_VALUE_STRING || master.stringValue().empty()) {
      errors.add("master_name", "required with sentinels: the name the sentinels monitor");
    } else {
      r.master_name = std::string(master.stringValue());
    }
  } else {
    if (url.type() != MIXER_VALUE_STRING ||
        !parseServerUrl(url.stringValue(), &r.server.host, &r.server.port)) {
      errors.add("redis_server_url", "required: host:port (or sentinels and master_name)");
    }
    if (!master.isNull()) {
      errors.add("master_name", "only with sentinels");
    }
  }
  for (auto [key, out] : {std::pair{"username", &r.username}, std::pair{"password", &r.password},
                          std::pair{"sentinel_username", &r.sentinel_username},
                          std::pair{"sentinel_password", &r.sentinel_password}}) {
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
  if (!r.username.empty() && r.password.empty()) {
    errors.add("username", "needs password");
  }
  if (!r.sentinel_username.empty() && r.sentinel_password.empty()) {
    errors.add("sentinel_username", "needs sentinel_password");
  }
  if (r.sentinels.empty() && (!r.sentinel_password.empty() || !r.sentinel_username.empty())) {
    errors.add("sentinel_password", "only with sentinels");
  }
  sdk::readInt(params.find("connection_pool_size"), "connection_pool_size", 1, 64, errors,
               &r.pool_size);
  sdk::readDuration(params.find("timeout"), "timeout", errors, &r.timeout_ns);
  if (r.timeout_ns <= 0) {
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
  // The quota structure is the SDK's (quota_params.h); an override without max_amount allows 0.
  // Redis counts in milliseconds, so windows and buckets are checked here.
  sdk::QuotaParamsRules rules;
  rules.required = true;
  rules.max_amount_limit = INT64_MAX / 2;
  rules.default_algorithm = sdk::QuotaAlgorithm::kFixedWindow;
  for (sdk::QuotaParams& q : sdk::readQuotaParams(params.find("quotas"), rules, errors)) {
    QuotaSpec spec;
    spec.name = std::move(q.name);
    spec.max_amount = q.max_amount;
    spec.window_ns = q.valid_duration_ns;
    spec.bucket_ns = q.bucket_duration_ns;
    spec.algorithm = q.algorithm;
    if (spec.window_ns < kMsNs) {
      errors.add(sdk::joinPath(q.path, "valid_duration"), "must be at least 1ms");
    }
    if (spec.algorithm == sdk::QuotaAlgorithm::kRollingWindow &&
        (spec.bucket_ns < kMsNs || spec.bucket_ns >= spec.window_ns)) {
      errors.add(sdk::joinPath(q.path, "bucket_duration"),
                 "ROLLING_WINDOW needs 1ms <= bucket_duration < valid_duration");
    }
    for (sdk::QuotaOverrideParams& o : q.overrides) {
      spec.overrides.push_back(QuotaOverride{std::move(o.dimensions), o.max_amount.value_or(0)});
    }
    c.quotas.push_back(std::move(spec));
  }
  return c;
}

// Thread-safe: quota() runs on any request thread; the pipeline is thread-safe and the rest is
// immutable.
class RedisQuotaHandler : public sdk::Handler {
 public:
  RedisQuotaHandler(Config config, sdk::Host host)
      : config_(std::move(config)),
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
        pipeline_(config_.redis, {kFixedWindowScript, kRollingWindowScript}, host,
                  RedisPipeline::Counters{redis_errors_, reconnects_, master_switches_}),
        host_(host) {}
  ~RedisQuotaHandler() override { close(); }

  void quota(const sdk::InstanceView& instance, const sdk::QuotaArgs& args,
             const sdk::CallContext& ctx, sdk::QuotaCompletion done) override {
    const QuotaSpec* spec = find(instance.name());
    if (spec == nullptr) {
      done.respond(sdk::QuotaResult{
          sdk::Code::kNotFound,
          "no quota configured for instance '" + std::string(instance.name()) + "'", 0, 0});
      return;
    }
    Dimensions dims = sdk::readQuotaDimensions(instance.field("dimensions"));
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
    // The scripts' KEYS and ARGV (redis_scripts.h).
    std::string a;
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
    constexpr size_t kArgCount = 10;
    const Script script =
        spec->algorithm == sdk::QuotaAlgorithm::kRollingWindow ? kRollingWindow : kFixedWindow;
    pipeline_.eval(
        script, std::move(a), kArgCount,
        [this, done = std::move(done), amount = args.amount, limit = max_amount,
         window_ns = spec->window_ns](RedisPipeline::Outcome outcome, const redisReply* reply,
                                      const std::string& error) {
          answer(done, amount, limit, window_ns, outcome, reply, error);
        },
        ctx.flushed_later ? RedisPipeline::Write::kAtFlush : RedisPipeline::Write::kNow);
  }

  // The host's pass ended: the commands held for it go to Redis, several in one send().
  void flush() override { pipeline_.flush(); }

  // Stops new calls, waits for the replies still due (up to the timeout) and stops the
  // pipeline's threads.
  void close() override { pipeline_.close(); }

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

  // Answers one call from how the pipeline ended it. The script replies {granted, valid
  // duration in ms, remaining}.
  void answer(const sdk::QuotaCompletion& done, int64_t amount, int64_t limit, int64_t window_ns,
              RedisPipeline::Outcome outcome, const redisReply* reply, const std::string& error) {
    switch (outcome) {
      case RedisPipeline::Outcome::kReply:
        break;
      case RedisPipeline::Outcome::kUnavailable:
        failByPolicy(done, amount, error);
        return;
      case RedisPipeline::Outcome::kClosing:
        done.respond(sdk::QuotaResult{sdk::Code::kUnavailable, "handler closing", 0, 0});
        return;
      case RedisPipeline::Outcome::kClosed:
        done.respond(sdk::QuotaResult{sdk::Code::kUnavailable, "handler closed", 0, 0});
        return;
      case RedisPipeline::Outcome::kNoScript:
        done.respond(sdk::QuotaResult{sdk::Code::kInternal, "redis: script not loaded", 0, 0});
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {  // counted and logged by the pipeline
      done.respond(sdk::QuotaResult{sdk::Code::kInternal,
                                    "redis: " + std::string(reply->str, reply->len), 0, 0});
      return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER ||
        reply->element[1]->type != REDIS_REPLY_INTEGER ||
        reply->element[2]->type != REDIS_REPLY_INTEGER) {
      pipeline_.countError();
      done.respond(sdk::QuotaResult{sdk::Code::kInternal, "redis: unexpected script reply", 0, 0});
      return;
    }
    int64_t granted = std::min<int64_t>(reply->element[0]->integer, amount);
    sdk::QuotaResult r{sdk::Code::kOk, "", std::max<int64_t>(0, granted),
                       reply->element[1]->integer * kMsNs};
    r.limit = limit;
    r.remaining = reply->element[2]->integer;  // -1: not known (a deduplicated answer)
    r.window_ns = window_ns;
    done.respond(r);
  }

  void failByPolicy(const sdk::QuotaCompletion& done, int64_t amount, const std::string& why) {
    if (config_.fail_open) {
      fail_open_.add();
      done.respond(sdk::QuotaResult{sdk::Code::kOk, "", amount, 0});
    } else {
      fail_closed_.add();
      done.respond(
          sdk::QuotaResult{sdk::Code::kUnavailable, "quota backend unavailable: " + why, 0, 0});
    }
  }

  const Config config_;
  sdk::Host::Counter redis_errors_;
  sdk::Host::Counter reconnects_;
  sdk::Host::Counter fail_open_;
  sdk::Host::Counter fail_closed_;
  sdk::Host::Counter master_switches_;
  RedisPipeline pipeline_;  // after what its calls' answers use: stopped first
  sdk::Host host_;
};

class RedisQuotaAdapter : public sdk::Adapter {
 public:
  static sdk::AdapterInfo info() {
    return sdk::AdapterInfo{"redisquota",
                            "1.0.0",
                            "Quota shared by mixs processes through Redis: fixed or rolling "
                            "windows run as Lua scripts",
                            MIXER_KIND_QUOTA,
                            {"quota"},
                            /*flushes=*/true};
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
