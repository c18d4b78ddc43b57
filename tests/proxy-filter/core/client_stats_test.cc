// client_stats.h: StripedCounter sums every add, from any number of threads; StatsCounters'
// snapshot copies each counter into its own field.
#include "proxy-filter/core/client_stats.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace mixer::proxy {
namespace {

TEST(StripedCounterTest, SumsEveryAddFromEveryThread) {
  StripedCounter counter;
  EXPECT_EQ(counter.value(), 0u);
  // More threads than stripes, so that some share one.
  constexpr int kThreads = 40;
  constexpr int kAdds = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&counter, t] {
      for (int i = 0; i < kAdds; ++i) {
        counter.add(t % 2 == 0 ? 1 : 3);
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  // 20 threads adding 1 and 20 adding 3, 2000 times each.
  EXPECT_EQ(counter.value(), 20u * 2000 * 1 + 20u * 2000 * 3);
  counter.add();
  EXPECT_EQ(counter.value(), 160001u);
}

TEST(StatsCountersTest, TheSnapshotCopiesEachCounterToItsField) {
  StatsCounters c;
  // Counter i gets i + 1, so that a field copied from the wrong counter shows.
  StripedCounter* all[] = {&c.check_cache_hits,    &c.check_cache_misses, &c.check_remote_calls,
                           &c.check_remote_errors, &c.check_fail_open,    &c.check_fail_close,
                           &c.quota_cache_hits,    &c.quota_cache_misses, &c.report_enqueued,
                           &c.report_batches,      &c.report_dropped,     &c.dictionary_shrinks};
  for (size_t i = 0; i < std::size(all); ++i) {
    all[i]->add(i + 1);
  }
  const ClientStats s = c.snapshot();
  EXPECT_EQ(s.check_cache_hits, 1u);
  EXPECT_EQ(s.check_cache_misses, 2u);
  EXPECT_EQ(s.check_remote_calls, 3u);
  EXPECT_EQ(s.check_remote_errors, 4u);
  EXPECT_EQ(s.check_fail_open, 5u);
  EXPECT_EQ(s.check_fail_close, 6u);
  EXPECT_EQ(s.quota_cache_hits, 7u);
  EXPECT_EQ(s.quota_cache_misses, 8u);
  EXPECT_EQ(s.report_enqueued, 9u);
  EXPECT_EQ(s.report_batches, 10u);
  EXPECT_EQ(s.report_dropped, 11u);
  EXPECT_EQ(s.dictionary_shrinks, 12u);
}

}  // namespace
}  // namespace mixer::proxy
