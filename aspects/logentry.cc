// logentry: one log entry (stdio). Variety report.
#include "aspects/units.h"

namespace mixer::aspects {
namespace {

constexpr Field kFields[] = {
    {"variables", FieldType::kValueMap},
    {"timestamp", FieldType::kTimestamp},
    {"severity", FieldType::kString},
    {"monitored_resource_type", FieldType::kString},
    {"monitored_resource_dimensions", FieldType::kValueMap},
};
constexpr std::string_view kLegacyKinds[] = {"access-logs", "application-logs"};
constexpr Aspect kAspect{.name = "logentry",
                         .variety = Variety::Report,
                         .fields = kFields,
                         .legacy_kinds = kLegacyKinds};
}  // namespace

const Aspect& logentryAspect() { return kAspect; }

}  // namespace mixer::aspects
