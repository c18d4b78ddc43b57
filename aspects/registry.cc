#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <vector>

#include "aspects/aspect.h"
#include "aspects/units.h"

namespace mixer::aspects {
namespace {

const std::array<const Aspect*, 11>& registry() {
  static const std::array<const Aspect*, 11> kAll = {
      &checknothingAspect(),  &listentryAspect(), &quotaAspect(),         &metricAspect(),
      &logentryAspect(),      &tracespanAspect(), &reportnothingAspect(), &edgeAspect(),
      &authorizationAspect(), &apikeyAspect(),    &kubernetesAspect()};
  return kAll;
}

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// True when `key` is `snake` ("monitored_resource_type") or its lowerCamelCase spelling
// ("monitoredResourceType").
bool spells(std::string_view key, std::string_view snake) {
  if (key == snake) {
    return true;
  }
  size_t k = 0;
  for (size_t s = 0; s < snake.size(); ++s, ++k) {
    char want = snake[s];
    if (want == '_' && s + 1 < snake.size()) {
      want = static_cast<char>(std::toupper(static_cast<unsigned char>(snake[++s])));
    }
    if (k >= key.size() || key[k] != want) {
      return false;
    }
  }
  return k == key.size();
}

}  // namespace

std::span<const Aspect* const> all() { return registry(); }

const Aspect* find(std::string_view template_name) {
  for (const Aspect* a : registry()) {
    if (equalsIgnoringCase(a->name, template_name)) {
      return a;
    }
  }
  return nullptr;
}

const Aspect* findByLegacyKind(std::string_view legacy_kind) {
  for (const Aspect* a : registry()) {
    for (std::string_view k : a->legacy_kinds) {
      if (k == legacy_kind) {
        return a;
      }
    }
  }
  return nullptr;
}

std::string legacyKindNames() {
  std::vector<std::string_view> kinds;
  for (const Aspect* a : registry()) {
    kinds.insert(kinds.end(), a->legacy_kinds.begin(), a->legacy_kinds.end());
  }
  std::sort(kinds.begin(), kinds.end());
  std::string out;
  for (size_t i = 0; i < kinds.size(); ++i) {
    out += i == 0 ? "" : (i + 1 == kinds.size() ? " or " : ", ");
    out += kinds[i];
  }
  return out;
}

const Field* findField(std::span<const Field> fields, std::string_view key) {
  for (const Field& f : fields) {
    if (spells(key, f.name)) {
      return &f;
    }
  }
  return nullptr;
}

std::string fieldNames(std::span<const Field> fields) {
  std::string out;
  for (const Field& f : fields) {
    if (!out.empty()) {
      out += ", ";
    }
    out += f.name;
  }
  return out.empty() ? "none" : out;
}

std::string_view varietyName(Variety v) {
  switch (v) {
    case Variety::Check:
      return "check";
    case Variety::Quota:
      return "quota";
    case Variety::Report:
      return "report";
    case Variety::AttributeGeneration:
      return "attribute generation";
  }
  return "unknown";
}

std::string_view fieldTypeName(FieldType t) {
  switch (t) {
    case FieldType::kValue:
      return "Value";
    case FieldType::kString:
      return "STRING";
    case FieldType::kInt64:
      return "INT64";
    case FieldType::kDouble:
      return "DOUBLE";
    case FieldType::kBool:
      return "BOOL";
    case FieldType::kTimestamp:
      return "TIMESTAMP";
    case FieldType::kDuration:
      return "DURATION";
    case FieldType::kIpAddress:
      return "IP_ADDRESS";
    case FieldType::kValueMap:
      return "map<string, Value>";
    case FieldType::kStringMap:
      return "map<string, string>";
    case FieldType::kMessage:
      return "message";
  }
  return "unknown";
}

bool fits(FieldType field, expr::ValueType type) {
  using T = expr::ValueType;
  if (type == T::kDyn || type == T::kUnspecified || type == T::kNull || type == T::kError) {
    return true;  // known only when evaluated
  }
  switch (field) {
    case FieldType::kValue:
      return true;
    case FieldType::kString:
      return type == T::kString || type == T::kDnsName || type == T::kEmailAddress ||
             type == T::kUri;
    case FieldType::kInt64:
      return type == T::kInt64 || type == T::kUint64;
    case FieldType::kDouble:
      return type == T::kDouble || type == T::kInt64;
    case FieldType::kBool:
      return type == T::kBool;
    case FieldType::kTimestamp:
      return type == T::kTimestamp;
    case FieldType::kDuration:
      return type == T::kDuration;
    case FieldType::kIpAddress:
      return type == T::kIpAddress || type == T::kBytes;
    case FieldType::kValueMap:
    case FieldType::kStringMap:
      return type == T::kStringMap || type == T::kMap;
    case FieldType::kMessage:
      return false;
  }
  return false;
}

}  // namespace mixer::aspects
