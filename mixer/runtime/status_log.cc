#include "mixer/runtime/status_log.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "base/log.h"
#include "base/str_cat.h"

namespace mixer::runtime {
namespace {

int64_t steadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t unixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool secretName(std::string_view name) {
  const std::string n = lower(name);
  static constexpr std::string_view kExact[] = {"authorization", "proxy-authorization", "cookie",
                                                "set-cookie", "x-api-key"};
  for (const auto e : kExact) {
    if (n == e) return true;
  }
  static constexpr std::string_view kParts[] = {"token",   "secret",  "password", "passwd",
                                                "api-key", "api_key", "apikey",   "credential",
                                                "session", "jwt"};
  for (const auto p : kParts) {
    if (n.find(p) != std::string::npos) return true;
  }
  return false;
}

constexpr std::string_view kRedacted = "[redacted]";

std::string clip(std::string s, size_t max) {
  if (s.size() > max) {
    s.resize(max);
    s += "...";
  }
  return s;
}

}  // namespace

bool Sampler::sample() {
  const int64_t now = steadyNanos();
  int64_t next = next_.load(std::memory_order_relaxed);
  if (now < next) {
    return false;
  }
  return next_.compare_exchange_strong(next, now + interval_, std::memory_order_relaxed);
}

bool isSecretAttribute(std::string_view name, std::string_view key) {
  if (name == "request.api_key" || name == "request.auth.raw_claims" ||
      name == "request.auth.claims") {
    return true;
  }
  if (!key.empty()) {
    return secretName(key);
  }
  // A whole attribute: its last segment ("request.auth.token", "x.session_id").
  const size_t dot = name.rfind('.');
  return secretName(dot == std::string_view::npos ? name : name.substr(dot + 1));
}

std::string attributeValueText(const attribute::AttributeValue& v, size_t max) {
  using attribute::ValueType;
  char buf[64];
  switch (v.type()) {
    case ValueType::kString:
    case ValueType::kDnsName:
    case ValueType::kEmailAddress:
    case ValueType::kUri:
      return clip(base::strCat("\"", logSafe(v.stringValue()), "\""), max);
    case ValueType::kIpAddress:
    case ValueType::kBytes: {
      const std::string_view b = v.stringValue();
      if (b.size() == 4) {
        std::snprintf(buf, sizeof(buf), "%u.%u.%u.%u", static_cast<unsigned char>(b[0]),
                      static_cast<unsigned char>(b[1]), static_cast<unsigned char>(b[2]),
                      static_cast<unsigned char>(b[3]));
        return buf;
      }
      std::string hex;
      for (const char c : b.substr(0, max / 2)) {
        std::snprintf(buf, sizeof(buf), "%02x", static_cast<unsigned char>(c));
        hex += buf;
      }
      return hex;
    }
    case ValueType::kInt64:
      return std::to_string(v.int64Value());
    case ValueType::kDouble:
      std::snprintf(buf, sizeof(buf), "%g", v.doubleValue());
      return buf;
    case ValueType::kBool:
      return v.boolValue() ? "true" : "false";
    case ValueType::kTimestamp:
      return base::strCat(v.timestampValue().seconds, "s since the epoch");
    case ValueType::kDuration:
      std::snprintf(buf, sizeof(buf), "%.3fs",
                    static_cast<double>(v.durationValue().toNanos()) / 1e9);
      return buf;
    case ValueType::kStringMap: {
      std::string out = "{";
      for (const auto* e = v.mapBegin(); e != v.mapEnd(); ++e) {
        if (out.size() > max) break;
        out += base::strCat(out.size() > 1 ? ", " : "", logSafe(e->key), ": ");
        out += secretName(e->key) ? std::string(kRedacted)
                                  : base::strCat("\"", logSafe(e->value), "\"");
      }
      return clip(out + "}", max);
    }
    case ValueType::kUnspecified:
    default:  // the expression language's own types: no attribute has one
      break;
  }
  return "?";
}

DenialLog& DenialLog::global() {
  static DenialLog* log = new DenialLog();
  return *log;
}

void DenialLog::record(DenialRecord r, const attribute::AttributeBag& bag,
                       const attribute::AttributeReferences* refs) {
  r.unix_millis = unixMillis();
  std::vector<std::string> secrets;  // values shown nowhere, the reason included
  if (refs != nullptr) {
    for (const attribute::AttributeReference& ref : refs->items()) {
      if (r.attributes.size() >= 32) break;
      std::string name = ref.has_map_key ? base::strCat(ref.name, "[", logSafe(ref.map_key), "]")
                                         : std::string(ref.name);
      const attribute::AttributeValue* v = bag.find(ref.name);
      std::string text;
      if (!ref.present || v == nullptr) {
        text = "(absent)";
      } else if (ref.has_map_key) {
        std::string_view found;
        if (v->type() != attribute::ValueType::kStringMap || !v->mapFind(ref.map_key, &found)) {
          text = "(absent)";
        } else if (isSecretAttribute(ref.name, ref.map_key)) {
          text = kRedacted;
          secrets.emplace_back(found);
        } else {
          text = clip(base::strCat("\"", logSafe(found), "\""), 200);
        }
      } else if (isSecretAttribute(ref.name, "")) {
        text = kRedacted;
        if (attribute::isStringLike(v->type())) secrets.emplace_back(v->stringValue());
      } else {
        text = attributeValueText(*v);
        if (v->type() == attribute::ValueType::kStringMap) {
          for (const auto* e = v->mapBegin(); e != v->mapEnd(); ++e) {
            if (secretName(e->key)) secrets.emplace_back(e->value);
          }
        }
      }
      r.attributes.emplace_back(std::move(name), std::move(text));
    }
  }
  // A reason may quote what it refused (a listchecker's "x is not allowed"): never a secret.
  r.reason = logSafe(r.reason);
  for (const std::string& s : secrets) {
    if (s.size() < 4) continue;
    for (size_t at = r.reason.find(s); at != std::string::npos; at = r.reason.find(s, at)) {
      r.reason.replace(at, s.size(), kRedacted);
      at += kRedacted.size();
    }
  }
  r.reason = clip(std::move(r.reason), 500);
  std::lock_guard<std::mutex> lock(mu_);
  ring_.push_front(std::move(r));
  if (ring_.size() > kCapacity) ring_.pop_back();
  ++recorded_;
}

std::vector<DenialRecord> DenialLog::recent() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {ring_.begin(), ring_.end()};
}

uint64_t DenialLog::recorded() const {
  std::lock_guard<std::mutex> lock(mu_);
  return recorded_;
}

void DenialLog::resetForTest() {
  std::lock_guard<std::mutex> lock(mu_);
  ring_.clear();
  recorded_ = 0;
  seen_.store(0);
  sampler_.reset();
}

HandlerErrors& HandlerErrors::global() {
  static HandlerErrors* e = new HandlerErrors();
  return *e;
}

void HandlerErrors::failed(std::string_view handler, std::string_view message) {
  if (!sampler_.sample()) {
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = last_.find(handler);
  if (it == last_.end()) {
    it = last_.emplace(std::string(handler), LastError{}).first;
  }
  it->second.unix_millis = unixMillis();
  it->second.message = clip(logSafe(message), 500);
  ++it->second.sampled;
}

std::map<std::string, HandlerErrors::LastError, std::less<>> HandlerErrors::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_;
}

}  // namespace mixer::runtime
