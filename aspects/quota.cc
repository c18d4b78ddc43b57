// quota: the dimensions a quota is counted by (memquota, redisquota). Variety quota: a request
// names the instance and the amount; the dispatcher deduplicates by the request's id.
#include "aspects/units.h"

namespace mixer::aspects {
namespace {

constexpr Field kFields[] = {
    {"dimensions", FieldType::kValueMap},
};
constexpr std::string_view kLegacyKinds[] = {"quotas"};
constexpr Aspect kAspect{
    .name = "quota", .variety = Variety::Quota, .fields = kFields, .legacy_kinds = kLegacyKinds};
}  // namespace

const Aspect& quotaAspect() { return kAspect; }

}  // namespace mixer::aspects
