// gRPC byte buffers as the services read and write them: one slice, viewed as bytes.
#pragma once

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include <string_view>

namespace mixer::server {

// Flattens `buffer` into one slice: no copy when it already is one. False when it cannot be read.
inline bool flatten(const grpc::ByteBuffer& buffer, grpc::Slice* slice) {
  return buffer.TrySingleSlice(slice).ok() || buffer.DumpToSingleSlice(slice).ok();
}

// The bytes of `slice`, borrowed for as long as it lives.
inline std::string_view view(const grpc::Slice& slice) {
  return {reinterpret_cast<const char*>(slice.begin()), slice.size()};
}

// A one-slice buffer holding a copy of `bytes` (an empty message when they are empty).
inline grpc::ByteBuffer bufferOf(std::string_view bytes) {
  grpc::Slice slice = bytes.empty() ? grpc::Slice() : grpc::Slice(bytes.data(), bytes.size());
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace mixer::server
