// The in-place protobuf wire reader: varints of every length, at the end of a buffer and cut off.
#include "mixer/api/wire_reader.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mixer::api {
namespace {

std::string varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}

// Every length from 1 to 10 bytes, alone (so the last byte is the buffer's last) and followed by
// another byte, reads back the value and leaves the reader just after it.
TEST(WireReaderTest, ReadsVarintsOfEveryLengthWhereverTheBufferEnds) {
  const std::vector<uint64_t> values = {
      0,          1,          0x7f,       0x80,       0x3fff,     0x4000,     0x1fffff, 0x200000,
      0xffffffff, 1ull << 35, 1ull << 49, 1ull << 56, 1ull << 63, UINT64_MAX, 300,      16383};
  for (uint64_t v : values) {
    for (const std::string& tail : {std::string(), std::string("\x05", 1)}) {
      const std::string buf = varint(v) + tail;
      WireReader r(buf);
      uint64_t got = 0;
      ASSERT_TRUE(r.readVarint(&got)) << v;
      EXPECT_EQ(got, v);
      EXPECT_EQ(r.done(), tail.empty()) << v;
      if (!tail.empty()) {
        ASSERT_TRUE(r.readVarint(&got));
        EXPECT_EQ(got, 5u);
        EXPECT_TRUE(r.done());
      }
    }
  }
}

TEST(WireReaderTest, RejectsCutOffAndOverlongVarints) {
  for (const std::string& bad : {std::string("\x80", 1), std::string("\xff\xff", 2),
                                 std::string("\x80\x80\x80", 3), std::string(11, '\x80')}) {
    WireReader r(bad);
    uint64_t v;
    EXPECT_FALSE(r.readVarint(&v)) << bad.size() << " bytes";
  }
  // Eleven bytes of continuation: more than a 64-bit varint can have.
  const std::string overlong = std::string(10, '\xff') + std::string("\x01", 1);
  WireReader r(overlong);
  uint64_t v;
  EXPECT_FALSE(r.readVarint(&v));
}

TEST(WireReaderTest, ReadsTagsAndLengthDelimitedFields) {
  // field 9, wire type 2 (length 3: "abc"), then field 2, varint 150.
  const std::string buf = varint(9 << 3 | 2) + varint(3) + "abc" + varint(2 << 3) + varint(150);
  WireReader r(buf);
  uint32_t field = 0;
  WireType type = WireType::Varint;
  ASSERT_TRUE(r.readTag(&field, &type));
  EXPECT_EQ(field, 9u);
  EXPECT_EQ(type, WireType::Len);
  std::string_view bytes;
  ASSERT_TRUE(r.readLen(&bytes));
  EXPECT_EQ(bytes, "abc");
  ASSERT_TRUE(r.readTag(&field, &type));
  EXPECT_EQ(field, 2u);
  uint64_t v = 0;
  ASSERT_TRUE(r.readVarint(&v));
  EXPECT_EQ(v, 150u);
  EXPECT_TRUE(r.done());
  // A length past the end of the buffer is refused.
  const std::string cut = varint(1 << 3 | 2) + varint(4) + "ab";
  WireReader c(cut);
  ASSERT_TRUE(c.readTag(&field, &type));
  EXPECT_FALSE(c.readLen(&bytes));
}

}  // namespace
}  // namespace mixer::api
