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
  void reset() {
    if (blocks_.size() > 1) return shrink();
    current_ = 0;
    offset_ = 0;
    used_ = 0;
  }
  // Bytes handed out since the last reset (for tests).
  size_t used() const { return used_; }

 private:
  struct Block {
    std::unique_ptr<char[]> data;
    size_t size;
  };
  void shrink();
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

// The references of one evaluation: an append-only buffer that keeps its capacity across
// evaluations (appending does not allocate once warm). Not thread-safe.
class ReferenceList {
 public:
  ReferenceList() : data_(new Reference[32]), capacity_(32) {}
  void clear() { size_ = 0; }
  void push(AttributeId id, bool present) {
    if (size_ == capacity_) grow();
    data_[size_++] = Reference{id, present, false, {}};
  }
  void pushKey(AttributeId id, bool present, std::string_view key) {
    if (size_ == capacity_) grow();
    data_[size_++] = Reference{id, present, true, key};
  }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const Reference& operator[](size_t i) const { return data_[i]; }
  const Reference* begin() const { return data_.get(); }
  const Reference* end() const { return data_.get() + size_; }

 private:
  void grow() {
    std::unique_ptr<Reference[]> bigger(new Reference[capacity_ * 2]);
    for (size_t i = 0; i < size_; ++i) bigger[i] = data_[i];
    data_ = std::move(bigger);
    capacity_ *= 2;
  }
  std::unique_ptr<Reference[]> data_;
  size_t size_ = 0;
  size_t capacity_;
};

class Program;

// Reusable state for evaluating Programs on one thread. Create one per thread (or per worker) and
// pass it to every Program::evaluate; nothing in it is shared. Not thread-safe.
class EvalState {
 public:
  EvalState() = default;
  // Every attribute and map key read by the last evaluation, in read order. The same attribute may
  // appear more than once; the server de-duplicates when building ReferencedAttributes.
  const ReferenceList& references() const { return references_; }
  Arena& arena() { return arena_; }

 private:
  friend class Program;
  friend class Evaluator;
  std::vector<Value> stack_;
  std::vector<Value> slots_;
  std::vector<size_t> iter_index_;
  ReferenceList references_;
  Arena arena_;
};

}  // namespace expr
