// quota_params.h: reading the `quotas` param of Istio's quota adapters (memquota, redisquota):
//
//   quotas:
//   - name: requestcount.quota.istio-system
//     max_amount: 500
//     valid_duration: 1s
//     bucket_duration: 500ms               # rolling windows that count in buckets
//     rate_limit_algorithm: ROLLING_WINDOW # or FIXED_WINDOW (or 1 / 0, the enum's numbers)
//     overrides:
//     - dimensions: {destination: ratings}
//       max_amount: 10
//
// readQuotaParams() checks the structure (types, unknown keys, required and duplicate names,
// ranges, durations) and reports every problem with its param path; what a field means, and
// checks that depend on it (e.g. the bucket of a rolling window), stay with the adapter.
// readQuotaDimensions() turns a dimensions map (an override's, or a quota instance's
// `dimensions` field) into sorted text pairs. Part of the header-only SDK; not included by
// adapter.h (include it where needed).
#ifndef MIXER_ADAPTER_SDK_QUOTA_PARAMS_H_
#define MIXER_ADAPTER_SDK_QUOTA_PARAMS_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mixer/adapter_sdk/mixer_adapter.h"
#include "mixer/adapter_sdk/params.h"
#include "mixer/adapter_sdk/value_view.h"

namespace mixer::adapter_sdk {

enum class QuotaAlgorithm { kFixedWindow, kRollingWindow };

// Dimension names and values as text, sorted by name.
using QuotaDimensions = std::vector<std::pair<std::string, std::string>>;

// The text a dimension value is compared and keyed by: strings (and the other string-like
// types) as they are, numbers in decimal, booleans as true/false; other types as "".
inline std::string quotaDimensionText(ValueView v) {
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

// quotaDimensionText(v), written into `out` (reusing its storage).
inline void assignQuotaDimensionText(ValueView v, std::string* out) {
  if (v.isStringLike()) {
    const std::string_view text = v.stringValue();
    out->assign(text.data(), text.size());
  } else {
    *out = quotaDimensionText(v);
  }
}

// The entries of a map as dimensions, sorted by name (empty when `map` is not a map), written
// into `dims`: a caller that keeps `dims` from call to call reuses its strings' storage.
inline void readQuotaDimensions(ValueView map, QuotaDimensions* dims) {
  dims->resize(map.size());
  for (size_t i = 0; i < map.size(); ++i) {
    const std::string_view key = map.keyAt(i);
    (*dims)[i].first.assign(key.data(), key.size());
    assignQuotaDimensionText(map.valueAt(i), &(*dims)[i].second);
  }
  std::sort(dims->begin(), dims->end());
}
inline QuotaDimensions readQuotaDimensions(ValueView map) {
  QuotaDimensions dims;
  readQuotaDimensions(map, &dims);
  return dims;
}

// One entry of a quota's `overrides`. What an override leaves out is for the adapter to decide
// (e.g. the quota's own value, or 0).
struct QuotaOverrideParams {
  QuotaDimensions dimensions;  // never empty in params that passed validation
  std::optional<int64_t> max_amount;
  std::optional<int64_t> valid_duration_ns;  // only with QuotaParamsRules::override_valid_duration
};

// One entry of `quotas`. Durations absent from the params are 0.
struct QuotaParams {
  std::string path;  // e.g. "quotas[2]": for the adapter's own checks of this entry
  std::string name;
  int64_t max_amount = 0;
  int64_t valid_duration_ns = 0;
  int64_t bucket_duration_ns = 0;
  QuotaAlgorithm algorithm = QuotaAlgorithm::kRollingWindow;
  std::vector<QuotaOverrideParams> overrides;
};

// Where the quota adapters differ in what they accept.
struct QuotaParamsRules {
  bool required = false;  // `quotas` must be a non-empty list (else it may be absent)
  int64_t max_amount_limit = INT64_MAX;  // max_amount (of quotas and overrides) is in [0, this]
  QuotaAlgorithm default_algorithm = QuotaAlgorithm::kRollingWindow;
  bool override_valid_duration = false;  // overrides may set their own valid_duration
};

namespace internal {

// Reads an optional integer param in [min, max]: absent or bad leaves `out` empty.
inline void readOptionalInt(ValueView value, const std::string& path, int64_t min, int64_t max,
                            ErrorSink& errors, std::optional<int64_t>* out) {
  int64_t v = 0;
  if (!value.isNull() && readInt(value, path, min, max, errors, &v)) {
    *out = v;
  }
}

inline void readOptionalDuration(ValueView value, const std::string& path, ErrorSink& errors,
                                 std::optional<int64_t>* out) {
  int64_t v = 0;
  if (!value.isNull() && readDuration(value, path, errors, &v)) {
    *out = v;
  }
}

inline std::optional<QuotaOverrideParams> readQuotaOverride(ValueView o, const std::string& path,
                                                            const QuotaParamsRules& rules,
                                                            ErrorSink& errors) {
  if (!o.isMap()) {
    errors.add(path, rules.override_valid_duration
                         ? "expected a map {dimensions, max_amount, valid_duration}"
                         : "expected a map {dimensions, max_amount}");
    return std::nullopt;
  }
  if (rules.override_valid_duration) {
    checkKnownKeys(o, {"dimensions", "max_amount", "valid_duration"}, path, errors);
  } else {
    checkKnownKeys(o, {"dimensions", "max_amount"}, path, errors);
  }
  QuotaOverrideParams ov;
  readOptionalInt(o.find("max_amount"), joinPath(path, "max_amount"), 0, rules.max_amount_limit,
                  errors, &ov.max_amount);
  if (rules.override_valid_duration) {
    readOptionalDuration(o.find("valid_duration"), joinPath(path, "valid_duration"), errors,
                         &ov.valid_duration_ns);
  }
  ValueView dims = o.find("dimensions");
  if (!dims.isMap() || dims.size() == 0) {
    errors.add(joinPath(path, "dimensions"), "required: a non-empty map");
  }
  ov.dimensions = readQuotaDimensions(dims);
  return ov;
}

// FIXED_WINDOW or ROLLING_WINDOW, by name or by the enum's number (0, 1); empty when neither.
inline std::optional<QuotaAlgorithm> quotaAlgorithm(ValueView v) {
  if (v.stringValue() == "FIXED_WINDOW" || (v.type() == MIXER_VALUE_INT64 && v.int64Value() == 0)) {
    return QuotaAlgorithm::kFixedWindow;
  }
  if (v.stringValue() == "ROLLING_WINDOW" ||
      (v.type() == MIXER_VALUE_INT64 && v.int64Value() == 1)) {
    return QuotaAlgorithm::kRollingWindow;
  }
  return std::nullopt;
}

}  // namespace internal

// Reads `quotas` (the value of the params' "quotas" key), reporting every problem under `path`.
// Entries that are not maps are left out; the others are returned even when some of their
// fields were bad (the caller checks errors.count() or only uses params that passed validate()).
inline std::vector<QuotaParams> readQuotaParams(ValueView quotas, const QuotaParamsRules& rules,
                                                ErrorSink& errors,
                                                std::string_view path = "quotas") {
  std::vector<QuotaParams> out;
  if (rules.required && (!quotas.isList() || quotas.size() == 0)) {
    errors.add(std::string(path), "required: a non-empty list");
    return out;
  }
  if (!quotas.isNull() && !quotas.isList()) {
    errors.add(std::string(path), "expected a list");
    return out;
  }
  for (size_t i = 0; i < quotas.size(); ++i) {
    QuotaParams spec;
    spec.path = indexPath(path, i);
    ValueView q = quotas.at(i);
    if (!q.isMap()) {
      errors.add(spec.path, "expected a map {name, max_amount, valid_duration, overrides}");
      continue;
    }
    checkKnownKeys(q,
                   {"name", "max_amount", "valid_duration", "bucket_duration",
                    "rate_limit_algorithm", "overrides"},
                   spec.path, errors);
    spec.name = std::string(q.find("name").stringValue());
    if (spec.name.empty()) {
      errors.add(joinPath(spec.path, "name"), "required: a non-empty string");
    }
    for (const QuotaParams& other : out) {
      if (!spec.name.empty() && other.name == spec.name) {
        errors.add(joinPath(spec.path, "name"), "duplicate quota '" + spec.name + "'");
      }
    }
    readInt(q.find("max_amount"), joinPath(spec.path, "max_amount"), 0, rules.max_amount_limit,
            errors, &spec.max_amount);
    readDuration(q.find("valid_duration"), joinPath(spec.path, "valid_duration"), errors,
                 &spec.valid_duration_ns);
    readDuration(q.find("bucket_duration"), joinPath(spec.path, "bucket_duration"), errors,
                 &spec.bucket_duration_ns);
    spec.algorithm = rules.default_algorithm;
    ValueView algo = q.find("rate_limit_algorithm");
    if (!algo.isNull()) {
      if (std::optional<QuotaAlgorithm> a = internal::quotaAlgorithm(algo)) {
        spec.algorithm = *a;
      } else {
        // The default first, as each adapter's documentation lists them.
        errors.add(joinPath(spec.path, "rate_limit_algorithm"),
                   rules.default_algorithm == QuotaAlgorithm::kFixedWindow
                       ? "expected FIXED_WINDOW or ROLLING_WINDOW"
                       : "expected ROLLING_WINDOW or FIXED_WINDOW");
      }
    }
    const std::string overrides_path = joinPath(spec.path, "overrides");
    ValueView overrides = q.find("overrides");
    if (!overrides.isNull() && !overrides.isList()) {
      errors.add(overrides_path, "expected a list");
    } else {
      for (size_t j = 0; j < overrides.size(); ++j) {
        if (auto ov = internal::readQuotaOverride(overrides.at(j), indexPath(overrides_path, j),
                                                  rules, errors)) {
          spec.overrides.push_back(std::move(*ov));
        }
      }
    }
    out.push_back(std::move(spec));
  }
  return out;
}

}  // namespace mixer::adapter_sdk

#endif  // MIXER_ADAPTER_SDK_QUOTA_PARAMS_H_
