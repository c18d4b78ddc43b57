// Attribute generators (Istio's TEMPLATE_VARIETY_ATTRIBUTE_GENERATOR), run in-process: given the
// input fields of a generator instance, a generator fills the output fields (`$out.<field>`) that
// the instance's attribute_bindings turn into request attributes (dispatcher.h: generate()).
//
// Two kinds of generator:
// - `registryenv`, built in: the `kubernetes` template's outputs taken from the mesh's own service
//   registry (pilot/model's YAML directory format), looked up by the workload's IP address, with
//   no allocation per request. Istio's `kubernetesenv` (a Kubernetes API client) stays unavailable
//   (unavailable_handlers.h).
// - a handler of an adapter that serves MIXER_KIND_GENERATE (adapter ABI 1.2): the inputs cross
//   the ABI as an instance (per-thread arrays, reused), the adapter answers the outputs
//   (AdapterGenerator). Each call allocates what any blocking adapter call does (its completion
//   state and waiter) plus a copy of the answer; only configurations with such a generator pay it.
//
// Thread-safe: a generator is immutable after creation and shared by all request threads.
#pragma once

#include <yaml-cpp/yaml.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "aspects/aspect.h"
#include "expr/value.h"
#include "mixer/attribute/attribute_bag.h"

namespace mixer::adapter_host {
class Handler;
}  // namespace mixer::adapter_host

namespace mixer::runtime {

// What one generation call knows besides its inputs.
struct GenerateCall {
  std::string_view instance;  // the generator instance's name
  absl::Duration timeout;     // the longest an adapter may take to answer
};

class AttributeGenerator {
 public:
  virtual ~AttributeGenerator() = default;

  // The aspect kind (template) it generates for.
  virtual const aspects::Aspect& aspect() const = 0;

  // `inputs[i]` is the value of aspect().fields[i] (kUnspecified when the instance does not set
  // it or it failed to evaluate). Sets output i of aspect().outputs as attribute i of `outputs`
  // (a bag over outputVocabulary(aspect())); outputs it cannot fill stay absent. Values may view
  // the generator's storage: they are valid until the generator is destroyed.
  virtual void generate(const GenerateCall& call, std::span<const expr::Value> inputs,
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

// A generator that calls a handler of an adapter serving MIXER_KIND_GENERATE for `aspect` (one
// of the adapter's templates whose variety is attribute generation). The handler is created after
// the configuration compiles: bind() it before the first generate(). Outputs the adapter answers
// with a type that does not fit the output field are left absent (and logged, sampled); a failed
// or late call leaves every output absent (the handler counts it), so the bindings' defaults
// apply, as with a registry that does not know the workload.
class AdapterGenerator : public AttributeGenerator {
 public:
  explicit AdapterGenerator(const aspects::Aspect& aspect) : aspect_(aspect) {}
  void bind(adapter_host::Handler* handler) { handler_ = handler; }

  const aspects::Aspect& aspect() const override { return aspect_; }
  void generate(const GenerateCall& call, std::span<const expr::Value> inputs,
                attribute::AttributeBag* outputs) const override;

 private:
  const aspects::Aspect& aspect_;
  adapter_host::Handler* handler_ = nullptr;  // OWNERSHIP: the configuration snapshot's
};

// The attribute-generation template among `templates` (an adapter's), or nullptr.
const aspects::Aspect* generatorAspect(std::span<const std::string> templates);

}  // namespace mixer::runtime
