#include "proxy-filter/core/report_encoder.h"

#include <cstring>
#include <span>
#include <variant>

#include "base/proto_wire.h"
#include "mixer/api/global_dictionary.h"

namespace mixer::proxy {
namespace {

using base::appendLenField;
using base::appendTag;
using base::appendVarint;
using base::WireType;

// Field numbers are those of mixer/api/mixer/v1/{attributes,mixer}.proto.

// ReportRequest (repeated_attributes_semantics: DELTA_ENCODING = 0, proto3's default, is left
// out)
constexpr uint32_t kReportAttributes = 1;
constexpr uint32_t kReportDefaultWords = 2;
constexpr uint32_t kReportGlobalWordCount = 3;
constexpr uint32_t kReportSemantics = 4;
constexpr uint32_t kIndependentEncoding = 1;
// CheckRequest
constexpr uint32_t kCheckAttributes = 1;
constexpr uint32_t kCheckGlobalWordCount = 2;
constexpr uint32_t kCheckDeduplicationId = 3;
constexpr uint32_t kCheckQuotas = 4;  // map<string, QuotaParams>
// QuotaParams
constexpr uint32_t kQuotaAmount = 1;
constexpr uint32_t kQuotaBestEffort = 2;
// CompressedAttributes (field 1, words, stays empty in a report: default_words hold them)
constexpr uint32_t kWords = 1;
constexpr uint32_t kStrings = 2;
constexpr uint32_t kInt64s = 3;
constexpr uint32_t kDoubles = 4;
constexpr uint32_t kBools = 5;
constexpr uint32_t kTimestamps = 6;
constexpr uint32_t kDurations = 7;
constexpr uint32_t kBytes = 8;
constexpr uint32_t kStringMaps = 9;
// A map entry: key = 1, value = 2. StringMap: entries = 1. Timestamp, Duration: seconds = 1,
// nanos = 2.

// The strings a value has the encoder look up (its memo slots).
size_t stringsOf(const AttributeValue& value) {
  if (std::holds_alternative<std::string>(value)) {
    return 1;
  }
  if (const auto* m = std::get_if<StringMap>(&value)) {
    return 2 * m->size();
  }
  return 0;
}

// Whether `a` and `b` are the same name: their global word indices when the names are global
// words (an index names one word), else the stored hashes, then the names.
bool sameName(const Attribute& a, const Attribute& b) {
  if (a.global_word >= 0 || b.global_word >= 0) {
    return a.global_word == b.global_word;
  }
  return a.hash == b.hash && a.name == b.name;
}

}  // namespace

bool ReportEncoder::holdsNamesOf(const Attributes& record, const Attributes& previous) {
  const std::span<const Attribute> before = previous.entries();
  const std::span<const Attribute> current = record.entries();
  if (current.size() < before.size()) {
    return false;
  }
  for (size_t j = 0; j < before.size(); ++j) {
    if (!sameName(current[j], before[j]) && !record.contains(before[j].name)) {
      return false;
    }
  }
  return true;
}

bool ReportEncoder::deltaEncodable(const std::vector<Attributes>& records) {
  for (size_t i = 1; i < records.size(); ++i) {
    if (!holdsNamesOf(records[i], records[i - 1])) {
      return false;
    }
  }
  return true;
}

bool ReportEncoder::unchanged(const Attributes& previous, size_t position,
                              const Attribute& attribute) {
  const std::span<const Attribute> entries = previous.entries();
  const AttributeValue* before = position < entries.size() && sameName(entries[position], attribute)
                                     ? &entries[position].value
                                     : previous.find(attribute.name);
  return before != nullptr && *before == attribute.value;
}

ReportEncoder::ReportEncoder() : words_(api::globalWords(), api::kGlobalWordCount) {}

std::string_view ReportEncoder::WordArena::copy(std::string_view word) {
  if (word.empty()) {
    return {};
  }
  if (word.size() > kBlock) {
    large_.push_back(std::make_unique<char[]>(word.size()));
    std::memcpy(large_.back().get(), word.data(), word.size());
    return {large_.back().get(), word.size()};
  }
  if (block_ < blocks_.size() && used_ + word.size() > kBlock) {
    ++block_;
    used_ = 0;
  }
  if (block_ == blocks_.size()) {
    blocks_.push_back(std::make_unique<char[]>(kBlock));
  }
  char* at = blocks_[block_].get() + used_;
  std::memcpy(at, word.data(), word.size());
  used_ += word.size();
  return {at, word.size()};
}

void ReportEncoder::WordArena::reset() {
  block_ = 0;
  used_ = 0;
  large_.clear();
}

std::string_view ReportEncoder::keep(std::string_view word) {
  return keep_words_ ? arena_.copy(word) : word;
}

int32_t ReportEncoder::indexOf(size_t slot, std::string_view word) {
  if (slot >= memo_.size()) {
    memo_.resize(slot + 1);
  }
  Memo& m = memo_[slot];
  if (m.set && m.word == word) {
    return m.index;  // the word is in the dictionary already: the same index, nothing added
  }
  // A copy serves both the dictionary (when the word is new to the message) and the memo.
  const std::string_view kept = keep(word);
  m.index = words_.indexOf(kept);
  m.word = kept;
  m.set = true;
  return m.index;
}

void ReportEncoder::begin(uint32_t global_word_count) {
  words_.reset(global_word_count);
  arena_.reset();  // the message before is finished: nothing views its copies any more
  keep_words_ = false;
  for (Memo& m : memo_) {
    m.set = false;
  }
}

void ReportEncoder::encodeRecord(const Attributes& record, const Attributes* previous) {
  record_.clear();
  size_t slot = 0;  // strings looked up so far in this record, as if it were whole
  // Words are looked up in the order compressAttributes() looks them up: name, then value.
  const std::span<const Attribute> entries = record.entries();
  for (size_t position = 0; position < entries.size(); ++position) {
    const Attribute& attribute = entries[position];
    const AttributeValue& value = attribute.value;
    if (previous != nullptr && unchanged(*previous, position, attribute)) {
      // Left out; its strings keep their slots, so that the next record's line up again.
      slot += stringsOf(value);
      continue;
    }
    entry_.clear();
    // The name's global index was found when the name was stored.
    base::appendSint32Field(
        1,
        attribute.global_word >= 0 &&
                static_cast<uint32_t>(attribute.global_word) < words_.globalWordCount()
            ? attribute.global_word
            : words_.messageIndexOf(attribute.name,
                                    [this](std::string_view name) { return keep(name); }),
        &entry_);
    uint32_t field = 0;
    if (const auto* s = std::get_if<std::string>(&value)) {
      field = kStrings;
      base::appendSint32Field(2, indexOf(slot++, *s), &entry_);
    } else if (const auto* i = std::get_if<int64_t>(&value)) {
      field = kInt64s;
      base::appendInt64Field(2, *i, &entry_);
    } else if (const auto* d = std::get_if<double>(&value)) {
      field = kDoubles;
      appendTag(2, WireType::Fixed64, &entry_);
      char bytes[8];
      std::memcpy(bytes, d, 8);  // little-endian, as the wire format (x86-64, aarch64)
      entry_.append(bytes, 8);
    } else if (const auto* b = std::get_if<bool>(&value)) {
      field = kBools;
      appendTag(2, WireType::Varint, &entry_);
      entry_.push_back(*b ? 1 : 0);
    } else if (const auto* by = std::get_if<Bytes>(&value)) {
      field = kBytes;
      appendLenField(2, by->data, &entry_);
    } else if (const auto* t = std::get_if<Timestamp>(&value)) {
      field = kTimestamps;
      const int64_t ns = t->time_since_epoch().count();
      inner_.clear();
      base::appendSecondsNanos(ns / 1000000000 - (ns % 1000000000 < 0 ? 1 : 0),
                               static_cast<int32_t>((ns % 1000000000 + 1000000000) % 1000000000),
                               &inner_);
      appendLenField(2, inner_, &entry_);
    } else if (const auto* du = std::get_if<Duration>(&value)) {
      field = kDurations;
      inner_.clear();
      base::appendSecondsNanos(du->count() / 1000000000,
                               static_cast<int32_t>(du->count() % 1000000000), &inner_);
      appendLenField(2, inner_, &entry_);
    } else if (const auto* m = std::get_if<StringMap>(&value)) {
      field = kStringMaps;
      inner_.clear();
      for (const auto& [k, e] : *m) {
        // compressAttributes() evaluates `entries[indexOf(k)] = indexOf(e)`: the value first.
        const int32_t entry = indexOf(slot++, e);
        const int32_t key = indexOf(slot++, k);
        // One StringMap.entries entry: tag, length (at most 12 < 128: one byte), key, value.
        const size_t start = inner_.size();
        appendTag(1, WireType::Len, &inner_);
        inner_.push_back('\0');
        base::appendSint32Field(1, key, &inner_);
        base::appendSint32Field(2, entry, &inner_);
        inner_[start + 1] = static_cast<char>(inner_.size() - start - 2);
      }
      appendLenField(2, inner_, &entry_);
    }
    appendLenField(field, entry_, &record_);
  }
}

void ReportEncoder::start(uint32_t global_word_count, bool delta) {
  begin(global_word_count);
  keep_words_ = true;  // a record may be written again before finish()
  body_.clear();
  delta_ = delta;
}

void ReportEncoder::add(const Attributes& record, const Attributes* previous) {
  encodeRecord(record, delta_ ? previous : nullptr);
  appendLenField(kReportAttributes, record_, &body_);
}

void ReportEncoder::finish(std::string* out) {
  out->clear();
  out->swap(body_);  // body_ keeps out's buffer for the next batch
  for (std::string_view word : words_.words()) {
    appendLenField(kReportDefaultWords, word, out);
  }
  appendTag(kReportGlobalWordCount, WireType::Varint, out);
  appendVarint(words_.globalWordCount(), out);
  if (!delta_) {
    appendTag(kReportSemantics, WireType::Varint, out);
    appendVarint(kIndependentEncoding, out);
  }
  words_.clear();
}

void ReportEncoder::encode(const std::vector<Attributes>& records, uint32_t global_word_count,
                           std::string* out) {
  start(global_word_count, delta_allowed_ && deltaEncodable(records));
  keep_words_ = false;  // the records outlive this call
  const Attributes* previous = nullptr;
  for (const Attributes& record : records) {
    add(record, previous);
    previous = &record;
  }
  finish(out);
}

void ReportEncoder::encodeCheck(const Attributes& attributes, uint32_t global_word_count,
                                std::string_view deduplication_id,
                                absl::Span<const CheckQuota> quotas, std::string* out) {
  begin(global_word_count);
  encodeRecord(attributes);
  // CompressedAttributes: its words (field 1) first, as protobuf writes them, then the entries.
  size_t words_size = 0;
  for (std::string_view word : words_.words()) {
    words_size += 1 + base::varintSize(word.size()) + word.size();
  }
  out->clear();
  appendTag(kCheckAttributes, WireType::Len, out);
  appendVarint(words_size + record_.size(), out);
  for (std::string_view word : words_.words()) {
    appendLenField(kWords, word, out);
  }
  out->append(record_);
  if (global_word_count != 0) {
    appendTag(kCheckGlobalWordCount, WireType::Varint, out);
    appendVarint(global_word_count, out);
  }
  if (!deduplication_id.empty()) {
    appendLenField(kCheckDeduplicationId, deduplication_id, out);
  }
  for (const CheckQuota& quota : quotas) {
    inner_.clear();
    if (quota.amount != 0) {
      base::appendInt64Field(kQuotaAmount, quota.amount, &inner_);
    }
    if (quota.best_effort) {
      appendTag(kQuotaBestEffort, WireType::Varint, &inner_);
      inner_.push_back(1);
    }
    entry_.clear();
    appendLenField(1, quota.name, &entry_);
    appendLenField(2, inner_, &entry_);
    appendLenField(kCheckQuotas, entry_, out);
  }
  words_.clear();
}

}  // namespace mixer::proxy
