// Handlers a configuration may name but this build cannot serve, because their adapter needs an
// environment that is not there: Istio's `kubernetesenv` (an attribute generator over the
// Kubernetes API) needs a Kubernetes API server, and mixs has no Kubernetes client.
//
// Such a handler is not an error: the configuration loads, the handler is reported as
// unavailable (mixs logs it, counts it in `mixer_config_unavailable_handlers` and `mixs validate`
// shows it), the rules that use it are skipped, and the rest of the configuration serves. This is
// how Istio's own configuration (mixer/testdata/config, the default install) loads without a
// cluster. Stateless; thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "config/model.h"

namespace mixer::runtime {

// True when handlers of `adapter` are reported unavailable instead of served.
bool unavailableAdapter(std::string_view adapter);

// One entry per unavailable handler of `model`, at the handler, saying why and which rules are
// skipped.
std::vector<config::ConfigError> unavailableHandlers(const config::ConfigModel& model);

}  // namespace mixer::runtime
