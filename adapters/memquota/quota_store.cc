#include "quota_store.h"

#include <algorithm>
#include <functional>

namespace memquota {

namespace {

constexpr size_t kShards = 64;

int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

}  // namespace

// The usage of one key under one limit. Guarded by its shard's mutex.
struct QuotaStore::Window {
  explicit Window(const Limit& l) : limit(l) {
    if (limit.window_ns > 0 && limit.algorithm == Algorithm::kRollingWindow) {
      slots.assign(static_cast<size_t>((limit.window_ns + kTickNs - 1) / kTickNs), 0);
    }
  }

  // Moves the window to `now_ns`, returning what left it.
  void advance(int64_t now_ns) {
    if (limit.window_ns == 0) {
      return;
    }
    if (limit.algorithm == Algorithm::kFixedWindow) {
      int64_t start = floorDiv(now_ns, limit.window_ns) * limit.window_ns;
      if (start != window_start) {
        window_start = start;
        used = 0;
      }
      return;
    }
    int64_t tick = floorDiv(now_ns, kTickNs);
    int64_t n = static_cast<int64_t>(slots.size());
    if (tick <= last_tick) {
      return;
    }
    if (tick - last_tick >= n) {
      std::fill(slots.begin(), slots.end(), 0);
      used = 0;
    } else {
      for (int64_t t = last_tick + 1; t <= tick; ++t) {
        int64_t& slot = slots[static_cast<size_t>(t % n)];
        used -= slot;
        slot = 0;
      }
    }
    last_tick = tick;
  }

  void charge(int64_t amount) {
    used += amount;
    if (!slots.empty()) {
      slots[static_cast<size_t>(last_tick % static_cast<int64_t>(slots.size()))] += amount;
    }
  }

  // Returns up to `amount` of what was charged, newest slots first.
  void release(int64_t amount) {
    if (slots.empty()) {
      used -= std::min(used, amount);
      return;
    }
    int64_t n = static_cast<int64_t>(slots.size());
    for (int64_t i = 0; i < n && amount > 0; ++i) {
      int64_t& slot = slots[static_cast<size_t>(((last_tick - i) % n + n) % n)];
      int64_t take = std::min(slot, amount);
      slot -= take;
      used -= take;
      amount -= take;
    }
  }

  Limit limit;
  int64_t used = 0;
  std::vector<int64_t> slots;
  int64_t last_tick = INT64_MIN / 2;
  int64_t window_start = INT64_MIN;
};

struct QuotaStore::Shard {
  std::mutex mu;
  std::unordered_map<std::string, Window> windows;
  // Keyed by a 64-bit hash of the id (no allocation for the key; a collision between two ids
  // within 2x min_deduplication_duration, ~n^2/2^65, is accepted).
  std::unordered_map<uint64_t, Grant> recent_dedup;
  std::unordered_map<uint64_t, Grant> old_dedup;
  int64_t last_swap_ns = INT64_MIN;
};

QuotaStore::QuotaStore(std::vector<QuotaSpec> quotas, int64_t min_dedup_ns)
    : quotas_(std::move(quotas)), min_dedup_ns_(min_dedup_ns) {
  shards_.reserve(kShards);
  for (size_t i = 0; i < kShards; ++i) {
    shards_.push_back(std::make_unique<Shard>());
  }
}

QuotaStore::~QuotaStore() = default;

const QuotaSpec* QuotaStore::find(std::string_view instance_name) const {
  for (const QuotaSpec& q : quotas_) {
    if (instance_name == q.name || (instance_name.size() > q.name.size() &&
                                    instance_name.compare(0, q.name.size(), q.name) == 0 &&
                                    instance_name[q.name.size()] == '.')) {
      return &q;
    }
  }
  return nullptr;
}

const Limit& QuotaStore::limitFor(const QuotaSpec& quota, const Dimensions& dims) {
  for (const QuotaOverride& o : quota.overrides) {
    bool match = true;
    for (const auto& [key, value] : o.dimensions) {
      auto it = std::lower_bound(dims.begin(), dims.end(), key,
                                 [](const auto& d, const std::string& k) { return d.first < k; });
      if (it == dims.end() || it->first != key || it->second != value) {
        match = false;
        break;
      }
    }
    if (match) {
      return o.limit;
    }
  }
  return quota.limit;
}

Grant QuotaStore::alloc(const QuotaSpec& quota, const Dimensions& dims, int64_t amount,
                        bool best_effort, const std::string& dedup_id, int64_t now_ns) {
  const Limit& limit = limitFor(quota, dims);
  thread_local std::string key;  // reused from call to call: building it allocates nothing
  key.assign(quota.name);
  for (const auto& [k, v] : dims) {
    key.push_back('\0');
    key += k;
    key.push_back('=');
    key += v;
  }
  Shard& shard = *shards_[std::hash<std::string>()(key) % kShards];
  std::lock_guard<std::mutex> lock(shard.mu);

  const uint64_t dedup_hash = dedup_id.empty() ? 0 : std::hash<std::string>()(dedup_id);
  if (!dedup_id.empty()) {
    if (shard.last_swap_ns == INT64_MIN || now_ns - shard.last_swap_ns >= min_dedup_ns_) {
      shard.old_dedup.swap(shard.recent_dedup);
      shard.recent_dedup.clear();  // keeps its buckets: the next window has a similar size
      shard.last_swap_ns = now_ns;
    }
    auto it = shard.recent_dedup.find(dedup_hash);
    if (it != shard.recent_dedup.end()) {
      return it->second;
    }
    it = shard.old_dedup.find(dedup_hash);
    if (it != shard.old_dedup.end()) {
      return it->second;
    }
  }

  auto [it, inserted] = shard.windows.try_emplace(key, limit);
  Window& w = it->second;
  if (!inserted && (w.limit.max_amount != limit.max_amount ||
                    w.limit.window_ns != limit.window_ns || w.limit.algorithm != limit.algorithm)) {
    w = Window(limit);
  }
  w.advance(now_ns);
  Grant grant;
  grant.valid_duration_ns = limit.window_ns;
  if (amount < 0) {
    w.release(-amount);
  } else {
    int64_t available = std::max<int64_t>(0, limit.max_amount - w.used);
    if (amount <= available) {
      grant.granted = amount;
    } else if (best_effort) {
      grant.granted = available;
    }
    if (grant.granted > 0) {
      w.charge(grant.granted);
    }
  }
  grant.limit = limit.max_amount;
  grant.remaining = std::max<int64_t>(0, limit.max_amount - w.used);
  if (!dedup_id.empty()) {
    shard.recent_dedup.emplace(dedup_hash, grant);
  }
  return grant;
}

}  // namespace memquota
