// Runs the CEL conformance suite (cel-spec tests/simple/testdata in JSON form) against the
// expression library in the CEL dialect. Tests that need protobuf message types are skipped by a
// committed skip list (cel_skip.yaml: "file/section/test: reason").
// Usage: cel_conformance [-v] [--skip FILE] [--min-pass N] [FILE_OR_DIR...]
// (default: $MIXER_SHARED_DIR/conformance/cel). Prints pass/fail/skip per file and ends with
// "N passed, N failed, N skipped".
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
#include "tests/expr/test_bag.h"
#include "yaml-cpp/yaml.h"

namespace fs = std::filesystem;
using expr::AttributeManifest;
using expr::Value;
using expr::ValueType;

namespace {

bool verbose = false;

std::string b64decode(const std::string& in) {
  static const std::string chars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    size_t pos = chars.find(c);
    if (pos == std::string::npos) break;
    val = (val << 6) + static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

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
    *out = Value::makeBytes(bag->own(b64decode(n["bytes_value"].as<std::string>())));
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

struct Counts {
  int passed = 0, failed = 0, skipped = 0;
};

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

}  // namespace

int main(int argc, char** argv) {
  int min_pass = 0;
  std::vector<fs::path> inputs;
  fs::path skip_file;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-v") {
      verbose = true;
    } else if (a == "--min-pass" && i + 1 < argc) {
      min_pass = std::atoi(argv[++i]);
    } else if (a == "--skip" && i + 1 < argc) {
      skip_file = argv[++i];
    } else {
      inputs.emplace_back(a);
    }
  }
  if (inputs.empty()) {
    const char* shared = std::getenv("MIXER_SHARED_DIR");
    inputs.emplace_back(fs::path(shared ? shared : "../shared") / "conformance" / "cel");
  }
  std::map<std::string, std::string> skips;
  if (!skip_file.empty()) {
    YAML::Node s = YAML::LoadFile(skip_file.string());
    for (const auto& e : s) skips[e.first.as<std::string>()] = e.second.as<std::string>();
  }
  // The core CEL files (no extensions): the figure the 90% target applies to.
  static const std::set<std::string> kCore = {
      "basic", "comparisons", "conversions", "fields",   "fp_math", "integer_math", "lists",
      "logic", "macros",      "parse",       "plumbing", "string",  "timestamps"};
  Counts total, core;
  for (const auto& in : inputs) {
    std::vector<fs::path> files;
    if (fs::is_directory(in)) {
      for (const auto& e : fs::directory_iterator(in)) {
        if (e.path().extension() == ".json") files.push_back(e.path());
      }
      std::sort(files.begin(), files.end());
    } else {
      files.push_back(in);
    }
    for (const auto& f : files) {
      std::ifstream stream(f);
      std::stringstream text;
      text << stream.rdbuf();
      YAML::Node doc = YAML::Load(decodeSurrogatePairs(text.str()));
      std::string fname = f.stem().string();
      Counts c;
      for (const auto& section : doc["section"]) {
        std::string sname = section["name"].as<std::string>();
        if (!section["test"]) continue;
        for (const auto& t : section["test"]) {
          std::string key = fname + "/" + sname + "/" + t["name"].as<std::string>();
          if (skips.count(key)) {
            ++c.skipped;
            continue;
          }
          Outcome o = runTest(t);
          if (o.kind == Outcome::kPass) {
            ++c.passed;
          } else if (o.kind == Outcome::kSkip) {
            ++c.skipped;
            if (verbose) std::cout << "SKIP " << key << ": " << o.why << "\n";
          } else {
            ++c.failed;
            if (verbose) {
              std::cout << "FAIL " << key << ": `" << t["expr"].as<std::string>() << "`: " << o.why
                        << "\n";
            }
          }
        }
      }
      std::cout << fname << ": " << c.passed << " passed, " << c.failed << " failed, " << c.skipped
                << " skipped\n";
      total.passed += c.passed;
      total.failed += c.failed;
      total.skipped += c.skipped;
      if (kCore.count(fname)) {
        core.passed += c.passed;
        core.failed += c.failed;
        core.skipped += c.skipped;
      }
    }
  }
  if (core.passed + core.failed > 0) {
    std::cout << "core files: " << core.passed << " passed, " << core.failed << " failed, "
              << core.skipped << " skipped (" << 100.0 * core.passed / (core.passed + core.failed)
              << "% of non-skipped)\n";
  }
  std::cout << total.passed << " passed, " << total.failed << " failed, " << total.skipped
            << " skipped\n";
  if (total.passed < min_pass) {
    std::cout << "FAIL: pass count " << total.passed << " is below the recorded minimum "
              << min_pass << "\n";
    return 1;
  }
  return 0;
}
