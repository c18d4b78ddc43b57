// QuotaCache: one QuotaPrefetch per quota name and per signature of the attributes the server's
// quota answer referenced. The first request of a quota (no prefetch yet) goes to the server with
// its own amount and best_effort=false, as Istio's client does; later ones are decided by the
// prefetch object.
//
// Thread-safe. The lookup of a request's prefetch object takes only the calling thread's own
// reader slot (ReaderSlotsMutex, as CheckCache), so requests on different threads do not wait for
// each other there; inserting a new prefetch object (after a first answer) locks every slot.
// Prefetch objects live as long as the cache, so a decision refers to its own by a plain pointer
// (no shared reference count bouncing between cores). Each object has its own mutex: only
// requests charging the same quota with the same key at the same moment meet there.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "mixer/v1/mixer.pb.h"
#include "proxy-filter/core/attributes.h"
#include "proxy-filter/core/quota_prefetch.h"
#include "proxy-filter/core/reader_slots_mutex.h"
#include "proxy-filter/core/referenced_key.h"

namespace mixer::proxy {

class QuotaCache {
 public:
  struct Prefetch {
    std::mutex mutex;
    QuotaPrefetch prefetch;
    explicit Prefetch(QuotaPrefetchOptions o) : prefetch(o) {}
  };

  // What to do with one quota of one request.
  struct Decision {
    enum class Outcome { kAllowed, kDenied, kRemote };
    Outcome outcome = Outcome::kRemote;
    // For kRemote, and for kAllowed with a background refill: what to ask the server.
    int64_t fetch_amount = 0;
    bool best_effort = false;
    // kRemote: the request's own amount, decided by the grant.
    int64_t waiting_amount = 0;
    // nullptr on a first request (no prefetch yet). Owned by the cache, valid while it lives.
    Prefetch* prefetch = nullptr;
  };

  explicit QuotaCache(QuotaPrefetchOptions options = {}) : options_(options) {}

  Decision check(std::string_view quota, int64_t amount, const Attributes& attributes,
                 int64_t now_ns);

  // The server's answer to a fetch made for `decision`.
  void onResult(std::string_view quota, const Attributes& attributes, const Decision& decision,
                const istio::mixer::v1::CheckResponse::QuotaResult& result, int64_t now_ns);
  // The fetch failed on the network.
  void onFailure(const Decision& decision, int64_t now_ns);
  // The server did not answer the quota (its precondition failed first).
  void onAbandoned(const Decision& decision);

 private:
  struct PerQuota {
    std::vector<ReferencedKey> keys;
    absl::flat_hash_map<uint64_t, std::unique_ptr<Prefetch>> prefetches;
  };

  QuotaPrefetchOptions options_;
  mutable ReaderSlotsMutex mutex_;
  absl::flat_hash_map<std::string, PerQuota> quotas_;  // guarded by mutex_
};

}  // namespace mixer::proxy
