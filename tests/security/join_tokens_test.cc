// Join tokens: the file format, single use, expiry, and reloading when the file changes.
#include "security/ca/join_tokens.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace security::ca {
namespace {

using Clock = std::chrono::system_clock;
using Outcome = JoinTokenStore::Outcome;

constexpr char kTokens[] = R"(- token: aaaaaaaaaaaaaaaa-reviews
  spiffe_id: spiffe://cluster.local/ns/default/sa/reviews
  expires: "2099-01-01T00:00:00Z"
- token: bbbbbbbbbbbbbbbb-ratings
  spiffe_id: spiffe://cluster.local/ns/default/sa/ratings
  expires: 2000-01-01T00:00:00Z
)";

TEST(JoinTokensParseTest, ReadsTheList) {
  auto tokens = parseJoinTokens(kTokens, "tokens.yaml", "cluster.local");
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  ASSERT_EQ(tokens->size(), 2u);
  EXPECT_EQ((*tokens)[0].token, "aaaaaaaaaaaaaaaa-reviews");
  EXPECT_EQ((*tokens)[0].id.uri(), "spiffe://cluster.local/ns/default/sa/reviews");
  EXPECT_EQ((*tokens)[1].line, 4);
  EXPECT_LT((*tokens)[1].expires, Clock::now());
  EXPECT_TRUE(parseJoinTokens("", "t.yaml", "cluster.local").ok());
  auto with_dns = parseJoinTokens(
      "- dns_names: [mixs.istio-system.svc, localhost]\n  token: aaaaaaaaaaaaaaaaaaaa\n"
      "  spiffe_id: spiffe://cluster.local/ns/istio-system/sa/mixs\n"
      "  expires: 2099-01-01T00:00:00Z\n",
      "t.yaml", "cluster.local");
  ASSERT_TRUE(with_dns.ok()) << with_dns.status();
  EXPECT_EQ((*with_dns)[0].id.dns_names,
            (std::vector<std::string>{"mixs.istio-system.svc", "localhost"}));
  EXPECT_EQ((*with_dns)[0].id.uri(), "spiffe://cluster.local/ns/istio-system/sa/mixs");
}

TEST(JoinTokensParseTest, ErrorsNameFileAndLine) {
  struct Case {
    const char* yaml;
    const char* want;
  };
  for (const Case& c : {
           Case{"token: x", "t.yaml:1: expected a list"},
           Case{"- token: short\n  spiffe_id: spiffe://cluster.local/a\n  expires: "
                "2099-01-01T00:00:00Z\n",
                "t.yaml:1: a token has 16 to 4096"},
           Case{"- token: aaaaaaaaaaaaaaaaaaaa\n  spiffe_id: spiffe://other.org/a\n  expires: "
                "2099-01-01T00:00:00Z\n",
                "t.yaml:2: spiffe://other.org/a is not in trust domain"},
           Case{"- token: aaaaaaaaaaaaaaaaaaaa\n  spiffe_id: spiffe://cluster.local/a\n  expires: "
                "tomorrow\n",
                "t.yaml:3: expires must be an RFC 3339"},
           Case{"- token: aaaaaaaaaaaaaaaaaaaa\n  spiffe_id: spiffe://cluster.local/a\n",
                "t.yaml:1: each token needs"},
           Case{"- token: aaaaaaaaaaaaaaaaaaaa\n  spiffe_id: spiffe://cluster.local/a\n  expires: "
                "2099-01-01T00:00:00Z\n  role: admin\n",
                "t.yaml:4: unknown field role"},
           Case{"- token: aaaaaaaaaaaaaaaaaaaa\n  spiffe_id: spiffe://cluster.local/a\n  expires: "
                "2099-01-01T00:00:00Z\n- token: aaaaaaaaaaaaaaaaaaaa\n  spiffe_id: "
                "spiffe://cluster.local/b\n  expires: 2099-01-01T00:00:00Z\n",
                "t.yaml:4: duplicate token"},
           Case{"- [unclosed", "t.yaml:"},
           Case{"- token: aaaaaaaaaaaaaaaaaaaa\n  spiffe_id: spiffe://cluster.local/a\n  expires: "
                "2099-01-01T00:00:00Z\n  dns_names: [ok.svc, -bad]\n",
                "t.yaml:4: not a DNS name"},
       }) {
    auto r = parseJoinTokens(c.yaml, "t.yaml", "cluster.local");
    ASSERT_FALSE(r.ok()) << c.yaml;
    EXPECT_NE(std::string(r.status().message()).find(c.want), std::string::npos)
        << r.status() << " wanted " << c.want;
  }
}

class JoinTokenStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("join_tokens_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    write(kTokens);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& text) {
    const auto tmp = dir_ / ".tokens.tmp";
    std::ofstream(tmp) << text;
    std::filesystem::rename(tmp, dir_ / "tokens.yaml");
  }
  std::string path() const { return (dir_ / "tokens.yaml").string(); }
  std::filesystem::path dir_;
};

TEST_F(JoinTokenStoreTest, EachTokenWorksOnceAndNotAfterItExpires) {
  JoinTokenStore store(path(), "cluster.local");
  ASSERT_TRUE(store.load().ok());
  WorkloadId id;
  EXPECT_EQ(store.redeem("aaaaaaaaaaaaaaaa-reviews", Clock::now(), &id), Outcome::kOk);
  EXPECT_EQ(id.uri(), "spiffe://cluster.local/ns/default/sa/reviews");
  EXPECT_EQ(store.redeem("aaaaaaaaaaaaaaaa-reviews", Clock::now(), &id), Outcome::kUsed);
  EXPECT_EQ(store.redeem("bbbbbbbbbbbbbbbb-ratings", Clock::now(), &id), Outcome::kExpired);
  EXPECT_EQ(store.redeem("aaaaaaaaaaaaaaaa-reviewz", Clock::now(), &id), Outcome::kUnknown);
  EXPECT_EQ(store.redeem("", Clock::now(), &id), Outcome::kUnknown);
}

TEST_F(JoinTokenStoreTest, ReloadsOnChangeAndRemembersUsedTokens) {
  JoinTokenStore store(path(), "cluster.local");
  ASSERT_TRUE(store.load().ok());
  WorkloadId id;
  ASSERT_EQ(store.redeem("aaaaaaaaaaaaaaaa-reviews", Clock::now(), &id), Outcome::kOk);
  write(std::string(kTokens) +
        "- token: cccccccccccccccc-details\n"
        "  spiffe_id: spiffe://cluster.local/ns/default/sa/details\n"
        "  expires: 2099-01-01T00:00:00Z\n");
  EXPECT_EQ(store.redeem("cccccccccccccccc-details", Clock::now(), &id), Outcome::kOk);
  EXPECT_EQ(id.uri(), "spiffe://cluster.local/ns/default/sa/details");
  EXPECT_EQ(store.reloads(), 1u);
  // Written again, the used token stays used.
  EXPECT_EQ(store.redeem("aaaaaaaaaaaaaaaa-reviews", Clock::now(), &id), Outcome::kUsed);
  // A broken file leaves the tokens in force; a removed token is gone.
  write("- [broken");
  EXPECT_EQ(store.size(), 3u);
  write("[]\n");
  EXPECT_EQ(store.redeem("dddddddddddddddd-nothing", Clock::now(), &id), Outcome::kUnknown);
  EXPECT_EQ(store.size(), 0u);
}

TEST_F(JoinTokenStoreTest, UsedTokensSurviveARestartWithAUsedFile) {
  const std::string used = (dir_ / "used").string();
  {
    JoinTokenStore store(path(), "cluster.local", used);
    ASSERT_TRUE(store.load().ok());
    WorkloadId id;
    ASSERT_EQ(store.redeem("aaaaaaaaaaaaaaaa-reviews", Clock::now(), &id), Outcome::kOk);
  }
  JoinTokenStore again(path(), "cluster.local", used);
  ASSERT_TRUE(again.load().ok());
  WorkloadId id;
  EXPECT_EQ(again.redeem("aaaaaaaaaaaaaaaa-reviews", Clock::now(), &id), Outcome::kUsed);
}

}  // namespace
}  // namespace security::ca
