#include "pilot/model/dir_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pilot::model {

bool DirWatcher::start(const std::string& dir, std::function<void()> on_change,
                       std::string* error) {
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) {
    *error = std::string("inotify_init1: ") + std::strerror(errno);
    return false;
  }
  const uint32_t mask =
      IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_MODIFY;
  if (inotify_add_watch(inotify_fd_, dir.c_str(), mask) < 0) {
    *error = "cannot watch " + dir + ": " + std::strerror(errno);
    close(inotify_fd_);
    inotify_fd_ = -1;
    return false;
  }
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  on_change_ = std::move(on_change);
  thread_ = std::thread([this] { run(); });
  return true;
}

void DirWatcher::stop() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
    thread_.join();
  }
  if (inotify_fd_ >= 0) close(inotify_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
  inotify_fd_ = wake_fd_ = -1;
}

void DirWatcher::run() {
  alignas(inotify_event) char buf[8192];
  while (true) {
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    bool changed = false;
    while (read(inotify_fd_, buf, sizeof(buf)) > 0) changed = true;
    if (changed) on_change_();
  }
}

}  // namespace pilot::model
