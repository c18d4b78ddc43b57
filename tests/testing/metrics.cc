#include "tests/testing/metrics.h"

#include <regex>

#include "tests/testing/subprocess.h"

namespace mixer::testing {

std::string scrapeMetrics(int port) { return httpGet(port, "/metrics").second; }

std::optional<std::string> sampleText(const std::string& exposition, const std::string& series) {
  const std::string line = series + " ";
  size_t value;
  if (exposition.compare(0, line.size(), line) == 0) {
    value = line.size();
  } else {
    const size_t at = exposition.find("\n" + line);
    if (at == std::string::npos) {
      return std::nullopt;
    }
    value = at + 1 + line.size();
  }
  return exposition.substr(value, exposition.find_first_of(" \n", value) - value);
}

std::optional<double> sampleValue(const std::string& exposition, const std::string& series) {
  const auto text = sampleText(exposition, series);
  if (!text) {
    return std::nullopt;
  }
  return std::stod(*text);
}

std::optional<double> metricSum(const std::string& exposition, const std::string& name,
                                const std::string& label) {
  const std::regex line("^" + name + R"((\{[^}]*\})? ([0-9.e+]+)$)", std::regex::multiline);
  std::optional<double> sum;
  for (auto it = std::sregex_iterator(exposition.begin(), exposition.end(), line);
       it != std::sregex_iterator(); ++it) {
    if (label.empty() || (*it)[1].str().find(label) != std::string::npos) {
      sum = sum.value_or(0) + std::stod((*it)[2].str());
    }
  }
  return sum;
}

}  // namespace mixer::testing
