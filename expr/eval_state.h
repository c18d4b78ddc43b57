// Per-thread, reusable evaluation state: value stack, comprehension slots, string arena and the
// list of referenced attributes.
#pragma once

#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "expr/value.h"

namespace expr {

// A bump allocator for strings and values produced during one evaluation. reset() keeps the
// largest block, so a warmed-up arena does not allocate again. Not thread-safe.
class Arena {
 public:
  explicit Arena(size_t first_block = 4096) : next_size_(first_block) {}
  void* allocate(size_t size, size_t align = alignof(std::max_align_t));
  char* allocateChars(size_t size) { return static_cast<char*>(allocate(size, 1)); }
  std::string_view copy(std::string_view s) {
    char* p = allocateChars(s.size());
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
    return {p, s.size()};
  }
  template <typename T>
  T* allocateArray(size_t n) {
    return static_cast<T*>(allocate(sizeof(T) * (n == 0 ? 1 : n), alignof(T)));
  }
  void reset();
  // Bytes handed out since the last reset (for tests).
  size_t used() const { return used_; }

 private:
  struct Block {
    std::unique_ptr<char[]> data;
    size_t size;
  };
  std::vector<Block> blocks_;
  size_t current_ = 0;  // index of the block being filled
  size_t offset_ = 0;   // fill offset in that block
  size_t next_size_;
  size_t used_ = 0;
};

// One attribute read by an evaluation. For a map lookup, has_key is true and key is the key
// looked up (a view into the program, the bag or the arena: valid until the next evaluation with
// the same EvalState). present says whether the attribute (or the key) was found.
struct Reference {
  AttributeId id;
  bool present;
  bool has_key;
  std::string_view key;
};

class Program;

// Reusable state for evaluating Programs on one thread. Create one per thread (or per worker) and
// pass it to every Program::evaluate; nothing in it is shared. Not thread-safe.
class EvalState {
 public:
  EvalState() { references_.reserve(32); }
  // Every attribute and map key read by the last evaluation, in read order. The same attribute may
  // appear more than once; the server de-duplicates when building ReferencedAttributes.
  const std::vector<Reference>& references() const { return references_; }
  Arena& arena() { return arena_; }

 private:
  friend class Program;
  friend class Evaluator;
  std::vector<Value> stack_;
  std::vector<Value> slots_;
  std::vector<size_t> iter_index_;
  std::vector<Reference> references_;
  Arena arena_;
};

}  // namespace expr
