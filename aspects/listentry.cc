// listentry: the value a list adapter looks up (listchecker). Variety check.
#include "aspects/units.h"

namespace mixer::aspects {
namespace {

constexpr Field kFields[] = {
    {"value", FieldType::kValue, true},  // a string, or an IP address for IP lists
};
constexpr Aspect kAspect{"listentry", Variety::Check, kFields};
}  // namespace

const Aspect& listentryAspect() { return kAspect; }

}  // namespace mixer::aspects
