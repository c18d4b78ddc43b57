// stdio: writes logentry and metric instances as JSON lines (or text lines) to stdout, stderr or
// a file (Istio's `stdio` adapter). The request path only formats and appends to a buffer; a host
// background task writes the buffer out, and close() flushes what is left.
//
// Params (Istio names): log_stream STDOUT|STDERR|FILE|ROTATED_FILE, output_path, output_as_json
// (default true), output_level and metric_level INFO|WARNING|ERROR, severity_levels
// {name: level} (mapping logentry.severity), and for ROTATED_FILE max_megabytes_before_rotation
// (default 100), max_rotated_files (default 1000) and max_days_before_rotation (default 30; rotated
// files older than that are deleted). A rotated file is renamed <stem>-<UTC time>.<ext> beside
// the output file.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <arpa/inet.h>

#include "mixer/adapter_sdk/adapter.h"

namespace stdio_adapter {

using mixer::adapter_sdk::AdapterInfo;
using mixer::adapter_sdk::CallContext;
using mixer::adapter_sdk::Code;
using mixer::adapter_sdk::ErrorSink;
using mixer::adapter_sdk::Host;
using mixer::adapter_sdk::InstanceView;
using mixer::adapter_sdk::ReportCompletion;
using mixer::adapter_sdk::ReportResult;
using mixer::adapter_sdk::ValueView;

enum class Stream { kStdout = 0, kStderr = 1, kFile = 2, kRotatedFile = 3 };
enum Level { kInfo = 0, kWarning = 1, kError = 2 };

// Lines buffered beyond this are dropped (and counted) until the writer catches up.
constexpr size_t kMaxBufferedBytes = 8 << 20;
// How long appended lines may wait for the background write.
constexpr int64_t kFlushDelayNs = 2'000'000;

const char* levelName(int level) {
  switch (level) {
    case kWarning:
      return "warn";
    case kError:
      return "error";
    default:
      return "info";
  }
}

struct Rotation {
  int64_t max_bytes = 100LL << 20;
  int64_t max_files = 1000;
  int64_t max_days = 30;
};

struct Config {
  Stream stream = Stream::kStdout;
  std::string output_path;
  Rotation rotation;
  bool json = true;
  int output_level = kInfo;
  int metric_level = kInfo;
  std::map<std::string, int, std::less<>> severity_levels = {
      {"INFORMATIONAL", kInfo}, {"informational", kInfo}, {"INFO", kInfo},    {"info", kInfo},
      {"WARNING", kWarning},    {"warning", kWarning},    {"WARN", kWarning}, {"warn", kWarning},
      {"ERROR", kError},        {"error", kError},        {"ERR", kError},    {"err", kError},
      {"FATAL", kError},        {"fatal", kError}};
};

// An enum param given as a name ("STDOUT") or its number.
bool readEnum(ValueView value, const std::string& path, const std::vector<std::string>& names,
              ErrorSink& errors, int* out) {
  if (value.isNull()) {
    return true;
  }
  if (value.type() == MIXER_VALUE_INT64) {
    if (value.int64Value() < 0 || value.int64Value() >= static_cast<int64_t>(names.size())) {
      errors.add(path, "unknown value " + std::to_string(value.int64Value()));
      return false;
    }
    *out = static_cast<int>(value.int64Value());
    return true;
  }
  if (value.type() == MIXER_VALUE_STRING) {
    for (size_t i = 0; i < names.size(); ++i) {
      if (value.stringValue() == names[i]) {
        *out = static_cast<int>(i);
        return true;
      }
    }
  }
  std::string expected;
  for (const std::string& n : names) {
    expected += (expected.empty() ? "" : ", ") + n;
  }
  errors.add(path, "expected one of " + expected);
  return false;
}

Config readParams(ValueView params, ErrorSink& errors) {
  static const std::vector<std::string> kStreams = {"STDOUT", "STDERR", "FILE", "ROTATED_FILE"};
  static const std::vector<std::string> kLevels = {"INFO", "WARNING", "ERROR"};
  Config config;
  mixer::adapter_sdk::checkKnownKeys(
      params,
      {"log_stream", "severity_levels", "metric_level", "output_level", "output_as_json",
       "output_path", "max_megabytes_before_rotation", "max_days_before_rotation",
       "max_rotated_files"},
      "", errors);
  int stream = 0;
  readEnum(params.find("log_stream"), "log_stream", kStreams, errors, &stream);
  config.stream = static_cast<Stream>(stream);
  readEnum(params.find("output_level"), "output_level", kLevels, errors, &config.output_level);
  readEnum(params.find("metric_level"), "metric_level", kLevels, errors, &config.metric_level);
  ValueView json = params.find("output_as_json");
  if (!json.isNull()) {
    if (json.type() != MIXER_VALUE_BOOL) {
      errors.add("output_as_json", "expected true or false");
    }
    config.json = json.boolValue();
  }
  ValueView path = params.find("output_path");
  if (!path.isNull() && path.type() != MIXER_VALUE_STRING) {
    errors.add("output_path", "expected a string");
  }
  config.output_path = std::string(path.stringValue());
  if ((config.stream == Stream::kFile || config.stream == Stream::kRotatedFile) &&
      config.output_path.empty()) {
    errors.add("output_path",
               "need a valid output path when using a FILE or ROTATED_FILE log stream");
  }
  if ((config.stream == Stream::kStdout || config.stream == Stream::kStderr) &&
      !config.output_path.empty()) {
    errors.add("output_path", "cannot specify an output path with a STDOUT or STDERR log stream");
  }
  ValueView levels = params.find("severity_levels");
  if (!levels.isNull()) {
    if (!levels.isMap()) {
      errors.add("severity_levels", "expected a map of severity name to INFO, WARNING or ERROR");
    } else {
      for (size_t i = 0; i < levels.size(); ++i) {
        int level = kInfo;
        const std::string key(levels.keyAt(i));
        if (readEnum(levels.valueAt(i), mixer::adapter_sdk::joinPath("severity_levels", key),
                     kLevels, errors, &level)) {
          config.severity_levels[key] = level;
        }
      }
    }
  }
  int64_t megabytes = config.rotation.max_bytes >> 20;
  // Istio's default config says 100 * 1024 * 1024 "megabytes"; anything above 1 TiB is taken as 1
  // TiB rather than rejected, so such configs load.
  mixer::adapter_sdk::readInt(params.find("max_megabytes_before_rotation"),
                              "max_megabytes_before_rotation", 1, INT64_MAX, errors, &megabytes);
  config.rotation.max_bytes = std::min<int64_t>(megabytes, 1LL << 20) << 20;
  mixer::adapter_sdk::readInt(params.find("max_rotated_files"), "max_rotated_files", 0, INT32_MAX,
                              errors, &config.rotation.max_files);
  mixer::adapter_sdk::readInt(params.find("max_days_before_rotation"), "max_days_before_rotation",
                              0, 36500, errors, &config.rotation.max_days);
  return config;
}

// ---- formatting ----

using mixer::adapter_sdk::appendJsonString;
using mixer::adapter_sdk::appendTimestamp;  // RFC 3339 in UTC, as Go prints it
using mixer::adapter_sdk::formatDuration;   // Go's Duration.String(): "1.5s", "1h0m0s"

// Fixed-width UTC time for rotated file names, so that names sort by time:
// 2023-11-14T22-13-20.500000000.
std::string rotationStamp(int64_t unix_ns) {
  const time_t t = static_cast<time_t>(unix_ns / 1'000'000'000);
  struct tm tm_utc;
  gmtime_r(&t, &tm_utc);
  char buf[64];
  const size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H-%M-%S", &tm_utc);
  std::snprintf(buf + n, sizeof(buf) - n, ".%09lld",
                static_cast<long long>(unix_ns % 1'000'000'000));
  return buf;
}

std::string base64(std::string_view in) {
  static const char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {kChars[n >> 18], kChars[(n >> 12) & 63], kChars[(n >> 6) & 63], kChars[n & 63]};
  }
  if (i + 1 == in.size()) {
    const uint32_t n = uint8_t(in[i]) << 16;
    out += {kChars[n >> 18], kChars[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {kChars[n >> 18], kChars[(n >> 12) & 63], kChars[(n >> 6) & 63], '='};
  }
  return out;
}

// Puts the entries of `map` in key order into `order`, so lines are stable whatever the
// instance's order. Instances of one configuration repeat their keys, so the order `order` holds
// from the last map is tried first (n - 1 comparisons confirm it) before sorting again.
void sortEntries(ValueView map, std::vector<size_t>* order) {
  const size_t n = map.size();
  if (order->size() == n) {
    bool sorted = true;
    for (size_t i = 1; i < n && sorted; ++i) {
      sorted = map.keyAt((*order)[i - 1]) < map.keyAt((*order)[i]);
    }
    if (sorted) {
      return;
    }
  }
  order->resize(n);
  for (size_t i = 0; i < n; ++i) {
    (*order)[i] = i;
  }
  std::sort(order->begin(), order->end(),
            [&](size_t a, size_t b) { return map.keyAt(a) < map.keyAt(b); });
}

void appendJsonValue(ValueView v, std::string* out, size_t depth = 0);

// `depth` is the map's nesting level in the line: each level keeps its own key order per thread
// (a nested map is written while its parent's order is being walked).
void appendJsonFields(ValueView map, std::string* out, bool leading_comma, size_t depth = 0) {
  constexpr size_t kCachedDepths = 8;
  thread_local std::vector<size_t> cached[kCachedDepths];
  std::vector<size_t> deeper;  // deeper levels (rare) sort into their own
  std::vector<size_t>& order = depth < kCachedDepths ? cached[depth] : deeper;
  sortEntries(map, &order);
  bool first = !leading_comma;
  for (size_t i : order) {
    if (map.valueAt(i).isNull()) {
      continue;
    }
    if (!first) {
      out->push_back(',');
    }
    first = false;
    appendJsonString(map.keyAt(i), out);
    out->push_back(':');
    appendJsonValue(map.valueAt(i), out, depth + 1);
  }
}

void appendJsonValue(ValueView v, std::string* out, size_t depth) {
  switch (v.type()) {
    case MIXER_VALUE_STRING:
    case MIXER_VALUE_EMAIL_ADDRESS:
    case MIXER_VALUE_URI:
    case MIXER_VALUE_DNS_NAME:
      appendJsonString(v.stringValue(), out);
      break;
    case MIXER_VALUE_IP_ADDRESS:
      if (v.stringValue().size() == 4 || v.stringValue().size() == 16) {
        out->push_back('"');  // an address's text needs no escape
        mixer::adapter_sdk::appendIpAddress(v.stringValue(), out, /*mapped_as_v4=*/true);
        out->push_back('"');
      } else {
        appendJsonString(v.stringValue(), out);
      }
      break;
    case MIXER_VALUE_BYTES:
      appendJsonString(base64(v.stringValue()), out);
      break;
    case MIXER_VALUE_INT64: {
      char buf[24];
      out->append(buf, std::to_chars(buf, buf + sizeof(buf), v.int64Value()).ptr);
    } break;
    case MIXER_VALUE_DOUBLE: {
      const double d = v.doubleValue();
      if (!std::isfinite(d)) {
        appendJsonString(std::isnan(d) ? "NaN" : (d > 0 ? "+Inf" : "-Inf"), out);
      } else {
        char buf[32];
        auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);  // shortest round-trip form
        out->append(buf, ec == std::errc() ? end : buf);
      }
      break;
    }
    case MIXER_VALUE_BOOL:
      out->append(v.boolValue() ? "true" : "false");
      break;
    case MIXER_VALUE_TIMESTAMP:
      out->push_back('"');  // a timestamp needs no escape
      appendTimestamp(v.int64Value(), out);
      out->push_back('"');
      break;
    case MIXER_VALUE_DURATION:
      appendJsonString(formatDuration(v.int64Value()), out);
      break;
    case MIXER_VALUE_LIST:
      out->push_back('[');
      for (size_t i = 0; i < v.size(); ++i) {
        if (i > 0) {
          out->push_back(',');
        }
        appendJsonValue(v.at(i), out, depth + 1);
      }
      out->push_back(']');
      break;
    case MIXER_VALUE_MAP:
    case MIXER_VALUE_STRING_MAP:
      out->push_back('{');
      appendJsonFields(v, out, false, depth);
      out->push_back('}');
      break;
    default:
      out->append("null");
  }
}

// Appends one output line to `*out`: JSON {"level","time","instance",fields...} or text
// "<time>\t<level>\t<instance>\t{fields}" (zap's console layout).
void appendLine(const Config& config, int level, int64_t time_ns, std::string_view name,
                ValueView fields, ValueView extra_value, std::string* out) {
  std::string& line = *out;
  if (config.json) {
    line += "{\"level\":\"";
    line += levelName(level);
    line += "\",\"time\":";
    line.push_back('"');
    appendTimestamp(time_ns, &line);
    line.push_back('"');
    line += ",\"instance\":";
    appendJsonString(name, &line);
    if (!extra_value.isNull()) {
      line += ",\"value\":";
      appendJsonValue(extra_value, &line);
    }
    appendJsonFields(fields, &line, true);
    line += "}\n";
  } else {
    appendTimestamp(time_ns, &line);
    line += '\t';
    line += levelName(level);
    line += '\t';
    line += name;
    line += "\t{";
    bool comma = false;
    if (!extra_value.isNull()) {
      line += "\"value\":";
      appendJsonValue(extra_value, &line);
      comma = true;
    }
    appendJsonFields(fields, &line, comma);
    line += "}\n";
  }
}

// ---- output ----

// The buffered writer of one handler. Shared with posted flush tasks, so a flush that runs after
// close() is harmless. Thread-safe.
class Output {
 public:
  // `path` and `rotation` apply to ROTATED_FILE (rotate != false) only.
  Output(int fd, bool owns_fd, bool rotate, std::string path, Rotation rotation, Host host,
         Host::Counter dropped, Host::Counter write_errors)
      : fd_(fd),
        owns_fd_(owns_fd),
        rotate_(rotate),
        path_(std::move(path)),
        rotation_(rotation),
        host_(host),
        dropped_(dropped),
        write_errors_(write_errors) {
    struct stat st;
    if (rotate_ && ::fstat(fd_, &st) == 0) {
      file_bytes_ = st.st_size;
    }
  }
  ~Output() { close(); }

  // Appends lines; schedules a background flush when the buffer was empty. False when dropped.
  bool append(const std::string& lines, const std::shared_ptr<Output>& self) {
    bool write_now = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_ || buffer_.size() + lines.size() > kMaxBufferedBytes) {
        return false;
      }
      buffer_ += lines;
      if (!flush_pending_) {
        // A short delay gathers the lines of many reports into one write. Scheduled under mu_ so
        // that close() always sees (and cancels) the last timer.
        std::weak_ptr<Output> weak = self;
        timer_ = host_.schedule(kFlushDelayNs, [weak] {
          if (auto out = weak.lock()) {
            out->flush();
          }
        });
        flush_pending_ = timer_.id != 0;
        write_now = !flush_pending_;  // the host refused (shutting down): write now
      }
    }
    if (write_now) {
      flush();
    }
    return true;
  }

  void flush() {
    std::lock_guard<std::mutex> write_lock(write_mu_);
    std::string data;
    {
      std::lock_guard<std::mutex> lock(mu_);
      data.swap(buffer_);
      flush_pending_ = false;
    }
    writeAll(data);
  }

  void close() {
    Host::Timer timer;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) {
        return;
      }
      closed_ = true;
      timer = timer_;
      timer_ = Host::Timer{};
    }
    host_.cancel(timer);  // frees the pending task; the flush below writes what it would have
    flush();
    std::lock_guard<std::mutex> write_lock(write_mu_);
    if (owns_fd_ && fd_ >= 0) {
      ::fsync(fd_);
      ::close(fd_);
    }
    fd_ = -1;
  }

  void countDropped(double n) { dropped_.add(n); }

 private:
  void writeAll(const std::string& data) {
    if (!rotate_) {
      writeRange(data.data(), data.size());
      return;
    }
    // Write whole lines, rotating whenever the next chunk would overflow the current file; a
    // single line longer than the limit gets a file of its own.
    size_t start = 0;
    while (start < data.size() && fd_ >= 0) {
      const size_t room = file_bytes_ >= rotation_.max_bytes
                              ? 0
                              : static_cast<size_t>(rotation_.max_bytes - file_bytes_);
      size_t end = data.size();
      if (end - start > room) {
        const size_t last_newline =
            room == 0 ? std::string::npos : data.rfind('\n', start + room - 1);
        end = last_newline == std::string::npos || last_newline < start ? start : last_newline + 1;
      }
      if (end == start) {
        if (file_bytes_ > 0) {
          if (!rotateFile()) {
            end = data.size();  // rotation failed: keep appending to the current file
          } else {
            continue;
          }
        } else {
          const size_t newline = data.find('\n', start);
          end = newline == std::string::npos ? data.size() : newline + 1;
        }
      }
      if (!writeRange(data.data() + start, end - start)) {
        return;
      }
      start = end;
    }
  }

  bool writeRange(const char* data, size_t size) {
    size_t written = 0;
    while (written < size && fd_ >= 0) {
      const ssize_t n = ::write(fd_, data + written, size - written);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        write_errors_.add(1);
        host_.error(std::string("write failed: ") + std::strerror(errno) + "; " +
                    std::to_string(size - written) + " bytes lost");
        return false;
      }
      written += static_cast<size_t>(n);
      file_bytes_ += n;
    }
    return true;
  }

  // Renames the full file to <stem>-<UTC time>.<ext>, reopens the output path, and deletes the
  // oldest rotated files beyond max_rotated_files or older than max_days_before_rotation.
  // Called with write_mu_ held. False when the file could not be rotated.
  bool rotateFile() {
    namespace fs = std::filesystem;
    const fs::path path(path_);
    const std::string stamp = rotationStamp(host_.nowUnixNs());
    const std::string prefix = path.stem().string() + "-";
    const fs::path rotated = path.parent_path() / (prefix + stamp + path.extension().string());
    std::error_code ec;
    fs::rename(path, rotated, ec);
    if (ec) {
      write_errors_.add(1);
      host_.error("cannot rotate " + path_ + ": " + ec.message());
      return false;
    }
    const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      write_errors_.add(1);
      host_.error("cannot reopen " + path_ + " after rotation: " + std::strerror(errno));
      return false;  // keep writing to the renamed file
    }
    ::close(fd_);
    fd_ = fd;
    file_bytes_ = 0;

    std::vector<fs::path> backups;  // names sort by time: the stamp is fixed-width UTC
    const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind(prefix, 0) == 0 && entry.path().extension() == path.extension() &&
          name.size() > prefix.size() && name[prefix.size()] >= '0' && name[prefix.size()] <= '9') {
        backups.push_back(entry.path());
      }
    }
    std::sort(backups.begin(), backups.end());
    const auto too_old =
        fs::file_time_type::clock::now() - std::chrono::hours(24) * rotation_.max_days;
    for (size_t i = 0; i < backups.size(); ++i) {
      const bool beyond_count = backups.size() - i > static_cast<size_t>(rotation_.max_files);
      const bool expired =
          rotation_.max_days > 0 && fs::last_write_time(backups[i], ec) < too_old && !ec;
      if (beyond_count || expired) {
        fs::remove(backups[i], ec);
      }
    }
    return true;
  }

  std::mutex mu_;        // buffer_, flush_pending_, timer_, closed_
  std::mutex write_mu_;  // serializes writes, keeping lines whole and in order
  std::string buffer_;
  bool flush_pending_ = false;
  Host::Timer timer_;  // the pending flush
  bool closed_ = false;
  int fd_;
  bool owns_fd_;
  const bool rotate_;
  const std::string path_;
  const Rotation rotation_;
  int64_t file_bytes_ = 0;  // ROTATED_FILE: bytes in the current file
  Host host_;
  Host::Counter dropped_;
  Host::Counter write_errors_;
};

class StdioHandler : public mixer::adapter_sdk::Handler {
 public:
  StdioHandler(Config config, std::shared_ptr<Output> output, Host host)
      : config_(std::move(config)), output_(std::move(output)), host_(host) {}

  void report(const std::vector<InstanceView>& instances, const CallContext&,
              ReportCompletion done) override {
    thread_local std::string buffer;  // reused: a batch's lines are copied out by append()
    std::string& lines = buffer;
    lines.clear();
    size_t count = 0;
    for (const InstanceView& instance : instances) {
      if (instance.templateName() == "metric") {
        if (config_.metric_level < config_.output_level) {
          continue;
        }
        appendLine(config_, config_.metric_level, host_.nowUnixNs(), instance.name(),
                   instance.field("dimensions"), instance.field("value"), &lines);
      } else {  // logentry
        const int level = severityLevel(instance.field("severity").stringValue());
        if (level < config_.output_level) {
          continue;
        }
        ValueView timestamp = instance.field("timestamp");
        const int64_t time_ns =
            timestamp.type() == MIXER_VALUE_TIMESTAMP ? timestamp.int64Value() : host_.nowUnixNs();
        appendLine(config_, level, time_ns, instance.name(), instance.field("variables"),
                   ValueView(), &lines);
      }
      ++count;
    }
    if (count > 0 && !output_->append(lines, output_)) {
      output_->countDropped(static_cast<double>(count));
      done.respond(ReportResult{
          Code::kResourceExhausted,
          "stdio: output buffer full or closed; " + std::to_string(count) + " entries dropped"});
      return;
    }
    done.respond(ReportResult{});
  }

  void close() override { output_->close(); }

 private:
  int severityLevel(std::string_view severity) const {
    auto it = config_.severity_levels.find(severity);
    return it == config_.severity_levels.end() ? kInfo : it->second;
  }

  const Config config_;
  std::shared_ptr<Output> output_;
  Host host_;
};

class StdioAdapter : public mixer::adapter_sdk::Adapter {
 public:
  StdioAdapter()
      : dropped_(host().declareCounter("stdio_dropped_entries",
                                       "Log entries the stdio adapter dropped (buffer full).")),
        write_errors_(
            host().declareCounter("stdio_write_errors", "Failed writes of the stdio adapter.")) {}

  static AdapterInfo info() {
    return AdapterInfo{"stdio",
                       "1.0.0",
                       "Writes logs and metrics to a standard I/O stream or a file",
                       MIXER_KIND_REPORT,
                       {"logentry", "metric"}};
  }

  void validate(ValueView params, ErrorSink& errors) const override { readParams(params, errors); }

  std::unique_ptr<mixer::adapter_sdk::Handler> createHandler(const std::string& name,
                                                             ValueView params) override {
    ErrorSink ignored(nullptr);
    Config config = readParams(params, ignored);
    int fd = config.stream == Stream::kStderr ? STDERR_FILENO : STDOUT_FILENO;
    bool owns_fd = false;
    if (config.stream == Stream::kFile || config.stream == Stream::kRotatedFile) {
      fd = ::open(config.output_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
      if (fd < 0) {
        host().error("handler '" + name + "': cannot open " + config.output_path + ": " +
                     std::strerror(errno));
        return nullptr;
      }
      owns_fd = true;
    }
    auto output = std::make_shared<Output>(fd, owns_fd, config.stream == Stream::kRotatedFile,
                                           config.output_path, config.rotation, host(), dropped_,
                                           write_errors_);
    return std::make_unique<StdioHandler>(std::move(config), std::move(output), host());
  }

 private:
  Host::Counter dropped_;
  Host::Counter write_errors_;
};

}  // namespace stdio_adapter

MIXER_DEFINE_ADAPTER(stdio_adapter::StdioAdapter);
