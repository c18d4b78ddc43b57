// Fuzz target: the proxy's handling of a CheckResponse (bytes from the server): the precondition's
// ReferencedAttributes become a check-cache key, quota results feed the quota cache, the route
// directive is copied out. Invariants beyond "no crash, no hang": an answer the cache accepts,
// with uses left and time left, must be found again for the same request with the same code;
// and a request that differs in a value the answer referenced as EXACT must not hit it.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "base/word_compression.h"
#include "mixer/api/global_dictionary.h"
#include "proxy-filter/core/check_cache.h"
#include "proxy-filter/core/quota_cache.h"

namespace {

using istio::mixer::v1::CheckResponse;
using istio::mixer::v1::ReferencedAttributes;
using mixer::proxy::Attributes;
using mixer::proxy::CheckCache;
using mixer::proxy::CheckResult;
using mixer::proxy::QuotaCache;
using mixer::proxy::RouteDirective;

std::string wordOf(int32_t index, const ReferencedAttributes& r) {
  return std::string(mixer::base::wordAt(index, mixer::api::kGlobalWords, r.words()).value_or(""));
}

// A request that satisfies the references: EXACT names present (maps with the key), ABSENCE
// names left out.
Attributes requestFor(const ReferencedAttributes& r, const std::string& value) {
  Attributes a;
  for (const auto& m : r.attribute_matches()) {
    if (m.condition() != ReferencedAttributes::EXACT) {
      continue;
    }
    const std::string name = wordOf(m.name(), r);
    if (m.map_key() != 0) {
      a.setMapEntry(name, wordOf(m.map_key(), r), value);
    } else {
      a.setString(name, value);
    }
  }
  return a;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CheckResponse response;
  if (!response.ParseFromArray(data, static_cast<int>(size))) {
    return 0;
  }
  const auto& precondition = response.precondition();
  (void)RouteDirective::fromProto(precondition.route_directive());

  CheckCache cache;
  const Attributes request = requestFor(precondition.referenced_attributes(), "v1");
  const bool stored = cache.insert(request, precondition, 0).ok();
  const auto& d = precondition.valid_duration();
  const bool sane_duration = d.seconds() >= 0 && d.seconds() < 1000000000 && d.nanos() >= 0;
  const bool alive =
      precondition.valid_use_count() > 0 &&
      (!precondition.has_valid_duration() || (sane_duration && (d.seconds() > 0 || d.nanos() > 0)));
  CheckResult out;
  const bool hit = cache.lookup(request, 0, &out);
  if (stored && alive) {
    if (!hit || static_cast<int32_t>(out.code) != precondition.status().code()) {
      std::abort();
    }
    // The same shape with other values: a hit only when nothing was referenced as EXACT (an
    // ABSENCE-only key matches any request lacking those names).
    const Attributes other = requestFor(precondition.referenced_attributes(), "v2");
    if (cache.lookup(other, 0, &out) && other.size() > 0 && !(other == request)) {
      std::abort();
    }
  }

  QuotaCache quotas;
  for (const auto& [name, result] : response.quotas()) {
    auto decision = quotas.check(name, 1, request, 0);
    quotas.onResult(name, request, decision, result, 0);
    decision = quotas.check(name, 1, request, 1);
    quotas.onResult(name, request, decision, result, 1);
  }
  return 0;
}
