// Watches one directory (not recursively) with inotify and calls a callback when a file in it is
// written, created, renamed or removed. Thread-safe: the callback runs on the watcher's own thread,
// and stop() (also run by the destructor) returns only after the thread has exited.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace pilot::model {

class DirWatcher {
 public:
  DirWatcher() = default;
  ~DirWatcher() { stop(); }
  DirWatcher(const DirWatcher&) = delete;
  DirWatcher& operator=(const DirWatcher&) = delete;

  // Starts watching `dir`; false with `error` set if the directory cannot be watched.
  bool start(const std::string& dir, std::function<void()> on_change, std::string* error);
  void stop();

 private:
  void run();

  int inotify_fd_ = -1;
  int wake_fd_ = -1;  // eventfd that stop() signals
  std::function<void()> on_change_;
  std::thread thread_;
};

}  // namespace pilot::model
