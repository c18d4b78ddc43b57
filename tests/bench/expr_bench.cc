// Typical Mixer expressions: ns per evaluation, heap allocations per evaluation (counted by a
// global operator new), and the same predicate hand-written in C++ over the same bag as the floor.
#include <arpa/inet.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "benchmark/benchmark.h"
#include "expr/builtins.h"
#include "expr/program.h"
#include "re2/re2.h"
#include "tests/bench/alloc_counter.h"
#include "tests/expr/test_bag.h"

namespace expr {
namespace {

enum : AttributeId {
  kMethod = 1,
  kHeaders,
  kSourceIp,
  kDestService,
  kResponseCode,
  kPath,
};

struct Fixture {
  Fixture() {
    manifest.add("request.method", kMethod, ValueType::kString);
    manifest.add("request.headers", kHeaders, ValueType::kStringMap);
    manifest.add("source.ip", kSourceIp, ValueType::kIpAddress);
    manifest.add("destination.service", kDestService, ValueType::kString);
    manifest.add("response.code", kResponseCode, ValueType::kInt64);
    manifest.add("request.path", kPath, ValueType::kString);
    bag.setString(kMethod, "GET");
    bag.setStringMap(kHeaders, {{":authority", "reviews"},
                                {"user-agent", "curl/7.68.0"},
                                {"x-request-id", "5f2a3c"},
                                {"x-user", "alice"}});
    bag.setIp(kSourceIp, std::string("\x0a\x00\x00\x01", 4));
    bag.setString(kDestService, "reviews.default.svc.cluster.local");
    bag.setInt(kResponseCode, 200);
    bag.setString(kPath, "/api/v1/reviews/42");
  }
  AttributeManifest manifest;
  testing::TestBag bag;
};

Fixture& fixture() {
  static Fixture* f = new Fixture();
  return *f;
}

const char* kExpressions[] = {
    // 0 equality selector
    R"(destination.service == "reviews.default.svc.cluster.local")",
    // 1 && of two
    R"(request.method == "GET" && response.code == 200)",
    // 2 map index with | default
    R"((request.headers["x-user"] | "nobody") == "alice")",
    // 3 match()
    R"(match(destination.service, "*.svc.cluster.local"))",
    // 4 ip equality
    R"(source.ip == ip("10.0.0.1"))",
    // 5 regex matches (CEXL: the receiver is the pattern)
    R"("^/api/v[0-9]+/".matches(request.path))",
    // 6 a 5-clause rule
    R"(request.method == "GET" && response.code == 200 && )"
    R"(match(destination.service, "*.svc.cluster.local") && )"
    R"((request.headers["x-user"] | "nobody") != "bob" && source.ip == ip("10.0.0.1"))",
};

void BM_Expr(benchmark::State& state, int index, Dialect dialect) {
  Fixture& f = fixture();
  CompileOptions o;
  o.dialect = dialect;
  std::string src = kExpressions[index];
  if (dialect == Dialect::kCel) {
    // CEL spelling of the CEXL-only parts.
    if (index == 2) src = R"(request.headers["x-user"] == "alice")";
    if (index == 5) src = R"(request.path.matches("^/api/v[0-9]+/"))";
    if (index == 6) {
      src = R"(request.method == "GET" && response.code == 200 && )"
            R"(match(destination.service, "*.svc.cluster.local") && )"
            R"(request.headers["x-user"] != "bob" && source.ip == ip("10.0.0.1"))";
    }
  }
  auto p = compile(src, f.manifest, o);
  if (!p.ok()) {
    state.SkipWithError(std::string(p.status().message()).c_str());
    return;
  }
  EvalState es;
  Value v = (*p)->evaluate(f.bag, &es);
  if (v.type != ValueType::kBool || !v.bool_value) {
    state.SkipWithError("expression did not evaluate to true");
    return;
  }
  long before = static_cast<long>(mixer::bench::allocations());
  for (auto _ : state) {
    Value r = (*p)->evaluate(f.bag, &es);
    benchmark::DoNotOptimize(r);
  }
  state.counters["allocs/eval"] = benchmark::Counter(
      static_cast<double>(static_cast<long>(mixer::bench::allocations()) - before) /
      static_cast<double>(state.iterations()));
}

// The hand-written floor: the same predicates in C++ over the same bag (Activation::find),
// without reference tracking.
inline std::string_view str(const Activation& a, AttributeId id) {
  Value v;
  return a.find(id, &v) && v.type == ValueType::kString ? v.stringView() : std::string_view();
}
inline bool eqService(const Activation& a) {
  return str(a, kDestService) == "reviews.default.svc.cluster.local";
}
inline bool getAnd200(const Activation& a) {
  Value code;
  return str(a, kMethod) == "GET" && a.find(kResponseCode, &code) && code.int_value == 200;
}
inline std::string_view userOrNobody(const Activation& a) {
  Value m;
  std::string_view user;
  if (a.find(kHeaders, &m) && m.string_map->find("x-user", &user)) return user;
  return "nobody";
}
inline bool matchService(const Activation& a) {
  return str(a, kDestService).ends_with(".svc.cluster.local");
}
inline bool ipEquals(const Activation& a) {
  static const unsigned char kWant[4] = {10, 0, 0, 1};
  Value ip;
  if (!a.find(kSourceIp, &ip)) return false;
  std::string_view b = ip.stringView();
  return b.size() >= 4 && std::memcmp(b.data() + b.size() - 4, kWant, 4) == 0;
}

void BM_Native(benchmark::State& state, int index) {
  Fixture& f = fixture();
  const Activation& a = f.bag;
  static const RE2* re = new RE2("^/api/v[0-9]+/");
  long before = static_cast<long>(mixer::bench::allocations());
  for (auto _ : state) {
    bool r = false;
    switch (index) {
      case 0:
        r = eqService(a);
        break;
      case 1:
        r = getAnd200(a);
        break;
      case 2:
        r = userOrNobody(a) == "alice";
        break;
      case 3:
        r = matchService(a);
        break;
      case 4:
        r = ipEquals(a);
        break;
      case 5: {
        std::string_view p = str(a, kPath);
        r = RE2::PartialMatch(re2::StringPiece(p.data(), p.size()), *re);
        break;
      }
      case 6:
        r = getAnd200(a) && matchService(a) && userOrNobody(a) != "bob" && ipEquals(a);
        break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.counters["allocs/eval"] = benchmark::Counter(
      static_cast<double>(static_cast<long>(mixer::bench::allocations()) - before) /
      static_cast<double>(state.iterations()));
}

const char* kNames[] = {"eq_selector", "and_of_two",    "map_default",   "match_glob",
                        "ip_equality", "regex_matches", "rule_5_clauses"};

// The fixed cost of one evaluation: a program that folded to a constant.
void BM_Constant(benchmark::State& state) {
  Fixture& f = fixture();
  auto p = compile("1 == 1", f.manifest, {});
  EvalState es;
  for (auto _ : state) {
    Value r = (*p)->evaluate(f.bag, &es);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Constant)->Name("cexl/constant_overhead");

int registerAll() {
  for (int i = 0; i < 7; ++i) {
    benchmark::RegisterBenchmark((std::string("cexl/") + kNames[i]).c_str(), BM_Expr, i,
                                 Dialect::kCexl);
    benchmark::RegisterBenchmark((std::string("cel/") + kNames[i]).c_str(), BM_Expr, i,
                                 Dialect::kCel);
    benchmark::RegisterBenchmark((std::string("native/") + kNames[i]).c_str(), BM_Native, i);
  }
  return 0;
}
const int kRegistered = registerAll();

}  // namespace
}  // namespace expr

BENCHMARK_MAIN();
