// kubernetes: the attribute generator of Istio's kubernetesenv adapter. Its inputs identify the
// two workloads of a request; its outputs (`$out.<field>` in attribute_bindings) describe them.
// Served by the runtime's in-process generator (a `registryenv` handler) or by an adapter that
// declares the ABI 1.2 `generate` kind (mixer/runtime/attribute_generator.h). The last three
// outputs are this build's, not Istio's.
#include "aspects/units.h"

namespace mixer::aspects {
namespace {

constexpr Field kFields[] = {
    {"source_uid", FieldType::kString},      {"source_ip", FieldType::kIpAddress},
    {"destination_uid", FieldType::kString}, {"destination_ip", FieldType::kIpAddress},
    {"destination_port", FieldType::kInt64},
};
constexpr Field kOutputs[] = {
    {"source_pod_uid", FieldType::kString},
    {"source_pod_ip", FieldType::kIpAddress},
    {"source_pod_name", FieldType::kString},
    {"source_labels", FieldType::kStringMap},
    {"source_namespace", FieldType::kString},
    {"source_service_account_name", FieldType::kString},
    {"source_host_ip", FieldType::kIpAddress},
    {"source_workload_uid", FieldType::kString},
    {"source_workload_name", FieldType::kString},
    {"source_workload_namespace", FieldType::kString},
    {"source_owner", FieldType::kString},
    {"destination_pod_uid", FieldType::kString},
    {"destination_pod_ip", FieldType::kIpAddress},
    {"destination_pod_name", FieldType::kString},
    {"destination_container_name", FieldType::kString},
    {"destination_labels", FieldType::kStringMap},
    {"destination_namespace", FieldType::kString},
    {"destination_service_account_name", FieldType::kString},
    {"destination_host_ip", FieldType::kIpAddress},
    {"destination_owner", FieldType::kString},
    {"destination_workload_uid", FieldType::kString},
    {"destination_workload_name", FieldType::kString},
    {"destination_workload_namespace", FieldType::kString},
    {"destination_service_host", FieldType::kString},
    {"destination_service_name", FieldType::kString},
    {"destination_service_namespace", FieldType::kString},
};
constexpr std::string_view kLegacyKinds[] = {"attributes"};
constexpr Aspect kAspect{.name = "kubernetes",
                         .variety = Variety::AttributeGeneration,
                         .fields = kFields,
                         .outputs = kOutputs,
                         .served = false,
                         .legacy_kinds = kLegacyKinds};
}  // namespace

const Aspect& kubernetesAspect() { return kAspect; }

}  // namespace mixer::aspects
