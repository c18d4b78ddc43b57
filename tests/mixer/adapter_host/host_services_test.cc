#include "mixer/adapter_host/host_services.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace mixer::adapter_host {
namespace {

TEST(BackgroundExecutorTest, RunsTimersInDueOrderAndCancels) {
  BackgroundExecutor executor(1);
  std::mutex mu;
  std::vector<int> order;
  auto record = [&](int n) {
    return [&, n] {
      std::lock_guard<std::mutex> lock(mu);
      order.push_back(n);
    };
  };
  executor.schedule(60'000'000, record(3));
  const uint64_t cancelled = executor.schedule(30'000'000, record(99));
  executor.schedule(20'000'000, record(2));
  executor.post(record(1));
  EXPECT_TRUE(executor.cancel(cancelled));
  EXPECT_FALSE(executor.cancel(cancelled));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

// A thread that waits for a later timer (or for its idle tick) is woken for an earlier one only:
// every task scheduled, from many threads and with mixed delays, still runs, the earlier ones
// while the later ones wait.
TEST(BackgroundExecutorTest, EveryTaskRunsWhenOnlyEarlierOnesWakeAThread) {
  BackgroundExecutor executor(2);
  std::mutex mu;
  std::condition_variable cv;
  int ran = 0;
  std::atomic<int> late_ran{0};
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // A deadline-like timer far away (never due during the test), then a short one.
        executor.schedule(60'000'000'000, [&] { ++late_ran; });
        executor.schedule(((t * kPerThread + i) % 7) * 100'000, [&] {
          std::lock_guard<std::mutex> lock(mu);
          ++ran;
          cv.notify_all();
        });
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::seconds(30), [&] { return ran == kThreads * kPerThread; });
    EXPECT_EQ(ran, kThreads * kPerThread);
  }
  // Idle now but for the far timers: a task posted later still runs.
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  std::atomic<bool> posted{false};
  executor.post([&] {
    std::lock_guard<std::mutex> lock(mu);
    posted = true;
    cv.notify_all();
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::seconds(30), [&] { return posted.load(); });
  }
  EXPECT_TRUE(posted.load());
  executor.shutdown();
  EXPECT_EQ(late_ran.load(), 0);
}

TEST(BackgroundExecutorTest, ShutdownRefusesNewWorkAndDropsFutureTimers) {
  BackgroundExecutor executor(2);
  std::atomic<int> ran{0};
  executor.schedule(10'000'000'000, [&] { ++ran; });
  executor.shutdown();
  EXPECT_FALSE(executor.post([&] { ++ran; }));
  EXPECT_EQ(executor.schedule(0, [&] { ++ran; }), 0u);
  EXPECT_EQ(ran.load(), 0);
}

TEST(HostServicesTest, AdapterCountersAreLabelledWithTheAdapterName) {
  InMemoryCounterRegistry counters;
  BackgroundExecutor executor(1);
  HostServices services(&counters, &executor, nullptr);
  const mixer_host_api* api = services.createApi("file-stem");
  // Declared while loading (before the name is known), used after.
  const uint64_t id = api->declare_counter(api->host_ctx, "hits", "Hits.");
  EXPECT_EQ(api->declare_counter(api->host_ctx, "hits", "Hits."), id);
  EXPECT_EQ(api->declare_counter(api->host_ctx, "Bad-Name", ""), 0u);
  services.setAdapterName(api, "real");
  api->counter_add(api->host_ctx, id, 2);
  api->counter_add(api->host_ctx, id, -1);    // ignored: counters only go up
  api->counter_add(api->host_ctx, 12345, 1);  // unknown id: ignored
  EXPECT_EQ(counters.value("mixer_adapter_hits_total", {{"adapter", "real"}}), 2);
  EXPECT_GT(api->now_unix_ns(api->host_ctx), 1'600'000'000'000'000'000);
  EXPECT_GT(api->monotonic_ns(api->host_ctx), 0);
  executor.shutdown();
}

TEST(HostServicesTest, PostAndScheduleRunAdapterTasks) {
  InMemoryCounterRegistry counters;
  BackgroundExecutor executor(1);
  HostServices services(&counters, &executor, nullptr);
  const mixer_host_api* api = services.createApi("a");
  static std::atomic<int> ran;
  ran = 0;
  auto task = [](void* arg) { ran += *static_cast<int*>(arg); };
  int one = 1, ten = 10;
  EXPECT_EQ(api->post(api->host_ctx, task, &one), MIXER_OK);
  const uint64_t id = api->schedule(api->host_ctx, 1'000'000, task, &ten);
  EXPECT_NE(id, 0u);
  const uint64_t cancelled = api->schedule(api->host_ctx, 5'000'000'000, task, &ten);
  EXPECT_EQ(api->cancel(api->host_ctx, cancelled), 1);
  for (int i = 0; i < 100 && ran.load() != 11; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(ran.load(), 11);
  EXPECT_EQ(api->cancel(api->host_ctx, id), 0);  // already ran
  executor.shutdown();
  EXPECT_NE(api->post(api->host_ctx, task, &one), MIXER_OK);
}

}  // namespace
}  // namespace mixer::adapter_host
