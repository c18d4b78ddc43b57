// Worst-case request shapes for decoding: every name, map key or word distinct, so that nothing a
// decoder might look up twice is cheap by accident. Used by the decode tests, the integration
// tests and the decode benchmark.
#pragma once

#include <cstdint>
#include <string>

#include "tests/testing/wire_builder.h"

namespace mixer::testing {

// "x.<i>": a name no vocabulary declares.
inline std::string distinctWord(size_t i) { return "x." + std::to_string(i); }

// A CheckRequest (global_word_count 222) whose attributes are `n` distinct undeclared STRING
// names, each the value of itself.
inline std::string distinctNamesCheck(size_t n) {
  WireBuilder attrs;
  for (size_t i = 0; i < n; ++i) {
    attrs.lenField(1, distinctWord(i));
  }
  for (size_t i = 0; i < n; ++i) {
    const auto w = -static_cast<int32_t>(i) - 1;
    attrs.lenField(2, sintEntry(w, w));
  }
  return WireBuilder().lenField(1, attrs.bytes()).varintField(2, 222).bytes();
}

// A CheckRequest with one STRING_MAP attribute, request.headers, of `n` distinct keys.
inline std::string distinctMapKeysCheck(size_t n) {
  WireBuilder attrs;
  attrs.lenField(1, "request.headers");
  WireBuilder map;
  for (size_t i = 0; i < n; ++i) {
    attrs.lenField(1, distinctWord(i));
    const auto w = -static_cast<int32_t>(i) - 2;
    map.lenField(1, sintEntry(w, w));
  }
  attrs.lenField(9, lenEntry(-1, map.bytes()));
  return WireBuilder().lenField(1, attrs.bytes()).varintField(2, 222).bytes();
}

// A CheckRequest whose dictionary has `n` distinct words, of which one attribute uses the last.
inline std::string distinctWordsCheck(size_t n) {
  WireBuilder attrs;
  for (size_t i = 0; i < n; ++i) {
    attrs.lenField(1, distinctWord(i));
  }
  const auto last = -static_cast<int32_t>(n);
  attrs.lenField(2, sintEntry(last, last));
  return WireBuilder().lenField(1, attrs.bytes()).varintField(2, 222).bytes();
}

// A ReportRequest with `words` distinct default_words and `records` entries, each with one
// attribute (x.0 = x.0) and no words of its own, so every entry uses the default words.
inline std::string sharedWordsReport(size_t words, size_t records) {
  WireBuilder report;
  const std::string entry = WireBuilder().lenField(2, sintEntry(-1, -1)).bytes();
  for (size_t i = 0; i < records; ++i) {
    report.lenField(1, entry);
  }
  for (size_t i = 0; i < words; ++i) {
    report.lenField(2, distinctWord(i));
  }
  return report.varintField(3, 222).bytes();
}

// A CheckRequest asking `n` distinct quotas of 1.
inline std::string distinctQuotasCheck(size_t n) {
  WireBuilder check;
  check.varintField(2, 222);
  for (size_t i = 0; i < n; ++i) {
    const std::string params = WireBuilder().varintField(1, 1).bytes();
    check.lenField(4, WireBuilder().lenField(1, distinctWord(i)).lenField(2, params).bytes());
  }
  return check.bytes();
}

}  // namespace mixer::testing
