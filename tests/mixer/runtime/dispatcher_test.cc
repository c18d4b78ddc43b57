#include "mixer/runtime/dispatcher.h"

#include <gtest/gtest.h>

namespace mixer::runtime {
namespace {

using attribute::AttributeBag;
using attribute::AttributeReferences;
using attribute::AttributeValue;

std::vector<std::string> refsText(const AttributeReferences& refs) {
  std::vector<std::string> out;
  for (const auto& r : refs.items()) {
    out.push_back((r.present ? "" : "-") + std::string(r.name));
  }
  return out;
}

class DispatcherTest : public ::testing::Test {
 protected:
  attribute::VocabularyConstSharedPtr vocab_ = attribute::Vocabulary::builtin();
  Dispatcher dispatcher_{ConfigSnapshot::empty(vocab_), nullptr};
  AttributeBag bag_{vocab_};
  AttributeReferences refs_;
};

TEST_F(DispatcherTest, CheckWithoutRulesAnswersIstiosDefault) {
  bag_.set("destination.service", AttributeValue::string("a.b.svc"));
  const CheckDecision r = dispatcher_.check(bag_, &refs_);
  EXPECT_EQ(r.status_code, 0);
  EXPECT_EQ(r.valid_duration.seconds, 60);
  EXPECT_EQ(r.valid_duration.nanos, 0);
  EXPECT_EQ(r.valid_use_count, 10000);
}

TEST_F(DispatcherTest, InboundIsTheDefaultAndReadsDestinationNamespace) {
  bag_.set("destination.namespace", AttributeValue::string("ns1"));
  EXPECT_EQ(dispatcher_.identityNamespace(bag_, &refs_), "ns1");
  EXPECT_EQ(refsText(refs_),
            (std::vector<std::string>{"-context.reporter.kind", "destination.namespace"}));
}

TEST_F(DispatcherTest, OutboundReadsSourceNamespace) {
  bag_.set("context.reporter.kind", AttributeValue::string("outbound"));
  bag_.set("destination.namespace", AttributeValue::string("ns1"));
  EXPECT_EQ(dispatcher_.identityNamespace(bag_, &refs_), "");
  EXPECT_EQ(refsText(refs_),
            (std::vector<std::string>{"context.reporter.kind", "-source.namespace"}));
}

TEST_F(DispatcherTest, UnknownReporterKindHasNoNamespace) {
  bag_.set("context.reporter.kind", AttributeValue::string("gateway"));
  bag_.set("destination.namespace", AttributeValue::string("ns1"));
  EXPECT_EQ(dispatcher_.identityNamespace(bag_, &refs_), "");
  EXPECT_EQ(refsText(refs_), (std::vector<std::string>{"context.reporter.kind"}));
}

TEST_F(DispatcherTest, QuotaWithoutRulesGrantsNothing) {
  const QuotaDecision q = dispatcher_.quota(bag_, {"requestcount", 5, false, "d"}, &refs_);
  EXPECT_FALSE(q.matched);
  EXPECT_EQ(q.granted_amount, 0);
  EXPECT_EQ(refsText(refs_),
            (std::vector<std::string>{"-context.reporter.kind", "-destination.namespace"}));
}

TEST_F(DispatcherTest, WorksWithAVocabularyLackingTheNamespaceAttributes) {
  auto v = attribute::Vocabulary::create({{"x", attribute::ValueType::kString}});
  ASSERT_TRUE(v.ok());
  Dispatcher d(ConfigSnapshot::empty(*v), nullptr);
  AttributeBag bag(*v);
  bag.set("destination.namespace",
          AttributeValue::string("ns2"));  // kept as an undeclared attribute
  EXPECT_EQ(d.identityNamespace(bag, &refs_), "ns2");
}

}  // namespace
}  // namespace mixer::runtime
