#include "expr/eval_state.h"

#include "gtest/gtest.h"

namespace expr {
namespace {

TEST(ArenaTest, AllocationsAreAlignedAndDistinct) {
  Arena arena(64);
  char* a = arena.allocateChars(3);
  auto* v = arena.allocateArray<Value>(2);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(v) % alignof(Value), 0u);
  EXPECT_NE(static_cast<void*>(a), static_cast<void*>(v));
  EXPECT_EQ(arena.copy("hello"), "hello");
}

TEST(ArenaTest, GrowsBeyondTheFirstBlockAndResetsToOne) {
  Arena arena(16);
  std::string_view a = arena.copy(std::string(100, 'x'));
  std::string_view b = arena.copy(std::string(1000, 'y'));
  EXPECT_EQ(a, std::string(100, 'x'));
  EXPECT_EQ(b, std::string(1000, 'y'));
  arena.reset();
  EXPECT_EQ(arena.used(), 0u);
  // After reset the largest block is reused: the same request lands in it.
  std::string_view c = arena.copy(std::string(1000, 'z'));
  EXPECT_EQ(c, std::string(1000, 'z'));
}

}  // namespace
}  // namespace expr
