// A reader/writer lock whose readers do not contend with each other: each thread locks its own
// cache-line-sized slot, and a writer locks every slot. Reads are the cache-hit path (every
// request); writes are cache inserts after a remote Check (rare and already slow), so making the
// writer pay is the right trade. Thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>

namespace mixer::proxy {

class ReaderSlotsMutex {
 public:
  static constexpr size_t kSlots = 32;

  // Readers: the calling thread's own slot. Threads beyond kSlots share slots round-robin.
  void lockShared() { slots_[slotOfThisThread()].mutex.lock(); }
  void unlockShared() { slots_[slotOfThisThread()].mutex.unlock(); }

  void lock() {
    for (auto& slot : slots_) {
      slot.mutex.lock();
    }
  }
  void unlock() {
    for (size_t i = kSlots; i-- > 0;) {
      slots_[i].mutex.unlock();
    }
  }

 private:
  struct alignas(64) Slot {
    std::mutex mutex;
  };
  static size_t slotOfThisThread() {
    static std::atomic<size_t> next{0};
    thread_local const size_t slot = next.fetch_add(1, std::memory_order_relaxed) % kSlots;
    return slot;
  }

  Slot slots_[kSlots];
};

class SharedSlotLock {
 public:
  explicit SharedSlotLock(ReaderSlotsMutex& mutex) : mutex_(mutex) { mutex_.lockShared(); }
  ~SharedSlotLock() { mutex_.unlockShared(); }
  SharedSlotLock(const SharedSlotLock&) = delete;
  SharedSlotLock& operator=(const SharedSlotLock&) = delete;

 private:
  ReaderSlotsMutex& mutex_;
};

}  // namespace mixer::proxy
