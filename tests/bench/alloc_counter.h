// Counts heap allocations of the whole process (global operator new), so benchmarks and tests
// report allocations per operation as measured, not as believed. Link alloc_counter.cc into the
// program (it replaces the global operator new/delete).
#pragma once

#include <atomic>
#include <cstdint>

namespace mixer::bench {
extern std::atomic<uint64_t> g_allocations;
inline uint64_t allocations() { return g_allocations.load(std::memory_order_relaxed); }
}  // namespace mixer::bench
