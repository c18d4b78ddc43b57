// Transitional: strCat lives in base/str_cat.h (mixer::base::strCat). This header only keeps the
// old spelling, mixer::strCat, for the sources still being changed elsewhere
// (config/document_reader.cc, mixer/api/request_decoder.cc); delete it once they include
// base/str_cat.h. New code includes base/str_cat.h.
#pragma once

#include "base/str_cat.h"

namespace mixer {
using base::strCat;
}  // namespace mixer
