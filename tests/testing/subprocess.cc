#include "tests/testing/subprocess.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace mixer::testing {

Subprocess::~Subprocess() {
  if (pid_ > 0) {
    stop(SIGKILL, std::chrono::seconds(5));
  }
  if (!capture_path_.empty()) {
    unlink(capture_path_.c_str());
  }
}

bool Subprocess::start(const std::vector<std::string>& argv) {
  char tmpl[] = "/tmp/mixer-test-output-XXXXXX";
  const int fd = mkstemp(tmpl);
  if (fd < 0) {
    return false;
  }
  capture_path_ = tmpl;
  pid_ = fork();
  if (pid_ < 0) {
    close(fd);
    return false;
  }
  if (pid_ == 0) {
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
    // Unblock signals the test runner may have blocked.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char*> args;
    for (const auto& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fd);
  return true;
}

std::string Subprocess::output() const {
  std::ifstream in(capture_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Subprocess::running() {
  if (pid_ <= 0) {
    return false;
  }
  int status;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = status;
    pid_ = -1;
    return false;
  }
  return true;
}

std::optional<Match> Subprocess::waitFor(const std::string& pattern,
                                         std::chrono::milliseconds timeout) {
  const std::regex re(pattern);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string text = output();
    std::smatch m;
    if (std::regex_search(text, m, re)) {
      return Match(m);
    }
    if (!running()) {
      text = output();
      if (std::regex_search(text, m, re)) {
        return Match(m);
      }
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::nullopt;
}

int Subprocess::stop(int signal, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) {
    return status_;
  }
  kill(pid_, signal);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) {
      return status_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid_, SIGKILL);
  int status;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  status_ = status;
  return status_;
}

std::pair<int, std::string> runCommand(const std::vector<std::string>& argv,
                                       std::chrono::milliseconds timeout) {
  Subprocess p;
  if (!p.start(argv)) {
    return {-1, ""};
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (p.running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const int status = p.stop(SIGKILL, std::chrono::seconds(1));
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, p.output()};
}

std::string binDir() {
  if (const char* dir = std::getenv("MIXER_BUILD_DIR")) {
    return std::string(dir) + "/bin";
  }
  // Tests are built into the same bin/ directory as the programs they run.
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) {
    return ".";
  }
  std::string exe(buf, static_cast<size_t>(n));
  return exe.substr(0, exe.rfind('/'));
}

std::string sourceDir() {
  const char* dir = std::getenv("MIXER_SOURCE_DIR");
  return dir == nullptr ? "." : dir;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int connectLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::pair<int, std::string> httpGet(int port, const std::string& path) {
  const int fd = connectLoopback(port);
  if (fd < 0) {
    return {0, ""};
  }
  const std::string req =
      "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return {0, ""};
  }
  std::string resp;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) {
    resp.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  int code = 0;
  if (resp.rfind("HTTP/1.", 0) == 0 && resp.size() > 12) {
    code = std::atoi(resp.c_str() + 9);
  }
  const auto body = resp.find("\r\n\r\n");
  return {code, body == std::string::npos ? "" : resp.substr(body + 4)};
}

}  // namespace mixer::testing
