#include "tests/testing/http_collector.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace mixer::testing {
namespace {

int listenLoopback(int* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 64) != 0) {
    ::close(fd);
    return -1;
  }
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *port = ntohs(addr.sin_port);
  return fd;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The value of header `name` (lower case) in `head`, or "".
std::string header(const std::string& head, const std::string& name) {
  const std::string l = lower(head);
  const size_t pos = l.find("\r\n" + name + ":");
  if (pos == std::string::npos) {
    return "";
  }
  size_t start = pos + name.size() + 3;
  const size_t end = head.find("\r\n", start);
  while (start < end && head[start] == ' ') {
    ++start;
  }
  return head.substr(start, end - start);
}

}  // namespace

HttpCollector::HttpCollector() {
  listen_fd_ = listenLoopback(&port_);
  thread_ = std::thread([this] { serve(); });
}

HttpCollector::~HttpCollector() {
  stopping_ = true;
  thread_.join();
  ::close(listen_fd_);
}

std::vector<HttpCollector::Request> HttpCollector::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

bool HttpCollector::waitForRequests(size_t n, int timeout_ms) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                      [&] { return requests_.size() >= n; });
}

void HttpCollector::serve() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) {
      continue;
    }
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
      handle(fd);
      ::close(fd);
    }
  }
}

void HttpCollector::handle(int fd) {
  std::string data;
  char buf[65536];
  size_t head_end = std::string::npos;
  bool continued = false;
  auto readMore = [&]() {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) {
      return false;
    }
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) {
      return false;
    }
    data.append(buf, static_cast<size_t>(n));
    return true;
  };
  while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
    if (!readMore()) {
      return;
    }
  }
  const std::string head = data.substr(0, head_end + 2);
  const size_t length = std::stoul("0" + header(head, "content-length"));
  if (lower(header(head, "expect")) == "100-continue" && !continued) {
    const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
    (void)::write(fd, kContinue, sizeof(kContinue) - 1);
    continued = true;
  }
  while (data.size() < head_end + 4 + length) {
    if (!readMore()) {
      return;
    }
  }
  Request r;
  const size_t sp1 = head.find(' ');
  const size_t sp2 = head.find(' ', sp1 + 1);
  r.method = head.substr(0, sp1);
  r.path = head.substr(sp1 + 1, sp2 - sp1 - 1);
  r.content_type = header(head, "content-type");
  r.body = data.substr(head_end + 4, length);
  const int status = status_;
  const std::string response = "HTTP/1.1 " + std::to_string(status) +
                               " Status\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  // Recorded before the client hears the answer: a client that saw its POST accepted (and a test
  // that waited for that client) must find the request here.
  {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(std::move(r));
  }
  cv_.notify_all();
  (void)::write(fd, response.data(), response.size());
}

int unusedPort() {
  int port = 0;
  const int fd = listenLoopback(&port);
  ::close(fd);
  return port;
}

}  // namespace mixer::testing
