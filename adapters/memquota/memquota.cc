// memquota: Istio's in-memory quota adapter (quota template). Params:
//   quotas[]{name, max_amount, valid_duration, rate_limit_algorithm (ROLLING_WINDOW default |
//   FIXED_WINDOW), overrides[]{dimensions, max_amount, valid_duration}},
//   min_deduplication_duration (default 1s).
// The algorithms are in quota_store.h. Quota is per process: for a limit shared by several mixs
// processes use redisquota.
#include <memory>
#include <string>

#include "mixer/adapter_sdk/adapter.h"
#include "mixer/adapter_sdk/quota_params.h"
#include "quota_store.h"

namespace memquota {

namespace sdk = mixer::adapter_sdk;

constexpr int64_t kDefaultMinDedupNs = 1'000'000'000;

struct Config {
  std::vector<QuotaSpec> quotas;
  int64_t min_dedup_ns = kDefaultMinDedupNs;
};

Algorithm algorithmOf(sdk::QuotaAlgorithm a) {
  return a == sdk::QuotaAlgorithm::kFixedWindow ? Algorithm::kFixedWindow
                                                : Algorithm::kRollingWindow;
}

// The quota structure is the SDK's (quota_params.h); an override takes what it leaves out from
// its quota.
Config readConfig(sdk::ValueView params, sdk::ErrorSink& errors) {
  Config config;
  sdk::checkKnownKeys(params, {"quotas", "min_deduplication_duration"}, "", errors);
  sdk::readDuration(params.find("min_deduplication_duration"), "min_deduplication_duration", errors,
                    &config.min_dedup_ns);
  sdk::QuotaParamsRules rules;
  rules.default_algorithm = sdk::QuotaAlgorithm::kRollingWindow;
  rules.override_valid_duration = true;
  for (sdk::QuotaParams& q : sdk::readQuotaParams(params.find("quotas"), rules, errors)) {
    QuotaSpec spec;
    spec.name = std::move(q.name);
    spec.limit.max_amount = q.max_amount;
    spec.limit.window_ns = q.valid_duration_ns;
    spec.limit.algorithm = algorithmOf(q.algorithm);
    for (sdk::QuotaOverrideParams& o : q.overrides) {
      QuotaOverride ov;
      ov.dimensions = std::move(o.dimensions);
      ov.limit = spec.limit;
      ov.limit.max_amount = o.max_amount.value_or(spec.limit.max_amount);
      ov.limit.window_ns = o.valid_duration_ns.value_or(spec.limit.window_ns);
      spec.overrides.push_back(std::move(ov));
    }
    config.quotas.push_back(std::move(spec));
  }
  return config;
}

// Thread-safe: the store shards its state; the rest is immutable.
class MemQuotaHandler : public sdk::Handler {
 public:
  MemQuotaHandler(Config config, sdk::Host host)
      : store_(std::move(config.quotas), config.min_dedup_ns), host_(host) {}

  void quota(const sdk::InstanceView& instance, const sdk::QuotaArgs& args, const sdk::CallContext&,
             sdk::QuotaCompletion done) override {
    const QuotaSpec* spec = store_.find(instance.name());
    if (spec == nullptr) {
      done.respond(sdk::QuotaResult{
          sdk::Code::kNotFound,
          "no quota configured for instance '" + std::string(instance.name()) + "'", 0, 0});
      return;
    }
    // The thread's own, reusing their strings' storage; not used past alloc().
    thread_local Dimensions dims;
    sdk::readQuotaDimensions(instance.field("dimensions"), &dims);
    const Grant g = store_.alloc(*spec, dims, args.amount, args.best_effort, args.deduplication_id,
                                 host_.monotonicNs());
    sdk::QuotaResult r{sdk::Code::kOk, "", g.granted, g.valid_duration_ns};
    r.limit = g.limit;
    r.remaining = g.remaining;
    r.window_ns = g.valid_duration_ns;
    done.respond(r);
  }

 private:
  QuotaStore store_;
  sdk::Host host_;
};

class MemQuotaAdapter : public sdk::Adapter {
 public:
  static sdk::AdapterInfo info() {
    return sdk::AdapterInfo{"memquota",
                            "1.0.0",
                            "Volatile in-memory quota: rolling or fixed windows, per process",
                            MIXER_KIND_QUOTA,
                            {"quota"}};
  }
  void validate(sdk::ValueView params, sdk::ErrorSink& errors) const override {
    readConfig(params, errors);
  }
  std::unique_ptr<sdk::Handler> createHandler(const std::string&, sdk::ValueView params) override {
    sdk::ErrorSink ignored(nullptr);
    return std::make_unique<MemQuotaHandler>(readConfig(params, ignored), host());
  }
};

}  // namespace memquota

MIXER_DEFINE_ADAPTER(memquota::MemQuotaAdapter);
