// What the status page (mixer/server/status_page.h) shows of the request path beyond counters:
//   DenialLog      a sampled ring of recent Check denials: when, which rule and handler, the
//                  reason, and the attributes the decision read, secrets redacted;
//   HandlerErrors  per handler, its last failed adapter call (check, quota or report).
// Both are process-wide (they outlive configuration reloads) and cheap on the request path: an
// allowed Check never touches them; a denial costs a relaxed counter, a clock read and a load,
// and only a sampled one (at most one per `interval`) takes a lock and copies anything.
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mixer/attribute/attribute_bag.h"
#include "mixer/attribute/references.h"

namespace mixer::runtime {

// A time-based sampler: true at most once per interval (the first call included). Lock-free.
class Sampler {
 public:
  explicit Sampler(std::chrono::nanoseconds interval) : interval_(interval.count()) {}
  bool sample();
  void reset() { next_.store(0, std::memory_order_relaxed); }

 private:
  int64_t interval_;
  std::atomic<int64_t> next_{0};  // steady-clock nanoseconds
};

struct DenialRecord {
  int64_t unix_millis = 0;
  uint64_t generation = 0;  // of the configuration that decided
  std::string rule;         // the rule whose check action denied first
  std::string handler;
  int32_t code = 0;  // google.rpc.Code
  std::string reason;
  // The attributes the decision read: "name" or "name[key]", and the value as text (absent
  // ones say so; secrets read "[redacted]").
  std::vector<std::pair<std::string, std::string>> attributes;
};

class DenialLog {
 public:
  static constexpr size_t kCapacity = 64;

  static DenialLog& global();

  // Every denial calls this: counts it, and says whether to record it.
  bool sample() {
    seen_.fetch_add(1, std::memory_order_relaxed);
    return sampler_.sample();
  }
  // Records a sampled denial, building its attribute list from `bag` and `refs` (may be null),
  // with secrets redacted.
  void record(DenialRecord r, const attribute::AttributeBag& bag,
              const attribute::AttributeReferences* refs);

  // Newest first.
  std::vector<DenialRecord> recent() const;
  uint64_t seen() const { return seen_.load(std::memory_order_relaxed); }
  uint64_t recorded() const;
  std::chrono::nanoseconds interval() const { return std::chrono::milliseconds(100); }
  // Tests: forgets everything and samples again from the next denial.
  void resetForTest();

 private:
  DenialLog() : sampler_(std::chrono::milliseconds(100)) {}

  std::atomic<uint64_t> seen_{0};
  Sampler sampler_;
  mutable std::mutex mu_;
  std::deque<DenialRecord> ring_;
  uint64_t recorded_ = 0;
};

class HandlerErrors {
 public:
  struct LastError {
    int64_t unix_millis = 0;
    std::string message;
    uint64_t sampled = 0;  // errors recorded (at most one per second per process)
  };

  static HandlerErrors& global();

  // A failed adapter call of `handler` (sampled: at most one is recorded per second).
  void failed(std::string_view handler, std::string_view message);
  std::map<std::string, LastError, std::less<>> snapshot() const;

 private:
  HandlerErrors() : sampler_(std::chrono::seconds(1)) {}
  Sampler sampler_;
  mutable std::mutex mu_;
  std::map<std::string, LastError, std::less<>> last_;
};

// Whether the value of attribute `name` (with map key `key`, "" for none) is a secret the status
// page must not show: credentials in headers (authorization, proxy-authorization, cookie,
// set-cookie, x-api-key, and any header or attribute whose name says token, secret, password,
// passwd, api-key, api_key, apikey, credential, session or jwt), `request.api_key`,
// `request.auth.raw_claims` and `request.auth.claims`.
bool isSecretAttribute(std::string_view name, std::string_view key);

// A value as the status page shows it (strings quoted, maps as {k: v}, at most `max` bytes).
std::string attributeValueText(const attribute::AttributeValue& v, size_t max = 200);

}  // namespace mixer::runtime
