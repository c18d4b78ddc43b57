#include "proxy-filter/core/check_cache.h"

#include <limits>
#include <mutex>

namespace mixer::proxy {

CheckCache::CheckCache(size_t max_entries) : max_entries_(max_entries) {}

bool CheckCache::lookup(const Attributes& attributes, int64_t now_ns, CheckResult* out) {
  SharedSlotLock lock(mutex_);
  for (const auto& key : keys_) {
    const std::optional<uint64_t> signature = key->signature(attributes);
    if (!signature) {
      continue;
    }
    auto it = entries_.find(*signature);
    if (it == entries_.end()) {
      continue;
    }
    Entry& entry = *it->second;
    if (entry.expire_ns <= now_ns) {
      continue;
    }
    // A use is consumed only when one is left; a spent entry stays until an insert replaces or
    // evicts it.
    if (entry.uses_left.fetch_sub(1, std::memory_order_relaxed) <= 0) {
      continue;
    }
    entry.last_used_ns.store(now_ns, std::memory_order_relaxed);
    out->code = entry.code;
    out->message.assign(entry.message);
    out->route = entry.route;
    return true;
  }
  return false;
}

absl::Status CheckCache::insert(const Attributes& attributes,
                                const istio::mixer::v1::CheckResponse::PreconditionResult& result,
                                int64_t now_ns) {
  auto key = ReferencedKey::fromProto(result.referenced_attributes());
  if (!key.ok()) {
    return key.status();
  }
  int64_t expire_ns = std::numeric_limits<int64_t>::max();
  if (result.has_valid_duration()) {
    const int64_t ns = durationNs(result.valid_duration());
    expire_ns = ns <= 0 ? now_ns
                : ns > std::numeric_limits<int64_t>::max() - now_ns
                    ? std::numeric_limits<int64_t>::max()
                    : now_ns + ns;
  }
  const int64_t uses = result.valid_use_count();
  if (uses <= 0 || expire_ns <= now_ns) {
    return absl::OkStatus();
  }
  const std::optional<uint64_t> signature = key->signature(attributes);
  if (!signature) {
    // The server referenced as EXACT an attribute the request lacks (or the reverse): the
    // answer cannot be keyed by this request.
    return absl::InvalidArgumentError("referenced attributes do not match the request");
  }
  auto entry = std::make_unique<Entry>();
  entry->code = static_cast<StatusCode>(result.status().code());
  entry->message = result.status().message();
  entry->route = RouteDirective::fromProto(result.route_directive());
  entry->expire_ns = expire_ns;
  entry->uses_left.store(uses);
  entry->last_used_ns.store(now_ns);

  std::lock_guard<ReaderSlotsMutex> lock(mutex_);
  bool known = false;
  for (const auto& k : keys_) {
    if (*k == *key) {
      known = true;
      break;
    }
  }
  if (!known) {
    keys_.push_back(std::make_unique<const ReferencedKey>(*std::move(key)));
  }
  if (!entries_.contains(*signature)) {
    if (entries_.size() >= max_entries_ && !ring_.empty()) {
      evictOneLocked(*signature, now_ns);
    } else {
      ring_.push_back(*signature);
    }
  }
  entries_.insert_or_assign(*signature, std::move(entry));
  return absl::OkStatus();
}

void CheckCache::evictOneLocked(uint64_t signature, int64_t now_ns) {
  // Sampled LRU: of the next kSamples entries under the clock hand, an expired or spent one, else
  // the least recently used. Constant work per insert, however large the cache (a full scan of
  // 10,000 entries on every insert of a miss-heavy workload cost more than the RPC).
  constexpr size_t kSamples = 8;
  size_t victim = hand_ % ring_.size();
  int64_t oldest = std::numeric_limits<int64_t>::max();
  for (size_t i = 0; i < kSamples && i < ring_.size(); ++i) {
    const size_t position = (hand_ + i) % ring_.size();
    auto it = entries_.find(ring_[position]);
    if (it == entries_.end()) {
      victim = position;
      break;
    }
    const Entry& e = *it->second;
    if (e.expire_ns <= now_ns || e.uses_left.load(std::memory_order_relaxed) <= 0) {
      victim = position;
      break;
    }
    const int64_t used = e.last_used_ns.load(std::memory_order_relaxed);
    if (used < oldest) {
      oldest = used;
      victim = position;
    }
  }
  entries_.erase(ring_[victim]);
  ring_[victim] = signature;
  hand_ = victim + 1;
}

size_t CheckCache::size() const {
  SharedSlotLock lock(mutex_);
  return entries_.size();
}

void CheckCache::clear() {
  std::lock_guard<ReaderSlotsMutex> lock(mutex_);
  entries_.clear();
  keys_.clear();
  ring_.clear();
  hand_ = 0;
}

}  // namespace mixer::proxy
