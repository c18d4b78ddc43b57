// The two MixerTransports, GrpcTransport and LeanTransport (libnghttp2), each against a real gRPC
// server on loopback (an in-test istio.mixer.v1.Mixer on an ephemeral port; the lean transport
// speaks standard gRPC, so a gRPC C++ server answers it): what is sent, what comes back, which
// failures are retried, the deadline, TLS, and the destructor waiting for calls in flight. Also
// grpcTarget(), leanEndpoints() and retryDelayMs().
#include <grpc/grpc_security_constants.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/security/auth_context.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "proxy-filter/core/lean_transport.h"
#include "proxy-filter/core/mixer_transport.h"
#include "security/tls/credentials.h"
#include "tests/proxy-filter/core/scripted_mixer.h"

namespace mixer::proxy {
namespace {

using istio::mixer::v1::CheckRequest;
using istio::mixer::v1::CheckResponse;
using istio::mixer::v1::ReportRequest;

struct CheckOutcome {
  grpc::Status status;
  CheckResponse response;
};

// A one-shot gate a server handler waits on (a blocked call), opened by the test.
class Gate {
 public:
  void open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// GrpcTransport ("grpc") or LeanTransport ("lean") over `o`.
std::unique_ptr<MixerTransport> makeTransport(const std::string& kind,
                                              const GrpcTransportOptions& o) {
  if (kind == "grpc") {
    return std::make_unique<GrpcTransport>(o);
  }
  LeanTransportOptions lean;
  static_cast<GrpcTransportOptions&>(lean) = o;
  auto made = LeanTransport::create(lean);
  EXPECT_TRUE(made.ok()) << made.status();
  return made.ok() ? *std::move(made) : nullptr;
}

class TransportTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.started()); }

  std::unique_ptr<MixerTransport> make(const GrpcTransportOptions& o) const {
    return makeTransport(GetParam(), o);
  }

  // A generous deadline (10 s) so that a slow machine does not turn an answer into a timeout;
  // the deadline tests set their own.
  GrpcTransportOptions options() const {
    GrpcTransportOptions o;
    o.address = server_.address();
    o.timeout_ms = 10000;
    return o;
  }
  // The same, retrying up to `max_retries` times after a short backoff (1-5 ms).
  GrpcTransportOptions retryingOptions(int max_retries) const {
    GrpcTransportOptions o = options();
    o.max_retries = max_retries;
    o.base_retry_ms = 1;
    o.max_retry_ms = 5;
    return o;
  }
  static CheckOutcome check(MixerTransport& transport, const CheckRequest& request) {
    auto done = std::make_shared<std::promise<CheckOutcome>>();
    transport.check(request, [done](const grpc::Status& s, const CheckResponse& r) {
      done->set_value({s, r});
    });
    return done->get_future().get();
  }
  static grpc::Status report(MixerTransport& transport, const ReportRequest& request) {
    auto done = std::make_shared<std::promise<grpc::Status>>();
    transport.report(request, [done](const grpc::Status& s) { done->set_value(s); });
    return done->get_future().get();
  }
  static CheckRequest checkRequest(const std::string& dedup) {
    CheckRequest r;
    r.set_global_word_count(222);
    r.set_deduplication_id(dedup);
    (*r.mutable_attributes()->mutable_strings())[152] = -1;  // destination.service
    r.mutable_attributes()->add_words("reviews.default.svc.cluster.local");
    return r;
  }
  static ReportRequest reportRequest(int records) {
    ReportRequest r;
    r.set_global_word_count(222);
    r.add_default_words("reviews.default.svc.cluster.local");
    for (int i = 0; i < records; ++i) {
      auto* a = r.add_attributes();
      (*a->mutable_strings())[152] = -1;
      (*a->mutable_int64s())[33] = 200 + i;
    }
    return r;
  }

  testing::ScriptedMixerServer server_;
};

TEST_P(TransportTest, ACheckIsSentAsItIsAndTheServersAnswerDelivered) {
  server_.mixer().onCheck([](const CheckRequest& req, CheckResponse* r) {
    r->mutable_precondition()->mutable_status()->set_code(7);
    r->mutable_precondition()->mutable_status()->set_message("denied " + req.deduplication_id());
    r->mutable_precondition()->set_valid_use_count(3);
    return grpc::Status::OK;
  });
  auto owned = make(options());
  MixerTransport& transport = *owned;
  const CheckRequest request = checkRequest("dedup-1");
  const CheckOutcome out = check(transport, request);
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  EXPECT_EQ(out.response.precondition().status().code(), 7);
  EXPECT_EQ(out.response.precondition().status().message(), "denied dedup-1");
  EXPECT_EQ(out.response.precondition().valid_use_count(), 3);
  const auto checks = server_.mixer().checks();
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0].SerializeAsString(), request.SerializeAsString());
}

TEST_P(TransportTest, AReportIsSentAndItsStatusDelivered) {
  auto owned = make(options());
  MixerTransport& transport = *owned;
  const ReportRequest request = reportRequest(3);
  EXPECT_TRUE(report(transport, request).ok());
  server_.mixer().onReport([](const ReportRequest&) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad batch");
  });
  const grpc::Status refused = report(transport, request);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(refused.error_message(), "bad batch");
  const auto reports = server_.mixer().reports();
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0].SerializeAsString(), request.SerializeAsString());
  EXPECT_EQ(reports[0].attributes_size(), 3);
}

TEST_P(TransportTest, ASerializedReportArrivesAsTheMessageItEncodes) {
  auto owned = make(options());
  MixerTransport& transport = *owned;
  const ReportRequest request = reportRequest(2);
  auto done = std::make_shared<std::promise<grpc::Status>>();
  transport.reportSerialized(request.SerializeAsString(),
                             [done](const grpc::Status& s) { done->set_value(s); });
  EXPECT_TRUE(done->get_future().get().ok());
  const auto reports = server_.mixer().reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].SerializeAsString(), request.SerializeAsString());
  EXPECT_EQ(reports[0].attributes(1).int64s().at(33), 201);
}

// What MixerClient sends: the bytes as they are, the answer parsed, retries resending them.
TEST_P(TransportTest, ASerializedCheckIsSentAsItIsAndItsAnswerParsed) {
  std::atomic<int> calls{0};
  server_.mixer().onCheck([&](const CheckRequest& req, CheckResponse* r) {
    if (calls.fetch_add(1) == 0) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "draining");
    }
    r->mutable_precondition()->mutable_status()->set_code(7);
    r->mutable_precondition()->mutable_status()->set_message("denied " + req.deduplication_id());
    (*r->mutable_quotas())["q"].set_granted_amount(5);
    return grpc::Status::OK;
  });
  auto owned = make(retryingOptions(1));
  MixerTransport& transport = *owned;
  const CheckRequest request = checkRequest("dedup-2");
  auto done = std::make_shared<std::promise<CheckOutcome>>();
  transport.checkSerialized(request.SerializeAsString(),
                            [done](const grpc::Status& s, const CheckResponse& r) {
                              done->set_value({s, r});
                            });
  const CheckOutcome out = done->get_future().get();
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  EXPECT_EQ(out.response.precondition().status().code(), 7);
  EXPECT_EQ(out.response.precondition().status().message(), "denied dedup-2");
  EXPECT_EQ(out.response.quotas().at("q").granted_amount(), 5);
  const auto checks = server_.mixer().checks();
  ASSERT_EQ(checks.size(), 2u);  // the refused attempt and its retry, the same bytes both times
  EXPECT_EQ(checks[0].SerializeAsString(), request.SerializeAsString());
  EXPECT_EQ(checks[1].SerializeAsString(), request.SerializeAsString());
}

TEST_P(TransportTest, ASerializedCheckDeliversTheServersRefusal) {
  server_.mixer().onCheck([](const CheckRequest&, CheckResponse*) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad word index");
  });
  auto owned = make(options());
  MixerTransport& transport = *owned;
  auto done = std::make_shared<std::promise<CheckOutcome>>();
  transport.checkSerialized(checkRequest("d").SerializeAsString(),
                            [done](const grpc::Status& s, const CheckResponse& r) {
                              done->set_value({s, r});
                            });
  const CheckOutcome out = done->get_future().get();
  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(out.status.error_message(), "bad word index");
}

// One call of a generic test server: Health.Watch gets one HealthCheckResponse{status: SERVING}
// and its stream is left open (the client's channel checks health before it sends a Check);
// anything else gets `answer` as its one message and OK.
class AnsweringReactor : public grpc::ServerGenericBidiReactor {
 public:
  AnsweringReactor(bool health, std::string answer) : health_(health), answer_(std::move(answer)) {
    StartRead(&request_);
  }
  void OnReadDone(bool ok) override {
    if (!ok) {
      finishOnce(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request"));
      return;
    }
    grpc::Slice bytes(health_ ? std::string("\x08\x01", 2) : answer_);
    response_ = grpc::ByteBuffer(&bytes, 1);
    if (health_) {
      StartWrite(&response_);
    } else {
      std::lock_guard<std::mutex> lock(mu_);
      finished_ = true;
      StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    }
  }
  void OnCancel() override { finishOnce(grpc::Status::CANCELLED); }
  void OnDone() override { delete this; }
  static bool isHealth(grpc::GenericCallbackServerContext* ctx) {
    return ctx->method() == "/grpc.health.v1.Health/Watch";
  }

 private:
  void finishOnce(const grpc::Status& status) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!finished_) {
      finished_ = true;
      Finish(status);
    }
  }
  const bool health_;
  const std::string answer_;
  std::mutex mu_;
  bool finished_ = false;
  grpc::ByteBuffer request_, response_;
};

// A server whose Check answers are bytes that are no protobuf message (a length past the end):
// what a broken or hostile server could send. Its health service says SERVING, so the client's
// channel (with health checking) sends it the Check.
class GarbageServer : public grpc::CallbackGenericService {
 public:
  GarbageServer() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterCallbackGenericService(this);
    server_ = builder.BuildAndStart();
  }
  ~GarbageServer() override { server_->Shutdown(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    // A Check's answer: a length of 5 with 2 bytes after it.
    return new AnsweringReactor(AnsweringReactor::isHealth(ctx), std::string("\x0a\x05"
                                                                             "ab",
                                                                             4));
  }

  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST_P(TransportTest, AnUnparsableCheckAnswerIsInternalWithItsReason) {
  GarbageServer server;
  GrpcTransportOptions o;
  o.address = server.address();
  o.timeout_ms = 10000;
  auto owned = make(o);
  MixerTransport& transport = *owned;
  auto done = std::make_shared<std::promise<CheckOutcome>>();
  transport.checkSerialized(CheckRequest().SerializeAsString(),
                            [done](const grpc::Status& s, const CheckResponse& r) {
                              done->set_value({s, r});
                            });
  const CheckOutcome out = done->get_future().get();
  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_NE(out.status.error_message().find("unparsable CheckResponse"), std::string::npos)
      << out.status.error_message();
}

// An mTLS server that answers every Check with an empty CheckResponse and records, per Check,
// whether its connection resumed a TLS session and the client certificate's identity. It closes
// each connection after `max_age_ms` (gRPC's max-connection-age), so that a client must connect
// again. Health.Watch says SERVING.
class TlsResumingServer : public grpc::CallbackGenericService {
 public:
  TlsResumingServer(const std::string& certs, int max_age_ms) {
    security::tls::TlsFiles files;
    files.cert = certs + "/server.pem";
    files.key = certs + "/server.key";
    files.ca = certs + "/ca.pem";  // client certificates required and verified
    auto credentials = security::tls::serverCredentials(files);
    EXPECT_TRUE(credentials.ok()) << credentials.status();
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", *credentials, &port_);
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, max_age_ms);
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, 100);
    builder.RegisterCallbackGenericService(this);
    server_ = builder.BuildAndStart();
  }
  ~TlsResumingServer() override {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // "true" or "false" for each Check served, in order, and the caller's verified identity.
  std::vector<std::string> resumed() {
    std::lock_guard<std::mutex> lock(mu_);
    return resumed_;
  }
  std::vector<std::string> principals() {
    std::lock_guard<std::mutex> lock(mu_);
    return principals_;
  }

 private:
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    const bool health = AnsweringReactor::isHealth(ctx);
    if (!health) {
      const auto auth = ctx->auth_context();
      const auto values = auth->FindPropertyValues(GRPC_SSL_SESSION_REUSED_PROPERTY);
      const security::tls::PeerIdentity peer = security::tls::peerIdentity(*auth);
      std::lock_guard<std::mutex> lock(mu_);
      principals_.push_back(peer.authenticated ? peer.principal : "unauthenticated");
      resumed_.emplace_back(
          values.empty() ? "absent" : std::string(values.front().data(), values.front().size()));
    }
    return new AnsweringReactor(health, "");  // an empty CheckResponse
  }

  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::mutex mu_;
  std::vector<std::string> resumed_;
  std::vector<std::string> principals_;
};

// Certificates made by openssl (tests/testing/make_test_certs.sh; ctest sets MIXER_SOURCE_DIR).
// `name` tells apart several sets (each with its own CA) in one test.
std::string makeTestCerts(const std::string& name = "certs") {
  const char* source = std::getenv("MIXER_SOURCE_DIR");
  EXPECT_NE(source, nullptr) << "MIXER_SOURCE_DIR is not set (ctest sets it)";
  const std::string dir =
      ::testing::TempDir() + "/transport-" + name + "-" + std::to_string(getpid());
  const std::string command = std::string("/bin/sh ") + (source != nullptr ? source : ".") +
                              "/tests/testing/make_test_certs.sh " + dir +
                              " proxy=istio-system/ingress >/dev/null";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  return dir;
}

// One Check with an empty request, and its outcome.
CheckOutcome checkOnce(MixerTransport& transport) {
  auto done = std::make_shared<std::promise<CheckOutcome>>();
  transport.check(CheckRequest(), [done](const grpc::Status& s, const CheckResponse& r) {
    done->set_value({s, r});
  });
  return done->get_future().get();
}

// mixs closes connections at its connection age or idle limit; the transport connects again and
// resumes its TLS session (a session ticket from the first connection) instead of a full
// handshake. A channel without the session cache makes a full handshake each time, so the
// server's "ssl_session_reused" tells the two apart. A resumed session keeps the client
// certificate's identity: the caller policy and the identity attributes see the same caller.
TEST(GrpcTransportTlsTest, AReconnectResumesTheTlsSession) {
  const std::string certs = makeTestCerts();
  TlsResumingServer server(certs, 300);
  security::tls::TlsFiles files;
  files.ca = certs + "/ca.pem";
  files.cert = certs + "/proxy.pem";
  files.key = certs + "/proxy.key";
  auto credentials = security::tls::channelCredentials(files);
  ASSERT_TRUE(credentials.ok()) << credentials.status();

  // Without the cache: two connections, two full handshakes.
  {
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    auto channel = grpc::CreateCustomChannel(server.address(), *credentials, args);
    auto stub = istio::mixer::v1::Mixer::NewStub(channel);
    for (int i = 0; i < 2; ++i) {
      grpc::ClientContext ctx;
      ctx.set_wait_for_ready(true);
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      CheckResponse response;
      const grpc::Status status = stub->Check(&ctx, CheckRequest(), &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      std::this_thread::sleep_for(std::chrono::milliseconds(700));  // past the connection's age
    }
  }
  EXPECT_EQ(server.resumed(), (std::vector<std::string>{"false", "false"}));

  // The transport: its first connection gets a ticket from the server (a new session, since
  // the cache holds none for this server yet); after the server closes it, the next one resumes.
  GrpcTransportOptions o;
  o.address = server.address();
  o.timeout_ms = 10000;
  o.credentials = *credentials;
  o.server_name = "localhost";
  GrpcTransport transport(o);
  for (int i = 0; i < 2; ++i) {
    const CheckOutcome out = checkOnce(transport);
    EXPECT_TRUE(out.status.ok()) << out.status.error_message();
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
  }
  const std::vector<std::string> resumed = server.resumed();
  ASSERT_EQ(resumed.size(), 4u);
  EXPECT_EQ(resumed[2], "false");
  EXPECT_EQ(resumed[3], "true");
  const std::string proxy = "spiffe://cluster.local/ns/istio-system/sa/ingress";
  EXPECT_EQ(server.principals(), (std::vector<std::string>{proxy, proxy, proxy, proxy}));
  std::filesystem::remove_all(certs);
}

// The lean transport's options for mTLS to `address` with the certificates in `certs`
// (makeTestCerts()), verifying the server as "localhost".
LeanTransportOptions mutualTlsOptions(const std::string& certs, const std::string& address) {
  LeanTransportOptions o;
  o.address = address;
  o.timeout_ms = 10000;
  o.tls = true;
  o.tls_files.ca = certs + "/ca.pem";
  o.tls_files.cert = certs + "/proxy.pem";
  o.tls_files.key = certs + "/proxy.key";
  o.server_name = "localhost";
  return o;
}

// The lean transport over mTLS to a gRPC C++ server: the server's certificate verified under the
// name asked for, the client's certificate presented, ALPN h2, and a reconnect after the server's
// connection age resuming the session from the ticket of the first connection.
TEST(LeanTransportTlsTest, MutualTlsToAGrpcServerAndAReconnectResumesTheSession) {
  const std::string certs = makeTestCerts();
  TlsResumingServer server(certs, 300);
  LeanTransportOptions o = mutualTlsOptions(certs, server.address());
  auto made = LeanTransport::create(o);
  ASSERT_TRUE(made.ok()) << made.status();
  LeanTransport& transport = **made;
  for (int i = 0; i < 2; ++i) {
    const CheckOutcome out = checkOnce(transport);
    EXPECT_TRUE(out.status.ok()) << out.status.error_message();
    std::this_thread::sleep_for(std::chrono::milliseconds(700));  // past the connection's age
  }
  EXPECT_EQ(server.resumed(), (std::vector<std::string>{"false", "true"}));
  const std::string proxy = "spiffe://cluster.local/ns/istio-system/sa/ingress";
  EXPECT_EQ(server.principals(), (std::vector<std::string>{proxy, proxy}));
  EXPECT_EQ(transport.connections(), 2);
  EXPECT_EQ(transport.resumedSessions(), 1);

  // A name the server's certificate does not carry: the handshake fails, the call is UNAVAILABLE
  // with the reason.
  o.server_name = "not-the-server.example";
  auto wrong = LeanTransport::create(o);
  ASSERT_TRUE(wrong.ok()) << wrong.status();
  const CheckOutcome refused = checkOnce(**wrong);
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(refused.status.error_message().find("TLS handshake"), std::string::npos)
      << refused.status.error_message();
  EXPECT_EQ(server.resumed().size(), 2u);  // it reached no handler

  // Unreadable files are refused when the transport is made, naming the file.
  o.tls_files.key = certs + "/missing.key";
  auto bad = LeanTransport::create(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("missing.key"), std::string::npos) << bad.status();
  std::filesystem::remove_all(certs);
}

// TLS does not change how the process handles SIGPIPE: the transport writes with
// send(MSG_NOSIGNAL) through its own socket BIO, so a host that has not ignored SIGPIPE (nginx
// has) keeps its own disposition, and a write to a connection the server closed fails instead of
// ending the process.
TEST(LeanTransportTlsTest, TlsLeavesTheProcessSigpipeDispositionAlone) {
  struct sigaction before {};
  ASSERT_EQ(sigaction(SIGPIPE, nullptr, &before), 0);
  signal(SIGPIPE, SIG_DFL);
  const std::string certs = makeTestCerts();
  {
    TlsResumingServer server(certs, 60000);
    auto made = LeanTransport::create(mutualTlsOptions(certs, server.address()));
    ASSERT_TRUE(made.ok()) << made.status();
    const CheckOutcome out = checkOnce(**made);
    EXPECT_TRUE(out.status.ok()) << out.status.error_message();
    struct sigaction now {};
    ASSERT_EQ(sigaction(SIGPIPE, nullptr, &now), 0);
    EXPECT_EQ(now.sa_handler, SIG_DFL);
  }
  sigaction(SIGPIPE, &before, nullptr);
  std::filesystem::remove_all(certs);
}

// The CA file rotated under a running transport: after its refresh interval, a new connection
// verifies the server against the new file. Before, the server's certificate (from another CA)
// is refused.
TEST(LeanTransportTlsTest, ARotatedCaFileIsReadForNewConnections) {
  const std::string old_certs = makeTestCerts("old");
  const std::string new_certs = makeTestCerts("new");
  TlsResumingServer server(new_certs, 100000);
  const std::string ca = old_certs + "/client-ca.pem";
  std::filesystem::copy_file(old_certs + "/ca.pem", ca);
  LeanTransportOptions o;
  o.address = server.address();
  o.timeout_ms = 10000;
  o.tls = true;
  o.tls_files.ca = ca;
  o.tls_files.cert = new_certs + "/proxy.pem";
  o.tls_files.key = new_certs + "/proxy.key";
  o.tls_files.refresh = std::chrono::seconds(1);
  o.server_name = "localhost";
  o.reconnect_backoff_ms = 50;
  auto made = LeanTransport::create(o);
  ASSERT_TRUE(made.ok()) << made.status();
  auto call = [&] {
    auto done = std::make_shared<std::promise<CheckOutcome>>();
    (*made)->check(CheckRequest(), [done](const grpc::Status& s, const CheckResponse& r) {
      done->set_value({s, r});
    });
    return done->get_future().get();
  };
  const CheckOutcome refused = call();
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(refused.status.error_message().find("TLS handshake"), std::string::npos)
      << refused.status.error_message();

  std::filesystem::copy_file(new_certs + "/ca.pem", ca,
                             std::filesystem::copy_options::overwrite_existing);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // past the refresh interval
  const CheckOutcome ok = call();
  EXPECT_TRUE(ok.status.ok()) << ok.status.error_message();
  EXPECT_EQ(server.resumed().size(), 1u);  // only the second call reached the server
  std::filesystem::remove_all(old_certs);
  std::filesystem::remove_all(new_certs);
}

// Several replicas: calls go round robin over them; one that stops serving gets no more calls and
// the others answer every one.
TEST_P(TransportTest, CallsAreSpreadOverReplicasAndAStoppedOneIsSkipped) {
  testing::ScriptedMixerServer other;
  ASSERT_TRUE(other.started());
  GrpcTransportOptions o = retryingOptions(2);
  o.address = server_.address() + "," + other.address();
  auto owned = make(o);
  MixerTransport& transport = *owned;
  for (int i = 0; i < 40 && (server_.mixer().checks().empty() || other.mixer().checks().empty());
       ++i) {
    EXPECT_TRUE(check(transport, checkRequest("d")).status.ok());
  }
  EXPECT_FALSE(server_.mixer().checks().empty());
  EXPECT_FALSE(other.mixer().checks().empty());
  server_.shutdown();
  const size_t before = other.mixer().checks().size();
  for (int i = 0; i < 10; ++i) {
    const CheckOutcome out = check(transport, checkRequest("d"));
    EXPECT_TRUE(out.status.ok()) << out.status.error_message();
  }
  EXPECT_EQ(other.mixer().checks().size(), before + 10);
}

// The attempt's deadline travels with the call (grpc-timeout): the server sees it, no later than
// the client's own.
TEST_P(TransportTest, TheDeadlineTravelsToTheServer) {
  GrpcTransportOptions o = options();
  o.timeout_ms = 3000;
  auto owned = make(o);
  const auto before = std::chrono::system_clock::now();
  ASSERT_TRUE(check(*owned, checkRequest("d")).status.ok());
  const auto deadlines = server_.mixer().checkDeadlines();
  ASSERT_EQ(deadlines.size(), 1u);
  EXPECT_GT(deadlines[0], before);
  EXPECT_LE(deadlines[0], before + std::chrono::milliseconds(3100));
}

// An answer larger than the client's receive limit (4 MiB, gRPC's default) is refused.
TEST_P(TransportTest, AnAnswerPastTheReceiveLimitIsResourceExhausted) {
  server_.mixer().onCheck([](const CheckRequest&, CheckResponse* r) {
    r->mutable_precondition()->mutable_status()->set_message(std::string(5 << 20, 'x'));
    return grpc::Status::OK;
  });
  auto owned = make(options());
  MixerTransport& transport = *owned;
  const CheckOutcome out = check(transport, checkRequest("d"));
  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << out.status.error_message();
  // The connection serves on.
  server_.mixer().onCheck([](const CheckRequest&, CheckResponse* r) {
    r->mutable_precondition()->mutable_status()->set_code(7);
    return grpc::Status::OK;
  });
  const CheckOutcome next = check(transport, checkRequest("d"));
  ASSERT_TRUE(next.status.ok()) << next.status.error_message();
  EXPECT_EQ(next.response.precondition().status().code(), 7);
}

INSTANTIATE_TEST_SUITE_P(BothTransports, TransportTest, ::testing::Values("grpc", "lean"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

TEST(LeanEndpointsTest, EveryAddressFormOfTheGrpcTransport) {
  using Endpoints = std::vector<std::pair<std::string, std::string>>;
  std::string error;
  EXPECT_EQ(leanEndpoints("127.0.0.1:9091", &error), (Endpoints{{"127.0.0.1", "9091"}}));
  EXPECT_EQ(leanEndpoints("dns:///mixs.istio-system:9091", &error),
            (Endpoints{{"mixs.istio-system", "9091"}}));
  EXPECT_EQ(leanEndpoints(" 10.0.0.1:1, 10.0.0.2:2 ", &error),
            (Endpoints{{"10.0.0.1", "1"}, {"10.0.0.2", "2"}}));
  EXPECT_EQ(leanEndpoints("ipv6:[::1]:9091,[fe80::1]:9", &error),
            (Endpoints{{"::1", "9091"}, {"fe80::1", "9"}}));
  for (const char* bad : {"", "mixs", "mixs:", "mixs:port", "::1:9091x", ",", "a:1,b"}) {
    error.clear();
    EXPECT_TRUE(leanEndpoints(bad, &error).empty()) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

// The default checkSerialized() of a transport that only has check(): the bytes parsed, or a clear
// error without a call.
TEST(MixerTransportTest, TheDefaultSerializedCheckParsesOrRefusesTheBytes) {
  class Recording : public MixerTransport {
   public:
    void check(const CheckRequest& request, CheckDone done) override {
      checks.push_back(request);
      done(grpc::Status::OK, {});
    }
    void report(const ReportRequest&, ReportDone done) override { done(grpc::Status::OK); }
    std::vector<CheckRequest> checks;
  } transport;
  CheckRequest request;
  request.set_deduplication_id("d-1");
  grpc::Status status;
  transport.checkSerialized(request.SerializeAsString(),
                            [&](const grpc::Status& s, const CheckResponse&) { status = s; });
  EXPECT_TRUE(status.ok());
  ASSERT_EQ(transport.checks.size(), 1u);
  EXPECT_EQ(transport.checks[0].deduplication_id(), "d-1");
  transport.checkSerialized(std::string("\x0a\x05"
                                        "ab",
                                        4),
                            [&](const grpc::Status& s, const CheckResponse&) { status = s; });
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(status.error_message(), "unparsable serialized CheckRequest");
  EXPECT_EQ(transport.checks.size(), 1u);
}

TEST_P(TransportTest, UnavailableIsRetriedUpToMaxRetriesThenDelivered) {
  std::atomic<int> calls{0};
  server_.mixer().onCheck([&](const CheckRequest&, CheckResponse*) {
    calls.fetch_add(1);
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "draining");
  });
  auto owned = make(retryingOptions(2));
  MixerTransport& transport = *owned;
  const CheckOutcome out = check(transport, checkRequest("d"));
  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(out.status.error_message(), "draining");
  EXPECT_EQ(calls.load(), 3);  // the first attempt and two retries
}

TEST_P(TransportTest, ARetryThatSucceedsDeliversTheLaterAnswer) {
  std::atomic<int> calls{0};
  server_.mixer().onCheck([&](const CheckRequest&, CheckResponse* r) {
    if (calls.fetch_add(1) == 0) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "once");
    }
    r->mutable_precondition()->mutable_status()->set_code(8);
    return grpc::Status::OK;
  });
  auto owned = make(retryingOptions(3));
  MixerTransport& transport = *owned;
  const CheckOutcome out = check(transport, checkRequest("d"));
  ASSERT_TRUE(out.status.ok());
  EXPECT_EQ(out.response.precondition().status().code(), 8);
  EXPECT_EQ(calls.load(), 2);
}

TEST_P(TransportTest, AnAnswerOtherThanATransportFailureIsNotRetried) {
  std::atomic<int> calls{0};
  server_.mixer().onCheck([&](const CheckRequest&, CheckResponse*) {
    calls.fetch_add(1);
    return grpc::Status(grpc::StatusCode::INTERNAL, "inconsistent global dictionary");
  });
  auto owned = make(retryingOptions(3));
  MixerTransport& transport = *owned;
  const CheckOutcome out = check(transport, checkRequest("d"));
  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(calls.load(), 1);
}

TEST_P(TransportTest, AnAttemptPastItsDeadlineFailsAndIsRetried) {
  // The server holds every call until the test ends: each attempt can only end by its deadline.
  Gate gate;
  std::atomic<int> calls{0};
  server_.mixer().onCheck([&](const CheckRequest&, CheckResponse*) {
    calls.fetch_add(1);
    gate.wait();
    return grpc::Status::OK;
  });
  GrpcTransportOptions o = retryingOptions(1);
  o.timeout_ms = 1000;
  CheckOutcome out;
  {
    auto owned = make(o);
    MixerTransport& transport = *owned;
    out = check(transport, checkRequest("d"));
  }
  gate.open();
  server_.shutdown();
  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(calls.load(), 2);
}

TEST_P(TransportTest, AServerThatIsDownGivesUnavailable) {
  GrpcTransportOptions o = options();
  o.timeout_ms = 2000;
  server_.shutdown();  // the port now refuses connections
  auto owned = make(o);
  MixerTransport& transport = *owned;
  const CheckOutcome check_out = check(transport, checkRequest("d"));
  EXPECT_EQ(check_out.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(report(transport, reportRequest(1)).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_P(TransportTest, TheDestructorWaitsForCallsInFlight) {
  Gate gate;
  std::promise<void> entered;
  server_.mixer().onCheck([&](const CheckRequest&, CheckResponse* r) {
    entered.set_value();
    gate.wait();
    r->mutable_precondition()->mutable_status()->set_code(7);
    return grpc::Status::OK;
  });
  std::atomic<bool> done{false};
  std::atomic<int32_t> code{-1};
  auto transport = make(options());
  transport->check(checkRequest("d"), [&](const grpc::Status& s, const CheckResponse& r) {
    code = s.ok() ? r.precondition().status().code() : -2;
    done = true;
  });
  entered.get_future().wait();  // the call is at the server, unanswered
  std::thread opener([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    gate.open();
  });
  transport.reset();
  // The answer was delivered before the destructor returned, not abandoned.
  EXPECT_TRUE(done.load());
  EXPECT_EQ(code.load(), 7);
  opener.join();
}

TEST(GrpcTargetTest, OneAddressOrASchemeIsKeptAndAListBecomesAnIpTarget) {
  std::string error;
  EXPECT_EQ(grpcTarget("127.0.0.1:9091", &error), "127.0.0.1:9091");
  EXPECT_EQ(grpcTarget("  mixs.istio-system:9091 ", &error), "mixs.istio-system:9091");
  EXPECT_EQ(grpcTarget("unix:/run/mixs.sock", &error), "unix:/run/mixs.sock");
  EXPECT_EQ(grpcTarget("ipv4:10.0.0.1:1,10.0.0.2:2", &error), "ipv4:10.0.0.1:1,10.0.0.2:2");
  // Empty entries of a list are skipped.
  EXPECT_EQ(grpcTarget("10.0.0.1:1,,10.0.0.2:2,", &error), "ipv4:10.0.0.1:1,10.0.0.2:2");
  EXPECT_EQ(error, "");
}

TEST(GrpcTargetTest, AListWithANameAPortlessEntryOrNothingIsRefused) {
  std::string error;
  EXPECT_EQ(grpcTarget("10.0.0.1:1,mixs:2", &error), "");
  EXPECT_NE(error.find("'mixs:2'"), std::string::npos) << error;
  error.clear();
  EXPECT_EQ(grpcTarget("10.0.0.1:1,10.0.0.2", &error), "");
  EXPECT_NE(error.find("'10.0.0.2'"), std::string::npos) << error;
  error.clear();
  EXPECT_EQ(grpcTarget("10.0.0.1:1,10.0.0.2:x", &error), "");
  EXPECT_FALSE(error.empty());
  error.clear();
  EXPECT_EQ(grpcTarget(" , ", &error), "");
  EXPECT_EQ(error, "no mixs address");
}

TEST(RetryDelayTest, JitteredWithinBaseAndTheCappedDoubling) {
  GrpcTransportOptions o;  // 80 ms base, 1000 ms cap
  std::mt19937_64 random(1);
  for (int i = 0; i < 200; ++i) {
    const int retry = i % 6;
    const int64_t d = retryDelayMs(o, retry, &random);
    EXPECT_GE(d, 80);
    EXPECT_LE(d, std::min<int64_t>(1000, 80 << retry));
  }
  EXPECT_EQ(retryDelayMs(o, 0, &random), 80);
}

TEST(RetryDelayTest, ACapBelowTheBaseWaitsTheBase) {
  GrpcTransportOptions o;
  o.base_retry_ms = 300;
  o.max_retry_ms = 100;
  std::mt19937_64 random(7);
  for (int retry = 0; retry < 5; ++retry) {
    EXPECT_EQ(retryDelayMs(o, retry, &random), 300);
  }
}

}  // namespace
}  // namespace mixer::proxy
