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

// Bounds on what one request may carry, so that the work of a request is bounded by more than its
// size. Decoding is linear in the request's size whatever the limits; they bound the decoded
// state each thread keeps and what dispatch does with it. A request over a limit is rejected with
// InvalidArgument naming the limit and the mixs flag that sets it. The defaults are far above
// what Istio 1.4's proxies send (tens of attributes, at most a few hundred records per Report).
struct DecodeLimits {
  // Attribute values in one Check (over all its CompressedAttributes fields), or in one Report
  // entry; a repeated name counts each time it is sent.
  uint32_t max_attributes = 4096;
  // Entries of one STRING_MAP attribute value, a repeated key counting each time.
  uint32_t max_string_map_entries = 4096;
  // Words of one dictionary: a Check's message words, one Report entry's words, a Report's
  // default_words.
  uint32_t max_words = 65536;
  // Entries (records) of one Report.
  uint32_t max_report_records = 10000;
  // Quota requests of one Check, a repeated name counting each time.
  uint32_t max_quotas = 64;
};

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
absl::Status parseCheckRequest(std::string_view request, CheckRequestView* view,
                               const DecodeLimits& limits = {});

// Decodes the attributes of a parsed CheckRequest into `bag` (which is not cleared first).
absl::Status decodeCheckAttributes(CheckRequestView* view, attribute::AttributeBag* bag,
                                   const DecodeLimits& limits = {});

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

absl::Status parseReportRequest(std::string_view request, ReportRequestView* view,
                                const DecodeLimits& limits = {});

// Decodes entry `index` into `bag`. With DELTA_ENCODING the caller keeps the bag between entries
// (each entry updates the accumulated attributes); with INDEPENDENT_ENCODING it clears the bag
// before each entry. An entry with no words of its own uses default_words.
absl::Status decodeReportRecord(ReportRequestView* view, size_t index, attribute::AttributeBag* bag,
                                const DecodeLimits& limits = {});

// Decodes one serialized CompressedAttributes message with the given message-level words
// (empty: the message's own). Exposed for the client library and tests.
absl::Status decodeCompressedAttributes(std::string_view message,
                                        std::vector<std::string_view>* words_scratch,
                                        attribute::AttributeBag* bag,
                                        const DecodeLimits& limits = {});

}  // namespace mixer::api
