// metric: one measurement and its dimensions (prometheus). Variety report. Without `value` every
// report of the instance would be dropped, so it is required.
#include "aspects/units.h"

namespace mixer::aspects {
namespace {

constexpr Field kFields[] = {
    {"value", FieldType::kValue, true},
    {"dimensions", FieldType::kValueMap},
    {"monitored_resource_type", FieldType::kString},
    {"monitored_resource_dimensions", FieldType::kValueMap},
};
constexpr Aspect kAspect{"metric", Variety::Report, kFields};
}  // namespace

const Aspect& metricAspect() { return kAspect; }

}  // namespace mixer::aspects
