// authorization: who (subject) does what (action). Variety check.
#include "aspects/units.h"

namespace mixer::aspects {
namespace {

constexpr Field kSubject[] = {
    {"user", FieldType::kString},
    {"groups", FieldType::kString},
    {"properties", FieldType::kValueMap},
};
constexpr Field kAction[] = {
    {"namespace", FieldType::kString},    {"service", FieldType::kString},
    {"method", FieldType::kString},       {"path", FieldType::kString},
    {"properties", FieldType::kValueMap},
};
constexpr Field kFields[] = {
    {"subject", FieldType::kMessage, false, kSubject},
    {"action", FieldType::kMessage, false, kAction},
};
constexpr Aspect kAspect{"authorization", Variety::Check, kFields};
}  // namespace

const Aspect& authorizationAspect() { return kAspect; }

}  // namespace mixer::aspects
