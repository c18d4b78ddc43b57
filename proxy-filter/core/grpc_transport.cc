#include <arpa/inet.h>
#include <grpcpp/alarm.h>
#include <netinet/in.h>
#include <pthread.h>

#include <algorithm>

#include "proxy-filter/core/mixer_transport.h"
#include "security/tls/credentials.h"

namespace mixer::proxy {

using istio::mixer::v1::CheckRequest;
using istio::mixer::v1::CheckResponse;
using istio::mixer::v1::ReportRequest;
using istio::mixer::v1::ReportResponse;

int64_t retryDelayMs(const GrpcTransportOptions& options, int retry, std::mt19937_64* random) {
  const int64_t base = std::max<int64_t>(options.base_retry_ms, 0);
  const int64_t ceiling = std::min(options.max_retry_ms, base << std::min(retry, 20));
  if (ceiling <= base) {
    return base;
  }
  return std::uniform_int_distribution<int64_t>(base, ceiling)(*random);
}

// One RPC with its retries. It lives from check()/report() until its last event, and deletes
// itself then; while it lives the transport counts it in flight.
template <class Request, class Response>
class GrpcTransport::Call : public GrpcTransport::Tag {
 public:
  using Done = std::function<void(const grpc::Status&, const Response&)>;

  // `method`: the full method name of a serialized (grpc::ByteBuffer) request.
  Call(GrpcTransport* owner, const Request& request, Done done, const char* method = nullptr)
      : owner_(owner), method_(method), request_(request), done_(std::move(done)) {
    owner_->callStarted();
  }
  ~Call() override { owner_->callFinished(); }

  void start() {
    waiting_for_alarm_ = false;
    context_ = std::make_unique<grpc::ClientContext>();
    context_->set_deadline(std::chrono::system_clock::now() +
                           std::chrono::milliseconds(owner_->options_.timeout_ms));
    response_.Clear();
    if constexpr (std::is_same_v<Request, CheckRequest>) {
      reader_ = owner_->stub_->AsyncCheck(context_.get(), request_, &owner_->queue_);
    } else if constexpr (std::is_same_v<Request, grpc::ByteBuffer>) {
      reader_ = owner_->generic_stub_.PrepareUnaryCall(context_.get(), method_, request_,
                                                       &owner_->queue_);
      reader_->StartCall();
    } else {
      reader_ = owner_->stub_->AsyncReport(context_.get(), request_, &owner_->queue_);
    }
    reader_->Finish(&response_, &status_, this);
  }

  void fire(bool ok) override {
    if (waiting_for_alarm_) {
      start();
      return;
    }
    const bool transient = status_.error_code() == grpc::StatusCode::UNAVAILABLE ||
                           status_.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
    if (transient && retries_ < owner_->options_.max_retries) {
      const int64_t delay = owner_->nextRetryDelayMs(retries_++);
      waiting_for_alarm_ = true;
      alarm_.Set(&owner_->queue_,
                 std::chrono::system_clock::now() + std::chrono::milliseconds(delay), this);
      return;
    }
    done_(status_, response_);
    delete this;
  }

 private:
  GrpcTransport* const owner_;
  const char* const method_;
  const Request request_;
  Response response_;
  grpc::Status status_;
  Done done_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> reader_;
  grpc::Alarm alarm_;
  bool waiting_for_alarm_ = false;
  int retries_ = 0;
};

const char kMixerServiceConfig[] = R"({"loadBalancingConfig":[{"round_robin":{}}],)"
                                   R"("healthCheckConfig":{"serviceName":"istio.mixer.v1.Mixer"}})";

namespace {

// An IP literal with its port: "1.2.3.4:80" (4) or "[::1]:80" (6); 0 for anything else.
int ipFamily(std::string_view entry) {
  const size_t colon = entry.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == entry.size() ||
      entry.find_first_not_of("0123456789", colon + 1) != std::string_view::npos) {
    return 0;
  }
  std::string host(entry.substr(0, colon));
  unsigned char buf[sizeof(in6_addr)];
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    return inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), buf) == 1 ? 6 : 0;
  }
  return inet_pton(AF_INET, host.c_str(), buf) == 1 ? 4 : 0;
}

std::string trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) {
    return "";
  }
  const size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

std::shared_ptr<grpc::Channel> makeChannel(const GrpcTransportOptions& options) {
  std::string error;
  std::string target = grpcTarget(options.address, &error);
  if (target.empty()) {
    target = options.address;  // gRPC reports it unusable: every call fails by the fail policy
  }
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(kMixerServiceConfig);
  // The resolver's own service config (DNS TXT records) does not replace this one.
  args.SetInt(GRPC_ARG_SERVICE_CONFIG_DISABLE_RESOLUTION, 1);
  // Retries are this transport's own (Call, with max_retries and backoff); gRPC's retry filter
  // would only add its per-call state and buffering of the request to every call.
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  if (!options.credentials) {
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  }
  if (!options.server_name.empty()) {
    args.SetSslTargetNameOverride(options.server_name);
  }
  // A reconnect (mixs' connection age or idle limit) resumes the TLS session.
  security::tls::enableSessionResumption(&args);
  return grpc::CreateCustomChannel(target, options.credentials, args);
}

}  // namespace

std::string grpcTarget(const std::string& address, std::string* error) {
  // One address, or a target that already has its scheme: as it is.
  if (address.find(',') == std::string::npos || address.rfind("ipv4:", 0) == 0 ||
      address.rfind("ipv6:", 0) == 0) {
    return trim(address);
  }
  std::string list;
  int family = 0;
  size_t start = 0;
  while (start <= address.size()) {
    size_t comma = address.find(',', start);
    if (comma == std::string::npos) {
      comma = address.size();
    }
    const std::string entry = trim(std::string_view(address).substr(start, comma - start));
    start = comma + 1;
    if (entry.empty()) {
      continue;
    }
    const int f = ipFamily(entry);
    if (f == 0) {
      *error = "'" + entry +
               "': several mixs addresses must be IP:port ([IPv6]:port); for names, give one DNS "
               "name that resolves to every replica";
      return "";
    }
    if (family != 0 && f != family) {
      *error = "several mixs addresses must be all IPv4 or all IPv6";
      return "";
    }
    family = f;
    list += (list.empty() ? "" : ",") + entry;
  }
  if (list.empty()) {
    *error = "no mixs address";
    return "";
  }
  return (family == 4 ? "ipv4:" : "ipv6:") + list;
}

GrpcTransport::GrpcTransport(GrpcTransportOptions options)
    : options_(std::move(options)),
      channel_(makeChannel(options_)),
      stub_(istio::mixer::v1::Mixer::NewStub(channel_)),
      generic_stub_(channel_),
      random_(std::random_device{}()) {
  poller_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "mixer-grpc-cq");
    poll();
  });
}

GrpcTransport::~GrpcTransport() {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    idle_.wait(lock, [this] { return in_flight_ == 0; });
  }
  queue_.Shutdown();
  poller_.join();
}

void GrpcTransport::poll() {
  void* tag = nullptr;
  bool ok = false;
  while (queue_.Next(&tag, &ok)) {
    static_cast<Tag*>(tag)->fire(ok);
  }
}

void GrpcTransport::callStarted() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++in_flight_;
}

void GrpcTransport::callFinished() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (--in_flight_ == 0) {
    idle_.notify_all();
  }
}

int64_t GrpcTransport::nextRetryDelayMs(int retry) {
  std::lock_guard<std::mutex> lock(mutex_);
  return retryDelayMs(options_, retry, &random_);
}

void GrpcTransport::check(const CheckRequest& request, CheckDone done) {
  (new Call<CheckRequest, CheckResponse>(this, request, std::move(done)))->start();
}

void GrpcTransport::report(const ReportRequest& request, ReportDone done) {
  (new Call<ReportRequest, ReportResponse>(
       this, request,
       [done = std::move(done)](const grpc::Status& s, const ReportResponse&) { done(s); }))
      ->start();
}

namespace {

// The slice takes the string over (no copy); a ByteBuffer copy only shares the slice, so retries
// resend it as it is.
grpc::ByteBuffer takeBytes(std::string bytes) {
  auto* owned = new std::string(std::move(bytes));
  grpc::Slice slice(
      owned->data(), owned->size(), [](void* p) { delete static_cast<std::string*>(p); }, owned);
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace

void GrpcTransport::reportSerialized(std::string request, ReportDone done) {
  (new Call<grpc::ByteBuffer, grpc::ByteBuffer>(
       this, takeBytes(std::move(request)),
       [done = std::move(done)](const grpc::Status& s, const grpc::ByteBuffer&) { done(s); },
       "/istio.mixer.v1.Mixer/Report"))
      ->start();
}

void GrpcTransport::checkSerialized(std::string request, CheckDone done) {
  (new Call<grpc::ByteBuffer, grpc::ByteBuffer>(
       this, takeBytes(std::move(request)),
       [done = std::move(done)](const grpc::Status& s, const grpc::ByteBuffer& bytes) {
         CheckResponse response;
         if (!s.ok()) {
           done(s, response);
           return;
         }
         // What the generated stub does with a response; the buffer is only read.
         grpc::ByteBuffer view(bytes);
         const grpc::Status parsed =
             grpc::SerializationTraits<CheckResponse>::Deserialize(&view, &response);
         done(parsed.ok() ? s
                          : grpc::Status(grpc::StatusCode::INTERNAL,
                                         "unparsable CheckResponse: " + parsed.error_message()),
              response);
       },
       "/istio.mixer.v1.Mixer/Check"))
      ->start();
}

}  // namespace mixer::proxy
