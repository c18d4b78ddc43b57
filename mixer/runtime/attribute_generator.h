// Attribute generators (Istio's TEMPLATE_VARIETY_ATTRIBUTE_GENERATOR), run in-process: given the
// input fields of a generator instance, a generator fills the output fields (`$out.<field>`) that
// the instance's attribute_bindings turn into request attributes (dispatcher.h: generate()).
//
// The one generator of this build is `registryenv`: the `kubernetes` template's outputs taken from
// the mesh's own service registry (pilot/model's YAML directory format), looked up by the
// workload's IP address. Istio's `kubernetesenv` (a Kubernetes API client) stays unavailable
// (unavailable_handlers.h).
//
// Thread-safe: a generator is immutable after creation and shared by all request threads.
#pragma once

#include <yaml-cpp/yaml.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "aspects/aspect.h"
#include "expr/value.h"
#include "mixer/attribute/attribute_bag.h"

namespace mixer::runtime {

class AttributeGenerator {
 public:
  virtual ~AttributeGenerator() = default;

  // The aspect kind (template) it generates for.
  virtual const aspects::Aspect& aspect() const = 0;

  // `inputs[i]` is the value of aspect().fields[i] (kUnspecified when the instance does not set
  // it or it failed to evaluate). Sets output i of aspect().outputs as attribute i of `outputs`
  // (a bag over outputVocabulary(aspect())); outputs it cannot fill stay absent. Values may view
  // the generator's storage: they are valid until the generator is destroyed.
  virtual void generate(std::span<const expr::Value> inputs,
                        attribute::AttributeBag* outputs) const = 0;
};

// The vocabulary of an attribute generator's outputs: output i is attribute i, named
// "_out.<field>" (the name the binding expressions are compiled with: `$out.` is rewritten to
// `_out.`, same length, so that error columns stay right).
attribute::VocabularyConstSharedPtr outputVocabulary(const aspects::Aspect& aspect);

// True when handlers of `adapter` are attribute generators this build runs in-process.
bool inProcessGenerator(std::string_view adapter);

// Creates the generator of a `registryenv` handler. params: {directory: PATH}. The registry is
// read once, now: a directory that is missing or has errors gives a generator that finds nothing
// (every output absent, so the bindings' defaults apply), with `warning` saying why. Returns
// nullptr with `error` for invalid params.
std::unique_ptr<AttributeGenerator> makeRegistryGenerator(const YAML::Node& params,
                                                          std::string* warning, std::string* error);

}  // namespace mixer::runtime
