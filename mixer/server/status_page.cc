#include "mixer/server/status_page.h"

#include <cstdio>
#include <ctime>
#include <random>

#include "base/grpc_codes.h"
#include "base/json_string.h"
#include "base/log.h"
#include "base/rfc3339.h"
#include "base/str_cat.h"
#include "base/version.h"
#include "mixer/runtime/status_log.h"

namespace mixer::server {
namespace {

using runtime::ConfigStatus;

// A handler whose last failed call is younger than this is "failing".
constexpr int64_t kFailingWindowMillis = 60 * 1000;

int64_t nowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A JSON string literal, with '<', '>' and '&' escaped too, as Go's encoding/json writes them.
std::string json(std::string_view s) { return base::jsonQuote(s, base::JsonEscaping::kHtmlSafe); }

std::string esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char ch : s) {
    switch (ch) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

// RFC 3339 in UTC, as Go's RFC3339Nano prints it ("2026-12-06T22:10:03.12Z"); "" for 0.
std::string rfc3339(int64_t unix_millis) {
  if (unix_millis == 0) return "";
  return base::formatRfc3339(unix_millis / 1000,
                             static_cast<int32_t>(unix_millis % 1000) * 1'000'000);
}

// "3d4h5m6s", "12s".
std::string span(int64_t seconds) {
  std::string out;
  if (seconds >= 86400) out += base::strCat(seconds / 86400, "d");
  if (seconds >= 3600) out += base::strCat(seconds % 86400 / 3600, "h");
  if (seconds >= 60) out += base::strCat(seconds % 3600 / 60, "m");
  return out + base::strCat(seconds % 60, "s");
}

std::string codeName(int32_t code) {
  const std::string_view name = base::grpcCodeName(code);
  return name.empty() ? std::to_string(code) : std::string(name);
}

struct HandlerView {
  std::string name;
  std::string adapter;
  std::string health;  // ok | failing | unavailable
  std::string detail;  // the last error, or why unavailable
  int64_t last_error_millis = 0;
};

std::vector<HandlerView> handlerViews(const runtime::ConfigStore& config,
                                      const ConfigStatus& status) {
  std::vector<HandlerView> out;
  const auto errors = runtime::HandlerErrors::global().snapshot();
  const int64_t now = nowMillis();
  const auto dispatcher = config.current();
  for (const auto& h : dispatcher->snapshot().handlers()) {
    HandlerView v{h->name(), h->adapter().info().name, "ok", "", 0};
    if (auto it = errors.find(h->name()); it != errors.end()) {
      v.last_error_millis = it->second.unix_millis;
      v.detail = it->second.message;
      if (now - it->second.unix_millis < kFailingWindowMillis) v.health = "failing";
    }
    out.push_back(std::move(v));
  }
  for (const auto& [name, why] : status.unavailable) {
    out.push_back({name, "", "unavailable", why, 0});
  }
  return out;
}

// Decodes one application/x-www-form-urlencoded value.
std::string formDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size()) {
      const std::string hex(s.substr(i + 1, 2));
      char* end = nullptr;
      const long v = std::strtol(hex.c_str(), &end, 16);
      if (end != hex.c_str() + 2) return out;
      out += static_cast<char>(v);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string formField(std::string_view body, std::string_view name) {
  while (!body.empty()) {
    const size_t amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? "" : formDecode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    body.remove_prefix(amp + 1);
  }
  return "";
}

std::string_view header(const HttpRequest& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return {};
}

constexpr std::string_view kStyle = R"(
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2327;background:#f6f7f9}
header{background:#466bb0;color:#fff;padding:12px 24px}
header h1{margin:0;font-size:20px} header p{margin:4px 0 0}
main{padding:0 24px 24px} section{background:#fff;border:1px solid #d6dbe1;border-radius:4px;
margin:16px 0;padding:8px 16px 12px} h2{font-size:16px;margin:8px 0}
h2 a{font-size:12px;font-weight:normal;margin-left:8px}
table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:4px 8px;
border-bottom:1px solid #e5e8eb;vertical-align:top} th{background:#f0f2f5}
td.n{text-align:right;font-variant-numeric:tabular-nums} code{font-size:12px}
.ok{color:#1e7b34;font-weight:bold} .failing,.error{color:#b3261e;font-weight:bold}
.unavailable{color:#8a6d00;font-weight:bold} ul.attrs{margin:0;padding-left:16px}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 16px;margin:0} dt{color:#555}
)";

}  // namespace

StatusPage::StatusPage(const runtime::ConfigStore* config)
    : config_(config),
      started_(std::chrono::system_clock::now()),
      started_steady_(std::chrono::steady_clock::now()) {
  std::random_device rd;
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
  token_ = buf;
}

std::string StatusPage::serverJson() const {
  const int64_t up = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::steady_clock::now() - started_steady_)
                         .count();
  const int64_t started =
      std::chrono::duration_cast<std::chrono::milliseconds>(started_.time_since_epoch()).count();
  return base::strCat("{\"version\":", json(kVersion), ",\"istio\":", json(kIstioApiVersion),
                      ",\"started\":", json(rfc3339(started)), ",\"uptime_seconds\":", up,
                      ",\"uptime\":", json(span(up)), "}");
}

std::string StatusPage::configJson() const {
  const ConfigStatus st = config_->status();
  const auto& snap = config_->current()->snapshot();
  std::string errors = "[";
  for (const auto& e : st.last_reload_errors) {
    errors += base::strCat(errors.size() > 1 ? "," : "", json(e));
  }
  std::string unavailable = "[";
  for (const auto& [name, why] : st.unavailable) {
    unavailable += base::strCat(unavailable.size() > 1 ? "," : "", "{\"handler\":", json(name),
                                ",\"reason\":", json(why), "}");
  }
  std::string skipped = "[";
  for (const auto& e : st.skipped) {
    skipped += base::strCat(skipped.size() > 1 ? "," : "", json(e));
  }
  return base::strCat(
      "{\"source\":", json(st.source), ",\"loaded\":", json(rfc3339(st.loaded_unix_millis)),
      ",\"generation\":", snap.generation(), ",\"files\":", st.files,
      ",\"documents\":", st.documents, ",\"rules\":", snap.ruleCount(),
      ",\"handlers\":", snap.handlerCount(), ",\"instances\":", snap.instanceCount(),
      ",\"last_reload\":{\"at\":", json(rfc3339(st.last_reload_unix_millis)),
      ",\"ok\":", st.last_reload_ok ? "true" : "false", ",\"errors\":", errors,
      "]},\"reloads_ok\":", st.reloads_ok, ",\"reloads_failed\":", st.reloads_failed,
      ",\"unavailable_handlers\":", unavailable, "],\"skipped_resources\":", skipped, "]}");
}

std::string StatusPage::handlersJson() const {
  std::string out = "[";
  for (const HandlerView& h : handlerViews(*config_, config_->status())) {
    out += base::strCat(out.size() > 1 ? "," : "", "{\"name\":", json(h.name),
                        ",\"adapter\":", json(h.adapter), ",\"health\":", json(h.health),
                        ",\"detail\":", json(h.detail),
                        ",\"last_error\":", json(rfc3339(h.last_error_millis)), "}");
  }
  return out + "]";
}

std::string StatusPage::rulesJson() const {
  const auto dispatcher = config_->current();
  std::string out = "[";
  for (const auto& r : dispatcher->snapshot().rules()) {
    out += base::strCat(out.size() > 1 ? "," : "", "{\"name\":", json(r->name),
                        ",\"namespace\":", json(r->ns), ",\"match\":", json(r->match_text),
                        ",\"hits\":", r->counters.hits.load(std::memory_order_relaxed),
                        ",\"errors\":", r->counters.errors.load(std::memory_order_relaxed), "}");
  }
  return out + "]";
}

std::string StatusPage::denialsJson() const {
  const auto& log = runtime::DenialLog::global();
  std::string out = base::strCat(
      "{\"seen\":", log.seen(), ",\"recorded\":", log.recorded(), ",\"sample_interval_ms\":",
      std::chrono::duration_cast<std::chrono::milliseconds>(log.interval()).count(),
      ",\"recent\":[");
  bool first = true;
  for (const auto& d : log.recent()) {
    std::string attrs = "{";
    for (const auto& [name, value] : d.attributes) {
      attrs += base::strCat(attrs.size() > 1 ? "," : "", json(name), ":", json(value));
    }
    out += base::strCat(first ? "" : ",", "{\"time\":", json(rfc3339(d.unix_millis)),
                        ",\"generation\":", d.generation, ",\"rule\":", json(d.rule),
                        ",\"handler\":", json(d.handler), ",\"code\":", json(codeName(d.code)),
                        ",\"reason\":", json(d.reason), ",\"attributes\":", attrs, "}}");
    first = false;
  }
  return out + "]}";
}

std::string StatusPage::logLevelJson() const {
  return base::strCat(
      "{\"level\":", json(logLevelName(logLevel())),
      ",\"levels\":[\"debug\",\"info\",\"warn\",\"error\",\"none\"],\"token\":", json(token_), "}");
}

std::string StatusPage::allJson() const {
  return base::strCat("{\"server\":", serverJson(), ",\"config\":", configJson(),
                      ",\"handlers\":", handlersJson(), ",\"rules\":", rulesJson(),
                      ",\"denials\":", denialsJson(), ",\"log_level\":", logLevelJson(), "}");
}

std::string StatusPage::html() const {
  const int64_t up = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::steady_clock::now() - started_steady_)
                         .count();
  const int64_t started =
      std::chrono::duration_cast<std::chrono::milliseconds>(started_.time_since_epoch()).count();
  const ConfigStatus st = config_->status();
  const auto dispatcher = config_->current();
  const auto& snap = dispatcher->snapshot();
  std::string o;
  o += base::strCat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>mixs status</title><style>",
      kStyle, "</style></head><body>\n");
  o += base::strCat("<header><h1>mixs ", esc(kVersion), "</h1><p id=\"uptime\">Istio ",
                    esc(kIstioApiVersion), " API &middot; up <b>", span(up), "</b> since ",
                    rfc3339(started),
                    " &middot; <a style=\"color:#fff\" href=\"/status/json\">all "
                    "as JSON</a></p></header>\n<main>\n");

  // Configuration.
  o += "<section id=\"config\"><h2>Configuration<a href=\"/status/config.json\">JSON</a></h2><dl>";
  o += base::strCat("<dt>source</dt><dd>", esc(st.source), "</dd>");
  o += base::strCat("<dt>loaded</dt><dd>", rfc3339(st.loaded_unix_millis), " (generation ",
                    snap.generation(), ")</dd>");
  o += base::strCat("<dt>contents</dt><dd>", snap.ruleCount(), " rules, ", snap.handlerCount(),
                    " handlers, ", snap.instanceCount(), " instances from ", st.files,
                    " files</dd>");
  o += "<dt>last reload</dt><dd id=\"last-reload\">";
  if (st.last_reload_unix_millis == 0) {
    o += "none since start";
  } else if (st.last_reload_ok) {
    o += base::strCat("<span class=\"ok\">ok</span> at ", rfc3339(st.last_reload_unix_millis));
  } else {
    o += base::strCat("<span class=\"error\">rejected</span> at ",
                      rfc3339(st.last_reload_unix_millis), " (generation ", snap.generation(),
                      " still serving)<ul>");
    for (const auto& e : st.last_reload_errors)
      o += base::strCat("<li><code>", esc(e), "</code></li>");
    o += "</ul>";
  }
  o += base::strCat("</dd><dt>reloads</dt><dd>", st.reloads_ok, " ok, ", st.reloads_failed,
                    " rejected</dd></dl></section>\n");

  // Handlers.
  o += "<section id=\"handlers\"><h2>Handlers<a href=\"/status/handlers.json\">JSON</a></h2>"
       "<table><tr><th>handler</th><th>adapter</th><th>health</th><th>detail</th></tr>";
  for (const HandlerView& h : handlerViews(*config_, st)) {
    o += base::strCat("<tr><td>", esc(h.name), "</td><td>", esc(h.adapter), "</td><td class=\"",
                      h.health, "\">", h.health, "</td><td>");
    if (h.last_error_millis != 0)
      o += base::strCat("last error at ", rfc3339(h.last_error_millis), ": ");
    o += base::strCat("<code>", esc(h.detail), "</code></td></tr>");
  }
  o += "</table></section>\n";

  // Rules.
  o += "<section id=\"rules\"><h2>Rules<a href=\"/status/rules.json\">JSON</a></h2>"
       "<table><tr><th>rule</th><th>namespace</th><th>match</th><th>hits</th><th>errors</th></tr>";
  for (const auto& r : snap.rules()) {
    const uint64_t errors = r->counters.errors.load(std::memory_order_relaxed);
    o += base::strCat("<tr><td>", esc(r->name), "</td><td>", esc(r->ns), "</td><td><code>",
                      esc(r->match_text.empty() ? "(always)" : r->match_text),
                      "</code></td><td class=\"n\">",
                      r->counters.hits.load(std::memory_order_relaxed), "</td><td class=\"n",
                      errors ? " error" : "", "\">", errors, "</td></tr>");
  }
  o += "</table></section>\n";

  // Denials.
  const auto& log = runtime::DenialLog::global();
  o += base::strCat(
      "<section id=\"denials\"><h2>Recent denials<a href=\"/status/denials.json\">JSON</a>"
      "</h2><p>",
      log.seen(), " denied since start; at most one recorded per ",
      std::chrono::duration_cast<std::chrono::milliseconds>(log.interval()).count(),
      " ms, the last ", runtime::DenialLog::kCapacity,
      " kept. Secrets are redacted.</p><table><tr><th>time</th><th>rule</th>"
      "<th>code</th><th>reason</th><th>attributes that decided</th></tr>");
  for (const auto& d : log.recent()) {
    o += base::strCat("<tr class=\"denial\"><td>", rfc3339(d.unix_millis), "</td><td>", esc(d.rule),
                      "</td><td>", codeName(d.code), "</td><td class=\"reason\">", esc(d.reason),
                      "</td><td><ul class=\"attrs\">");
    for (const auto& [name, value] : d.attributes) {
      o += base::strCat("<li><code>", esc(name), "</code> = <code>", esc(value), "</code></li>");
    }
    o += "</ul></td></tr>";
  }
  o += "</table></section>\n";

  // Log level.
  const std::string level = logLevelName(logLevel());
  o += base::strCat(
      "<section id=\"log-level\"><h2>Log level<a href=\"/status/loglevel.json\">JSON</a>"
      "</h2><form method=\"post\" action=\"/status/loglevel\"><p>Now: <b id=\"level\">",
      level, "</b></p><input type=\"hidden\" name=\"token\" value=\"", token_,
      "\"><select id=\"level-select\" name=\"level\">");
  for (const char* l : {"debug", "info", "warn", "error", "none"}) {
    o += base::strCat("<option", l == level ? " selected" : "", ">", l, "</option>");
  }
  o += "</select> <button id=\"set-level\" type=\"submit\">Set</button></form></section>\n";
  o += "</main></body></html>\n";
  return o;
}

HttpResponse StatusPage::setLogLevel(const HttpRequest& request) const {
  // Another site's page may not make a reader's browser post here.
  if (const std::string_view origin = header(request, "origin"); !origin.empty()) {
    const std::string_view host = header(request, "host");
    const size_t scheme = origin.find("://");
    if (host.empty() || scheme == std::string_view::npos || origin.substr(scheme + 3) != host) {
      return {403, "text/plain", "refused: the form was posted from another origin\n"};
    }
  }
  if (formField(request.body, "token") != token_) {
    return {403, "text/plain",
            "refused: the token is missing or wrong (read it from /status or "
            "/status/loglevel.json)\n"};
  }
  const std::string name = formField(request.body, "level");
  const auto level = parseLogLevel(name);
  if (!level) {
    return {400, "text/plain", "level: want debug, info, warn, error or none\n"};
  }
  const std::string before = logLevelName(logLevel());
  mixer::setLogLevel(*level);
  // Written whatever the level: who changed what is worth a line even when logs are quiet.
  LogLine(LogLevel::Info) << "log level changed from " << before << " to " << name
                          << " through the status page";
  if (header(request, "accept").find("application/json") != std::string_view::npos) {
    return {200, "application/json", logLevelJson() + "\n"};
  }
  HttpResponse r{303, "text/plain", "see /status#log-level\n"};
  r.headers.emplace_back("Location", "/status#log-level");
  return r;
}

HttpResponse StatusPage::handle(const HttpRequest& request) const {
  const std::string_view path = request.path;
  if (path == "/status/loglevel") {
    if (request.method != "POST") {
      HttpResponse r{405, "text/plain", "POST a form: level=<level>&token=<token>\n"};
      r.headers.emplace_back("Allow", "POST");
      return r;
    }
    return setLogLevel(request);
  }
  if (request.method != "GET" && request.method != "HEAD") {
    HttpResponse r{405, "text/plain", "only GET and HEAD\n"};
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  if (path == "/status" || path == "/status/") {
    HttpResponse r{200, "text/html; charset=utf-8", html()};
    r.headers.emplace_back("Cache-Control", "no-store");
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'");
    r.headers.emplace_back("X-Frame-Options", "DENY");
    return r;
  }
  std::string body;
  if (path == "/status/json")
    body = allJson();
  else if (path == "/status/server.json")
    body = serverJson();
  else if (path == "/status/config.json")
    body = configJson();
  else if (path == "/status/handlers.json")
    body = handlersJson();
  else if (path == "/status/rules.json")
    body = rulesJson();
  else if (path == "/status/denials.json")
    body = denialsJson();
  else if (path == "/status/loglevel.json")
    body = logLevelJson();
  else
    return {404, "text/plain",
            "not found: try /status, /status/json, /status/{server,config,handlers,rules,denials,"
            "loglevel}.json\n"};
  HttpResponse r{200, "application/json", body + "\n"};
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

}  // namespace mixer::server
