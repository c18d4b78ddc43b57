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
constexpr std::string_view kLegacyKinds[] = {"metrics"};
constexpr Aspect kAspect{
    .name = "metric", .variety = Variety::Report, .fields = kFields, .legacy_kinds = kLegacyKinds};
}  // namespace

const Aspect& metricAspect() { return kAspect; }

}  // namespace mixer::aspects
