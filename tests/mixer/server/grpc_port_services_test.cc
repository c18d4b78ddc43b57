// The health state and the reflection answers mixs' gRPC port serves (mixer/server/
// health_state.h, reflection.h), without a network; tests/integration/mixs_test.cc calls them
// over gRPC.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "mixer/server/health_state.h"
#include "mixer/server/reflection.h"
#include "mixer/v1/mixer.pb.h"
#include "tests/testing/wire_builder.h"

namespace mixer::server {
namespace {

using testing::WireBuilder;

class CountingWatcher : public HealthState::Watcher {
 public:
  void healthChanged() override { ++told; }
  int told = 0;
};

TEST(HealthStateTest, OneServingStateForEveryKnownServiceAndUnknownForOthers) {
  HealthState health({"istio.mixer.v1.Mixer"});
  EXPECT_EQ(health.status(""), HealthState::kNotServing);  // until the server is ready
  health.setServing(true);
  EXPECT_EQ(health.status(""), HealthState::kServing);
  EXPECT_EQ(health.status("istio.mixer.v1.Mixer"), HealthState::kServing);
  EXPECT_EQ(health.status("no.such.Service"), HealthState::kServiceUnknown);
  health.setServing(false);
  EXPECT_EQ(health.status("istio.mixer.v1.Mixer"), HealthState::kNotServing);
}

TEST(HealthStateTest, WatchersAreToldOfChangesOnlyUntilRemoved) {
  HealthState health({});
  CountingWatcher w;
  health.add(&w);
  health.setServing(true);
  health.setServing(true);  // no change
  EXPECT_EQ(w.told, 1);
  health.setServing(false);
  EXPECT_EQ(w.told, 2);
  health.remove(&w);
  health.setServing(true);
  EXPECT_EQ(w.told, 2);
}

TEST(HealthStateTest, ShutdownIsNotServingForGood) {
  HealthState health({"istio.mixer.v1.Mixer"});
  CountingWatcher w;
  health.add(&w);
  health.setServing(true);
  health.shutdown();
  EXPECT_TRUE(health.isShutdown());
  EXPECT_EQ(health.status("istio.mixer.v1.Mixer"), HealthState::kNotServing);
  health.setServing(true);
  health.shutdown();
  EXPECT_EQ(health.status(""), HealthState::kNotServing);
  EXPECT_EQ(w.told, 2);  // serving, then the shutdown once
  health.remove(&w);
}

TEST(HealthStateTest, RequestAndResponseBytes) {
  std::string service = "left over";
  ASSERT_TRUE(HealthState::parseRequest(WireBuilder().lenField(1, "a.B").bytes(), &service));
  EXPECT_EQ(service, "a.B");
  ASSERT_TRUE(HealthState::parseRequest("", &service));
  EXPECT_EQ(service, "");
  // Unknown fields are skipped, as protobuf does.
  ASSERT_TRUE(HealthState::parseRequest(WireBuilder().varintField(9, 3).lenField(1, "x").bytes(),
                                        &service));
  EXPECT_EQ(service, "x");
  EXPECT_FALSE(HealthState::parseRequest("\xff", &service));
  EXPECT_FALSE(HealthState::parseRequest(std::string("\x0a\x05"
                                                     "ab",
                                                     4),
                                         &service));
  EXPECT_EQ(HealthState::encodeResponse(HealthState::kServing), std::string("\x08\x01", 2));
  EXPECT_EQ(HealthState::encodeResponse(HealthState::kServiceUnknown), std::string("\x08\x03", 2));
  EXPECT_EQ(HealthState::encodeResponse(HealthState::kUnknown), "");
}

// A message's length-delimited and varint fields by number, in order.
std::map<int, std::vector<std::string>> fields(const std::string& bytes) {
  using google::protobuf::internal::WireFormatLite;
  std::map<int, std::vector<std::string>> out;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  while (uint32_t tag = in.ReadTag()) {
    std::string value;
    if (WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_VARINT) {
      uint64_t v = 0;
      EXPECT_TRUE(in.ReadVarint64(&v));
      value = std::to_string(v);
    } else {
      EXPECT_TRUE(WireFormatLite::ReadBytes(&in, &value));
    }
    out[WireFormatLite::GetTagFieldNumber(tag)].push_back(value);
  }
  EXPECT_TRUE(in.ConsumedEntireMessage());
  return out;
}

class ReflectionTest : public ::testing::Test {
 protected:
  std::map<int, std::vector<std::string>> ask(const std::string& request) {
    std::string response;
    EXPECT_TRUE(reflection_.answer(request, &sent_, &response));
    auto top = fields(response);
    EXPECT_EQ(top[2], std::vector<std::string>{request});  // original_request
    return top;
  }
  static std::string mixerFile() {
    return istio::mixer::v1::CheckRequest::descriptor()->file()->name();
  }

  Reflection reflection_{{"istio.mixer.v1.Mixer", "grpc.health.v1.Health"}};
  std::set<std::string> sent_;
};

TEST_F(ReflectionTest, ListsTheServicesItWasGiven) {
  auto top = ask(WireBuilder().lenField(1, "mixs:9091").lenField(7, "").bytes());
  EXPECT_EQ(top[1], std::vector<std::string>{"mixs:9091"});  // valid_host
  ASSERT_EQ(top[6].size(), 1u);
  std::vector<std::string> names;
  auto list = fields(top[6][0]);  // ListServiceResponse{service = 1}
  for (const std::string& service : list[1]) names.push_back(fields(service)[1][0]);
  EXPECT_EQ(names, (std::vector<std::string>{"istio.mixer.v1.Mixer", "grpc.health.v1.Health"}));
}

TEST_F(ReflectionTest, AFileComesWithItsImportsOnceAStream) {
  auto top = ask(WireBuilder().lenField(3, mixerFile()).bytes());
  ASSERT_EQ(top[4].size(), 1u);
  std::vector<std::string> names;
  auto files = fields(top[4][0]);  // FileDescriptorResponse{file_descriptor_proto = 1}
  for (const std::string& bytes : files[1]) {
    google::protobuf::FileDescriptorProto file;
    ASSERT_TRUE(file.ParseFromString(bytes));
    names.push_back(file.name());
  }
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names[0], mixerFile());  // the file asked for comes first
  const auto* file =
      google::protobuf::DescriptorPool::generated_pool()->FindFileByName(mixerFile());
  ASSERT_NE(file, nullptr);
  for (int i = 0; i < file->dependency_count(); ++i) {
    EXPECT_NE(std::find(names.begin(), names.end(), file->dependency(i)->name()), names.end())
        << file->dependency(i)->name();
  }
  // The same file again on this stream: already sent, so none.
  top = ask(WireBuilder().lenField(4, "istio.mixer.v1.Mixer").bytes());
  ASSERT_EQ(top[4].size(), 1u);
  EXPECT_TRUE(fields(top[4][0])[1].empty());
}

TEST_F(ReflectionTest, WhatItDoesNotKnowIsAnErrorResponse) {
  for (const std::string& request :
       {WireBuilder().lenField(4, "no.such.Symbol").bytes(),
        WireBuilder().lenField(3, "no/such.proto").bytes(),
        WireBuilder().lenField(6, "no.such.Type").bytes(),
        WireBuilder()
            .lenField(5, WireBuilder()
                             .lenField(1, "istio.mixer.v1.CheckRequest")
                             .varintField(2, 999)
                             .bytes())
            .bytes()}) {
    auto top = ask(request);
    ASSERT_EQ(top[7].size(), 1u);
    EXPECT_EQ(fields(top[7][0])[1], std::vector<std::string>{"5"});  // NOT_FOUND
  }
  // No query at all.
  auto top = ask(WireBuilder().lenField(1, "h").bytes());
  ASSERT_EQ(top[7].size(), 1u);
  EXPECT_EQ(fields(top[7][0])[1], std::vector<std::string>{"12"});  // UNIMPLEMENTED
}

TEST_F(ReflectionTest, ExtensionNumbersNameTheirType) {
  auto top = ask(WireBuilder().lenField(6, "istio.mixer.v1.CheckRequest").bytes());
  ASSERT_EQ(top[5].size(), 1u);
  EXPECT_EQ(fields(top[5][0])[1], std::vector<std::string>{"istio.mixer.v1.CheckRequest"});
}

TEST_F(ReflectionTest, BytesThatAreNoRequestAreRefused) {
  std::string response = "untouched";
  EXPECT_FALSE(reflection_.answer("\xff", &sent_, &response));
  EXPECT_FALSE(reflection_.answer(std::string("\x3a\x09"
                                              "abc",
                                              5),
                                  &sent_, &response));
  EXPECT_EQ(response, "untouched");
}

}  // namespace
}  // namespace mixer::server
