#include "mixer/server/monitoring_server.h"

#include <civetweb.h>
#include <prometheus/text_serializer.h>

#include <cstring>
#include <mutex>

#include "mixer/common/listener_wake.h"
#include "mixer/common/str_cat.h"
#include "mixer/common/version.h"

namespace mixer::server {
namespace {

void reply(struct mg_connection* conn, int code, const char* content_type,
           const std::string& body) {
  mg_printf(
      conn,
      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
      code, mg_get_response_code_text(conn, code), content_type, body.size());
  mg_write(conn, body.data(), body.size());
}

}  // namespace

absl::StatusOr<std::unique_ptr<MonitoringServer>> MonitoringServer::start(
    const std::string& host, int port, std::shared_ptr<prometheus::Registry> registry,
    std::function<bool()> ready) {
  static std::once_flag init;
  std::call_once(init, [] { mg_init_library(0); });

  std::unique_ptr<MonitoringServer> s(new MonitoringServer());
  s->registry_ = std::move(registry);
  s->ready_ = std::move(ready);
  s->host_ = host;
  const std::string listen = host.empty() ? std::to_string(port) : strCat(host, ":", port);
  const char* options[] = {"listening_ports", listen.c_str(), "num_threads", "2", nullptr};
  struct mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof(callbacks));
  callbacks.log_message = [](const struct mg_connection*, const char*) { return 1; };
  s->ctx_ = mg_start(&callbacks, nullptr, options);
  if (s->ctx_ == nullptr) {
    return absl::UnavailableError(
        strCat("cannot listen on ", listen, " for the monitoring endpoints"));
  }
  mg_set_request_handler(s->ctx_, "/", &MonitoringServer::handle, s.get());
  struct mg_server_port ports[4];
  const int n = mg_get_server_ports(s->ctx_, 4, ports);
  s->port_ = n > 0 ? ports[0].port : port;
  return s;
}

MonitoringServer::~MonitoringServer() {
  if (ctx_ != nullptr) {
    stopWakingListener(host_, port_, [this] { mg_stop(ctx_); });
  }
}

int MonitoringServer::handle(struct mg_connection* conn, void* self_ptr) {
  auto* self = static_cast<MonitoringServer*>(self_ptr);
  const struct mg_request_info* info = mg_get_request_info(conn);
  const std::string uri = info->local_uri != nullptr ? info->local_uri : "";
  if (uri == "/metrics") {
    prometheus::TextSerializer serializer;
    reply(conn, 200, "text/plain; version=0.0.4; charset=utf-8",
          serializer.Serialize(self->registry_->Collect()));
    return 200;
  }
  if (uri == "/healthz") {
    reply(conn, 200, "text/plain", "ok\n");
    return 200;
  }
  if (uri == "/readyz") {
    const bool ready = self->ready_ ? self->ready_() : true;
    reply(conn, ready ? 200 : 503, "text/plain", ready ? "ready\n" : "not ready\n");
    return ready ? 200 : 503;
  }
  if (uri == "/version") {
    reply(conn, 200, "application/json",
          strCat("{\"version\":\"", kVersion, "\",\"api\":\"istio.mixer.v1\",\"istio\":\"",
                 kIstioApiVersion, "\",\"globalWordCount\":222}\n"));
    return 200;
  }
  reply(conn, 404, "text/plain", "not found: try /metrics, /healthz, /readyz, /version\n");
  return 404;
}

}  // namespace mixer::server
