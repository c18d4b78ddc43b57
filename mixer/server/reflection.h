// Server reflection for mixs' gRPC port: the answers of grpc.reflection.v1alpha.ServerReflection
// (and of grpc.reflection.v1, the same messages), from the descriptors linked into the binary.
// queue_server.h carries the stream; this file only turns one request's bytes into one
// response's bytes, so that grpcurl and grpc_cli can list and call the port's services.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace mixer::server {

class Reflection {
 public:
  // `services`: the fully-qualified names list_services answers with.
  explicit Reflection(std::vector<std::string> services) : services_(std::move(services)) {}

  // The ServerReflectionResponse to the ServerReflectionRequest `request`. A request for what
  // the binary has no descriptor of is answered with an error_response (NOT_FOUND), as gRPC's
  // own reflection service does. False (and `*response` untouched) when the bytes are not a
  // ServerReflectionRequest. `sent`: the files already sent on this stream, which a file answer
  // leaves out (the protocol allows it); updated.
  bool answer(std::string_view request, std::set<std::string>* sent, std::string* response) const;

 private:
  const std::vector<std::string> services_;
};

}  // namespace mixer::server
