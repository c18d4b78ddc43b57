// zipkin: Istio's `zipkin` adapter. `tracespan` instances become Zipkin v2 JSON spans, POSTed in
// batches to the collector's URL (e.g. http://zipkin:9411/api/v2/spans).
//
// Params (Istio names): url (required), sample_probability (0..1, default 1). Beyond Istio:
// batch_size (spans per POST, default 100), flush_interval (how long a span may wait for its
// batch, default 100ms), max_queued_spans (default 10000), max_retries (default 3),
// retry_backoff (first retry delay, doubled per retry, default 100ms), timeout (per POST,
// default 5s).
//
// The request path only converts spans to JSON and queues them; it never waits for the network.
// Sending runs on the host's executor: libcurl's multi interface is driven by host timers, so the
// adapter starts no thread. A full queue, or a batch that failed after its retries, counts its
// spans as dropped (mixer_adapter_zipkin_dropped_spans_total). close() sends what is queued,
// bounded by `timeout`.
#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include <arpa/inet.h>

#include "mixer/adapter_sdk/adapter.h"

namespace zipkin_adapter {

namespace sdk = mixer::adapter_sdk;
using sdk::AdapterInfo;
using sdk::CallContext;
using sdk::ErrorSink;
using sdk::Host;
using sdk::InstanceView;
using sdk::ReportCompletion;
using sdk::ReportResult;
using sdk::ValueView;

// While a POST is in flight, curl is polled this often.
constexpr int64_t kPumpIntervalNs = 2'000'000;

struct Config {
  std::string url;
  double sample_probability = 1.0;
  int64_t batch_size = 100;
  int64_t flush_interval_ns = 100'000'000;
  int64_t max_queued_spans = 10000;
  int64_t max_retries = 3;
  int64_t retry_backoff_ns = 100'000'000;
  int64_t timeout_ns = 5'000'000'000;
};

Config readParams(ValueView params, ErrorSink& errors) {
  Config c;
  sdk::checkKnownKeys(params,
                      {"url", "sample_probability", "batch_size", "flush_interval",
                       "max_queued_spans", "max_retries", "retry_backoff", "timeout"},
                      "", errors);
  ValueView url = params.find("url");
  c.url = std::string(url.stringValue());
  if (url.type() != MIXER_VALUE_STRING ||
      (c.url.rfind("http://", 0) != 0 && c.url.rfind("https://", 0) != 0)) {
    errors.add("url",
               "required: the collector's http:// or https:// URL, e.g. "
               "http://zipkin:9411/api/v2/spans");
  }
  ValueView p = params.find("sample_probability");
  if (!p.isNull()) {
    if (p.type() == MIXER_VALUE_DOUBLE) {
      c.sample_probability = p.doubleValue();
    } else if (p.type() == MIXER_VALUE_INT64) {
      c.sample_probability = static_cast<double>(p.int64Value());
    } else {
      errors.add("sample_probability", "expected a number between 0 and 1");
    }
    if (!(c.sample_probability >= 0 && c.sample_probability <= 1)) {
      errors.add("sample_probability", "must be between 0 and 1");
    }
  }
  sdk::readInt(params.find("batch_size"), "batch_size", 1, 100000, errors, &c.batch_size);
  sdk::readInt(params.find("max_queued_spans"), "max_queued_spans", 1, 10'000'000, errors,
               &c.max_queued_spans);
  sdk::readInt(params.find("max_retries"), "max_retries", 0, 100, errors, &c.max_retries);
  sdk::readDuration(params.find("flush_interval"), "flush_interval", errors, &c.flush_interval_ns);
  sdk::readDuration(params.find("retry_backoff"), "retry_backoff", errors, &c.retry_backoff_ns);
  sdk::readDuration(params.find("timeout"), "timeout", errors, &c.timeout_ns);
  if (c.timeout_ns < 1'000'000) {
    errors.add("timeout", "must be at least 1ms");
  }
  return c;
}

// ---- span conversion ----

using mixer::adapter_sdk::appendJsonString;

// Writes the lower-case hex of `width` digits (zero-padded on the left) into `out` (room for
// max_width) and returns its length, or 0 if `in` is not hex or too long. A 128-bit trace ID keeps
// its 32 digits.
size_t normalizeHex(std::string_view in, size_t min_width, size_t max_width, char* out) {
  if (in.empty() || in.size() > max_width) {
    return 0;
  }
  const size_t width = in.size() <= min_width ? min_width : max_width;
  const size_t pad = width - in.size();
  std::fill(out, out + pad, '0');
  char* p = out + pad;
  for (char c : in) {
    if (c >= 'A' && c <= 'F') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return 0;
    }
    *p++ = c;
  }
  return width;
}

// A tag value or an address as text: strings as they are, numbers in decimal, IP addresses in
// their usual notation.
std::string_view textOf(ValueView v, char (&buf)[INET6_ADDRSTRLEN], std::string* ip_text) {
  switch (v.type()) {
    case MIXER_VALUE_IP_ADDRESS:
      ip_text->clear();
      sdk::appendIpAddress(v.stringValue(), ip_text);
      return *ip_text;
    case MIXER_VALUE_INT64:
    case MIXER_VALUE_TIMESTAMP:
    case MIXER_VALUE_DURATION: {
      const auto r = std::to_chars(buf, buf + sizeof(buf), v.int64Value());
      return {buf, static_cast<size_t>(r.ptr - buf)};
    }
    case MIXER_VALUE_DOUBLE: {
      const int n = std::snprintf(buf, sizeof(buf), "%g", v.doubleValue());
      return {buf, n > 0 ? std::min(static_cast<size_t>(n), sizeof(buf) - 1) : 0};
    }
    case MIXER_VALUE_BOOL:
      return v.boolValue() ? "true" : "false";
    default:
      return v.stringValue();
  }
}

void appendDecimal(int64_t v, std::string* out) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, static_cast<size_t>(r.ptr - buf));
}

// Appends `label` and {"serviceName":..., "ipv4"|"ipv6":...}; nothing when neither is known.
void appendEndpoint(std::string_view label, ValueView name, ValueView ip, std::string* out) {
  const size_t start = out->size();
  out->append(label);
  out->push_back('{');
  const size_t open = out->size();
  const std::string_view service = name.stringValue();
  if (!service.empty()) {
    out->append("\"serviceName\":");
    if (std::any_of(service.begin(), service.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
      std::string lower(service);
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      appendJsonString(lower, out);
    } else {
      appendJsonString(service, out);
    }
  }
  const std::string_view raw = ip.stringValue();
  if (ip.type() == MIXER_VALUE_IP_ADDRESS && (raw.size() == 4 || raw.size() == 16)) {
    // The formatted address is valid in its family and needs no JSON escape.
    out->append(out->size() == open ? "\"" : ",\"");
    out->append(raw.size() == 4 ? "ipv4\":\"" : "ipv6\":\"");
    sdk::appendIpAddress(raw, out);
    out->push_back('"');
  } else {
    char buf[INET6_ADDRSTRLEN];
    std::string ip_text;
    const std::string address(textOf(ip, buf, &ip_text));
    in6_addr probe6;
    in_addr probe4;
    const char* field = nullptr;
    if (!address.empty() && inet_pton(AF_INET, address.c_str(), &probe4) == 1) {
      field = "ipv4";
    } else if (!address.empty() && inet_pton(AF_INET6, address.c_str(), &probe6) == 1) {
      field = "ipv6";
    }
    if (field != nullptr) {
      out->append(out->size() == open ? "\"" : ",\"");
      out->append(field);
      out->append("\":");
      appendJsonString(address, out);
    }
  }
  if (out->size() == open) {
    out->resize(start);
    return;
  }
  out->push_back('}');
}

// The lower 64 bits of a (normalized) trace ID, for a sampling decision shared by every span of
// the trace.
uint64_t traceBits(std::string_view trace_id) {
  uint64_t bits = 0;
  for (char c : trace_id.substr(trace_id.size() - 16)) {
    bits = bits << 4 | static_cast<uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
  }
  return bits;
}

bool sampled(std::string_view trace_id, double probability) {
  if (probability >= 1) {
    return true;
  }
  if (probability <= 0) {
    return false;
  }
  return static_cast<double>(traceBits(trace_id) >> 11) * 0x1p-53 < probability;
}

void randomSpanId(char (&out)[17]) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  std::snprintf(out, sizeof(out), "%016llx", static_cast<unsigned long long>(rng() | 1));
}

enum class Conversion { kOk, kNotSampled, kInvalid };

// Converts one tracespan instance (Istio 1.x template fields) to a Zipkin v2 span.
// Where each tracespan field was found last (tracespan instances of one configuration share a
// layout), so a span's fields cost a comparison each instead of a scan.
struct SpanFieldHints {
  sdk::FieldHint trace_id, span_id, parent_span_id, client_span, rewrite_client_span_id, start_time,
      end_time, span_name, source_name, source_ip, destination_name, destination_ip, span_tags,
      http_status_code;
};

Conversion toZipkin(const InstanceView& span, double probability, std::string* out,
                    std::string* why) {
  static SpanFieldHints hints;
  const ValueView fields = span.fields();
  auto field = [&fields](const sdk::FieldHint& hint, std::string_view name) {
    return hint.find(fields, name);
  };
  char trace_buf[32];
  char id_buf[17];
  char parent_buf[17];
  const std::string_view trace_id(
      trace_buf, normalizeHex(field(hints.trace_id, "trace_id").stringValue(), 16, 32, trace_buf));
  std::string_view id(id_buf,
                      normalizeHex(field(hints.span_id, "span_id").stringValue(), 16, 16, id_buf));
  std::string_view parent(
      parent_buf, normalizeHex(field(hints.parent_span_id, "parent_span_id").stringValue(), 16, 16,
                               parent_buf));
  if (trace_id.empty() || id.empty()) {
    *why = "traceId and spanId must be 1-32 and 1-16 hex digits";
    return Conversion::kInvalid;
  }
  if (!sampled(trace_id, probability)) {
    return Conversion::kNotSampled;
  }
  const bool client = field(hints.client_span, "client_span").boolValue();
  char random_id[17];
  if (client && field(hints.rewrite_client_span_id, "rewrite_client_span_id").boolValue()) {
    parent = id;  // the client span gets its own ID, as the child of the proxy's span
    randomSpanId(random_id);
    id = std::string_view(random_id, 16);
  }
  const int64_t start_ns = field(hints.start_time, "start_time").int64Value();
  const int64_t end_ns = field(hints.end_time, "end_time").int64Value();

  out->append("{\"traceId\":\"");
  out->append(trace_id);
  out->append("\",\"id\":\"");
  out->append(id);
  out->push_back('"');
  if (!parent.empty() && parent != "0000000000000000") {
    out->append(",\"parentId\":\"");
    out->append(parent);
    out->push_back('"');
  }
  out->append(client ? ",\"kind\":\"CLIENT\"" : ",\"kind\":\"SERVER\"");
  out->append(",\"name\":");
  appendJsonString(field(hints.span_name, "span_name").stringValue(), out);
  if (start_ns > 0) {
    out->append(",\"timestamp\":");
    appendDecimal(start_ns / 1000, out);
    // Zipkin: durations under 1µs are rounded up to 1.
    out->append(",\"duration\":");
    appendDecimal(std::max<int64_t>(1, (end_ns - start_ns + 999) / 1000), out);
  }
  const ValueView source_name = field(hints.source_name, "source_name");
  const ValueView source_ip = field(hints.source_ip, "source_ip");
  const ValueView destination_name = field(hints.destination_name, "destination_name");
  const ValueView destination_ip = field(hints.destination_ip, "destination_ip");
  appendEndpoint(",\"localEndpoint\":", client ? source_name : destination_name,
                 client ? source_ip : destination_ip, out);
  appendEndpoint(",\"remoteEndpoint\":", client ? destination_name : source_name,
                 client ? destination_ip : source_ip, out);
  const size_t tags_start = out->size();
  out->append(",\"tags\":{");
  const size_t tags_open = out->size();
  ValueView span_tags = field(hints.span_tags, "span_tags");
  char buf[INET6_ADDRSTRLEN];
  std::string ip_text;
  for (size_t i = 0; i < span_tags.size(); ++i) {
    if (span_tags.valueAt(i).isNull()) {
      continue;
    }
    if (out->size() != tags_open) {
      out->push_back(',');
    }
    appendJsonString(span_tags.keyAt(i), out);
    out->push_back(':');
    appendJsonString(textOf(span_tags.valueAt(i), buf, &ip_text), out);
  }
  const int64_t status = field(hints.http_status_code, "http_status_code").int64Value();
  if (status != 0 && !span_tags.contains("http.status_code")) {
    if (out->size() != tags_open) {
      out->push_back(',');
    }
    out->append("\"http.status_code\":\"");
    appendDecimal(status, out);
    out->push_back('"');
    if (status >= 500 && !span_tags.contains("error")) {
      out->append(",\"error\":\"");
      appendDecimal(status, out);
      out->push_back('"');
    }
  }
  if (out->size() == tags_open) {
    out->resize(tags_start);
  } else {
    out->push_back('}');
  }
  out->push_back('}');
  return Conversion::kOk;
}

// ---- sender ----

struct Counters {
  Host::Counter sent;
  Host::Counter dropped;
  Host::Counter invalid;
  Host::Counter not_sampled;
};

// The queue and the one POST in flight of a handler. Shared with host tasks through weak
// references, so a task that runs after close() finds nothing to do. Thread-safe.
class Sender : public std::enable_shared_from_this<Sender> {
 public:
  Sender(Config config, Host host, Counters counters)
      : config_(std::move(config)), host_(host), counters_(counters) {
    multi_ = curl_multi_init();
  }
  ~Sender() {
    if (easy_ != nullptr) {
      curl_multi_remove_handle(multi_, easy_);
      curl_easy_cleanup(easy_);
    }
    curl_slist_free_all(headers_);
    curl_multi_cleanup(multi_);
  }

  // Queues spans; false (and counted as dropped) for those that do not fit.
  size_t enqueue(std::vector<std::string> spans) {
    std::lock_guard<std::mutex> lock(mu_);
    size_t dropped = 0;
    for (std::string& s : spans) {
      if (closed_ || static_cast<int64_t>(queue_.size()) >= config_.max_queued_spans) {
        ++dropped;
        continue;
      }
      queue_.push_back(std::move(s));
    }
    if (dropped > 0) {
      counters_.dropped.add(static_cast<double>(dropped));
    }
    if (!closed_ && easy_ == nullptr && !retry_pending_) {
      if (static_cast<int64_t>(queue_.size()) >= config_.batch_size) {
        armLocked(0);
      } else if (!queue_.empty() && timer_.id == 0) {
        armLocked(config_.flush_interval_ns);
      }
    }
    return dropped;
  }

  // Sends what is queued (one attempt per batch, within `timeout` in all); what cannot be sent is
  // counted as dropped.
  void close() {
    std::unique_lock<std::mutex> lock(mu_);
    if (closed_) {
      return;
    }
    closed_ = true;
    Host::Timer timer = timer_;
    timer_ = Host::Timer{};
    lock.unlock();
    host_.cancel(timer);
    lock.lock();
    const int64_t deadline = host_.monotonicNs() + config_.timeout_ns;
    while (true) {
      if (easy_ == nullptr) {
        if (queue_.empty() && body_.empty()) {
          break;
        }
        if (!startBatchLocked()) {
          break;
        }
      }
      int running = 0;
      curl_multi_perform(multi_, &running);
      if (finishLocked(/*allow_retry=*/false)) {
        continue;
      }
      if (host_.monotonicNs() > deadline) {
        break;
      }
      curl_multi_poll(multi_, nullptr, 0, 10, nullptr);
    }
    const size_t lost = batch_count_ + queue_.size();
    if (lost > 0) {
      counters_.dropped.add(static_cast<double>(lost));
      host_.warning(std::to_string(lost) + " spans not sent at shutdown");
    }
    queue_.clear();
    batch_count_ = 0;
  }

 private:
  // Schedules pump() after `delay_ns`, in place of the timer already armed: one timer at a time,
  // the one close() cancels (a timer left behind would outlive the handler in the host's queue,
  // holding its task). Called with mu_ held.
  void armLocked(int64_t delay_ns) {
    if (timer_.id != 0) {
      host_.cancel(timer_);  // false when it is running now: its pump() is then stale
    }
    std::weak_ptr<Sender> weak = weak_from_this();
    const uint64_t generation = ++timer_generation_;
    timer_ = host_.schedule(delay_ns, [weak, generation] {
      if (auto self = weak.lock()) {
        self->pump(generation);
      }
    });
  }

  void pump(uint64_t generation) {
    std::lock_guard<std::mutex> lock(mu_);
    if (generation != timer_generation_) {
      return;  // a newer timer replaced this one and will do the work
    }
    timer_ = Host::Timer{};
    retry_pending_ = false;
    if (closed_) {
      return;
    }
    if (easy_ == nullptr && (!body_.empty() || !queue_.empty()) && !startBatchLocked()) {
      return;
    }
    if (easy_ == nullptr) {
      return;
    }
    int running = 0;
    curl_multi_perform(multi_, &running);
    finishLocked(/*allow_retry=*/true);
    if (easy_ != nullptr) {
      armLocked(kPumpIntervalNs);
    } else if (!retry_pending_ && !queue_.empty()) {
      armLocked(static_cast<int64_t>(queue_.size()) >= config_.batch_size
                    ? 0
                    : config_.flush_interval_ns);
    }
  }

  // Takes the next batch off the queue (unless a batch awaits its retry) and starts its POST.
  bool startBatchLocked() {
    if (body_.empty()) {
      const size_t n = std::min<size_t>(queue_.size(), static_cast<size_t>(config_.batch_size));
      body_ = "[";
      for (size_t i = 0; i < n; ++i) {
        body_ += i == 0 ? "" : ",";
        body_ += queue_.front();
        queue_.pop_front();
      }
      body_ += "]";
      batch_count_ = n;
      attempts_ = 0;
    }
    easy_ = curl_easy_init();
    if (easy_ == nullptr) {
      return false;
    }
    if (headers_ == nullptr) {
      headers_ = curl_slist_append(nullptr, "Content-Type: application/json");
      headers_ = curl_slist_append(headers_, "Expect:");  // no 100-continue round trip
    }
    curl_easy_setopt(easy_, CURLOPT_URL, config_.url.c_str());
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body_.data());
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_.size()));
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.timeout_ns / 1'000'000));
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &discard);
    curl_multi_add_handle(multi_, easy_);
    ++attempts_;
    return true;
  }

  static size_t discard(char*, size_t size, size_t n, void*) { return size * n; }

  // Handles a finished POST. Returns true when the in-flight POST finished.
  bool finishLocked(bool allow_retry) {
    int left = 0;
    CURLMsg* msg = nullptr;
    bool finished = false;
    while ((msg = curl_multi_info_read(multi_, &left)) != nullptr) {
      if (msg->msg != CURLMSG_DONE || msg->easy_handle != easy_) {
        continue;
      }
      finished = true;
      long code = 0;
      curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &code);
      const CURLcode result = msg->data.result;
      curl_multi_remove_handle(multi_, easy_);
      curl_easy_cleanup(easy_);
      easy_ = nullptr;
      if (result == CURLE_OK && code >= 200 && code < 300) {
        counters_.sent.add(static_cast<double>(batch_count_));
        body_.clear();
        batch_count_ = 0;
        continue;
      }
      const std::string error =
          result != CURLE_OK ? curl_easy_strerror(result) : "HTTP status " + std::to_string(code);
      if (allow_retry && attempts_ <= config_.max_retries) {
        const int64_t delay = config_.retry_backoff_ns << std::min<int64_t>(attempts_ - 1, 20);
        retry_pending_ = true;
        armLocked(delay);
        continue;
      }
      counters_.dropped.add(static_cast<double>(batch_count_));
      host_.warning("dropped " + std::to_string(batch_count_) + " spans after " +
                    std::to_string(attempts_) + " attempts to " + config_.url + ": " + error);
      body_.clear();
      batch_count_ = 0;
    }
    return finished;
  }

  const Config config_;
  Host host_;
  Counters counters_;
  std::mutex mu_;
  std::deque<std::string> queue_;
  bool closed_ = false;
  Host::Timer timer_;
  uint64_t timer_generation_ = 0;  // of the timer in timer_
  bool retry_pending_ = false;
  CURLM* multi_ = nullptr;
  CURL* easy_ = nullptr;  // the POST in flight
  curl_slist* headers_ = nullptr;
  std::string body_;  // the batch in flight or awaiting its retry
  size_t batch_count_ = 0;
  int64_t attempts_ = 0;
};

class ZipkinHandler : public sdk::Handler {
 public:
  ZipkinHandler(const Config& config, Host host, Counters counters)
      : probability_(config.sample_probability),
        host_(host),
        counters_(counters),
        sender_(std::make_shared<Sender>(config, host, counters)) {}
  ~ZipkinHandler() override { sender_->close(); }

  void report(const std::vector<InstanceView>& instances, const CallContext&,
              ReportCompletion done) override {
    std::vector<std::string> spans;
    spans.reserve(instances.size());
    size_t invalid = 0, not_sampled = 0;
    std::string why;
    for (const InstanceView& instance : instances) {
      std::string json;
      switch (toZipkin(instance, probability_, &json, &why)) {
        case Conversion::kOk:
          spans.push_back(std::move(json));
          break;
        case Conversion::kNotSampled:
          ++not_sampled;
          break;
        case Conversion::kInvalid:
          ++invalid;
          break;
      }
    }
    if (invalid > 0) {
      counters_.invalid.add(static_cast<double>(invalid));
    }
    if (not_sampled > 0) {
      counters_.not_sampled.add(static_cast<double>(not_sampled));
    }
    if (!spans.empty()) {
      sender_->enqueue(std::move(spans));
    }
    // Spans are telemetry: a full queue or an invalid span is counted, never an error for the
    // proxy's report.
    done.respond(ReportResult{});
  }

  void close() override { sender_->close(); }

 private:
  const double probability_;
  Host host_;
  Counters counters_;
  std::shared_ptr<Sender> sender_;
};

class ZipkinAdapter : public sdk::Adapter {
 public:
  ZipkinAdapter() { curl_global_init(CURL_GLOBAL_DEFAULT); }

  static AdapterInfo info() {
    return AdapterInfo{"zipkin",
                       "1.0.0",
                       "Sends tracespan instances to a Zipkin collector",
                       MIXER_KIND_REPORT,
                       {"tracespan"}};
  }

  void validate(ValueView params, ErrorSink& errors) const override { readParams(params, errors); }

  std::unique_ptr<sdk::Handler> createHandler(const std::string&, ValueView params) override {
    ErrorSink ignored(nullptr);
    // Declared per handler (the host returns the same counter for the same name), so the
    // counters always belong to the services table this handler uses.
    Counters counters;
    counters.sent = host().declareCounter("zipkin_sent_spans",
                                          "Spans the zipkin adapter delivered to the collector.");
    counters.dropped = host().declareCounter(
        "zipkin_dropped_spans",
        "Spans the zipkin adapter dropped: queue full, or not delivered after its retries.");
    counters.invalid = host().declareCounter(
        "zipkin_invalid_spans", "tracespan instances without a valid hex traceId or spanId.");
    counters.not_sampled = host().declareCounter(
        "zipkin_unsampled_spans", "tracespan instances left out by sample_probability.");
    return std::make_unique<ZipkinHandler>(readParams(params, ignored), host(), counters);
  }
};

}  // namespace zipkin_adapter

MIXER_DEFINE_ADAPTER(zipkin_adapter::ZipkinAdapter);
