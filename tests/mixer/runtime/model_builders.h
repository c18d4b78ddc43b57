// Builders of small configuration models for the runtime's unit tests: a handler, an instance and
// a rule as the loader would produce them, at places in a file named "test.yaml".
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <utility>
#include <vector>

#include "config/model.h"

namespace mixer::runtime::testing {

inline config::SourcePos at(int line) { return {"test.yaml", line, 1}; }

// `name` is fully qualified ("name.kind.namespace"); its namespace is the part after the last dot.
inline config::Handler handler(std::string name, std::string adapter,
                               const std::string& params_yaml) {
  config::Handler h;
  h.name = std::move(name);
  h.ns = h.name.substr(h.name.rfind('.') + 1);
  h.adapter = std::move(adapter);
  h.params = YAML::Load(params_yaml);
  h.pos = at(1);
  return h;
}

inline config::Instance instance(std::string name, std::string tmpl,
                                 const std::string& params_yaml) {
  config::Instance i;
  i.name = std::move(name);
  i.ns = i.name.substr(i.name.rfind('.') + 1);
  i.template_name = std::move(tmpl);
  i.params = YAML::Load(params_yaml);
  i.pos = at(2);
  return i;
}

// A rule with one action; its match at `line`, the action on the next line.
inline config::Rule rule(std::string name, std::string match, std::string handler_name,
                         std::vector<std::string> instances, int line = 3) {
  config::Rule r;
  r.name = std::move(name);
  r.ns = r.name.substr(r.name.rfind('.') + 1);
  r.match = std::move(match);
  r.match_pos = at(line);
  config::Action a;
  a.handler = std::move(handler_name);
  a.instances = std::move(instances);
  a.pos = at(line + 1);
  r.actions.push_back(std::move(a));
  r.pos = at(line);
  return r;
}

}  // namespace mixer::runtime::testing
