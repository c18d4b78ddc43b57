#include "mixer/api/request_decoder.h"

#include <bit>

#include "absl/container/flat_hash_map.h"

#include "base/proto_wire.h"
#include "base/str_cat.h"
#include "base/word_compression.h"
#include "mixer/api/global_dictionary.h"

namespace mixer::api {
namespace {

using base::strCat;

using attribute::AttributeBag;
using attribute::AttributeId;
using attribute::AttributeValue;
using attribute::kNoAttribute;
using attribute::StringMapEntry;
using attribute::ValueType;
using base::WireReader;
using base::WireType;

// Timestamp range of google.protobuf.Timestamp: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;
// Duration range of google.protobuf.Duration: +-10,000 years.
constexpr int64_t kMaxDurationSeconds = 315576000000;

absl::Status malformed(std::string_view message, std::string_view what) {
  return absl::InvalidArgumentError(strCat("malformed ", message, ": ", what));
}

// The error for a request over one of the DecodeLimits; `flag` is the mixs flag that sets it.
absl::Status overLimit(std::string_view what, uint32_t limit, std::string_view flag) {
  return absl::InvalidArgumentError(
      strCat(what, ": more than ", limit, ", the limit set by --", flag));
}

// Up to this many entries, a string map's repeated keys are found by scanning; beyond, by hashing.
constexpr uint32_t kScannedMapEntries = 16;

const char* fieldName(uint32_t field) {
  switch (field) {
    case 1:
      return "words";
    case 2:
      return "strings";
    case 3:
      return "int64s";
    case 4:
      return "doubles";
    case 5:
      return "bools";
    case 6:
      return "timestamps";
    case 7:
      return "durations";
    case 8:
      return "bytes";
    case 9:
      return "string_maps";
  }
  return "unknown";
}

// The map a value travelled in; two values of one attribute in one message must share it.
int category(ValueType t) {
  switch (t) {
    case ValueType::kString:
    case ValueType::kDnsName:
    case ValueType::kEmailAddress:
    case ValueType::kUri:
      return 2;
    case ValueType::kInt64:
      return 3;
    case ValueType::kDouble:
      return 4;
    case ValueType::kBool:
      return 5;
    case ValueType::kTimestamp:
      return 6;
    case ValueType::kDuration:
      return 7;
    case ValueType::kIpAddress:
    case ValueType::kBytes:
      return 8;
    case ValueType::kStringMap:
      return 9;
    case ValueType::kUnspecified:
    default:  // the expression language's own types: no attribute has one
      break;
  }
  return 0;
}

const char* categoryTypeName(int field) {
  switch (field) {
    case 2:
      return "a string";
    case 3:
      return "an INT64";
    case 4:
      return "a DOUBLE";
    case 5:
      return "a BOOL";
    case 6:
      return "a TIMESTAMP";
    case 7:
      return "a DURATION";
    case 8:
      return "bytes";
    case 9:
      return "a STRING_MAP";
  }
  return "?";
}

// A map entry of a CompressedAttributes map: key (field 1) is always sint32; the value (field 2)
// depends on the map.
struct Entry {
  int32_t key = 0;
  uint64_t varint = 0;
  uint64_t fixed64 = 0;
  std::string_view len;
};

bool readEntry(std::string_view bytes, WireType value_type, Entry* e) {
  WireReader r(bytes);
  while (!r.done()) {
    uint32_t field = 0;
    WireType type = WireType::Varint;
    if (!r.readTag(&field, &type)) {
      return false;
    }
    if (field == 1 && type == WireType::Varint) {
      uint64_t v;
      if (!r.readVarint(&v)) {
        return false;
      }
      e->key = base::zigzagDecode32(v);
    } else if (field == 2 && type == value_type) {
      bool ok = false;
      switch (type) {
        case WireType::Varint:
          ok = r.readVarint(&e->varint);
          break;
        case WireType::Fixed64:
          ok = r.readFixed64(&e->fixed64);
          break;
        case WireType::Len:
          ok = r.readLen(&e->len);
          break;
        case WireType::Fixed32:
          ok = false;
          break;
      }
      if (!ok) {
        return false;
      }
    } else if (field == 1 || field == 2) {
      return false;  // a known field with the wrong wire type
    } else if (!r.skip(type)) {
      return false;
    }
  }
  return true;
}

// Reads google.protobuf.Timestamp / Duration: {int64 seconds = 1; int32 nanos = 2}.
bool readSecondsNanos(std::string_view bytes, int64_t* seconds, int32_t* nanos) {
  *seconds = 0;
  *nanos = 0;
  WireReader r(bytes);
  while (!r.done()) {
    uint32_t field = 0;
    WireType type = WireType::Varint;
    if (!r.readTag(&field, &type)) {
      return false;
    }
    if ((field == 1 || field == 2) && type != WireType::Varint) {
      return false;
    }
    if (field == 1 || field == 2) {
      uint64_t v;
      if (!r.readVarint(&v)) {
        return false;
      }
      if (field == 1) {
        *seconds = static_cast<int64_t>(v);
      } else {
        *nanos = static_cast<int32_t>(static_cast<uint32_t>(v));
      }
    } else if (!r.skip(type)) {
      return false;
    }
  }
  return true;
}

class AttributeDecoder {
 public:
  AttributeDecoder(const std::vector<std::string_view>& words, AttributeBag* bag,
                   const DecodeLimits& limits)
      : words_(words), bag_(bag), vocab_(bag->vocabulary()), limits_(limits) {}

  absl::Status decode(std::string_view message) {
    WireReader r(message);
    while (!r.done()) {
      uint32_t field = 0;
      WireType type = WireType::Varint;
      if (!r.readTag(&field, &type)) {
        return malformed("CompressedAttributes", "bad field tag");
      }
      if (field > 9) {
        if (!r.skip(type)) {
          return malformed("CompressedAttributes", strCat("truncated field ", field));
        }
        continue;
      }
      if (type != WireType::Len) {
        return malformed("CompressedAttributes",
                         strCat("field ", field, " (", fieldName(field), ") has wire type ",
                                static_cast<int>(type), ", want 2"));
      }
      std::string_view bytes;
      if (!r.readLen(&bytes)) {
        return malformed("CompressedAttributes",
                         strCat("truncated field ", field, " (", fieldName(field), ")"));
      }
      if (field == 1) {
        continue;  // words were collected before
      }
      if (auto s = decodeEntry(field, bytes); !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  }

 private:
  struct Name {
    std::string_view text;
    AttributeId id = kNoAttribute;
  };

  // Resolves a word index; false when it names no word (see wordError).
  bool wordAt(int32_t index, std::string_view* out) const {
    auto word = base::wordAt(index, kGlobalWords, words_);
    if (!word) {
      return false;
    }
    *out = *word;
    return true;
  }

  // The error for a word index that wordAt() rejected; `role` says what the word was for.
  absl::Status wordError(int32_t index, std::string_view role) const {
    if (index >= 0) {
      return absl::InvalidArgumentError(strCat(role, ": word index ", index,
                                               " is out of range: the global dictionary "
                                               "has ",
                                               kGlobalWordCount, " words"));
    }
    return absl::InvalidArgumentError(strCat(
        role, ": word index ", index, " refers to message word ", base::messageWordPosition(index),
        ", but the message has ", words_.size(), " words"));
  }

  absl::Status name(int32_t index, Name* out) const {
    if (!wordAt(index, &out->text)) {
      return wordError(index, "attribute name");
    }
    if (index >= 0) {
      out->id = vocab_.idForGlobalWord(static_cast<uint32_t>(index));
    } else {
      auto id = vocab_.find(out->text);
      out->id = id ? *id : kNoAttribute;
    }
    return absl::OkStatus();
  }

  static std::string quoted(std::string_view name) { return strCat("attribute '", name, "'"); }

  // The type the value gets: the declared one when it is compatible with the map it came in,
  // `wire_type` for attributes no manifest declares.
  absl::Status resolveType(const Name& n, int field, ValueType wire_type, ValueType* out) const {
    if (n.id == kNoAttribute) {
      *out = wire_type;
      return absl::OkStatus();
    }
    const ValueType declared = vocab_.type(n.id);
    const bool ok = field == 8
                        ? (declared == ValueType::kIpAddress || declared == ValueType::kBytes)
                        : category(declared) == field;
    if (!ok) {
      return absl::InvalidArgumentError(strCat(quoted(n.text), " is declared ",
                                               attribute::manifestTypeName(declared),
                                               " but was sent as ", categoryTypeName(field)));
    }
    *out = declared;
    return absl::OkStatus();
  }

  // A declared attribute can only arrive in the map of its type (resolveType), so a second value
  // for it replaces the first, as a repeated protobuf map key does. So does an undeclared one.
  absl::Status set(const Name& n, int field, const AttributeValue& v) {
    if (n.id != kNoAttribute) {
      bag_->set(n.id, v);
    } else {
      bag_->set(n.text, v);
    }
    return absl::OkStatus();
  }

  absl::Status decodeEntry(uint32_t field, std::string_view bytes) {
    if (++attributes_ > limits_.max_attributes) {
      return overLimit("attributes of the request", limits_.max_attributes,
                       "max-attributes-per-request");
    }
    const WireType value_wire = field == 4   ? WireType::Fixed64
                                : field >= 6 ? WireType::Len
                                             : WireType::Varint;
    Entry e;
    if (!readEntry(bytes, value_wire, &e)) {
      return malformed("CompressedAttributes",
                       strCat("bad map entry in field ", field, " (", fieldName(field), ")"));
    }
    Name n;
    if (auto s = name(e.key, &n); !s.ok()) {
      return s;
    }
    ValueType type = ValueType::kUnspecified;
    switch (field) {
      case 2: {
        if (auto s = resolveType(n, 2, ValueType::kString, &type); !s.ok()) {
          return s;
        }
        std::string_view text;
        const int32_t index = base::zigzagDecode32(e.varint);
        if (!wordAt(index, &text)) {
          return wordError(index, "value of " + quoted(n.text));
        }
        return set(n, 2, AttributeValue::string(text, type));
      }
      case 3:
        if (auto s = resolveType(n, 3, ValueType::kInt64, &type); !s.ok()) {
          return s;
        }
        return set(n, 3, AttributeValue::int64(static_cast<int64_t>(e.varint)));
      case 4:
        if (auto s = resolveType(n, 4, ValueType::kDouble, &type); !s.ok()) {
          return s;
        }
        return set(n, 4, AttributeValue::doubleValue(std::bit_cast<double>(e.fixed64)));
      case 5:
        if (auto s = resolveType(n, 5, ValueType::kBool, &type); !s.ok()) {
          return s;
        }
        return set(n, 5, AttributeValue::boolean(e.varint != 0));
      case 6: {
        if (auto s = resolveType(n, 6, ValueType::kTimestamp, &type); !s.ok()) {
          return s;
        }
        attribute::Timestamp ts{};
        if (!readSecondsNanos(e.len, &ts.seconds, &ts.nanos)) {
          return absl::InvalidArgumentError(
              strCat(quoted(n.text), ": malformed google.protobuf.Timestamp"));
        }
        if (ts.seconds < kMinTimestampSeconds || ts.seconds > kMaxTimestampSeconds ||
            ts.nanos < 0 || ts.nanos > 999999999) {
          return absl::InvalidArgumentError(
              strCat(quoted(n.text), ": timestamp (seconds=", ts.seconds, ", nanos=", ts.nanos,
                     ") is outside 0001-01-01..9999-12-31"));
        }
        return set(n, 6, AttributeValue::timestamp(ts));
      }
      case 7: {
        if (auto s = resolveType(n, 7, ValueType::kDuration, &type); !s.ok()) {
          return s;
        }
        attribute::Duration d{};
        if (!readSecondsNanos(e.len, &d.seconds, &d.nanos)) {
          return absl::InvalidArgumentError(
              strCat(quoted(n.text), ": malformed google.protobuf.Duration"));
        }
        if (d.seconds < -kMaxDurationSeconds || d.seconds > kMaxDurationSeconds ||
            d.nanos < -999999999 || d.nanos > 999999999 || (d.seconds > 0 && d.nanos < 0) ||
            (d.seconds < 0 && d.nanos > 0)) {
          return absl::InvalidArgumentError(strCat(
              quoted(n.text), ": invalid duration (seconds=", d.seconds, ", nanos=", d.nanos, ")"));
        }
        return set(n, 7, AttributeValue::duration(d));
      }
      case 8: {
        if (auto s = resolveType(n, 8, ValueType::kBytes, &type); !s.ok()) {
          return s;
        }
        if (type == ValueType::kIpAddress && e.len.size() != 4 && e.len.size() != 16) {
          return absl::InvalidArgumentError(
              strCat(quoted(n.text), " (IP_ADDRESS) has ", e.len.size(), " bytes, want 4 or 16"));
        }
        return set(n, 8, AttributeValue::bytes(e.len, type));
      }
      case 9:
        if (auto s = resolveType(n, 9, ValueType::kStringMap, &type); !s.ok()) {
          return s;
        }
        return decodeStringMap(n, e.len);
    }
    return absl::OkStatus();
  }

  // StringMap {map<sint32, sint32> entries = 1;}
  absl::Status decodeStringMap(const Name& n, std::string_view bytes) {
    // Count entries first so that the bag hands out one contiguous block.
    uint32_t count = 0;
    {
      WireReader r(bytes);
      while (!r.done()) {
        uint32_t field = 0;
        WireType type = WireType::Varint;
        std::string_view skip;
        if (!r.readTag(&field, &type)) {
          return malformed("StringMap", strCat("bad field tag in ", quoted(n.text)));
        }
        if (field == 1 && type == WireType::Len) {
          if (!r.readLen(&skip)) {
            return malformed("StringMap", strCat("truncated entry in ", quoted(n.text)));
          }
          if (++count > limits_.max_string_map_entries) {
            return overLimit(strCat("entries of ", quoted(n.text)), limits_.max_string_map_entries,
                             "max-string-map-entries");
          }
        } else if (field == 1 || !r.skip(type)) {
          return malformed("StringMap", strCat("bad entry in ", quoted(n.text)));
        }
      }
    }
    StringMapEntry* entries = bag_->allocateMapEntries(count);
    uint32_t used = 0;
    // Positions of the keys so far, for maps too long to scan for each key.
    thread_local absl::flat_hash_map<std::string_view, uint32_t> positions;
    const bool hashed = count > kScannedMapEntries;
    if (hashed) {
      positions.clear();
    }
    WireReader r(bytes);
    while (!r.done()) {
      uint32_t field = 0;
      WireType type = WireType::Varint;
      r.readTag(&field, &type);
      if (field != 1) {
        r.skip(type);
        continue;
      }
      std::string_view eb;
      r.readLen(&eb);
      Entry e;
      if (!readEntry(eb, WireType::Varint, &e)) {
        return malformed("StringMap", strCat("bad entry in ", quoted(n.text)));
      }
      std::string_view key, value;
      if (!wordAt(e.key, &key)) {
        return wordError(e.key, "key of " + quoted(n.text));
      }
      const int32_t value_index = base::zigzagDecode32(e.varint);
      if (!wordAt(value_index, &value)) {
        return wordError(value_index, strCat("value of ", quoted(n.text), "[", key, "]"));
      }
      // A repeated key replaces the earlier value, as protobuf maps do.
      if (hashed) {
        auto [it, inserted] = positions.try_emplace(key, used);
        if (inserted) {
          entries[used++] = {key, value};
        } else {
          entries[it->second].value = value;
        }
        continue;
      }
      bool replaced = false;
      for (uint32_t i = 0; i < used; ++i) {
        if (entries[i].key == key) {
          entries[i].value = value;
          replaced = true;
          break;
        }
      }
      if (!replaced) {
        entries[used++] = {key, value};
      }
    }
    return set(n, 9, AttributeValue::stringMap(entries, used));
  }

  const std::vector<std::string_view>& words_;
  AttributeBag* bag_;
  const attribute::Vocabulary& vocab_;
  const DecodeLimits& limits_;
  uint32_t attributes_ = 0;  // attribute values decoded so far
};

// Appends the `words` (field 1) of a CompressedAttributes message.
absl::Status collectWords(std::string_view message, std::vector<std::string_view>* words,
                          const DecodeLimits& limits) {
  WireReader r(message);
  while (!r.done()) {
    uint32_t field = 0;
    WireType type = WireType::Varint;
    if (!r.readTag(&field, &type)) {
      return malformed("CompressedAttributes", "bad field tag");
    }
    if (field == 1) {
      std::string_view w;
      if (type != WireType::Len || !r.readLen(&w)) {
        return malformed("CompressedAttributes", "bad entry in field 1 (words)");
      }
      if (words->size() >= limits.max_words) {
        return overLimit("words of the request", limits.max_words, "max-words-per-request");
      }
      words->push_back(w);
    } else if (!r.skip(type)) {
      return malformed("CompressedAttributes",
                       strCat("truncated field ", field, " (", fieldName(field), ")"));
    }
  }
  return absl::OkStatus();
}

// CheckRequest.QuotaParams {int64 amount = 1; bool best_effort = 2;}
bool readQuotaParams(std::string_view bytes, QuotaRequest* q) {
  WireReader r(bytes);
  while (!r.done()) {
    uint32_t field = 0;
    WireType type = WireType::Varint;
    if (!r.readTag(&field, &type)) {
      return false;
    }
    if (field == 1 || field == 2) {
      uint64_t v;
      if (type != WireType::Varint || !r.readVarint(&v)) {
        return false;
      }
      if (field == 1) {
        q->amount = static_cast<int64_t>(v);
      } else {
        q->best_effort = v != 0;
      }
    } else if (!r.skip(type)) {
      return false;
    }
  }
  return true;
}

// map<string, QuotaParams> entry.
bool readQuotaEntry(std::string_view bytes, QuotaRequest* q) {
  WireReader r(bytes);
  while (!r.done()) {
    uint32_t field = 0;
    WireType type = WireType::Varint;
    if (!r.readTag(&field, &type)) {
      return false;
    }
    if (field == 1 || field == 2) {
      std::string_view v;
      if (type != WireType::Len || !r.readLen(&v)) {
        return false;
      }
      if (field == 1) {
        q->name = v;
      } else if (!readQuotaParams(v, q)) {
        return false;
      }
    } else if (!r.skip(type)) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::Status parseCheckRequest(std::string_view request, CheckRequestView* view,
                               const DecodeLimits& limits) {
  WireReader r(request);
  uint32_t quota_entries = 0;
  while (!r.done()) {
    uint32_t field = 0;
    WireType type = WireType::Varint;
    if (!r.readTag(&field, &type)) {
      return malformed("CheckRequest", "bad field tag");
    }
    switch (field) {
      case 1: {
        std::string_view v;
        if (type != WireType::Len || !r.readLen(&v)) {
          return malformed("CheckRequest", "bad field 1 (attributes)");
        }
        view->attribute_spans.push_back(v);
        break;
      }
      case 2: {
        uint64_t v;
        if (type != WireType::Varint || !r.readVarint(&v)) {
          return malformed("CheckRequest", "bad field 2 (global_word_count)");
        }
        view->global_word_count = static_cast<uint32_t>(v);
        break;
      }
      case 3: {
        if (type != WireType::Len || !r.readLen(&view->deduplication_id)) {
          return malformed("CheckRequest", "bad field 3 (deduplication_id)");
        }
        break;
      }
      case 4: {
        std::string_view v;
        QuotaRequest q;
        if (type != WireType::Len || !r.readLen(&v) || !readQuotaEntry(v, &q)) {
          return malformed("CheckRequest", "bad entry in field 4 (quotas)");
        }
        // The limit bounds this scan too: at most max_quotas^2 comparisons.
        if (++quota_entries > limits.max_quotas) {
          return overLimit("quotas of the Check", limits.max_quotas, "max-quotas-per-check");
        }
        bool replaced = false;
        for (auto& existing : view->quotas) {
          if (existing.name == q.name) {
            existing = q;
            replaced = true;
          }
        }
        if (!replaced) {
          view->quotas.push_back(q);
        }
        break;
      }
      default:
        if (!r.skip(type)) {
          return malformed("CheckRequest", strCat("truncated field ", field));
        }
    }
  }
  return absl::OkStatus();
}

absl::Status decodeCheckAttributes(CheckRequestView* view, AttributeBag* bag,
                                   const DecodeLimits& limits) {
  // A message field sent more than once is merged, as protobuf does: the word lists concatenate.
  view->words.clear();
  for (auto span : view->attribute_spans) {
    if (auto s = collectWords(span, &view->words, limits); !s.ok()) {
      return s;
    }
  }
  AttributeDecoder decoder(view->words, bag, limits);
  for (auto span : view->attribute_spans) {
    if (auto s = decoder.decode(span); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status parseReportRequest(std::string_view request, ReportRequestView* view,
                                const DecodeLimits& limits) {
  WireReader r(request);
  while (!r.done()) {
    uint32_t field = 0;
    WireType type = WireType::Varint;
    if (!r.readTag(&field, &type)) {
      return malformed("ReportRequest", "bad field tag");
    }
    switch (field) {
      case 1:
      case 2: {
        std::string_view v;
        if (type != WireType::Len || !r.readLen(&v)) {
          return malformed("ReportRequest",
                           field == 1 ? "bad field 1 (attributes)" : "bad field 2 (default_words)");
        }
        if (field == 1 && view->records.size() >= limits.max_report_records) {
          return overLimit("entries of the Report", limits.max_report_records,
                           "max-report-records");
        }
        if (field == 2 && view->default_words.size() >= limits.max_words) {
          return overLimit("default_words of the Report", limits.max_words,
                           "max-words-per-request");
        }
        (field == 1 ? view->records : view->default_words).push_back(v);
        break;
      }
      case 3:
      case 4: {
        uint64_t v;
        if (type != WireType::Varint || !r.readVarint(&v)) {
          return malformed("ReportRequest", field == 3
                                                ? "bad field 3 (global_word_count)"
                                                : "bad field 4 (repeated_attributes_semantics)");
        }
        if (field == 3) {
          view->global_word_count = static_cast<uint32_t>(v);
        } else if (v == 0 || v == 1) {
          view->semantics = static_cast<ReportRequestView::Semantics>(v);
        } else {
          return absl::InvalidArgumentError(
              strCat("unknown repeated_attributes_semantics ", v,
                     " (want 0 DELTA_ENCODING or 1 INDEPENDENT_ENCODING)"));
        }
        break;
      }
      default:
        if (!r.skip(type)) {
          return malformed("ReportRequest", strCat("truncated field ", field));
        }
    }
  }
  return absl::OkStatus();
}

absl::Status decodeReportRecord(ReportRequestView* view, size_t index, AttributeBag* bag,
                                const DecodeLimits& limits) {
  const std::string_view record = view->records[index];
  view->words.clear();
  if (auto s = collectWords(record, &view->words, limits); !s.ok()) {
    return absl::InvalidArgumentError(strCat("report entry ", index, ": ", s.message()));
  }
  // The shared words are used in place: copying them for every entry would make a Report of
  // many short entries quadratic.
  AttributeDecoder decoder(view->words.empty() ? view->default_words : view->words, bag, limits);
  if (auto s = decoder.decode(record); !s.ok()) {
    return absl::InvalidArgumentError(strCat("report entry ", index, ": ", s.message()));
  }
  return absl::OkStatus();
}

absl::Status decodeCompressedAttributes(std::string_view message,
                                        std::vector<std::string_view>* words_scratch,
                                        AttributeBag* bag, const DecodeLimits& limits) {
  words_scratch->clear();
  if (auto s = collectWords(message, words_scratch, limits); !s.ok()) {
    return s;
  }
  AttributeDecoder decoder(*words_scratch, bag, limits);
  return decoder.decode(message);
}

}  // namespace mixer::api
