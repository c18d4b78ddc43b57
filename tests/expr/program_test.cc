// End-to-end: compile + evaluate through the public API, both dialects.
#include "expr/program.h"

#include <thread>
#include <vector>

#include "expr/format.h"
#include "gtest/gtest.h"
#include "tests/expr/test_bag.h"

namespace expr {
namespace {

class ProgramTest : public ::testing::Test {
 protected:
  ProgramTest() {
    manifest_.add("as", 1, ValueType::kString);
    manifest_.add("bs", 2, ValueType::kString);
    manifest_.add("ai", 3, ValueType::kInt64);
    manifest_.add("ab", 4, ValueType::kBool);
    manifest_.add("bb", 5, ValueType::kBool);
    manifest_.add("ar", 6, ValueType::kStringMap);
    manifest_.add("br", 7, ValueType::kStringMap);
    manifest_.add("aip", 8, ValueType::kIpAddress);
    manifest_.add("at", 9, ValueType::kTimestamp);
    manifest_.add("ad", 10, ValueType::kDouble);
  }

  // "value" / "error: ..." / "compile error: ...".
  std::string eval(std::string_view src, Dialect d = Dialect::kCexl) {
    CompileOptions o;
    o.dialect = d;
    auto p = compile(src, manifest_, o);
    if (!p.ok()) return "compile error: " + std::string(p.status().message());
    program_ = *p;
    Value v = program_->evaluate(bag_, &state_);
    return formatValue(v);
  }
  std::string refs() {
    std::string s;
    for (const auto& r : formatReferences(state_.references(), manifest_)) {
      s += (s.empty() ? "" : " ") + r;
    }
    return s;
  }

  AttributeManifest manifest_;
  testing::TestBag bag_;
  EvalState state_;
  ProgramConstSharedPtr program_;
};

TEST_F(ProgramTest, MissingAttributeIsAnErrorAndReferencedAbsent) {
  EXPECT_EQ(eval(R"(as == "x")"), "error: lookup failed: 'as'");
  EXPECT_EQ(refs(), "-as");
}

TEST_F(ProgramTest, DefaultOperatorTakesFirstPresentValue) {
  bag_.setString(2, "b2");
  EXPECT_EQ(eval(R"(as | bs | "dflt")"), "b2");
  EXPECT_EQ(refs(), "-as bs");
  bag_.setString(1, "");
  EXPECT_EQ(eval(R"(as | bs | "dflt")"), "");  // presence, not emptiness
  EXPECT_EQ(refs(), "as");
}

TEST_F(ProgramTest, DefaultOperatorFallsThroughMissingMapAndMissingKey) {
  EXPECT_EQ(eval(R"(ar["k"] | "none")"), "none");
  EXPECT_EQ(refs(), "-ar");
  bag_.setStringMap(6, {{"other", "v"}});
  EXPECT_EQ(eval(R"(ar["k"] | ar["other"] | "none")"), "v");
  EXPECT_EQ(refs(), "-ar[k] ar ar[other]");
}

TEST_F(ProgramTest, DefaultOperatorKeyFromMissingAttributeFallsThrough) {
  bag_.setStringMap(6, {{"k", "v"}});
  EXPECT_EQ(eval(R"(ar[as] | "none")"), "none");
  EXPECT_EQ(refs(), "-as ar");
}

TEST_F(ProgramTest, CexlMissingKeyWithoutDefaultIsEmptyString) {
  bag_.setStringMap(6, {});
  EXPECT_EQ(eval(R"(match(ar["user-agent"], "curl*"))"), "false");
  EXPECT_EQ(refs(), "-ar[user-agent] ar");
}

TEST_F(ProgramTest, CelMissingKeyIsAnError) {
  bag_.setStringMap(6, {});
  EXPECT_EQ(eval(R"(ar["user-agent"])", Dialect::kCel), "error: no such key: user-agent");
  EXPECT_EQ(refs(), "-ar[user-agent] ar");
  EXPECT_EQ(eval(R"("user-agent" in ar)", Dialect::kCel), "false");
}

TEST_F(ProgramTest, CexlAndOrShortCircuitLeftToRight) {
  bag_.setBool(4, false);
  EXPECT_EQ(eval("ab && bb"), "false");
  EXPECT_EQ(refs(), "ab");
  EXPECT_EQ(eval("bb || ab"), "error: lookup failed: 'bb'");
}

TEST_F(ProgramTest, FusedShortCircuitChainsStopAtTheDecidingClause) {
  bag_.setString(1, "a");
  bag_.setInt(3, 1);
  EXPECT_EQ(eval(R"(as == "x" && bs == "b" && ai == 1)"), "false");
  EXPECT_EQ(refs(), "as");
  EXPECT_EQ(eval(R"(as == "a" && bs == "b" && ai == 1)"), "error: lookup failed: 'bs'");
  EXPECT_EQ(refs(), "-bs as");
  EXPECT_EQ(eval(R"(as == "x" || ai == 1 || bs == "b")"), "true");
  EXPECT_EQ(refs(), "ai as");
  EXPECT_EQ(eval(R"((as == "a" || bs == "b") && (ai == 2 || match(as, "a*")))"), "true");
  EXPECT_EQ(refs(), "ai as");
  EXPECT_EQ(eval(R"((as == "x" && ai == 1) || ai == 1)"), "true");
  EXPECT_EQ(eval(R"((as == "a" || ai == 2) && ai == 2)"), "false");
  // Mixed chains nested in an operator keep the stack balanced.
  EXPECT_EQ(eval(R"(((as == "x" && ai == 1) || ai == 1) == true)"), "true");
  EXPECT_EQ(eval(R"(((as == "a" || ai == 2) && ai == 2) == false)"), "true");
  EXPECT_EQ(eval(R"("p" + conditional((as == "x" && ai == 1) || ai == 1, "y", "n"))"), "py");
  EXPECT_EQ(eval(R"("p" + conditional((as == "a" || ai == 2) && ai == 2, "y", "n"))"), "pn");
}

TEST_F(ProgramTest, CelAndOrAbsorbErrorsCommutatively) {
  bag_.setBool(4, false);
  EXPECT_EQ(eval("bb && ab", Dialect::kCel), "false");
  EXPECT_EQ(eval("bb || true", Dialect::kCel), "true");
  EXPECT_EQ(eval("bb || false", Dialect::kCel).substr(0, 6), "error:");
}

TEST_F(ProgramTest, MatchesReceiverIsThePatternInCexlAndTheSubjectInCel) {
  bag_.setString(1, "svc.ns1");
  EXPECT_EQ(eval(R"("svc.*".matches(as))"), "true");
  bag_.setString(2, "svc.ns1");
  EXPECT_EQ(eval(R"(bs.matches("^svc\\."))", Dialect::kCel), "true");  // `as` is reserved in CEL
  EXPECT_EQ(eval(R"("^svc\\.".matches(bs))", Dialect::kCel), "false");
}

TEST_F(ProgramTest, InvalidConstantRegexIsACompileError) {
  EXPECT_EQ(eval(R"("(".matches(as))").substr(0, 14), "compile error:");
}

TEST_F(ProgramTest, TypedEqualityForIpAndDns) {
  bag_.setIp(8, std::string("\x0a\x00\x00\x01", 4));
  EXPECT_EQ(eval(R"(aip == ip("10.0.0.1"))"), "true");  // 4-byte form equals the v4-mapped form
  EXPECT_EQ(eval(R"(dnsName("Foo.Bar.") == dnsName("foo.bar"))"), "true");
}

TEST_F(ProgramTest, GlobMatch) {
  EXPECT_EQ(eval(R"(match("svc.ns1.cluster", "*.cluster"))"), "true");
  EXPECT_EQ(eval(R"(match("svc.ns1.cluster", "svc.*"))"), "true");
  EXPECT_EQ(eval(R"(match("a*b", "a*b"))"), "true");
  EXPECT_EQ(eval(R"(match("axb", "a*b"))"), "false");
}

TEST_F(ProgramTest, ConditionalAndToLower) {
  bag_.setBool(4, true);
  EXPECT_EQ(eval(R"(conditional(ab, toLower("ABC"), "x"))"), "abc");
  EXPECT_EQ(eval(R"(conditional(bb, 1, 2))"), "error: lookup failed: 'bb'");
}

TEST_F(ProgramTest, ConstantSubexpressionsAreFolded) {
  EXPECT_EQ(eval(R"(ip("1.2.3.4") == ip("1.2.3.4") && "a" + "b" == "ab")"), "true");
  EXPECT_TRUE(program_->isConstant()) << program_->disassemble();
  // Errors are not folded away: they stay run-time errors.
  EXPECT_EQ(eval(R"(ip("1.2.3"))"), "error: could not convert 1.2.3 to IP_ADDRESS");
  EXPECT_FALSE(program_->isConstant());
}

TEST_F(ProgramTest, CommonShapesCompileToSuperinstructions) {
  auto listing = [&](std::string_view src) {
    auto p = compile(src, manifest_, {});
    return p.ok() ? (*p)->disassemble() : std::string(p.status().message());
  };
  EXPECT_EQ(listing(R"(as == "x")"), "0: eq_attr_const a=0 b=0 n=0 depth=0 (as)\n");
  EXPECT_EQ(listing(R"(match(as, "*.local"))"), "0: glob_attr a=0 b=0 n=2 depth=0 (as)\n");
  std::string l = listing(R"((ar["k"] | "d") == "x")");
  EXPECT_NE(l.find("try_attr_index_const"), std::string::npos) << l;
  EXPECT_NE(l.find("eq_const"), std::string::npos) << l;
  l = listing(R"(ar["k"] == "x")");
  EXPECT_NE(l.find("attr_index_const"), std::string::npos) << l;
}

// The reads of `a | b["k"] | ... | constant` are described for hosts that do them themselves.
TEST_F(ProgramTest, PresenceTestedReadsEndingInAConstantAreAReadChain) {
  auto chain = [&](std::string_view src) -> std::string {
    auto p = compile(src, manifest_, {});
    if (!p.ok()) return "compile error: " + std::string(p.status().message());
    program_ = *p;
    const ReadChain* c = program_->readChain();
    if (c == nullptr) return "none";
    std::string out;
    for (const ReadChain::Read& r : c->reads) {
      out += std::to_string(r.attribute);
      if (r.has_key) out += "[" + std::string(r.key) + "]";
      out += " ";
    }
    return out + (c->has_fallback ? "| " + formatValue(c->fallback) : "(last read untested)");
  };
  EXPECT_EQ(chain(R"(as | "dflt")"), "1 | dflt");
  EXPECT_EQ(chain(R"(as | bs | "dflt")"), "1 2 | dflt");
  EXPECT_EQ(chain(R"(ar["k"] | as | "d")"), "6[k] 1 | d");
  EXPECT_EQ(chain("ai | 7"), "3 | 7");
  EXPECT_EQ(chain("as"), "1 (last read untested)");
  EXPECT_EQ(chain(R"(as | ar["k"])"), "1 6[k] (last read untested)");
  EXPECT_EQ(chain(R"(as | bs)"), "1 2 (last read untested)");
  // Anything else goes through the interpreter.
  EXPECT_EQ(chain(R"(as == "x")"), "none");
  EXPECT_EQ(chain(R"((as | "a") == "x")"), "none");
  EXPECT_EQ(chain(R"(conditional(ab | false, "y", "n"))"), "none");
  EXPECT_EQ(chain(R"(as | bs + "x")"), "none");
  EXPECT_EQ(chain(R"("constant")"), "none");
  // What the chain says is what the interpreter does.
  bag_.setString(2, "b2");
  EXPECT_EQ(eval(R"(as | bs | "dflt")"), "b2");
  bag_.setStringMap(6, {{"k", "v"}});
  EXPECT_EQ(eval(R"(ar["k"] | as | "d")"), "v");
  EXPECT_EQ(eval(R"(ar["x"] | as | "d")"), "d");
}

TEST_F(ProgramTest, CelArithmeticOverflowIsAnError) {
  EXPECT_EQ(eval("9223372036854775807 + 1", Dialect::kCel), "error: integer overflow");
  EXPECT_EQ(eval("1 / 0", Dialect::kCel), "error: division by zero");
  EXPECT_EQ(eval("18446744073709551615u + 1u", Dialect::kCel).substr(0, 6), "error:");
  EXPECT_EQ(eval("1 + 1u", Dialect::kCel).substr(0, 6), "error:");
}

TEST_F(ProgramTest, CelMacros) {
  EXPECT_EQ(eval("[1, 2, 3].map(x, x * 2)", Dialect::kCel), "[2, 4, 6]");
  EXPECT_EQ(eval("[1, 2, 3].filter(x, x > 1)", Dialect::kCel), "[2, 3]");
  EXPECT_EQ(eval("[1, 2, 3].exists_one(x, x > 2)", Dialect::kCel), "true");
  EXPECT_EQ(eval("[0, 1].all(x, 1 / x > 0)", Dialect::kCel).substr(0, 6), "error:");
  EXPECT_EQ(eval("[0, 1].exists(x, 1 / x > 0)", Dialect::kCel), "true");
  EXPECT_EQ(eval("{'a': 1}.all(k, k == 'a')", Dialect::kCel), "true");
  EXPECT_EQ(eval("[[1], [2]].all(l, l.all(x, x > 0))", Dialect::kCel), "true");
}

TEST_F(ProgramTest, CelIteratesStringMapAttributes) {
  bag_.setStringMap(6, {{"a", "1"}, {"b", "2"}});
  EXPECT_EQ(eval("ar.exists(k, k == 'b' && ar[k] == '2')", Dialect::kCel), "true");
  EXPECT_EQ(eval("has(ar.a) && !has(ar.c)", Dialect::kCel), "true");
  EXPECT_EQ(refs(), "-ar[c] ar ar[a]");
}

TEST_F(ProgramTest, CelTimestampsAndDurations) {
  EXPECT_EQ(eval("timestamp('2009-02-13T23:31:30Z') + duration('1h')", Dialect::kCel),
            "2009-02-14T00:31:30Z");
  EXPECT_EQ(eval("timestamp('2009-02-13T23:31:30Z').getHours('+01:00')", Dialect::kCel), "0");
  EXPECT_EQ(eval("duration('1h30m').getMinutes()", Dialect::kCel), "90");
}

TEST_F(ProgramTest, CelNetworkExtension) {
  bag_.setIp(8, std::string("\x0a\x01\x02\x03", 4));
  EXPECT_EQ(eval("cidr('10.0.0.0/8').containsIP(aip)", Dialect::kCel), "true");
  EXPECT_EQ(eval("cidr('10.1.2.3/16').masked() == cidr('10.1.0.0/16')", Dialect::kCel), "true");
  EXPECT_EQ(eval("string(cidr('2001:db8::/32'))", Dialect::kCel), "2001:db8::/32");
  EXPECT_EQ(eval("ip.isCanonical('2001:DB8::1')", Dialect::kCel), "false");
  EXPECT_EQ(eval("ip('::ffff:1.2.3.4')", Dialect::kCel),
            "error: IPv4-mapped IPv6 address is not allowed");
  // CEXL keeps Go's net.ParseIP: the mapped form is accepted and equals the IPv4 address.
  EXPECT_EQ(eval(R"(ip("::ffff:10.1.2.3") == aip)"), "true");
}

TEST_F(ProgramTest, CelStringsExtension) {
  EXPECT_EQ(eval(R"("%s=%d, %.2f, %x".format(["k", 7, 1.005, 255]))", Dialect::kCel),
            "k=7, 1.00, ff");
  EXPECT_EQ(eval(R"("%d".format(["x"]))", Dialect::kCel).substr(0, 6), "error:");
  EXPECT_EQ(eval(R"(strings.quote("a\"b\n"))", Dialect::kCel), R"("a\"b\n")");
  EXPECT_EQ(eval(R"("a,b,c".split(",").join("-"))", Dialect::kCel), "a-b-c");
  EXPECT_EQ(eval(R"("  x ".trim().upperAscii())", Dialect::kCel), "X");
}

TEST_F(ProgramTest, AttributeOfTheWrongTypeInTheBagIsAnError) {
  bag_.setInt(1, 20);
  EXPECT_EQ(eval(R"(as == "x")"), "error: error converting value to string: '20'");
}

TEST_F(ProgramTest, ExpectedTypeIsEnforced) {
  CompileOptions o;
  o.expected_type = ValueType::kBool;
  auto p = compile("ai | 1", manifest_, o);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "1:4: expression has type INT64, expected BOOL");
}

TEST_F(ProgramTest, ProgramsAreSharedAcrossThreads) {
  bag_.setString(1, "abc");
  bag_.setStringMap(6, {{"k", "v"}});
  auto p = compile(R"(toLower(as + "X") == "abcx" && (ar["k"] | "d") == "v")", manifest_, {});
  ASSERT_TRUE(p.ok());
  ProgramConstSharedPtr program = *p;
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      EvalState state;
      for (int i = 0; i < 2000; ++i) {
        Value v = program->evaluate(bag_, &state);
        ok[t] += v.type == ValueType::kBool && v.bool_value && state.references().size() == 3;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(ok[t], 2000);
}

}  // namespace
}  // namespace expr
