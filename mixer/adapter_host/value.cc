#include "mixer/adapter_host/value.h"

#include "mixer/adapter_sdk/value_view.h"

namespace mixer::adapter_host {
namespace {

mixer_string view(const std::string& s) { return mixer_string{s.data(), s.size()}; }

std::string copy(const mixer_string& s) {
  return s.data == nullptr ? std::string() : std::string(s.data, s.size);
}

}  // namespace

AbiValue AbiValue::float64(double v) {
  AbiValue out;
  out.type_ = MIXER_VALUE_DOUBLE;
  out.double_ = v;
  return out;
}

AbiValue AbiValue::boolean(bool v) {
  AbiValue out;
  out.type_ = MIXER_VALUE_BOOL;
  out.int_ = v ? 1 : 0;
  return out;
}

AbiValue AbiValue::list(List items) {
  AbiValue out;
  out.type_ = MIXER_VALUE_LIST;
  out.list_ = std::move(items);
  return out;
}

AbiValue AbiValue::map(Map entries) {
  AbiValue out;
  out.type_ = MIXER_VALUE_MAP;
  out.map_ = std::move(entries);
  return out;
}

AbiValue AbiValue::stringMap(const std::vector<std::pair<std::string, std::string>>& entries) {
  AbiValue out;
  out.type_ = MIXER_VALUE_STRING_MAP;
  out.map_.reserve(entries.size());
  for (const auto& [key, value] : entries) {
    out.map_.emplace_back(key, AbiValue::string(value));
  }
  return out;
}

AbiValue AbiValue::fromAbi(const mixer_value* value) {
  if (value == nullptr) {
    return AbiValue();
  }
  if (adapter_sdk::isStringLikeType(value->type)) {
    return AbiValue(value->type, copy(value->u.string_value));
  }
  switch (value->type) {
    case MIXER_VALUE_INT64:
    case MIXER_VALUE_TIMESTAMP:
    case MIXER_VALUE_DURATION:
      return AbiValue(value->type, value->u.int64_value);
    case MIXER_VALUE_DOUBLE:
      return float64(value->u.double_value);
    case MIXER_VALUE_BOOL:
      return boolean(value->u.bool_value != 0);
    case MIXER_VALUE_LIST: {
      List items;
      for (size_t i = 0; i < value->u.list_value.count; ++i) {
        items.push_back(fromAbi(&value->u.list_value.items[i]));
      }
      return list(std::move(items));
    }
    case MIXER_VALUE_MAP:
    case MIXER_VALUE_STRING_MAP: {
      AbiValue out = map();
      out.type_ = value->type;
      for (size_t i = 0; i < value->u.map_value.count; ++i) {
        const mixer_map_entry& e = value->u.map_value.entries[i];
        out.map_.emplace_back(copy(e.key), fromAbi(&e.value));
      }
      return out;
    }
    default:
      return AbiValue();
  }
}

const AbiValue* AbiValue::find(std::string_view key) const {
  for (const auto& [k, v] : map_) {
    if (k == key) {
      return &v;
    }
  }
  return nullptr;
}

AbiValue& AbiValue::set(std::string key, AbiValue value) {
  if (type_ == MIXER_VALUE_NULL) {
    type_ = MIXER_VALUE_MAP;
  }
  for (auto& [k, v] : map_) {
    if (k == key) {
      v = std::move(value);
      return v;
    }
  }
  map_.emplace_back(std::move(key), std::move(value));
  return map_.back().second;
}

bool operator==(const AbiValue& a, const AbiValue& b) {
  return a.type_ == b.type_ && a.int_ == b.int_ && a.double_ == b.double_ &&
         a.string_ == b.string_ && a.list_ == b.list_ && a.map_ == b.map_;
}

EncodedValue::EncodedValue(const AbiValue& value) { encode(value, &root_); }

void EncodedValue::encode(const AbiValue& value, mixer_value* out) {
  *out = mixer_value{};
  out->type = value.type();
  if (adapter_sdk::isStringLikeType(value.type())) {
    out->u.string_value = view(value.stringValue());
    return;
  }
  switch (value.type()) {
    case MIXER_VALUE_INT64:
    case MIXER_VALUE_TIMESTAMP:
    case MIXER_VALUE_DURATION:
      out->u.int64_value = value.int64Value();
      break;
    case MIXER_VALUE_DOUBLE:
      out->u.double_value = value.doubleValue();
      break;
    case MIXER_VALUE_BOOL:
      out->u.bool_value = value.boolValue() ? 1 : 0;
      break;
    case MIXER_VALUE_LIST: {
      const AbiValue::List& items = value.listValue();
      auto array = std::make_unique<mixer_value[]>(items.size());
      for (size_t i = 0; i < items.size(); ++i) {
        encode(items[i], &array[i]);
      }
      out->u.list_value.items = array.get();
      out->u.list_value.count = items.size();
      lists_.push_back(std::move(array));
      break;
    }
    case MIXER_VALUE_MAP:
    case MIXER_VALUE_STRING_MAP: {
      const AbiValue::Map& entries = value.mapValue();
      auto array = std::make_unique<mixer_map_entry[]>(entries.size());
      for (size_t i = 0; i < entries.size(); ++i) {
        array[i].key = view(entries[i].first);
        encode(entries[i].second, &array[i].value);
      }
      out->u.map_value.entries = array.get();
      out->u.map_value.count = entries.size();
      maps_.push_back(std::move(array));
      break;
    }
    default:
      break;
  }
}

EncodedInstance::EncodedInstance(const Instance& instance) : fields_(instance.fields) {
  instance_.struct_size = sizeof(instance_);
  instance_.name = view(instance.name);
  instance_.template_name = view(instance.template_name);
  instance_.fields = *fields_.get();
}

}  // namespace mixer::adapter_host
