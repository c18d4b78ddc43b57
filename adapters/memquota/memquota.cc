// memquota: Istio's in-memory quota adapter (quota template). Params:
//   quotas[]{name, max_amount, valid_duration, rate_limit_algorithm (ROLLING_WINDOW default |
//   FIXED_WINDOW), overrides[]{dimensions, max_amount, valid_duration}},
//   min_deduplication_duration (default 1s).
// The algorithms are in quota_store.h. Quota is per process: for a limit shared by several mixs
// processes use redisquota.
#include <algorithm>
#include <memory>
#include <string>

#include "mixer/adapter_sdk/adapter.h"
#include "quota_store.h"

namespace memquota {

namespace sdk = mixer::adapter_sdk;

constexpr int64_t kDefaultMinDedupNs = 1'000'000'000;

// Renders an instance or override dimension value as the text the key is built from.
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
  dims.reserve(map.size());
  for (size_t i = 0; i < map.size(); ++i) {
    dims.emplace_back(std::string(map.keyAt(i)), dimensionText(map.valueAt(i)));
  }
  std::sort(dims.begin(), dims.end());
  return dims;
}

void readLimit(sdk::ValueView v, const std::string& path, sdk::ErrorSink& errors, Limit* limit) {
  sdk::readInt(v.find("max_amount"), sdk::joinPath(path, "max_amount"), 0, INT64_MAX, errors,
               &limit->max_amount);
  sdk::readDuration(v.find("valid_duration"), sdk::joinPath(path, "valid_duration"), errors,
                    &limit->window_ns);
}

struct Config {
  std::vector<QuotaSpec> quotas;
  int64_t min_dedup_ns = kDefaultMinDedupNs;
};

Config readConfig(sdk::ValueView params, sdk::ErrorSink& errors) {
  Config config;
  sdk::checkKnownKeys(params, {"quotas", "min_deduplication_duration"}, "", errors);
  sdk::readDuration(params.find("min_deduplication_duration"), "min_deduplication_duration", errors,
                    &config.min_dedup_ns);
  sdk::ValueView quotas = params.find("quotas");
  if (!quotas.isNull() && !quotas.isList()) {
    errors.add("quotas", "expected a list");
    return config;
  }
  for (size_t i = 0; i < quotas.size(); ++i) {
    std::string path = sdk::indexPath("quotas", i);
    sdk::ValueView q = quotas.at(i);
    if (!q.isMap()) {
      errors.add(path, "expected a map {name, max_amount, valid_duration, overrides}");
      continue;
    }
    sdk::checkKnownKeys(q,
                        {"name", "max_amount", "valid_duration", "rate_limit_algorithm",
                         "bucket_duration", "overrides"},
                        path, errors);
    QuotaSpec spec;
    spec.name = std::string(q.find("name").stringValue());
    if (spec.name.empty()) {
      errors.add(sdk::joinPath(path, "name"), "required: a non-empty string");
    }
    for (const QuotaSpec& other : config.quotas) {
      if (!spec.name.empty() && other.name == spec.name) {
        errors.add(sdk::joinPath(path, "name"), "duplicate quota '" + spec.name + "'");
      }
    }
    readLimit(q, path, errors, &spec.limit);
    sdk::ValueView algo = q.find("rate_limit_algorithm");
    if (!algo.isNull()) {
      if (algo.stringValue() == "FIXED_WINDOW" ||
          (algo.type() == MIXER_VALUE_INT64 && algo.int64Value() == 0)) {
        spec.limit.algorithm = Algorithm::kFixedWindow;
      } else if (algo.stringValue() == "ROLLING_WINDOW" ||
                 (algo.type() == MIXER_VALUE_INT64 && algo.int64Value() == 1)) {
        spec.limit.algorithm = Algorithm::kRollingWindow;
      } else {
        errors.add(sdk::joinPath(path, "rate_limit_algorithm"),
                   "expected ROLLING_WINDOW or FIXED_WINDOW");
      }
    }
    sdk::ValueView overrides = q.find("overrides");
    if (!overrides.isNull() && !overrides.isList()) {
      errors.add(sdk::joinPath(path, "overrides"), "expected a list");
    }
    for (size_t j = 0; j < overrides.size(); ++j) {
      std::string opath = sdk::indexPath(sdk::joinPath(path, "overrides"), j);
      sdk::ValueView o = overrides.at(j);
      if (!o.isMap()) {
        errors.add(opath, "expected a map {dimensions, max_amount, valid_duration}");
        continue;
      }
      sdk::checkKnownKeys(o, {"dimensions", "max_amount", "valid_duration"}, opath, errors);
      QuotaOverride ov;
      ov.limit = spec.limit;
      readLimit(o, opath, errors, &ov.limit);
      sdk::ValueView dims = o.find("dimensions");
      if (!dims.isMap() || dims.size() == 0) {
        errors.add(sdk::joinPath(opath, "dimensions"), "required: a non-empty map");
      }
      ov.dimensions = readDimensions(dims);
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
    Dimensions dims = readDimensions(instance.field("dimensions"));
    Grant g = store_.alloc(*spec, dims, args.amount, args.best_effort, args.deduplication_id,
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
