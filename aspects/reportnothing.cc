// reportnothing: an instance with no fields, for adapters that only count reports. Variety
// report.
#include "aspects/units.h"

namespace mixer::aspects {
namespace {

constexpr Aspect kAspect{"reportnothing", Variety::Report, {}};
}  // namespace

const Aspect& reportnothingAspect() { return kAspect; }

}  // namespace mixer::aspects
