// Minimal leveled logging to stderr, one line per message. Thread-safe.
#pragma once

#include <atomic>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace mixer {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3, None = 4 };

std::optional<LogLevel> parseLogLevel(std::string_view name);
void setLogLevel(LogLevel level);
bool logEnabled(LogLevel level);
// The level in effect, and a level's name as parseLogLevel() reads it ("debug" ... "none").
LogLevel logLevel();
const char* logLevelName(LogLevel level);

// `text` made safe to write into a log line: each byte that is not well-formed UTF-8 becomes
// U+FFFD, and control characters (but tab) are written as \xNN, so that text from a client can
// neither corrupt the log's encoding nor start a line of its own.
std::string logSafe(std::string_view text);

// Collects one message and writes it, with time and level, when destroyed.
class LogLine {
 public:
  explicit LogLine(LogLevel level) : level_(level) {}
  ~LogLine();
  template <typename T>
  LogLine& operator<<(const T& v) {
    out_ << v;
    return *this;
  }

 private:
  LogLevel level_;
  std::ostringstream out_;
};

// True on the 1st, 2nd, 4th, 8th, ... call for one counter: for warnings that a client can cause
// on every request, so that logs show the problem without flooding.
inline bool logSampled(std::atomic<uint64_t>& counter) {
  const uint64_t n = counter.fetch_add(1, std::memory_order_relaxed) + 1;
  return (n & (n - 1)) == 0;
}

}  // namespace mixer

#define MIXER_LOG(level)                                \
  if (!::mixer::logEnabled(::mixer::LogLevel::level)) { \
  } else                                                \
    ::mixer::LogLine(::mixer::LogLevel::level)
