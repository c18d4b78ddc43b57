// TempDir: a fresh directory under the test's temporary directory (::testing::TempDir()), removed
// with everything in it when the TempDir goes away. Files are written atomically (written beside,
// then renamed), so a program watching the directory (mixs --config-dir, a list publisher) never
// reads half a file.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace mixer::testing {

class TempDir {
 public:
  // <TempDir>/<what>-<pid>-<n>: unique within the run and between tests running in parallel.
  explicit TempDir(const std::string& what) {
    static int n = 0;
    path_ = ::testing::TempDir() + "/" + what + "-" + std::to_string(getpid()) + "-" +
            std::to_string(n++);
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Writes `name` (a path relative to the directory; missing parents are made) atomically.
  void write(const std::string& name, const std::string& text) const {
    const std::filesystem::path target = file(name);
    std::filesystem::create_directories(target.parent_path());
    const std::filesystem::path tmp =
        target.parent_path() / ("." + target.filename().string() + ".tmp");
    std::ofstream(tmp) << text;
    std::filesystem::rename(tmp, target);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace mixer::testing
