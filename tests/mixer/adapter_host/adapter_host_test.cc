#include "mixer/adapter_host/adapter_host.h"

#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/mixer/adapter_host/test_host.h"

namespace mixer::adapter_host {
namespace {

using ::testing::ElementsAre;
using testing::fixtureDir;
using ::testing::HasSubstr;

TEST(AdapterHostTest, LoadsTheConfiguredDirectoriesAndKeepsTheErrors) {
  AdapterHost::Options options;
  options.adapter_dirs = {fixtureDir("good"), fixtureDir("dup")};
  options.log = nullptr;
  AdapterHost host(std::move(options));
  EXPECT_EQ(loadedAdaptersSummary(host.registry()), "loaded 2 adapters: raw 0.1.0, sdkkit 0.2.0");
  EXPECT_THAT(host.loadErrors(), ElementsAre(HasSubstr("raw_again.so: duplicate adapter name")));
}

TEST(AdapterHostTest, DefaultsToTheDefaultAdapterDir) {
  AdapterHost::Options options;
  options.log = nullptr;
  AdapterHost host(std::move(options));
  EXPECT_THAT(host.adapterDirs(), ElementsAre(defaultAdapterDir()));
}

TEST(AdapterHostTest, ListAdaptersPrintsTheTableAndTheErrors) {
  std::ostringstream out, err;
  EXPECT_EQ(listAdapters({fixtureDir("good")}, out, err), 0);
  EXPECT_THAT(out.str(), HasSubstr("sdkkit  0.2.0"));
  EXPECT_EQ(err.str(), "");
  std::ostringstream out2, err2;
  EXPECT_EQ(listAdapters({fixtureDir("good"), fixtureDir("dup")}, out2, err2), 1);
  EXPECT_THAT(err2.str(), HasSubstr("error: " + fixtureDir("dup") + "/raw_again.so: duplicate"));
  EXPECT_THAT(out2.str(), HasSubstr("raw     0.1.0"));
}

}  // namespace
}  // namespace mixer::adapter_host
