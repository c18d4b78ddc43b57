// The protobuf wire format (https://protobuf.dev/programming-guides/encoding/): varints, field
// tags, zigzag and length-delimited fields, read in place and appended to a string. Header-only
// and allocation-free when reading: the decoders of istio.mixer.v1 and Envoy requests call it for
// every byte they read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mixer::base {

// The wire types this code reads and writes. Groups (3, 4) are deprecated and never accepted.
enum class WireType : uint8_t { Varint = 0, Fixed64 = 1, Len = 2, Fixed32 = 5 };

// The longest varint: 64 bits in 7-bit groups.
inline constexpr size_t kMaxVarintBytes = 10;

// sint32 values travel zigzag-encoded: 0, -1, 1, -2, ... as 0, 1, 2, 3, ...
inline constexpr uint32_t zigzagEncode32(int32_t v) {
  return (static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31);
}
// Decodes the low 32 bits of a varint as a sint32 (higher bits are dropped, as protobuf does).
inline constexpr int32_t zigzagDecode32(uint64_t v) {
  const auto u = static_cast<uint32_t>(v);
  return static_cast<int32_t>((u >> 1) ^ (~(u & 1) + 1));
}

// Writes `v` into `buf` (at least kMaxVarintBytes long); returns the number of bytes written.
inline size_t encodeVarint(uint64_t v, char* buf) {
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  return n;
}

// The number of bytes encodeVarint() writes for `v`.
inline constexpr size_t varintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

inline void appendVarint(uint64_t v, std::string* out) {
  char buf[kMaxVarintBytes];
  out->append(buf, encodeVarint(v, buf));
}

inline void appendTag(uint32_t field, WireType type, std::string* out) {
  appendVarint((static_cast<uint64_t>(field) << 3) | static_cast<uint8_t>(type), out);
}

// A length-delimited field: tag, length, bytes.
inline void appendLenField(uint32_t field, std::string_view bytes, std::string* out) {
  appendTag(field, WireType::Len, out);
  appendVarint(bytes.size(), out);
  out->append(bytes.data(), bytes.size());
}

// An int32 or int64 field (a negative value is sign-extended to ten bytes).
inline void appendInt64Field(uint32_t field, int64_t v, std::string* out) {
  appendTag(field, WireType::Varint, out);
  appendVarint(static_cast<uint64_t>(v), out);
}

// A sint32 field (zigzag).
inline void appendSint32Field(uint32_t field, int32_t v, std::string* out) {
  appendTag(field, WireType::Varint, out);
  appendVarint(zigzagEncode32(v), out);
}

// The body of a google.protobuf.Timestamp or Duration: seconds = 1, nanos = 2; proto3 leaves
// zero fields out.
inline void appendSecondsNanos(int64_t seconds, int32_t nanos, std::string* out) {
  if (seconds != 0) {
    appendInt64Field(1, seconds, out);
  }
  if (nanos != 0) {
    appendInt64Field(2, nanos, out);
  }
}

// Reads a varint at `*p` (before `end`) into `*out` and moves `*p` past it. False, with `*p` left
// anywhere up to `end`, when the bytes end first or the varint has more than 10 bytes.
inline bool readVarint(const uint8_t** p, const uint8_t* end, uint64_t* out) {
  const uint8_t* q = *p;
  // Tags, lengths and word indices are mostly one byte, else two.
  if (end - q >= 2) {
    if (q[0] < 0x80) {
      *out = q[0];
      *p = q + 1;
      return true;
    }
    if (q[1] < 0x80) {
      *out = (q[0] & 0x7Fu) | static_cast<uint64_t>(q[1]) << 7;
      *p = q + 2;
      return true;
    }
  }
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (q == end) {
      *p = q;
      return false;
    }
    const uint8_t b = *q++;
    v |= static_cast<uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) {
      *out = v;
      *p = q;
      return true;
    }
  }
  *p = q;
  return false;  // more than 10 bytes
}

// Reads a field tag. Fails on a tag past 32 bits, on field number 0 and on group wire types (3,
// 4), which none of the messages read here use.
inline bool readTag(const uint8_t** p, const uint8_t* end, uint32_t* field, WireType* type) {
  uint64_t tag;
  if (!readVarint(p, end, &tag) || tag > 0xFFFFFFFFu) {
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

// A message's bytes, read field by field in place: strings stay views into the buffer.
class WireReader {
 public:
  explicit WireReader(std::string_view buf)
      : p_(reinterpret_cast<const uint8_t*>(buf.data())), end_(p_ + buf.size()) {}

  bool done() const { return p_ == end_; }

  bool readTag(uint32_t* field, WireType* type) { return base::readTag(&p_, end_, field, type); }

  bool readVarint(uint64_t* out) { return base::readVarint(&p_, end_, out); }

  // Little-endian, as the wire format.
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

  // A length-delimited value (string, bytes, embedded message), as a view into the buffer.
  bool readLen(std::string_view* out) {
    uint64_t n;
    if (!readVarint(&n) || n > static_cast<uint64_t>(end_ - p_)) {
      return false;
    }
    *out = std::string_view(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return true;
  }

  // Skips the value of a field of wire type `type`.
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

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

}  // namespace mixer::base
