// Fuzz target over the whole expression pipeline: parse + check + compile + evaluate + format.
// Input: the first byte picks the dialect (even: CEXL, odd: CEL) and whether macros are enabled;
// the rest is the expression, evaluated against a fixed bag with some attributes absent.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "expr/format.h"
#include "expr/program.h"
#include "tests/expr/test_bag.h"

namespace {

struct Env {
  Env() {
    using expr::ValueType;
    manifest.add("as", 1, ValueType::kString);
    manifest.add("bs", 2, ValueType::kString);
    manifest.add("ai", 3, ValueType::kInt64);
    manifest.add("ad", 4, ValueType::kDouble);
    manifest.add("ab", 5, ValueType::kBool);
    manifest.add("at", 6, ValueType::kTimestamp);
    manifest.add("adur", 7, ValueType::kDuration);
    manifest.add("aip", 8, ValueType::kIpAddress);
    manifest.add("ar", 9, ValueType::kStringMap);
    manifest.add("br", 10, ValueType::kStringMap);
    manifest.add("adns", 11, ValueType::kDnsName);
    manifest.add("request.headers", 12, ValueType::kStringMap);
    manifest.add("bi", 13, ValueType::kInt64);  // declared, never present
    bag.setString(1, "Hello");
    bag.setInt(3, 42);
    bag.setDouble(4, 2.5);
    bag.setBool(5, true);
    bag.setTimestamp(6, 1420211075, 5);
    bag.setDuration(7, 20000000);
    bag.setIp(8, std::string("\x0a\x00\x00\x01", 4));
    bag.setStringMap(9, {{"a", "1"}, {"user-agent", "curl"}});
    bag.setString(11, "foo.bar", expr::ValueType::kDnsName);
    bag.setStringMap(12, {{"x-user", "alice"}});
  }
  expr::AttributeManifest manifest;
  expr::testing::TestBag bag;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Env* env = new Env();
  if (size == 0) return 0;
  expr::CompileOptions options;
  options.dialect = (data[0] & 1) ? expr::Dialect::kCel : expr::Dialect::kCexl;
  options.enable_macros = (data[0] & 2) == 0;
  options.check = (data[0] & 4) == 0;
  std::string_view src(reinterpret_cast<const char*>(data + 1), size - 1);
  auto program = expr::compile(src, env->manifest, options);
  if (!program.ok()) return 0;
  expr::EvalState state;
  for (int i = 0; i < 2; ++i) {  // twice: the second run reuses the warm state
    expr::Value v = (*program)->evaluate(env->bag, &state);
    (void)expr::formatValue(v);
    (void)expr::formatValueJson(v);
    (void)expr::formatReferences(state.references(), env->manifest);
  }
  (void)(*program)->disassemble();
  return 0;
}
