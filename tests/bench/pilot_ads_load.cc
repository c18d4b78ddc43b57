// pilot_ads_load: N simulated ADS clients against the discovery server, in two processes.
//
// The child process is the server: the real DiscoveryServer with snapshots translated from
// --services synthetic services (one gRPC port, two endpoints, a VirtualService and a
// DestinationRule each). The parent opens --clients ADS streams (callback API, ten streams per
// connection) that subscribe like proxyless gRPC clients to LDS, RDS, CDS and EDS of
// --per-client services (service 0 and others), and ACK every response. Measured:
//   initial sync   from the first stream opening to every client holding all four types;
//   full push      every route, cluster and endpoint set changes at once: from the start of the
//                  translation to the last client receiving its last changed type;
//   endpoint push  one endpoint of service 0 changes (the routing config does not): from the
//                  start of the translation to the last client receiving the new EDS;
//   memory         server RSS after the initial sync minus before the clients, per client.
// Baseline, the same run: the serialization floor, i.e. building and serializing in memory the
// DiscoveryResponses of a full push for every client (what no server can avoid), in the child.
// Times cross processes through CLOCK_MONOTONIC. All loops are bounded in count and time.
#include <grpcpp/grpcpp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "pilot/xds/ads_server.h"
#include "pilot/xds/translate.h"

namespace {

using envoy::service::discovery::v3::AggregatedDiscoveryService;
using envoy::service::discovery::v3::DiscoveryRequest;
using envoy::service::discovery::v3::DiscoveryResponse;
using pilot::xds::ResourceType;

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string host(int i) { return "svc-" + std::to_string(i) + ".bench.svc.cluster.local"; }

long rssBytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// ---- server (child) ----

struct World {
  int services = 0;
  int generation = 0;        // changes routes, clusters and endpoints of every service
  int endpoint_changes = 0;  // changes service 0's endpoint only
};

// The services and routing config of world `w`; translation is timed separately.
void inputs(const World& w, std::vector<pilot::model::Service>* services_out,
            pilot::routing::RoutingConfig* routing_out) {
  std::vector<pilot::model::Service> services;
  pilot::routing::RoutingConfig routing;
  services.reserve(w.services);
  for (int i = 0; i < w.services; ++i) {
    pilot::model::Service s;
    s.hostname = host(i);
    s.ports = {{"grpc", 9080, pilot::model::Protocol::kGrpc}};
    for (int e = 0; e < 2; ++e) {
      pilot::model::ServiceInstance inst;
      inst.address = "10." + std::to_string(i / 250) + "." + std::to_string(i % 250) + "." +
                     std::to_string(e + 1);
      inst.port = static_cast<uint32_t>(8000 + w.generation + (i == 0 ? w.endpoint_changes : 0));
      inst.service_port = 9080;
      inst.labels = {{"version", e == 0 ? "v1" : "v2"}};
      s.instances.push_back(inst);
    }
    services.push_back(std::move(s));
    pilot::routing::VirtualService vs;
    vs.name = "svc-" + std::to_string(i);
    vs.hosts = {host(i)};
    pilot::routing::HttpRoute r;
    r.route.push_back({{host(i), "", 0}, 100});
    r.timeout = std::chrono::milliseconds(1000 + w.generation);
    vs.http.push_back(r);
    routing.virtual_services.push_back(std::move(vs));
    pilot::routing::DestinationRule dr;
    dr.host = host(i);
    dr.load_balancer = pilot::routing::LoadBalancer{
        w.generation % 2 == 0 ? pilot::routing::LoadBalancer::Kind::kRoundRobin
                              : pilot::routing::LoadBalancer::Kind::kRingHash,
        "", 0};
    routing.destination_rules.push_back(std::move(dr));
  }
  *services_out = std::move(services);
  *routing_out = std::move(routing);
}

std::vector<int> servicesOf(int client, int services, int per_client) {
  std::vector<int> out = {0};
  for (int j = 1; j < per_client && j < services; ++j) {
    out.push_back(1 + (client * 7 + j - 1) % (services - 1));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::string> resourceNames(ResourceType t, const std::vector<int>& services) {
  std::vector<std::string> out;
  for (int s : services) {
    out.push_back(t == ResourceType::kListener ? host(s) + ":9080"
                                               : pilot::xds::clusterName(9080, "", host(s)));
  }
  return out;
}

// Builds and serializes every client's full-push responses in memory; returns nanoseconds.
int64_t serializationFloor(const pilot::xds::Snapshot& s, int clients, int services,
                           int per_client) {
  const int64_t start = nowNs();
  size_t bytes = 0;
  for (int c = 0; c < clients; ++c) {
    const std::vector<int> mine = servicesOf(c, services, per_client);
    for (ResourceType t : pilot::xds::kAllResourceTypes) {
      DiscoveryResponse r;
      r.set_version_info(s.versionString());
      r.set_type_url(std::string(pilot::xds::typeUrl(t)));
      r.set_nonce(std::to_string(c));
      for (const std::string& name : resourceNames(t, mine)) {
        auto b = s.find(t, name);
        auto* any = r.add_resources();
        any->set_type_url(std::string(pilot::xds::typeUrl(t)));
        any->set_value(*b);
      }
      bytes += r.SerializeAsString().size();
    }
  }
  const int64_t elapsed = nowNs() - start;
  if (bytes == 0) std::abort();
  return elapsed;
}

int serve(int services, int clients, int per_client, FILE* in, FILE* out) {
  World w;
  w.services = services;
  uint64_t version = 1;
  std::vector<pilot::model::Service> services_now;
  pilot::routing::RoutingConfig routing_now;
  inputs(w, &services_now, &routing_now);
  auto snapshot = pilot::xds::buildSnapshot(services_now, routing_now, nullptr, version);
  auto registry = std::make_shared<prometheus::Registry>();
  pilot::xds::XdsMetrics metrics(registry);
  pilot::xds::DiscoveryServer server(snapshot, &metrics);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&server);
  auto grpc_server = builder.BuildAndStart();
  std::fprintf(out, "port %d rss %ld\n", port, rssBytes());
  std::fflush(out);
  char line[256];
  while (std::fgets(line, sizeof(line), in) != nullptr) {
    const std::string cmd(line);
    if (cmd.rfind("full", 0) == 0 || cmd.rfind("endpoint", 0) == 0) {
      const bool full = cmd[0] == 'f';
      if (full) {
        ++w.generation;
      } else {
        ++w.endpoint_changes;
      }
      // As the server's scheduler does: the registry's services are re-listed, the routing
      // config is re-read only when it changed (here: for the full push).
      std::vector<pilot::model::Service> before = std::move(services_now);
      pilot::routing::RoutingConfig routing_next;
      inputs(w, &services_now, &routing_next);
      if (full) routing_now = std::move(routing_next);
      const int64_t t0 = nowNs();
      pilot::xds::BuildHints hints;
      hints.previous_services = &before;
      hints.routing_unchanged = !full;
      snapshot =
          pilot::xds::buildSnapshot(services_now, routing_now, snapshot.get(), ++version, hints);
      const int64_t built = nowNs();
      server.publish(snapshot);
      const int64_t published = nowNs();
      std::fprintf(out, "t0 %lld built %lld published %lld version %llu\n", (long long)t0,
                   (long long)built, (long long)published, (unsigned long long)version);
    } else if (cmd.rfind("rss", 0) == 0) {
      std::fprintf(out, "rss %ld\n", rssBytes());
    } else if (cmd.rfind("floor", 0) == 0) {
      std::fprintf(out, "floor %lld\n",
                   (long long)serializationFloor(*snapshot, clients, services, per_client));
    } else if (cmd.rfind("nacks", 0) == 0) {
      double n = 0;
      for (ResourceType t : pilot::xds::kAllResourceTypes) n += metrics.nacks(t).Value();
      std::fprintf(out, "nacks %.0f\n", n);
    } else {
      break;
    }
    std::fflush(out);
  }
  grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return 0;
}

// ---- clients (parent) ----

struct Tracker {
  explicit Tracker(int clients) : versions(clients * 4), times(clients * 4) {}
  std::vector<std::atomic<uint64_t>> versions;  // [client * 4 + type]
  std::vector<std::atomic<int64_t>> times;      // receive time of that version
  std::atomic<int> failed{0};

  // The latest receive time once every client has `version` of every type in `types`, or -1.
  int64_t allAt(uint64_t version, const std::vector<ResourceType>& types, int clients) const {
    int64_t last = 0;
    for (int c = 0; c < clients; ++c) {
      for (ResourceType t : types) {
        const size_t i = c * 4 + static_cast<size_t>(t);
        if (versions[i].load() < version) return -1;
        last = std::max(last, times[i].load());
      }
    }
    return last;
  }
};

class SimClient : public grpc::ClientBidiReactor<DiscoveryRequest, DiscoveryResponse> {
 public:
  SimClient(AggregatedDiscoveryService::Stub* stub, int id, std::vector<int> services,
            Tracker* tracker)
      : id_(id), tracker_(tracker) {
    for (ResourceType t : pilot::xds::kAllResourceTypes) {
      names_[static_cast<size_t>(t)] = resourceNames(t, services);
    }
    stub->async()->StreamAggregatedResources(&context_, this);
  }

  void start() {
    // Subscribe in gRPC's order: LDS, RDS, CDS, EDS.
    for (ResourceType t : {ResourceType::kListener, ResourceType::kRoute, ResourceType::kCluster,
                           ResourceType::kEndpoint}) {
      DiscoveryRequest r;
      r.mutable_node()->set_id("bench-" + std::to_string(id_));
      r.set_type_url(std::string(pilot::xds::typeUrl(t)));
      for (const auto& n : names_[static_cast<size_t>(t)]) r.add_resource_names(n);
      enqueue(std::move(r));
    }
    StartRead(&response_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    const auto type = pilot::xds::typeFromUrl(response_.type_url());
    if (type) {
      const size_t i = id_ * 4 + static_cast<size_t>(*type);
      tracker_->times[i] = nowNs();
      tracker_->versions[i] = std::stoull(response_.version_info());
      DiscoveryRequest ack;
      ack.set_type_url(response_.type_url());
      ack.set_version_info(response_.version_info());
      ack.set_response_nonce(response_.nonce());
      for (const auto& n : names_[static_cast<size_t>(*type)]) ack.add_resource_names(n);
      enqueue(std::move(ack));
    }
    StartRead(&response_);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.pop_front();
    if (ok && !queue_.empty()) StartWrite(&queue_.front());
  }

  void OnDone(const grpc::Status& status) override {
    if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) ++tracker_->failed;
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    cv_.notify_all();
  }

  void cancel() { context_.TryCancel(); }
  void waitDone() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [this] { return done_; });
  }

 private:
  void enqueue(DiscoveryRequest r) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(r));
    if (queue_.size() == 1) StartWrite(&queue_.front());
  }

  const int id_;
  Tracker* tracker_;
  std::array<std::vector<std::string>, 4> names_;
  grpc::ClientContext context_;
  DiscoveryResponse response_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<DiscoveryRequest> queue_;
  bool done_ = false;
};

std::string readLine(FILE* f) {
  char buf[512];
  if (std::fgets(buf, sizeof(buf), f) == nullptr) return "";
  return buf;
}

int64_t waitAll(const Tracker& t, uint64_t version, const std::vector<ResourceType>& types,
                int clients) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    const int64_t last = t.allAt(version, types, clients);
    if (last >= 0) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  int services = 1000, clients = 1000, per_client = 10, rounds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int value = std::atoi(argv[i + 1]);
    if (flag == "--services")
      services = value;
    else if (flag == "--clients")
      clients = value;
    else if (flag == "--per-client")
      per_client = value;
    else if (flag == "--rounds")
      rounds = value;
    else {
      std::cerr << "usage: pilot_ads_load [--services N] [--clients N] [--per-client K] "
                   "[--rounds R]\n";
      return 2;
    }
  }
  if (services < 1 || clients < 1 || per_client < 1 || rounds < 1 || clients > 20000 ||
      services > 100000) {
    std::cerr << "pilot_ads_load: values out of range\n";
    return 2;
  }
  int to_child[2], from_child[2];
  if (pipe(to_child) != 0 || pipe(from_child) != 0) return 1;
  const pid_t child = fork();  // before any gRPC use in this process
  if (child == 0) {
    close(to_child[1]);
    close(from_child[0]);
    return serve(services, clients, per_client, fdopen(to_child[0], "r"),
                 fdopen(from_child[1], "w"));
  }
  close(to_child[0]);
  close(from_child[1]);
  FILE* to = fdopen(to_child[1], "w");
  FILE* from = fdopen(from_child[0], "r");
  auto command = [&](const char* c) {
    std::fprintf(to, "%s\n", c);
    std::fflush(to);
    return readLine(from);
  };

  int port = 0;
  long rss_before = 0;
  std::sscanf(readLine(from).c_str(), "port %d rss %ld", &port, &rss_before);
  std::printf("pilot_ads_load: %d services, %d clients, %d services per client, %d rounds\n",
              services, clients, per_client, rounds);

  Tracker tracker(clients);
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<AggregatedDiscoveryService::Stub>> stubs;
  for (int c = 0; c < (clients + 9) / 10; ++c) {
    grpc::ChannelArguments args;
    args.SetInt("pilot.bench.connection", c);  // one connection per ten streams
    channels.push_back(grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                                 grpc::InsecureChannelCredentials(), args));
    stubs.push_back(AggregatedDiscoveryService::NewStub(channels.back()));
  }
  std::vector<std::unique_ptr<SimClient>> sims;
  const int64_t connect_start = nowNs();
  for (int c = 0; c < clients; ++c) {
    sims.push_back(std::make_unique<SimClient>(stubs[c / 10].get(), c,
                                               servicesOf(c, services, per_client), &tracker));
    sims.back()->start();
  }
  const std::vector<ResourceType> all = {ResourceType::kListener, ResourceType::kRoute,
                                         ResourceType::kCluster, ResourceType::kEndpoint};
  const int64_t synced = waitAll(tracker, 1, all, clients);
  if (synced < 0) {
    std::cerr << "pilot_ads_load: initial sync did not complete\n";
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let the ACKs land
  long rss_after = 0;
  std::sscanf(command("rss").c_str(), "rss %ld", &rss_after);
  std::printf("initial sync: %.1f ms\n", (synced - connect_start) / 1e6);
  std::printf("server RSS: %.1f MiB before clients, %.1f MiB after; %.1f KiB per client\n",
              rss_before / 1048576.0, rss_after / 1048576.0,
              (rss_after - rss_before) / 1024.0 / clients);

  uint64_t version = 1;
  for (int r = 0; r < rounds; ++r) {
    long long t0, built, published;
    unsigned long long v;
    std::sscanf(command("full").c_str(), "t0 %lld built %lld published %lld version %llu", &t0,
                &built, &published, &v);
    version = v;
    const int64_t last =
        waitAll(tracker, version,
                {ResourceType::kRoute, ResourceType::kCluster, ResourceType::kEndpoint}, clients);
    if (last < 0) {
      std::cerr << "pilot_ads_load: full push did not complete\n";
      return 1;
    }
    std::printf("full push: build %.1f ms, publish %.1f ms, last client %.1f ms after start\n",
                (built - t0) / 1e6, (published - built) / 1e6, (last - t0) / 1e6);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  long long floor_ns = 0;
  std::sscanf(command("floor").c_str(), "floor %lld", &floor_ns);
  std::printf("serialization floor for one full push to every client: %.1f ms\n", floor_ns / 1e6);
  for (int r = 0; r < rounds; ++r) {
    long long t0, built, published;
    unsigned long long v;
    std::sscanf(command("endpoint").c_str(), "t0 %lld built %lld published %lld version %llu", &t0,
                &built, &published, &v);
    version = v;
    const int64_t last = waitAll(tracker, version, {ResourceType::kEndpoint}, clients);
    if (last < 0) {
      std::cerr << "pilot_ads_load: endpoint push did not complete\n";
      return 1;
    }
    std::printf("endpoint push: build %.1f ms, publish %.1f ms, last client %.1f ms after start\n",
                (built - t0) / 1e6, (published - built) / 1e6, (last - t0) / 1e6);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  std::printf("%s", command("nacks").c_str());
  std::printf("failed streams: %d\n", tracker.failed.load());

  for (auto& s : sims) s->cancel();
  for (auto& s : sims) s->waitDone();
  std::fprintf(to, "quit\n");
  std::fflush(to);
  int status = 0;
  waitpid(child, &status, 0);
  return tracker.failed.load() == 0 ? 0 : 1;
}
