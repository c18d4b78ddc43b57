#include "base/monitoring_server.h"

#include <prometheus/text_serializer.h>

#include "base/str_cat.h"

namespace mixer {

absl::StatusOr<std::unique_ptr<MonitoringServer>> MonitoringServer::start(Options options) {
  std::unique_ptr<MonitoringServer> s(new MonitoringServer());
  s->options_ = std::move(options);
  HttpServer::Options http;
  http.host = s->options_.host;
  http.port = s->options_.port;
  http.any_method = true;  // routes may take other methods; the rest answer 405 below
  http.max_body_bytes = s->options_.max_body_bytes;
  const MonitoringServer* raw = s.get();
  auto server = HttpServer::start(
      std::move(http), [raw](const HttpRequest& request) { return raw->handle(request); });
  if (!server.ok()) {
    return absl::UnavailableError(
        base::strCat(server.status().message(), " (the monitoring endpoints)"));
  }
  s->http_ = *std::move(server);
  return s;
}

MonitoringServer::~MonitoringServer() = default;

HttpResponse MonitoringServer::handle(const HttpRequest& request) const {
  const std::string_view path = request.path;
  const bool get = request.method == "GET" || request.method == "HEAD";
  const Route* route = nullptr;
  for (const Route& r : options_.routes) {
    if (r.serves(path)) {
      route = &r;
      break;
    }
  }
  if (!get && (route == nullptr || !route->any_method)) {
    HttpResponse r{405, "text/plain", "only GET and HEAD\n"};
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  if (route != nullptr) {
    return route->handle(request);
  }
  if (path == "/metrics" && options_.registry) {
    prometheus::TextSerializer serializer;
    return {200, "text/plain; version=0.0.4; charset=utf-8",
            serializer.Serialize(options_.registry->Collect())};
  }
  if (path == "/healthz") {
    return {200, "text/plain", "ok\n"};
  }
  if (path == "/readyz" && options_.ready) {
    const bool ready = options_.ready();
    return {ready ? 200 : 503, "text/plain", ready ? "ready\n" : "not ready\n"};
  }
  if (path == "/version" && !options_.version_json.empty()) {
    return {200, "application/json", options_.version_json};
  }
  return {404, "text/plain", options_.not_found};
}

}  // namespace mixer
