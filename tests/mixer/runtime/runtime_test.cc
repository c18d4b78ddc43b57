// The compiled runtime end to end, without the network: configuration models (built here as
// data, as the loader would produce them) compiled against the real in-tree adapters (.so files
// of this build), then Check / quota / Report decisions and compile errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include <unistd.h>

#include "mixer/adapter_host/adapter_host.h"
#include "mixer/runtime/bag_activation.h"
#include "mixer/runtime/config_snapshot.h"
#include "mixer/runtime/dispatcher.h"
#include "mixer/runtime/unavailable_handlers.h"
#include "tests/mixer/runtime/model_builders.h"

namespace mixer::runtime {
namespace {

using attribute::AttributeBag;
using attribute::AttributeReferences;
using attribute::AttributeValue;

using testing::at;
using testing::handler;
using testing::instance;
using testing::rule;

std::vector<std::string> refsText(const AttributeReferences& refs) {
  std::vector<std::string> out;
  for (const auto& r : refs.items()) {
    std::string s = (r.present ? "" : "-") + std::string(r.name);
    if (r.has_map_key) {
      s += "[" + std::string(r.map_key) + "]";
    }
    out.push_back(s);
  }
  return out;
}

class RuntimeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { host_ = new adapter_host::AdapterHost({}); }
  static void TearDownTestSuite() {
    delete host_;
    host_ = nullptr;
  }

  ConfigSnapshotConstSharedPtr compile(const config::ConfigModel& model) {
    errors_.clear();
    return compileSnapshot(model, host_->registry(), attribute::Vocabulary::builtin(), 1, &errors_);
  }

  std::string errorsText() const {
    std::string out;
    for (const auto& e : errors_) {
      out += e.str() + "\n";
    }
    return out;
  }

  // The bookinfo "deny reviews v3 calling ratings" sample, in the default namespace.
  config::ConfigModel denyModel() {
    config::ConfigModel m;
    m.handlers.push_back(handler("denyreviewsv3handler.denier.istio-system", "denier",
                                 "status: {code: 7, message: Not allowed}"));
    m.instances.push_back(
        instance("denyreviewsv3request.checknothing.istio-system", "checknothing", "{}"));
    m.rules.push_back(rule(
        "denyreviewsv3.rule.istio-system",
        R"(destination.labels["app"] == "ratings" && source.labels["app"] == "reviews" && source.labels["version"] == "v3")",
        "denyreviewsv3handler.denier.istio-system",
        {"denyreviewsv3request.checknothing.istio-system"}));
    return m;
  }

  // One rule sending quota `requestcount` to a memquota handler that allows 10 per minute.
  config::ConfigModel memquotaModel() {
    config::ConfigModel m;
    m.handlers.push_back(handler("h.memquota.istio-system", "memquota",
                                 "quotas: [{name: requestcount.quota.istio-system, maxAmount: 10, "
                                 "validDuration: 60s}]"));
    m.instances.push_back(instance("requestcount.quota.istio-system", "quota", "dimensions: {}"));
    m.rules.push_back(rule("q.rule.istio-system", "", "h.memquota.istio-system",
                           {"requestcount.quota.istio-system"}));
    return m;
  }

  static adapter_host::AdapterHost* host_;
  std::vector<config::ConfigError> errors_;
};

adapter_host::AdapterHost* RuntimeTest::host_ = nullptr;

TEST_F(RuntimeTest, DenyByLabelSample) {
  auto snapshot = compile(denyModel());
  ASSERT_NE(snapshot, nullptr) << errorsText();
  Dispatcher d(snapshot, nullptr);
  AttributeBag bag(snapshot->vocabulary());
  const attribute::StringMapEntry dst[] = {{"app", "ratings"}};
  const attribute::StringMapEntry src[] = {{"app", "reviews"}, {"version", "v3"}};
  bag.set("destination.labels", bag.makeStringMap(dst));
  bag.set("source.labels", bag.makeStringMap(src));
  AttributeReferences refs;
  CheckDecision r = d.check(bag, &refs);
  EXPECT_EQ(r.status_code, 7);
  EXPECT_EQ(r.status_message, "denyreviewsv3handler.denier.istio-system:Not allowed");
  // The denier's defaults: 5s, 1000 uses.
  EXPECT_EQ(r.valid_duration.seconds, 5);
  EXPECT_EQ(r.valid_use_count, 1000);
  const auto text = refsText(refs);
  for (const char* want :
       {"destination.labels[app]", "source.labels[app]", "source.labels[version]",
        "-context.reporter.kind", "-destination.namespace"}) {
    EXPECT_NE(std::find(text.begin(), text.end(), want), text.end()) << want;
  }
  // Each reference carries its name's global dictionary index from the vocabulary (map keys and
  // names alike), so the encoder need not look the names up again.
  const auto& vocab = *snapshot->vocabulary();
  for (const auto& ref : refs.items()) {
    const auto id = vocab.find(ref.name);
    ASSERT_TRUE(id.has_value()) << ref.name;
    EXPECT_EQ(ref.global_word, vocab.globalWordOf(*id)) << ref.name;
    EXPECT_GE(ref.global_word, 0) << ref.name;
  }

  // v2 is allowed, with Istio's defaults, and only the keys read are referenced.
  const attribute::StringMapEntry v2[] = {{"app", "reviews"}, {"version", "v2"}};
  bag.set("source.labels", bag.makeStringMap(v2));
  refs.clear();
  r = d.check(bag, &refs);
  EXPECT_EQ(r.status_code, 0);
  EXPECT_EQ(r.valid_duration.seconds, 60);
  EXPECT_EQ(r.valid_use_count, 10000);
}

// A passed deadline stops the decision before the rule's adapter is asked: no denial, the result
// marked incomplete; quota and report stop the same way. A deadline still ahead changes nothing.
TEST_F(RuntimeTest, APassedDeadlineStopsBeforeRulesAndAdapterCalls) {
  config::ConfigModel m;
  m.handlers.push_back(handler("deny.denier.istio-system", "denier", "status: {code: 7}"));
  m.instances.push_back(instance("nothing.checknothing.istio-system", "checknothing", "{}"));
  m.instances.push_back(instance("requestcount.quota.istio-system", "quota", "dimensions: {}"));
  m.rules.push_back(rule("r.rule.istio-system", "", "deny.denier.istio-system",
                         {"nothing.checknothing.istio-system"}));
  m.rules.push_back(rule("q.rule.istio-system", "", "deny.denier.istio-system",
                         {"requestcount.quota.istio-system"}));
  auto snapshot = compile(m);
  ASSERT_NE(snapshot, nullptr) << errorsText();
  Dispatcher d(snapshot, nullptr);
  AttributeBag bag(snapshot->vocabulary());
  AttributeReferences refs;
  const CallDeadline passed(std::chrono::system_clock::now() - std::chrono::milliseconds(1));
  const CallDeadline ahead(std::chrono::system_clock::now() + std::chrono::hours(1));

  CheckDecision r = d.check(bag, &refs, passed);
  EXPECT_TRUE(r.deadline_exceeded);
  EXPECT_EQ(r.status_code, 0);
  r = d.check(bag, &refs, ahead);
  EXPECT_FALSE(r.deadline_exceeded);
  EXPECT_EQ(r.status_code, 7);

  QuotaRequest args{"requestcount", 1, false, "id"};
  args.deadline = passed;
  QuotaDecision q = d.quota(bag, args, &refs);
  EXPECT_TRUE(q.matched);
  EXPECT_EQ(q.status_code, 4);  // DEADLINE_EXCEEDED
  EXPECT_EQ(q.status_message, "deny.denier.istio-system:the call's deadline passed");
  args.deadline = ahead;
  q = d.quota(bag, args, &refs);
  EXPECT_EQ(q.status_code, 0);

  PendingReports pending;
  EXPECT_TRUE(d.report(bag, &pending, passed));  // no rule reports: nothing to stop
}

// Among many rules that may apply, none of which matches (so no adapter call is ever reached),
// a passed deadline still stops the check: the clock is read every 32 rules.
TEST_F(RuntimeTest, APassedDeadlineStopsALongRunOfSelectors) {
  config::ConfigModel m;
  m.handlers.push_back(handler("deny.denier.istio-system", "denier", "status: {code: 7}"));
  m.instances.push_back(instance("nothing.checknothing.istio-system", "checknothing", "{}"));
  for (int i = 0; i < 40; ++i) {
    m.rules.push_back(rule("r" + std::to_string(i) + ".rule.istio-system",
                           "(request.size | 0) > " + std::to_string(1000 + i),
                           "deny.denier.istio-system", {"nothing.checknothing.istio-system"}));
  }
  auto snapshot = compile(m);
  ASSERT_NE(snapshot, nullptr) << errorsText();
  Dispatcher d(snapshot, nullptr);
  AttributeBag bag(snapshot->vocabulary());
  AttributeReferences refs;
  const CallDeadline passed(std::chrono::system_clock::now() - std::chrono::milliseconds(1));
  EXPECT_TRUE(d.check(bag, &refs, passed).deadline_exceeded);
  EXPECT_FALSE(d.check(bag, &refs).deadline_exceeded);
}

TEST_F(RuntimeTest, RulesOfOtherNamespacesApplyOnlyThere) {
  config::ConfigModel m;
  m.handlers.push_back(handler("deny.denier.bookinfo", "denier", "status: {code: 7}"));
  m.instances.push_back(instance("nothing.checknothing.bookinfo", "checknothing", "{}"));
  m.rules.push_back(
      rule("r.rule.bookinfo", "", "deny.denier.bookinfo", {"nothing.checknothing.bookinfo"}));
  auto snapshot = compile(m);
  ASSERT_NE(snapshot, nullptr) << errorsText();
  Dispatcher d(snapshot, nullptr);
  AttributeBag bag(snapshot->vocabulary());
  AttributeReferences refs;
  EXPECT_EQ(d.check(bag, &refs).status_code, 0);  // no namespace: only default rules
  bag.set("destination.namespace", AttributeValue::string("bookinfo"));
  EXPECT_EQ(d.check(bag, &refs).status_code, 7);
  bag.set("context.reporter.kind",
          AttributeValue::string("outbound"));  // now source.namespace counts
  EXPECT_EQ(d.check(bag, &refs).status_code, 0);
}

TEST_F(RuntimeTest, QuotaGoesToTheInstanceNamedByTheRequest) {
  config::ConfigModel m;
  m.handlers.push_back(handler("h.denier.istio-system", "denier", "{}"));
  m.instances.push_back(
      instance("requestcount.quota.istio-system", "quota",
               "dimensions: {destination: destination.service.host | \"unknown\"}"));
  m.rules.push_back(rule("q.rule.istio-system", "", "h.denier.istio-system",
                         {"requestcount.quota.istio-system"}));
  auto snapshot = compile(m);
  ASSERT_NE(snapshot, nullptr) << errorsText();
  Dispatcher d(snapshot, nullptr);
  AttributeBag bag(snapshot->vocabulary());
  AttributeReferences refs;
  QuotaDecision q = d.quota(bag, {"RequestCount", 5, false, "id"}, &refs);
  EXPECT_TRUE(q.matched);
  EXPECT_EQ(q.granted_amount, 0);  // the denier grants nothing
  const auto text = refsText(refs);
  EXPECT_NE(std::find(text.begin(), text.end(), "-destination.service.host"), text.end());
  q = d.quota(bag, {"other", 5, false, "id"}, &refs);
  EXPECT_FALSE(q.matched);
}

// Istio's quota deduplication id is the request's id plus the quota name; a request without an
// id is not deduplicated (the quota name alone would make every such request a repeat).
TEST_F(RuntimeTest, QuotaDeduplicationFollowsTheRequestId) {
  auto snapshot = compile(memquotaModel());
  ASSERT_NE(snapshot, nullptr) << errorsText();
  Dispatcher d(snapshot, nullptr);
  AttributeBag bag(snapshot->vocabulary());
  AttributeReferences refs;
  // The same id twice: granted once, the repeat answered from the deduplication window.
  EXPECT_EQ(d.quota(bag, {"requestcount", 4, false, "req-1"}, &refs).granted_amount, 4);
  EXPECT_EQ(d.quota(bag, {"requestcount", 4, false, "req-1"}, &refs).granted_amount, 4);
  // No id: each call counts, so 4 + 4 + 4 exhausts the 10.
  EXPECT_EQ(d.quota(bag, {"requestcount", 4, false, ""}, &refs).granted_amount, 4);
  EXPECT_EQ(d.quota(bag, {"requestcount", 4, false, ""}, &refs).granted_amount, 0);
  EXPECT_EQ(d.quota(bag, {"requestcount", 2, false, ""}, &refs).granted_amount, 2);
}

// The receiver form of a quota call (the server's): done() runs once per call, with the handler's
// answer or, when no rule handles the quota, with nothing matched; the receiver can be reused.
TEST_F(RuntimeTest, AQuotaReceiverIsAnsweredOncePerCall) {
  auto snapshot = compile(memquotaModel());
  ASSERT_NE(snapshot, nullptr) << errorsText();
  Dispatcher d(snapshot, nullptr);
  AttributeBag bag(snapshot->vocabulary());
  AttributeReferences refs;
  struct Receiver final : QuotaReceiver {
    int calls = 0;
    QuotaDecision last;
    void done(QuotaDecision decision) override {
      ++calls;
      last = std::move(decision);
    }
  } receiver;
  d.quota(bag, {"requestcount", 4, false, ""}, &refs, &receiver);
  EXPECT_EQ(receiver.calls, 1);
  EXPECT_TRUE(receiver.last.matched);
  EXPECT_EQ(receiver.last.granted_amount, 4);
  EXPECT_EQ(receiver.last.valid_duration.seconds, 60);
  d.quota(bag, {"requestcount", 7, false, ""}, &refs, &receiver);
  EXPECT_EQ(receiver.calls, 2);
  EXPECT_EQ(receiver.last.granted_amount, 0);  // 4 + 7 is over the 10
  d.quota(bag, {"other", 1, false, ""}, &refs, &receiver);
  EXPECT_EQ(receiver.calls, 3);
  EXPECT_FALSE(receiver.last.matched);
}

TEST_F(RuntimeTest, HeaderOperationsBecomeTheRouteDirective) {
  config::ConfigModel m = denyModel();
  m.rules[0].match = "false";
  config::Rule r;
  r.name = "headers.rule.istio-system";
  r.ns = "istio-system";
  r.request_header_operations.push_back({"x-user",
                                         {"request.headers[\"user\"] | \"anonymous\""},
                                         config::HeaderOperation::Op::Replace,
                                         at(9)});
  r.response_header_operations.push_back(
      {"x-powered-by", {}, config::HeaderOperation::Op::Remove, at(10)});
  m.rules.push_back(r);
  auto snapshot = compile(m);
  ASSERT_NE(snapshot, nullptr) << errorsText();
  Dispatcher d(snapshot, nullptr);
  AttributeBag bag(snapshot->vocabulary());
  AttributeReferences refs;
  const CheckDecision c = d.check(bag, &refs);
  ASSERT_EQ(c.request_header_operations.size(), 1u);
  EXPECT_EQ(c.request_header_operations[0].name, "x-user");
  EXPECT_EQ(c.request_header_operations[0].value, "anonymous");
  ASSERT_EQ(c.response_header_operations.size(), 1u);
  EXPECT_EQ(c.response_header_operations[0].op, config::HeaderOperation::Op::Remove);
}

TEST_F(RuntimeTest, ReportsReachTheStdioAdapterOffTheRequestThread) {
  const std::string path = ::testing::TempDir() + "/runtime-test-access.log";
  std::filesystem::remove(path);
  config::ConfigModel m;
  m.handlers.push_back(
      handler("log.stdio.istio-system", "stdio",
              "{log_stream: FILE, output_path: " + path + ", outputAsJson: true}"));
  m.instances.push_back(instance("access.logentry.istio-system", "logentry",
                                 "severity: '\"Info\"'\n"
                                 "timestamp: request.time\n"
                                 "variables: {code: response.code | 0, path: request.path}\n"));
  m.rules.push_back(rule("log.rule.istio-system", "context.protocol == \"http\"",
                         "log.stdio.istio-system", {"access.logentry.istio-system"}));
  auto snapshot = compile(m);
  ASSERT_NE(snapshot, nullptr) << errorsText();
  {
    ReportQueue queue(100, absl::Seconds(1), nullptr);
    Dispatcher d(snapshot, &queue);
    AttributeBag bag(snapshot->vocabulary());
    PendingReports pending;
    for (int i = 0; i < 3; ++i) {
      bag.clear();
      bag.set("context.protocol", AttributeValue::string(i == 1 ? "tcp" : "http"));
      bag.set("request.time", AttributeValue::timestamp({1700000000, 0}));
      bag.set("request.path", AttributeValue::string(i == 0 ? "/a" : "/c"));
      bag.set("response.code", AttributeValue::int64(200 + i));
      d.report(bag, &pending);
    }
    EXPECT_EQ(d.flushReports(&pending), 0u);
    queue.shutdown();
  }
  snapshot.reset();  // closes the handler, which flushes its output
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const std::string out = text.str();
  EXPECT_NE(out.find("\"path\":\"/a\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"code\":202"), std::string::npos) << out;
  EXPECT_EQ(out.find("\"code\":201"), std::string::npos) << out;  // tcp: the rule did not match
}

// The mixer_value of `key` in a MIXER_VALUE_MAP, or nullptr.
const mixer_value* field(const mixer_value& map, std::string_view key) {
  for (size_t i = 0; i < map.u.map_value.count; ++i) {
    const mixer_map_entry& e = map.u.map_value.entries[i];
    if (std::string_view(e.key.data, e.key.size) == key) {
      return &e.value;
    }
  }
  return nullptr;
}

std::string_view text(const mixer_value* v) {
  return v == nullptr ? "<none>" : std::string_view(v->u.string_value.data, v->u.string_value.size);
}

// Instances of one record that share an expression get the value evaluated once (the same
// encoded text, not a copy); each record has its own, and an instance that fails in between
// does not leave the others a value that was rolled back.
TEST_F(RuntimeTest, SharedFieldExpressionsAreEvaluatedOncePerRecord) {
  config::ConfigModel m;
  m.handlers.push_back(handler("log.stdio.istio-system", "stdio", "{}"));
  const std::string shared = "severity: '\"Info\"'\nvariables: {path: request.path | \"-\"}\n";
  m.instances.push_back(instance("a.logentry.istio-system", "logentry", shared));
  m.instances.push_back(instance("b.logentry.istio-system", "logentry", shared));
  m.instances.push_back(instance("c.logentry.istio-system", "logentry",
                                 "severity: '\"Info\"'\nvariables: {ua: request.useragent}\n"));
  m.instances.push_back(instance("d.logentry.istio-system", "logentry", shared));
  m.rules.push_back(rule("log.rule.istio-system", "", "log.stdio.istio-system",
                         {"a.logentry.istio-system", "b.logentry.istio-system",
                          "c.logentry.istio-system", "d.logentry.istio-system"}));
  auto snapshot = compile(m);
  ASSERT_NE(snapshot, nullptr) << errorsText();
  EXPECT_EQ(snapshot->sharedFieldCount(), 3u);  // "Info", request.path | "-", request.useragent
  Dispatcher d(snapshot, nullptr);
  AttributeBag bag(snapshot->vocabulary());
  PendingReports pending;
  for (const char* path : {"/a", "/b"}) {
    bag.clear();
    bag.set("request.path", AttributeValue::string(path));  // request.useragent absent: c fails
    d.report(bag, &pending);
  }
  ASSERT_EQ(pending.batches.size(), 1u);
  EncodedInstances& batch = pending.batches[0].second;
  ASSERT_EQ(batch.size(), 6u);  // a, b, d per record; c skipped
  batch.finalize();
  const mixer_instance* const* in = batch.instances();
  auto path = [&](size_t i) { return field(*field(in[i]->fields, "variables"), "path"); };
  const std::vector<std::string_view> want = {"/a", "/a", "/a", "/b", "/b", "/b"};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(text(path(i)), want[i]) << "instance " << i;
  }
  EXPECT_EQ(path(0)->u.string_value.data, path(1)->u.string_value.data);  // b reused a's value
  EXPECT_EQ(path(3)->u.string_value.data, path(4)->u.string_value.data);
  EXPECT_NE(path(0)->u.string_value.data, path(3)->u.string_value.data);  // a record of its own
  pending.batches.clear();
}

std::string encodedText(const mixer_value* v) {
  if (v == nullptr) {
    return "<none>";
  }
  switch (v->type) {
    case MIXER_VALUE_INT64:
      return "int " + std::to_string(v->u.int64_value);
    case MIXER_VALUE_STRING:
      return "string " + std::string(text(v));
    default:
      return "type " + std::to_string(v->type);
  }
}

// Report fields of the shape `a | b["k"] | ... | constant` are read from the bag without the
// interpreter: whatever the bag holds (absent, present, of the wrong type, a map without the key),
// the encoded value, or the instance being skipped for an error, is what the interpreter gives.
TEST_F(RuntimeTest, ReportFieldsReadWithoutTheInterpreterAreWhatItEvaluates) {
  const std::vector<std::string> exprs = {
      R"(request.path | "-")",
      R"(request.useragent | request.path | "none")",
      R"(request.headers["x-a"] | "none")",
      R"(request.headers["x-a"])",
      R"(request.path)",
      R"(response.code | 0)",
      R"(source.labels["app"] | request.headers["x-a"] | "u")",
      R"(request.useragent | request.path)",
  };
  config::ConfigModel m;
  m.handlers.push_back(handler("log.stdio.istio-system", "stdio", "{}"));
  std::vector<std::string> names;
  for (size_t i = 0; i < exprs.size(); ++i) {
    names.push_back("e" + std::to_string(i) + ".logentry.istio-system");
    YAML::Emitter e;
    e << YAML::BeginMap << YAML::Key << "severity" << YAML::Value << "\"Info\"" << YAML::Key
      << "variables" << YAML::Value << YAML::BeginMap << YAML::Key << "v" << YAML::Value << exprs[i]
      << YAML::EndMap << YAML::EndMap;
    m.instances.push_back(instance(names.back(), "logentry", e.c_str()));
  }
  m.rules.push_back(rule("log.rule.istio-system", "", "log.stdio.istio-system", names));
  auto snapshot = compile(m);
  ASSERT_NE(snapshot, nullptr) << errorsText();
  auto manifest = manifestFor(*snapshot->vocabulary());

  using Setter = std::function<void(AttributeBag&)>;
  const std::vector<std::pair<std::string, Setter>> bags = {
      {"empty", [](AttributeBag&) {}},
      {"path", [](AttributeBag& b) { b.set("request.path", AttributeValue::string("/p")); }},
      {"path of the wrong type",
       [](AttributeBag& b) { b.set("request.path", AttributeValue::int64(3)); }},
      {"agent and code",
       [](AttributeBag& b) {
         b.set("request.useragent", AttributeValue::string("ua"));
         b.set("response.code", AttributeValue::int64(404));
       }},
      {"code of the wrong type",
       [](AttributeBag& b) { b.set("response.code", AttributeValue::string("x")); }},
      {"headers without the key",
       [](AttributeBag& b) {
         static const attribute::StringMapEntry e[] = {{"y", "1"}};
         b.set("request.headers", b.makeStringMap(e));
       }},
      {"headers with the key",
       [](AttributeBag& b) {
         static const attribute::StringMapEntry e[] = {{"y", "1"}, {"x-a", "A"}};
         b.set("request.headers", b.makeStringMap(e));
         b.set("request.path", AttributeValue::string("/q"));
       }},
      {"headers of the wrong type",
       [](AttributeBag& b) { b.set("request.headers", AttributeValue::string("x-a")); }},
      {"labels and headers",
       [](AttributeBag& b) {
         static const attribute::StringMapEntry l[] = {{"app", "reviews"}};
         static const attribute::StringMapEntry h[] = {{"x-a", "A"}};
         b.set("source.labels", b.makeStringMap(l));
         b.set("request.headers", b.makeStringMap(h));
       }},
  };
  Dispatcher d(snapshot, nullptr);
  AttributeBag bag(snapshot->vocabulary());
  size_t direct_results = 0;
  for (const auto& [label, set] : bags) {
    bag.clear();
    set(bag);
    PendingReports pending;
    d.report(bag, &pending);
    std::map<std::string, std::string> got;
    if (!pending.batches.empty()) {
      EncodedInstances& batch = pending.batches[0].second;
      batch.finalize();
      for (size_t i = 0; i < batch.size(); ++i) {
        const mixer_instance* in = batch.instances()[i];
        got[std::string(in->name.data, in->name.size)] =
            encodedText(field(*field(in->fields, "variables"), "v"));
      }
    }
    for (size_t i = 0; i < exprs.size(); ++i) {
      auto program = expr::compile(exprs[i], *manifest);
      ASSERT_TRUE(program.ok()) << program.status();
      direct_results += (*program)->readChain() != nullptr;
      BagActivation activation(&bag);
      expr::EvalState state;
      const expr::Value v = (*program)->evaluate(activation, &state);
      std::string want;
      if (v.isError()) {
        want = "<skipped>";
      } else if (v.type == expr::ValueType::kInt64) {
        want = "int " + std::to_string(v.int_value);
      } else {
        want = "string " + std::string(v.stringView());
      }
      auto it = got.find(names[i]);
      EXPECT_EQ(it == got.end() ? "<skipped>" : it->second, want)
          << exprs[i] << " over a bag with " << label;
    }
    pending.batches.clear();
  }
  EXPECT_EQ(direct_results, exprs.size() * bags.size());  // every expression has the shape
}

TEST_F(RuntimeTest, CompileErrorsNameTheirPlace) {
  config::ConfigModel m = denyModel();
  m.rules[0].match = "destination.labelz[\"app\"] == \"x\"";
  m.rules[0].match_pos = {"rules.yaml", 14, 10};
  m.handlers.push_back(handler("bad.denier.istio-system", "denier", "status: {code: 99}"));
  m.handlers.push_back(handler("nope.nosuch.istio-system", "nosuchadapter", "{}"));
  m.instances.push_back(instance("m.metric.istio-system", "metric", "value: request.size +"));
  m.rules.push_back(rule("wrong.rule.istio-system", "", "denyreviewsv3handler.denier.istio-system",
                         {"m.metric.istio-system"}));
  m.instances.push_back(instance("ok.metric.istio-system", "metric", "value: \"1\""));
  m.rules.push_back(rule("tmpl.rule.istio-system", "", "denyreviewsv3handler.denier.istio-system",
                         {"ok.metric.istio-system"}));
  EXPECT_EQ(compile(m), nullptr);
  const std::string text = errorsText();
  EXPECT_NE(text.find("rules.yaml:14:10: rule 'denyreviewsv3.rule.istio-system' match: unknown "
                      "attribute destination.labelz"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("handler 'bad.denier.istio-system' (adapter denier): params.status.code"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("unknown adapter 'nosuchadapter' (loaded: denier, "), std::string::npos)
      << text;
  EXPECT_NE(text.find("instance 'm.metric.istio-system' field 'value'"), std::string::npos) << text;
  EXPECT_NE(text.find("(adapter denier) does not serve template 'metric' of instance "
                      "'ok.metric.istio-system'"),
            std::string::npos)
      << text;
}

// Instance fields are checked against the template's schema (aspects/) at load time: a field the
// template lacks, an expression of the wrong type and a missing required field are errors at
// their place, as in Istio, instead of instances that silently drop every report.
TEST_F(RuntimeTest, InstanceFieldsAreValidatedAgainstTheTemplateSchema) {
  config::ConfigModel m;
  m.instances.push_back(instance("misspelled.metric.istio-system", "metric",
                                 "valeu: request.size\ndimensions: {path: request.path}"));
  m.instances.push_back(instance("typed.tracespan.istio-system", "tracespan",
                                 "trace_id: request.path\nhttp_status_code: request.path"));
  m.instances.push_back(instance("nested.authorization.istio-system", "authorization",
                                 "subject:\n  usr: request.path\naction: request.path"));
  m.instances.push_back(instance("novalue.metric.istio-system", "metric", "dimensions: {}"));
  EXPECT_EQ(compile(m), nullptr);
  const std::string text = errorsText();
  EXPECT_NE(text.find("test.yaml:1:1: instance 'misspelled.metric.istio-system' field 'valeu': "
                      "template 'metric' has no such field (its fields: value, dimensions, "),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("test.yaml:2:1: instance 'misspelled.metric.istio-system' field 'value' is "
                      "required by template 'metric' and is not set"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("test.yaml:2:19: instance 'typed.tracespan.istio-system' field "
                      "'http_status_code': the expression is of type STRING but the field is "
                      "INT64"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("field 'trace_id'"), std::string::npos) << text;
  EXPECT_NE(text.find("test.yaml:2:3: instance 'nested.authorization.istio-system' field "
                      "subject.'usr': template 'authorization' has no such field"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("test.yaml:3:9: instance 'nested.authorization.istio-system' field "
                      "'action': want a map of its fields (namespace, service, method, path, "
                      "properties)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("test.yaml:2:1: instance 'novalue.metric.istio-system' field 'value' is "
                      "required"),
            std::string::npos)
      << text;
  EXPECT_EQ(errors_.size(), 6u) << text;
}

TEST_F(RuntimeTest, SchemaValidFieldsInEitherSpellingCompile) {
  config::ConfigModel m;
  m.instances.push_back(instance("span.tracespan.istio-system", "tracespan",
                                 "traceId: request.headers[\"x-b3-traceid\"] | \"\"\n"
                                 "httpStatusCode: response.code | 0\n"
                                 "startTime: request.time\n"
                                 "sourceIp: source.ip | ip(\"0.0.0.0\")\n"
                                 "clientSpan: \"true\"\n"
                                 "spanTags: {path: request.path | \"\"}"));
  m.instances.push_back(instance("authz.authorization.istio-system", "authorization",
                                 "subject: {user: source.user | \"\", properties: {a: \"1\"}}\n"
                                 "action: {path: request.path, method: request.method}"));
  m.instances.push_back(instance("m.metric.istio-system", "metric",
                                 "value: \"1\"\nmonitoredResourceType: '\"UNSPECIFIED\"'"));
  EXPECT_NE(compile(m), nullptr) << errorsText();
}

}  // namespace
}  // namespace mixer::runtime

namespace mixer::runtime {
namespace {

// Istio's attribute generation configuration (a kubernetesenv handler, a kubernetes instance and
// their rule) loads without a Kubernetes API: the handler is reported unavailable, its rule is
// skipped, and the rest serves. The instance's fields are still checked against the schema.
TEST_F(RuntimeTest, AnUnavailableKubernetesenvHandlerSkipsItsRulesAndTheRestServes) {
  config::ConfigModel m = denyModel();
  m.handlers.push_back(handler("handler.kubernetesenv.istio-system", "kubernetesenv", "{}"));
  m.instances.push_back(instance("attributes.kubernetes.istio-system", "kubernetes",
                                 "source_uid: source.uid | \"\"\n"
                                 "destination_port: destination.port | 0"));
  m.rules.push_back(rule("kubeattrgen.rule.istio-system", "", "handler.kubernetesenv.istio-system",
                         {"attributes.kubernetes.istio-system"}));
  auto snapshot = compile(m);
  ASSERT_NE(snapshot, nullptr) << errorsText();
  EXPECT_EQ(snapshot->ruleCount(), 1u);  // the deny rule only
  const auto unavailable = unavailableHandlers(m);
  ASSERT_EQ(unavailable.size(), 1u);
  EXPECT_EQ(unavailable[0].str(),
            "test.yaml:1:1: handler 'handler.kubernetesenv.istio-system' (adapter kubernetesenv) "
            "is unavailable: it needs a Kubernetes API, which this mixs does not use; its rules "
            "are skipped: kubeattrgen.rule.istio-system");

  Dispatcher d(snapshot, nullptr);
  AttributeBag bag(snapshot->vocabulary());
  const attribute::StringMapEntry dst[] = {{"app", "ratings"}};
  const attribute::StringMapEntry src[] = {{"app", "reviews"}, {"version", "v3"}};
  bag.set("destination.labels", bag.makeStringMap(dst));
  bag.set("source.labels", bag.makeStringMap(src));
  AttributeReferences refs;
  EXPECT_EQ(d.check(bag, &refs).status_code, 7);

  // The generator's instance is validated, and no served handler may take it.
  m.instances.back().params = YAML::Load("source_uid: source.uid | \"\"\nsource_port: \"1\"");
  m.rules.push_back(rule("wrong.rule.istio-system", "", "denyreviewsv3handler.denier.istio-system",
                         {"attributes.kubernetes.istio-system"}));
  EXPECT_EQ(compile(m), nullptr);
  const std::string text = errorsText();
  EXPECT_NE(text.find("instance 'attributes.kubernetes.istio-system' field 'source_port': "
                      "template 'kubernetes' has no such field"),
            std::string::npos)
      << text;
}

TEST_F(RuntimeTest, AServedHandlerCannotTakeAnAttributeGeneratorInstance) {
  config::ConfigModel m = denyModel();
  m.instances.push_back(instance("attributes.kubernetes.istio-system", "kubernetes", "{}"));
  m.rules.push_back(rule("wrong.rule.istio-system", "", "denyreviewsv3handler.denier.istio-system",
                         {"attributes.kubernetes.istio-system"}));
  EXPECT_EQ(compile(m), nullptr);
  const std::string text = errorsText();
  EXPECT_NE(text.find("handler 'denyreviewsv3handler.denier.istio-system' (adapter denier) does "
                      "not serve template 'kubernetes' of instance "
                      "'attributes.kubernetes.istio-system' (attribute generation, not served by "
                      "this mixs)"),
            std::string::npos)
      << text;
}

TEST_F(RuntimeTest, IndexedRulesApplyExactlyAsEvaluatedOnesAndKeepConfigurationOrder) {
  config::ConfigModel m;
  m.handlers.push_back(
      handler("d1.denier.istio-system", "denier", "status: {code: 7, message: one}"));
  m.handlers.push_back(
      handler("d2.denier.istio-system", "denier", "status: {code: 16, message: two}"));
  m.handlers.push_back(
      handler("d3.denier.istio-system", "denier", "status: {code: 9, message: three}"));
  m.instances.push_back(instance("n.checknothing.istio-system", "checknothing", "{}"));
  // Indexed (a conjunct compares a STRING attribute with a literal), unindexed, indexed.
  m.rules.push_back(rule("a.rule.istio-system",
                         R"(request.method == "GET" && destination.service.host == "a")",
                         "d1.denier.istio-system", {"n.checknothing.istio-system"}));
  m.rules.push_back(rule("any.rule.istio-system", R"(request.path.startsWith("/deny"))",
                         "d2.denier.istio-system", {"n.checknothing.istio-system"}));
  m.rules.push_back(rule("b.rule.istio-system", R"("b" == destination.service.host)",
                         "d3.denier.istio-system", {"n.checknothing.istio-system"}));
  auto snapshot = compile(m);
  ASSERT_NE(snapshot, nullptr) << errorsText();
  const RuleSet& set = snapshot->rulesFor("");
  EXPECT_EQ(set.unindexed.size(), 1u);
  // a is found through its first index term (request.method), b through destination.service.host.
  ASSERT_EQ(set.indexes.size(), 2u);
  Dispatcher d(snapshot, nullptr);
  AttributeBag bag(snapshot->vocabulary());
  AttributeReferences refs;

  bag.set("destination.service.host", AttributeValue::string("a"));
  bag.set("request.method", AttributeValue::string("GET"));
  bag.set("request.path", AttributeValue::string("/deny/x"));
  CheckDecision r = d.check(bag, &refs);
  EXPECT_EQ(r.status_code, 7);  // rule a comes first in the configuration
  EXPECT_EQ(r.status_message, "d1.denier.istio-system:one, d2.denier.istio-system:two");

  bag.set("destination.service.host", AttributeValue::string("b"));
  refs.clear();
  r = d.check(bag, &refs);
  EXPECT_EQ(r.status_code, 16);
  EXPECT_EQ(r.status_message, "d2.denier.istio-system:two, d3.denier.istio-system:three");

  // No indexed value matches: the index read is the reference that stands for rules a and b.
  bag.clear();
  bag.set("destination.service.host", AttributeValue::string("zzz"));
  refs.clear();
  r = d.check(bag, &refs);
  EXPECT_EQ(r.status_code, 0);
  auto text = refsText(refs);
  EXPECT_NE(std::find(text.begin(), text.end(), "destination.service.host"), text.end());
  EXPECT_NE(std::find(text.begin(), text.end(), "-request.path"), text.end());

  bag.clear();
  refs.clear();
  r = d.check(bag, &refs);
  EXPECT_EQ(r.status_code, 0);
  text = refsText(refs);
  EXPECT_NE(std::find(text.begin(), text.end(), "-destination.service.host"), text.end());
}

}  // namespace
}  // namespace mixer::runtime

namespace mixer::runtime {
namespace {

// A service registry directory (pilot/model's format) for the registryenv generator.
class RegistryDir {
 public:
  RegistryDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("registryenv-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(path_);
    std::ofstream(path_ / "services.yaml") << R"(services:
- hostname: reviews.default.svc.cluster.local
  ports: [{name: http, number: 9080, protocol: HTTP}]
  serviceAccounts: [spiffe://cluster.local/ns/default/sa/bookinfo-reviews]
  instances:
  - {address: 10.1.0.2, port: 9080, labels: {app: reviews, version: v2}}
- hostname: ratings.default.svc.cluster.local
  ports: [{name: http, number: 9080, protocol: HTTP}]
  instances:
  - {address: 10.1.0.7, port: 9080, labels: {app: ratings, version: v1}}
)";
  }
  ~RegistryDir() { std::filesystem::remove_all(path_); }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

std::string ipv4(unsigned char a, unsigned char b, unsigned char c, unsigned char d) {
  const char bytes[4] = {static_cast<char>(a), static_cast<char>(b), static_cast<char>(c),
                         static_cast<char>(d)};
  return std::string(bytes, 4);
}

// Istio's attribute generation configuration with a registryenv handler in place of
// kubernetesenv, and a denier deciding on a generated attribute.
config::ConfigModel generatorModel(const std::string& registry_dir) {
  config::ConfigModel m;
  m.handlers.push_back(
      handler("handler.registryenv.istio-system", "registryenv", "directory: " + registry_dir));
  m.instances.push_back(instance("attributes.kubernetes.istio-system", "kubernetes",
                                 R"(source_uid: source.uid | ""
source_ip: source.ip | ip("0.0.0.0")
destination_ip: destination.ip | ip("0.0.0.0")
destination_port: destination.port | 0
attribute_bindings:
  source.workload.name: $out.source_workload_name | "unknown"
  source.namespace: $out.source_namespace | "default"
  source.labels: $out.source_labels | emptyStringMap()
  destination.service.host: $out.destination_service_host | "unknown"
  destination.workload.name: $out.destination_workload_name | "unknown"
)"));
  m.rules.push_back(rule("kubeattrgen.rule.istio-system", "", "handler.registryenv.istio-system",
                         {"attributes.kubernetes.istio-system"}));
  m.handlers.push_back(
      handler("deny.denier.istio-system", "denier", "status: {code: 7, message: Not allowed}"));
  m.instances.push_back(instance("deny.checknothing.istio-system", "checknothing", "{}"));
  m.rules.push_back(rule("denyreviewsv2.rule.istio-system",
                         R"(source.workload.name == "reviews-v2")", "deny.denier.istio-system",
                         {"deny.checknothing.istio-system"}));
  m.rules.push_back(rule("denyold.rule.istio-system", R"(source.labels["version"] == "v0")",
                         "deny.denier.istio-system", {"deny.checknothing.istio-system"}));
  return m;
}

bool hasRef(const AttributeReferences& refs, const std::string& text) {
  const auto all = refsText(refs);
  return std::find(all.begin(), all.end(), text) != all.end();
}

std::string stringAttr(const AttributeBag& bag, std::string_view name) {
  const AttributeValue* v = bag.find(name);
  return v == nullptr ? "<absent>" : std::string(v->stringValue());
}

TEST_F(RuntimeTest, AGeneratedAttributeDecidesARuleAndItsInputsAreReferenced) {
  RegistryDir dir;
  auto snapshot = compile(generatorModel(dir.path()));
  ASSERT_NE(snapshot, nullptr) << errorsText();
  EXPECT_TRUE(snapshot->hasGenerators());
  Dispatcher d(snapshot, nullptr);
  AttributeBag bag(snapshot->vocabulary());
  const std::string source_ip = ipv4(10, 1, 0, 2);
  const std::string destination_ip = ipv4(10, 1, 0, 7);
  bag.set("source.ip", AttributeValue::bytes(source_ip, attribute::ValueType::kIpAddress));
  bag.set("destination.ip",
          AttributeValue::bytes(destination_ip, attribute::ValueType::kIpAddress));

  // Without generation the request only has IP addresses: the denier's rule does not apply.
  AttributeReferences plain;
  EXPECT_EQ(d.check(bag, &plain).status_code, 0);

  AttributeReferences refs;
  d.generate(&bag, &refs);
  EXPECT_EQ(stringAttr(bag, "source.workload.name"), "reviews-v2");
  EXPECT_EQ(stringAttr(bag, "source.namespace"), "default");
  EXPECT_EQ(stringAttr(bag, "destination.service.host"), "ratings.default.svc.cluster.local");
  EXPECT_EQ(stringAttr(bag, "destination.workload.name"), "ratings-v1");
  const AttributeValue* labels = bag.find("source.labels");
  ASSERT_NE(labels, nullptr);
  std::string_view version;
  EXPECT_TRUE(labels->mapFind("version", &version));
  EXPECT_EQ(version, "v2");

  const CheckDecision r = d.check(bag, &refs);
  EXPECT_EQ(r.status_code, 7) << r.status_message;
  // What the generator read is referenced (its inputs, and the absence of what it added); what
  // it generated is not the request's, so no proxy cache keys on its value.
  EXPECT_TRUE(hasRef(refs, "source.ip"));
  EXPECT_TRUE(hasRef(refs, "destination.ip"));
  EXPECT_TRUE(hasRef(refs, "-source.uid"));
  EXPECT_TRUE(hasRef(refs, "-destination.port"));
  EXPECT_TRUE(hasRef(refs, "-source.workload.name"));
  EXPECT_FALSE(hasRef(refs, "source.workload.name"));
  // A key of a generated map is not the request's either: its absence stands for it.
  EXPECT_TRUE(hasRef(refs, "-source.labels"));
  EXPECT_FALSE(hasRef(refs, "source.labels[version]"));
}

// An attribute generator behind the adapter ABI (1.2's generate hook, a plain C adapter): what it
// answers decides a rule; an output of the wrong type is dropped (its binding's default applies);
// a failing generator leaves every binding at its default and the request is decided on that.
config::ConfigModel adapterGeneratorModel(const std::string& params) {
  config::ConfigModel m;
  m.handlers.push_back(handler("gen.handler.istio-system", "abi_generator", params));
  m.instances.push_back(instance("attributes.kubernetes.istio-system", "kubernetes",
                                 R"(source_uid: source.uid | ""
source_ip: source.ip | ip("0.0.0.0")
attribute_bindings:
  source.workload.name: $out.source_pod_name | "unknown"
  source.namespace: $out.source_namespace | "default"
  source.labels: $out.source_labels | emptyStringMap()
  destination.ip: $out.source_host_ip | ip("9.9.9.9")
)"));
  m.rules.push_back(rule("gen.rule.istio-system", "", "gen.handler.istio-system",
                         {"attributes.kubernetes.istio-system"}));
  m.handlers.push_back(
      handler("deny.denier.istio-system", "denier", "status: {code: 7, message: Not allowed}"));
  m.instances.push_back(instance("deny.checknothing.istio-system", "checknothing", "{}"));
  m.rules.push_back(rule("denyfrontend.rule.istio-system",
                         R"(source.labels["tier"] == "frontend" && source.namespace == "shop")",
                         "deny.denier.istio-system", {"deny.checknothing.istio-system"}));
  return m;
}

TEST_F(RuntimeTest, AnAdapterGeneratorsOutputsDecideARule) {
  ASSERT_TRUE(host_->registry().loadFile(GENERATOR_ADAPTER).ok() ||
              host_->registry().find("abi_generator") != nullptr);
  auto snapshot = compile(adapterGeneratorModel("labels: {tier: frontend}"));
  ASSERT_NE(snapshot, nullptr) << errorsText();
  EXPECT_TRUE(snapshot->hasGenerators());
  Dispatcher d(snapshot, nullptr);
  AttributeBag bag(snapshot->vocabulary());
  bag.set("source.uid", AttributeValue::string("kubernetes://cart-7f9.shop"));
  const std::string ip = ipv4(10, 2, 0, 9);
  bag.set("source.ip", AttributeValue::bytes(ip, attribute::ValueType::kIpAddress));
  AttributeReferences plain;
  EXPECT_EQ(d.check(bag, &plain).status_code, 0);

  AttributeReferences refs;
  d.generate(&bag, &refs);
  EXPECT_EQ(stringAttr(bag, "source.workload.name"), "cart-7f9");
  EXPECT_EQ(stringAttr(bag, "source.namespace"), "shop");
  // source_host_ip came back as an INT64: dropped, so the binding's default applies.
  ASSERT_NE(bag.find("destination.ip"), nullptr);
  // ip("9.9.9.9") is the IPv4-mapped IPv6 form.
  EXPECT_EQ(bag.find("destination.ip")->stringValue(),
            std::string(10, '\0') + "\xff\xff" + ipv4(9, 9, 9, 9));
  const CheckDecision r = d.check(bag, &refs);
  EXPECT_EQ(r.status_code, 7) << r.status_message;
  EXPECT_TRUE(hasRef(refs, "source.uid"));

  // The same request in another namespace is not denied: the rule reads what was generated.
  AttributeBag other(snapshot->vocabulary());
  other.set("source.uid", AttributeValue::string("kubernetes://cart-7f9.staging"));
  AttributeReferences refs2;
  d.generate(&other, &refs2);
  EXPECT_EQ(d.check(other, &refs2).status_code, 0);
}

TEST_F(RuntimeTest, AFailingAdapterGeneratorLeavesTheBindingsDefaults) {
  ASSERT_TRUE(host_->registry().loadFile(GENERATOR_ADAPTER).ok() ||
              host_->registry().find("abi_generator") != nullptr);
  auto snapshot = compile(adapterGeneratorModel("{labels: {tier: frontend}, fail: true}"));
  ASSERT_NE(snapshot, nullptr) << errorsText();
  Dispatcher d(snapshot, nullptr);
  AttributeBag bag(snapshot->vocabulary());
  bag.set("source.uid", AttributeValue::string("kubernetes://cart-7f9.shop"));
  AttributeReferences refs;
  d.generate(&bag, &refs);
  EXPECT_EQ(stringAttr(bag, "source.workload.name"), "unknown");
  EXPECT_EQ(stringAttr(bag, "source.namespace"), "default");
  EXPECT_EQ(d.check(bag, &refs).status_code, 0);
}

TEST_F(RuntimeTest, AWorkloadTheRegistryDoesNotKnowGetsTheBindingsDefaults) {
  RegistryDir dir;
  auto snapshot = compile(generatorModel(dir.path()));
  ASSERT_NE(snapshot, nullptr) << errorsText();
  Dispatcher d(snapshot, nullptr);
  AttributeBag bag(snapshot->vocabulary());
  const std::string ip = ipv4(10, 9, 9, 9);
  bag.set("source.ip", AttributeValue::bytes(ip, attribute::ValueType::kIpAddress));
  AttributeReferences refs;
  d.generate(&bag, &refs);
  EXPECT_EQ(stringAttr(bag, "source.workload.name"), "unknown");
  EXPECT_EQ(stringAttr(bag, "source.namespace"), "default");
  ASSERT_NE(bag.find("source.labels"), nullptr);
  EXPECT_EQ(bag.find("source.labels")->mapSize(), 0u);
  EXPECT_EQ(d.check(bag, &refs).status_code, 0);
}

TEST_F(RuntimeTest, WhatTheRequestCarriesIsKeptOverWhatIsGenerated) {
  RegistryDir dir;
  auto snapshot = compile(generatorModel(dir.path()));
  ASSERT_NE(snapshot, nullptr) << errorsText();
  Dispatcher d(snapshot, nullptr);
  AttributeBag bag(snapshot->vocabulary());
  const std::string ip = ipv4(10, 1, 0, 2);
  bag.set("source.ip", AttributeValue::bytes(ip, attribute::ValueType::kIpAddress));
  bag.set("source.workload.name", AttributeValue::string("productpage-v1"));
  AttributeReferences refs;
  std::vector<attribute::AttributeId> added;
  d.generate(&bag, &refs, &added);
  EXPECT_EQ(stringAttr(bag, "source.workload.name"), "productpage-v1");
  EXPECT_TRUE(hasRef(refs, "source.workload.name"));
  EXPECT_EQ(d.check(bag, &refs).status_code, 0);
  // What was added can be taken out again (a delta-encoded Report's next record).
  EXPECT_FALSE(added.empty());
  for (auto id : added) {
    bag.erase(id);
  }
  EXPECT_EQ(bag.find("source.namespace"), nullptr);
  EXPECT_EQ(stringAttr(bag, "source.workload.name"), "productpage-v1");
}

TEST_F(RuntimeTest, AMissingRegistryGivesDefaultsAndTheRestServes) {
  const std::string missing =
      (std::filesystem::temp_directory_path() / "registryenv-no-such-directory").string();
  auto snapshot = compile(generatorModel(missing));
  ASSERT_NE(snapshot, nullptr) << errorsText();
  Dispatcher d(snapshot, nullptr);
  AttributeBag bag(snapshot->vocabulary());
  const std::string ip = ipv4(10, 1, 0, 2);
  bag.set("source.ip", AttributeValue::bytes(ip, attribute::ValueType::kIpAddress));
  bag.set("source.workload.name", AttributeValue::string("reviews-v2"));
  AttributeReferences refs;
  d.generate(&bag, &refs);
  EXPECT_EQ(stringAttr(bag, "source.namespace"), "default");
  EXPECT_EQ(d.check(bag, &refs).status_code, 7);  // the denier still serves
}

TEST_F(RuntimeTest, AttributeBindingsAreCheckedAtLoadTime) {
  RegistryDir dir;
  config::ConfigModel m = generatorModel(dir.path());
  m.instances[0].params = YAML::Load(R"(source_ip: source.ip | ip("0.0.0.0")
attribute_bindings:
  source.workload.nam: $out.source_workload_name | "unknown"
  source.namespace: $out.source_namespac | "default"
  source.labels: $out.source_workload_name | "x"
)");
  EXPECT_EQ(compile(m), nullptr);
  const std::string text = errorsText();
  EXPECT_NE(text.find("'source.workload.nam' is not a known attribute"), std::string::npos) << text;
  EXPECT_NE(text.find("$out.source_namespac"), std::string::npos) << text;
  EXPECT_NE(text.find("'source.labels': the expression is of type STRING but the attribute is "
                      "STRING_MAP"),
            std::string::npos)
      << text;
  // Without a registry directory the handler is an error.
  m = generatorModel(dir.path());
  m.handlers[0].params = YAML::Load("{}");
  EXPECT_EQ(compile(m), nullptr);
  EXPECT_NE(errorsText().find("params.directory is required"), std::string::npos) << errorsText();
}

// A configuration without generator rules has nothing to generate: the bag is left alone.
TEST_F(RuntimeTest, WithoutGeneratorRulesGenerateAddsNothing) {
  auto snapshot = compile(denyModel());
  ASSERT_NE(snapshot, nullptr) << errorsText();
  EXPECT_FALSE(snapshot->hasGenerators());
  Dispatcher d(snapshot, nullptr);
  AttributeBag bag(snapshot->vocabulary());
  AttributeReferences refs;
  d.generate(&bag, &refs);
  EXPECT_EQ(bag.size(), 0u);
  EXPECT_TRUE(refs.empty());
}

}  // namespace
}  // namespace mixer::runtime
