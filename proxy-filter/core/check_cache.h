// CheckCache: answers Checks locally from earlier server answers, keyed by the attributes each
// answer said it depended on (ReferencedAttributes; see ReferencedKey). An entry lives for the
// answer's valid_duration (forever when unset) and valid_use_count hits.
//
// Thread-safe. The hit path (lookup) takes only the calling thread's own reader slot
// (ReaderSlotsMutex), so hits on different threads never wait for each other, and allocates
// nothing when the cached message fits the caller's string and the route is shared.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "mixer/v1/mixer.pb.h"
#include "proxy-filter/core/attributes.h"
#include "proxy-filter/core/check_result.h"
#include "proxy-filter/core/reader_slots_mutex.h"
#include "proxy-filter/core/referenced_key.h"

namespace mixer::proxy {

class CheckCache {
 public:
  // Istio 1.4's default: 10000 entries.
  explicit CheckCache(size_t max_entries = 10000);

  // On a hit fills `out` and returns true; a hit consumes one use. `now_ns` is a steady-clock
  // reading in nanoseconds.
  bool lookup(const Attributes& attributes, int64_t now_ns, CheckResult* out);

  // Stores the server's answer to a Check of `attributes`. Errors: not cacheable (a REGEX
  // reference: kFailedPrecondition; malformed references: kInvalidArgument). A zero
  // valid_use_count or a non-positive valid_duration is stored as already expired, i.e. not at
  // all.
  absl::Status insert(const Attributes& attributes,
                      const istio::mixer::v1::CheckResponse::PreconditionResult& result,
                      int64_t now_ns);

  size_t size() const;
  void clear();

 private:
  struct Entry {
    StatusCode code;
    std::string message;
    std::shared_ptr<const RouteDirective> route;
    int64_t expire_ns;  // INT64_MAX = no expiry
    std::atomic<int64_t> uses_left;
    std::atomic<int64_t> last_used_ns;
  };

  // Frees one place for `signature` in a full cache, and records it in ring_.
  void evictOneLocked(uint64_t signature, int64_t now_ns);

  const size_t max_entries_;
  mutable ReaderSlotsMutex mutex_;
  std::vector<std::unique_ptr<const ReferencedKey>> keys_;         // guarded by mutex_
  absl::flat_hash_map<uint64_t, std::unique_ptr<Entry>> entries_;  // signature -> entry
  // Every stored signature once, for eviction by sampling: a clock hand walks the ring.
  std::vector<uint64_t> ring_;
  size_t hand_ = 0;
};

}  // namespace mixer::proxy
