// Runs the CEL conformance suite (cel-spec tests/simple/testdata in JSON form) against the
// expression library in the CEL dialect. Every case runs; the ones this engine does not pass (tests
// that need protobuf message types) are in a committed list, cel_known_failures.yaml
// ("file/section/test": reason), which the run enforces both ways (known_failures.h).
// Usage: cel_conformance --help. Prints counts per file and ends with
// "N passed, N failed, N skipped" (skipped = listed known failures).
// The JSON is read with yaml-cpp (JSON is YAML flow syntax), already a project dependency, rather
// than adding a JSON library for one test program.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "expr/builtins.h"
#include "expr/format.h"
#include "expr/program.h"
#include "expr/str_util.h"
#include "tests/conformance/known_failures.h"
#include "tests/expr/test_bag.h"
#include "yaml-cpp/yaml.h"

namespace fs = std::filesystem;
using expr::AttributeManifest;
using expr::Value;
using expr::ValueType;

namespace {

bool verbose = false;

double parseDouble(const YAML::Node& n) {
  std::string s = n.as<std::string>();
  if (s == "inf" || s == "Infinity") return INFINITY;
  if (s == "-inf" || s == "-Infinity") return -INFINITY;
  if (s == "nan" || s == "NaN") return NAN;
  return n.as<double>();
}

// Converts a cel.expr.Value in JSON form; false when unsupported (e.g. protobuf messages).
bool toValue(const YAML::Node& n, expr::testing::TestBag* bag, Value* out) {
  if (n["null_value"]) {
    *out = Value::makeNull();
  } else if (n["bool_value"]) {
    *out = Value::makeBool(n["bool_value"].as<bool>());
  } else if (n["int64_value"]) {
    *out = Value::makeInt(n["int64_value"].as<int64_t>());
  } else if (n["uint64_value"]) {
    *out = Value::makeUint(n["uint64_value"].as<uint64_t>());
  } else if (n["double_value"]) {
    *out = Value::makeDouble(parseDouble(n["double_value"]));
  } else if (n["string_value"]) {
    *out = Value::makeString(bag->own(n["string_value"].as<std::string>()));
  } else if (n["bytes_value"]) {
    *out = Value::makeBytes(bag->own(conformance::b64decode(n["bytes_value"].as<std::string>())));
  } else if (n["type_value"]) {
    *out = Value::makeType(bag->own(n["type_value"].as<std::string>()));
  } else if (n["list_value"]) {
    auto& arr = bag->arrays().emplace_back();
    if (n["list_value"]["values"]) {
      for (const auto& e : n["list_value"]["values"]) {
        Value v;
        if (!toValue(e, bag, &v)) return false;
        arr.push_back(v);
      }
    }
    bag->lists().push_back(expr::ListValue{arr.data(), arr.size()});
    *out = Value::makeList(&bag->lists().back());
  } else if (n["map_value"]) {
    auto& keys = bag->arrays().emplace_back();
    auto& vals = bag->arrays().emplace_back();
    if (n["map_value"]["entries"]) {
      for (const auto& e : n["map_value"]["entries"]) {
        Value k, v;
        if (!toValue(e["key"], bag, &k) || !toValue(e["value"], bag, &v)) return false;
        keys.push_back(k);
        vals.push_back(v);
      }
    }
    bag->maps().push_back(expr::MapValue{keys.data(), vals.data(), keys.size()});
    *out = Value::makeMap(&bag->maps().back());
  } else if (n["object_value"]) {
    const YAML::Node& o = n["object_value"];
    std::string t = o["@type"] ? o["@type"].as<std::string>() : "";
    int64_t sec = o["seconds"] ? o["seconds"].as<int64_t>() : 0;
    int32_t nanos = o["nanos"] ? o["nanos"].as<int32_t>() : 0;
    if (t == "type.googleapis.com/google.protobuf.Timestamp") {
      *out = Value::makeTimestamp(sec, nanos);
    } else if (t == "type.googleapis.com/google.protobuf.Duration") {
      *out = Value::makeDuration(sec * 1000000000 + nanos);
    } else {
      return false;
    }
  } else {
    return false;
  }
  return true;
}

// Strict equality for test matching: same types (no numeric conversion), NaN matches NaN, maps
// order-agnostic.
bool sameValue(const Value& a, const Value& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case ValueType::kDouble:
      if (std::isnan(a.double_value) && std::isnan(b.double_value)) return true;
      return a.double_value == b.double_value;
    case ValueType::kList:
      if (a.list->size != b.list->size) return false;
      for (size_t i = 0; i < a.list->size; ++i) {
        if (!sameValue(a.list->elements[i], b.list->elements[i])) return false;
      }
      return true;
    case ValueType::kMap:
      if (a.map->size != b.map->size) return false;
      for (size_t i = 0; i < a.map->size; ++i) {
        bool found = false;
        for (size_t j = 0; j < b.map->size && !found; ++j) {
          if (sameValue(a.map->keys[i], b.map->keys[j])) {
            if (!sameValue(a.map->values[i], b.map->values[j])) return false;
            found = true;
          }
        }
        if (!found) return false;
      }
      return true;
    default:
      return expr::valuesEqual(a, b, expr::Dialect::kCel);
  }
}

ValueType declType(const YAML::Node& type) {
  if (!type) return ValueType::kDyn;
  if (type["primitive"]) {
    std::string p = type["primitive"].as<std::string>();
    if (p == "INT64") return ValueType::kInt64;
    if (p == "UINT64") return ValueType::kUint64;
    if (p == "DOUBLE") return ValueType::kDouble;
    if (p == "BOOL") return ValueType::kBool;
    if (p == "STRING") return ValueType::kString;
    if (p == "BYTES") return ValueType::kBytes;
  }
  if (type["well_known"]) {
    std::string w = type["well_known"].as<std::string>();
    if (w == "TIMESTAMP") return ValueType::kTimestamp;
    if (w == "DURATION") return ValueType::kDuration;
  }
  if (type["list_type"]) return ValueType::kList;
  if (type["map_type"]) return ValueType::kMap;
  if (type["null"]) return ValueType::kNull;
  return ValueType::kDyn;
}

struct Outcome {
  enum Kind { kPass, kFail, kSkip } kind;
  std::string why;
};

Outcome runTest(const YAML::Node& t) {
  const std::string src = t["expr"].as<std::string>();
  if (t["unknown"] || t["any_unknowns"] || t["typed_result"]) {
    return {Outcome::kSkip, "unknowns / typed results are not supported"};
  }
  expr::testing::TestBag bag;
  AttributeManifest manifest;
  if (t["type_env"]) {
    for (const auto& d : t["type_env"]) {
      if (!d["ident"]) continue;
      manifest.add(d["name"].as<std::string>(), declType(d["ident"]["type"]));
    }
  }
  std::vector<std::pair<std::string, Value>> bindings;
  if (t["bindings"]) {
    for (const auto& b : t["bindings"]) {
      std::string name = b["key"].as<std::string>();
      Value v;
      if (!b["value"]["value"] || !toValue(b["value"]["value"], &bag, &v)) {
        return {Outcome::kSkip, "binding not representable"};
      }
      if (manifest.find(name) == nullptr) manifest.add(name, ValueType::kDyn);
      bindings.emplace_back(name, v);
    }
  }
  for (auto& [name, v] : bindings) bag.set(manifest.find(name)->id, v);

  expr::CompileOptions options;
  options.dialect = expr::Dialect::kCel;
  options.check = !(t["disable_check"] && t["disable_check"].as<bool>());
  options.enable_macros = !(t["disable_macros"] && t["disable_macros"].as<bool>());
  auto program = expr::compile(src, manifest, options);
  const bool want_error = t["eval_error"] || t["any_eval_errors"];
  if (!program.ok()) {
    // A statically detected error satisfies an expected evaluation error.
    if (want_error) return {Outcome::kPass, ""};
    return {Outcome::kFail, "compile error: " + std::string(program.status().message())};
  }
  if (t["check_only"] && t["check_only"].as<bool>()) return {Outcome::kPass, ""};
  expr::EvalState state;
  Value got = (*program)->evaluate(bag, &state);
  if (want_error) {
    if (got.isError()) return {Outcome::kPass, ""};
    return {Outcome::kFail, "expected an error, got " + expr::formatValue(got)};
  }
  Value want = Value::makeBool(true);
  if (t["value"] && !toValue(t["value"], &bag, &want)) {
    return {Outcome::kSkip, "expected value not representable"};
  }
  if (sameValue(got, want)) return {Outcome::kPass, ""};
  return {Outcome::kFail,
          expr::strCat("got ", expr::formatValue(got), " (", expr::valueTypeName(got.type),
                       "), expected ", expr::formatValue(want), " (",
                       expr::valueTypeName(want.type), ")")};
}

// yaml-cpp (which reads the JSON here) rejects UTF-16 surrogate pair escapes: decode them to
// UTF-8 first.
std::string decodeSurrogatePairs(const std::string& in) {
  auto hex4 = [&](size_t at, uint32_t* v) {
    if (at + 6 > in.size() || in[at] != '\\' || in[at + 1] != 'u') return false;
    *v = 0;
    for (size_t k = at + 2; k < at + 6; ++k) {
      char c = in[k];
      int d = (c >= '0' && c <= '9')   ? c - '0'
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                       : -1;
      if (d < 0) return false;
      *v = *v * 16 + d;
    }
    return true;
  };
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '\\') {
      out.push_back(in[i]);
      continue;
    }
    uint32_t hi, lo;
    if (hex4(i, &hi) && hi >= 0xD800 && hi < 0xDC00 && hex4(i + 6, &lo) && lo >= 0xDC00 &&
        lo < 0xE000) {
      uint32_t cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      i += 11;
      continue;
    }
    out.push_back(in[i]);
    if (i + 1 < in.size()) out.push_back(in[++i]);
  }
  return out;
}

constexpr const char* kUsage =
    "usage: cel_conformance [-v] [--known-failures FILE] [--min-pass N] [FILE_OR_DIR...]\n"
    "  Runs cel-spec's simple tests (JSON form) in the CEL dialect. Every case runs; a case that\n"
    "  fails and is not in the known-failures list, or a listed case that passes, fails the run.\n"
    "  FILE_OR_DIR  suite files or directories of *.json (default: the suite kept in the\n"
    "               repository, " CEL_CONFORMANCE_DATA
    ")\n"
    "  --known-failures FILE  YAML maps known_failures and not_run of \"file/section/test\": "
    "reason\n"
    "  --min-pass N  also fail when fewer than N cases pass (guards against a shrunken suite)\n"
    "  -v           print every known failure with its reason\n"
    "Exit status: 0 all as listed, 1 a case off the list, 2 this usage shown (--help, bad\n"
    "usage or unreadable input).\n";

}  // namespace

int main(int argc, char** argv) {
  conformance::HarnessArgs args;
  conformance::KnownFailures known;
  if (int code = conformance::parseHarnessArgs(argc, argv, "cel_conformance", kUsage,
                                               CEL_CONFORMANCE_DATA, ".json", &args, &known);
      code >= 0) {
    return code;
  }
  verbose = args.verbose;
  const std::vector<fs::path>& files = args.files;
  // The core CEL files (no extensions): the figure the 90% target applies to.
  static const std::set<std::string> kCore = {
      "basic", "comparisons", "conversions", "fields",   "fp_math", "integer_math", "lists",
      "logic", "macros",      "parse",       "plumbing", "string",  "timestamps"};
  int core_passed = 0, core_run = 0;
  for (const auto& f : files) {
    std::ifstream stream(f);
    std::stringstream text;
    text << stream.rdbuf();
    YAML::Node doc;
    try {
      doc = YAML::Load(decodeSurrogatePairs(text.str()));
    } catch (const YAML::Exception& e) {
      std::cerr << "cel_conformance: " << f.string() << ": " << e.what() << "\n";
      return 2;
    }
    const std::string fname = f.stem().string();
    const int passed0 = known.passed(), failed0 = known.failed(), known0 = known.known(),
              skipped0 = known.skipped();
    for (const auto& section : doc["section"]) {
      std::string sname = section["name"].as<std::string>();
      if (!section["test"]) continue;
      for (const auto& t : section["test"]) {
        const std::string key = fname + "/" + sname + "/" + t["name"].as<std::string>();
        if (known.skip(key, verbose)) continue;
        Outcome o = runTest(t);
        std::string why;
        if (o.kind == Outcome::kSkip) {
          why = "not run: " + o.why;
        } else if (o.kind == Outcome::kFail) {
          why = "`" + t["expr"].as<std::string>() + "`: " + o.why;
        }
        known.record(key, why, verbose);
      }
    }
    const int p = known.passed() - passed0, x = known.failed() - failed0,
              k = known.known() - known0;
    std::cout << fname << ": " << p << " passed, " << x << " failed, " << k << " known failures, "
              << known.skipped() - skipped0 << " not run\n";
    if (kCore.count(fname)) {
      core_passed += p;
      core_run += p + x + k;
    }
  }
  if (core_run > 0) {
    std::cout << "core files: " << core_passed << " of " << core_run << " pass ("
              << 100.0 * core_passed / core_run << "%)\n";
  }
  return conformance::finishHarness(known, known.known() + known.skipped(), args);
}
