// QuotaPrefetch: Istio 1.4's client-side quota prefetch for one quota (and one key). Grants
// fetched ahead of need are spent locally; the prefetch amount follows the recent request rate.
//   desired = max(requests over the last predict_window, min_prefetch)
//   prefetch max(amount, desired) (best effort) when available < desired / 2 and nothing is in
//   flight, or when available < amount.
// A grant shorter than asked puts the object in CLOSE mode: requests that local grants do not
// cover are denied, and a new fetch goes out only after close_wait, until a full grant reopens.
//
// The object decides; the caller sends the fetch it asks for and reports the answer with
// onGrant() or onFailure(). Not thread-safe: QuotaCache serializes access.
#pragma once

#include <cstdint>
#include <deque>

namespace mixer::proxy {

struct QuotaPrefetchOptions {
  int64_t predict_window_ns = 1000000000;  // 1 s
  int64_t min_prefetch = 10;
  int64_t close_wait_ns = 500000000;  // 500 ms
  // A network failure grants the whole request for this long (fail open on quota).
  int64_t failure_grant_ns = 60000000000;  // 60 s
};

class QuotaPrefetch {
 public:
  struct Decision {
    bool allowed = false;
    // When > 0: the caller must fetch this amount (best effort) and report the answer.
    int64_t fetch_amount = 0;
    // True when the decision waits for that fetch: `allowed` is then meaningless and the
    // request is decided by the grant (granted >= amount).
    bool wait_for_fetch = false;
  };

  explicit QuotaPrefetch(QuotaPrefetchOptions options = {}) : options_(options) {}

  Decision check(int64_t amount, int64_t now_ns);
  // The answer to a fetch of `requested`: `granted` units valid for `valid_ns` (<= 0: no
  // expiry). When the fetch was a waiting one, `waiting_amount` is the request's own amount,
  // taken from the grant before the rest is kept.
  void onGrant(int64_t requested, int64_t granted, int64_t valid_ns, int64_t waiting_amount,
               int64_t now_ns);
  // A fetch failed on the network: grants `requested` for failure_grant_ns.
  void onFailure(int64_t requested, int64_t waiting_amount, int64_t now_ns);

  // The fetch was not answered for this quota (the precondition failed first).
  void onAbandoned() { in_flight_ = false; }

  int64_t available(int64_t now_ns);
  bool closed() const { return closed_; }

 private:
  struct Slot {
    int64_t amount;
    int64_t expire_ns;
  };
  bool take(int64_t amount, int64_t now_ns);
  int64_t recentRequests(int64_t now_ns);
  void addGrant(int64_t amount, int64_t valid_ns, int64_t now_ns);

  QuotaPrefetchOptions options_;
  std::deque<Slot> slots_;                          // oldest first
  std::deque<std::pair<int64_t, int64_t>> recent_;  // (time, amount) within predict_window
  int64_t recent_total_ = 0;
  bool in_flight_ = false;
  bool closed_ = false;
  int64_t last_fetch_ns_ = INT64_MIN / 2;
};

}  // namespace mixer::proxy
