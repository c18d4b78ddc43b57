// The config and request of the tests whose quota goes to the raw C fixture adapter, which
// answers later ("late" mode, from a host timer) or inside its call ("ok" mode).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>

#include "config/model.h"
#include "mixer/api/attribute_encoder.h"
#include "mixer/api/global_dictionary.h"
#include "mixer/attribute/attribute_bag.h"
#include "mixer/v1/mixer.pb.h"

namespace mixer::server {

inline config::SourcePos lateQuotaAt(int line) { return {"test.yaml", line, 1}; }

// A config of one quota rule whose handler is the raw fixture, answering after `delay_ms` (or,
// with mode "ok", at once, inside the adapter call).
inline config::ConfigModel lateQuotaModel(int delay_ms, const std::string& mode = "late") {
  config::ConfigModel m;
  config::Handler h;
  h.name = "late.raw.istio-system";
  h.ns = "istio-system";
  h.adapter = "raw";
  h.params = YAML::Load("{mode: " + mode + ", delay_ms: " + std::to_string(delay_ms) + "}");
  h.pos = lateQuotaAt(1);
  m.handlers.push_back(h);
  config::Instance i;
  i.name = "requestcount.quota.istio-system";
  i.ns = "istio-system";
  i.template_name = "quota";
  i.params = YAML::Load("dimensions: {destination: destination.service.host | \"unknown\"}");
  i.pos = lateQuotaAt(2);
  m.instances.push_back(i);
  config::Rule r;
  r.name = "quota.rule.istio-system";
  r.ns = "istio-system";
  r.pos = lateQuotaAt(3);
  config::Action a;
  a.handler = h.name;
  a.instances = {i.name};
  a.pos = lateQuotaAt(4);
  r.actions.push_back(a);
  m.rules.push_back(r);
  return m;
}

inline std::string lateQuotaRequest(int64_t amount, const std::string& dedup_id) {
  attribute::AttributeBag bag(attribute::Vocabulary::builtin());
  bag.set(bag.own("destination.service.host"),
          attribute::AttributeValue::string(bag.own("a.b.svc")));
  istio::mixer::v1::CheckRequest req;
  api::encodeAttributes(bag, api::kGlobalWordCount, req.mutable_attributes());
  req.set_global_word_count(api::kGlobalWordCount);
  req.set_deduplication_id(dedup_id);
  (*req.mutable_quotas())["requestcount"].set_amount(amount);
  return req.SerializeAsString();
}

}  // namespace mixer::server
