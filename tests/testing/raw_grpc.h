// rawUnaryCall: one unary gRPC call whose request is given as bytes (through a GenericStub), for
// tests that send what a generated client would not: malformed or oversized messages, services
// of which the test has no generated stub. Header-only: the tests that use it link gRPC++.
#pragma once

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

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

}  // namespace mixer::testing
