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
// The nothrow forms too (gRPC's core allocates with them): every form that the deletes above
// free must come from malloc, or a sanitizer's allocator would see new and free mismatched.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  mixer::bench::g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
