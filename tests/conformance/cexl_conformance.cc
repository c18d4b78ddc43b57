// Runs the CEXL conformance suite (Istio Mixer's tests.go as YAML) against the expression
// library: value, type, error / compile-error outcome and the referenced-attribute list of every
// case. Usage: cexl_conformance [-v] [--min-pass N] [FILE_OR_DIR...]
// (default: $MIXER_SHARED_DIR/conformance/cexl). Ends with "N passed, N failed, N skipped".
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "expr/builtins.h"
#include "expr/checker.h"
#include "expr/format.h"
#include "expr/program.h"
#include "tests/expr/test_bag.h"
#include "yaml-cpp/yaml.h"

namespace fs = std::filesystem;
using expr::AttributeManifest;
using expr::Value;
using expr::ValueType;

namespace {

struct Counts {
  int passed = 0, failed = 0, skipped = 0;
};

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

// Builds a value of `type` from its YAML notation; storage goes into `bag`.
bool yamlToValue(const YAML::Node& node, ValueType type, expr::testing::TestBag* bag, Value* out,
                 const YAML::Node& raw = YAML::Node()) {
  switch (type) {
    case ValueType::kString:
    case ValueType::kDnsName:
    case ValueType::kEmailAddress:
    case ValueType::kUri:
      *out = Value::makeStringLike(type, bag->own(node.as<std::string>()));
      return true;
    case ValueType::kInt64:
      *out = Value::makeInt(node.as<int64_t>());
      return true;
    case ValueType::kDouble:
      *out = Value::makeDouble(node.as<double>());
      return true;
    case ValueType::kBool:
      *out = Value::makeBool(node.as<bool>());
      return true;
    case ValueType::kTimestamp: {
      expr::Timestamp ts;
      if (!expr::parseRfc3339(node.as<std::string>(), &ts)) return false;
      *out = Value::makeTimestamp(ts.seconds, ts.nanos);
      return true;
    }
    case ValueType::kDuration: {
      int64_t nanos;
      if (!expr::parseGoDuration(node.as<std::string>(), &nanos)) return false;
      *out = Value::makeDuration(nanos);
      return true;
    }
    case ValueType::kIpAddress: {
      if (raw && raw.IsScalar()) {
        *out = Value::makeIp(bag->own(b64decode(raw.as<std::string>())));
        return true;
      }
      std::string bytes;
      if (!expr::parseIp(node.as<std::string>(), &bytes)) return false;
      *out = Value::makeIp(bag->own(bytes));
      return true;
    }
    case ValueType::kStringMap: {
      std::map<std::string, std::string> m;
      if (node.IsMap()) {
        for (const auto& kv : node) m[kv.first.as<std::string>()] = kv.second.as<std::string>();
      }
      static constexpr expr::AttributeId kScratch = 0xfffffff0u;
      bag->setStringMap(kScratch, m);
      bag->find(kScratch, out);
      bag->erase(kScratch);
      return true;
    }
    default:
      return false;
  }
}

bool sameValue(const Value& got, const Value& want) {
  if (got.type != want.type) return false;
  switch (got.type) {
    case ValueType::kString:
    case ValueType::kDnsName:
    case ValueType::kEmailAddress:
    case ValueType::kUri:
      return got.stringView() == want.stringView();
    default:
      return expr::valuesEqual(got, want, expr::Dialect::kCexl);
  }
}

std::map<std::string, AttributeManifest> loadManifests(const YAML::Node& doc,
                                                       std::string* default_name) {
  std::map<std::string, AttributeManifest> out;
  *default_name = doc["default"].as<std::string>("defaultAttrs");
  for (const auto& m : doc["manifests"]) {
    AttributeManifest manifest;
    for (const auto& attr : m.second) {
      manifest.add(attr.first.as<std::string>(),
                   expr::parseValueTypeName(attr.second.as<std::string>()));
    }
    out[m.first.as<std::string>()] = std::move(manifest);
  }
  return out;
}

AttributeManifest manifestFromMap(const YAML::Node& node) {
  AttributeManifest manifest;
  for (const auto& attr : node) {
    manifest.add(attr.first.as<std::string>(),
                 expr::parseValueTypeName(attr.second.as<std::string>()));
  }
  return manifest;
}

// Returns "" when the case passes, else why it failed.
std::string runCase(const YAML::Node& c, const AttributeManifest& manifest) {
  const std::string src = c["expr"].as<std::string>();
  expr::CompileOptions options;
  options.dialect = expr::Dialect::kCexl;
  auto program = expr::compile(src, manifest, options);
  if (c["expect_compile_error"] || c["expect_check_error"]) {
    if (program.ok()) {
      return expr::strCat("expected a compile error, compiled to type ",
                          expr::valueTypeName((*program)->resultType()));
    }
    return "";
  }
  if (!program.ok()) return "unexpected compile error: " + std::string(program.status().message());
  if (c["expect_type"] &&
      c["expect_type"].as<std::string>() != expr::valueTypeName((*program)->resultType())) {
    return expr::strCat("type ", expr::valueTypeName((*program)->resultType()), ", expected ",
                        c["expect_type"].as<std::string>());
  }
  if (!c["expect"] && !c["expect_error"]) return "";  // type-check-only case
  expr::testing::TestBag bag;
  if (c["attributes"]) {
    for (const auto& attr : c["attributes"]) {
      const std::string name = attr.first.as<std::string>();
      const auto* entry = manifest.find(name);
      if (entry == nullptr) continue;  // not in the manifest: never readable
      Value v;
      ValueType t = expr::parseValueTypeName(attr.second["type"].as<std::string>());
      if (!yamlToValue(attr.second["value"], t, &bag, &v, attr.second["raw"])) {
        return "cannot convert attribute " + name;
      }
      bag.set(entry->id, v);
    }
  }
  expr::EvalState state;
  Value result = (*program)->evaluate(bag, &state);
  std::string why;
  if (c["expect_error"]) {
    std::string want = c["expect_error"].as<std::string>();
    if (!result.isError()) {
      why = "expected error '" + want + "', got " + expr::formatValue(result);
    } else if (!std::string_view(result.stringView()).starts_with(want)) {
      why = expr::strCat("error message '", result.stringView(), "', expected '", want, "'");
    }
  } else {
    const YAML::Node& e = c["expect"];
    ValueType t = expr::parseValueTypeName(e["type"].as<std::string>());
    Value want;
    if (!yamlToValue(e["value"], t, &bag, &want, e["raw"])) return "cannot convert expected value";
    if (!sameValue(result, want)) {
      why = "got " + expr::formatValue(result) + " (" +
            std::string(expr::valueTypeName(result.type)) + "), expected " +
            expr::formatValue(want) + " (" + std::string(expr::valueTypeName(want.type)) + ")";
    }
  }
  if (why.empty() && c["referenced"]) {
    std::vector<std::string> want;
    for (const auto& r : c["referenced"]) want.push_back(r.as<std::string>());
    std::sort(want.begin(), want.end());
    want.erase(std::unique(want.begin(), want.end()), want.end());
    std::vector<std::string> got = expr::formatReferences(state.references(), manifest);
    if (got != want) {
      auto join = [](const std::vector<std::string>& v) {
        std::string s = "[";
        for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
        return s + "]";
      };
      why = "referenced " + join(got) + ", expected " + join(want);
    }
  }
  return why;
}

void report(const std::string& name, const std::string& src, const std::string& why,
            Counts* counts) {
  if (why.empty()) {
    ++counts->passed;
    return;
  }
  ++counts->failed;
  if (verbose) std::cout << "FAIL " << name << ": `" << src << "`: " << why << "\n";
}

void runFile(const fs::path& file, Counts* total) {
  YAML::Node doc = YAML::LoadFile(file.string());
  Counts counts;
  if (doc.IsSequence()) {
    // cexl_tests.yaml: manifests come from manifest.yaml beside it.
    std::string default_name;
    auto manifests = loadManifests(YAML::LoadFile((file.parent_path() / "manifest.yaml").string()),
                                   &default_name);
    for (const auto& c : doc) {
      std::string mname = c["manifest"] ? c["manifest"].as<std::string>() : default_name;
      auto it = manifests.find(mname);
      if (it == manifests.end()) {
        ++counts.skipped;
        continue;
      }
      report(c["name"].as<std::string>(), c["expr"].as<std::string>(), runCase(c, it->second),
             &counts);
    }
  } else if (doc.IsMap() && doc["cases"]) {
    AttributeManifest manifest = manifestFromMap(doc["manifest"]);
    for (const auto& c : doc["cases"]) {
      report(c["name"].as<std::string>(), c["expr"].as<std::string>(), runCase(c, manifest),
             &counts);
    }
  } else {
    return;  // manifest.yaml, skipped.yaml: not case files
  }
  std::cout << file.filename().string() << ": " << counts.passed << " passed, " << counts.failed
            << " failed, " << counts.skipped << " skipped\n";
  total->passed += counts.passed;
  total->failed += counts.failed;
  total->skipped += counts.skipped;
}

}  // namespace

int main(int argc, char** argv) {
  int min_pass = 0;
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-v") {
      verbose = true;
    } else if (a == "--min-pass" && i + 1 < argc) {
      min_pass = std::atoi(argv[++i]);
    } else {
      inputs.emplace_back(a);
    }
  }
  if (inputs.empty()) {
    const char* shared = std::getenv("MIXER_SHARED_DIR");
    inputs.emplace_back(fs::path(shared ? shared : "../shared") / "conformance" / "cexl");
  }
  Counts total;
  for (const auto& in : inputs) {
    std::vector<fs::path> files;
    if (fs::is_directory(in)) {
      for (const auto& e : fs::directory_iterator(in)) {
        if (e.path().extension() == ".yaml") files.push_back(e.path());
      }
      std::sort(files.begin(), files.end());
    } else {
      files.push_back(in);
    }
    for (const auto& f : files) {
      if (f.filename() == "skipped.yaml") {
        YAML::Node skipped = YAML::LoadFile(f.string());
        total.skipped += static_cast<int>(skipped.size());
        std::cout << "skipped.yaml: " << skipped.size()
                  << " upstream cases that need custom Go functions\n";
        continue;
      }
      runFile(f, &total);
    }
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
