// quota: the dimensions a quota is counted by (memquota, redisquota). Variety quota: a request
// names the instance and the amount; the dispatcher deduplicates by the request's id.
#include "aspects/units.h"

namespace mixer::aspects {
namespace {

constexpr Field kFields[] = {
    {"dimensions", FieldType::kValueMap},
};
constexpr Aspect kAspect{"quota", Variety::Quota, kFields};
}  // namespace

const Aspect& quotaAspect() { return kAspect; }

}  // namespace mixer::aspects
