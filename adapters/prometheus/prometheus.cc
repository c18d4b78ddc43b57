// prometheus: Istio's `prometheus` adapter. `metric` instances update counters, gauges and
// histograms that are exposed for scraping on their own HTTP endpoint (default :42422/metrics),
// separate from mixs' self-monitoring /metrics.
//
// Params (Istio names): metrics[]{namespace, name, instance_name, description, kind
// GAUGE|COUNTER|DISTRIBUTION, buckets {linear_buckets | exponential_buckets | explicit_buckets},
// label_names}, metrics_expiration_policy {metrics_expiry_duration,
// expiry_check_interval_duration}; and, beyond Istio, `address` (host:port of the exposition,
// default ":42422"; port 0 picks a free port, which is logged).
//
// The aspect model's metric descriptors arrive here already translated into `metrics` entries by
// the config loader, so one code path serves both models.
//
// The params are read in prometheus_params.{h,cc}; this file is the exposition: label values,
// metric families in a shared registry, the Exposer per address, the handler and the adapter.
//
// Threads: serving HTTP needs a listener, so the exposition runs prometheus-cpp's Exposer
// (civetweb worker threads). One Exposer serves each address and is shared by the handlers that
// name it: it starts with the first such handler and stops when the last one is closed. Metric
// families live in that shared registry, so a configuration change that keeps a metric's
// definition keeps its values. Nothing else runs outside the host's executor: the expiry sweep is
// a host timer.
#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mixer/adapter_sdk/adapter.h"
#include "prometheus_params.h"

namespace prometheus_adapter {

namespace sdk = mixer::adapter_sdk;
using sdk::AdapterInfo;
using sdk::CallContext;
using sdk::Code;
using sdk::ErrorSink;
using sdk::Host;
using sdk::InstanceView;
using sdk::ReportCompletion;
using sdk::ReportResult;
using sdk::ValueView;

constexpr char kDroppedSeriesMetric[] = "mixer_prometheus_series_dropped_total";
// The exposition's HTTP workers and how long one waits for a request's header.
constexpr int kExpositionThreads = 8;
constexpr int kExpositionReadTimeoutMs = 5000;

// ---- label values ----

// Appends the text of a dimension value (absent: empty, as Istio's adapter leaves it).
void appendLabelValue(ValueView v, std::string* out) {
  char buf[32];
  switch (v.type()) {
    case MIXER_VALUE_IP_ADDRESS:
      mixer::adapter_sdk::appendIpAddress(v.stringValue(), out);
      return;
    case MIXER_VALUE_INT64:
    case MIXER_VALUE_TIMESTAMP:
    case MIXER_VALUE_DURATION: {
      auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v.int64Value());
      out->append(buf, end);
      return;
    }
    case MIXER_VALUE_DOUBLE: {
      auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v.doubleValue());
      out->append(buf, ec == std::errc() ? end : buf);
      return;
    }
    case MIXER_VALUE_BOOL:
      out->append(v.boolValue() ? "true" : "false");
      return;
    default:
      out->append(v.stringValue());
  }
}

// The metric's value: INT64 and DOUBLE as is, DURATION in seconds, a numeric string parsed.
std::optional<double> metricValue(ValueView v) {
  switch (v.type()) {
    case MIXER_VALUE_INT64:
      return static_cast<double>(v.int64Value());
    case MIXER_VALUE_DOUBLE:
      return v.doubleValue();
    case MIXER_VALUE_DURATION:
      return static_cast<double>(v.int64Value()) / 1e9;
    case MIXER_VALUE_BOOL:
      return v.boolValue() ? 1.0 : 0.0;
    case MIXER_VALUE_STRING: {
      const std::string_view s = v.stringValue();
      double d = 0;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
      if (ec == std::errc() && end == s.data() + s.size()) {
        return d;
      }
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

// ---- families and series ----

// One metric family in the shared registry, with a cache from label values to its series so
// that a report finds its series with one hash lookup and no allocation once the series exists.
class MetricFamily {
 public:
  // `dropped` counts the series refused by the cap.
  MetricFamily(const MetricConfig& config, prometheus::Registry& registry,
               prometheus::Counter* dropped)
      : config_(config), signature_(config.signature()), dropped_(dropped) {
    switch (config.kind) {
      case Kind::kCounter:
        counter_ = &prometheus::BuildCounter()
                        .Name(config.full_name)
                        .Help(config.description)
                        .Register(registry);
        break;
      case Kind::kGauge:
        gauge_ = &prometheus::BuildGauge()
                      .Name(config.full_name)
                      .Help(config.description)
                      .Register(registry);
        break;
      case Kind::kDistribution:
        histogram_ = &prometheus::BuildHistogram()
                          .Name(config.full_name)
                          .Help(config.description)
                          .Register(registry);
        break;
    }
  }

  const std::string& signature() const { return signature_; }
  const MetricConfig& config() const { return config_; }

  // The cap on series (0: none); the handlers sharing the family set it, the last one wins.
  void setMaxSeries(int64_t max) { max_series_.store(max, std::memory_order_relaxed); }
  int64_t maxSeries() const { return max_series_.load(std::memory_order_relaxed); }
  size_t seriesCount() {
    std::shared_lock<std::shared_mutex> lock(mu_);
    return series_.size();
  }

  // Records `value` under the label values in `key` (label values joined by '\xff', which a
  // string from a UTF-8 config never contains); `values` are the same values, split. False when
  // the values would make a new series past the cap: nothing is recorded, and it is counted.
  bool record(const std::string& key, const std::vector<std::string_view>& values, double value,
              int64_t now_ns) {
    {
      std::shared_lock<std::shared_mutex> lock(mu_);
      auto it = series_.find(key);
      if (it != series_.end()) {
        update(it->second, value, now_ns);
        return true;
      }
    }
    std::unique_lock<std::shared_mutex> lock(mu_);
    auto it = series_.find(key);
    if (it == series_.end()) {
      const int64_t max = max_series_.load(std::memory_order_relaxed);
      if (max > 0 && series_.size() >= static_cast<size_t>(max)) {
        dropped_->Increment();
        return false;
      }
      prometheus::Labels labels;
      for (size_t i = 0; i < config_.label_names.size(); ++i) {
        // The exposition format is UTF-8: ill-formed bytes from a client become U+FFFD.
        labels.emplace(config_.label_names[i], sdk::utf8Sanitized(values[i]));
      }
      Series s;
      switch (config_.kind) {
        case Kind::kCounter:
          s.metric = &counter_->Add(labels);
          break;
        case Kind::kGauge:
          s.metric = &gauge_->Add(labels);
          break;
        case Kind::kDistribution:
          s.metric = &histogram_->Add(labels, config_.bounds);
          break;
      }
      it = series_.emplace(key, s).first;
    }
    update(it->second, value, now_ns);
    return true;
  }

  // Removes the series not updated since `cutoff_ns`; returns how many.
  size_t expire(int64_t cutoff_ns) {
    std::unique_lock<std::shared_mutex> lock(mu_);
    size_t removed = 0;
    for (auto it = series_.begin(); it != series_.end();) {
      if (it->second.last_update_ns->load(std::memory_order_relaxed) < cutoff_ns) {
        switch (config_.kind) {
          case Kind::kCounter:
            counter_->Remove(static_cast<prometheus::Counter*>(it->second.metric));
            break;
          case Kind::kGauge:
            gauge_->Remove(static_cast<prometheus::Gauge*>(it->second.metric));
            break;
          case Kind::kDistribution:
            histogram_->Remove(static_cast<prometheus::Histogram*>(it->second.metric));
            break;
        }
        it = series_.erase(it);
        ++removed;
      } else {
        ++it;
      }
    }
    return removed;
  }

  void removeFrom(prometheus::Registry& registry) {
    if (counter_ != nullptr) {
      registry.Remove(*counter_);
    } else if (gauge_ != nullptr) {
      registry.Remove(*gauge_);
    } else if (histogram_ != nullptr) {
      registry.Remove(*histogram_);
    }
  }

 private:
  struct Series {
    void* metric = nullptr;
    std::shared_ptr<std::atomic<int64_t>> last_update_ns =
        std::make_shared<std::atomic<int64_t>>(0);
  };

  // Called with mu_ held (shared or exclusive): the series cannot be removed meanwhile.
  void update(Series& s, double value, int64_t now_ns) {
    switch (config_.kind) {
      case Kind::kCounter:
        if (value > 0) {  // a counter only goes up
          static_cast<prometheus::Counter*>(s.metric)->Increment(value);
        }
        break;
      case Kind::kGauge:
        static_cast<prometheus::Gauge*>(s.metric)->Set(value);
        break;
      case Kind::kDistribution:
        static_cast<prometheus::Histogram*>(s.metric)->Observe(value);
        break;
    }
    s.last_update_ns->store(now_ns, std::memory_order_relaxed);
  }

  const MetricConfig config_;
  const std::string signature_;
  prometheus::Family<prometheus::Counter>* counter_ = nullptr;
  prometheus::Family<prometheus::Gauge>* gauge_ = nullptr;
  prometheus::Family<prometheus::Histogram>* histogram_ = nullptr;
  prometheus::Counter* dropped_;
  std::atomic<int64_t> max_series_{kDefaultMaxSeriesPerMetric};
  std::shared_mutex mu_;
  std::unordered_map<std::string, Series> series_;
};

// The exposition of one address: an Exposer and the registry it serves, shared by the handlers
// configured with that address.
class Server {
 public:
  Server(const std::string& address, Host host)
      : registry_(std::make_shared<prometheus::Registry>()) {
    std::string bind = address;
    if (!bind.empty() && bind[0] == ':') {
      bind = bind.substr(1);  // civetweb: a bare port listens on every interface
    }
    // civetweb serves each connection on a worker thread until its request arrives: idle or slow
    // clients hold a worker each. More workers than a scrape needs, a read timeout, and no
    // keep-alive bound how long a crowd of idle connections can keep a scrape waiting.
    exposer_ = std::make_unique<prometheus::Exposer>(std::vector<std::string>{
        "listening_ports", bind, "num_threads", std::to_string(kExpositionThreads),
        "request_timeout_ms", std::to_string(kExpositionReadTimeoutMs), "enable_keep_alive", "no"});
    exposer_->RegisterCollectable(registry_, "/metrics");
    dropped_ = &prometheus::BuildCounter()
                    .Name(kDroppedSeriesMetric)
                    .Help(
                        "New series refused because their metric had max_series_per_metric "
                        "series, by metric.")
                    .Register(*registry_);
    const std::vector<int> ports = exposer_->GetListeningPorts();
    port_ = ports.empty() ? 0 : ports[0];
    // Where ~Server reaches the listener: its IPv4 address, or loopback for every interface.
    const std::string bind_host =
        bind.substr(0, bind.rfind(':') == std::string::npos ? 0 : bind.rfind(':'));
    if (bind_host.empty() || inet_pton(AF_INET, bind_host.c_str(), &wake_ipv4_) != 1 ||
        wake_ipv4_ == htonl(INADDR_ANY)) {
      wake_ipv4_ = htonl(INADDR_LOOPBACK);
    }
    host.info("serving /metrics on " + address.substr(0, address.rfind(':') + 1) +
              std::to_string(port_));
  }

  // civetweb's listener sees its stop flag only when its poll of the listening socket returns,
  // which on an idle server takes up to 2 s: connections made while the Exposer stops wake it, so
  // that closing the last handler (and a mixs shutdown) does not wait for that poll.
  ~Server() {
    std::atomic<bool> done{false};
    std::thread waker([this, &done] {
      sockaddr_in target{};
      target.sin_family = AF_INET;
      target.sin_port = htons(static_cast<uint16_t>(port_));
      target.sin_addr.s_addr = wake_ipv4_;
      for (; !done.load() && port_ > 0;
           std::this_thread::sleep_for(std::chrono::milliseconds(10))) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0) {
          (void)::connect(fd, reinterpret_cast<const sockaddr*>(&target), sizeof(target));
          ::close(fd);
        }
      }
    });
    exposer_.reset();
    done = true;
    waker.join();
  }

  int port() const { return port_; }

  // The family for `config`: the existing one when its definition is unchanged, else a new one
  // that replaces it.
  std::shared_ptr<MetricFamily> family(const MetricConfig& config) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& slot = families_[config.full_name];
    if (auto existing = slot.lock(); existing && existing->signature() == config.signature()) {
      return existing;
    } else if (existing) {
      existing->removeFrom(*registry_);
    }
    auto fresh = std::shared_ptr<MetricFamily>(
        new MetricFamily(config, *registry_, &dropped_->Add({{"metric", config.full_name}})),
        [registry = registry_](MetricFamily* f) {
          f->removeFrom(*registry);
          delete f;
        });
    slot = fresh;
    return fresh;
  }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  prometheus::Family<prometheus::Counter>* dropped_ = nullptr;
  int port_ = 0;
  in_addr_t wake_ipv4_ = 0;
  std::mutex mu_;
  std::map<std::string, std::weak_ptr<MetricFamily>> families_;
};

// ---- handler ----

class PrometheusHandler : public sdk::Handler {
 public:
  PrometheusHandler(const Config& config, std::shared_ptr<Server> server, Host host,
                    Host::Counter unknown_instances)
      : server_(std::move(server)),
        host_(host),
        unknown_instances_(unknown_instances),
        expiry_ns_(config.expiry_ns),
        expiry_check_ns_(config.expiry_check_ns) {
    for (const MetricConfig& mc : config.metrics) {
      Bound b;
      b.instance_name = mc.instance_name;
      b.family = server_->family(mc);
      b.family->setMaxSeries(config.max_series_per_metric);
      b.label_count = mc.label_names.size();
      b.hints = std::make_unique<sdk::FieldHint[]>(b.label_count);
      b.label_set = bound_.size();
      for (size_t j = 0; j < bound_.size(); ++j) {
        if (config.metrics[j].label_names == mc.label_names) {
          b.label_set = j;
          break;
        }
      }
      bound_.push_back(std::move(b));
    }
    if (expiry_ns_ > 0) {
      state_ = std::make_shared<SweepState>();
      scheduleSweep();
    }
  }
  ~PrometheusHandler() override { close(); }

  void report(const std::vector<InstanceView>& instances, const CallContext&,
              ReportCompletion done) override {
    thread_local Scratch scratch;  // reused across calls
    const size_t skipped = record(instances, &scratch);
    if (skipped > 0) {
      unknown_instances_.add(static_cast<double>(skipped));
    }
    done.respond(ReportResult{});
  }

  void close() override {
    std::shared_ptr<SweepState> state;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) {
        return;
      }
      closed_ = true;
      state = state_;
    }
    if (state) {
      std::lock_guard<std::mutex> lock(state->mu);
      state->closed = true;
      host_.cancel(state->timer);
    }
  }

 private:
  // Per-thread buffers of report(). Passed down by pointer: in a shared object each use of a
  // thread_local in the loop would look its address up again (__tls_get_addr).
  struct Scratch {
    std::string key;  // the label values, each followed by '\xff' (a series' key)
    std::vector<std::string_view> values;  // the same values, views into `key`
  };

  // Records every instance bound to a metric; returns how many were skipped (no metric, or no
  // numeric value).
  [[gnu::noinline]] size_t record(const std::vector<InstanceView>& instances, Scratch* scratch) {
    std::string& key = scratch->key;
    std::vector<std::string_view>& values = scratch->values;
    // What `key` was built from: the label set and the raw dimension values.
    size_t last_set = SIZE_MAX;
    mixer_value last[kMaxLabels];
    ValueView views[kMaxLabels];
    const int64_t now = host_.monotonicNs();
    size_t skipped = 0;
    for (const InstanceView& instance : instances) {
      bool matched = false;
      for (Bound& b : bound_) {
        if (!nameMatches(b.instance_name, instance.name())) {
          continue;
        }
        matched = true;
        std::optional<double> value = metricValue(instance.field("value"));
        if (!value) {
          ++skipped;
          continue;
        }
        ValueView dims = instance.field("dimensions");
        const auto& names = b.family->config().label_names;
        const size_t n = std::min<size_t>(names.size(), kMaxLabels);
        // The runtime hands the metrics of one record the same encoded dimension values: when
        // this metric's label names and values are bit for bit those of the previous metric,
        // the key built for it is this one's too.
        bool same = last_set == b.label_set;
        for (size_t i = 0; i < n; ++i) {
          const ValueView v = b.hints[i].find(dims, names[i]);
          const mixer_value bits = v.raw() != nullptr ? *v.raw() : mixer_value{};
          same = same && std::memcmp(&bits, &last[i], sizeof(bits)) == 0;
          last[i] = bits;
          views[i] = v;
        }
        if (!same) {
          key.clear();
          size_t ends[kMaxLabels];
          for (size_t i = 0; i < n; ++i) {
            appendLabelValue(views[i], &key);
            ends[i] = key.size();
            key.append("\xff", 1);
          }
          values.clear();
          size_t start = 0;
          for (size_t i = 0; i < n; ++i) {
            values.emplace_back(key.data() + start, ends[i] - start);
            start = ends[i] + 1;
          }
          last_set = b.label_set;
        }
        if (!b.family->record(key, values, *value, now)) {
          // Logged on the 1st, 2nd, 4th, 8th, ... drop: a client can cause one per report.
          const uint64_t n = dropped_logs_.fetch_add(1, std::memory_order_relaxed) + 1;
          if ((n & (n - 1)) == 0) {
            host_.warning("metric '" + b.family->config().full_name + "' is at its cap of " +
                          std::to_string(b.family->maxSeries()) +
                          " series (max_series_per_metric): new series are dropped (" +
                          std::to_string(n) + " so far)");
          }
        }
      }
      if (!matched) {
        ++skipped;
      }
    }
    return skipped;
  }

  struct Bound {
    std::string instance_name;
    std::shared_ptr<MetricFamily> family;
    size_t label_count = 0;
    // The first bound metric with the same label names (its own index when none before it).
    size_t label_set = 0;
    // Per label, where the dimension was found last time: instances of one config lay out their
    // dimensions the same way, so the first comparison usually hits.
    std::unique_ptr<sdk::FieldHint[]> hints;
  };

  struct SweepState {
    std::mutex mu;
    bool closed = false;
    Host::Timer timer;
    std::vector<std::weak_ptr<MetricFamily>> families;
  };

  // Istio names instances "<name>.<template>.<namespace>"; a config may also write the short
  // "<name>.<template>" form.
  static bool nameMatches(std::string_view configured, std::string_view actual) {
    if (configured == actual) {
      return true;
    }
    if (actual.size() > configured.size() && actual.substr(0, configured.size()) == configured &&
        actual[configured.size()] == '.') {
      return true;
    }
    return false;
  }

  void scheduleSweep() {
    for (const Bound& b : bound_) {
      state_->families.push_back(b.family);
    }
    armSweep(state_, host_, expiry_ns_, expiry_check_ns_);
  }

  // The sweep holds only weak references, so it never keeps a closed handler's families alive.
  static void armSweep(const std::shared_ptr<SweepState>& state, Host host, int64_t expiry_ns,
                       int64_t check_ns) {
    std::lock_guard<std::mutex> lock(state->mu);
    if (state->closed) {
      return;
    }
    std::weak_ptr<SweepState> weak = state;
    state->timer = host.schedule(check_ns, [weak, host, expiry_ns, check_ns] {
      auto s = weak.lock();
      if (!s) {
        return;
      }
      const int64_t cutoff = host.monotonicNs() - expiry_ns;
      std::vector<std::shared_ptr<MetricFamily>> families;
      {
        std::lock_guard<std::mutex> lock(s->mu);
        if (s->closed) {
          return;
        }
        for (const auto& f : s->families) {
          if (auto family = f.lock()) {
            families.push_back(family);
          }
        }
      }
      for (const auto& family : families) {
        family->expire(cutoff);
      }
      armSweep(s, host, expiry_ns, check_ns);
    });
  }

  std::shared_ptr<Server> server_;
  Host host_;
  Host::Counter unknown_instances_;
  std::atomic<uint64_t> dropped_logs_{0};
  std::vector<Bound> bound_;
  const int64_t expiry_ns_;
  const int64_t expiry_check_ns_;
  std::mutex mu_;
  bool closed_ = false;
  std::shared_ptr<SweepState> state_;
};

class PrometheusAdapter : public sdk::Adapter {
 public:
  static AdapterInfo info() {
    return AdapterInfo{"prometheus",
                       "1.0.0",
                       "Exposes metric instances for Prometheus to scrape",
                       MIXER_KIND_REPORT,
                       {"metric"}};
  }

  void validate(ValueView params, ErrorSink& errors) const override { readParams(params, errors); }

  std::unique_ptr<sdk::Handler> createHandler(const std::string& name, ValueView params) override {
    ErrorSink ignored(nullptr);
    Config config = readParams(params, ignored);
    std::shared_ptr<Server> server;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto& slot = servers_[config.address];
      server = slot.lock();
      if (!server) {
        try {
          server = std::make_shared<Server>(config.address, host());
        } catch (const std::exception& e) {
          host().error("handler '" + name + "': cannot serve on " + config.address + ": " +
                       e.what());
          return nullptr;
        }
        slot = server;
      }
    }
    // Declared per handler (the host returns the same counter for the same name), so the counter
    // always belongs to the services table this handler uses.
    Host::Counter skipped = host().declareCounter(
        "prometheus_skipped_instances",
        "Metric instances the prometheus adapter could not record (no metric configured for "
        "the instance, or a non-numeric value).");
    return std::make_unique<PrometheusHandler>(config, std::move(server), host(), skipped);
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::weak_ptr<Server>> servers_;
};

}  // namespace prometheus_adapter

MIXER_DEFINE_ADAPTER(prometheus_adapter::PrometheusAdapter);
