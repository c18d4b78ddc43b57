// Fuzz target: CheckRequest and ReportRequest decoding. Invariants beyond "no crash, no hang":
// whatever decodes must re-encode and decode to the same attributes.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "mixer/api/attribute_encoder.h"
#include "mixer/api/request_decoder.h"

namespace {

using mixer::attribute::AttributeBag;
using mixer::attribute::AttributeValue;
using mixer::attribute::ValueType;

// AttributeValue::equals compares doubles as IEEE numbers (NaN != NaN); a round trip must keep the
// bits.
bool sameValue(const AttributeValue& a, const AttributeValue& b) {
  if (a.type() == ValueType::kDouble && b.type() == ValueType::kDouble) {
    const double x = a.doubleValue(), y = b.doubleValue();
    return std::memcmp(&x, &y, sizeof(x)) == 0;
  }
  return a.equals(b);
}

void checkRoundTrip(const AttributeBag& bag) {
  istio::mixer::v1::CompressedAttributes encoded;
  mixer::api::encodeAttributes(bag, mixer::api::kGlobalWordCount, &encoded);
  const std::string bytes = encoded.SerializeAsString();
  AttributeBag again(bag.vocabularyPtr());
  std::vector<std::string_view> words;
  if (!mixer::api::decodeCompressedAttributes(bytes, &words, &again).ok()) {
    std::abort();
  }
  if (again.size() != bag.size()) {
    std::abort();
  }
  bag.forEach([&](std::string_view name, const AttributeValue& v) {
    const AttributeValue* got = again.find(name);
    if (got == nullptr || !sameValue(*got, v)) {
      std::abort();
    }
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto vocabulary = mixer::attribute::Vocabulary::builtin();
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  AttributeBag bag(vocabulary);
  mixer::api::CheckRequestView check;
  if (mixer::api::parseCheckRequest(input, &check).ok() &&
      mixer::api::decodeCheckAttributes(&check, &bag).ok()) {
    checkRoundTrip(bag);
  }

  mixer::api::ReportRequestView report;
  if (mixer::api::parseReportRequest(input, &report).ok()) {
    bag.clear();
    for (size_t i = 0; i < report.records.size(); ++i) {
      if (!mixer::api::decodeReportRecord(&report, i, &bag).ok()) {
        break;
      }
    }
  }
  return 0;
}
