// QuotaCache: one QuotaPrefetch per quota name and per signature of the attributes the server's
// quota answer referenced. The first request of a quota (no prefetch yet) goes to the server with
// its own amount and best_effort=false, as Istio's client does; later ones are decided by the
// prefetch object.
//
// Thread-safe: one mutex over the whole cache (quota decisions are cheap and less frequent than
// precondition hits; a striped map is the next step if this shows in profiles).
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
    std::shared_ptr<Prefetch> prefetch;  // nullptr on a first request (no prefetch yet)
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
    absl::flat_hash_map<uint64_t, std::shared_ptr<Prefetch>> prefetches;
  };

  QuotaPrefetchOptions options_;
  std::mutex mutex_;
  absl::flat_hash_map<std::string, PerQuota> quotas_;
};

}  // namespace mixer::proxy
