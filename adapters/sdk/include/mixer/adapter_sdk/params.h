// params.h: helpers for validating and reading an adapter's params: ErrorSink (errors with their
// param paths), path joining, unknown-key checks and typed readers (integers, durations). Part of
// the header-only SDK; adapter.h includes it.
#ifndef MIXER_ADAPTER_SDK_PARAMS_H_
#define MIXER_ADAPTER_SDK_PARAMS_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "mixer/adapter_sdk/mixer_adapter.h"
#include "mixer/adapter_sdk/text.h"
#include "mixer/adapter_sdk/value_view.h"

namespace mixer::adapter_sdk {

// Collects validation errors with their param paths ("status.code", "levels[2]").
class ErrorSink {
 public:
  explicit ErrorSink(const mixer_error_sink* sink) : sink_(sink) {}
  void add(const std::string& path, const std::string& message) {
    ++count_;
    if (sink_ != nullptr && sink_->add_error != nullptr) {
      sink_->add_error(sink_->ctx, path.c_str(), message.c_str());
    }
  }
  int count() const { return count_; }

 private:
  const mixer_error_sink* sink_;
  int count_ = 0;
};

// Joins a param path: join("status", "code") == "status.code"; join("", "x") == "x".
inline std::string joinPath(std::string_view parent, std::string_view child) {
  std::string out(parent);
  if (!out.empty()) {
    out += '.';
  }
  out += child;
  return out;
}
inline std::string indexPath(std::string_view parent, size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

// Reports every key of `map` that is not in `known` (snake_case names; their lowerCamelCase
// spellings are accepted too), e.g. a typo in a param name.
inline void checkKnownKeys(ValueView map, std::initializer_list<std::string_view> known,
                           std::string_view path, ErrorSink& errors) {
  for (size_t i = 0; i < map.size(); ++i) {
    std::string_view key = map.keyAt(i);
    bool found = false;
    for (std::string_view k : known) {
      found = found || fieldNameMatches(key, k);
    }
    if (!found) {
      errors.add(joinPath(path, key), "unknown field '" + std::string(key) + "'");
    }
  }
}

// Reads a duration param: a DURATION value, or a string such as "5s". Absent: leaves *out_ns.
// Returns false (and reports the error) on a bad value.
inline bool readDuration(ValueView value, const std::string& path, ErrorSink& errors,
                         int64_t* out_ns) {
  if (value.isNull()) {
    return true;
  }
  if (value.type() == MIXER_VALUE_DURATION) {
    if (value.int64Value() < 0) {
      errors.add(path, "must not be negative");
      return false;
    }
    *out_ns = value.int64Value();
    return true;
  }
  if (value.type() == MIXER_VALUE_STRING) {
    if (!parseDuration(value.stringValue(), out_ns)) {
      errors.add(path, "invalid duration '" + std::string(value.stringValue()) +
                           "' (expected e.g. \"5s\", \"100ms\")");
      return false;
    }
    return true;
  }
  errors.add(path, std::string("expected a duration, got ") + valueTypeName(value.type()));
  return false;
}

// Reads an integer param within [min, max]. Absent: leaves *out. Returns false on a bad value.
inline bool readInt(ValueView value, const std::string& path, int64_t min, int64_t max,
                    ErrorSink& errors, int64_t* out) {
  if (value.isNull()) {
    return true;
  }
  if (value.type() != MIXER_VALUE_INT64) {
    errors.add(path, std::string("expected an integer, got ") + valueTypeName(value.type()));
    return false;
  }
  if (value.int64Value() < min || value.int64Value() > max) {
    errors.add(path, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                         ", got " + std::to_string(value.int64Value()));
    return false;
  }
  *out = value.int64Value();
  return true;
}

}  // namespace mixer::adapter_sdk

#endif  // MIXER_ADAPTER_SDK_PARAMS_H_
