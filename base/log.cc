#include "base/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "base/utf8.h"

namespace mixer {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::Info)};

}  // namespace

const char* logLevelName(LogLevel l) {
  switch (l) {
    case LogLevel::Debug:
      return "debug";
    case LogLevel::Info:
      return "info";
    case LogLevel::Warn:
      return "warn";
    case LogLevel::Error:
      return "error";
    case LogLevel::None:
      break;
  }
  return "none";
}

std::optional<LogLevel> parseLogLevel(std::string_view name) {
  for (auto l :
       {LogLevel::Debug, LogLevel::Info, LogLevel::Warn, LogLevel::Error, LogLevel::None}) {
    if (name == logLevelName(l)) {
      return l;
    }
  }
  return std::nullopt;
}

LogLevel logLevel() { return static_cast<LogLevel>(g_level.load(std::memory_order_relaxed)); }

void setLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }

bool logEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

std::string logSafe(std::string_view text) {
  std::string valid;
  if (!base::isValidUtf8(text)) {
    base::appendUtf8Sanitized(text, &valid);
    text = valid;
  }
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      const char escaped[] = {'\\', 'x', kHex[c >> 4], kHex[c & 0xf]};
      out.append(escaped, sizeof(escaped));
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

LogLine::~LogLine() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm;
  gmtime_r(&t, &tm);
  char ts[32];
  std::strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
  const std::string msg = logSafe(out_.str());
  // One fprintf per line keeps lines from different threads whole.
  std::fprintf(stderr, "%s.%03dZ\t%s\t%s\n", ts, static_cast<int>(ms), logLevelName(level_),
               msg.c_str());
}

}  // namespace mixer
