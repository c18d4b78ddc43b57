// prometheus_params: reading the `prometheus` adapter's params (see prometheus_params.h).
#include "prometheus_params.h"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace prometheus_adapter {

namespace sdk = mixer::adapter_sdk;
using sdk::ErrorSink;
using sdk::ValueView;

namespace {

bool validMetricName(std::string_view name) {
  if (name.empty()) {
    return false;
  }
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) {
      return false;
    }
  }
  return true;
}

bool validLabelName(std::string_view name) {
  return validMetricName(name) && name.find(':') == std::string_view::npos &&
         name.substr(0, 2) != "__";
}

std::optional<double> readNumber(ValueView v) {
  if (v.type() == MIXER_VALUE_INT64) {
    return static_cast<double>(v.int64Value());
  }
  if (v.type() == MIXER_VALUE_DOUBLE) {
    return v.doubleValue();
  }
  return std::nullopt;
}

double readNumberParam(ValueView v, const std::string& path, ErrorSink& errors, double def) {
  if (v.isNull()) {
    return def;
  }
  std::optional<double> d = readNumber(v);
  if (!d) {
    errors.add(path, std::string("expected a number, got ") + sdk::valueTypeName(v.type()));
    return def;
  }
  return *d;
}

// Istio: explicit bounds as given; linear and exponential with num_finite_buckets + 1 bounds
// (prometheus' LinearBuckets(offset, width, n+1) and ExponentialBuckets(scale, growth, n+1)).
std::vector<double> readBuckets(ValueView buckets, const std::string& path, ErrorSink& errors) {
  std::vector<double> bounds;
  if (!buckets.isMap()) {
    errors.add(path,
               "expected a map with one of linear_buckets, exponential_buckets, "
               "explicit_buckets");
    return bounds;
  }
  sdk::checkKnownKeys(buckets, {"linear_buckets", "exponential_buckets", "explicit_buckets"}, path,
                      errors);
  int defined = 0;
  if (ValueView lin = buckets.find("linear_buckets"); !lin.isNull()) {
    ++defined;
    const std::string p = sdk::joinPath(path, "linear_buckets");
    sdk::checkKnownKeys(lin, {"num_finite_buckets", "width", "offset"}, p, errors);
    int64_t n = 0;
    sdk::readInt(lin.find("num_finite_buckets"), sdk::joinPath(p, "num_finite_buckets"), 1, 100000,
                 errors, &n);
    const double width = readNumberParam(lin.find("width"), sdk::joinPath(p, "width"), errors, 0);
    const double offset =
        readNumberParam(lin.find("offset"), sdk::joinPath(p, "offset"), errors, 0);
    if (n <= 0) {
      errors.add(sdk::joinPath(p, "num_finite_buckets"), "must be > 0");
    }
    if (!(width > 0)) {
      errors.add(sdk::joinPath(p, "width"), "must be > 0");
    }
    for (int64_t i = 0; i <= n && width > 0; ++i) {
      bounds.push_back(offset + width * static_cast<double>(i));
    }
  }
  if (ValueView exp = buckets.find("exponential_buckets"); !exp.isNull()) {
    ++defined;
    const std::string p = sdk::joinPath(path, "exponential_buckets");
    sdk::checkKnownKeys(exp, {"num_finite_buckets", "growth_factor", "scale"}, p, errors);
    int64_t n = 0;
    sdk::readInt(exp.find("num_finite_buckets"), sdk::joinPath(p, "num_finite_buckets"), 1, 10000,
                 errors, &n);
    const double growth =
        readNumberParam(exp.find("growth_factor"), sdk::joinPath(p, "growth_factor"), errors, 0);
    const double scale = readNumberParam(exp.find("scale"), sdk::joinPath(p, "scale"), errors, 0);
    if (n <= 0) {
      errors.add(sdk::joinPath(p, "num_finite_buckets"), "must be > 0");
    }
    if (!(growth > 1)) {
      errors.add(sdk::joinPath(p, "growth_factor"), "must be > 1");
    }
    if (!(scale > 0)) {
      errors.add(sdk::joinPath(p, "scale"), "must be > 0");
    }
    double bound = scale;
    for (int64_t i = 0; i <= n && growth > 1 && scale > 0; ++i, bound *= growth) {
      bounds.push_back(bound);
    }
  }
  if (ValueView ex = buckets.find("explicit_buckets"); !ex.isNull()) {
    ++defined;
    const std::string p = sdk::joinPath(path, "explicit_buckets");
    sdk::checkKnownKeys(ex, {"bounds"}, p, errors);
    ValueView list = ex.find("bounds");
    if (!list.isList() || list.size() == 0) {
      errors.add(sdk::joinPath(p, "bounds"), "expected a non-empty list of numbers");
    }
    for (size_t i = 0; i < list.size(); ++i) {
      std::optional<double> d = readNumber(list.at(i));
      if (!d) {
        errors.add(sdk::indexPath(sdk::joinPath(p, "bounds"), i), "expected a number");
        continue;
      }
      if (!bounds.empty() && *d <= bounds.back()) {
        errors.add(sdk::indexPath(sdk::joinPath(p, "bounds"), i),
                   "bounds must be strictly increasing");
      }
      bounds.push_back(*d);
    }
  }
  if (defined != 1) {
    errors.add(path,
               "exactly one of linear_buckets, exponential_buckets, explicit_buckets is "
               "required");
  }
  return bounds;
}

}  // namespace

Config readParams(ValueView params, ErrorSink& errors) {
  Config config;
  sdk::checkKnownKeys(params,
                      {"metrics", "metrics_expiration_policy", "address", "max_series_per_metric"},
                      "", errors);
  if (ValueView max = params.find("max_series_per_metric"); !max.isNull()) {
    sdk::readInt(max, "max_series_per_metric", 0, int64_t{1} << 40, errors,
                 &config.max_series_per_metric);
  }
  if (ValueView address = params.find("address"); !address.isNull()) {
    if (address.type() != MIXER_VALUE_STRING ||
        address.stringValue().find(':') == std::string_view::npos) {
      errors.add("address", "expected \"host:port\" or \":port\"");
    } else {
      config.address = std::string(address.stringValue());
    }
  }
  ValueView metrics = params.find("metrics");
  if (!metrics.isNull() && !metrics.isList()) {
    errors.add("metrics", "expected a list");
  }
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < metrics.size(); ++i) {
    const std::string path = sdk::indexPath("metrics", i);
    ValueView m = metrics.at(i);
    if (!m.isMap()) {
      errors.add(path, "expected a map");
      continue;
    }
    sdk::checkKnownKeys(
        m, {"namespace", "name", "instance_name", "description", "kind", "buckets", "label_names"},
        path, errors);
    MetricConfig mc;
    const std::string name(m.find("name").stringValue());
    std::string ns(m.find("namespace").stringValue());
    if (ns.empty()) {
      ns = kDefaultNamespace;
    }
    mc.full_name = ns + "_" + name;
    if (name.empty()) {
      errors.add(sdk::joinPath(path, "name"), "required: a non-empty string");
    } else if (!validMetricName(mc.full_name)) {
      errors.add(sdk::joinPath(path, "name"),
                 "'" + mc.full_name + "' is not a valid prometheus metric name");
    } else if (auto [it, inserted] = seen.emplace(mc.full_name, i); !inserted) {
      errors.add(sdk::joinPath(path, "name"), "duplicate metric '" + mc.full_name +
                                                  "' (also metrics[" + std::to_string(it->second) +
                                                  "])");
    }
    mc.instance_name = std::string(m.find("instance_name").stringValue());
    if (mc.instance_name.empty()) {
      errors.add(sdk::joinPath(path, "instance_name"), "required: the metric instance's name");
    }
    mc.description = std::string(m.find("description").stringValue());
    if (mc.description.empty()) {  // Prometheus' linters want help text on every metric
      mc.description = "Istio metric " + mc.instance_name;
    }
    ValueView kind = m.find("kind");
    if (kind.type() == MIXER_VALUE_STRING && kind.stringValue() == "GAUGE") {
      mc.kind = Kind::kGauge;
    } else if (kind.type() == MIXER_VALUE_STRING && kind.stringValue() == "COUNTER") {
      mc.kind = Kind::kCounter;
    } else if (kind.type() == MIXER_VALUE_STRING && kind.stringValue() == "DISTRIBUTION") {
      mc.kind = Kind::kDistribution;
    } else if (kind.type() == MIXER_VALUE_INT64 && kind.int64Value() >= 1 &&
               kind.int64Value() <= 3) {
      mc.kind = static_cast<Kind>(kind.int64Value());
    } else {
      errors.add(sdk::joinPath(path, "kind"), "required: GAUGE, COUNTER or DISTRIBUTION");
    }
    ValueView labels = m.find("label_names");
    if (!labels.isNull() && !labels.isList()) {
      errors.add(sdk::joinPath(path, "label_names"), "expected a list of label names");
    }
    for (size_t j = 0; j < labels.size(); ++j) {
      const std::string label(labels.at(j).stringValue());
      if (!validLabelName(label)) {
        errors.add(sdk::indexPath(sdk::joinPath(path, "label_names"), j),
                   "'" + label + "' is not a valid prometheus label name");
      } else if (std::find(mc.label_names.begin(), mc.label_names.end(), label) !=
                 mc.label_names.end()) {
        errors.add(sdk::indexPath(sdk::joinPath(path, "label_names"), j),
                   "duplicate label '" + label + "'");
      }
      mc.label_names.push_back(label);
    }
    if (mc.label_names.size() > kMaxLabels) {
      errors.add(sdk::joinPath(path, "label_names"),
                 "at most " + std::to_string(kMaxLabels) + " labels");
    }
    ValueView buckets = m.find("buckets");
    if (mc.kind == Kind::kDistribution) {
      if (buckets.isNull()) {
        errors.add(sdk::joinPath(path, "buckets"), "required for a DISTRIBUTION");
      } else {
        mc.bounds = readBuckets(buckets, sdk::joinPath(path, "buckets"), errors);
      }
    }
    config.metrics.push_back(std::move(mc));
  }
  ValueView policy = params.find("metrics_expiration_policy");
  if (!policy.isNull()) {
    const std::string p = "metrics_expiration_policy";
    sdk::checkKnownKeys(policy, {"metrics_expiry_duration", "expiry_check_interval_duration"}, p,
                        errors);
    sdk::readDuration(policy.find("metrics_expiry_duration"),
                      sdk::joinPath(p, "metrics_expiry_duration"), errors, &config.expiry_ns);
    sdk::readDuration(policy.find("expiry_check_interval_duration"),
                      sdk::joinPath(p, "expiry_check_interval_duration"), errors,
                      &config.expiry_check_ns);
    if (config.expiry_ns <= 0) {
      errors.add(sdk::joinPath(p, "metrics_expiry_duration"), "must be > 0");
    }
    if (config.expiry_check_ns == 0) {
      config.expiry_check_ns = config.expiry_ns / 2;
    }
    if (config.expiry_ns > 0 && config.expiry_check_ns < 1'000'000) {
      errors.add(sdk::joinPath(p, "expiry_check_interval_duration"), "must be at least 1ms");
    }
  }
  return config;
}

}  // namespace prometheus_adapter
