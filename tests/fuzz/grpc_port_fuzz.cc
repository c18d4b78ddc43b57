// Fuzz target: the request messages mixs' gRPC port parses itself besides the Mixer and Envoy
// APIs: grpc.health.v1.HealthCheckRequest (mixer/server/health_state.h) and the server
// reflection request (mixer/server/reflection.h). Invariants beyond "no crash": a health request
// that parses names a service whose status is one of the three a known or unknown service has;
// a reflection answer carries the request back, byte for byte, as its original_request.
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "mixer/server/health_state.h"
#include "mixer/server/reflection.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using mixer::server::HealthState;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  static HealthState* health = [] {
    auto* h = new HealthState({"istio.mixer.v1.Mixer"});
    h->setServing(true);
    return h;
  }();
  std::string service;
  if (HealthState::parseRequest(input, &service)) {
    const HealthState::Status s = health->status(service);
    const bool known = service.empty() || service == "istio.mixer.v1.Mixer";
    if ((s == HealthState::kServing) != known || (!known && s != HealthState::kServiceUnknown)) {
      std::abort();
    }
  }
  static const mixer::server::Reflection reflection({"istio.mixer.v1.Mixer"});
  std::set<std::string> sent;
  std::string response;
  if (reflection.answer(input, &sent, &response)) {
    using google::protobuf::internal::WireFormatLite;
    google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(response.data()),
                                              static_cast<int>(response.size()));
    bool echoed = false;
    while (uint32_t tag = in.ReadTag()) {
      std::string field;
      if (!WireFormatLite::ReadBytes(&in, &field)) std::abort();
      if (WireFormatLite::GetTagFieldNumber(tag) == 2) echoed = field == input;
    }
    if (!echoed || !in.ConsumedEntireMessage()) std::abort();
  }
  return 0;
}
