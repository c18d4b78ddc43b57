// Runs the CEXL conformance suite (Istio Mixer's tests.go as YAML) against the expression
// library: value, type, error / compile-error outcome and the referenced-attribute list of every
// case. Every case runs; the committed cexl_known_failures.yaml lists those this engine does not
// pass, and the run enforces it both ways (known_failures.h). Usage: cexl_conformance --help.
// Ends with "N passed, N failed, N skipped".
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "base/go_duration.h"
#include "base/rfc3339.h"
#include "expr/builtins.h"
#include "expr/format.h"
#include "expr/ip_address.h"
#include "expr/program.h"
#include "tests/conformance/known_failures.h"
#include "tests/expr/test_bag.h"
#include "yaml-cpp/yaml.h"

namespace fs = std::filesystem;
using expr::AttributeManifest;
using expr::Value;
using expr::ValueType;

namespace {

bool verbose = false;

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
      if (!mixer::base::parseRfc3339(node.as<std::string>(), &ts.seconds, &ts.nanos)) return false;
      *out = Value::makeTimestamp(ts.seconds, ts.nanos);
      return true;
    }
    case ValueType::kDuration: {
      int64_t nanos;
      if (!mixer::base::parseGoDuration(node.as<std::string>(), &nanos)) return false;
      *out = Value::makeDuration(nanos);
      return true;
    }
    case ValueType::kIpAddress: {
      if (raw && raw.IsScalar()) {
        *out = Value::makeIp(bag->own(conformance::b64decode(raw.as<std::string>())));
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

// Runs the cases of one suite file; false with *error set when it cannot be read.
bool runFile(const fs::path& file, conformance::KnownFailures* known, int* upstream_skipped,
             std::string* error) {
  const std::string stem = file.stem().string();
  try {
    YAML::Node doc = YAML::LoadFile(file.string());
    if (file.filename() == "skipped.yaml") {
      // Upstream entries that were never converted (they are Go code, not data); see the data
      // README. Reported, not run.
      *upstream_skipped += static_cast<int>(doc.size());
      std::cout << "skipped.yaml: " << doc.size()
                << " upstream cases that need custom Go functions (not data)\n";
      return true;
    }
    const int passed0 = known->passed(), failed0 = known->failed(), known0 = known->known();
    auto run = [&](const YAML::Node& c, const AttributeManifest* manifest) {
      const std::string key = stem + "/" + c["name"].as<std::string>();
      if (known->skip(key, verbose)) return;
      std::string why = manifest == nullptr ? "not run: its manifest is not in manifest.yaml"
                                            : runCase(c, *manifest);
      if (!why.empty()) why = "`" + c["expr"].as<std::string>() + "`: " + why;
      known->record(key, why, verbose);
    };
    if (doc.IsSequence()) {
      // cexl_tests.yaml: manifests come from manifest.yaml beside it.
      std::string default_name;
      auto manifests = loadManifests(
          YAML::LoadFile((file.parent_path() / "manifest.yaml").string()), &default_name);
      for (const auto& c : doc) {
        std::string mname = c["manifest"] ? c["manifest"].as<std::string>() : default_name;
        auto it = manifests.find(mname);
        run(c, it == manifests.end() ? nullptr : &it->second);
      }
    } else if (doc.IsMap() && doc["cases"]) {
      AttributeManifest manifest = manifestFromMap(doc["manifest"]);
      for (const auto& c : doc["cases"]) run(c, &manifest);
    } else {
      return true;  // manifest.yaml: not a case file
    }
    std::cout << file.filename().string() << ": " << known->passed() - passed0 << " passed, "
              << known->failed() - failed0 << " failed, " << known->known() - known0
              << " known failures\n";
  } catch (const YAML::Exception& e) {
    *error = file.string() + ": " + e.what();
    return false;
  }
  return true;
}

constexpr const char* kUsage =
    "usage: cexl_conformance [-v] [--known-failures FILE] [--min-pass N] [FILE_OR_DIR...]\n"
    "  Runs Istio Mixer's expression tests (tests.go as YAML) in the CEXL dialect: value, type,\n"
    "  error and referenced attributes of every case. A case that fails and is not in the\n"
    "  known-failures list, or a listed case that passes, fails the run.\n"
    "  FILE_OR_DIR  suite files or directories of *.yaml (default: the suite kept in the\n"
    "               repository, " CEXL_CONFORMANCE_DATA
    ")\n"
    "  --known-failures FILE  YAML maps known_failures and not_run of \"file/case name\": reason\n"
    "  --min-pass N  also fail when fewer than N cases pass (guards against a shrunken suite)\n"
    "  -v           print every known failure with its reason\n"
    "Exit status: 0 all as listed, 1 a case off the list, 2 this usage shown (--help, bad\n"
    "usage or unreadable input).\n";

}  // namespace

int main(int argc, char** argv) {
  conformance::HarnessArgs args;
  conformance::KnownFailures known;
  if (int code = conformance::parseHarnessArgs(argc, argv, "cexl_conformance", kUsage,
                                               CEXL_CONFORMANCE_DATA, ".yaml", &args, &known);
      code >= 0) {
    return code;
  }
  verbose = args.verbose;
  const std::vector<fs::path>& files = args.files;
  int upstream_skipped = 0;
  for (const auto& f : files) {
    std::string error;
    if (!runFile(f, &known, &upstream_skipped, &error)) {
      std::cerr << "cexl_conformance: " << error << "\n";
      return 2;
    }
  }
  return conformance::finishHarness(known, known.known() + known.skipped() + upstream_skipped,
                                    args);
}
