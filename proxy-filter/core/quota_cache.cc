#include "proxy-filter/core/quota_cache.h"

#include "proxy-filter/core/check_result.h"

namespace mixer::proxy {

QuotaCache::Decision QuotaCache::check(std::string_view quota, int64_t amount,
                                       const Attributes& attributes, int64_t now_ns) {
  Decision d;
  Prefetch* prefetch = nullptr;
  {
    SharedSlotLock lock(mutex_);
    auto it = quotas_.find(absl::string_view(quota.data(), quota.size()));
    if (it != quotas_.end()) {
      for (const auto& key : it->second.keys) {
        if (auto signature = key.signature(attributes)) {
          auto p = it->second.prefetches.find(*signature);
          if (p != it->second.prefetches.end()) {
            prefetch = p->second.get();
            break;
          }
        }
      }
    }
  }
  if (prefetch == nullptr) {
    d.outcome = Decision::Outcome::kRemote;
    d.fetch_amount = amount;
    d.best_effort = false;
    d.waiting_amount = amount;
    return d;
  }
  QuotaPrefetch::Decision p;
  {
    std::lock_guard<std::mutex> lock(prefetch->mutex);
    p = prefetch->prefetch.check(amount, now_ns);
  }
  d.prefetch = prefetch;
  d.fetch_amount = p.fetch_amount;
  d.best_effort = true;
  if (p.wait_for_fetch) {
    d.outcome = Decision::Outcome::kRemote;
    d.waiting_amount = amount;
  } else {
    d.outcome = p.allowed ? Decision::Outcome::kAllowed : Decision::Outcome::kDenied;
  }
  return d;
}

void QuotaCache::onResult(std::string_view quota, const Attributes& attributes,
                          const Decision& decision,
                          const istio::mixer::v1::CheckResponse::QuotaResult& result,
                          int64_t now_ns) {
  const int64_t valid_ns = durationNs(result.valid_duration());
  if (decision.prefetch != nullptr) {
    std::lock_guard<std::mutex> lock(decision.prefetch->mutex);
    decision.prefetch->prefetch.onGrant(decision.fetch_amount, result.granted_amount(), valid_ns,
                                        decision.waiting_amount, now_ns);
    return;
  }
  // A first answer: create the prefetch object under the answer's key.
  auto key = ReferencedKey::fromProto(result.referenced_attributes());
  if (!key.ok()) {
    return;  // not cacheable: every request of this quota keeps going to the server
  }
  auto signature = key->signature(attributes);
  if (!signature) {
    return;
  }
  std::lock_guard<ReaderSlotsMutex> lock(mutex_);
  PerQuota& per = quotas_[std::string(quota)];
  bool known = false;
  for (const auto& k : per.keys) {
    known = known || k == *key;
  }
  if (!known) {
    per.keys.push_back(*std::move(key));
  }
  auto& slot = per.prefetches[*signature];
  if (slot == nullptr) {
    slot = std::make_unique<Prefetch>(options_);
  }
}

void QuotaCache::onFailure(const Decision& decision, int64_t now_ns) {
  if (decision.prefetch != nullptr) {
    std::lock_guard<std::mutex> lock(decision.prefetch->mutex);
    decision.prefetch->prefetch.onFailure(decision.fetch_amount, decision.waiting_amount, now_ns);
  }
}

void QuotaCache::onAbandoned(const Decision& decision) {
  if (decision.prefetch != nullptr) {
    std::lock_guard<std::mutex> lock(decision.prefetch->mutex);
    decision.prefetch->prefetch.onAbandoned();
  }
}

}  // namespace mixer::proxy
