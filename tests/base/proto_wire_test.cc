// The protobuf wire primitives against bytes worked out by hand from the encoding rules: a varint
// is little-endian 7-bit groups, each byte but the last with its high bit set; a tag is
// (field << 3) | wire type; sint32 is zigzag-mapped before it becomes a varint.
#include "base/proto_wire.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mixer::base {
namespace {

std::string bytes(std::initializer_list<uint8_t> b) {
  std::string out;
  for (uint8_t c : b) {
    out.push_back(static_cast<char>(c));
  }
  return out;
}

std::string varint(uint64_t v) {
  std::string out;
  appendVarint(v, &out);
  return out;
}

// Value, and its encoding computed by hand.
const std::vector<std::pair<uint64_t, std::string>>& knownVarints() {
  static const auto* const cases = new std::vector<std::pair<uint64_t, std::string>>{
      {0, bytes({0x00})},
      {1, bytes({0x01})},
      {127, bytes({0x7f})},
      {128, bytes({0x80, 0x01})},
      {150, bytes({0x96, 0x01})},  // the protobuf documentation's example
      {300, bytes({0xac, 0x02})},
      {16383, bytes({0xff, 0x7f})},
      {16384, bytes({0x80, 0x80, 0x01})},
      {0xffffffffu, bytes({0xff, 0xff, 0xff, 0xff, 0x0f})},
      {1ull << 35, bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x01})},
      {1ull << 63, bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})},
      // The 10-byte maximum: also how an int64 of -1 travels.
      {UINT64_MAX, bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})},
  };
  return *cases;
}

TEST(ProtoWireTest, WritesVarintsAsLittleEndianSevenBitGroups) {
  for (const auto& [value, encoded] : knownVarints()) {
    EXPECT_EQ(varint(value), encoded) << value;
    char buf[kMaxVarintBytes];
    EXPECT_EQ(encodeVarint(value, buf), encoded.size()) << value;
  }
  EXPECT_EQ(varint(static_cast<uint64_t>(int64_t{-1})).size(), 10u);
}

TEST(ProtoWireTest, ReadsVarintsOfEveryLengthWhereverTheBufferEnds) {
  for (const auto& [value, encoded] : knownVarints()) {
    // Alone (its last byte is the buffer's last) and followed by another varint (5).
    for (const std::string& tail : {std::string(), bytes({0x05})}) {
      const std::string buf = encoded + tail;
      WireReader r(buf);
      uint64_t got = 0;
      ASSERT_TRUE(r.readVarint(&got)) << value;
      EXPECT_EQ(got, value);
      EXPECT_EQ(r.done(), tail.empty()) << value;
      if (!tail.empty()) {
        ASSERT_TRUE(r.readVarint(&got));
        EXPECT_EQ(got, 5u);
        EXPECT_TRUE(r.done());
      }
    }
  }
}

TEST(ProtoWireTest, VarintsRoundTripAcrossEveryLength) {
  for (int bits = 0; bits <= 64; ++bits) {
    const uint64_t top = bits == 64 ? UINT64_MAX : (uint64_t{1} << bits) - 1;
    for (uint64_t v : {top, top + 1, top / 3}) {
      const std::string buf = varint(v);
      // ceil(significant bits / 7) bytes, at least one.
      const int significant = v == 0 ? 1 : 64 - __builtin_clzll(v);
      EXPECT_EQ(buf.size(), static_cast<size_t>((significant + 6) / 7)) << v;
      WireReader r(buf);
      uint64_t got = 0;
      ASSERT_TRUE(r.readVarint(&got)) << v;
      EXPECT_EQ(got, v);
      EXPECT_TRUE(r.done());
    }
  }
}

TEST(ProtoWireTest, RejectsTruncatedAndOverlongVarints) {
  for (const std::string& bad :
       {std::string(), bytes({0x80}), bytes({0xff, 0xff}), bytes({0x80, 0x80, 0x80}),
        std::string(9, '\x80'),
        // Ten bytes of continuation and an eleventh: longer than any 64-bit varint.
        std::string(10, '\xff') + bytes({0x01}), std::string(11, '\x80')}) {
    WireReader r(bad);
    uint64_t v;
    EXPECT_FALSE(r.readVarint(&v)) << bad.size() << " bytes";
  }
  // The free function reports the same on a raw range.
  const std::string cut = bytes({0x96});
  const auto* p = reinterpret_cast<const uint8_t*>(cut.data());
  uint64_t v;
  EXPECT_FALSE(readVarint(&p, p + cut.size(), &v));
}

TEST(ProtoWireTest, WritesAndReadsTags) {
  std::string out;
  appendTag(1, WireType::Varint, &out);   // 1 << 3 | 0
  appendTag(2, WireType::Len, &out);      // 2 << 3 | 2
  appendTag(4, WireType::Fixed64, &out);  // 4 << 3 | 1
  appendTag(9, WireType::Fixed32, &out);  // 9 << 3 | 5
  appendTag(16, WireType::Varint, &out);  // 128: two bytes
  EXPECT_EQ(out, bytes({0x08, 0x12, 0x21, 0x4d, 0x80, 0x01}));

  WireReader r(out);
  const std::vector<std::pair<uint32_t, WireType>> want = {{1, WireType::Varint},
                                                           {2, WireType::Len},
                                                           {4, WireType::Fixed64},
                                                           {9, WireType::Fixed32},
                                                           {16, WireType::Varint}};
  for (const auto& [field, type] : want) {
    uint32_t f = 0;
    WireType t = WireType::Varint;
    ASSERT_TRUE(r.readTag(&f, &t)) << field;
    EXPECT_EQ(f, field);
    EXPECT_EQ(t, type);
  }
  EXPECT_TRUE(r.done());
}

TEST(ProtoWireTest, RejectsFieldZeroGroupsAndTagsPast32Bits) {
  for (const std::string& bad : {bytes({0x02}),  // field 0
                                 bytes({0x0b}),  // field 1, wire type 3 (start group)
                                 bytes({0x0c}),  // field 1, wire type 4 (end group)
                                 bytes({0x0e}),  // field 1, wire type 6
                                 varint(uint64_t{1} << 32 | 0x08), bytes({0x88})}) {
    WireReader r(bad);
    uint32_t f;
    WireType t;
    EXPECT_FALSE(r.readTag(&f, &t)) << static_cast<int>(static_cast<uint8_t>(bad[0]));
  }
  // The largest field number protobuf allows, 2^29 - 1, fits.
  const std::string max = varint((uint64_t{(1u << 29) - 1} << 3) | 2);
  WireReader r(max);
  uint32_t f;
  WireType t;
  ASSERT_TRUE(r.readTag(&f, &t));
  EXPECT_EQ(f, (1u << 29) - 1);
  EXPECT_EQ(t, WireType::Len);
}

TEST(ProtoWireTest, ZigzagMapsSignedToUnsignedAlternately) {
  const std::vector<std::pair<int32_t, uint32_t>> cases = {
      {0, 0}, {-1, 1}, {1, 2}, {-2, 3}, {2, 4}, {INT32_MAX, 0xfffffffe}, {INT32_MIN, 0xffffffff}};
  for (const auto& [s, u] : cases) {
    EXPECT_EQ(zigzagEncode32(s), u) << s;
    EXPECT_EQ(zigzagDecode32(u), s) << u;
  }
  // A sint32 read from a longer varint keeps its low 32 bits.
  EXPECT_EQ(zigzagDecode32(uint64_t{1} << 32 | 3), -2);
  // Word index -1 on the wire: tag of field 1 (sint32), then zigzag(-1) = 1.
  std::string out;
  appendTag(1, WireType::Varint, &out);
  appendVarint(zigzagEncode32(-1), &out);
  EXPECT_EQ(out, bytes({0x08, 0x01}));
}

TEST(ProtoWireTest, LengthDelimitedFieldsAreTagLengthBytes) {
  std::string out;
  appendLenField(2, "abc", &out);
  EXPECT_EQ(out, bytes({0x12, 0x03, 'a', 'b', 'c'}));

  out = bytes({0x4a, 0x03}) + "abc" + bytes({0x10, 0x96, 0x01});  // field 9 "abc", field 2 = 150
  WireReader r(out);
  uint32_t field = 0;
  WireType type = WireType::Varint;
  ASSERT_TRUE(r.readTag(&field, &type));
  EXPECT_EQ(field, 9u);
  EXPECT_EQ(type, WireType::Len);
  std::string_view value;
  ASSERT_TRUE(r.readLen(&value));
  EXPECT_EQ(value, "abc");
  EXPECT_EQ(value.data(), out.data() + 2);  // a view into the buffer, not a copy
  ASSERT_TRUE(r.readTag(&field, &type));
  EXPECT_EQ(field, 2u);
  uint64_t v = 0;
  ASSERT_TRUE(r.readVarint(&v));
  EXPECT_EQ(v, 150u);
  EXPECT_TRUE(r.done());

  // A length past the end of the buffer is refused.
  const std::string cut = bytes({0x0a, 0x04}) + "ab";
  WireReader c(cut);
  ASSERT_TRUE(c.readTag(&field, &type));
  EXPECT_FALSE(c.readLen(&value));
}

TEST(ProtoWireTest, IntegerFieldsAndSecondsNanos) {
  std::string out;
  appendInt64Field(2, 150, &out);
  EXPECT_EQ(out, bytes({0x10, 0x96, 0x01}));
  out.clear();
  appendInt64Field(1, -1, &out);  // int32/int64: a negative value takes ten bytes
  EXPECT_EQ(out, bytes({0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
  out.clear();
  appendSint32Field(4, -2, &out);  // zigzag: -2 is 3
  EXPECT_EQ(out, bytes({0x20, 0x03}));
  out.clear();
  appendSecondsNanos(60, 5, &out);
  EXPECT_EQ(out, bytes({0x08, 0x3c, 0x10, 0x05}));
  out.clear();
  appendSecondsNanos(0, 0, &out);  // proto3: zero fields are left out
  EXPECT_TRUE(out.empty());
  appendSecondsNanos(0, 7, &out);
  EXPECT_EQ(out, bytes({0x10, 0x07}));
}

TEST(ProtoWireTest, ReadsFixed64LittleEndianAndSkipsEveryWireType) {
  const std::string fixed = bytes({0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08});
  WireReader f(fixed);
  uint64_t v = 0;
  ASSERT_TRUE(f.readFixed64(&v));
  EXPECT_EQ(v, 0x0807060504030201u);
  EXPECT_TRUE(f.done());
  WireReader short_fixed(fixed.substr(0, 7));
  EXPECT_FALSE(short_fixed.readFixed64(&v));

  // A varint (300), 8 bytes, a 2-byte string and 4 bytes, then one more byte.
  const std::string values =
      bytes({0xac, 0x02}) + fixed + bytes({0x02, 'h', 'i'}) + bytes({1, 2, 3, 4}) + bytes({0x07});
  WireReader r(values);
  EXPECT_TRUE(r.skip(WireType::Varint));
  EXPECT_TRUE(r.skip(WireType::Fixed64));
  EXPECT_TRUE(r.skip(WireType::Len));
  EXPECT_TRUE(r.skip(WireType::Fixed32));
  ASSERT_TRUE(r.readVarint(&v));
  EXPECT_EQ(v, 7u);
  EXPECT_TRUE(r.done());

  for (WireType t : {WireType::Varint, WireType::Fixed64, WireType::Len, WireType::Fixed32}) {
    const std::string cut = bytes({0x80});  // too short for any of them
    WireReader c(cut);
    EXPECT_FALSE(c.skip(t)) << static_cast<int>(t);
  }
}

}  // namespace
}  // namespace mixer::base
