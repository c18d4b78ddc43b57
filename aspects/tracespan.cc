// tracespan: one span of a distributed trace (zipkin). Variety report.
#include "aspects/units.h"

namespace mixer::aspects {
namespace {

constexpr Field kFields[] = {
    {"trace_id", FieldType::kString},         {"span_id", FieldType::kString},
    {"parent_span_id", FieldType::kString},   {"span_name", FieldType::kString},
    {"start_time", FieldType::kTimestamp},    {"end_time", FieldType::kTimestamp},
    {"span_tags", FieldType::kValueMap},      {"http_status_code", FieldType::kInt64},
    {"client_span", FieldType::kBool},        {"rewrite_client_span_id", FieldType::kBool},
    {"source_name", FieldType::kString},      {"source_ip", FieldType::kIpAddress},
    {"destination_name", FieldType::kString}, {"destination_ip", FieldType::kIpAddress},
    {"request_size", FieldType::kInt64},      {"request_total_size", FieldType::kInt64},
    {"response_size", FieldType::kInt64},     {"response_total_size", FieldType::kInt64},
    {"api_protocol", FieldType::kString},
};
constexpr Aspect kAspect{"tracespan", Variety::Report, kFields};
}  // namespace

const Aspect& tracespanAspect() { return kAspect; }

}  // namespace mixer::aspects
