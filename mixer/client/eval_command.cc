#include "mixer/client/eval_command.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "base/json_string.h"
#include "expr/format.h"
#include "expr/program.h"
#include "mixer/runtime/bag_activation.h"

namespace mixer::client {
namespace {

int fail(const EvalOptions& o, const std::string& stage, std::string_view message, int code) {
  if (o.json) {
    std::printf("{\"error\":%s,\"stage\":\"%s\"}\n", base::jsonQuote(message).c_str(),
                stage.c_str());
  } else {
    std::printf("%s error: %.*s\n", stage.c_str(), static_cast<int>(message.size()),
                message.data());
  }
  return code;
}

}  // namespace

int runEval(const EvalOptions& o) {
  attribute::VocabularyConstSharedPtr vocabulary = o.vocabulary == "1.x"
                                                       ? attribute::Vocabulary::builtin()
                                                       : attribute::Vocabulary::allBuiltin();
  if (o.vocabulary != "all" && o.vocabulary != "1.x") {
    std::cerr << "mixc: --vocabulary " << o.vocabulary << ": want all or 1.x\n";
    return 2;
  }
  if (!o.manifest_file.empty()) {
    std::ifstream in(o.manifest_file);
    if (!in) {
      std::cerr << "mixc: --manifest " << o.manifest_file << ": cannot read\n";
      return 2;
    }
    std::stringstream text;
    text << in.rdbuf();
    auto decls = attribute::parseAttributeManifests(text.str(), o.manifest_file);
    if (!decls.ok()) {
      std::cerr << "mixc: " << decls.status().message() << "\n";
      return 2;
    }
    auto v = attribute::Vocabulary::create(*std::move(decls));
    if (!v.ok()) {
      std::cerr << "mixc: " << o.manifest_file << ": " << v.status().message() << "\n";
      return 2;
    }
    vocabulary = *v;
  }
  expr::CompileOptions copts;
  if (o.lang == "cel") {
    copts.dialect = expr::Dialect::kCel;
  } else if (o.lang != "cexl") {
    std::cerr << "mixc: --lang " << o.lang << ": want cexl or cel\n";
    return 2;
  }

  attribute::AttributeBag bag(vocabulary);
  if (auto s = buildAttributes(o.attrs, &bag); !s.ok()) {
    std::cerr << "mixc: " << s.message() << "\n";
    return 2;
  }
  const auto manifest = runtime::manifestFor(*vocabulary);
  auto program = expr::compile(o.expression, *manifest, copts);
  if (!program.ok()) {
    return fail(o, "compile", std::string(program.status().message()), 2);
  }
  runtime::BagActivation activation(&bag);
  expr::EvalState state;
  const expr::Value v = (*program)->evaluate(activation, &state);
  const auto refs = expr::formatReferences(state.references(), *manifest);
  std::string refs_json = "[";
  std::string refs_text;
  for (size_t i = 0; i < refs.size(); ++i) {
    refs_json += (i ? "," : "") + base::jsonQuote(refs[i]);
    refs_text += (i ? ", " : "") + refs[i];
  }
  refs_json += "]";
  if (v.isError()) {
    if (o.json) {
      std::printf("{\"error\":%s,\"stage\":\"eval\",\"referenced\":%s}\n",
                  base::jsonQuote(v.stringView()).c_str(), refs_json.c_str());
    } else {
      std::printf("eval error: %.*s\nreferenced: %s\n", static_cast<int>(v.stringView().size()),
                  v.stringView().data(), refs_text.c_str());
    }
    return 1;
  }
  const std::string type(expr::valueTypeName(v.type));
  if (o.json) {
    std::printf("{\"type\":%s,\"value\":%s,\"referenced\":%s}\n", base::jsonQuote(type).c_str(),
                expr::formatValueJson(v).c_str(), refs_json.c_str());
  } else {
    std::printf("%s (%s)\nreferenced: %s\n", expr::formatValue(v).c_str(), type.c_str(),
                refs_text.c_str());
  }
  return 0;
}

}  // namespace mixer::client
