#include "mixer/common/listener_wake.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace mixer {
namespace {

// One connection to host:port, closed at once; a failure is ignored (the listener may be gone).
void touch(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (getaddrinfo(host.empty() || host == "0.0.0.0" ? "127.0.0.1"
                  : host == "::"                    ? "::1"
                                                    : host.c_str(),
                  service.c_str(), &hints, &found) != 0) {
    return;
  }
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const bool connected = connect(fd, a->ai_addr, a->ai_addrlen) == 0;
    close(fd);
    if (connected) break;
  }
  freeaddrinfo(found);
}

}  // namespace

void stopWakingListener(const std::string& host, int port, const std::function<void()>& stop) {
  if (port <= 0) {
    stop();
    return;
  }
  std::atomic<bool> stopped{false};
  std::thread waker([&] {
    while (!stopped.load(std::memory_order_acquire)) {
      touch(host, port);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  stop();
  stopped.store(true, std::memory_order_release);
  waker.join();
}

}  // namespace mixer
