// A fixture for the compiler and evaluator tests: a manifest of typed attributes, a bag, and
// helpers that compile, list and evaluate through the public API.
#pragma once

#include <string>
#include <string_view>

#include "expr/format.h"
#include "expr/program.h"
#include "gtest/gtest.h"
#include "tests/expr/test_bag.h"

namespace expr::testing {

class ProgramFixture : public ::testing::Test {
 protected:
  ProgramFixture() {
    manifest_.add("as", 1, ValueType::kString);
    manifest_.add("bs", 2, ValueType::kString);
    manifest_.add("ai", 3, ValueType::kInt64);
    manifest_.add("ab", 4, ValueType::kBool);
    manifest_.add("bb", 5, ValueType::kBool);
    manifest_.add("ar", 6, ValueType::kStringMap);
    manifest_.add("bi", 7, ValueType::kInt64);
    manifest_.add("cs", 8, ValueType::kString);  // CEL reserves `as`
  }

  // Compiles `src` into program_; the compile error message when it does not compile.
  std::string compileOnly(std::string_view src, Dialect dialect = Dialect::kCexl) {
    CompileOptions options;
    options.dialect = dialect;
    auto program = compile(src, manifest_, options);
    if (!program.ok()) return std::string(program.status().message());
    program_ = *program;
    return "";
  }
  // The bytecode listing of `src`, or its compile error.
  std::string listing(std::string_view src, Dialect dialect = Dialect::kCexl) {
    std::string error = compileOnly(src, dialect);
    return error.empty() ? program_->disassemble() : error;
  }
  // Compiles and evaluates `src` with state_: the value rendered by formatValue, or
  // "compile error: ...".
  std::string eval(std::string_view src, Dialect dialect = Dialect::kCexl) {
    std::string error = compileOnly(src, dialect);
    if (!error.empty()) return "compile error: " + error;
    return formatValue(program_->evaluate(bag_, &state_));
  }
  // The references of the last evaluation, as formatReferences renders them.
  std::string refs() {
    std::string s;
    for (const auto& r : formatReferences(state_.references(), manifest_)) {
      s += (s.empty() ? "" : " ") + r;
    }
    return s;
  }
  static bool contains(const std::string& haystack, std::string_view needle) {
    return haystack.find(needle) != std::string::npos;
  }

  AttributeManifest manifest_;
  TestBag bag_;
  EvalState state_;
  ProgramConstSharedPtr program_;
};

}  // namespace expr::testing
