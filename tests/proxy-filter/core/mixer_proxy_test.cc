// The C API (mixer_proxy.h), as the nginx module uses it, against an in-test istio.mixer.v1
// server on a loopback ephemeral port: options and their validation, every attribute setter as
// the server receives it, the C view of a Check outcome, the inline (cached) and later (remote)
// callbacks, reports, and the stats.
#include "proxy-filter/core/mixer_proxy.h"

#include <gtest/gtest.h>

#include <cstring>
#include <future>
#include <string>
#include <vector>

#include "mixer/api/global_dictionary.h"
#include "tests/proxy-filter/core/scripted_mixer.h"

namespace mixer::proxy {
namespace {

using istio::mixer::v1::CheckRequest;
using istio::mixer::v1::CheckResponse;
using istio::mixer::v1::CompressedAttributes;
using istio::mixer::v1::ReferencedAttributes;
using istio::mixer::v1::ReportRequest;

// The word index `name` travels as in `request`: a message word (-(position + 1)) or a global
// word below the request's global_word_count; 0 with `found` false when it is neither.
int32_t wordIndex(const CheckRequest& request, std::string_view name, bool* found) {
  *found = true;
  const auto& words = request.attributes().words();
  for (int i = 0; i < words.size(); ++i) {
    if (words[i] == name) {
      return -(i + 1);
    }
  }
  if (auto global = api::globalWordIndex(name, request.global_word_count())) {
    return *global;
  }
  *found = false;
  return 0;
}

std::string word(const CheckRequest& request, int32_t index) {
  if (index >= 0) {
    return std::string(api::kGlobalWords.at(static_cast<size_t>(index)));
  }
  return request.attributes().words(-index - 1);
}

// The C view of a check outcome, copied (the view is only valid in the callback).
struct Outcome {
  int32_t code = -1;
  int32_t http_status = -1;
  std::string message;
  std::vector<std::tuple<std::string, std::string, int32_t>> request_ops, response_ops;
  uint32_t direct_response_code = 0;
  std::string direct_response_body;
};

struct Waiter {
  std::promise<Outcome> promise;
  static void done(void* context, const mixer_proxy_check_result* r) {
    Outcome o;
    o.code = r->code;
    o.http_status = r->http_status;
    o.message.assign(r->message.data, r->message.len);
    for (size_t i = 0; i < r->request_header_operation_count; ++i) {
      const auto& op = r->request_header_operations[i];
      o.request_ops.emplace_back(std::string(op.name.data, op.name.len),
                                 std::string(op.value.data, op.value.len), op.operation);
    }
    for (size_t i = 0; i < r->response_header_operation_count; ++i) {
      const auto& op = r->response_header_operations[i];
      o.response_ops.emplace_back(std::string(op.name.data, op.name.len),
                                  std::string(op.value.data, op.value.len), op.operation);
    }
    o.direct_response_code = r->direct_response_code;
    o.direct_response_body.assign(r->direct_response_body.data, r->direct_response_body.len);
    static_cast<Waiter*>(context)->promise.set_value(std::move(o));
  }
};

// Attribute names as (pointer, length), as a C host passes them.
#define NAME(s) s, sizeof(s) - 1

class MixerProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.started());
    address_ = server_.address();
    mixer_proxy_options_init(&options_);
    options_.server_address = address_.c_str();
    options_.timeout_ms = 10000;  // generous: a slow machine must not turn answers into timeouts
  }
  void TearDown() override {
    if (client_ != nullptr) {
      mixer_proxy_client_destroy(client_);
    }
    if (attributes_ != nullptr) {
      mixer_proxy_attributes_destroy(attributes_);
    }
  }
  void create() {
    const char* error = nullptr;
    client_ = mixer_proxy_client_create(&options_, &error);
    ASSERT_NE(client_, nullptr) << error;
    attributes_ = mixer_proxy_attributes_create();
  }
  // Checks attributes_; `inline_call` gets whether the callback ran inside the call.
  Outcome check(const mixer_proxy_quota* quotas = nullptr, size_t quota_count = 0,
                int* inline_call = nullptr) {
    Waiter waiter;
    const int r =
        mixer_proxy_check(client_, attributes_, quotas, quota_count, &Waiter::done, &waiter);
    if (inline_call != nullptr) {
      *inline_call = r;
    }
    return waiter.promise.get_future().get();
  }
  // An answer cacheable by destination.service (global word 152, EXACT).
  static void keyedByService(CheckResponse* r, int code) {
    auto* p = r->mutable_precondition();
    p->mutable_status()->set_code(code);
    p->set_valid_use_count(10000);
    p->mutable_valid_duration()->set_seconds(60);
    auto* m = p->mutable_referenced_attributes()->add_attribute_matches();
    m->set_name(152);
    m->set_condition(ReferencedAttributes::EXACT);
  }

  testing::ScriptedMixerServer server_;
  std::string address_;
  mixer_proxy_options options_;
  mixer_proxy_client* client_ = nullptr;
  mixer_proxy_attributes* attributes_ = nullptr;
};

TEST(MixerProxyOptionsTest, InitSetsTheSizeAndIstiosDefaults) {
  mixer_proxy_options o;
  std::memset(&o, 0x5a, sizeof o);
  mixer_proxy_options_init(&o);
  EXPECT_EQ(o.size, sizeof(mixer_proxy_options));
  EXPECT_EQ(o.server_address, nullptr);
  EXPECT_EQ(o.timeout_ms, 1000);
  EXPECT_EQ(o.max_retries, 0);
  EXPECT_EQ(o.base_retry_ms, 80);
  EXPECT_EQ(o.max_retry_ms, 1000);
  EXPECT_NE(o.fail_open, 0);
  EXPECT_EQ(o.disable_check_cache, 0);
  EXPECT_EQ(o.disable_quota_cache, 0);
  EXPECT_EQ(o.disable_report_batch, 0);
  EXPECT_EQ(o.report_batch_max_entries, 100);
  EXPECT_EQ(o.report_batch_max_time_ms, 1000);
  EXPECT_EQ(o.tls_ca, nullptr);
  EXPECT_EQ(o.tls_cert, nullptr);
  EXPECT_EQ(o.tls_key, nullptr);
  EXPECT_EQ(o.tls_server_name, nullptr);
  EXPECT_EQ(o.transport, MIXER_PROXY_TRANSPORT_GRPC);
}

TEST(MixerProxyOptionsTest, BadOptionsGiveNoClientAndAMessage) {
  const char* error = nullptr;
  EXPECT_EQ(mixer_proxy_client_create(nullptr, &error), nullptr);
  EXPECT_NE(std::string(error).find("size"), std::string::npos) << error;

  mixer_proxy_options o{};  // size not set
  o.server_address = "127.0.0.1:1";
  error = nullptr;
  EXPECT_EQ(mixer_proxy_client_create(&o, &error), nullptr);
  EXPECT_NE(std::string(error).find("size"), std::string::npos) << error;

  mixer_proxy_options_init(&o);
  error = nullptr;
  EXPECT_EQ(mixer_proxy_client_create(&o, &error), nullptr);
  EXPECT_NE(std::string(error).find("server_address is empty"), std::string::npos) << error;

  o.server_address = "127.0.0.1:1";
  o.timeout_ms = -1;
  error = nullptr;
  EXPECT_EQ(mixer_proxy_client_create(&o, &error), nullptr);
  EXPECT_NE(std::string(error).find("negative"), std::string::npos) << error;

  mixer_proxy_options_init(&o);
  o.server_address = "127.0.0.1:1,mixs.example:2";  // a list must be IP:port entries
  error = nullptr;
  EXPECT_EQ(mixer_proxy_client_create(&o, &error), nullptr);
  EXPECT_NE(std::string(error).find("server_address"), std::string::npos) << error;

  mixer_proxy_options_init(&o);
  o.server_address = "127.0.0.1:1";
  o.transport = 7;
  error = nullptr;
  EXPECT_EQ(mixer_proxy_client_create(&o, &error), nullptr);
  EXPECT_NE(std::string(error).find("transport"), std::string::npos) << error;

  // The lean transport takes names in a list (it resolves each), but every entry needs a port.
  o.transport = MIXER_PROXY_TRANSPORT_LEAN;
  o.server_address = "localhost:1,127.0.0.1:2";
  mixer_proxy_client* lean = mixer_proxy_client_create(&o, &error);
  EXPECT_NE(lean, nullptr) << error;
  mixer_proxy_client_destroy(lean);
  o.server_address = "127.0.0.1:1,mixs";
  error = nullptr;
  EXPECT_EQ(mixer_proxy_client_create(&o, &error), nullptr);
  EXPECT_NE(std::string(error).find("'mixs' is not host:port"), std::string::npos) << error;

  // A NULL error pointer is allowed.
  EXPECT_EQ(mixer_proxy_client_create(nullptr, nullptr), nullptr);
}

TEST(MixerProxyOptionsTest, AnUnreadableTlsFileGivesNoClient) {
  mixer_proxy_options o;
  mixer_proxy_options_init(&o);
  o.server_address = "127.0.0.1:1";
  o.tls_ca = "/nonexistent/mixer-proxy-test/ca.pem";
  const char* error = nullptr;
  EXPECT_EQ(mixer_proxy_client_create(&o, &error), nullptr);
  ASSERT_NE(error, nullptr);
  EXPECT_NE(std::string(error), "");
  o.transport = MIXER_PROXY_TRANSPORT_LEAN;
  error = nullptr;
  EXPECT_EQ(mixer_proxy_client_create(&o, &error), nullptr);
  ASSERT_NE(error, nullptr);
  EXPECT_NE(std::string(error).find("/nonexistent/mixer-proxy-test/ca.pem"), std::string::npos)
      << error;
}

TEST_F(MixerProxyTest, ARemoteAnswerComesLaterAndTheCachedOneInline) {
  server_.mixer().onCheck([](const CheckRequest&, CheckResponse* r) {
    keyedByService(r, 0);
    auto* op =
        r->mutable_precondition()->mutable_route_directive()->add_request_header_operations();
    op->set_name("x-mixer");
    op->set_value("checked");
    return grpc::Status::OK;
  });
  create();
  mixer_proxy_attributes_set_string(attributes_, NAME("destination.service"), "svc", 3);
  int inline_call = -1;
  const Outcome first = check(nullptr, 0, &inline_call);
  EXPECT_EQ(inline_call, 0);
  EXPECT_EQ(first.code, 0);
  EXPECT_EQ(first.http_status, 200);
  ASSERT_EQ(first.request_ops.size(), 1u);
  EXPECT_EQ(first.request_ops[0], std::make_tuple(std::string("x-mixer"), std::string("checked"),
                                                  int32_t{MIXER_PROXY_HEADER_REPLACE}));
  const Outcome second = check(nullptr, 0, &inline_call);
  EXPECT_EQ(inline_call, 1);
  EXPECT_EQ(second.code, 0);
  ASSERT_EQ(second.request_ops.size(), 1u);
  EXPECT_EQ(std::get<1>(second.request_ops[0]), "checked");
  EXPECT_EQ(server_.mixer().checks().size(), 1u);
  mixer_proxy_stats stats;
  mixer_proxy_client_stats(client_, &stats);
  EXPECT_EQ(stats.check_cache_hits, 1u);
  EXPECT_EQ(stats.check_cache_misses, 1u);
  EXPECT_EQ(stats.check_remote_calls, 1u);
}

TEST_F(MixerProxyTest, DisablingTheCheckCacheSendsEveryCheck) {
  server_.mixer().onCheck([](const CheckRequest&, CheckResponse* r) {
    keyedByService(r, 0);
    return grpc::Status::OK;
  });
  options_.disable_check_cache = 1;
  create();
  mixer_proxy_attributes_set_string(attributes_, NAME("destination.service"), "svc", 3);
  int inline_call = -1;
  check(nullptr, 0, &inline_call);
  check(nullptr, 0, &inline_call);
  EXPECT_EQ(inline_call, 0);
  EXPECT_EQ(server_.mixer().checks().size(), 2u);
  mixer_proxy_stats stats;
  mixer_proxy_client_stats(client_, &stats);
  EXPECT_EQ(stats.check_cache_hits, 0u);
  EXPECT_EQ(stats.check_remote_calls, 2u);
}

TEST_F(MixerProxyTest, EverySetterReachesTheServerWithItsType) {
  create();
  mixer_proxy_attributes_set_string(attributes_, NAME("destination.service"), "svc", 3);
  mixer_proxy_attributes_set_int64(attributes_, NAME("test.int"), -42);
  mixer_proxy_attributes_set_double(attributes_, NAME("test.double"), 0.5);
  mixer_proxy_attributes_set_bool(attributes_, NAME("test.bool"), 7);  // nonzero: true
  mixer_proxy_attributes_set_bytes(attributes_, NAME("test.bytes"), "a\0b", 3);
  EXPECT_EQ(mixer_proxy_attributes_set_ip(attributes_, NAME("test.ip4"), NAME("10.1.2.3")), 1);
  EXPECT_EQ(mixer_proxy_attributes_set_ip(attributes_, NAME("test.ip6"), NAME("::1")), 1);
  EXPECT_EQ(mixer_proxy_attributes_set_ip(attributes_, NAME("test.bad_ip"), NAME("10.1.2")), 0);
  mixer_proxy_attributes_set_timestamp_ns(attributes_, NAME("test.time"),
                                          1700000000LL * 1000000000 + 25);
  mixer_proxy_attributes_set_duration_ns(attributes_, NAME("test.duration"), 3500000000LL);
  mixer_proxy_attributes_set_map_entry(attributes_, NAME("test.map"), NAME("k1"), NAME("v1"));
  mixer_proxy_attributes_set_map_entry(attributes_, NAME("test.map"), NAME("k2"), NAME("v2"));
  check();
  const auto checks = server_.mixer().checks();
  ASSERT_EQ(checks.size(), 1u);
  const CheckRequest& req = checks[0];
  const CompressedAttributes& a = req.attributes();
  bool found = false;
  auto at = [&](std::string_view name) {
    const int32_t i = wordIndex(req, name, &found);
    EXPECT_TRUE(found) << name;
    return i;
  };
  ASSERT_TRUE(a.strings().contains(at("destination.service")));
  EXPECT_EQ(word(req, a.strings().at(at("destination.service"))), "svc");
  EXPECT_EQ(a.int64s().at(at("test.int")), -42);
  EXPECT_EQ(a.doubles().at(at("test.double")), 0.5);
  EXPECT_EQ(a.bools().at(at("test.bool")), true);
  EXPECT_EQ(a.bytes().at(at("test.bytes")), std::string("a\0b", 3));
  EXPECT_EQ(a.bytes().at(at("test.ip4")), std::string("\x0a\x01\x02\x03", 4));
  EXPECT_EQ(a.bytes().at(at("test.ip6")), std::string("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 16));
  wordIndex(req, "test.bad_ip", &found);
  EXPECT_FALSE(found);  // a rejected address sets nothing
  EXPECT_EQ(a.timestamps().at(at("test.time")).seconds(), 1700000000);
  EXPECT_EQ(a.timestamps().at(at("test.time")).nanos(), 25);
  EXPECT_EQ(a.durations().at(at("test.duration")).seconds(), 3);
  EXPECT_EQ(a.durations().at(at("test.duration")).nanos(), 500000000);
  const auto& map = a.string_maps().at(at("test.map")).entries();
  ASSERT_EQ(map.size(), 2u);
  EXPECT_EQ(word(req, map.at(at("k1"))), "v1");
  EXPECT_EQ(word(req, map.at(at("k2"))), "v2");
}

TEST_F(MixerProxyTest, ClearAndCopyKeepAttributeSetsApart) {
  server_.mixer().onCheck([](const CheckRequest&, CheckResponse* r) {
    r->mutable_precondition()->set_valid_use_count(0);  // not cacheable: every check is sent
    return grpc::Status::OK;
  });
  create();
  mixer_proxy_attributes_set_string(attributes_, NAME("destination.service"), "one", 3);
  mixer_proxy_attributes_set_int64(attributes_, NAME("test.int"), 1);
  mixer_proxy_attributes* copy = mixer_proxy_attributes_copy(attributes_);
  mixer_proxy_attributes_clear(attributes_);
  mixer_proxy_attributes_set_string(attributes_, NAME("destination.service"), "two", 3);
  check();
  std::swap(copy, attributes_);
  check();
  mixer_proxy_attributes_destroy(copy);
  const auto checks = server_.mixer().checks();
  ASSERT_EQ(checks.size(), 2u);
  bool found = false;
  // The cleared set lost test.int; the copy made before clearing kept both.
  EXPECT_EQ(word(checks[0], checks[0].attributes().strings().at(152)), "two");
  wordIndex(checks[0], "test.int", &found);
  EXPECT_FALSE(found);
  EXPECT_EQ(word(checks[1], checks[1].attributes().strings().at(152)), "one");
  EXPECT_EQ(checks[1].attributes().int64s().at(wordIndex(checks[1], "test.int", &found)), 1);
  EXPECT_TRUE(found);
}

TEST_F(MixerProxyTest, ADenialCarriesItsCodeHttpStatusAndRouteDirective) {
  server_.mixer().onCheck([](const CheckRequest&, CheckResponse* r) {
    keyedByService(r, 8);
    auto* p = r->mutable_precondition();
    p->mutable_status()->set_message("over quota");
    auto* route = p->mutable_route_directive();
    route->set_direct_response_code(429);
    route->set_direct_response_body("slow down");
    // More operations than the C view keeps on the stack.
    for (int i = 0; i < 10; ++i) {
      auto* op = route->add_request_header_operations();
      op->set_name("x-" + std::to_string(i));
      op->set_value("v" + std::to_string(i));
    }
    auto* remove = route->add_response_header_operations();
    remove->set_name("server");
    remove->set_operation(istio::mixer::v1::HeaderOperation::REMOVE);
    auto* append = route->add_response_header_operations();
    append->set_name("x-why");
    append->set_value("quota");
    append->set_operation(istio::mixer::v1::HeaderOperation::APPEND);
    return grpc::Status::OK;
  });
  create();
  mixer_proxy_attributes_set_string(attributes_, NAME("destination.service"), "svc", 3);
  for (int round = 0; round < 2; ++round) {  // remote, then from the cache
    int inline_call = -1;
    const Outcome o = check(nullptr, 0, &inline_call);
    EXPECT_EQ(inline_call, round);
    EXPECT_EQ(o.code, 8);
    EXPECT_EQ(o.http_status, 429);
    EXPECT_EQ(o.message, "over quota");
    EXPECT_EQ(o.direct_response_code, 429u);
    EXPECT_EQ(o.direct_response_body, "slow down");
    ASSERT_EQ(o.request_ops.size(), 10u);
    for (int i = 0; i < 10; ++i) {
      EXPECT_EQ(o.request_ops[i], std::make_tuple("x-" + std::to_string(i), "v" + std::to_string(i),
                                                  int32_t{MIXER_PROXY_HEADER_REPLACE}));
    }
    ASSERT_EQ(o.response_ops.size(), 2u);
    EXPECT_EQ(o.response_ops[0], std::make_tuple(std::string("server"), std::string(),
                                                 int32_t{MIXER_PROXY_HEADER_REMOVE}));
    EXPECT_EQ(o.response_ops[1], std::make_tuple(std::string("x-why"), std::string("quota"),
                                                 int32_t{MIXER_PROXY_HEADER_APPEND}));
  }
}

TEST_F(MixerProxyTest, QuotasAreSentWithTheCheck) {
  server_.mixer().onCheck([](const CheckRequest& req, CheckResponse* r) {
    keyedByService(r, 0);
    for (const auto& [name, params] : req.quotas()) {
      auto& q = (*r->mutable_quotas())[name];
      q.set_granted_amount(params.amount());
      q.mutable_valid_duration()->set_seconds(60);
    }
    return grpc::Status::OK;
  });
  create();
  mixer_proxy_attributes_set_string(attributes_, NAME("destination.service"), "svc", 3);
  const mixer_proxy_quota quota{"requestcount/extra", 12, 3};  // (pointer, length)
  EXPECT_EQ(check(&quota, 1).code, 0);
  const auto checks = server_.mixer().checks();
  ASSERT_EQ(checks.size(), 1u);
  ASSERT_EQ(checks[0].quotas().size(), 1u);
  EXPECT_EQ(checks[0].quotas().at("requestcount").amount(), 3);
}

TEST_F(MixerProxyTest, AnUnreachableServerFollowsTheFailPolicy) {
  server_.shutdown();  // the port now refuses connections
  options_.timeout_ms = 2000;
  options_.fail_open = 0;
  create();
  mixer_proxy_attributes_set_string(attributes_, NAME("destination.service"), "svc", 3);
  const Outcome closed = check();
  EXPECT_EQ(closed.code, 14);  // UNAVAILABLE
  EXPECT_EQ(closed.http_status, 503);
  mixer_proxy_client_destroy(client_);
  client_ = nullptr;
  options_.fail_open = 1;
  const char* error = nullptr;
  client_ = mixer_proxy_client_create(&options_, &error);
  ASSERT_NE(client_, nullptr) << error;
  const Outcome open = check();
  EXPECT_EQ(open.code, 0);
  EXPECT_EQ(open.http_status, 200);
  mixer_proxy_stats stats;
  mixer_proxy_client_stats(client_, &stats);
  EXPECT_EQ(stats.check_fail_open, 1u);
}

TEST_F(MixerProxyTest, ReportsAreDeliveredByDestroyAndSwapLeavesTheSetEmpty) {
  options_.report_batch_max_time_ms = 3600000;  // only destroy flushes
  create();
  mixer_proxy_attributes* owned = mixer_proxy_attributes_create();
  mixer_proxy_attributes_set_int64(owned, NAME("response.code"), 200);
  mixer_proxy_report(client_, owned);  // takes `owned`
  mixer_proxy_attributes_set_int64(attributes_, NAME("response.code"), 201);
  mixer_proxy_attributes_set_string(attributes_, NAME("destination.service"), "svc", 3);
  mixer_proxy_report_swap(client_, attributes_);
  mixer_proxy_attributes_set_int64(attributes_, NAME("response.code"), 202);
  mixer_proxy_report_swap(client_, attributes_);
  mixer_proxy_stats stats;
  mixer_proxy_client_stats(client_, &stats);
  EXPECT_EQ(stats.report_enqueued, 3u);
  mixer_proxy_client_destroy(client_);  // flushes
  client_ = nullptr;
  // The third record lacks destination.service, which a delta cannot take away: it ended the
  // first batch (deltas) and went out in a second one (independently encoded), in either order.
  auto reports = server_.mixer().reports();
  ASSERT_EQ(reports.size(), 2u);
  if (reports[0].attributes_size() != 2) {
    std::swap(reports[0], reports[1]);
  }
  ASSERT_EQ(reports[0].attributes_size(), 2);
  ASSERT_EQ(reports[1].attributes_size(), 1);
  EXPECT_EQ(reports[0].repeated_attributes_semantics(), ReportRequest::DELTA_ENCODING);
  EXPECT_EQ(reports[1].repeated_attributes_semantics(), ReportRequest::INDEPENDENT_ENCODING);
  const int32_t code = *api::globalWordIndex("response.code");
  const int32_t service = *api::globalWordIndex("destination.service");
  EXPECT_EQ(reports[0].attributes(0).int64s().at(code), 200);
  EXPECT_EQ(reports[0].attributes(1).int64s().at(code), 201);
  EXPECT_TRUE(reports[0].attributes(1).strings().contains(service));
  EXPECT_EQ(reports[1].attributes(0).int64s().at(code), 202);
  // The swap left the set empty: the third record has only what was set after it.
  EXPECT_FALSE(reports[1].attributes(0).strings().contains(service));
}

}  // namespace
}  // namespace mixer::proxy
