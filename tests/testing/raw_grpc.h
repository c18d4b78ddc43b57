// gRPC calls with hand-built request bytes (through a GenericStub), for tests that send what a
// generated client would not (malformed or oversized messages) or call services of which they
// have no generated stub (health, reflection), one call or one stream at a time. Header-only: the
// tests that use it link gRPC++.
#pragma once

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/testing/wire_builder.h"

namespace mixer::testing {

// Calls `method` ("/package.Service/Method") on `channel` with the request `bytes`, `metadata`
// and a deadline `timeout` from now; the call's status. When `response` is given and the call
// succeeded, it receives the response's bytes.
inline grpc::Status rawUnaryCall(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
    const std::string& bytes, std::string* response = nullptr,
    std::chrono::milliseconds timeout = std::chrono::seconds(10),
    const std::vector<std::pair<std::string, std::string>>& metadata = {}) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  for (const auto& [k, v] : metadata) {
    ctx.AddMetadata(k, v);
  }
  grpc::Slice slice(bytes.data(), bytes.size());
  grpc::ByteBuffer req(&slice, 1);
  auto call = stub.PrepareUnaryCall(&ctx, method, req, &cq);
  call->StartCall();
  grpc::ByteBuffer resp;
  grpc::Status status;
  call->Finish(&resp, &status, reinterpret_cast<void*>(1));
  void* tag;
  bool ok;
  EXPECT_TRUE(cq.Next(&tag, &ok)) << method;
  if (response != nullptr && status.ok()) {
    std::vector<grpc::Slice> slices;
    (void)resp.Dump(&slices);
    response->clear();
    for (const auto& s : slices) {
      response->append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
  }
  return status;
}

// The same on a new insecure channel to `address` (host:port).
inline grpc::Status rawUnaryCall(const std::string& address, const std::string& method,
                                 const std::string& bytes, std::string* response = nullptr) {
  return rawUnaryCall(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()), method,
                      bytes, response);
}

// A stream of `method` on `channel` through a GenericStub, driven one step at a time.
class RawStream {
 public:
  RawStream(const std::shared_ptr<grpc::Channel>& channel, const std::string& method)
      : stub_(channel) {
    ctx_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    stream_ = stub_.PrepareCall(&ctx_, method, &cq_);
    stream_->StartCall(tag(1));
    started_ = step(1);
  }
  bool started() const { return started_; }
  bool write(const std::string& bytes) {
    grpc::Slice slice(bytes.data(), bytes.size());
    stream_->Write(grpc::ByteBuffer(&slice, 1), tag(2));
    return step(2);
  }
  bool writesDone() {
    stream_->WritesDone(tag(3));
    return step(3);
  }
  std::optional<std::string> read() {
    grpc::ByteBuffer resp;
    stream_->Read(&resp, tag(4));
    if (!step(4)) return std::nullopt;
    std::vector<grpc::Slice> slices;
    (void)resp.Dump(&slices);
    std::string out;
    for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
    return out;
  }
  grpc::Status finish() {
    grpc::Status status;
    stream_->Finish(&status, tag(5));
    step(5);
    return status;
  }

 private:
  static void* tag(intptr_t n) { return reinterpret_cast<void*>(n); }
  bool step(intptr_t want) {
    void* got;
    bool ok = false;
    EXPECT_TRUE(cq_.Next(&got, &ok));
    EXPECT_EQ(reinterpret_cast<intptr_t>(got), want);
    return ok;
  }

  grpc::GenericStub stub_;
  grpc::CompletionQueue cq_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> stream_;
  bool started_ = false;
};

// Lists the server's services through its reflection service
// (grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo, one list_services request): the
// ServerReflectionResponse's bytes, nullopt when the stream failed before the answer.
inline std::optional<std::string> listServicesByReflection(
    const std::shared_ptr<grpc::Channel>& channel) {
  RawStream stream(channel, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo");
  // ServerReflectionRequest{list_services = 7: ""}
  if (!stream.started() || !stream.write(WireBuilder().lenField(7, "").bytes())) {
    return std::nullopt;
  }
  std::optional<std::string> bytes = stream.read();
  if (!bytes) return std::nullopt;
  stream.writesDone();
  stream.finish();
  return bytes;
}

}  // namespace mixer::testing
