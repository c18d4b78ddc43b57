// Asserts that evaluating non-regex programs, CEXL and CEL, allocates nothing once the EvalState
// is warm.
#include <atomic>
#include <cstdlib>
#include <new>

#include "expr/program.h"
#include "gtest/gtest.h"
#include "tests/bench/alloc_counter.h"
#include "tests/expr/test_bag.h"

namespace expr {
namespace {

TEST(AllocationTest, WarmEvaluationDoesNotAllocate) {
  AttributeManifest m;
  m.add("request.method", 1, ValueType::kString);
  m.add("request.headers", 2, ValueType::kStringMap);
  m.add("source.ip", 3, ValueType::kIpAddress);
  m.add("destination.service", 4, ValueType::kString);
  m.add("response.code", 5, ValueType::kInt64);
  testing::TestBag bag;
  bag.setString(1, "GET");
  bag.setStringMap(2, {{"user-agent", "curl/7"}, {"x-user", "Alice"}});
  bag.setIp(3, std::string("\x0a\x00\x00\x01", 4));
  bag.setString(4, "reviews.default.svc.cluster.local");
  bag.setInt(5, 200);
  struct Case {
    Dialect dialect;
    const char* source;
  };
  const Case cases[] = {
      {Dialect::kCexl, R"(request.method == "GET")"},
      {Dialect::kCexl, R"(request.method == "GET" && response.code == 200)"},
      {Dialect::kCexl, R"((request.headers["x-user"] | "nobody") == "Alice")"},
      {Dialect::kCexl, R"(match(destination.service, "*.svc.cluster.local"))"},
      {Dialect::kCexl, R"(source.ip == ip("10.0.0.1"))"},
      {Dialect::kCexl,
       R"(toLower(request.headers["x-user"]) + "-" + request.method == "alice-GET")"},
      {Dialect::kCexl, R"(conditional(response.code >= 500, "error", "ok") == "ok")"},
      {Dialect::kCexl,
       R"((request.headers["missing"] | request.headers["x-user"] | "?") == "Alice")"},
      // The same shapes in CEL, plus what only CEL has.
      {Dialect::kCel, R"(request.method == "GET")"},
      {Dialect::kCel, R"(request.method == "GET" && response.code == 200)"},
      {Dialect::kCel,
       R"(("x-user" in request.headers ? request.headers["x-user"] : "nobody") == "Alice")"},
      {Dialect::kCel, R"(match(destination.service, "*.svc.cluster.local"))"},
      {Dialect::kCel, R"(destination.service.endsWith(".svc.cluster.local"))"},
      {Dialect::kCel, R"(source.ip == ip("10.0.0.1"))"},
      {Dialect::kCel,
       R"(request.headers["x-user"].lowerAscii() + "-" + request.method == "alice-GET")"},
      {Dialect::kCel, R"((response.code >= 500 ? "error" : "ok") == "ok")"},
      {Dialect::kCel, R"(!has(request.headers.missing) && size(request.method) == 3)"},
      {Dialect::kCel, R"(response.code in [200, 201, 204])"},
      {Dialect::kCel, R"(response.code * 2 - 1 == 399 && response.code / 3 == 66)"},
      {Dialect::kCel, R"(request.headers.exists(k, k == "x-user"))"},
  };
  for (const Case& c : cases) {
    const char* e = c.source;
    CompileOptions o;
    o.dialect = c.dialect;
    auto p = compile(e, m, o);
    ASSERT_TRUE(p.ok()) << e << ": " << p.status();
    EvalState state;
    Value warm = (*p)->evaluate(bag, &state);
    ASSERT_EQ(warm.type, ValueType::kBool) << e;
    EXPECT_TRUE(warm.bool_value) << e;
    long before = static_cast<long>(mixer::bench::allocations());
    for (int i = 0; i < 100; ++i) (*p)->evaluate(bag, &state);
    EXPECT_EQ(static_cast<long>(mixer::bench::allocations()) - before, 0) << e;
  }
}

TEST(AllocationTest, CounterSeesAllocations) {
  long before = static_cast<long>(mixer::bench::allocations());
  void* p = ::operator new(16);  // an explicit call cannot be elided
  ::operator delete(p);
  EXPECT_GT(static_cast<long>(mixer::bench::allocations()), before);
}

}  // namespace
}  // namespace expr
