// UTF-8 validity for adapters: utf8SequenceLength, isValidUtf8, appendUtf8Sanitized and
// utf8Sanitized. The code is the project's base library's (base/utf8.h, header-only, installed
// with the SDK); these names keep the SDK's spelling of it.
#pragma once

#include "base/utf8.h"

namespace mixer::adapter_sdk {

using ::mixer::base::appendUtf8Sanitized;
using ::mixer::base::isValidUtf8;
using ::mixer::base::utf8Sanitized;
using ::mixer::base::utf8SequenceLength;

}  // namespace mixer::adapter_sdk
