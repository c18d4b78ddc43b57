// ConfigStore over a temporary configuration directory: the first load, reload() swapping in a
// valid configuration and keeping the old one on errors, the watcher reloading after a completed
// change (also in a subdirectory), status(), and the reload counters. Waits for the watcher are
// generous polls that end as soon as the change is seen: nothing here asserts a duration.
#include "mixer/runtime/config_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include <unistd.h>

#include "mixer/adapter_host/adapter_host.h"

namespace mixer::runtime {
namespace {

namespace fs = std::filesystem;

// A denier handler, a checknothing instance and one rule per name, all in istio-system.
std::string denyConfig(const std::vector<std::string>& rules) {
  std::string out =
      "apiVersion: config.istio.io/v1alpha2\n"
      "kind: denier\n"
      "metadata: {name: deny, namespace: istio-system}\n"
      "spec:\n"
      "  status: {code: 7, message: denied}\n"
      "---\n"
      "apiVersion: config.istio.io/v1alpha2\n"
      "kind: checknothing\n"
      "metadata: {name: nothing, namespace: istio-system}\n";
  for (const auto& name : rules) {
    out +=
        "---\n"
        "apiVersion: config.istio.io/v1alpha2\n"
        "kind: rule\n"
        "metadata: {name: " +
        name +
        ", namespace: istio-system}\n"
        "spec:\n"
        "  match: request.path == \"/" +
        name +
        "\"\n"
        "  actions:\n"
        "  - handler: deny.denier\n"
        "    instances: [nothing.checknothing]\n";
  }
  return out;
}

// A rule whose match names an attribute nobody declares (line 5 of its file), its one error.
const char kBadRule[] =
    "apiVersion: config.istio.io/v1alpha2\n"
    "kind: rule\n"
    "metadata: {name: broken, namespace: istio-system}\n"
    "spec:\n"
    "  match: request.nosuch == \"x\"\n"
    "  actions:\n"
    "  - handler: deny.denier\n"
    "    instances: [nothing.checknothing]\n";

void writeFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

std::vector<std::string> ruleNames(const ConfigStore& store) {
  std::vector<std::string> out;
  for (const auto& r : store.current()->snapshot().rules()) {
    out.push_back(r->name);
  }
  return out;
}

// Polls `done` every 20 ms for up to a minute (a generous bound for a loaded machine); true as
// soon as it holds.
bool waitFor(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

double metricValue(prometheus::Registry& registry, const std::string& name,
                   const std::string& result = "") {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) {
      continue;
    }
    for (const auto& m : family.metric) {
      bool match = result.empty();
      for (const auto& label : m.label) {
        match = match || (label.name == "result" && label.value == result);
      }
      if (match) {
        return family.type == prometheus::MetricType::Gauge ? m.gauge.value : m.counter.value;
      }
    }
  }
  return -1;
}

class ConfigStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { host_ = new adapter_host::AdapterHost({}); }
  static void TearDownTestSuite() {
    delete host_;
    host_ = nullptr;
  }
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("config-store-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  ConfigStore::Options options() {
    ConfigStore::Options o;
    o.config_dir = dir_.string();
    o.adapters = &host_->registry();
    o.base_vocabulary = attribute::Vocabulary::builtin();
    o.registry = registry_;
    o.debounce = absl::Milliseconds(50);
    return o;
  }
  void create() {
    std::vector<config::ConfigError> errors;
    auto store = ConfigStore::create(options(), &errors);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  static adapter_host::AdapterHost* host_;
  fs::path dir_;
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  std::unique_ptr<ConfigStore> store_;
};

adapter_host::AdapterHost* ConfigStoreTest::host_ = nullptr;

TEST_F(ConfigStoreTest, TheFirstLoadServesTheDirectoryAsGenerationOne) {
  writeFile(dir_ / "a.yaml", denyConfig({"one", "two"}));
  create();
  EXPECT_EQ(store_->generation(), 1u);
  EXPECT_EQ(ruleNames(*store_),
            (std::vector<std::string>{"one.rule.istio-system", "two.rule.istio-system"}));
  const ConfigStatus status = store_->status();
  EXPECT_EQ(status.source, dir_.string());
  EXPECT_EQ(status.files, 1u);
  EXPECT_EQ(status.documents, 4u);
  EXPECT_EQ(status.last_reload_unix_millis, 0);  // no reload yet
  EXPECT_EQ(status.reloads_ok, 0u);
  EXPECT_EQ(status.reloads_failed, 0u);
  EXPECT_EQ(metricValue(*registry_, "mixer_config_generation"), 1);
}

TEST_F(ConfigStoreTest, AnInvalidDirectoryIsRefusedWithItsErrors) {
  writeFile(dir_ / "a.yaml", denyConfig({"one"}));
  writeFile(dir_ / "bad.yaml", kBadRule);
  std::vector<config::ConfigError> errors;
  auto store = ConfigStore::create(options(), &errors);
  EXPECT_FALSE(store.ok());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].pos.file.find("bad.yaml"), std::string::npos) << errors[0].str();
  EXPECT_EQ(errors[0].pos.line, 5) << errors[0].str();
}

TEST_F(ConfigStoreTest, ReloadSwapsInAValidConfigurationAndRequestsKeepTheirs) {
  writeFile(dir_ / "a.yaml", denyConfig({"one"}));
  create();
  const DispatcherConstSharedPtr before = store_->current();
  writeFile(dir_ / "a.yaml", denyConfig({"one", "two", "three"}));
  EXPECT_TRUE(store_->reload().empty());
  EXPECT_EQ(store_->generation(), 2u);
  EXPECT_EQ(store_->current()->snapshot().ruleCount(), 3u);
  // A request that took the old dispatcher still has the old configuration.
  EXPECT_EQ(before->snapshot().generation(), 1u);
  EXPECT_EQ(before->snapshot().ruleCount(), 1u);
  const ConfigStatus status = store_->status();
  EXPECT_TRUE(status.last_reload_ok);
  EXPECT_GT(status.last_reload_unix_millis, 0);
  EXPECT_EQ(status.reloads_ok, 1u);
  EXPECT_EQ(metricValue(*registry_, "mixer_config_reloads_total", "ok"), 1);
  EXPECT_EQ(metricValue(*registry_, "mixer_config_generation"), 2);
}

TEST_F(ConfigStoreTest, AReloadWithErrorsKeepsTheOldConfiguration) {
  writeFile(dir_ / "a.yaml", denyConfig({"one"}));
  create();
  writeFile(dir_ / "a.yaml", denyConfig({"one", "two"}));  // valid on its own
  writeFile(dir_ / "bad.yaml", kBadRule);
  const auto errors = store_->reload();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].str().find("bad.yaml:5:"), std::string::npos) << errors[0].str();
  EXPECT_NE(errors[0].message.find("request.nosuch"), std::string::npos) << errors[0].str();
  EXPECT_EQ(store_->generation(), 1u);
  EXPECT_EQ(ruleNames(*store_), (std::vector<std::string>{"one.rule.istio-system"}));
  ConfigStatus status = store_->status();
  EXPECT_FALSE(status.last_reload_ok);
  EXPECT_EQ(status.reloads_failed, 1u);
  ASSERT_EQ(status.last_reload_errors.size(), errors.size());
  EXPECT_EQ(status.last_reload_errors[0], errors[0].str());
  EXPECT_EQ(metricValue(*registry_, "mixer_config_reloads_total", "error"), 1);
  EXPECT_EQ(metricValue(*registry_, "mixer_config_errors_total"),
            static_cast<double>(errors.size()));
  EXPECT_EQ(metricValue(*registry_, "mixer_config_generation"), 1);

  // Fixed: the next reload serves it, as the next generation.
  fs::remove(dir_ / "bad.yaml");
  EXPECT_TRUE(store_->reload().empty());
  EXPECT_EQ(store_->generation(), 2u);
  EXPECT_EQ(ruleNames(*store_),
            (std::vector<std::string>{"one.rule.istio-system", "two.rule.istio-system"}));
  status = store_->status();
  EXPECT_TRUE(status.last_reload_ok);
  EXPECT_TRUE(status.last_reload_errors.empty());
}

TEST_F(ConfigStoreTest, TheWatcherReloadsAfterAChangeAndKeepsServingOnErrors) {
  writeFile(dir_ / "a.yaml", denyConfig({"one"}));
  create();
  ASSERT_TRUE(store_->startWatching().ok());
  writeFile(dir_ / "b.yaml", kBadRule);  // a new, broken file
  ASSERT_TRUE(waitFor([&] { return store_->status().reloads_failed >= 1; }));
  EXPECT_EQ(store_->generation(), 1u);
  EXPECT_EQ(ruleNames(*store_), (std::vector<std::string>{"one.rule.istio-system"}));

  // Replaced by a valid file (written aside, then renamed in).
  const std::string valid =
      "apiVersion: config.istio.io/v1alpha2\n"
      "kind: rule\n"
      "metadata: {name: two, namespace: istio-system}\n"
      "spec:\n"
      "  actions:\n"
      "  - handler: deny.denier\n"
      "    instances: [nothing.checknothing]\n";
  const fs::path aside = fs::path(::testing::TempDir()) /
                         ("config-store-test-aside-" + std::to_string(getpid()) + ".yaml");
  writeFile(aside, valid);
  fs::rename(aside, dir_ / "b.yaml");
  ASSERT_TRUE(waitFor([&] { return store_->generation() >= 2; }));
  EXPECT_EQ(ruleNames(*store_),
            (std::vector<std::string>{"one.rule.istio-system", "two.rule.istio-system"}));
  store_->shutdown();
  store_->shutdown();  // idempotent
}

TEST_F(ConfigStoreTest, TheWatcherSeesChangesInSubdirectories) {
  fs::create_directories(dir_ / "team" / "rules");
  writeFile(dir_ / "a.yaml", denyConfig({"one"}));
  create();
  ASSERT_TRUE(store_->startWatching().ok());
  writeFile(dir_ / "team" / "rules" / "extra.yaml",
            "apiVersion: config.istio.io/v1alpha2\n"
            "kind: rule\n"
            "metadata: {name: nested, namespace: istio-system}\n"
            "spec:\n"
            "  actions:\n"
            "  - handler: deny.denier\n"
            "    instances: [nothing.checknothing]\n");
  ASSERT_TRUE(waitFor([&] { return store_->generation() >= 2; }));
  EXPECT_EQ(store_->current()->snapshot().ruleCount(), 2u);
  EXPECT_EQ(store_->status().files, 2u);
}

TEST(EmbeddedConfigTest, ThePrometheusAddressIsTheGivenOne) {
  EXPECT_FALSE(embeddedDefaultConfig().empty());
  const std::string with_address = embeddedDefaultConfig("127.0.0.1:19999");
  EXPECT_NE(with_address.find("127.0.0.1:19999"), std::string::npos);
  EXPECT_EQ(std::string(embeddedDefaultConfig()).find("127.0.0.1:19999"), std::string::npos);
}

}  // namespace
}  // namespace mixer::runtime
