// ReaderSlotsMutex: a writer excludes every reader and other writers, and waits for readers to
// leave; readers do not exclude each other.
#include "proxy-filter/core/reader_slots_mutex.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

namespace mixer::proxy {
namespace {

TEST(ReaderSlotsMutexTest, AWriterExcludesReadersAndOtherWriters) {
  ReaderSlotsMutex mutex;
  mutex.lock();
  std::atomic<bool> reader_in{false};
  std::atomic<bool> writer_in{false};
  std::thread reader([&] {
    SharedSlotLock lock(mutex);
    reader_in = true;
  });
  std::thread writer([&] {
    std::lock_guard<ReaderSlotsMutex> lock(mutex);
    writer_in = true;
  });
  // Give a reader or writer that did not wait (a broken lock) the time to get in; correct ones
  // wait however long this is.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const bool reader_got_in = reader_in.load();
  const bool writer_got_in = writer_in.load();
  mutex.unlock();
  reader.join();
  writer.join();
  EXPECT_FALSE(reader_got_in);
  EXPECT_FALSE(writer_got_in);
  EXPECT_TRUE(reader_in.load());  // both got in once the lock was released
  EXPECT_TRUE(writer_in.load());
}

TEST(ReaderSlotsMutexTest, ReadersDoNotExcludeEachOther) {
  ReaderSlotsMutex mutex;
  // Two threads each hold a shared lock while waiting for the other to hold one too: this only
  // ends if both can hold it at once (each thread has its own slot).
  std::atomic<int> holding{0};
  auto reader = [&] {
    SharedSlotLock lock(mutex);
    holding.fetch_add(1);
    while (holding.load() < 2) {
      std::this_thread::yield();
    }
  };
  std::thread first(reader);
  std::thread second(reader);
  first.join();
  second.join();
  EXPECT_EQ(holding.load(), 2);
}

TEST(ReaderSlotsMutexTest, AWriterWaitsForAReaderToLeave) {
  ReaderSlotsMutex mutex;
  std::atomic<bool> reader_in{false};
  std::atomic<bool> release{false};
  std::atomic<bool> writer_in{false};
  std::atomic<bool> reader_was_out_when_writer_entered{false};
  std::thread reader([&] {
    SharedSlotLock lock(mutex);
    reader_in = true;
    while (!release.load()) {
      std::this_thread::yield();
    }
    reader_in = false;
  });
  while (!reader_in.load()) {
    std::this_thread::yield();
  }
  std::thread writer([&] {
    std::lock_guard<ReaderSlotsMutex> lock(mutex);
    reader_was_out_when_writer_entered = !reader_in.load();
    writer_in = true;
  });
  // Give a writer that did not wait (a broken lock) the time to get in while the reader holds
  // its slot; a correct writer waits however long this is.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  release = true;
  writer.join();
  reader.join();
  EXPECT_TRUE(writer_in.load());
  EXPECT_TRUE(reader_was_out_when_writer_entered.load());
}

}  // namespace
}  // namespace mixer::proxy
