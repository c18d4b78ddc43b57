#include "mixer/server/monitoring_server.h"

#include <prometheus/text_serializer.h>

#include "mixer/common/str_cat.h"
#include "mixer/common/version.h"

namespace mixer::server {

absl::StatusOr<std::unique_ptr<MonitoringServer>> MonitoringServer::start(
    const std::string& host, int port, std::shared_ptr<prometheus::Registry> registry,
    std::function<bool()> ready, const StatusPage* status) {
  std::unique_ptr<MonitoringServer> s(new MonitoringServer());
  s->registry_ = std::move(registry);
  s->ready_ = std::move(ready);
  s->status_ = status;
  HttpServer::Options options;
  options.host = host;
  options.port = port;
  // The status page's log-level form is a POST with a small body.
  options.any_method = true;
  options.max_body_bytes = 4096;
  const MonitoringServer* raw = s.get();
  auto http = HttpServer::start(std::move(options),
                                [raw](const HttpRequest& request) { return raw->handle(request); });
  if (!http.ok()) {
    return absl::UnavailableError(strCat(http.status().message(), " (the monitoring endpoints)"));
  }
  s->http_ = *std::move(http);
  return s;
}

MonitoringServer::~MonitoringServer() = default;

HttpResponse MonitoringServer::handle(const HttpRequest& request) const {
  const std::string_view path = request.path;
  if (StatusPage::serves(path)) {
    if (status_ == nullptr) {
      return {404, "text/plain",
              "the debug views are off: start mixs with --debug-views to serve /status\n"};
    }
    return status_->handle(request);
  }
  if (request.method != "GET" && request.method != "HEAD") {
    HttpResponse r{405, "text/plain", "only GET and HEAD\n"};
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  if (path == "/metrics") {
    prometheus::TextSerializer serializer;
    return {200, "text/plain; version=0.0.4; charset=utf-8",
            serializer.Serialize(registry_->Collect())};
  }
  if (path == "/healthz") {
    return {200, "text/plain", "ok\n"};
  }
  if (path == "/readyz") {
    const bool ready = ready_ ? ready_() : true;
    return {ready ? 200 : 503, "text/plain", ready ? "ready\n" : "not ready\n"};
  }
  if (path == "/version") {
    return {200, "application/json",
            strCat("{\"version\":\"", kVersion, "\",\"api\":\"istio.mixer.v1\",\"istio\":\"",
                   kIstioApiVersion, "\",\"globalWordCount\":222}\n")};
  }
  return {404, "text/plain",
          "not found: try /metrics, /healthz, /readyz, /version, /status (with --debug-views)\n"};
}

}  // namespace mixer::server
