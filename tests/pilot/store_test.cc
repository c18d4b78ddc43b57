// pilot/rules/store: the objects of a source's text, and DirStore over a real temporary directory
// (one file per object the API creates, compare-before-write, shared files read-only, deletes).
// EtcdStore is exercised against a real etcd by tests/integration/pilot_rules_test.cc.
#include "pilot/rules/store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace pilot::rules {
namespace {

constexpr char kVs[] =
    "apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\n"
    "metadata: {name: echo, namespace: shop}\nspec: {hosts: [echo]}\n";
constexpr char kDr[] =
    "apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\n"
    "metadata: {name: echo}\nspec: {host: echo}\n";

TEST(ObjectsOfTest, DocumentsOfAKnownKindWithANameAreObjects) {
  std::vector<StoredObject> objects;
  objectsOf(std::string(kVs) + "---\n" + kDr +
                "---\napiVersion: networking.istio.io/v1beta1\nkind: Gateway\n"
                "metadata: {name: g}\n---\nkind: ServiceEntry\nmetadata: {}\n",
            "f.yaml", "default", &objects);
  ASSERT_EQ(objects.size(), 2u);
  EXPECT_EQ(objects[0].kind, kindByKind("VirtualService"));
  EXPECT_EQ(objects[0].ns, "shop");
  EXPECT_EQ(objects[0].name, "echo");
  EXPECT_EQ(objects[0].location, "f.yaml");
  EXPECT_TRUE(objects[0].shared);
  EXPECT_EQ(objects[0].resource_version, contentVersion(objects[0].doc));
  EXPECT_EQ(objects[1].kind, kindByKind("DestinationRule"));
  EXPECT_EQ(objects[1].ns, "default");  // none given

  objects.clear();
  objectsOf(kDr, "g.yaml", "prod", &objects);
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_FALSE(objects[0].shared);
  EXPECT_EQ(objects[0].ns, "prod");
}

std::filesystem::path testDir() {
  return std::filesystem::temp_directory_path() / ("store_test_" + std::to_string(getpid()));
}

class DirStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  std::string read(const std::string& name) {
    std::ifstream in(dir_ / name);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::vector<StoredObject> load() {
    std::vector<StoredObject> objects;
    std::vector<Source> sources;
    std::string error;
    EXPECT_TRUE(store_.load("default", &objects, &sources, &error)) << error;
    return objects;
  }
  const StoredObject* find(const std::vector<StoredObject>& objects, const std::string& name) {
    for (const StoredObject& o : objects) {
      if (o.name == name) return &o;
    }
    return nullptr;
  }

  const std::filesystem::path dir_ = testDir();
  DirStore store_{testDir().string()};
};

TEST_F(DirStoreTest, LoadsTheYamlFilesAsObjectsAndSources) {
  write("a.yaml", kVs);
  write("b.yml", std::string(kDr) + "---\n" + kVs);
  write("notes.txt", kDr);
  std::vector<StoredObject> objects;
  std::vector<Source> sources;
  std::string error;
  ASSERT_TRUE(store_.load("default", &objects, &sources, &error)) << error;
  ASSERT_EQ(sources.size(), 2u);
  EXPECT_EQ(sources[0].name, (dir_ / "a.yaml").string());
  EXPECT_EQ(sources[0].location, (dir_ / "a.yaml").string());
  EXPECT_EQ(sources[0].text, kVs);
  EXPECT_EQ(sources[1].name, (dir_ / "b.yml").string());
  ASSERT_EQ(objects.size(), 3u);
  EXPECT_FALSE(objects[0].shared);
  EXPECT_TRUE(objects[1].shared);
  EXPECT_TRUE(objects[2].shared);
  EXPECT_EQ(store_.describe(), "config directory " + dir_.string());

  DirStore missing((dir_ / "nope").string());
  objects.clear();
  EXPECT_FALSE(missing.load("default", &objects, &sources, &error));
  EXPECT_NE(error.find("cannot read directory"), std::string::npos) << error;
}

TEST_F(DirStoreTest, CreatesOneFilePerObjectOnce) {
  StoredObject target;
  target.kind = kindByKind("DestinationRule");
  target.ns = "default";
  target.name = "echo";
  const std::string text = kDr;
  std::string version;
  std::string error;
  ASSERT_EQ(store_.write(target, &text, &version, &error), RulesStore::Outcome::kOk) << error;
  EXPECT_EQ(read("destinationrules_default_echo.yaml"), kDr);
  const std::vector<StoredObject> objects = load();
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_EQ(version, objects[0].resource_version);
  // Creating it again conflicts.
  EXPECT_EQ(store_.write(target, &text, &version, &error), RulesStore::Outcome::kConflict);
  EXPECT_NE(error.find("exists already"), std::string::npos) << error;
}

TEST_F(DirStoreTest, ReplacesOnlyTheVersionTheCallerSaw) {
  write("dr.yaml", kDr);
  const std::vector<StoredObject> objects = load();
  ASSERT_EQ(objects.size(), 1u);
  StoredObject stale = objects[0];
  stale.resource_version = "0000000000000000";
  std::string version;
  std::string error;
  const std::string changed = std::string(kDr) + "# changed\n";
  EXPECT_EQ(store_.write(stale, &changed, &version, &error), RulesStore::Outcome::kConflict);
  EXPECT_EQ(error, (dir_ / "dr.yaml").string() + " has changed");
  EXPECT_EQ(read("dr.yaml"), kDr);

  const std::string replaced =
      "apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\n"
      "metadata: {name: echo}\nspec: {host: other}\n";
  ASSERT_EQ(store_.write(objects[0], &replaced, &version, &error), RulesStore::Outcome::kOk)
      << error;
  EXPECT_EQ(read("dr.yaml"), replaced);
  EXPECT_NE(version, objects[0].resource_version);
  EXPECT_EQ(version, load()[0].resource_version);
}

TEST_F(DirStoreTest, SharedFilesAreReadOnlyAndDeletesRemoveTheFile) {
  write("both.yaml", std::string(kDr) + "---\n" + kVs);
  write("vs.yaml",
        "apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\n"
        "metadata: {name: alone}\nspec: {hosts: [alone]}\n");
  const std::vector<StoredObject> objects = load();
  const StoredObject* shared = find(objects, "echo");
  const StoredObject* alone = find(objects, "alone");
  ASSERT_NE(shared, nullptr);
  ASSERT_NE(alone, nullptr);
  std::string version = "unchanged";
  std::string error;
  EXPECT_EQ(store_.write(*shared, nullptr, &version, &error), RulesStore::Outcome::kConflict);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "both.yaml"));

  ASSERT_EQ(store_.write(*alone, nullptr, &version, &error), RulesStore::Outcome::kOk) << error;
  EXPECT_EQ(version, "");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "vs.yaml"));
}

}  // namespace
}  // namespace pilot::rules
