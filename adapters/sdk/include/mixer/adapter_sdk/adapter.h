// adapter.h: the C++ helper layer over mixer_adapter.h, so an adapter author writes a class
// instead of C glue.
//
//   class MyHandler : public mixer::adapter_sdk::Handler { ... override check/quota/report ... };
//   class MyAdapter : public mixer::adapter_sdk::Adapter {
//    public:
//     static mixer::adapter_sdk::AdapterInfo info();  // name, version, kinds, templates
//     void validate(ValueView params, ErrorSink& errors) const override;
//     std::unique_ptr<Handler> createHandler(const std::string& name, ValueView params) override;
//   };
//   MIXER_DEFINE_ADAPTER(MyAdapter)
//
// Header-only and C++17, so it ships with the SDK and compiles into the adapter. Every hook the
// host calls is wrapped: an exception thrown by adapter code is caught at the border, logged
// through the host and turned into an error result; it never crosses the ABI.
#ifndef MIXER_ADAPTER_SDK_ADAPTER_H_
#define MIXER_ADAPTER_SDK_ADAPTER_H_

#include <arpa/inet.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mixer/adapter_sdk/mixer_adapter.h"
#include "mixer/adapter_sdk/utf8.h"

namespace mixer::adapter_sdk {

// google.rpc.Code values used in results.
enum class Code : int32_t {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// True when `key` is the protobuf field `field_name` (snake_case) in either of the spellings
// protobuf's JSON mapping accepts: as is, or lowerCamelCase ("output_as_json" / "outputAsJson").
inline bool fieldNameMatches(std::string_view key, std::string_view field_name) {
  // Most comparisons are misses that differ at once: the first character is the same in both
  // spellings (unless the field name starts with '_').
  if (!key.empty() && !field_name.empty() && field_name[0] != '_' && key[0] != field_name[0]) {
    return false;
  }
  if (key == field_name) {
    return true;
  }
  size_t k = 0;
  for (size_t f = 0; f < field_name.size(); ++f, ++k) {
    char c = field_name[f];
    if (c == '_' && f + 1 < field_name.size()) {
      c = field_name[++f];
      if (c >= 'a' && c <= 'z') {
        c = static_cast<char>(c - 'a' + 'A');
      }
    }
    if (k >= key.size() || key[k] != c) {
      return false;
    }
  }
  return k == key.size();
}

// A read-only view of a mixer_value (an instance field or a param). A default or null view is
// MIXER_VALUE_NULL. Views borrow: they are valid as long as the value they point into.
class ValueView {
 public:
  ValueView() = default;
  explicit ValueView(const mixer_value* value) : value_(value) {}

  uint32_t type() const { return value_ == nullptr ? MIXER_VALUE_NULL : value_->type; }
  bool isNull() const { return type() == MIXER_VALUE_NULL; }
  bool isStringLike() const {
    switch (type()) {
      case MIXER_VALUE_STRING:
      case MIXER_VALUE_IP_ADDRESS:
      case MIXER_VALUE_EMAIL_ADDRESS:
      case MIXER_VALUE_URI:
      case MIXER_VALUE_DNS_NAME:
      case MIXER_VALUE_BYTES:
        return true;
      default:
        return false;
    }
  }
  bool isInt64Like() const {
    return type() == MIXER_VALUE_INT64 || type() == MIXER_VALUE_TIMESTAMP ||
           type() == MIXER_VALUE_DURATION;
  }
  bool isMap() const { return type() == MIXER_VALUE_MAP || type() == MIXER_VALUE_STRING_MAP; }
  bool isList() const { return type() == MIXER_VALUE_LIST; }

  // Accessors return a zero value when the type does not match.
  std::string_view stringValue() const {
    if (!isStringLike() || value_->u.string_value.data == nullptr) {
      return {};
    }
    return {value_->u.string_value.data, value_->u.string_value.size};
  }
  int64_t int64Value() const { return isInt64Like() ? value_->u.int64_value : 0; }
  double doubleValue() const { return type() == MIXER_VALUE_DOUBLE ? value_->u.double_value : 0; }
  bool boolValue() const { return type() == MIXER_VALUE_BOOL && value_->u.bool_value != 0; }

  size_t size() const {
    if (isList()) {
      return value_->u.list_value.count;
    }
    if (isMap()) {
      return value_->u.map_value.count;
    }
    return 0;
  }
  // List element i (null view when out of range or not a list).
  ValueView at(size_t i) const {
    if (!isList() || i >= value_->u.list_value.count) {
      return ValueView();
    }
    return ValueView(&value_->u.list_value.items[i]);
  }
  // Map entry i.
  std::string_view keyAt(size_t i) const {
    if (!isMap() || i >= value_->u.map_value.count) {
      return {};
    }
    const mixer_string& key = value_->u.map_value.entries[i].key;
    return key.data == nullptr ? std::string_view() : std::string_view(key.data, key.size);
  }
  ValueView valueAt(size_t i) const {
    if (!isMap() || i >= value_->u.map_value.count) {
      return ValueView();
    }
    return ValueView(&value_->u.map_value.entries[i].value);
  }
  // The value under `key` in a map; a null view when absent. A snake_case `key` also finds its
  // lowerCamelCase spelling, as protobuf's JSON mapping (and so Istio's YAML) accepts both:
  // find("output_as_json") finds `outputAsJson`.
  ValueView find(std::string_view key) const {
    for (size_t i = 0; i < size() && isMap(); ++i) {
      if (fieldNameMatches(keyAt(i), key)) {
        return valueAt(i);
      }
    }
    return ValueView();
  }
  bool contains(std::string_view key) const { return isMap() && !find(key).isNull(); }

  const mixer_value* raw() const { return value_; }

 private:
  const mixer_value* value_ = nullptr;
};

// A remembered position for finding one field name in maps that usually share a layout: an
// adapter's instances come from one configuration, so their fields stand in the same order.
// find() tries the position where the name was found last and falls back to a scan.
// Thread-safe: the position is a relaxed atomic; a stale one only costs the scan.
class FieldHint {
 public:
  ValueView find(ValueView map, std::string_view name) const {
    // On the entries directly: this runs per field of every instance.
    const mixer_value* m = map.raw();
    if (m == nullptr || (m->type != MIXER_VALUE_MAP && m->type != MIXER_VALUE_STRING_MAP)) {
      return ValueView();
    }
    const mixer_map_entry* entries = m->u.map_value.entries;
    const size_t n = m->u.map_value.count;
    const uint32_t at = at_.load(std::memory_order_relaxed);
    if (at < n && matches(entries[at].key, name)) {
      return ValueView(&entries[at].value);
    }
    for (size_t i = 0; i < n; ++i) {
      if (matches(entries[i].key, name)) {
        at_.store(static_cast<uint32_t>(i), std::memory_order_relaxed);
        return ValueView(&entries[i].value);
      }
    }
    return ValueView();
  }

 private:
  static bool matches(const mixer_string& key, std::string_view name) {
    const std::string_view k =
        key.data == nullptr ? std::string_view() : std::string_view(key.data, key.size);
    return k == name || fieldNameMatches(k, name);
  }

  mutable std::atomic<uint32_t> at_{0};
};

// The name of a value type, for error messages.
inline const char* valueTypeName(uint32_t type) {
  static const char* const kNames[] = {"null",  "string",    "int64",      "double",
                                       "bool",  "timestamp", "ip_address", "email_address",
                                       "uri",   "dns_name",  "duration",   "string_map",
                                       "bytes", "list",      "map"};
  return type < sizeof(kNames) / sizeof(kNames[0]) ? kNames[type] : "unknown";
}

// A view of one template instance.
class InstanceView {
 public:
  explicit InstanceView(const mixer_instance* instance) : instance_(instance) {}
  std::string_view name() const { return view(instance_->name); }
  std::string_view templateName() const { return view(instance_->template_name); }
  ValueView fields() const { return ValueView(&instance_->fields); }
  ValueView field(std::string_view key) const { return fields().find(key); }

 private:
  static std::string_view view(const mixer_string& s) {
    return s.data == nullptr ? std::string_view() : std::string_view(s.data, s.size);
  }
  const mixer_instance* instance_;
};

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

// Parses a Go-style duration ("10s", "1.5ms", "1m30s", "250us", "0"). Returns false on a malformed
// or negative input.
inline bool parseDuration(std::string_view text, int64_t* out_ns) {
  if (text == "0") {
    *out_ns = 0;
    return true;
  }
  if (text.empty()) {
    return false;
  }
  double total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) {
      ++i;
    }
    if (start == i) {
      return false;
    }
    double number = 0;
    try {
      const std::string digits(text.substr(start, i - start));
      size_t used = 0;
      number = std::stod(digits, &used);
      if (used != digits.size()) {
        return false;  // e.g. "1..5"
      }
    } catch (...) {
      return false;
    }
    size_t unit_start = i;
    while (i < text.size() &&
           ((text[i] >= 'a' && text[i] <= 'z') || text[i] == '\xc2' || text[i] == '\xb5')) {
      ++i;
    }
    std::string_view unit = text.substr(unit_start, i - unit_start);
    double scale = 0;
    if (unit == "ns") {
      scale = 1;
    } else if (unit == "us" || unit == "\xc2\xb5s") {
      scale = 1e3;
    } else if (unit == "ms") {
      scale = 1e6;
    } else if (unit == "s") {
      scale = 1e9;
    } else if (unit == "m") {
      scale = 60e9;
    } else if (unit == "h") {
      scale = 3600e9;
    } else {
      return false;
    }
    total += number * scale;
  }
  if (total > 9.2e18) {
    return false;
  }
  *out_ns = static_cast<int64_t>(total);
  return true;
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

// The host's services (logging, clocks, executor, counters) for this adapter. Thread-safe.
class Host {
 public:
  Host() = default;
  explicit Host(const mixer_host_api* api) : api_(api) {}

  void log(int32_t severity, std::string_view message) const {
    if (api_ != nullptr && api_->log != nullptr) {
      api_->log(api_->host_ctx, severity, mixer_string{message.data(), message.size()});
    }
  }
  void info(std::string_view message) const { log(MIXER_LOG_INFO, message); }
  void warning(std::string_view message) const { log(MIXER_LOG_WARNING, message); }
  void error(std::string_view message) const { log(MIXER_LOG_ERROR, message); }

  int64_t nowUnixNs() const { return api_ == nullptr ? 0 : api_->now_unix_ns(api_->host_ctx); }
  int64_t monotonicNs() const { return api_ == nullptr ? 0 : api_->monotonic_ns(api_->host_ctx); }

  // Runs `task` soon on a host background thread. Returns false if the host refused (shutdown).
  bool post(std::function<void()> task) const {
    if (api_ == nullptr) {
      return false;
    }
    auto* boxed = new std::function<void()>(std::move(task));
    if (api_->post(api_->host_ctx, &Host::runTask, boxed) != MIXER_OK) {
      delete boxed;
      return false;
    }
    return true;
  }

  // A scheduled timer; pass it to cancel().
  struct Timer {
    uint64_t id = 0;
    std::function<void()>* task = nullptr;
  };
  // Runs `task` after `delay_ns` on a host background thread. Timer.id == 0 when refused.
  Timer schedule(int64_t delay_ns, std::function<void()> task) const {
    if (api_ == nullptr) {
      return {};
    }
    auto* boxed = new std::function<void()>(std::move(task));
    uint64_t id = api_->schedule(api_->host_ctx, delay_ns, &Host::runTask, boxed);
    if (id == 0) {
      delete boxed;
      return {};
    }
    return Timer{id, boxed};
  }
  // True when the timer was cancelled before it ran.
  bool cancel(const Timer& timer) const {
    if (api_ == nullptr || timer.id == 0) {
      return false;
    }
    if (api_->cancel(api_->host_ctx, timer.id) == 1) {
      delete timer.task;
      return true;
    }
    return false;
  }

  // A counter exposed by the host on /metrics as mixer_adapter_<name>_total{adapter="..."}.
  class Counter {
   public:
    Counter() = default;
    Counter(const mixer_host_api* api, uint64_t id) : api_(api), id_(id) {}
    void add(double delta = 1) const {
      if (api_ != nullptr && id_ != 0) {
        api_->counter_add(api_->host_ctx, id_, delta);
      }
    }

   private:
    const mixer_host_api* api_ = nullptr;
    uint64_t id_ = 0;
  };
  Counter declareCounter(const char* name, const char* help) const {
    if (api_ == nullptr) {
      return {};
    }
    return Counter(api_, api_->declare_counter(api_->host_ctx, name, help));
  }

  const mixer_host_api* raw() const { return api_; }

 private:
  static void runTask(void* arg) {
    std::unique_ptr<std::function<void()>> task(static_cast<std::function<void()>*>(arg));
    try {
      (*task)();
    } catch (...) {
      // No exception may reach a host thread; the adapter's own code should have handled it.
    }
  }
  const mixer_host_api* api_ = nullptr;
};

// Results an adapter reports. Status codes are google.rpc.Code values.
struct CheckResult {
  Code code = Code::kOk;
  std::string message;
  int64_t valid_duration_ns = 0;
  int32_t valid_use_count = 0;
};
struct QuotaArgs {
  int64_t amount = 0;
  bool best_effort = false;
  std::string deduplication_id;
};
struct QuotaResult {
  Code code = Code::kOk;
  std::string message;
  int64_t granted_amount = 0;
  int64_t valid_duration_ns = 0;
  // ABI 1.1 (optional): the limit that applied, what is left of it, its window.
  int64_t limit = -1;
  int64_t remaining = -1;
  int64_t window_ns = 0;
};
struct ReportResult {
  Code code = Code::kOk;
  std::string message;
};
struct CallContext {
  int64_t deadline_monotonic_ns = 0;
};

// ABI 1.2: what an attribute generator answers, by output field name of its template (e.g.
// "source_workload_name" of `kubernetes`). Outputs left unset are absent for the host.
class GenerateResult {
 public:
  void setString(std::string name, std::string value) {
    add(std::move(name), MIXER_VALUE_STRING).text = std::move(value);
  }
  // `raw`: the address's 4 or 16 network-order bytes.
  void setIpAddress(std::string name, std::string raw) {
    add(std::move(name), MIXER_VALUE_IP_ADDRESS).text = std::move(raw);
  }
  void setInt64(std::string name, int64_t value) {
    add(std::move(name), MIXER_VALUE_INT64).number = value;
  }
  void setBool(std::string name, bool value) {
    add(std::move(name), MIXER_VALUE_BOOL).number = value ? 1 : 0;
  }
  void setStringMap(std::string name, std::vector<std::pair<std::string, std::string>> entries) {
    add(std::move(name), MIXER_VALUE_STRING_MAP).entries = std::move(entries);
  }

  struct Output {
    std::string name;
    uint32_t type = MIXER_VALUE_NULL;
    std::string text;
    int64_t number = 0;
    std::vector<std::pair<std::string, std::string>> entries;
  };
  const std::vector<Output>& outputs() const { return outputs_; }

 private:
  Output& add(std::string name, uint32_t type) {
    outputs_.push_back(Output{std::move(name), type, {}, 0, {}});
    return outputs_.back();
  }
  std::vector<Output> outputs_;
};

// Appends the text of an IP address given as its 4 or 16 network-order bytes (how IP_ADDRESS
// values cross the ABI): a dotted quad for IPv4, inet_ntop's form for IPv6; with `mapped_as_v4`
// an IPv4-mapped IPv6 address (::ffff:a.b.c.d, as ip("a.b.c.d") yields) prints dotted, as Go's
// net.IP.String() does. Bytes of another length are appended as they are.
inline void appendIpAddress(std::string_view raw, std::string* out, bool mapped_as_v4 = false) {
  static constexpr char kV4Prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '\xff', '\xff'};
  if (mapped_as_v4 && raw.size() == 16 && raw.substr(0, 12) == std::string_view(kV4Prefix, 12)) {
    raw = raw.substr(12);
  }
  if (raw.size() == 4) {
    char buf[16];
    char* p = buf;
    for (size_t i = 0; i < 4; ++i) {
      const unsigned v = static_cast<unsigned char>(raw[i]);
      if (i > 0) {
        *p++ = '.';
      }
      if (v >= 100) {
        *p++ = static_cast<char>('0' + v / 100);
      }
      if (v >= 10) {
        *p++ = static_cast<char>('0' + v / 10 % 10);
      }
      *p++ = static_cast<char>('0' + v % 10);
    }
    out->append(buf, static_cast<size_t>(p - buf));
    return;
  }
  char buf[INET6_ADDRSTRLEN];
  if (raw.size() == 16 && inet_ntop(AF_INET6, raw.data(), buf, sizeof(buf)) != nullptr) {
    out->append(buf);
    return;
  }
  out->append(raw);
}

// Appends `s` to `out` as a JSON string literal: quotes, backslashes and control characters
// escaped, everything else (UTF-8 included) copied in runs. For adapters that write JSON
// (access logs, trace spans).
inline void appendJsonString(std::string_view s, std::string* out) {
  // True for the bytes JSON requires escaped (control characters, '"' and '\\') and for the
  // bytes of multi-byte UTF-8, which are checked: JSON text is UTF-8, and a byte that does not
  // start a well-formed sequence is written as \ufffd.
  static constexpr auto kEscape = [] {
    struct Table {
      bool v[256] = {};
    } t;
    for (int c = 0; c < 0x20; ++c) {
      t.v[c] = true;
    }
    for (int c = 0x80; c < 0x100; ++c) {
      t.v[c] = true;
    }
    t.v[static_cast<unsigned char>('"')] = true;
    t.v[static_cast<unsigned char>('\\')] = true;
    return t;
  }();
  static constexpr char kHex[] = "0123456789abcdef";
  // Eight bytes at a time while all of them are ASCII and none is below 0x20, '"' or '\\' (the
  // tests are exact: a word that passes holds no byte to escape or check).
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  auto clean = [](uint64_t w) {
    const uint64_t quote = w ^ (kOnes * '"');
    const uint64_t backslash = w ^ (kOnes * '\\');
    return ((((w - kOnes * 0x20) & ~w) | ((quote - kOnes) & ~quote) |
             ((backslash - kOnes) & ~backslash) | w) &
            kHigh) == 0;
  };
  // `s` may view `out` itself, whose buffer the resize below may move: such a string is copied.
  const std::less<const char*> before;
  if (!s.empty() && !before(s.data(), out->data()) &&
      before(s.data(), out->data() + out->capacity())) {
    const std::string copy(s);
    appendJsonString(copy, out);
    return;
  }
  const char* p = s.data();
  const char* const end = p + s.size();
  // Most strings need no escape: room for them and their quotes is made at once and they are
  // copied in; at the first byte to escape, the copy stops and the general loop goes on.
  const size_t start = out->size();
  out->resize(start + s.size() + 2);
  char* d = out->data() + start;
  *d++ = '"';
  while (end - p >= 8) {
    uint64_t w;
    std::memcpy(&w, p, sizeof(w));
    if (!clean(w)) {
      break;
    }
    std::memcpy(d, &w, sizeof(w));
    p += sizeof(w);
    d += sizeof(w);
  }
  while (p < end && !kEscape.v[static_cast<unsigned char>(*p)]) {
    *d++ = *p++;
  }
  if (p == end) {
    *d = '"';
    return;
  }
  out->resize(static_cast<size_t>(d - out->data()));
  while (p < end) {
    const char* run = p;  // a run of bytes that need no escape, copied at once
    while (end - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, sizeof(w));
      if (!clean(w)) {
        break;
      }
      p += sizeof(w);
    }
    while (p < end && !kEscape.v[static_cast<unsigned char>(*p)]) {
      ++p;
    }
    out->append(run, static_cast<size_t>(p - run));
    if (p == end) {
      break;
    }
    const unsigned char c = static_cast<unsigned char>(*p);
    if (c >= 0x80) {
      const size_t n = utf8SequenceLength(reinterpret_cast<const unsigned char*>(p),
                                          reinterpret_cast<const unsigned char*>(end));
      if (n == 0) {
        out->append("\\ufffd");
        ++p;
      } else {
        out->append(p, n);
        p += n;
      }
      continue;
    }
    ++p;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default: {
        const char u[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
        out->append(u, sizeof(u));
      }
    }
  }
  out->push_back('"');
}

namespace internal {

template <class Result>
struct CallbackTraits;
template <>
struct CallbackTraits<CheckResult> {
  using Fn = mixer_check_done_fn;
  static void complete(Fn fn, void* ctx, const CheckResult& r) {
    mixer_check_result c{};
    c.struct_size = sizeof(c);
    c.status_code = static_cast<int32_t>(r.code);
    c.message = r.message.c_str();
    c.valid_duration_ns = r.valid_duration_ns;
    c.valid_use_count = r.valid_use_count;
    fn(ctx, MIXER_OK, &c);
  }
};
template <>
struct CallbackTraits<QuotaResult> {
  using Fn = mixer_quota_done_fn;
  static void complete(Fn fn, void* ctx, const QuotaResult& r) {
    mixer_quota_result c{};
    c.struct_size = sizeof(c);
    c.status_code = static_cast<int32_t>(r.code);
    c.message = r.message.c_str();
    c.granted_amount = r.granted_amount;
    c.valid_duration_ns = r.valid_duration_ns;
    c.limit = r.limit;
    c.remaining = r.remaining;
    c.window_ns = r.window_ns;
    fn(ctx, MIXER_OK, &c);
  }
};
template <>
struct CallbackTraits<ReportResult> {
  using Fn = mixer_report_done_fn;
  static void complete(Fn fn, void* ctx, const ReportResult& r) {
    mixer_report_result c{};
    c.struct_size = sizeof(c);
    c.status_code = static_cast<int32_t>(r.code);
    c.message = r.message.c_str();
    fn(ctx, MIXER_OK, &c);
  }
};

template <>
struct CallbackTraits<GenerateResult> {
  using Fn = mixer_generate_done_fn;
  static mixer_string view(const std::string& s) { return mixer_string{s.data(), s.size()}; }
  static void complete(Fn fn, void* ctx, const GenerateResult& r) {
    const auto& outputs = r.outputs();
    std::vector<mixer_map_entry> entries(outputs.size());
    std::vector<std::vector<mixer_map_entry>> maps(outputs.size());
    for (size_t i = 0; i < outputs.size(); ++i) {
      const GenerateResult::Output& o = outputs[i];
      mixer_map_entry& e = entries[i];
      e.key = view(o.name);
      e.value.type = o.type;
      switch (o.type) {
        case MIXER_VALUE_STRING:
        case MIXER_VALUE_IP_ADDRESS:
          e.value.u.string_value = view(o.text);
          break;
        case MIXER_VALUE_INT64:
          e.value.u.int64_value = o.number;
          break;
        case MIXER_VALUE_BOOL:
          e.value.u.bool_value = static_cast<int32_t>(o.number);
          break;
        case MIXER_VALUE_STRING_MAP:
          for (const auto& [key, value] : o.entries) {
            mixer_map_entry m{};
            m.key = view(key);
            m.value.type = MIXER_VALUE_STRING;
            m.value.u.string_value = view(value);
            maps[i].push_back(m);
          }
          e.value.u.map_value.entries = maps[i].data();
          e.value.u.map_value.count = maps[i].size();
          break;
        default:
          e.value.type = MIXER_VALUE_NULL;
      }
    }
    mixer_value root{};
    root.type = MIXER_VALUE_MAP;
    root.u.map_value.entries = entries.data();
    root.u.map_value.count = entries.size();
    fn(ctx, MIXER_OK, &root);
  }
};

}  // namespace internal

// The completion of one call. Copyable (copies share one completion) and thread-safe: the first
// respond() or fail() wins and later ones are ignored; if every copy is destroyed without a
// response, the host receives MIXER_ERR_INTERNAL, so a call is never left hanging.
template <class Result>
class Completion {
 public:
  using Fn = typename internal::CallbackTraits<Result>::Fn;
  Completion(Fn fn, void* ctx) : state_(std::make_shared<State>(fn, ctx)) {}

  void respond(const Result& result) const { state_->respond(result); }
  void fail(mixer_result error) const { state_->fail(error); }
  bool done() const { return state_->done.load(); }

 private:
  struct State {
    State(Fn f, void* c) : fn(f), ctx(c) {}
    ~State() { fail(MIXER_ERR_INTERNAL); }
    bool claim() { return !done.exchange(true); }
    void respond(const Result& result) {
      if (claim()) {
        internal::CallbackTraits<Result>::complete(fn, ctx, result);
      }
    }
    void fail(mixer_result error) {
      if (claim()) {
        fn(ctx, error, nullptr);
      }
    }
    Fn fn;
    void* ctx;
    std::atomic<bool> done{false};
  };
  std::shared_ptr<State> state_;
};
using CheckCompletion = Completion<CheckResult>;
using QuotaCompletion = Completion<QuotaResult>;
using ReportCompletion = Completion<ReportResult>;
using GenerateCompletion = Completion<GenerateResult>;

// One configured handler. Methods may be called concurrently from several host threads; complete
// each call through its Completion, now or later (e.g. from a host timer or posted task). Methods
// run on request threads and must return quickly: never block on I/O inside them (the host can
// answer a late completion at the deadline, but cannot interrupt a hook that does not return).
class Handler {
 public:
  virtual ~Handler() = default;

  virtual void check(const InstanceView& instance, const CallContext& ctx, CheckCompletion done) {
    done.fail(MIXER_ERR_UNSUPPORTED);
  }
  virtual void quota(const InstanceView& instance, const QuotaArgs& args, const CallContext& ctx,
                     QuotaCompletion done) {
    done.fail(MIXER_ERR_UNSUPPORTED);
  }
  virtual void report(const std::vector<InstanceView>& instances, const CallContext& ctx,
                      ReportCompletion done) {
    done.fail(MIXER_ERR_UNSUPPORTED);
  }
  // ABI 1.2 (kinds MIXER_KIND_GENERATE): the outputs of an attribute generation instance. The
  // host waits for the answer, so answer from memory, now.
  virtual void generate(const InstanceView& instance, const CallContext& ctx,
                        GenerateCompletion done) {
    done.fail(MIXER_ERR_UNSUPPORTED);
  }
  // Flushes pending work; called once before the handler is destroyed. After it returns the
  // handler completes no further calls.
  virtual void close() {}
};

// What the adapter tells the host about itself.
struct AdapterInfo {
  std::string name;
  std::string version;
  std::string description;
  uint32_t kinds = 0;  // MIXER_KIND_* mask
  std::vector<std::string> templates;
};

// The adapter: validates params and creates handlers. Constructed once per process when the host
// loads the shared object; host() is usable from the constructor on.
class Adapter {
 public:
  virtual ~Adapter() = default;
  // Reports every problem in `params` (a map) with its path. Must not throw for bad input.
  virtual void validate(ValueView params, ErrorSink& errors) const = 0;
  // Creates a handler from params that passed validate().
  virtual std::unique_ptr<Handler> createHandler(const std::string& name, ValueView params) = 0;

  const Host& host() const;
};

namespace internal {

struct Registration {
  Host host;
  std::unique_ptr<Adapter> adapter;
  AdapterInfo info;
  std::vector<const char*> template_ptrs;
  mixer_adapter descriptor{};
};

// One per shared object (inline function statics are unique within a module).
inline Registration& registration() {
  static Registration r;
  return r;
}

inline void logException(const char* where) {
  std::string message = std::string("exception in ") + where + ": ";
  try {
    throw;
  } catch (const std::exception& e) {
    message += e.what();
  } catch (...) {
    message += "unknown exception";
  }
  registration().host.error(message);
}

inline mixer_result validateParams(const mixer_value* params, const mixer_error_sink* sink) {
  ErrorSink errors(sink);
  try {
    ValueView view(params);
    if (!view.isMap() && !view.isNull()) {
      errors.add("", std::string("params must be a map, got ") + valueTypeName(view.type()));
    } else {
      registration().adapter->validate(view, errors);
    }
  } catch (...) {
    logException("validate");
    errors.add("", "the adapter failed while validating its params");
  }
  return errors.count() == 0 ? MIXER_OK : MIXER_ERR_INVALID_ARGUMENT;
}

inline mixer_result createHandler(const mixer_handler_config* config, void** out_handler) {
  try {
    std::string name = config->handler_name == nullptr ? "" : config->handler_name;
    std::unique_ptr<Handler> handler =
        registration().adapter->createHandler(name, ValueView(config->params));
    if (handler == nullptr) {
      return MIXER_ERR_INTERNAL;
    }
    *out_handler = handler.release();
    return MIXER_OK;
  } catch (...) {
    logException("createHandler");
    return MIXER_ERR_INTERNAL;
  }
}

inline void closeHandler(void* raw) {
  auto* handler = static_cast<Handler*>(raw);
  try {
    handler->close();
  } catch (...) {
    logException("close");
  }
  try {
    delete handler;
  } catch (...) {
    logException("~Handler");
  }
}

inline CallContext callContext(const mixer_call_context* ctx) {
  CallContext out;
  if (ctx != nullptr) {
    out.deadline_monotonic_ns = ctx->deadline_monotonic_ns;
  }
  return out;
}

// The completion object is created before the call, so an exception thrown by the handler (after
// which every copy is destroyed) still completes the call exactly once, with an error.
inline mixer_result check(void* handler, const mixer_instance* instance,
                          const mixer_call_context* ctx, mixer_check_done_fn done, void* done_ctx) {
  try {
    CheckCompletion completion(done, done_ctx);
    try {
      static_cast<Handler*>(handler)->check(InstanceView(instance), callContext(ctx), completion);
    } catch (...) {
      logException("check");
      completion.fail(MIXER_ERR_INTERNAL);
    }
    return MIXER_OK;
  } catch (...) {  // allocating the completion failed: `done` was not called
    return MIXER_ERR_RESOURCE_EXHAUSTED;
  }
}

inline mixer_result quota(void* handler, const mixer_instance* instance,
                          const mixer_quota_args* args, const mixer_call_context* ctx,
                          mixer_quota_done_fn done, void* done_ctx) {
  try {
    QuotaCompletion completion(done, done_ctx);
    try {
      QuotaArgs quota_args;
      if (args != nullptr) {
        quota_args.amount = args->amount;
        quota_args.best_effort = args->best_effort != 0;
        if (args->deduplication_id.data != nullptr) {
          quota_args.deduplication_id.assign(args->deduplication_id.data,
                                             args->deduplication_id.size);
        }
      }
      static_cast<Handler*>(handler)->quota(InstanceView(instance), quota_args, callContext(ctx),
                                            completion);
    } catch (...) {
      logException("quota");
      completion.fail(MIXER_ERR_INTERNAL);
    }
    return MIXER_OK;
  } catch (...) {
    return MIXER_ERR_RESOURCE_EXHAUSTED;
  }
}

inline mixer_result report(void* handler, const mixer_instance* const* instances, size_t count,
                           const mixer_call_context* ctx, mixer_report_done_fn done,
                           void* done_ctx) {
  try {
    ReportCompletion completion(done, done_ctx);
    try {
      std::vector<InstanceView> views;
      views.reserve(count);
      for (size_t i = 0; i < count; ++i) {
        views.emplace_back(instances[i]);
      }
      static_cast<Handler*>(handler)->report(views, callContext(ctx), completion);
    } catch (...) {
      logException("report");
      completion.fail(MIXER_ERR_INTERNAL);
    }
    return MIXER_OK;
  } catch (...) {
    return MIXER_ERR_RESOURCE_EXHAUSTED;
  }
}

inline mixer_result generate(void* handler, const mixer_instance* instance,
                             const mixer_call_context* ctx, mixer_generate_done_fn done,
                             void* done_ctx) {
  try {
    GenerateCompletion completion(done, done_ctx);
    try {
      static_cast<Handler*>(handler)->generate(InstanceView(instance), callContext(ctx),
                                               completion);
    } catch (...) {
      logException("generate");
      completion.fail(MIXER_ERR_INTERNAL);
    }
    return MIXER_OK;
  } catch (...) {
    return MIXER_ERR_RESOURCE_EXHAUSTED;
  }
}

template <class AdapterClass>
mixer_result entry(const mixer_host_api* host, const mixer_adapter** out) {
  if (host == nullptr || out == nullptr ||
      MIXER_ADAPTER_ABI_MAJOR_OF(host->abi_version) != MIXER_ADAPTER_ABI_VERSION_MAJOR) {
    return MIXER_ERR_VERSION;
  }
  Registration& r = registration();
  try {
    // A host that unloads and reloads the object gets a fresh adapter; one that calls the entry
    // again with another services table (without unloading) gets a fresh adapter bound to it.
    if (r.adapter == nullptr || r.host.raw() != host) {
      r.adapter.reset();
      r.host = Host(host);
      r.info = AdapterClass::info();
      r.adapter = std::make_unique<AdapterClass>();
      r.template_ptrs.clear();
      for (const std::string& t : r.info.templates) {
        r.template_ptrs.push_back(t.c_str());
      }
      mixer_adapter& d = r.descriptor;
      d.struct_size = sizeof(mixer_adapter);
      d.abi_version = MIXER_ADAPTER_ABI_VERSION;
      d.name = r.info.name.c_str();
      d.version = r.info.version.c_str();
      d.description = r.info.description.c_str();
      d.kinds = r.info.kinds;
      d.templates = r.template_ptrs.data();
      d.template_count = r.template_ptrs.size();
      d.validate_params = &validateParams;
      d.create_handler = &createHandler;
      d.close_handler = &closeHandler;
      d.check = (r.info.kinds & MIXER_KIND_CHECK) != 0 ? &check : nullptr;
      d.quota = (r.info.kinds & MIXER_KIND_QUOTA) != 0 ? &quota : nullptr;
      d.report = (r.info.kinds & MIXER_KIND_REPORT) != 0 ? &report : nullptr;
      d.generate = (r.info.kinds & MIXER_KIND_GENERATE) != 0 ? &generate : nullptr;
    }
    *out = &r.descriptor;
    return MIXER_OK;
  } catch (...) {
    logException("adapter start-up");
    r.adapter.reset();
    return MIXER_ERR_INTERNAL;
  }
}

}  // namespace internal

inline const Host& Adapter::host() const { return internal::registration().host; }

}  // namespace mixer::adapter_sdk

// Defines the exported entry point for `AdapterClass`, which must be default-constructible and
// have `static mixer::adapter_sdk::AdapterInfo info();`. Use once per adapter shared object.
#define MIXER_DEFINE_ADAPTER(AdapterClass)                                                      \
  extern "C" MIXER_ADAPTER_EXPORT mixer_result mixer_adapter_entry(const mixer_host_api* host,  \
                                                                   const mixer_adapter** out) { \
    return ::mixer::adapter_sdk::internal::entry<AdapterClass>(host, out);                      \
  }                                                                                             \
  static_assert(sizeof(mixer_adapter_entry_fn) == sizeof(&mixer_adapter_entry), "entry type")

#endif  // MIXER_ADAPTER_SDK_ADAPTER_H_
