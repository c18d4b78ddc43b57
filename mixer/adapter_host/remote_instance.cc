#include "mixer/adapter_host/remote_instance.h"

#include <google/protobuf/descriptor.h>

#include "mixer/adapter_sdk/value_view.h"

#include <string>
#include <string_view>

namespace mixer::adapter_host {
namespace {

namespace pb = google::protobuf;

std::string_view view(const mixer_string& s) {
  return s.data == nullptr ? std::string_view() : std::string_view(s.data, s.size);
}

// ---- Instances: mixer_value -> dynamic message ----------------------------------------------

void setTime(pb::Message* msg, int64_t ns) {
  const pb::Descriptor* d = msg->GetDescriptor();
  const pb::Reflection* r = msg->GetReflection();
  int64_t seconds = ns / 1000000000;
  int64_t nanos = ns % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    --seconds;
  }
  if (const auto* f = d->FindFieldByName("seconds")) {
    r->SetInt64(msg, f, seconds);
  }
  if (const auto* f = d->FindFieldByName("nanos")) {
    r->SetInt32(msg, f, static_cast<int32_t>(nanos));
  }
}

using adapter_sdk::isStringLikeType;

void setMessage(pb::Message* msg, const mixer_value& v);

// istio.policy.v1beta1.Value: the oneof member for the value's type.
void setPolicyValue(pb::Message* msg, const mixer_value& v) {
  const pb::Descriptor* d = msg->GetDescriptor();
  const pb::Reflection* r = msg->GetReflection();
  auto wrapped = [&](const char* field) -> pb::Message* {
    const auto* f = d->FindFieldByName(field);
    return f == nullptr ? nullptr : r->MutableMessage(msg, f);
  };
  auto wrappedString = [&](const char* field) {
    if (pb::Message* m = wrapped(field)) {
      if (const auto* f = m->GetDescriptor()->FindFieldByName("value")) {
        m->GetReflection()->SetString(m, f, std::string(view(v.u.string_value)));
      }
    }
  };
  switch (v.type) {
    case MIXER_VALUE_STRING:
    case MIXER_VALUE_BYTES:
      if (const auto* f = d->FindFieldByName("string_value")) {
        r->SetString(msg, f, std::string(view(v.u.string_value)));
      }
      break;
    case MIXER_VALUE_INT64:
      if (const auto* f = d->FindFieldByName("int64_value")) {
        r->SetInt64(msg, f, v.u.int64_value);
      }
      break;
    case MIXER_VALUE_DOUBLE:
      if (const auto* f = d->FindFieldByName("double_value")) {
        r->SetDouble(msg, f, v.u.double_value);
      }
      break;
    case MIXER_VALUE_BOOL:
      if (const auto* f = d->FindFieldByName("bool_value")) {
        r->SetBool(msg, f, v.u.bool_value != 0);
      }
      break;
    case MIXER_VALUE_IP_ADDRESS:
      wrappedString("ip_address_value");
      break;
    case MIXER_VALUE_EMAIL_ADDRESS:
      wrappedString("email_address_value");
      break;
    case MIXER_VALUE_URI:
      wrappedString("uri_value");
      break;
    case MIXER_VALUE_DNS_NAME:
      wrappedString("dns_name_value");
      break;
    case MIXER_VALUE_TIMESTAMP:
    case MIXER_VALUE_DURATION:
      if (pb::Message* m =
              wrapped(v.type == MIXER_VALUE_TIMESTAMP ? "timestamp_value" : "duration_value")) {
        if (const auto* f = m->GetDescriptor()->FindFieldByName("value")) {
          setTime(m->GetReflection()->MutableMessage(m, f), v.u.int64_value);
        }
      }
      break;
    case MIXER_VALUE_STRING_MAP:
      // Istio 1.4's AbiValue has string_map_value (StringMap{map<string,string> value}); 1.1's
      // has none, and the value is then left unset.
      if (pb::Message* m = wrapped("string_map_value")) {
        if (const auto* f = m->GetDescriptor()->FindFieldByName("value")) {
          const pb::Reflection* mr = m->GetReflection();
          for (size_t i = 0; i < v.u.map_value.count; ++i) {
            const mixer_map_entry& e = v.u.map_value.entries[i];
            pb::Message* entry = mr->AddMessage(m, f);
            const pb::Descriptor* ed = entry->GetDescriptor();
            entry->GetReflection()->SetString(entry, ed->FindFieldByName("key"),
                                              std::string(view(e.key)));
            if (isStringLikeType(e.value.type)) {
              entry->GetReflection()->SetString(entry, ed->FindFieldByName("value"),
                                                std::string(view(e.value.u.string_value)));
            }
          }
        }
      }
      break;
    default:
      break;
  }
}

// A singular field of `msg` from `v`, converted to the field's type; a value that does not
// convert leaves the field unset (as Istio's encoder leaves an absent value).
void setField(pb::Message* msg, const pb::FieldDescriptor* f, const mixer_value& v) {
  const pb::Reflection* r = msg->GetReflection();
  using FD = pb::FieldDescriptor;
  switch (f->cpp_type()) {
    case FD::CPPTYPE_STRING:
      if (isStringLikeType(v.type)) {
        r->SetString(msg, f, std::string(view(v.u.string_value)));
      }
      break;
    case FD::CPPTYPE_INT64:
      if (v.type == MIXER_VALUE_INT64 || v.type == MIXER_VALUE_TIMESTAMP ||
          v.type == MIXER_VALUE_DURATION) {
        r->SetInt64(msg, f, v.u.int64_value);
      }
      break;
    case FD::CPPTYPE_INT32:
      if (v.type == MIXER_VALUE_INT64) {
        r->SetInt32(msg, f, static_cast<int32_t>(v.u.int64_value));
      }
      break;
    case FD::CPPTYPE_UINT64:
      if (v.type == MIXER_VALUE_INT64) {
        r->SetUInt64(msg, f, static_cast<uint64_t>(v.u.int64_value));
      }
      break;
    case FD::CPPTYPE_UINT32:
      if (v.type == MIXER_VALUE_INT64) {
        r->SetUInt32(msg, f, static_cast<uint32_t>(v.u.int64_value));
      }
      break;
    case FD::CPPTYPE_DOUBLE:
      if (v.type == MIXER_VALUE_DOUBLE) {
        r->SetDouble(msg, f, v.u.double_value);
      } else if (v.type == MIXER_VALUE_INT64) {
        r->SetDouble(msg, f, static_cast<double>(v.u.int64_value));
      }
      break;
    case FD::CPPTYPE_FLOAT:
      if (v.type == MIXER_VALUE_DOUBLE) {
        r->SetFloat(msg, f, static_cast<float>(v.u.double_value));
      }
      break;
    case FD::CPPTYPE_BOOL:
      if (v.type == MIXER_VALUE_BOOL) {
        r->SetBool(msg, f, v.u.bool_value != 0);
      }
      break;
    case FD::CPPTYPE_ENUM:
      if (v.type == MIXER_VALUE_INT64) {
        r->SetEnumValue(msg, f, static_cast<int>(v.u.int64_value));
      } else if (isStringLikeType(v.type)) {
        if (const auto* e = f->enum_type()->FindValueByName(std::string(view(v.u.string_value)))) {
          r->SetEnum(msg, f, e);
        }
      }
      break;
    case FD::CPPTYPE_MESSAGE: {
      const std::string& type = f->message_type()->full_name();
      if (type == "istio.policy.v1beta1.Value") {
        setPolicyValue(r->MutableMessage(msg, f), v);
      } else if (type == "istio.policy.v1beta1.TimeStamp" ||
                 type == "istio.policy.v1beta1.Duration") {
        if (v.type == MIXER_VALUE_TIMESTAMP || v.type == MIXER_VALUE_DURATION) {
          pb::Message* m = r->MutableMessage(msg, f);
          setTime(
              m->GetReflection()->MutableMessage(m, m->GetDescriptor()->FindFieldByName("value")),
              v.u.int64_value);
        }
      } else if (type == "google.protobuf.Timestamp" || type == "google.protobuf.Duration") {
        if (v.type == MIXER_VALUE_TIMESTAMP || v.type == MIXER_VALUE_DURATION) {
          setTime(r->MutableMessage(msg, f), v.u.int64_value);
        }
      } else if (type.rfind("istio.policy.v1beta1.", 0) == 0 &&
                 f->message_type()->field_count() == 1 &&
                 f->message_type()->field(0)->cpp_type() == FD::CPPTYPE_STRING) {
        // IPAddress, DNSName, EmailAddress, Uri: a wrapper of one string/bytes `value`.
        if (isStringLikeType(v.type)) {
          pb::Message* m = r->MutableMessage(msg, f);
          m->GetReflection()->SetString(m, m->GetDescriptor()->field(0),
                                        std::string(view(v.u.string_value)));
        }
      } else if (v.type == MIXER_VALUE_MAP) {
        setMessage(r->MutableMessage(msg, f), v);  // a nested message of the template
      }
      break;
    }
  }
}

// The template fields of `msg` from a MIXER_VALUE_MAP (keys in snake_case or lowerCamelCase).
void setMessage(pb::Message* msg, const mixer_value& v) {
  if (v.type != MIXER_VALUE_MAP && v.type != MIXER_VALUE_STRING_MAP) {
    return;
  }
  const pb::Descriptor* d = msg->GetDescriptor();
  const pb::Reflection* r = msg->GetReflection();
  for (size_t i = 0; i < v.u.map_value.count; ++i) {
    const mixer_map_entry& e = v.u.map_value.entries[i];
    const std::string key(view(e.key));
    const pb::FieldDescriptor* f = d->FindFieldByName(key);
    if (f == nullptr) {
      f = d->FindFieldByCamelcaseName(key);
    }
    if (f == nullptr || e.value.type == MIXER_VALUE_NULL) {
      continue;
    }
    if (f->is_map()) {
      if (e.value.type != MIXER_VALUE_MAP && e.value.type != MIXER_VALUE_STRING_MAP) {
        continue;
      }
      const pb::FieldDescriptor* key_field = f->message_type()->FindFieldByName("key");
      const pb::FieldDescriptor* value_field = f->message_type()->FindFieldByName("value");
      for (size_t j = 0; j < e.value.u.map_value.count; ++j) {
        const mixer_map_entry& me = e.value.u.map_value.entries[j];
        if (me.value.type == MIXER_VALUE_NULL) {
          continue;
        }
        pb::Message* entry = r->AddMessage(msg, f);
        entry->GetReflection()->SetString(entry, key_field, std::string(view(me.key)));
        setField(entry, value_field, me.value);
      }
    } else if (f->is_repeated()) {
      if (e.value.type != MIXER_VALUE_LIST) {
        continue;
      }
      // Repeated scalars and messages: each item through a one-field scratch is not needed for
      // Istio's templates (none has a repeated field); strings and messages are handled.
      for (size_t j = 0; j < e.value.u.list_value.count; ++j) {
        const mixer_value& item = e.value.u.list_value.items[j];
        if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING && isStringLikeType(item.type)) {
          r->AddString(msg, f, std::string(view(item.u.string_value)));
        } else if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
          setMessage(r->AddMessage(msg, f), item);
        }
      }
    } else {
      setField(msg, f, e.value);
    }
  }
}

}  // namespace

void encodeRemoteInstance(pb::Message* msg, const mixer_instance& instance) {
  setMessage(msg, instance.fields);
  // The instance's name (InstanceMsg.name, field 72295727), as Istio sets it.
  if (const auto* f = msg->GetDescriptor()->FindFieldByName("name");
      f != nullptr && f->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING) {
    msg->GetReflection()->SetString(msg, f, std::string(view(instance.name)));
  }
}

}  // namespace mixer::adapter_host
