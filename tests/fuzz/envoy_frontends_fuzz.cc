// Fuzz targets: the Envoy front-ends' decoders (frontends/envoy), one per API, chosen by
// ENVOY_FUZZ_API (1 ext_authz CheckRequest, 2 RateLimitRequest, 3 StreamAccessLogsMessage).
// Each input goes through the whole service with no rules. Invariants beyond "no crash, no hang":
// the answer is OK or INVALID_ARGUMENT and an OK answer is a valid response message; for
// ext_authz, whatever protobuf also parses reads the same in place as its canonical re-encoding
// (merge, last-value, oneof and map semantics agree with protobuf's).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "envoy/service/accesslog/v3/als.pb.h"
#include "envoy/service/auth/v3/external_auth.pb.h"
#include "envoy/service/ratelimit/v3/rls.pb.h"
#include "frontends/envoy/envoy_services.h"

namespace {

using mixer::attribute::AttributeBag;
using mixer::attribute::AttributeValue;

struct Fixture {
  mixer::attribute::VocabularyConstSharedPtr vocab = mixer::attribute::Vocabulary::builtin();
  mixer::runtime::FixedDispatcherSource source{std::make_shared<mixer::runtime::Dispatcher>(
      mixer::runtime::ConfigSnapshot::empty(vocab), nullptr)};
  frontends::envoy::EnvoyFrontends envoy{&source, frontends::envoy::Options{}};
  frontends::envoy::AttributeIds ids{*vocab};
};

void check(bool ok) {
  if (!ok) std::abort();
}

bool okOrInvalid(const grpc::Status& s) {
  return s.ok() || s.error_code() == grpc::StatusCode::INVALID_ARGUMENT;
}

// The bag `bytes` maps to, or false when it does not decode or map. `slot` picks the view and
// mapper, whose storage the bag's values point into.
bool mapAuthz(const Fixture& f, std::string_view bytes, int slot, AttributeBag* bag) {
  static frontends::envoy::CheckRequestView views[2];
  static frontends::envoy::AttributeMapper mappers[2];
  auto& view = views[slot];
  auto& mapper = mappers[slot];
  bag->clear();
  return frontends::envoy::parseAuthzCheckRequest(bytes, &view).ok() &&
         mapper.mapCheck(view, f.ids, bag).ok();
}

void sameBags(const AttributeBag& a, const AttributeBag& b) {
  check(a.size() == b.size());
  a.forEach([&](std::string_view name, const AttributeValue& v) {
    const AttributeValue* got = b.find(name);
    check(got != nullptr && got->equals(v));
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture f;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string out;
#if ENVOY_FUZZ_API == 1
  grpc::Status s = f.envoy.handleAuthzCheck(input, &out);
  check(okOrInvalid(s));
  if (s.ok()) {
    envoy::service::auth::v3::CheckResponse resp;
    check(resp.ParseFromString(out));
  }
  envoy::service::auth::v3::CheckRequest req;
  AttributeBag original(f.vocab), canonical(f.vocab);
  if (req.ParseFromArray(data, static_cast<int>(size)) && mapAuthz(f, input, 0, &original)) {
    const std::string again = req.SerializeAsString();
    // The canonical bytes may exceed a limit the original stayed under only if mapping failed.
    check(mapAuthz(f, again, 1, &canonical));
    sameBags(original, canonical);
  }
#elif ENVOY_FUZZ_API == 2
  grpc::Status s = f.envoy.handleRateLimit(input, &out);
  check(okOrInvalid(s));
  if (s.ok()) {
    envoy::service::ratelimit::v3::RateLimitResponse resp;
    check(resp.ParseFromString(out));
    envoy::service::ratelimit::v3::RateLimitRequest req;
    check(req.ParseFromArray(data, static_cast<int>(size)));
    check(resp.statuses_size() == req.descriptors_size());
  }
#elif ENVOY_FUZZ_API == 3
  std::string reporter;
  check(okOrInvalid(f.envoy.accessLogs(input, &reporter)));
#else
#error "ENVOY_FUZZ_API must be 1, 2 or 3"
#endif
  return 0;
}
