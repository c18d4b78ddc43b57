// Reading a Prometheus text exposition (mixs' and pilot-discovery's /metrics, the prometheus
// adapter's endpoint) in integration tests.
#pragma once

#include <optional>
#include <string>

namespace mixer::testing {

// The body of http://127.0.0.1:`port`/metrics ("" when nothing answers).
std::string scrapeMetrics(int port);

// The value of the sample `series` (a metric name with its labels exactly as exposed, e.g.
// `mixer_forward_auth_requests_total{code="200"}`, or a bare name) on a line of its own in
// `exposition`; nullopt when there is none.
std::optional<double> sampleValue(const std::string& exposition, const std::string& series);

// The same sample's value as written ("1", "0.25", "1e+06").
std::optional<std::string> sampleText(const std::string& exposition, const std::string& series);

// The sum of the samples of metric `name` whose label set contains `label` ("" for all of them);
// nullopt when `exposition` has no sample of it.
std::optional<double> metricSum(const std::string& exposition, const std::string& name,
                                const std::string& label = "");

}  // namespace mixer::testing
