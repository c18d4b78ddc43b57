// apikey: the API, operation and key of a request, for key validation. Variety check.
#include "aspects/units.h"

namespace mixer::aspects {
namespace {

constexpr Field kFields[] = {
    {"api", FieldType::kString},           {"api_version", FieldType::kString},
    {"api_operation", FieldType::kString}, {"api_key", FieldType::kString},
    {"timestamp", FieldType::kTimestamp},
};
constexpr Aspect kAspect{"apikey", Variety::Check, kFields};
}  // namespace

const Aspect& apikeyAspect() { return kAspect; }

}  // namespace mixer::aspects
