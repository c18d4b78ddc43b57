#include "mixer/adapter_host/prometheus_counter_registry.h"

#include <prometheus/text_serializer.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mixer::adapter_host {
namespace {

using ::testing::HasSubstr;

TEST(PrometheusCounterRegistryTest, ExposesCountersWithLabels) {
  auto registry = std::make_shared<prometheus::Registry>();
  PrometheusCounterRegistry counters(registry);
  Counter* denier = counters.counter("mixer_adapter_call_errors_total", "Errors.",
                                     {{"adapter", "denier"}, {"reason", "deadline_exceeded"}});
  denier->add(2);
  EXPECT_EQ(counters.counter("mixer_adapter_call_errors_total", "Errors.",
                             {{"adapter", "denier"}, {"reason", "deadline_exceeded"}}),
            denier);
  counters.counter("mixer_adapter_call_errors_total", "Errors.", {{"adapter", "stdio"}})->add(1);
  const std::string text = prometheus::TextSerializer().Serialize(registry->Collect());
  EXPECT_THAT(text, HasSubstr("# HELP mixer_adapter_call_errors_total Errors."));
  EXPECT_THAT(text, HasSubstr("mixer_adapter_call_errors_total{adapter=\"denier\","
                              "reason=\"deadline_exceeded\"} 2"));
  EXPECT_THAT(text, HasSubstr("mixer_adapter_call_errors_total{adapter=\"stdio\"} 1"));
}

}  // namespace
}  // namespace mixer::adapter_host
