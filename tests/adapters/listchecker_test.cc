// listchecker: the matcher, then the adapter loaded from the build's adapter folder, fetching its
// list from a real local HTTP server (python3's http.server serving a temporary directory).
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "adapters/listchecker/list_matcher.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mixer/adapter_host/adapter_registry.h"
#include "mixer/adapter_host/host_services.h"
#include "mixer/adapter_host/yaml_params.h"
#include "tests/testing/subprocess.h"

namespace {

using listchecker::EntryType;
using listchecker::ListMatcher;
using listchecker::parseListBody;
using ::testing::ElementsAre;

TEST(ListMatcherTest, StringsAreExactCaseInsensitiveStringsAreNot) {
  auto exact = ListMatcher::build(EntryType::kStrings, {"Alice", "bob"}, nullptr);
  EXPECT_TRUE(exact->contains("Alice"));
  EXPECT_FALSE(exact->contains("alice"));
  EXPECT_FALSE(exact->contains("bo"));
  auto folded = ListMatcher::build(EntryType::kCaseInsensitiveStrings, {"Alice"}, nullptr);
  EXPECT_TRUE(folded->contains("aLICE"));
  EXPECT_FALSE(folded->contains("alicia"));
}

TEST(ListMatcherTest, CidrEdgesForIpv4AndIpv6) {
  std::vector<std::string> errors;
  auto m = ListMatcher::build(EntryType::kIpAddresses,
                              {"10.0.0.0/8", "192.168.1.7", "172.16.0.0/31", "2001:db8::/32", "::1",
                               "300.1.1.1", "10.0.0.0/33", "fe80::/129"},
                              &errors);
  EXPECT_THAT(errors, ElementsAre("entry '300.1.1.1': not an IP address or CIDR",
                                  "entry '10.0.0.0/33': prefix length larger than 32",
                                  "entry 'fe80::/129': prefix length larger than 128"));
  EXPECT_EQ(m->size(), 5u);
  EXPECT_TRUE(m->contains("10.0.0.0"));
  EXPECT_TRUE(m->contains("10.255.255.255"));
  EXPECT_FALSE(m->contains("9.255.255.255"));
  EXPECT_FALSE(m->contains("11.0.0.0"));
  EXPECT_TRUE(m->contains("192.168.1.7"));  // a bare address is a /32
  EXPECT_FALSE(m->contains("192.168.1.6"));
  EXPECT_FALSE(m->contains("192.168.1.8"));
  EXPECT_TRUE(m->contains("172.16.0.1"));
  EXPECT_FALSE(m->contains("172.16.0.2"));
  EXPECT_TRUE(m->contains("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_FALSE(m->contains("2001:db9::"));
  EXPECT_TRUE(m->contains("::1"));
  EXPECT_FALSE(m->contains("::2"));
  EXPECT_TRUE(m->contains("::ffff:10.1.2.3"));  // IPv4-mapped is looked up as IPv4
  EXPECT_TRUE(m->contains(std::string("\x0a\x01\x02\x03", 4), /*raw_address=*/true));
  EXPECT_FALSE(m->contains(std::string("\x0b\x01\x02\x03", 4), /*raw_address=*/true));
  EXPECT_FALSE(m->contains("not-an-ip"));
  auto all = ListMatcher::build(EntryType::kIpAddresses, {"0.0.0.0/0"}, nullptr);
  EXPECT_TRUE(all->contains("255.255.255.255"));
  EXPECT_FALSE(all->contains("::2"));
}

TEST(ListMatcherTest, RegexesAreOneUnanchoredSet) {
  std::vector<std::string> errors;
  auto m = ListMatcher::build(EntryType::kRegex, {"^/admin(/|$)", "\\.php$", "(unclosed"}, &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], ::testing::StartsWith("entry '(unclosed': "));
  EXPECT_TRUE(m->contains("/admin/users"));
  EXPECT_TRUE(m->contains("/x/index.php"));
  EXPECT_FALSE(m->contains("/administrator"));
  EXPECT_FALSE(m->contains("/index.php5"));
}

TEST(ListMatcherTest, BodiesAreLinesOrIstiosYamlWhitelist) {
  EXPECT_THAT(parseListBody("a\n\n# comment\n  b \r\nc"), ElementsAre("a", "b", "c"));
  EXPECT_THAT(parseListBody("whitelist: [10.0.0.0/8, \"1.2.3.4\"]\n"),
              ElementsAre("10.0.0.0/8", "1.2.3.4"));
  EXPECT_THAT(parseListBody("whitelist:\n- 10.0.0.0/8\n- '::1'\n"),
              ElementsAre("10.0.0.0/8", "::1"));
}

// A python3 http.server on an ephemeral port serving `dir_`; list.txt is the list.
class ListProviderTest : public ::testing::Test {
 protected:
  ListProviderTest() : services_(&counters_, &executor_, nullptr), registry_(&services_) {}
  ~ListProviderTest() override {
    server_.stop(SIGTERM);
    executor_.shutdown();
    std::filesystem::remove_all(dir_);
  }
  void SetUp() override {
    char tmpl[] = "/tmp/listchecker_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_TRUE(registry_.loadFile(std::string(ADAPTER_DIR) + "/listchecker.so").ok());
    adapter_ = registry_.find("listchecker");
    ASSERT_NE(adapter_, nullptr);
    startServer(0);
  }
  void startServer(int port) {
    ASSERT_TRUE(server_.start({"/usr/bin/python3", "-u", "-m", "http.server", std::to_string(port),
                               "--bind", "127.0.0.1", "--directory", dir_}));
    auto m = server_.waitFor("port (\\d+)");
    ASSERT_TRUE(m.has_value()) << server_.output();
    port_ = std::stoi((*m)[1].str());
  }
  void writeList(const std::string& body) {
    std::string tmp = dir_ + "/list.tmp";
    std::ofstream(tmp) << body;
    std::filesystem::rename(tmp, dir_ + "/list.txt");
  }
  mixer::adapter_host::AbiValue params(const std::string& extra, const std::string& ttl = "3s") {
    std::string text = "providerUrl: http://127.0.0.1:" + std::to_string(port_) +
                       "/list.txt\nrefreshInterval: 1s\nttl: " + ttl +
                       "\ncachingInterval: 5s\n"
                       "cachingUseCount: 7\n" +
                       extra;
    std::vector<mixer::adapter_host::ParamError> errors;
    auto v = mixer::adapter_host::valueFromYaml(YAML::Load(text), "params", &errors);
    EXPECT_TRUE(errors.empty());
    EXPECT_TRUE(adapter_->validateParams(v).empty());
    return v;
  }
  absl::StatusCode check(mixer::adapter_host::Handler& h, const std::string& value) {
    using mixer::adapter_host::AbiValue;
    mixer::adapter_host::Instance i{"sourceip.listentry.istio-system", "listentry",
                                    AbiValue::map({{"value", AbiValue::string(value)}})};
    auto r = h.checkAndWait(i, absl::Seconds(2));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->status.code() : absl::StatusCode::kInternal;
  }
  // Polls `condition` for up to 20s (a bound for slow machines, not a timing assertion).
  template <class F>
  bool eventually(F condition) {
    for (int i = 0; i < 200; ++i) {
      if (condition()) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  double counter(const std::string& name) {
    return counters_.total("mixer_adapter_listchecker_" + name + "_total");
  }

  mixer::adapter_host::InMemoryCounterRegistry counters_;
  mixer::adapter_host::BackgroundExecutor executor_{1};
  mixer::adapter_host::HostServices services_;
  mixer::adapter_host::AdapterRegistry registry_;
  std::shared_ptr<const mixer::adapter_host::LoadedAdapter> adapter_;
  mixer::testing::Subprocess server_;
  std::string dir_;
  int port_ = 0;
};

constexpr auto kOk = absl::StatusCode::kOk;
constexpr auto kDenied = absl::StatusCode::kPermissionDenied;

TEST_F(ListProviderTest, WhitelistHitAllowsMissDeniesWithCachingHints) {
  writeList("alice\nbob\n");
  auto handler = adapter_->createHandler("whitelist", params("overrides: [carol]"));
  ASSERT_TRUE(handler.ok()) << handler.status();
  ASSERT_TRUE(eventually([&] { return check(**handler, "alice") == kOk; }));
  EXPECT_EQ(check(**handler, "bob"), kOk);
  EXPECT_EQ(check(**handler, "carol"), kOk);  // an override
  EXPECT_EQ(check(**handler, "mallory"), kDenied);
  using mixer::adapter_host::AbiValue;
  mixer::adapter_host::Instance i{"v.listentry", "listentry",
                                  AbiValue::map({{"value", AbiValue::string("mallory")}})};
  auto r = (*handler)->checkAndWait(i, absl::Seconds(2));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::string(r->status.message()), "mallory is not whitelisted");
  EXPECT_EQ(r->valid_duration, absl::Seconds(5));
  EXPECT_EQ(r->valid_use_count, 7);
}

TEST_F(ListProviderTest, BlacklistOfCidrsDeniesHitsAllowsMisses) {
  writeList("whitelist: [10.0.0.0/8, 2001:db8::/32]\n");
  auto handler =
      adapter_->createHandler("blacklist", params("entryType: IP_ADDRESSES\nblacklist: true"));
  ASSERT_TRUE(handler.ok()) << handler.status();
  ASSERT_TRUE(eventually([&] { return check(**handler, "10.1.2.3") == kDenied; }));
  EXPECT_EQ(check(**handler, "11.0.0.0"), kOk);
  EXPECT_EQ(check(**handler, "2001:db8::5"), kDenied);
  EXPECT_EQ(check(**handler, "2001:db9::5"), kOk);
  using mixer::adapter_host::AbiValue;
  mixer::adapter_host::Instance raw{
      "v.listentry", "listentry",
      AbiValue::map({{"value", AbiValue::ipAddress(std::string("\x0a\x00\x00\x01", 4))}})};
  auto r = (*handler)->checkAndWait(raw, absl::Seconds(2));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::string(r->status.message()), "10.0.0.1 is blacklisted");
}

TEST_F(ListProviderTest, AnIpAddressValueMatchesAStringListByItsTextForm) {
  writeList("10.0.0.1\n");
  auto handler = adapter_->createHandler("h", params(""));
  ASSERT_TRUE(handler.ok());
  ASSERT_TRUE(eventually([&] { return check(**handler, "10.0.0.1") == kOk; }));
  using mixer::adapter_host::AbiValue;
  mixer::adapter_host::Instance raw{
      "v.listentry", "listentry",
      AbiValue::map({{"value", AbiValue::ipAddress(std::string("\x0a\x00\x00\x01", 4))}})};
  auto r = (*handler)->checkAndWait(raw, absl::Seconds(2));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->status.ok()) << r->status;
}

TEST_F(ListProviderTest, AChangedListIsPickedUpAnUnchangedOneIsNotReparsed) {
  writeList("alice\n");
  auto handler = adapter_->createHandler("h", params(""));
  ASSERT_TRUE(handler.ok());
  ASSERT_TRUE(eventually([&] { return check(**handler, "alice") == kOk; }));
  ASSERT_TRUE(eventually([&] { return counter("fetches") >= 3; }));
  EXPECT_EQ(counter("list_updates"), 1);  // three fetches of the same body, one parse
  writeList("bob\n");
  ASSERT_TRUE(eventually([&] { return check(**handler, "bob") == kOk; }));
  EXPECT_EQ(check(**handler, "alice"), kDenied);
  EXPECT_EQ(counter("list_updates"), 2);
}

TEST_F(ListProviderTest, ProviderDownServesTheLastListUntilTtlThenPurgesAndRecovers) {
  writeList("alice\n");
  // ttl 6s: the first failed fetch comes ~1s after the server stops, leaving seconds of margin
  // to observe the last good list still serving.
  auto handler = adapter_->createHandler("h", params("", "6s"));
  ASSERT_TRUE(handler.ok());
  ASSERT_TRUE(eventually([&] { return check(**handler, "alice") == kOk; }));
  int port = port_;
  server_.stop(SIGTERM);
  ASSERT_TRUE(eventually([&] { return counter("fetch_errors") >= 1; }));
  if (counter("list_purges") == 0) {  // still within ttl: the last good list serves
    EXPECT_EQ(check(**handler, "alice"), kOk);
  }
  ASSERT_TRUE(eventually([&] { return counter("list_purges") == 1; }));
  EXPECT_EQ(check(**handler, "alice"), kDenied);  // purged: an empty whitelist
  startServer(port);
  ASSERT_EQ(port_, port);
  ASSERT_TRUE(eventually([&] { return check(**handler, "alice") == kOk; }));
}

TEST_F(ListProviderTest, ProviderErrorStatusKeepsTheLastList) {
  writeList("alice\n");
  auto handler = adapter_->createHandler("h", params(""));
  ASSERT_TRUE(handler.ok());
  ASSERT_TRUE(eventually([&] { return check(**handler, "alice") == kOk; }));
  std::filesystem::remove(dir_ + "/list.txt");  // 404 from now on
  ASSERT_TRUE(eventually([&] { return counter("fetch_errors") >= 1; }));
  EXPECT_EQ(counter("list_updates"), 1);
}

TEST_F(ListProviderTest, ValidationReportsEveryErrorWithItsPath) {
  std::vector<mixer::adapter_host::ParamError> errors;
  auto v = mixer::adapter_host::valueFromYaml(
      YAML::Load("providerUrl: ftp://x\nrefreshInterval: 500ms\nttl: 100ms\nentryType: IPS\n"
                 "blacklist: 1\noverrides: [3]\nttls: 1s"),
      "params", &errors);
  std::vector<std::string> got;
  for (const auto& e : adapter_->validateParams(v)) {
    got.push_back(e.toString());
  }
  EXPECT_THAT(got, ::testing::UnorderedElementsAre(
                       "params.ttls: unknown field 'ttls'",
                       "params.provider_url: expected an http:// or https:// URL",
                       "params.refresh_interval: must be at least 1s",
                       "params.ttl: must be longer than refresh_interval",
                       "params.entry_type: expected STRINGS, CASE_INSENSITIVE_STRINGS, "
                       "IP_ADDRESSES or REGEX",
                       "params.blacklist: expected true or false",
                       "params.overrides[0]: expected a string"));
}

}  // namespace
