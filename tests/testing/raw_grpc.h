// gRPC calls with hand-built request bytes (through a GenericStub), for tests that send what a
// generated client would not (malformed or oversized messages) or call services of which they
// have no generated stub (health, reflection). Header-only: the tests that use it link gRPC++.
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

// Lists the server's services through its reflection service
// (grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo, one list_services request): the
// ServerReflectionResponse's bytes, nullopt when the stream failed before the answer.
inline std::optional<std::string> listServicesByReflection(
    const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto stream =
      stub.PrepareCall(&ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag;
  bool ok;
  auto step = [&](intptr_t want) {
    EXPECT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(reinterpret_cast<intptr_t>(tag), want);
    return ok;
  };
  stream->StartCall(reinterpret_cast<void*>(1));
  if (!step(1)) return std::nullopt;
  // ServerReflectionRequest{list_services = 7: ""}
  const std::string req = WireBuilder().lenField(7, "").bytes();
  grpc::Slice slice(req.data(), req.size());
  grpc::ByteBuffer buf(&slice, 1);
  stream->Write(buf, reinterpret_cast<void*>(2));
  if (!step(2)) return std::nullopt;
  grpc::ByteBuffer resp;
  stream->Read(&resp, reinterpret_cast<void*>(3));
  if (!step(3)) return std::nullopt;
  std::vector<grpc::Slice> slices;
  (void)resp.Dump(&slices);
  std::string bytes;
  for (const auto& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  stream->WritesDone(reinterpret_cast<void*>(4));
  step(4);
  grpc::Status status;
  stream->Finish(&status, reinterpret_cast<void*>(5));
  step(5);
  return bytes;
}

}  // namespace mixer::testing
