// WireReader: the protobuf wire format, read in place. Used to decode istio.mixer.v1 requests
// without materialising protobuf messages, so strings stay views into the request buffer.
#pragma once

#include <cstdint>
#include <string_view>

namespace mixer::api {

enum class WireType : uint8_t { Varint = 0, Fixed64 = 1, Len = 2, Fixed32 = 5 };

class WireReader {
 public:
  explicit WireReader(std::string_view buf)
      : p_(reinterpret_cast<const uint8_t*>(buf.data())), end_(p_ + buf.size()) {}

  bool done() const { return p_ == end_; }

  // Reads a field tag. Fails on field number 0 and on group wire types (3, 4), which the
  // istio.mixer.v1 messages never use.
  bool readTag(uint32_t* field, WireType* type) {
    uint64_t tag;
    if (!readVarint(&tag) || tag > 0xFFFFFFFFu) {
      return false;
    }
    *field = static_cast<uint32_t>(tag >> 3);
    const auto wt = static_cast<uint8_t>(tag & 7);
    if (*field == 0 || (wt != 0 && wt != 1 && wt != 2 && wt != 5)) {
      return false;
    }
    *type = static_cast<WireType>(wt);
    return true;
  }

  bool readVarint(uint64_t* out) {
    // Tags, lengths and word indices are mostly one byte, else two.
    if (end_ - p_ >= 2) {
      if (p_[0] < 0x80) {
        *out = *p_++;
        return true;
      }
      if (p_[1] < 0x80) {
        *out = (p_[0] & 0x7Fu) | static_cast<uint64_t>(p_[1]) << 7;
        p_ += 2;
        return true;
      }
    }
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) {
        return false;
      }
      const uint8_t b = *p_++;
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        *out = v;
        return true;
      }
    }
    return false;  // more than 10 bytes
  }

  bool readFixed64(uint64_t* out) {
    if (end_ - p_ < 8) {
      return false;
    }
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) {
      v = (v << 8) | p_[i];
    }
    p_ += 8;
    *out = v;
    return true;
  }

  bool readLen(std::string_view* out) {
    uint64_t n;
    if (!readVarint(&n) || n > static_cast<uint64_t>(end_ - p_)) {
      return false;
    }
    *out = std::string_view(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return true;
  }

  bool skip(WireType type) {
    switch (type) {
      case WireType::Varint: {
        uint64_t v;
        return readVarint(&v);
      }
      case WireType::Fixed64:
        if (end_ - p_ < 8) {
          return false;
        }
        p_ += 8;
        return true;
      case WireType::Len: {
        std::string_view v;
        return readLen(&v);
      }
      case WireType::Fixed32:
        if (end_ - p_ < 4) {
          return false;
        }
        p_ += 4;
        return true;
    }
    return false;
  }

  static int32_t zigzag32(uint64_t v) {
    const auto u = static_cast<uint32_t>(v);
    return static_cast<int32_t>((u >> 1) ^ (~(u & 1) + 1));
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

}  // namespace mixer::api
