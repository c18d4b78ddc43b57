// Compression of Attributes into istio.mixer.v1.CompressedAttributes, as Istio 1.4's proxy client
// does it, with base's word compression over Istio's global dictionary: a word among the first
// `global_word_count` words of the global dictionary travels as its index (>= 0); any other word
// (names, string values, map keys and values) is added to the message's own words and travels as
// -(position + 1).
//
// The client sends its Checks and Reports through ReportEncoder, which writes these same messages
// straight into wire bytes; the message form here is what its bytes are tested against.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/word_compression.h"
#include "mixer/v1/mixer.pb.h"
#include "proxy-filter/core/attributes.h"

namespace mixer::proxy {

// Istio's client shrinks its global dictionary to this many words when a server rejects the
// full one (an older server knows fewer words).
inline constexpr uint32_t kFallbackGlobalWordCount = 111;

// The words of one message (a Check's attributes, or a whole Report batch), over Istio's global
// dictionary with the client's global word count.
base::MessageDictionary messageWords(uint32_t global_word_count);

// Moves the words of `words` out (into CompressedAttributes.words or ReportRequest.default_words).
void moveWords(base::MessageDictionary* words,
               google::protobuf::RepeatedPtrField<std::string>* out);

// Compresses every attribute into `out`, adding words to `words`.
void compressAttributes(const Attributes& attributes, base::MessageDictionary* words,
                        istio::mixer::v1::CompressedAttributes* out);

// The global word count a client sends: 222 (Istio 1.4) until a server rejects it, then 111.
// Thread-safe.
class GlobalDictionary {
 public:
  GlobalDictionary();
  uint32_t wordCount() const { return word_count_.load(std::memory_order_relaxed); }
  // Returns true when this call shrank the dictionary (false when already shrunk).
  bool shrink();

 private:
  std::atomic<uint32_t> word_count_;
};

// Whether a Check or Report failure status means "the server does not know this dictionary":
// INTERNAL or INVALID_ARGUMENT whose message speaks of the global dictionary.
bool isDictionaryRejection(int grpc_code, std::string_view message);

// Decodes `in` (for tests and diagnostics) back into Attributes; false on a bad word index.
bool decompressAttributes(const istio::mixer::v1::CompressedAttributes& in,
                          const google::protobuf::RepeatedPtrField<std::string>& words,
                          Attributes* out);

}  // namespace mixer::proxy
