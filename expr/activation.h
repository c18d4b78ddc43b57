// The interface through which a Program reads attributes during evaluation.
#pragma once

#include "expr/value.h"

namespace expr {

// Supplies attribute values by id. The server's AttributeBag implements it over zero-copy views
// into the request. Implementations must not record references themselves: the evaluator reports
// every read (present or absent) in EvalState::references().
class Activation {
 public:
  virtual ~Activation() = default;
  // Returns false when the attribute is absent. On success it assigns the whole *out (build it
  // with the Value::make* helpers); views in it must stay valid until the evaluation's result and
  // references have been consumed. *out may be scratch space: on false its content is ignored.
  virtual bool find(AttributeId id, Value* out) const = 0;
};

// An activation with no attributes.
class EmptyActivation : public Activation {
 public:
  bool find(AttributeId, Value*) const override { return false; }
};

}  // namespace expr
