// ReferencedKey: the cache key a Check answer's ReferencedAttributes make (which answers are
// cacheable, the names sorted and deduplicated, which requests fit the key and which get the same
// signature), and SignatureHasher.
#include "proxy-filter/core/referenced_key.h"

#include <gtest/gtest.h>

#include "mixer/api/global_dictionary.h"

namespace mixer::proxy {
namespace {

using istio::mixer::v1::ReferencedAttributes;

int32_t global(std::string_view word) {
  const auto index = api::globalWordIndex(word);
  EXPECT_TRUE(index.has_value()) << word;
  return index.value_or(0);
}

void add(ReferencedAttributes* r, int32_t name, ReferencedAttributes::Condition condition,
         int32_t map_key = 0) {
  auto* m = r->add_attribute_matches();
  m->set_name(name);
  m->set_map_key(map_key);
  m->set_condition(condition);
}

ReferencedKey build(const ReferencedAttributes& r) {
  auto key = ReferencedKey::fromProto(r);
  EXPECT_TRUE(key.ok()) << key.status();
  return key.ok() ? *std::move(key) : ReferencedKey();
}

// EXACT destination.service and request.headers["x-user"] (a message word); ABSENT
// request.path and request.headers["x-debug"].
ReferencedAttributes typical() {
  ReferencedAttributes r;
  r.add_words("x-user");
  r.add_words("x-debug");
  add(&r, global("destination.service"), ReferencedAttributes::EXACT);
  add(&r, global("request.headers"), ReferencedAttributes::EXACT, -1);
  add(&r, global("request.path"), ReferencedAttributes::ABSENCE);
  add(&r, global("request.headers"), ReferencedAttributes::ABSENCE, -2);
  return r;
}

Attributes fitting() {
  Attributes a;
  a.setString("destination.service", "reviews.default.svc.cluster.local");
  a.setMapEntry("request.headers", "x-user", "jason");
  a.setMapEntry("request.headers", "user-agent", "curl");
  a.setInt64("response.code", 200);
  return a;
}

TEST(ReferencedKeyTest, NamesAreResolvedSplitByConditionSortedAndUnique) {
  ReferencedAttributes r = typical();
  add(&r, global("destination.service"), ReferencedAttributes::EXACT);  // a duplicate
  const ReferencedKey key = build(r);
  EXPECT_EQ(key.exact(), (std::vector<ReferencedName>{{"destination.service", std::nullopt},
                                                      {"request.headers", "x-user"}}));
  EXPECT_EQ(key.absent(), (std::vector<ReferencedName>{{"request.headers", "x-debug"},
                                                       {"request.path", std::nullopt}}));
}

TEST(ReferencedKeyTest, TheSameSetInAnotherOrderIsTheSameKey) {
  const ReferencedAttributes a = typical();
  ReferencedAttributes b;
  b.add_words("x-debug");
  b.add_words("x-user");
  add(&b, global("request.headers"), ReferencedAttributes::ABSENCE, -1);
  add(&b, global("request.path"), ReferencedAttributes::ABSENCE);
  add(&b, global("request.headers"), ReferencedAttributes::EXACT, -2);
  add(&b, global("destination.service"), ReferencedAttributes::EXACT);
  const ReferencedKey ka = build(a);
  const ReferencedKey kb = build(b);
  EXPECT_TRUE(ka == kb);
  EXPECT_EQ(ka.id(), kb.id());
  EXPECT_EQ(ka.signature(fitting()), kb.signature(fitting()));
}

TEST(ReferencedKeyTest, ADifferentConditionIsADifferentKey) {
  ReferencedAttributes exact;
  add(&exact, global("request.path"), ReferencedAttributes::EXACT);
  ReferencedAttributes absent;
  add(&absent, global("request.path"), ReferencedAttributes::ABSENCE);
  const ReferencedKey a = build(exact);
  const ReferencedKey b = build(absent);
  EXPECT_FALSE(a == b);
  EXPECT_NE(a.id(), b.id());
}

TEST(ReferencedKeyTest, ARegexReferenceIsNotCacheable) {
  ReferencedAttributes r = typical();
  add(&r, global("request.path"), ReferencedAttributes::REGEX);
  const auto key = ReferencedKey::fromProto(r);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ReferencedKeyTest, UnknownConditionsAndWordsThatNameNothingAreInvalid) {
  ReferencedAttributes unknown;
  add(&unknown, global("request.path"), static_cast<ReferencedAttributes::Condition>(9));
  EXPECT_EQ(ReferencedKey::fromProto(unknown).status().code(), absl::StatusCode::kInvalidArgument);

  ReferencedAttributes past_dictionary;
  add(&past_dictionary, static_cast<int32_t>(api::kGlobalWordCount), ReferencedAttributes::EXACT);
  EXPECT_EQ(ReferencedKey::fromProto(past_dictionary).status().code(),
            absl::StatusCode::kInvalidArgument);

  ReferencedAttributes no_message_word;
  no_message_word.add_words("only");
  add(&no_message_word, -2, ReferencedAttributes::EXACT);
  EXPECT_EQ(ReferencedKey::fromProto(no_message_word).status().code(),
            absl::StatusCode::kInvalidArgument);

  ReferencedAttributes bad_map_key;
  add(&bad_map_key, global("request.headers"), ReferencedAttributes::EXACT, -1);
  EXPECT_EQ(ReferencedKey::fromProto(bad_map_key).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ReferencedKeyTest, AnEmptyAnswerFitsEveryRequestWithOneSignature) {
  const ReferencedKey key = build(ReferencedAttributes());
  EXPECT_TRUE(key.exact().empty());
  EXPECT_TRUE(key.absent().empty());
  ASSERT_TRUE(key.signature(fitting()).has_value());
  EXPECT_EQ(key.signature(fitting()), key.signature(Attributes()));
}

TEST(ReferencedKeyTest, RequestsThatBreakTheKeyHaveNoSignature) {
  const ReferencedKey key = build(typical());
  ASSERT_TRUE(key.signature(fitting()).has_value());

  Attributes with_absent = fitting();
  with_absent.setString("request.path", "/ratings");
  EXPECT_FALSE(key.signature(with_absent).has_value());

  Attributes with_absent_entry = fitting();
  with_absent_entry.setMapEntry("request.headers", "x-debug", "1");
  EXPECT_FALSE(key.signature(with_absent_entry).has_value());

  Attributes without_exact = fitting();
  without_exact.erase("destination.service");
  EXPECT_FALSE(key.signature(without_exact).has_value());

  Attributes without_exact_entry;
  without_exact_entry.setString("destination.service", "reviews.default.svc.cluster.local");
  without_exact_entry.setMapEntry("request.headers", "user-agent", "curl");
  EXPECT_FALSE(key.signature(without_exact_entry).has_value());

  Attributes not_a_map;
  not_a_map.setString("destination.service", "reviews.default.svc.cluster.local");
  not_a_map.setString("request.headers", "x-user");
  EXPECT_FALSE(key.signature(not_a_map).has_value());
}

TEST(ReferencedKeyTest, AWholeMapReferencedAbsentMustBeAbsent) {
  ReferencedAttributes r;
  add(&r, global("request.headers"), ReferencedAttributes::ABSENCE);  // map_key 0: the map
  const ReferencedKey key = build(r);
  ASSERT_EQ(key.absent().size(), 1u);
  EXPECT_FALSE(key.absent()[0].map_key.has_value());
  Attributes empty_map;
  empty_map.setStringMap("request.headers", {});
  EXPECT_FALSE(key.signature(empty_map).has_value());
  EXPECT_TRUE(key.signature(Attributes()).has_value());
}

TEST(ReferencedKeyTest, TheSignatureFollowsTheReferencedValuesOnly) {
  const ReferencedKey key = build(typical());
  const auto base = key.signature(fitting());
  ASSERT_TRUE(base.has_value());

  // Values the key does not reference do not change it.
  Attributes other_unreferenced = fitting();
  other_unreferenced.setInt64("response.code", 503);
  other_unreferenced.setMapEntry("request.headers", "user-agent", "wget");
  EXPECT_EQ(key.signature(other_unreferenced), base);

  // A referenced value, or a referenced map entry, does.
  Attributes other_service = fitting();
  other_service.setString("destination.service", "ratings.default.svc.cluster.local");
  EXPECT_NE(key.signature(other_service), base);
  Attributes other_user = fitting();
  other_user.setMapEntry("request.headers", "x-user", "alice");
  EXPECT_NE(key.signature(other_user), base);
}

TEST(ReferencedKeyTest, TwoKeysGiveOneRequestDifferentSignatures) {
  ReferencedAttributes service_only;
  add(&service_only, global("destination.service"), ReferencedAttributes::EXACT);
  ReferencedAttributes service_and_no_path = service_only;
  add(&service_and_no_path, global("request.path"), ReferencedAttributes::ABSENCE);
  const Attributes a = fitting();
  EXPECT_NE(build(service_only).signature(a), build(service_and_no_path).signature(a));
}

TEST(ReferencedKeyTest, AValueOfEveryTypeIsPartOfTheSignature) {
  ReferencedAttributes r;
  add(&r, global("request.size"), ReferencedAttributes::EXACT);
  const ReferencedKey key = build(r);
  // Pairs of values of one type that differ.
  const std::vector<std::pair<AttributeValue, AttributeValue>> pairs = {
      {std::string("7"), std::string("8")},
      {int64_t{7}, int64_t{8}},
      {7.0, 7.5},
      {true, false},
      {Bytes{std::string("\x7f\x00\x00\x01", 4)}, Bytes{std::string("\x7f\x00\x00\x02", 4)}},
      {Timestamp(std::chrono::seconds(7)), Timestamp(std::chrono::seconds(8))},
      {Duration(std::chrono::milliseconds(7)), Duration(std::chrono::milliseconds(8))},
      {StringMap{{"a", "7"}}, StringMap{{"a", "8"}}},
      {StringMap{{"a", "7"}}, StringMap{{"b", "7"}}},
  };
  for (size_t i = 0; i < pairs.size(); ++i) {
    Attributes first, second;
    first.set("request.size", pairs[i].first);
    second.set("request.size", pairs[i].second);
    const auto s1 = key.signature(first);
    const auto s2 = key.signature(second);
    ASSERT_TRUE(s1.has_value() && s2.has_value()) << "pair #" << i;
    EXPECT_NE(*s1, *s2) << "pair #" << i;
    EXPECT_EQ(key.signature(first), s1) << "pair #" << i;  // deterministic
  }
}

TEST(SignatureHasherTest, DeterministicAndSeeded) {
  SignatureHasher a, b, seeded(42);
  for (auto* h : {&a, &b, &seeded}) {
    h->add("destination.service");
    h->add("reviews");
  }
  EXPECT_EQ(a.finish(), b.finish());
  EXPECT_EQ(a.finish(), a.finish());  // finish() does not change the state
  EXPECT_NE(a.finish(), seeded.finish());
}

TEST(SignatureHasherTest, HowValuesAreSplitMatters) {
  SignatureHasher ab_c, a_bc;
  ab_c.add("ab");
  ab_c.add("c");
  a_bc.add("a");
  a_bc.add("bc");
  EXPECT_NE(ab_c.finish(), a_bc.finish());
  // Also across the 8-byte words and the 4-byte tail.
  SignatureHasher long1, long2;
  long1.add("0123456789a");
  long1.add("bcd");
  long2.add("0123456789");
  long2.add("abcd");
  EXPECT_NE(long1.finish(), long2.finish());
  // The empty string still counts.
  SignatureHasher empty, none;
  empty.add("");
  EXPECT_NE(empty.finish(), none.finish());
}

TEST(SignatureHasherTest, EveryByteCounts) {
  const std::string base = "abcdefghijklmnopqrstu";  // 21 bytes: two words and a 5-byte tail
  SignatureHasher reference;
  reference.add(base);
  for (size_t i = 0; i < base.size(); ++i) {
    std::string changed = base;
    changed[i] ^= 0x01;
    SignatureHasher h;
    h.add(changed);
    EXPECT_NE(h.finish(), reference.finish()) << "byte " << i;
  }
}

}  // namespace
}  // namespace mixer::proxy
