// pilot/model/dir_watcher: inotify on a real temporary directory. Each test waits (generously) for
// the callback an action must cause; none asserts how quickly it comes.
#include "pilot/model/dir_watcher.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>

namespace pilot::model {
namespace {

class DirWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("dir_watcher_test_" + std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::function<void()> counter() {
    return [this] {
      std::lock_guard<std::mutex> lock(mu_);
      ++calls_;
      cv_.notify_all();
    };
  }
  // Waits until the callback has run more than `seen` times; false after 30 seconds.
  bool waitForCallAfter(int seen) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return calls_ > seen; });
  }
  int calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

  std::filesystem::path dir_;
  std::mutex mu_;
  std::condition_variable cv_;
  int calls_ = 0;
};

TEST_F(DirWatcherTest, WritesCreatesRenamesAndRemovesCallBack) {
  DirWatcher watcher;
  std::string error;
  ASSERT_TRUE(watcher.start(dir_.string(), counter(), &error)) << error;

  int seen = calls();
  std::ofstream(dir_ / "a.yaml") << "services: []\n";
  EXPECT_TRUE(waitForCallAfter(seen)) << "no callback for a new file";

  seen = calls();
  std::ofstream(dir_ / ".b.tmp") << "x";
  std::filesystem::rename(dir_ / ".b.tmp", dir_ / "b.yaml");
  EXPECT_TRUE(waitForCallAfter(seen)) << "no callback for a rename into the directory";

  seen = calls();
  std::filesystem::remove(dir_ / "a.yaml");
  EXPECT_TRUE(waitForCallAfter(seen)) << "no callback for a removal";
  watcher.stop();
}

TEST_F(DirWatcherTest, AMissingDirectoryCannotBeWatched) {
  DirWatcher watcher;
  std::string error;
  EXPECT_FALSE(watcher.start((dir_ / "nope").string(), counter(), &error));
  EXPECT_NE(error.find("cannot watch " + (dir_ / "nope").string()), std::string::npos) << error;
  watcher.stop();  // stopping a watcher that never started is harmless
}

TEST_F(DirWatcherTest, StopCanBeRepeatedAndTheDirectoryWatchedAgain) {
  {
    DirWatcher watcher;
    std::string error;
    ASSERT_TRUE(watcher.start(dir_.string(), counter(), &error)) << error;
    watcher.stop();
    watcher.stop();
  }  // the destructor stops again
  // A new watcher on the same directory works.
  DirWatcher again;
  std::string error;
  ASSERT_TRUE(again.start(dir_.string(), counter(), &error)) << error;
  const int seen = calls();
  std::ofstream(dir_ / "c.yaml") << "x";
  EXPECT_TRUE(waitForCallAfter(seen));
}

}  // namespace
}  // namespace pilot::model
