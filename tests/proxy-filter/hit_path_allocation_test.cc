// The cache-hit path allocates nothing: counted by the global operator new hook of the
// benchmarks (tests/bench/alloc_counter.h), around CheckCache::lookup and MixerClient::checkCached.
#include <gtest/gtest.h>

#include "proxy-filter/core/check_cache.h"
#include "proxy-filter/core/mixer_client.h"
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

}  // namespace
}  // namespace mixer::proxy
