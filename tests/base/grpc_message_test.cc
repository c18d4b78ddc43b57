#include "base/grpc_message.h"

#include <gtest/gtest.h>

#include <string>

namespace mixer::base {
namespace {

TEST(GrpcMessageTest, EncodesWhatIsNotPrintableAsciiAndThePercentSign) {
  EXPECT_EQ(percentEncodeGrpcMessage("plain text: ok"), "plain text: ok");
  EXPECT_EQ(percentEncodeGrpcMessage("100% sure"), "100%25 sure");
  EXPECT_EQ(percentEncodeGrpcMessage("line\nnext \xc3\xa9"), "line%0Anext %C3%A9");
}

TEST(GrpcMessageTest, DecodesEitherCaseAndLeavesABrokenEscapeAsItIs) {
  EXPECT_EQ(percentDecodeGrpcMessage("no%20way"), "no way");
  EXPECT_EQ(percentDecodeGrpcMessage("%c3%A9t%C3%a9"), "\xc3\xa9t\xc3\xa9");
  EXPECT_EQ(percentDecodeGrpcMessage("%zz%4"), "%zz%4");
  EXPECT_EQ(percentDecodeGrpcMessage("50%"), "50%");
  EXPECT_EQ(percentDecodeGrpcMessage(""), "");
}

TEST(GrpcMessageTest, EveryByteSurvivesTheRoundTrip) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  EXPECT_EQ(percentDecodeGrpcMessage(percentEncodeGrpcMessage(all)), all);
}

}  // namespace
}  // namespace mixer::base
