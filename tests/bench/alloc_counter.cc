#include "tests/bench/alloc_counter.h"

#include <cstdlib>
#include <new>

namespace mixer::bench {
std::atomic<uint64_t> g_allocations{0};
}  // namespace mixer::bench

// Out of line (not inline in the header), so the compiler does not pair these with its own
// built-in allocation functions.
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
