// WireBuilder: writes protobuf wire format by hand, for tests that need exact (or deliberately
// malformed) bytes rather than what a protobuf library would produce.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mixer::testing {

class WireBuilder {
 public:
  WireBuilder& varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
    return *this;
  }
  WireBuilder& tag(uint32_t field, uint32_t wire_type) { return varint((field << 3) | wire_type); }
  WireBuilder& varintField(uint32_t field, uint64_t v) { return tag(field, 0).varint(v); }
  WireBuilder& sint32Field(uint32_t field, int32_t v) { return varintField(field, zigzag(v)); }
  WireBuilder& lenField(uint32_t field, std::string_view bytes) {
    tag(field, 2).varint(bytes.size());
    out_.append(bytes);
    return *this;
  }
  WireBuilder& fixed64Field(uint32_t field, uint64_t v) {
    tag(field, 1);
    for (int i = 0; i < 8; ++i) {
      out_.push_back(static_cast<char>(v >> (8 * i)));
    }
    return *this;
  }
  WireBuilder& raw(std::string_view bytes) {
    out_.append(bytes);
    return *this;
  }
  static uint32_t zigzag(int32_t v) {
    return (static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31);
  }
  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

// A map<sint32, sint32> entry (CompressedAttributes.strings, StringMap.entries).
inline std::string sintEntry(int32_t key, int32_t value) {
  return WireBuilder().sint32Field(1, key).sint32Field(2, value).bytes();
}
// A map<sint32, int64> / map<sint32, bool> entry.
inline std::string varintEntry(int32_t key, uint64_t value) {
  return WireBuilder().sint32Field(1, key).varintField(2, value).bytes();
}
// A map<sint32, bytes|message> entry.
inline std::string lenEntry(int32_t key, std::string_view value) {
  return WireBuilder().sint32Field(1, key).lenField(2, value).bytes();
}
// google.protobuf.Timestamp / Duration.
inline std::string secondsNanos(int64_t seconds, int32_t nanos) {
  return WireBuilder()
      .varintField(1, static_cast<uint64_t>(seconds))
      .varintField(2, static_cast<uint64_t>(static_cast<int64_t>(nanos)))
      .bytes();
}

}  // namespace mixer::testing
