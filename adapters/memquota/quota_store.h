// QuotaStore: the memquota algorithms (Istio's memquota plus a fixed window), independent of the
// adapter ABI so they can be tested with an explicit clock. Every call takes `now_ns` (a monotonic
// clock); the adapter passes the host's monotonic clock.
//
// Semantics (Istio's memquota):
// - window_ns == 0: a plain counter that never expires.
// - ROLLING_WINDOW (default): 10 ticks per second; a grant is charged to the current 100ms slot
//   and returns when its slot leaves the window (ceil(window / 100ms) slots).
// - FIXED_WINDOW: windows aligned to multiples of window_ns; the count resets at each boundary.
// - best_effort grants what is left; otherwise all or nothing. A negative amount releases quota
//   (newest slots first) and grants 0.
// - A non-empty deduplication id seen within min_deduplication_duration (kept 1-2x that long:
//   two maps, swapped every min_deduplication_duration) returns the first answer again without
//   charging.
//
// Thread-safe without a global lock: keys are spread over independently locked shards.
#ifndef MIXER_ADAPTERS_MEMQUOTA_QUOTA_STORE_H_
#define MIXER_ADAPTERS_MEMQUOTA_QUOTA_STORE_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace memquota {

enum class Algorithm { kRollingWindow, kFixedWindow };

struct Limit {
  int64_t max_amount = 0;
  int64_t window_ns = 0;  // 0: a plain counter
  Algorithm algorithm = Algorithm::kRollingWindow;
};

// Sorted by key.
using Dimensions = std::vector<std::pair<std::string, std::string>>;

struct QuotaOverride {
  Dimensions dimensions;  // every one must equal the instance's value
  Limit limit;
};

struct QuotaSpec {
  std::string name;
  Limit limit;
  std::vector<QuotaOverride> overrides;  // the first match wins
};

struct Grant {
  int64_t granted = 0;
  int64_t valid_duration_ns = 0;
  int64_t limit = -1;      // the max_amount that applied
  int64_t remaining = -1;  // what is left of it after this allocation
};

constexpr int64_t kTickNs = 100'000'000;  // 10 ticks per second, as Istio's memquota

class QuotaStore {
 public:
  QuotaStore(std::vector<QuotaSpec> quotas, int64_t min_dedup_ns);
  ~QuotaStore();

  // The quota configured for an instance: its name equals the quota's name, or starts with it
  // followed by '.' ("requestcount" matches "requestcount.quota.istio-system"). nullptr if none.
  const QuotaSpec* find(std::string_view instance_name) const;

  // The limit that applies to `dims` (sorted): the first matching override, else the quota's.
  static const Limit& limitFor(const QuotaSpec& quota, const Dimensions& dims);

  // Allocates (or, for a negative amount, releases) quota. Thread-safe.
  Grant alloc(const QuotaSpec& quota, const Dimensions& dims, int64_t amount, bool best_effort,
              const std::string& dedup_id, int64_t now_ns);

 private:
  struct Window;
  struct Shard;

  std::vector<QuotaSpec> quotas_;
  int64_t min_dedup_ns_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace memquota

#endif  // MIXER_ADAPTERS_MEMQUOTA_QUOTA_STORE_H_
