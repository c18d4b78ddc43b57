#include "mixer/adapter_host/adapter_registry.h"

#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/mixer/adapter_host/test_host.h"

namespace mixer::adapter_host {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using testing::fixtureDir;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::TestHost;

TEST(AdapterRegistryTest, LoadsEveryAdapterOfADirectory) {
  TestHost host;
  std::vector<std::string> errors;
  EXPECT_EQ(host.registry().loadDirectory(fixtureDir("good"), &errors), 2);
  EXPECT_THAT(errors, IsEmpty());
  auto raw = host.registry().find("raw");
  ASSERT_NE(raw, nullptr);
  EXPECT_EQ(raw->info().version, "0.1.0");
  EXPECT_EQ(raw->info().kindsString(), "check,quota,report");
  EXPECT_EQ(raw->info().abiVersionString(),
            std::to_string(MIXER_ADAPTER_ABI_VERSION_MAJOR) + "." +
                std::to_string(MIXER_ADAPTER_ABI_VERSION_MINOR));  // built against this header
  EXPECT_THAT(raw->info().templates, ElementsAre("checknothing", "quota", "reportnothing"));
  EXPECT_EQ(raw->info().path, fixtureDir("good") + "/raw.so");
  auto kit = host.registry().find("sdkkit");
  ASSERT_NE(kit, nullptr);
  EXPECT_EQ(kit->info().kindsString(), "check,quota,generate");
  EXPECT_EQ(host.registry().find("nope"), nullptr);
  EXPECT_EQ(loadedAdaptersSummary(host.registry()), "loaded 2 adapters: raw 0.1.0, sdkkit 0.2.0");
}

TEST(AdapterRegistryTest, PrintsLoadedAdaptersWithVersionsAndKinds) {
  TestHost host;
  std::vector<std::string> errors;
  loadAdapterDirs({fixtureDir("good")}, &host.registry(), &errors);
  std::ostringstream out;
  printAdapters(host.registry(), out);
  std::istringstream lines(out.str());
  std::string header, first, second, extra;
  std::getline(lines, header);
  std::getline(lines, first);
  std::getline(lines, second);
  EXPECT_FALSE(std::getline(lines, extra));
  EXPECT_THAT(header, AllOf(HasSubstr("NAME"), HasSubstr("VERSION"), HasSubstr("KINDS")));
  EXPECT_THAT(first, AllOf(HasSubstr("raw"), HasSubstr("0.1.0"), HasSubstr("1.0"),
                           HasSubstr("check,quota,report"),
                           HasSubstr("checknothing,quota,reportnothing"), HasSubstr("raw.so")));
  EXPECT_THAT(second, AllOf(HasSubstr("sdkkit"), HasSubstr("0.2.0"), HasSubstr("check")));
}

// Each bad shared object gives one error that names its file, and is not loaded.
TEST(AdapterRegistryTest, RejectsEachBadSharedObjectWithAnErrorNamingTheFile) {
  TestHost host;
  std::vector<std::string> errors;
  EXPECT_EQ(host.registry().loadDirectory(fixtureDir("bad"), &errors), 0);
  const std::string dir = fixtureDir("bad");
  EXPECT_THAT(
      errors,
      ElementsAre(
          AllOf(HasSubstr(dir + "/bad_major.so: "),
                HasSubstr("built for adapter ABI 2.0; this host supports 1.x")),
          AllOf(HasSubstr(dir + "/entry_fails.so: "), HasSubstr("entry point failed")),
          AllOf(HasSubstr(dir + "/no_entry.so: "),
                HasSubstr("missing entry symbol 'mixer_adapter_entry'")),
          AllOf(HasSubstr(dir + "/not_elf.so: "), HasSubstr("not a loadable shared object")),
          AllOf(HasSubstr(dir + "/null_hook.so: "),
                HasSubstr("declares a kind whose hook is NULL")),
          AllOf(HasSubstr(dir + "/unresolved.so: "), HasSubstr("not a loadable shared object"),
                HasSubstr("mixer_fixture_symbol_nobody_defines"))));
  EXPECT_THAT(host.registry().adapters(), IsEmpty());
}

TEST(AdapterRegistryTest, RejectsADuplicateAdapterName) {
  TestHost host;
  std::vector<std::string> errors;
  EXPECT_EQ(loadAdapterDirs({fixtureDir("good"), fixtureDir("dup")}, &host.registry(), &errors), 2);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr(fixtureDir("dup") +
                                   "/raw_again.so: duplicate adapter name "
                                   "'raw' (already loaded from " +
                                   fixtureDir("good") + "/raw.so)"));
  EXPECT_EQ(host.registry().find("raw")->info().path, fixtureDir("good") + "/raw.so");
}

TEST(AdapterRegistryTest, ReportsAMissingDirectory) {
  TestHost host;
  std::vector<std::string> errors;
  EXPECT_EQ(host.registry().loadDirectory(fixtureDir("does-not-exist"), &errors), 0);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr("does-not-exist: cannot read adapter directory"));
}

TEST(AdapterRegistryTest, LoadFileNamesTheFileInItsStatus) {
  TestHost host;
  absl::Status status = host.registry().loadFile(fixtureDir("bad") + "/no_entry.so");
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("no_entry.so"));
  EXPECT_TRUE(host.registry().loadFile(fixtureDir("good") + "/raw.so").ok());
}

TEST(AdapterRegistryTest, DefaultAdapterDirHonoursTheEnvironment) {
  setenv("MIXER_ADAPTER_DIR", "/opt/adapters", 1);
  EXPECT_EQ(defaultAdapterDir(), "/opt/adapters");
  unsetenv("MIXER_ADAPTER_DIR");
  // This test binary runs from the build tree, so the build's adapter folder is the default.
  EXPECT_EQ(defaultAdapterDir(), std::string(BUILD_DIR) + "/adapters");
}

}  // namespace
}  // namespace mixer::adapter_host
