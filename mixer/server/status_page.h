// StatusPage: the operator's page on mixs' monitoring port, in the spirit of Istio's ControlZ: one
// server-rendered HTML page (no script at all) and a JSON twin of each of its views, for scripts.
// Served only with `mixs server --debug-views` (else 404 saying so), like pilot-discovery's
// /debug/config_dump: the monitoring port is plain HTTP, and the page shows policy decisions and
// lets its reader change the log level.
//
//   GET  /status                 the page (HTML)
//   GET  /status/json            every view below in one object
//   GET  /status/server.json     version, start time, uptime
//   GET  /status/config.json     the serving configuration: source, load time, generation,
//                                counts, the last reload and its errors, unavailable handlers
//   GET  /status/handlers.json   handlers: name, adapter, health (ok, failing, unavailable)
//   GET  /status/rules.json      rules: name, namespace, match, hits, errors
//   GET  /status/denials.json    recent denials (sampled), secrets redacted
//   GET  /status/loglevel.json   the log level, and the token its form must send
//   POST /status/loglevel        form `level=<debug|info|warn|error|none>&token=<token>`: sets the
//                                level; 303 back to the page (200 JSON with Accept:
//                                application/json). Refused (403) without the token, which only a
//                                reader of the page or of loglevel.json has, or with an Origin
//                                header of another site: another web page cannot make a visitor's
//                                browser change it (CSRF).
// Thread-safe: the views read atomics and take short locks off the request path.
#pragma once

#include <chrono>
#include <string>

#include "base/http_server.h"
#include "mixer/runtime/config_store.h"

namespace mixer::server {

class StatusPage {
 public:
  // OWNERSHIP: `config` is borrowed and outlives the page.
  explicit StatusPage(const runtime::ConfigStore* config);

  // Whether `path` is one of the page's.
  static bool serves(std::string_view path) {
    return path == "/status" || path.substr(0, 8) == "/status/";
  }
  HttpResponse handle(const HttpRequest& request) const;

  // The views, as served.
  std::string html() const;
  std::string serverJson() const;
  std::string configJson() const;
  std::string handlersJson() const;
  std::string rulesJson() const;
  std::string denialsJson() const;
  std::string logLevelJson() const;
  std::string allJson() const;

 private:
  HttpResponse setLogLevel(const HttpRequest& request) const;

  const runtime::ConfigStore* config_;
  std::chrono::system_clock::time_point started_;
  std::chrono::steady_clock::time_point started_steady_;
  std::string token_;
};

}  // namespace mixer::server
