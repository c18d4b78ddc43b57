#include "mixer/attribute/vocabulary.h"

#include <yaml-cpp/yaml.h>

#include "base/str_cat.h"

namespace mixer::attribute {

absl::StatusOr<std::shared_ptr<const Vocabulary>> Vocabulary::create(
    std::vector<AttributeDecl> decls) {
  std::shared_ptr<Vocabulary> v(new Vocabulary());
  v->decls_.reserve(decls.size());
  absl::flat_hash_map<std::string, ValueType> seen;
  for (auto& d : decls) {
    auto [it, inserted] = seen.emplace(d.name, d.type);
    if (!inserted) {
      if (it->second != d.type) {
        return absl::InvalidArgumentError(
            base::strCat("attribute '", d.name, "' is declared both as ",
                         manifestTypeName(it->second), " and as ", manifestTypeName(d.type)));
      }
      continue;
    }
    v->decls_.push_back(std::move(d));
  }
  v->by_name_.reserve(v->decls_.size());
  v->global_word_of_.assign(v->decls_.size(), -1);
  v->by_global_word_.assign(api::kGlobalWordCount, kNoAttribute);
  for (size_t i = 0; i < v->decls_.size(); ++i) {
    const auto id = static_cast<AttributeId>(i);
    v->by_name_.emplace(v->decls_[i].name, id);
    if (auto g = api::globalWordIndex(v->decls_[i].name)) {
      v->by_global_word_[*g] = id;
      v->global_word_of_[i] = *g;
    }
  }
  return std::shared_ptr<const Vocabulary>(std::move(v));
}

std::shared_ptr<const Vocabulary> Vocabulary::builtin() {
  static const std::shared_ptr<const Vocabulary> v = [] {
    auto decls = parseAttributeManifests(builtinManifestsYaml(), "builtin-manifests.yaml");
    if (!decls.ok()) {
      // The text is compiled in and covered by tests; reaching this is a build defect.
      abort();
    }
    return *create(*std::move(decls));
  }();
  return v;
}

const std::vector<AttributeDecl>& aspectModelDecls() {
  static const std::vector<AttributeDecl> decls = [] {
    auto d = parseAttributeManifests(aspectModelManifestYaml(), "istio-0.1-manifest.yaml");
    if (!d.ok()) {
      abort();  // compiled in and covered by tests
    }
    return *std::move(d);
  }();
  return decls;
}

std::shared_ptr<const Vocabulary> Vocabulary::allBuiltin() {
  static const std::shared_ptr<const Vocabulary> v = [] {
    const auto base = builtin();
    std::vector<AttributeDecl> decls = base->decls();
    for (const auto& a : aspectModelDecls()) {
      if (!base->find(a.name)) {
        decls.push_back(a);
      }
    }
    return *create(std::move(decls));
  }();
  return v;
}

absl::StatusOr<std::vector<AttributeDecl>> parseAttributeManifests(std::string_view yaml,
                                                                   std::string_view source_name) {
  std::vector<AttributeDecl> out;
  auto where = [&](const YAML::Node& n) {
    const auto m = n.Mark();
    return base::strCat(source_name, ":", m.line + 1, ":", m.column + 1);
  };
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        base::strCat(source_name, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
  for (const auto& doc : docs) {
    if (!doc.IsMap()) {
      continue;
    }
    const auto kind = doc["kind"];
    if (!kind || kind.as<std::string>("") != "attributemanifest") {
      continue;
    }
    const auto attrs = doc["spec"]["attributes"];
    if (!attrs) {
      continue;
    }
    if (!attrs.IsMap()) {
      return absl::InvalidArgumentError(
          base::strCat(where(attrs),
                       ": spec.attributes must be a map of attribute name to "
                       "{valueType: TYPE}"));
    }
    for (const auto& kv : attrs) {
      const auto name = kv.first.as<std::string>("");
      const auto vt = kv.second["valueType"];
      if (!vt || !vt.IsScalar()) {
        return absl::InvalidArgumentError(
            base::strCat(where(kv.first), ": attribute '", name, "' has no valueType"));
      }
      const auto type_name = vt.as<std::string>();
      auto type = parseManifestTypeName(type_name);
      if (!type || *type == ValueType::kBytes || *type == ValueType::kUnspecified) {
        return absl::InvalidArgumentError(
            base::strCat(where(vt), ": attribute '", name, "' has unknown valueType '", type_name,
                         "' (want one of STRING, INT64, DOUBLE, BOOL, TIMESTAMP, IP_ADDRESS, "
                         "EMAIL_ADDRESS, URI, DNS_NAME, DURATION, STRING_MAP)"));
      }
      out.push_back({name, *type});
    }
  }
  return out;
}

}  // namespace mixer::attribute
