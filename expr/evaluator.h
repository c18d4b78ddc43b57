// The bytecode interpreter behind Program::evaluate.
#pragma once

#include <cstddef>

#include "expr/activation.h"
#include "expr/eval_state.h"
#include "expr/program.h"

namespace expr {

class Evaluator {
 public:
  // Runs code_[start, end) of `program` and returns the value left on the stack.
  static Value run(const Program& program, size_t start, size_t end, const Activation& activation,
                   EvalState* state);
};

}  // namespace expr
