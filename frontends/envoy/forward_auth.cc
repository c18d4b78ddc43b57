#include "frontends/envoy/forward_auth.h"

#include <algorithm>
#include <chrono>
#include <iterator>

#include "absl/strings/numbers.h"
#include "base/str_cat.h"
#include "frontends/envoy/envoy_services.h"

namespace frontends::envoy {
namespace {

using mixer::HttpResponse;
using mixer::attribute::AttributeBag;
using mixer::base::strCat;

struct ThreadState {
  mixer::attribute::VocabularyConstSharedPtr vocabulary;
  std::unique_ptr<AttributeBag> bag;
  std::unique_ptr<AttributeIds> ids;
  AttributeMapper mapper;
  HeaderList headers;
  mixer::attribute::AttributeReferences refs;

  AttributeBag& bagFor(const mixer::attribute::VocabularyConstSharedPtr& v,
                       const MappingLimits& limits) {
    if (vocabulary != v) {
      vocabulary = v;
      bag = std::make_unique<AttributeBag>(v);
      ids = std::make_unique<AttributeIds>(*v);
      mapper = AttributeMapper(limits);
    }
    bag->clear();
    return *bag;
  }
};

ThreadState& threadState() {
  thread_local ThreadState state;
  return state;
}

mixer::attribute::Timestamp nowTimestamp() {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  return {ns / 1000000000, static_cast<int32_t>(ns % 1000000000)};
}

HttpResponse text(int code, std::string body) {
  HttpResponse r;
  r.code = code;
  r.body = mixer::httpHeaderValue(body);  // one line, whatever the message held
  r.body += '\n';
  return r;
}

void addHeaders(const std::vector<mixer::runtime::HeaderOp>& ops, HttpResponse* r) {
  for (const auto& op : ops) {
    // A response header cannot remove a request header: Remove operations are not sent.
    if (op.op == mixer::config::HeaderOperation::Op::Remove || !mixer::isHttpToken(op.name)) {
      continue;
    }
    r->headers.emplace_back(op.name, mixer::httpHeaderValue(op.value));
  }
}

// How long a proxy's cache may keep this answer, and which of the original request's headers it
// depends on beyond the URI, method, host, scheme and client address (which a cache key must
// hold): Cache-Control and Vary from the attributes the decision read.
void addCacheHeaders(const mixer::attribute::AttributeReferences& refs,
                     mixer::attribute::Duration valid, bool cacheable, HttpResponse* r) {
  std::vector<std::string_view> vary;
  auto varyOn = [&vary](std::string_view h) {
    if (std::find(vary.begin(), vary.end(), h) == vary.end()) vary.push_back(h);
  };
  for (const auto& ref : refs.items()) {
    if (ref.name == "request.headers") {
      // A reference without a key is the map's presence (every lookup records it), as for the
      // referenced attributes of a Mixer Check.
      if (!ref.has_map_key) continue;
      if (mixer::isHttpToken(ref.map_key)) {
        varyOn(ref.map_key);
      } else {
        cacheable = false;
      }
    } else if (ref.name == "request.time" || ref.name == "context.time" ||
               ref.name == "request.id") {
      cacheable = false;  // different for every request
    } else if (ref.name == "request.useragent") {
      varyOn("user-agent");
    } else if (ref.name == "request.referer") {
      varyOn("referer");
    } else if (ref.name == "context.protocol") {
      varyOn("content-type");
    }
  }
  if (!cacheable || valid.seconds <= 0) {
    r->headers.emplace_back("Cache-Control", "no-store");
    return;
  }
  r->headers.emplace_back("Cache-Control", strCat("max-age=", valid.seconds));
  if (!vary.empty()) {
    std::string v;
    for (std::string_view h : vary) {
      if (!v.empty()) v += ", ";
      v += h;
    }
    r->headers.emplace_back("Vary", std::move(v));
  }
}

}  // namespace

absl::StatusOr<ForwardAuthQuota> parseForwardAuthQuota(std::string_view flag) {
  ForwardAuthQuota q;
  const size_t eq = flag.find('=');
  q.name = std::string(flag.substr(0, eq));
  if (q.name.empty()) {
    return absl::InvalidArgumentError(strCat("--forward-auth-quota '", flag, "': no quota name"));
  }
  if (eq != std::string_view::npos) {
    const std::string_view amount = flag.substr(eq + 1);
    if (!absl::SimpleAtoi(absl::string_view(amount.data(), amount.size()), &q.amount) ||
        q.amount < 0) {
      return absl::InvalidArgumentError(strCat("--forward-auth-quota '", flag, "': '", amount,
                                               "' is not a non-negative integer"));
    }
  }
  return q;
}

namespace {
constexpr int kCodes[] = {200, 400, 401, 403, 429};  // as by_code_
}  // namespace

ForwardAuth::ForwardAuth(const mixer::runtime::DispatcherSource* dispatchers,
                         ForwardAuthOptions options)
    : dispatchers_(dispatchers), options_(std::move(options)) {
  if (options_.registry) {
    answers_ = &prometheus::BuildCounter()
                    .Name("mixer_forward_auth_requests_total")
                    .Help("Forward-auth calls answered, by HTTP status.")
                    .Register(*options_.registry);
    for (size_t i = 0; i < std::size(kCodes); ++i) {
      by_code_[i] = &answers_->Add({{"code", std::to_string(kCodes[i])}});
    }
  }
}

void ForwardAuth::count(int code) {
  if (answers_ == nullptr) return;
  for (size_t i = 0; i < std::size(kCodes); ++i) {
    if (kCodes[i] == code) {
      by_code_[i]->Increment();
      return;
    }
  }
  answers_->Add({{"code", std::to_string(code)}}).Increment();
}

HttpResponse ForwardAuth::handle(const mixer::HttpRequest& request) {
  security::tls::Caller caller;
  if (options_.gate != nullptr) {
    std::string refusal;
    if (!options_.gate->admitIdentity(!request.peer_principal.empty(), request.peer_principal,
                                      security::tls::Api::kForwardAuth, &caller, "forward-auth",
                                      &refusal)) {
      count(403);
      return text(403, refusal);
    }
  }
  ThreadState& ts = threadState();
  ts.headers.clear();
  for (const auto& [name, value] : request.headers) ts.headers.push_back({name, value});
  const mixer::runtime::DispatcherConstSharedPtr dispatcher = dispatchers_->current();
  AttributeBag& bag = ts.bagFor(dispatcher->snapshot().vocabulary(), options_.limits);
  ForwardAuthConvention convention = ForwardAuthConvention::kNginx;
  if (auto s = ts.mapper.mapForwardAuth(ts.headers, nowTimestamp(), *ts.ids, &bag, &convention);
      !s.ok()) {
    count(400);
    return text(400, std::string(s.message()));
  }
  if (options_.gate != nullptr) {
    security::tls::applyCaller(caller, &bag);
  }
  ts.refs.clear();
  dispatcher->generate(&bag, &ts.refs);
  mixer::runtime::CheckDecision result = dispatcher->check(bag, &ts.refs);
  int32_t code = result.status_code;
  std::string message = result.status_message;
  bool quota_asked = false;  // a quota's answer is for this request only: not to be cached
  for (size_t i = 0; code == 0 && i < options_.quotas.size(); ++i) {
    const ForwardAuthQuota& q = options_.quotas[i];
    // No deduplication id: a forward-auth call's request id is the client's to choose.
    const mixer::runtime::QuotaRequest args{q.name, q.amount, false, {}};
    const mixer::runtime::QuotaDecision r = dispatcher->quota(bag, args, &ts.refs);
    if (!r.matched) continue;  // a quota no rule handles constrains nothing
    quota_asked = true;
    if (r.status_code != 0) {
      code = r.status_code;
      message = strCat("quota ", q.name, ": ", r.status_message);
    } else if (r.granted_amount < q.amount) {
      code = 8;  // RESOURCE_EXHAUSTED
      message =
          strCat("quota ", q.name, " exhausted: ", r.granted_amount, " of ", q.amount, " granted");
    }
  }
  if (code == 0) {
    // No body: the proxy forwards the original request and drops this answer's body, and nginx
    // keeps its upstream connection for the next auth subrequest only after an answer without
    // one (auth_request reads the status and headers alone).
    HttpResponse r(200, "text/plain", "");
    addHeaders(result.request_header_operations, &r);
    addCacheHeaders(ts.refs, result.valid_duration, !quota_asked, &r);
    count(200);
    return r;
  }
  const int status = httpStatusForCode(code);
  const std::string reason = message.empty() ? "denied" : message;
  // Traefik and Caddy answer the client with this answer, body included; nginx's auth_request
  // shows the client its own error page and, after a body, closes the upstream connection: the
  // reason is a header there (auth_request_set can log it).
  HttpResponse r = convention == ForwardAuthConvention::kNginx
                       ? HttpResponse(status, "text/plain", "")
                       : text(status, reason);
  r.headers.emplace_back("X-Mixer-Reason", mixer::httpHeaderValue(reason));
  addHeaders(result.response_header_operations, &r);
  addCacheHeaders(ts.refs, result.valid_duration, !quota_asked && result.status_code == code, &r);
  count(status);
  return r;
}

}  // namespace frontends::envoy
