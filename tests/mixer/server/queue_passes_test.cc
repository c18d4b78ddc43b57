// QueueServer::runPasses, the loop of mixs' completion-queue threads: a thread whose calls left
// an adapter holding writes flushes when its queue has nothing ready, and at least every
// kMaxPassEvents events when it always has, and never when nothing is held. The events are
// grpc::Alarm completions on a real completion queue; the flush scope is a recording stand-in
// for adapter_host::FlushScope.
#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "mixer/server/queue_server.h"

namespace mixer::server {
namespace {

using Tag = QueueServer::Tag;

// Counts events and flushes; an event may leave a "call" awaiting the flush. Written by the loop's
// thread, read by the test's: atomics, and the flushes under a lock.
struct RecordingScope {
  std::atomic<bool> held{false};
  std::atomic<int> ran{0};
  int events_since_flush = 0;  // the loop's thread only
  std::mutex mu;
  std::vector<int> flushes;  // guarded by mu: events run before each flush
  bool pending() const { return held.load(); }
  void flush() {
    std::lock_guard<std::mutex> lock(mu);
    flushes.push_back(events_since_flush);
    events_since_flush = 0;
    held.store(false);
  }
};

struct Event {
  RecordingScope* scope;
  bool holds;  // the event makes a call that awaits the flush
  Tag tag{&Event::run, this};
  grpc::Alarm alarm;
  static void run(void* owner, bool) {
    auto* e = static_cast<Event*>(owner);
    ++e->scope->events_since_flush;
    if (e->holds) e->scope->held.store(true);
    ++e->scope->ran;
  }
};

// Queues `count` events, lets them all complete (the alarms are due at once), then runs the loop
// until they all ran and nothing is held, and shuts the queue down.
std::vector<int> runEvents(int count, bool hold, RecordingScope* scope) {
  grpc::CompletionQueue cq;
  std::vector<std::unique_ptr<Event>> events;
  for (int i = 0; i < count; ++i) {
    events.push_back(std::make_unique<Event>());
    events.back()->scope = scope;
    events.back()->holds = hold;
    events.back()->alarm.Set(&cq, gpr_time_0(GPR_CLOCK_MONOTONIC), &events.back()->tag);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // all of them ready together
  std::thread loop([&] { QueueServer::runPasses(&cq, scope); });
  for (int i = 0; i < 1000 && (scope->ran.load() < count || scope->held.load()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  cq.Shutdown();
  loop.join();
  std::lock_guard<std::mutex> lock(scope->mu);
  return scope->flushes;
}

TEST(QueuePassesTest, ABusyQueueFlushesAtLeastEveryMaxPassEvents) {
  RecordingScope scope;
  const int count = 3 * QueueServer::kMaxPassEvents + 5;
  const std::vector<int> flushes = runEvents(count, /*hold=*/true, &scope);
  ASSERT_GE(flushes.size(), 4u);
  int total = 0;
  for (int f : flushes) {
    EXPECT_LE(f, QueueServer::kMaxPassEvents);
    total += f;
  }
  EXPECT_EQ(total, count);  // each event ran once, and a flush followed the last
  EXPECT_FALSE(scope.held.load());
}

TEST(QueuePassesTest, AHeldCallIsFlushedWhenTheQueueHasNothingReady) {
  RecordingScope scope;
  const std::vector<int> flushes = runEvents(1, /*hold=*/true, &scope);
  EXPECT_EQ(flushes, std::vector<int>{1});
}

TEST(QueuePassesTest, WithNothingHeldTheThreadNeverFlushes) {
  RecordingScope scope;
  EXPECT_TRUE(runEvents(10, /*hold=*/false, &scope).empty());
}

}  // namespace
}  // namespace mixer::server
