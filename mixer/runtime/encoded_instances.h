// EncodedInstances: template instances encoded straight into the adapter ABI's shapes
// (mixer_instance, mixer_map_entry, mixer_value) in a few flat arrays, without an owning value
// tree per instance.
//
// The runtime evaluates an instance's fields over a request and writes the results here: strings
// are copied into one text buffer (they are views into the request, which ends before a report is
// delivered), maps and lists take contiguous runs of the entry and item arrays. While building,
// links are kept as offsets (the arrays grow); finalize() turns them into pointers once the
// arrays are in their final place, after which instances() can be handed to an adapter. A batch
// of reports thus costs a handful of allocations per handler per Report, not a few per field, and
// a reused object (clear() keeps capacity) costs none.
//
// Not thread-safe; movable (vectors keep their buffers on move), but finalize() after the last
// move.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "expr/value.h"
#include "mixer/adapter_sdk/mixer_adapter.h"

namespace mixer::runtime {

// A growable array of a trivially copyable type whose resize() leaves new elements
// uninitialized (std::vector zeroes them): for storage whose every element is written before it
// is read. Movable, not copyable.
template <typename T>
class UninitializedArray {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  UninitializedArray() = default;
  UninitializedArray(UninitializedArray&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        capacity_(std::exchange(o.capacity_, 0)) {}
  UninitializedArray& operator=(UninitializedArray&& o) noexcept {
    if (this != &o) {
      std::free(data_);
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
      capacity_ = std::exchange(o.capacity_, 0);
    }
    return *this;
  }
  ~UninitializedArray() { std::free(data_); }

  void resize(size_t n) {
    if (n > capacity_) {
      grow(n);
    }
    size_ = n;
  }
  void clear() { size_ = 0; }
  size_t size() const { return size_; }
  T* data() { return data_; }
  T& operator[](size_t i) { return data_[i]; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }

 private:
  void grow(size_t n) {
    const size_t capacity = n > capacity_ * 2 ? n : capacity_ * 2;
    T* d = static_cast<T*>(std::malloc(capacity * sizeof(T)));
    if (d == nullptr) {
      throw std::bad_alloc();
    }
    if (size_ > 0) {
      std::memcpy(static_cast<void*>(d), data_, size_ * sizeof(T));
    }
    std::free(data_);
    data_ = d;
    capacity_ = capacity;
  }

  T* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

class EncodedInstances {
 public:
  // Where a value goes: the fields map of an instance is a run of entries; a value is either an
  // entry's value or a list item.
  struct Slot {
    bool item = false;  // false: entries_[index].value; true: items_[index]
    size_t index = 0;
  };
  // The state to roll back to when an instance fails to build.
  struct Mark {
    size_t instances, entries, items, text;
  };

  void clear();
  bool empty() const { return instances_.empty(); }
  size_t size() const { return instances_.size(); }
  Mark mark() const { return {instances_.size(), entries_.size(), items_.size(), text_.size()}; }
  void rollback(const Mark& m);

  // Starts an instance whose fields map has `field_count` entries; returns the index of its first
  // entry (the entries are base .. base + field_count - 1). The name strings, like setKey()'s key,
  // are referenced, not copied: they are the configuration's, which outlives every batch.
  // OWNERSHIP: borrowed until the instances are consumed.
  size_t addInstance(std::string_view name, std::string_view template_name, size_t field_count);
  // Allocates a run of `count` entries and makes `slot` a MIXER_VALUE_MAP of them; returns the
  // index of the first.
  size_t setMap(Slot slot, size_t count);
  void setKey(size_t entry, std::string_view key);
  // Encodes an evaluated value (strings, numbers, times, IP addresses, string maps, lists) into
  // `slot`; a value of another type becomes MIXER_VALUE_NULL.
  void setValue(Slot slot, const expr::Value& v);
  // Makes `to` the value already encoded in `from` (of this object): strings, maps and lists are
  // shared, not copied again.
  void copyValue(Slot to, Slot from) { at(to) = at(from); }

  // Turns offsets into pointers. Call once, after the last change and the last move.
  void finalize();
  // After finalize(): the instances, for Handler::report and friends. OWNERSHIP: this object.
  const mixer_instance* const* instances() const { return pointers_.data(); }

 private:
  mixer_value& at(Slot slot) { return slot.item ? items_[slot.index] : entries_[slot.index].value; }
  mixer_string text(std::string_view s);
  // A string outside the text buffer, which finalize() leaves as it is.
  static mixer_string external(std::string_view s);

  std::vector<mixer_instance> instances_;
  // Every entry's key and value are written (setKey, then setValue, copyValue or setMap) before
  // finalize() reads them, so growing the array need not zero it.
  UninitializedArray<mixer_map_entry> entries_;
  std::vector<mixer_value> items_;
  std::vector<char> text_;
  std::vector<const mixer_instance*> pointers_;
};

}  // namespace mixer::runtime
