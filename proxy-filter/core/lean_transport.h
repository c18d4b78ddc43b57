// LeanTransport: istio.mixer.v1 Check and Report as gRPC unary calls over HTTP/2 from Debian's
// libnghttp2, on one epoll thread of its own (`mixer-lean`), with no gRPC library on the call's
// path. It is the client side of mixs' lean port (`mixs server --lean-address`), and speaks
// standard gRPC, so any gRPC server of istio.mixer.v1 (mixs' gRPC port, Istio's mixs) answers it
// too. docs/proxy-filter.md, "The lean transport".
//
// What it keeps of GrpcTransport: the address forms (one host:port, a DNS name resolving to
// several replicas, or a comma-separated list), round robin over the replicas whose connection is
// up, the per-attempt deadline (sent as grpc-timeout too), retries of UNAVAILABLE and
// DEADLINE_EXCEEDED after the same jittered backoff, TLS (verified server, optional client
// certificate, resumed sessions; SIGPIPE left to the host: every write is send(MSG_NOSIGNAL)),
// and a destructor that waits for calls in flight.
//
// Where it differs: a replica's health is its connection. One that cannot be reached is skipped
// and reconnected after a backoff (1 s, times 1.6 per failure, at most 120 s, as gRPC's), one that
// sends GOAWAY (mixs draining, or its idle limit) finishes its streams and gets no new call, and
// the replica gets a new connection when a call needs it; grpc.health.v1 is not polled. A call
// refused by a stream the server never processed (REFUSED_STREAM, or above a GOAWAY's last stream)
// is sent again once at no retry's cost, as gRPC does. A DNS name is resolved when the transport
// starts and again every 30 s, on its thread (a failed resolution keeps the addresses it had).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

#include "proxy-filter/core/mixer_transport.h"
#include "security/tls/credentials.h"

namespace mixer::proxy {

struct LeanTransportOptions : GrpcTransportOptions {
  // TLS to the server from these files (`credentials` of the base is not used): `ca` verifies the
  // server (empty: the system's roots), `cert` and `key` are the client's certificate for mTLS.
  bool tls = false;
  security::tls::TlsFiles tls_files;
  // The largest response accepted; a larger one fails the call with RESOURCE_EXHAUSTED (gRPC
  // clients' default receive limit).
  size_t max_response_bytes = 4 << 20;
  // The first wait before reconnecting to a replica that could not be reached.
  int64_t reconnect_backoff_ms = 1000;
  // How often a DNS name in `address` is resolved again.
  int64_t resolve_every_ms = 30000;
  // For tests: the IP literals a name resolves to, instead of asking getaddrinfo (an empty answer
  // is a failed resolution). Called on the transport's thread.
  std::function<std::vector<std::string>(const std::string& name)> resolve_name;
};

// The replicas `address` names, as "host:port" entries (a scheme dns:///, ipv4: or ipv6: is
// dropped); empty, with `error` set, when an entry has no port or the address none.
std::vector<std::pair<std::string, std::string>> leanEndpoints(const std::string& address,
                                                               std::string* error);

// Thread-safe; `done` runs on the transport's thread (inside check()/report() never).
class LeanTransport : public MixerTransport {
 public:
  // Fails (with a message naming what is wrong) on a bad address or unreadable TLS files.
  static absl::StatusOr<std::unique_ptr<LeanTransport>> create(LeanTransportOptions options);
  ~LeanTransport() override;

  void check(const istio::mixer::v1::CheckRequest& request, CheckDone done) override;
  void report(const istio::mixer::v1::ReportRequest& request, ReportDone done) override;
  void reportSerialized(std::string request, ReportDone done) override;
  void checkSerialized(std::string request, CheckDone done) override;
  bool queuesCalls() const override { return true; }

  // Connections made so far (each replica's first, and each reconnect), and how many of them
  // resumed a TLS session.
  int64_t connections() const;
  int64_t resumedSessions() const;

  class Loop;

 private:
  explicit LeanTransport(std::unique_ptr<Loop> loop);
  std::unique_ptr<Loop> loop_;
};

}  // namespace mixer::proxy
