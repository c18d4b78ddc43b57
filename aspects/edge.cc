// edge: one edge of the service graph (who called whom). Variety report.
#include "aspects/units.h"

namespace mixer::aspects {
namespace {

constexpr Field kFields[] = {
    {"timestamp", FieldType::kTimestamp},
    {"source_workload_namespace", FieldType::kString},
    {"source_workload_name", FieldType::kString},
    {"source_owner", FieldType::kString},
    {"source_uid", FieldType::kString},
    {"destination_workload_namespace", FieldType::kString},
    {"destination_workload_name", FieldType::kString},
    {"destination_owner", FieldType::kString},
    {"destination_uid", FieldType::kString},
    {"destination_service_namespace", FieldType::kString},
    {"destination_service_name", FieldType::kString},
    {"context_reporter_kind", FieldType::kString},
    {"context_reporter_uid", FieldType::kString},
    {"context_protocol", FieldType::kString},
    {"api_protocol", FieldType::kString},
};
constexpr Aspect kAspect{"edge", Variety::Report, kFields};
}  // namespace

const Aspect& edgeAspect() { return kAspect; }

}  // namespace mixer::aspects
