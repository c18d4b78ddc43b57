#include "mixer/runtime/dispatcher.h"

namespace mixer::runtime {
namespace {
constexpr std::string_view kReporterKind = "context.reporter.kind";
constexpr std::string_view kDestinationNamespace = "destination.namespace";
constexpr std::string_view kSourceNamespace = "source.namespace";
}  // namespace

using attribute::AttributeBag;
using attribute::AttributeId;
using attribute::AttributeReferences;

Dispatcher::Dispatcher(attribute::VocabularyConstSharedPtr vocabulary)
    : vocabulary_(std::move(vocabulary)),
      reporter_kind_(vocabulary_->find(kReporterKind).value_or(attribute::kNoAttribute)),
      destination_namespace_(
          vocabulary_->find(kDestinationNamespace).value_or(attribute::kNoAttribute)),
      source_namespace_(vocabulary_->find(kSourceNamespace).value_or(attribute::kNoAttribute)) {}

const attribute::Value* Dispatcher::read(const AttributeBag& bag, AttributeId id,
                                         std::string_view name, AttributeReferences* refs) const {
  const attribute::Value* v = id != attribute::kNoAttribute ? bag.get(id) : bag.find(name);
  if (refs != nullptr) {
    refs->add(name, v != nullptr);
  }
  return v;
}

std::string_view Dispatcher::identityNamespace(const AttributeBag& bag,
                                               AttributeReferences* refs) const {
  std::string_view kind = "inbound";
  if (const auto* v = read(bag, reporter_kind_, kReporterKind, refs);
      v != nullptr && attribute::isStringLike(v->type())) {
    kind = v->stringValue();
  }
  const attribute::Value* ns = nullptr;
  if (kind == "inbound") {
    ns = read(bag, destination_namespace_, kDestinationNamespace, refs);
  } else if (kind == "outbound") {
    ns = read(bag, source_namespace_, kSourceNamespace, refs);
  }
  return ns != nullptr && attribute::isStringLike(ns->type()) ? ns->stringValue()
                                                             : std::string_view();
}

CheckResult Dispatcher::check(const AttributeBag& bag, AttributeReferences* refs) const {
  identityNamespace(bag, refs);
  CheckResult r;
  r.valid_duration = {kDefaultValidDurationSeconds, 0};
  r.valid_use_count = kDefaultValidUseCount;
  return r;
}

QuotaResult Dispatcher::quota(const AttributeBag& bag, const QuotaArgs& args,
                              AttributeReferences* refs) const {
  identityNamespace(bag, refs);
  return QuotaResult{};
}

void Dispatcher::report(const AttributeBag& bag) const {
  identityNamespace(bag, nullptr);
}

}  // namespace mixer::runtime
