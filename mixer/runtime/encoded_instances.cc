#include "mixer/runtime/encoded_instances.h"

#include "mixer/adapter_sdk/value_view.h"

namespace mixer::runtime {
namespace {

// While building, pointers hold offsets into the arrays.
template <typename T>
const T* offset(size_t i) {
  return reinterpret_cast<const T*>(static_cast<uintptr_t>(i));
}

size_t offsetOf(const void* p) { return static_cast<size_t>(reinterpret_cast<uintptr_t>(p)); }

// While building, a string pointer is an offset into the text buffer, or, with this bit set, the
// address of a string outside it (user-space addresses never have the top bit set).
constexpr uintptr_t kExternalBit = uintptr_t{1} << (sizeof(uintptr_t) * 8 - 1);

using adapter_sdk::isStringLikeType;

}  // namespace

void EncodedInstances::clear() {
  instances_.clear();
  entries_.clear();
  items_.clear();
  text_.clear();
  pointers_.clear();
}

void EncodedInstances::rollback(const Mark& m) {
  instances_.resize(m.instances);
  entries_.resize(m.entries);
  items_.resize(m.items);
  text_.resize(m.text);
}

mixer_string EncodedInstances::text(std::string_view s) {
  mixer_string out{offset<char>(text_.size()), s.size()};
  text_.insert(text_.end(), s.begin(), s.end());
  return out;
}

mixer_string EncodedInstances::external(std::string_view s) {
  return {reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(s.data()) | kExternalBit),
          s.size()};
}

size_t EncodedInstances::addInstance(std::string_view name, std::string_view template_name,
                                     size_t field_count) {
  mixer_instance& i = instances_.emplace_back();
  i.struct_size = sizeof(mixer_instance);
  i.name = external(name);
  i.template_name = external(template_name);
  const size_t base = entries_.size();
  entries_.resize(base + field_count);
  i.fields.type = MIXER_VALUE_MAP;
  i.fields.u.map_value.entries = offset<mixer_map_entry>(base);
  i.fields.u.map_value.count = field_count;
  return base;
}

size_t EncodedInstances::setMap(Slot slot, size_t count) {
  const size_t base = entries_.size();
  entries_.resize(base + count);
  mixer_value& v = at(slot);
  v = mixer_value{};
  v.type = MIXER_VALUE_MAP;
  v.u.map_value.entries = offset<mixer_map_entry>(base);
  v.u.map_value.count = count;
  return base;
}

void EncodedInstances::setKey(size_t entry, std::string_view key) {
  entries_[entry].key = external(key);
}

void EncodedInstances::setValue(Slot slot, const expr::Value& v) {
  mixer_value out{};
  switch (v.type) {
    case expr::ValueType::kString:
      out.type = MIXER_VALUE_STRING;
      break;
    case expr::ValueType::kDnsName:
      out.type = MIXER_VALUE_DNS_NAME;
      break;
    case expr::ValueType::kEmailAddress:
      out.type = MIXER_VALUE_EMAIL_ADDRESS;
      break;
    case expr::ValueType::kUri:
      out.type = MIXER_VALUE_URI;
      break;
    case expr::ValueType::kIpAddress:
      out.type = MIXER_VALUE_IP_ADDRESS;
      break;
    case expr::ValueType::kBytes:
      out.type = MIXER_VALUE_BYTES;
      break;
    case expr::ValueType::kInt64:
      out.type = MIXER_VALUE_INT64;
      out.u.int64_value = v.int_value;
      break;
    case expr::ValueType::kUint64:
      out.type = MIXER_VALUE_INT64;
      out.u.int64_value = static_cast<int64_t>(v.uint_value);
      break;
    case expr::ValueType::kDouble:
      out.type = MIXER_VALUE_DOUBLE;
      out.u.double_value = v.double_value;
      break;
    case expr::ValueType::kBool:
      out.type = MIXER_VALUE_BOOL;
      out.u.bool_value = v.bool_value ? 1 : 0;
      break;
    case expr::ValueType::kTimestamp:
      out.type = MIXER_VALUE_TIMESTAMP;
      out.u.int64_value = v.timestamp.seconds * 1000000000 + v.timestamp.nanos;
      break;
    case expr::ValueType::kDuration:
      out.type = MIXER_VALUE_DURATION;
      out.u.int64_value = v.int_value;
      break;
    case expr::ValueType::kStringMap: {
      const size_t n = v.string_map->size();
      const size_t base = entries_.size();
      entries_.resize(base + n);
      for (size_t i = 0; i < n; ++i) {
        std::string_view k, val;
        v.string_map->entry(i, &k, &val);
        const mixer_string ks = text(k);
        const mixer_string vs = text(val);
        mixer_map_entry& e = entries_[base + i];
        e.key = ks;
        e.value.type = MIXER_VALUE_STRING;
        e.value.u.string_value = vs;
      }
      out.type = MIXER_VALUE_STRING_MAP;
      out.u.map_value.entries = offset<mixer_map_entry>(base);
      out.u.map_value.count = n;
      at(slot) = out;
      return;
    }
    case expr::ValueType::kList: {
      const size_t n = v.list->size;
      const size_t base = items_.size();
      items_.resize(base + n);
      for (size_t i = 0; i < n; ++i) {
        setValue(Slot{true, base + i}, v.list->elements[i]);
      }
      out.type = MIXER_VALUE_LIST;
      out.u.list_value.items = offset<mixer_value>(base);
      out.u.list_value.count = n;
      at(slot) = out;
      return;
    }
    default:
      at(slot) = out;  // MIXER_VALUE_NULL
      return;
  }
  if (isStringLikeType(out.type)) {
    out.u.string_value = text(v.stringView());
  }
  at(slot) = out;
}

void EncodedInstances::finalize() {
  const char* text = text_.data();
  auto fixString = [text](mixer_string& s) {
    const uintptr_t at = reinterpret_cast<uintptr_t>(s.data);
    s.data =
        (at & kExternalBit) != 0 ? reinterpret_cast<const char*>(at & ~kExternalBit) : text + at;
  };
  auto fixValue = [&](mixer_value& v) {
    if (isStringLikeType(v.type)) {
      fixString(v.u.string_value);
    } else if (v.type == MIXER_VALUE_MAP || v.type == MIXER_VALUE_STRING_MAP) {
      v.u.map_value.entries = entries_.data() + offsetOf(v.u.map_value.entries);
    } else if (v.type == MIXER_VALUE_LIST) {
      v.u.list_value.items = items_.data() + offsetOf(v.u.list_value.items);
    }
  };
  for (mixer_instance& i : instances_) {
    fixString(i.name);
    fixString(i.template_name);
    fixValue(i.fields);
  }
  for (mixer_map_entry& e : entries_) {
    fixString(e.key);
    fixValue(e.value);
  }
  for (mixer_value& v : items_) {
    fixValue(v);
  }
  pointers_.resize(instances_.size());
  for (size_t i = 0; i < instances_.size(); ++i) {
    pointers_[i] = &instances_[i];
  }
}

}  // namespace mixer::runtime
