// Decoding of istio.mixer.v1 CheckRequest and ReportRequest bytes straight into an AttributeBag.
//
// Istio's index rule: a word index i >= 0 is global dictionary word i; i < 0 is words[-i-1] of
// the message (or of ReportRequest.default_words when the entry's own words are empty). Every
// malformed input yields an InvalidArgument status whose message names the attribute or index;
// nothing is copied: strings in the bag are views into `request`, which must outlive the bag's
// contents.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "mixer/attribute/attribute_bag.h"

namespace mixer::api {

// One entry of CheckRequest.quotas.
struct QuotaRequest {
  std::string_view name;
  int64_t amount = 0;
  bool best_effort = false;
};

// The parts of a CheckRequest other than attributes. Reusable: clear() keeps capacity.
struct CheckRequestView {
  uint32_t global_word_count = 0;
  std::string_view deduplication_id;
  std::vector<QuotaRequest> quotas;

  // Internal scratch, kept here so that a per-thread view stops allocating.
  std::vector<std::string_view> attribute_spans;
  std::vector<std::string_view> words;

  void clear() {
    global_word_count = 0;
    deduplication_id = {};
    quotas.clear();
    attribute_spans.clear();
    words.clear();
  }
};

// Parses the top level of a CheckRequest into `view` (no attribute decoding yet).
absl::Status parseCheckRequest(std::string_view request, CheckRequestView* view);

// Decodes the attributes of a parsed CheckRequest into `bag` (which is not cleared first).
absl::Status decodeCheckAttributes(CheckRequestView* view, attribute::AttributeBag* bag);

// A parsed ReportRequest: the entries are decoded one at a time with decodeRecord().
struct ReportRequestView {
  enum class Semantics { Delta = 0, Independent = 1 };

  uint32_t global_word_count = 0;
  Semantics semantics = Semantics::Delta;
  std::vector<std::string_view> records;
  std::vector<std::string_view> default_words;

  std::vector<std::string_view> words;  // scratch

  void clear() {
    global_word_count = 0;
    semantics = Semantics::Delta;
    records.clear();
    default_words.clear();
    words.clear();
  }
};

absl::Status parseReportRequest(std::string_view request, ReportRequestView* view);

// Decodes entry `index` into `bag`. With DELTA_ENCODING the caller keeps the bag between entries
// (each entry updates the accumulated attributes); with INDEPENDENT_ENCODING it clears the bag
// before each entry. An entry with no words of its own uses default_words.
absl::Status decodeReportRecord(ReportRequestView* view, size_t index,
                                attribute::AttributeBag* bag);

// Decodes one serialized CompressedAttributes message with the given message-level words
// (empty: the message's own). Exposed for the client library and tests.
absl::Status decodeCompressedAttributes(std::string_view message,
                                        std::vector<std::string_view>* words_scratch,
                                        attribute::AttributeBag* bag);

}  // namespace mixer::api
