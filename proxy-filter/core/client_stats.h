// Counters of a MixerClient. ClientStats is a plain snapshot; StatsCounters is the live,
// thread-safe set the client increments (each counter striped over cache lines per thread, so
// the hit path does not bounce one line between cores).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace mixer::proxy {

struct ClientStats {
  uint64_t check_cache_hits = 0;     // precondition answered from the cache
  uint64_t check_cache_misses = 0;   // precondition not in the cache
  uint64_t check_remote_calls = 0;   // Check RPCs completed (any outcome)
  uint64_t check_remote_errors = 0;  // Check RPCs that failed (transport or status)
  uint64_t check_fail_open = 0;      // failures let through by the fail-open policy
  uint64_t check_fail_close = 0;     // failures denied by the fail-close policy
  uint64_t quota_cache_hits = 0;     // quota decided locally (allowed or denied)
  uint64_t quota_cache_misses = 0;   // quota decided by the server
  uint64_t report_enqueued = 0;      // report() calls accepted
  uint64_t report_batches = 0;       // ReportRequests sent successfully
  uint64_t report_dropped = 0;       // records lost (send failure or full queue)
  uint64_t dictionary_shrinks = 0;   // the server rejected the global dictionary
};

class StripedCounter {
 public:
  void add(uint64_t n = 1) { stripes_[stripe()].value.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const {
    uint64_t total = 0;
    for (const auto& s : stripes_) {
      total += s.value.load(std::memory_order_relaxed);
    }
    return total;
  }

 private:
  static constexpr size_t kStripes = 16;
  struct alignas(64) Stripe {
    std::atomic<uint64_t> value{0};
  };
  static size_t stripe() {
    static std::atomic<size_t> next{0};
    thread_local const size_t s = next.fetch_add(1, std::memory_order_relaxed) % kStripes;
    return s;
  }
  Stripe stripes_[kStripes];
};

struct StatsCounters {
  StripedCounter check_cache_hits, check_cache_misses, check_remote_calls, check_remote_errors,
      check_fail_open, check_fail_close, quota_cache_hits, quota_cache_misses, report_enqueued,
      report_batches, report_dropped, dictionary_shrinks;

  ClientStats snapshot() const {
    ClientStats s;
    s.check_cache_hits = check_cache_hits.value();
    s.check_cache_misses = check_cache_misses.value();
    s.check_remote_calls = check_remote_calls.value();
    s.check_remote_errors = check_remote_errors.value();
    s.check_fail_open = check_fail_open.value();
    s.check_fail_close = check_fail_close.value();
    s.quota_cache_hits = quota_cache_hits.value();
    s.quota_cache_misses = quota_cache_misses.value();
    s.report_enqueued = report_enqueued.value();
    s.report_batches = report_batches.value();
    s.report_dropped = report_dropped.value();
    s.dictionary_shrinks = dictionary_shrinks.value();
    return s;
  }
};

}  // namespace mixer::proxy
