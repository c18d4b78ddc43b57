// The instance of an Istio 1.x out-of-process adapter call: a template instance, as the host
// encodes it for adapters (mixer_instance), written into the template's InstanceMsg, a protobuf
// dynamic message built from the template's `kind: template` descriptor (remote_adapter.h).
// Stateless; thread-safe.
#pragma once

#include <google/protobuf/message.h>

#include "mixer/adapter_sdk/mixer_adapter.h"

namespace mixer::adapter_host {

// Sets `msg`'s fields from `instance`'s (keys in snake_case or lowerCamelCase), each converted to
// its field's type (istio.policy.v1beta1.Value fields take the value's own type; a value that
// does not convert leaves its field unset, as Istio's encoder did), and InstanceMsg.name.
void encodeRemoteInstance(google::protobuf::Message* msg, const mixer_instance& instance);

}  // namespace mixer::adapter_host
