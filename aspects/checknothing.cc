// checknothing: an instance with no fields, for adapters that decide a Check from their own
// params (denier). Variety check.
#include "aspects/units.h"

namespace mixer::aspects {
namespace {

constexpr std::string_view kLegacyKinds[] = {"denials"};
constexpr Aspect kAspect{
    .name = "checknothing", .variety = Variety::Check, .legacy_kinds = kLegacyKinds};
}  // namespace

const Aspect& checknothingAspect() { return kAspect; }

}  // namespace mixer::aspects
