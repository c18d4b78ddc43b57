// A reader/writer lock whose readers do not contend with each other: each thread locks its own
// cache-line-sized slot (a spinlock: an exchange to lock, a store to unlock), and a writer locks
// every slot. Reads are the cache-hit path (every request, held for a few hundred nanoseconds);
// writes are cache inserts after a remote Check (rare and already slow), so making the writer pay
// is the right trade. Thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <thread>

namespace mixer::proxy {

class ReaderSlotsMutex {
 public:
  static constexpr size_t kSlots = 32;

  // Readers: the calling thread's own slot (threads beyond kSlots share slots round-robin).
  // Returns the slot to pass to unlockShared().
  size_t lockShared() {
    const size_t slot = slotOfThisThread();
    acquire(slots_[slot].locked);
    return slot;
  }
  void unlockShared(size_t slot) { slots_[slot].locked.store(false, std::memory_order_release); }

  void lock() {
    for (auto& slot : slots_) {
      acquire(slot.locked);
    }
  }
  void unlock() {
    for (size_t i = kSlots; i-- > 0;) {
      slots_[i].locked.store(false, std::memory_order_release);
    }
  }

 private:
  struct alignas(64) Slot {
    std::atomic<bool> locked{false};
  };
  static void acquire(std::atomic<bool>& locked) {
    while (locked.exchange(true, std::memory_order_acquire)) {
      while (locked.load(std::memory_order_relaxed)) {
        std::this_thread::yield();
      }
    }
  }
  static size_t slotOfThisThread() {
    static std::atomic<size_t> next{0};
    thread_local const size_t slot = next.fetch_add(1, std::memory_order_relaxed) % kSlots;
    return slot;
  }

  Slot slots_[kSlots];
};

// Holds the calling thread's reader slot for a scope. Not thread-safe (one per scope, one thread).
class SharedSlotLock {
 public:
  explicit SharedSlotLock(ReaderSlotsMutex& mutex) : mutex_(mutex), slot_(mutex_.lockShared()) {}
  ~SharedSlotLock() { mutex_.unlockShared(slot_); }
  SharedSlotLock(const SharedSlotLock&) = delete;
  SharedSlotLock& operator=(const SharedSlotLock&) = delete;

 private:
  ReaderSlotsMutex& mutex_;
  const size_t slot_;
};

}  // namespace mixer::proxy
