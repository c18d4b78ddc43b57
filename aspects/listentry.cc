// listentry: the value a list adapter looks up (listchecker). Variety check.
#include "aspects/units.h"

namespace mixer::aspects {
namespace {

constexpr Field kFields[] = {
    {"value", FieldType::kValue, true},  // a string, or an IP address for IP lists
};
constexpr std::string_view kLegacyKinds[] = {"lists"};
constexpr Aspect kAspect{.name = "listentry",
                         .variety = Variety::Check,
                         .fields = kFields,
                         .legacy_kinds = kLegacyKinds};
}  // namespace

const Aspect& listentryAspect() { return kAspect; }

}  // namespace mixer::aspects
