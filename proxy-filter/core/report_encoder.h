// ReportEncoder: encodes a batch of report records straight into the wire bytes of one
// istio.mixer.v1.ReportRequest (the batch's words as default_words, global_word_count set),
// without building protobuf messages and maps first.
//
// A batch whose every record holds every attribute name of the record before it travels with
// DELTA_ENCODING: the first record whole, each later one with only the attributes whose value
// changed (a Mixer server keeps one bag per batch and updates it per record). That is what a
// proxy's records mostly are: the same names, most values repeated. Any other batch travels with
// INDEPENDENT_ENCODING, each record whole (a delta cannot take an attribute away). The message is
// the one ReportBatcher::buildRequest builds: words get the same indices in the same order (a
// global word among the first global_word_count travels as its index, any other word as -(position
// + 1) in default_words), so a server cannot tell the two apart.
//
// It encodes a Check's istio.mixer.v1.CheckRequest the same way (encodeCheck): the message
// MixerClient would build with compressAttributes, the request's own words in attributes.words.
//
// Not thread-safe; reusable (its scratch buffers are kept between batches).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/types/span.h"
#include "base/word_compression.h"
#include "proxy-filter/core/attributes.h"

namespace mixer::proxy {

class ReportEncoder {
 public:
  ReportEncoder();

  // Replaces `*out` with the serialized ReportRequest of `records`.
  void encode(const std::vector<Attributes>& records, uint32_t global_word_count, std::string* out);

  // The same one record at a time, as records are queued: start() a batch (DELTA_ENCODING when
  // `delta`, which the caller decides: each record must hold every name of the one before), add()
  // each record in order (`previous`: the record added before it, null for the first), finish()
  // into `*out`. The batch keeps copies of the words it needs (in a reused arena), so a record may
  // be emptied and written again once the record after it has been added (until then it is that
  // record's `previous`).
  void start(uint32_t global_word_count, bool delta);
  void add(const Attributes& record, const Attributes* previous);
  bool delta() const { return delta_; }
  void finish(std::string* out);

  // false: every batch travels with INDEPENDENT_ENCODING, as Istio 1.4's client sends it.
  void allowDelta(bool allow) { delta_allowed_ = allow; }

  // Whether `records` travel with DELTA_ENCODING: each record holds every attribute name of the
  // one before it. Records set in the same order cost a name comparison per attribute.
  static bool deltaEncodable(const std::vector<Attributes>& records);
  // Whether `record` holds every attribute name of `previous`.
  static bool holdsNamesOf(const Attributes& record, const Attributes& previous);
  // Whether `attribute`, the `position`th of its record, has the same value in `previous` (the
  // record before it in the batch): then a delta leaves it out.
  static bool unchanged(const Attributes& previous, size_t position, const Attribute& attribute);

  // One quota of a Check: CheckRequest.quotas[name] = {amount, best_effort}.
  struct CheckQuota {
    std::string_view name;
    int64_t amount = 0;
    bool best_effort = false;
  };
  // Replaces `*out` with the serialized CheckRequest of `attributes`.
  void encodeCheck(const Attributes& attributes, uint32_t global_word_count,
                   std::string_view deduplication_id, absl::Span<const CheckQuota> quotas,
                   std::string* out);

 private:
  // Starts a message: an empty dictionary over `global_word_count` global words, nothing
  // remembered from the message before (its words may view records that are gone).
  void begin(uint32_t global_word_count);
  // Encodes `record` into record_; with `previous` (DELTA_ENCODING), only the attributes whose
  // value differs from the one they had there.
  void encodeRecord(const Attributes& record, const Attributes* previous = nullptr);
  // The index of `word`, which is the `slot`th string looked up in the record being encoded: the
  // index found for the same slot of an earlier record of the batch when that was the same word (a
  // comparison instead of two hash lookups: a proxy's records mostly repeat their strings, in the
  // same order), else the dictionary's.
  int32_t indexOf(size_t slot, std::string_view word);

  // The batch's words; its own words point into the records, which outlive encode().
  base::BorrowedMessageDictionary words_;
  // A word the message needs after its record is gone: a copy in the arena when keep_words_ (a
  // batch built record by record), else the word itself (encode() and encodeCheck(), whose
  // attributes outlive the call).
  std::string_view keep(std::string_view word);

  // Copies of words, in blocks reused from batch to batch: no allocation once the blocks suffice.
  class WordArena {
   public:
    std::string_view copy(std::string_view word);
    void reset();  // forgets the words, keeps the blocks

   private:
    static constexpr size_t kBlock = 16384;
    std::vector<std::unique_ptr<char[]>> blocks_;
    size_t block_ = 0;                            // the block being filled
    size_t used_ = 0;                             // bytes used in it
    std::vector<std::unique_ptr<char[]>> large_;  // words longer than a block, freed at reset()
  };
  WordArena arena_;
  bool keep_words_ = false;

  // Per string slot of a record (in lookup order): the word last looked up there and its index.
  // The words view the arena (a batch built record by record), or the records or the global
  // words, valid until encode() returns.
  struct Memo {
    std::string_view word;
    int32_t index = 0;
    bool set = false;
  };
  std::vector<Memo> memo_;
  bool delta_allowed_ = true;
  // The batch being built: its records' bytes so far, and its encoding.
  std::string body_;
  bool delta_ = false;
  std::string record_;  // one CompressedAttributes
  std::string entry_;   // one map entry
  std::string inner_;   // a value message inside a map entry (Timestamp, Duration, StringMap)
};

}  // namespace mixer::proxy
