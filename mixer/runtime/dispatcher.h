// Dispatcher: decides Check, quota and Report for one request's attributes.
//
// This is the rule-free core of the runtime: it scopes the request to its identity namespace as
// Istio's runtime does (context.reporter.kind selects destination.namespace for "inbound", the
// default, or source.namespace for "outbound"), then applies the rules of that namespace. With no
// rules configured it answers as Istio 1.4's Mixer does when no rule matches:
//   - Check: OK, valid for 1 minute or 10000 uses;
//   - quota: nothing granted (granted_amount 0, no valid_duration): Istio's dispatcher reports a
//     quota that no rule handles as "requested quota is invalid" and the server leaves the result
//     empty;
//   - Report: nothing to do.
// Every attribute the decision reads, present or absent, is recorded in `refs`.
//
// Thread-safe: immutable after construction.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mixer/attribute/attribute_bag.h"
#include "mixer/attribute/references.h"

namespace mixer::runtime {

inline constexpr int64_t kDefaultValidDurationSeconds = 60;
inline constexpr int32_t kDefaultValidUseCount = 10000;

struct CheckResult {
  int32_t status_code = 0;  // google.rpc.Code
  std::string status_message;
  attribute::Duration valid_duration{};
  int32_t valid_use_count = 0;
};

struct QuotaArgs {
  std::string_view name;
  int64_t amount = 0;
  bool best_effort = false;
  std::string_view deduplication_id;
};

struct QuotaResult {
  // False when no rule handles the quota (the result is then empty, as in Istio).
  bool matched = false;
  int32_t status_code = 0;
  std::string status_message;
  int64_t granted_amount = 0;
  attribute::Duration valid_duration{};
};

class Dispatcher {
 public:
  explicit Dispatcher(attribute::VocabularyConstSharedPtr vocabulary);

  CheckResult check(const attribute::AttributeBag& bag, attribute::AttributeReferences* refs) const;
  QuotaResult quota(const attribute::AttributeBag& bag, const QuotaArgs& args,
                    attribute::AttributeReferences* refs) const;
  void report(const attribute::AttributeBag& bag) const;

  // The namespace whose rules apply to the request ("" when it has none). Reads and records
  // context.reporter.kind and one of destination.namespace / source.namespace (refs may be null).
  std::string_view identityNamespace(const attribute::AttributeBag& bag,
                                     attribute::AttributeReferences* refs) const;

 private:
  const attribute::Value* read(const attribute::AttributeBag& bag, attribute::AttributeId id,
                               std::string_view name, attribute::AttributeReferences* refs) const;

  attribute::VocabularyConstSharedPtr vocabulary_;
  attribute::AttributeId reporter_kind_;
  attribute::AttributeId destination_namespace_;
  attribute::AttributeId source_namespace_;
};

}  // namespace mixer::runtime
