#include "mixer/runtime/unavailable_handlers.h"

#include <string>

#include "base/str_cat.h"

namespace mixer::runtime {

bool unavailableAdapter(std::string_view adapter) { return adapter == "kubernetesenv"; }

std::vector<config::ConfigError> unavailableHandlers(const config::ConfigModel& model) {
  std::vector<config::ConfigError> out;
  for (const config::Handler& h : model.handlers) {
    if (!unavailableAdapter(h.adapter)) {
      continue;
    }
    std::string rules;
    for (const config::Rule& r : model.rules) {
      for (const config::Action& a : r.actions) {
        if (a.handler == h.name) {
          rules += base::strCat(rules.empty() ? "" : ", ", r.name);
          break;
        }
      }
    }
    out.push_back(
        {h.pos, base::strCat("handler '", h.name, "' (adapter ", h.adapter,
                             ") is unavailable: it needs a Kubernetes API, which this mixs "
                             "does not use; ",
                             rules.empty() ? std::string("no rule uses it")
                                           : base::strCat("its rules are skipped: ", rules))});
  }
  return out;
}

}  // namespace mixer::runtime
