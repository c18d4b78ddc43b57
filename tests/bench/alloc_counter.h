// Counts heap allocations of the whole process (global operator new), so benchmarks report
// allocations per operation as measured, not as believed. Include in exactly one .cc file.
#pragma once

#include <atomic>
#include <cstdlib>
#include <new>

namespace mixer::bench {
inline std::atomic<uint64_t> g_allocations{0};
inline uint64_t allocations() { return g_allocations.load(std::memory_order_relaxed); }
}  // namespace mixer::bench

void* operator new(std::size_t n) {
  mixer::bench::g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) {
    return p;
  }
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
