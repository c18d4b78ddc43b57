// The attributes of an inbound HTTP request as the nginx module builds them (about 25, 8
// headers): what the proxy client benchmarks send, cache and report.
#pragma once

#include "proxy-filter/core/http_attributes.h"

namespace mixer::bench {

inline proxy::Attributes inboundRequest() {
  proxy::HttpRequestInfo r;
  r.method = "GET";
  r.path = "/productpage?u=normal";
  r.host = "bookinfo.example.com";
  r.scheme = "http";
  r.headers = {{"host", "bookinfo.example.com"},
               {"user-agent", "Mozilla/5.0 (X11; Linux x86_64)"},
               {"accept", "text/html,application/xhtml+xml"},
               {"accept-encoding", "gzip, deflate"},
               {"accept-language", "en-US,en;q=0.5"},
               {"x-request-id", "c3a8a5a8-4fb6-4c07-9a1b-6a4b3f1e2d77"},
               {"x-user", "alice"},
               {"cookie", "session=abc123"}};
  r.size = 0;
  r.time = proxy::Timestamp(proxy::Duration(1700000000000000000));
  r.source_ip = "10.44.0.12";
  r.source_port = 43712;
  r.destination_ip = "10.44.0.20";
  r.destination_port = 9080;
  proxy::Attributes a;
  proxy::buildRequestAttributes(r, &a);
  a.setString("destination.service", "productpage.default.svc.cluster.local");
  return a;
}

}  // namespace mixer::bench
