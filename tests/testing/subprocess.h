// Subprocess: starts a real program for an integration test, captures its output and stops it by
// PID. Output goes to a temporary file so that a chatty child never blocks on a full pipe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace mixer::testing {

// The groups of one regex match, copied out of the text they matched (group 0 is the whole
// match): `(*m)[1].str()` as with std::smatch, without referring into a buffer that is reused.
class Match {
 public:
  struct Group {
    std::string text;
    const std::string& str() const { return text; }
  };
  explicit Match(const std::smatch& m) {
    for (const auto& g : m) groups_.push_back({g.str()});
  }
  const Group& operator[](size_t i) const { return groups_.at(i); }
  size_t size() const { return groups_.size(); }

 private:
  std::vector<Group> groups_;
};

class Subprocess {
 public:
  Subprocess() = default;
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // Starts argv[0] (a path) with argv; stdout and stderr both go to the capture file.
  bool start(const std::vector<std::string>& argv);

  // Waits until the output matches `pattern` (ECMAScript regex) and returns the first match's
  // groups (group 0 is the whole match), or nullopt on timeout or exit.
  std::optional<Match> waitFor(const std::string& pattern,
                               std::chrono::milliseconds timeout = std::chrono::seconds(20));

  // Everything the process printed so far.
  std::string output() const;

  // Sends `signal` and waits up to `timeout` for exit; SIGKILL after that. Returns the exit status
  // as from waitpid (WIFEXITED etc.), or -1 if not running.
  int stop(int signal, std::chrono::milliseconds timeout = std::chrono::seconds(15));

  pid_t pid() const { return pid_; }
  bool running();

 private:
  pid_t pid_ = -1;
  std::string capture_path_;
  int status_ = -1;
};

// Runs a command to completion; returns {exit code (or -1), combined output}.
std::pair<int, std::string> runCommand(
    const std::vector<std::string>& argv,
    std::chrono::milliseconds timeout = std::chrono::seconds(60));

// The directory of the build's executables (MIXER_BUILD_DIR/bin).
std::string binDir();

// The source tree (MIXER_SOURCE_DIR, which ctest sets for every test; "." without it).
std::string sourceDir();

// The whole content of a file ("" when it cannot be read).
std::string readFile(const std::string& path);

// A loopback TCP port that nothing listens on (bound, then released), for programs that cannot
// bind port 0 and report the port they got (etcd, nginx, redis-server).
int unusedPort();

// A TCP connection to 127.0.0.1:port (close-on-exec); -1 when nothing accepts it.
int connectLoopback(int port);

// GET http://127.0.0.1:port/path; returns {status code, body}, {0, ""} on connection failure.
std::pair<int, std::string> httpGet(int port, const std::string& path);

}  // namespace mixer::testing
