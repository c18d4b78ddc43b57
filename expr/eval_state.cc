#include "expr/eval_state.h"
#include "expr/str_util.h"

#include <algorithm>

namespace expr {

void* Arena::allocate(size_t size, size_t align) {
  used_ += size;
  while (current_ < blocks_.size()) {
    Block& b = blocks_[current_];
    size_t start = (offset_ + align - 1) & ~(align - 1);
    if (start + size <= b.size) {
      offset_ = start + size;
      return b.data.get() + start;
    }
    ++current_;
    offset_ = 0;
  }
  size_t block_size = std::max(next_size_, size + align);
  next_size_ = block_size * 2;
  blocks_.push_back(Block{std::unique_ptr<char[]>(new char[block_size]), block_size});
  current_ = blocks_.size() - 1;
  char* base = blocks_.back().data.get();
  size_t start = (reinterpret_cast<uintptr_t>(base) + align - 1) / align * align -
                 reinterpret_cast<uintptr_t>(base);
  offset_ = start + size;
  return base + start;
}

void Arena::shrink() {
  // Keep only the largest block so the next evaluation fits without allocating.
  auto largest = std::max_element(blocks_.begin(), blocks_.end(),
                                  [](const Block& a, const Block& b) { return a.size < b.size; });
  Block keep = std::move(*largest);
  blocks_.clear();
  blocks_.push_back(std::move(keep));
  current_ = 0;
  offset_ = 0;
  used_ = 0;
}

}  // namespace expr
