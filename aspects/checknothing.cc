// checknothing: an instance with no fields, for adapters that decide a Check from their own
// params (denier). Variety check.
#include "aspects/units.h"

namespace mixer::aspects {
namespace {

constexpr Aspect kAspect{"checknothing", Variety::Check, {}};
}  // namespace

const Aspect& checknothingAspect() { return kAspect; }

}  // namespace mixer::aspects
