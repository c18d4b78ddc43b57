// The cache-hit path allocates nothing: counted by the global operator new hook of the
// benchmarks (tests/bench/alloc_counter.h), around CheckCache::lookup and MixerClient::checkCached.
#include <gtest/gtest.h>

#include "proxy-filter/core/check_cache.h"
#include "proxy-filter/core/mixer_client.h"
#include "proxy-filter/core/mixer_proxy.h"
#include "proxy-filter/core/report_batcher.h"
#include "tests/bench/alloc_counter.h"

namespace mixer::proxy {
namespace {

using istio::mixer::v1::CheckResponse;
using istio::mixer::v1::ReferencedAttributes;

CheckResponse::PreconditionResult answer() {
  CheckResponse::PreconditionResult r;
  r.mutable_status()->set_code(7);
  r.mutable_status()->set_message("a message longer than the small-string buffer of std::string");
  r.set_valid_use_count(1 << 30);
  auto* ra = r.mutable_referenced_attributes();
  ra->add_words("request.headers");
  ra->add_words("x-user");
  auto* header = ra->add_attribute_matches();
  header->set_name(-1);
  header->set_map_key(-2);
  header->set_condition(ReferencedAttributes::EXACT);
  auto* service = ra->add_attribute_matches();
  service->set_name(152);  // destination.service
  service->set_condition(ReferencedAttributes::EXACT);
  auto* absent = ra->add_attribute_matches();
  absent->set_name(17);  // request.path
  absent->set_condition(ReferencedAttributes::ABSENCE);
  return r;
}

Attributes request() {
  Attributes a;
  a.setString("destination.service", "productpage.default.svc.cluster.local");
  a.setMapEntry("request.headers", "x-user", "alice");
  a.setMapEntry("request.headers", "user-agent", "curl/8.0");
  return a;
}

TEST(HitPathAllocationTest, TheCounterCounts) {
  const uint64_t before = bench::allocations();
  std::string* volatile p = new std::string(100, 'x');
  delete p;
  EXPECT_GE(bench::allocations() - before, 2u);  // the string object and its buffer
}

TEST(HitPathAllocationTest, ACacheHitAllocatesNothing) {
  CheckCache cache;
  ASSERT_TRUE(cache.insert(request(), answer(), 0).ok());
  const Attributes a = request();
  CheckResult out;
  ASSERT_TRUE(cache.lookup(a, 1, &out));  // the first hit sizes out.message
  const uint64_t before = bench::allocations();
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(cache.lookup(a, 2 + i, &out));
  }
  EXPECT_EQ(bench::allocations() - before, 0u);
  EXPECT_EQ(out.code, StatusCode::kPermissionDenied);
}

// Answers every Check with answer(), at once.
class AnsweringTransport : public MixerTransport {
 public:
  void check(const istio::mixer::v1::CheckRequest&, CheckDone done) override {
    CheckResponse response;
    *response.mutable_precondition() = answer();
    done(grpc::Status::OK, response);
  }
  void report(const istio::mixer::v1::ReportRequest&, ReportDone done) override {
    done(grpc::Status::OK);
  }
};

TEST(HitPathAllocationTest, MixerClientCheckCachedAllocatesNothing) {
  MixerClient client({}, std::make_unique<AnsweringTransport>());
  CheckResult first;
  client.check(request(), {}, [&](const CheckResult& r) { first = r; });
  EXPECT_EQ(first.code, StatusCode::kPermissionDenied);
  const Attributes a = request();
  CheckResult out;
  ASSERT_TRUE(client.checkCached(a, &out));
  const uint64_t before = bench::allocations();
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(client.checkCached(a, &out));
  }
  EXPECT_EQ(bench::allocations() - before, 0u);
  EXPECT_EQ(client.stats().check_cache_hits, 1001u);
}

// What the nginx module does per request: build the request's attributes into a reused set
// (cleared, not new) through the C API. After the first rounds it allocates nothing, even for
// values longer than std::string's inline buffer (the 16 bytes of an IPv6 address, a user agent).
void buildRequest(mixer_proxy_attributes* a, int i) {
  mixer_proxy_attributes_clear(a);
  mixer_proxy_attributes_set_string(a, "destination.service", 19,
                                    "productpage.default.svc.cluster.local", 37);
  mixer_proxy_attributes_set_map_entry(a, "request.headers", 15, "x-user", 6, "alice", 5);
  mixer_proxy_attributes_set_map_entry(a, "request.headers", 15, "user-agent", 10,
                                       "a user agent longer than the small-string buffer", 48);
  mixer_proxy_attributes_set_string(a, "request.url_path", 16, i % 2 ? "/books/1" : "/books/22",
                                    i % 2 ? 8 : 9);
  mixer_proxy_attributes_set_ip(a, "source.ip", 9, "2001:db8::7", 11);
  mixer_proxy_attributes_set_int64(a, "source.port", 11, 40000 + i);
  mixer_proxy_attributes_set_timestamp_ns(a, "request.time", 12, 1700000000000000000LL + i);
}

TEST(HitPathAllocationTest, BuildingARequestIntoAReusedSetAllocatesNothing) {
  mixer_proxy_attributes* a = mixer_proxy_attributes_create();
  for (int i = 0; i < 3; ++i) {
    buildRequest(a, i);
  }
  const uint64_t before = bench::allocations();
  for (int i = 0; i < 1000; ++i) {
    buildRequest(a, i);
  }
  EXPECT_EQ(bench::allocations() - before, 0u);
  mixer_proxy_attributes_destroy(a);
}

// The log phase of the nginx module: the request's set is queued and comes back holding a sent
// record's storage, into which the next request is built. Once records have gone out, the cycle
// allocates nothing.
TEST(HitPathAllocationTest, BuildingIntoTheSetAReportSwapGivesBackAllocatesNothing) {
  GlobalDictionary dictionary;
  StatsCounters stats;
  constexpr size_t kBatch = 50;
  ReportBatcher batcher({kBatch, 3600 * 1000, 4},
                        ReportBatcher::SendSerialized(
                            [](std::string, std::function<void(bool)> done) { done(true); }),
                        &dictionary, &stats);
  Attributes record;
  auto build = [&record](int i) {
    record.clear();
    record.setString("destination.service", "productpage.default.svc.cluster.local");
    record.setMapEntry("request.headers", "user-agent", "a user agent longer than the buffer");
    record.setInt64("response.code", 200 + i % 2);
  };
  // The first rounds leave sent records behind, and size both tables of each record once.
  for (int round = 0; round < 4; ++round) {
    for (size_t i = 0; i < kBatch - 1; ++i) {
      build(static_cast<int>(i));
      batcher.enqueueSwap(&record);
    }
    batcher.flush();
  }
  const uint64_t before = bench::allocations();
  for (size_t i = 0; i < kBatch - 1; ++i) {  // below a full batch: the flusher stays asleep
    build(static_cast<int>(i));
    batcher.enqueueSwap(&record);
  }
  EXPECT_EQ(bench::allocations() - before, 0u);
  EXPECT_EQ(record.size(), 0u);
  EXPECT_EQ(stats.snapshot().report_enqueued, 5 * (kBatch - 1));
}

}  // namespace
}  // namespace mixer::proxy
