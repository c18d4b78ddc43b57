// listchecker: Istio's `list` adapter (listentry template): is the instance's `value` in a list?
// Params: provider_url, refresh_interval (60s), ttl (300s), caching_interval, caching_use_count,
// overrides, entry_type (STRINGS | CASE_INSENSITIVE_STRINGS | IP_ADDRESSES | REGEX), blacklist,
// and ca_file (this project's): the PEM CA bundle that verifies an https:// provider, else the
// file named by the environment variable MIXER_LISTCHECKER_CA_FILE when mixs starts the handler,
// else libcurl's default trust store.
//
// The provider list is fetched with libcurl on a dedicated thread per handler, started by the
// handler and joined in close(): the SDK's executor is for short tasks and offers no I/O, and a
// fetch blocks for up to its timeout. Checks never wait for a fetch: they read the current list
// (an immutable ListMatcher swapped atomically). An unchanged body is not re-parsed. On fetch
// errors the last good list keeps serving until `ttl` has passed since the last successful fetch;
// then it is purged (Istio's behaviour: the list is empty, so a whitelist denies all but the
// overrides, and a blacklist denies only the overrides). Errors are logged and counted on
// /metrics: mixer_adapter_listchecker_{fetches,fetch_errors,list_updates,list_purges}_total.
#include <arpa/inet.h>
#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "list_matcher.h"
#include "mixer/adapter_sdk/adapter.h"

namespace listchecker {

namespace sdk = mixer::adapter_sdk;

constexpr int64_t kSecondNs = 1'000'000'000;

struct Config {
  std::string provider_url;
  int64_t refresh_ns = 60 * kSecondNs;
  int64_t ttl_ns = 300 * kSecondNs;
  int64_t caching_interval_ns = 0;
  int64_t caching_use_count = 0;
  std::vector<std::string> overrides;
  EntryType entry_type = EntryType::kStrings;
  bool blacklist = false;
  std::string ca_file;
};

Config readConfig(sdk::ValueView params, sdk::ErrorSink& errors) {
  Config c;
  sdk::checkKnownKeys(params,
                      {"provider_url", "refresh_interval", "ttl", "caching_interval",
                       "caching_use_count", "overrides", "entry_type", "blacklist", "ca_file"},
                      "", errors);
  sdk::ValueView url = params.find("provider_url");
  if (!url.isNull() && url.type() != MIXER_VALUE_STRING) {
    errors.add("provider_url", "expected a string");
  }
  c.provider_url = std::string(url.stringValue());
  sdk::ValueView ca_file = params.find("ca_file");
  if (!ca_file.isNull() && ca_file.type() != MIXER_VALUE_STRING) {
    errors.add("ca_file", "expected a string");
  }
  c.ca_file = std::string(ca_file.stringValue());
  if (!c.ca_file.empty() && !std::ifstream(c.ca_file)) {
    errors.add("ca_file", "cannot read '" + c.ca_file + "'");
  }
  sdk::readDuration(params.find("refresh_interval"), "refresh_interval", errors, &c.refresh_ns);
  sdk::readDuration(params.find("ttl"), "ttl", errors, &c.ttl_ns);
  sdk::readDuration(params.find("caching_interval"), "caching_interval", errors,
                    &c.caching_interval_ns);
  sdk::readInt(params.find("caching_use_count"), "caching_use_count", 0, INT32_MAX, errors,
               &c.caching_use_count);
  if (!c.provider_url.empty()) {
    if (c.provider_url.rfind("http://", 0) != 0 && c.provider_url.rfind("https://", 0) != 0) {
      errors.add("provider_url", "expected an http:// or https:// URL");
    }
    if (c.refresh_ns < kSecondNs) {
      errors.add("refresh_interval", "must be at least 1s");
    }
    if (c.ttl_ns <= c.refresh_ns) {
      errors.add("ttl", "must be longer than refresh_interval");
    }
  }
  sdk::ValueView type = params.find("entry_type");
  if (!type.isNull()) {
    std::string_view t = type.stringValue();
    int64_t n = type.type() == MIXER_VALUE_INT64 ? type.int64Value() : -1;
    if (t == "STRINGS" || n == 0) {
      c.entry_type = EntryType::kStrings;
    } else if (t == "CASE_INSENSITIVE_STRINGS" || n == 1) {
      c.entry_type = EntryType::kCaseInsensitiveStrings;
    } else if (t == "IP_ADDRESSES" || n == 2) {
      c.entry_type = EntryType::kIpAddresses;
    } else if (t == "REGEX" || n == 3) {
      c.entry_type = EntryType::kRegex;
    } else {
      errors.add("entry_type", "expected STRINGS, CASE_INSENSITIVE_STRINGS, IP_ADDRESSES or REGEX");
    }
  }
  sdk::ValueView blacklist = params.find("blacklist");
  if (!blacklist.isNull() && blacklist.type() != MIXER_VALUE_BOOL) {
    errors.add("blacklist", "expected true or false");
  }
  c.blacklist = blacklist.boolValue();
  sdk::ValueView overrides = params.find("overrides");
  if (!overrides.isNull() && !overrides.isList()) {
    errors.add("overrides", "expected a list of strings");
  }
  for (size_t i = 0; i < overrides.size(); ++i) {
    if (overrides.at(i).type() != MIXER_VALUE_STRING) {
      errors.add(sdk::indexPath("overrides", i), "expected a string");
      continue;
    }
    c.overrides.emplace_back(overrides.at(i).stringValue());
  }
  std::vector<std::string> entry_errors;
  ListMatcher::build(c.entry_type, c.overrides, &entry_errors);
  for (const std::string& e : entry_errors) {
    errors.add("overrides", e);
  }
  if (c.provider_url.empty() && c.overrides.empty()) {
    errors.add("", "one of provider_url or overrides is required");
  }
  return c;
}

// Thread-safe: checks read immutable matchers; the fetch thread swaps the provider's.
class ListHandler : public sdk::Handler {
 public:
  ListHandler(Config config, sdk::Host host)
      : config_(std::move(config)),
        host_(host),
        overrides_(ListMatcher::build(config_.entry_type, config_.overrides, nullptr)),
        fetches_(host.declareCounter("listchecker_fetches", "List provider fetches")),
        fetch_errors_(
            host.declareCounter("listchecker_fetch_errors", "Failed list provider fetches")),
        updates_(host.declareCounter("listchecker_list_updates",
                                     "Provider lists parsed (changed bodies)")),
        purges_(host.declareCounter("listchecker_list_purges",
                                    "Provider lists purged after ttl without a good fetch")) {
    if (!config_.provider_url.empty()) {
      fetcher_ = std::thread([this] { fetchLoop(); });
    }
  }
  ~ListHandler() override { close(); }

  void check(const sdk::InstanceView& instance, const sdk::CallContext&,
             sdk::CheckCompletion done) override {
    sdk::ValueView value = instance.field("value");
    bool raw = value.type() == MIXER_VALUE_IP_ADDRESS;
    std::string_view v = value.stringValue();
    std::string text;
    if (raw && config_.entry_type != EntryType::kIpAddresses) {
      text = displayValue(v, true);  // an IP_ADDRESS value against a string list: its text form
      v = text;
      raw = false;
    }
    std::shared_ptr<const ListMatcher> provider = std::atomic_load(&provider_);
    bool hit = overrides_->contains(v, raw) || (provider != nullptr && provider->contains(v, raw));
    sdk::CheckResult result;
    result.valid_duration_ns = config_.caching_interval_ns;
    result.valid_use_count = static_cast<int32_t>(config_.caching_use_count);
    if (hit == config_.blacklist) {
      result.code = sdk::Code::kPermissionDenied;
      result.message =
          displayValue(v, raw) + (config_.blacklist ? " is blacklisted" : " is not whitelisted");
    }
    done.respond(result);
  }

  void close() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    stopping_flag_ = true;
    cv_.notify_all();
    if (fetcher_.joinable()) {
      fetcher_.join();
    }
  }

 private:
  static std::string displayValue(std::string_view v, bool raw) {
    if (!raw) {
      return std::string(v);
    }
    std::array<uint8_t, 16> bytes;
    bool is_v4 = false;
    char text[64] = "";
    if (parseAddress(v, true, &bytes, &is_v4)) {
      inet_ntop(is_v4 ? AF_INET : AF_INET6, is_v4 ? bytes.data() + 12 : bytes.data(), text,
                sizeof(text));
    }
    return text;
  }

  static size_t onData(char* data, size_t size, size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
  }
  static int onProgress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<ListHandler*>(self)->stopping_flag_.load() ? 1 : 0;
  }

  // One GET; false (with `error`) on a transport error or a non-2xx status.
  bool fetch(CURL* curl, std::string* body, std::string* error) {
    body->clear();
    curl_easy_setopt(curl, CURLOPT_URL, config_.provider_url.c_str());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &ListHandler::onData);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(std::min<int64_t>(config_.refresh_ns / 1'000'000, 10'000)));
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &ListHandler::onProgress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, this);
    if (!config_.ca_file.empty()) {
      curl_easy_setopt(curl, CURLOPT_CAINFO, config_.ca_file.c_str());
    }
    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK) {
      *error = curl_easy_strerror(rc);
      return false;
    }
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
      *error = "HTTP status " + std::to_string(status);
      return false;
    }
    return true;
  }

  void fetchLoop() {
    CURL* curl = curl_easy_init();
    std::string last_body;
    bool have_body = false;
    int64_t last_good_ns = host_.monotonicNs();
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      lock.unlock();
      std::string body;
      std::string error;
      fetches_.add();
      bool ok = curl != nullptr && fetch(curl, &body, &error);
      int64_t now = host_.monotonicNs();
      if (ok) {
        last_good_ns = now;
        if (!have_body || body != last_body) {
          std::vector<std::string> errors;
          std::shared_ptr<const ListMatcher> list =
              ListMatcher::build(config_.entry_type, parseListBody(body), &errors);
          for (const std::string& e : errors) {
            host_.warning("list from " + config_.provider_url + ": skipping " + e);
          }
          std::atomic_store(&provider_, list);
          updates_.add();
          last_body = std::move(body);
          have_body = true;
        }
      } else {
        fetch_errors_.add();
        host_.error("fetching list from " + config_.provider_url + ": " +
                    (curl == nullptr ? std::string("curl_easy_init failed") : error));
        if (have_body && now - last_good_ns >= config_.ttl_ns) {
          std::atomic_store(&provider_, std::shared_ptr<const ListMatcher>());
          have_body = false;
          last_body.clear();
          purges_.add();
          host_.error("list from " + config_.provider_url + " purged: no good fetch for ttl");
        }
      }
      lock.lock();
      cv_.wait_for(lock, std::chrono::nanoseconds(config_.refresh_ns),
                   [this] { return stopping_; });
    }
    if (curl != nullptr) {
      curl_easy_cleanup(curl);
    }
  }

  const Config config_;
  sdk::Host host_;
  const std::unique_ptr<const ListMatcher> overrides_;
  std::shared_ptr<const ListMatcher> provider_;  // atomic_load/atomic_store only
  sdk::Host::Counter fetches_;
  sdk::Host::Counter fetch_errors_;
  sdk::Host::Counter updates_;
  sdk::Host::Counter purges_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                   // guarded by mu_
  std::atomic<bool> stopping_flag_{false};  // read by curl's progress callback
  std::thread fetcher_;
};

class ListAdapter : public sdk::Adapter {
 public:
  ListAdapter() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  static sdk::AdapterInfo info() {
    return sdk::AdapterInfo{"listchecker",
                            "1.0.0",
                            "Checks a value against a white or black list (strings, CIDRs, "
                            "regexes), optionally fetched from a URL",
                            MIXER_KIND_CHECK,
                            {"listentry"}};
  }
  void validate(sdk::ValueView params, sdk::ErrorSink& errors) const override {
    readConfig(params, errors);
  }
  std::unique_ptr<sdk::Handler> createHandler(const std::string&, sdk::ValueView params) override {
    sdk::ErrorSink ignored(nullptr);
    Config config = readConfig(params, ignored);
    if (config.ca_file.empty()) {
      if (const char* env = std::getenv("MIXER_LISTCHECKER_CA_FILE"); env != nullptr) {
        config.ca_file = env;
      }
    }
    return std::make_unique<ListHandler>(std::move(config), host());
  }
};

}  // namespace listchecker

MIXER_DEFINE_ADAPTER(listchecker::ListAdapter);
