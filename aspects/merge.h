// How the answers to one call's instances combine into the call's answer: Istio's rules for the
// check and quota varieties, in one place. The dispatcher (mixer/runtime/dispatcher.cc) asks every
// instance of every matching rule and feeds each answer here. Header-only: it is on the Check
// path, and inlines there to what it replaced (docs/performance.md §16).
//
// Not thread-safe: one CheckMerge per call.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/str_cat.h"

namespace mixer::aspects {

// Istio's defaults for a Check that no adapter answered (no rule matched, or every matching rule
// has only header operations): the proxy may reuse it for a minute or 10,000 times.
inline constexpr int64_t kDefaultValidDurationSeconds = 60;
inline constexpr int32_t kDefaultValidUseCount = 10000;

// Check variety (checknothing, listentry, authorization, apikey). Every instance is asked, even
// after a denial, as Istio did. The call's status is the first failure's code; its message lists
// every failure as "handler:message", in rule order. The answer may be cached for the shortest
// duration and the fewest uses any adapter's answer allowed; with no answer, the defaults above.
class CheckMerge {
 public:
  // An adapter's answer's cacheability (whatever its status).
  void addValidity(int64_t duration_nanos, int32_t use_count) {
    if (!have_validity_) {
      duration_nanos_ = duration_nanos;
      use_count_ = use_count;
      have_validity_ = true;
      return;
    }
    duration_nanos_ = std::min(duration_nanos_, duration_nanos);
    use_count_ = std::min(use_count_, use_count);
  }
  // A failure (`code` is not OK): an adapter's denial, or a call that could not be made. True
  // when it is the first, the one whose code the call answers with.
  bool addFailure(int32_t code, std::string_view who, std::string_view message) {
    failures_ += base::strCat(failures_.empty() ? "" : ", ", who, ":", message);
    if (status_code_ != 0) {
      return false;
    }
    status_code_ = code;
    return true;
  }

  int32_t statusCode() const { return status_code_; }  // 0: OK
  std::string takeMessage() { return std::move(failures_); }
  int64_t validDurationNanos() const {
    return have_validity_ ? duration_nanos_ : kDefaultValidDurationSeconds * 1'000'000'000;
  }
  int32_t validUseCount() const { return have_validity_ ? use_count_ : kDefaultValidUseCount; }

 private:
  bool have_validity_ = false;
  int64_t duration_nanos_ = 0;
  int32_t use_count_ = 0;
  int32_t status_code_ = 0;
  std::string failures_;
};

// Quota variety: a quota's deduplication id is the request's id followed by the quota's name
// (Istio's); a request without an id asks for no deduplication (the quota name alone would make
// every such request a repeat of the first).
// Writes it into `out` (reusing its storage).
inline void assignQuotaDeduplicationId(std::string_view request_id, std::string_view quota,
                                       std::string* out) {
  out->clear();
  if (!request_id.empty()) {
    out->reserve(request_id.size() + quota.size());
    out->append(request_id).append(quota);
  }
}
inline std::string quotaDeduplicationId(std::string_view request_id, std::string_view quota) {
  std::string id;
  assignQuotaDeduplicationId(request_id, quota, &id);
  return id;
}

}  // namespace mixer::aspects
