// base/str_cat.h: strCat and strAppend, which concatenate strings, string views, characters,
// booleans and numbers. (Debian's Abseil is built with its own absl::string_view type, so
// absl::StrCat does not take a std::string_view; these do, and take absl's views too.)
#pragma once

#include <charconv>
#include <concepts>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace mixer::base {
namespace str_cat_internal {

inline void appendPiece(std::string* out, std::string_view s) { out->append(s); }
inline void appendPiece(std::string* out, const char* s) { out->append(s); }
inline void appendPiece(std::string* out, const std::string& s) { out->append(s); }
#ifndef ABSL_USES_STD_STRING_VIEW
inline void appendPiece(std::string* out, absl::string_view s) { out->append(s.data(), s.size()); }
#endif
inline void appendPiece(std::string* out, char c) { out->push_back(c); }
inline void appendPiece(std::string* out, bool b) { out->append(b ? "true" : "false"); }
// Integers in decimal.
template <std::integral T>
requires(!std::same_as<T, bool> && !std::same_as<T, char>) void appendPiece(std::string* out, T v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}
// Floating point in the shortest form that reads back to the same value ("0.1", "1e+20").
template <std::floating_point T>
void appendPiece(std::string* out, T v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

}  // namespace str_cat_internal

// The concatenation of the pieces.
template <typename... Args>
std::string strCat(const Args&... args) {
  std::string out;
  (str_cat_internal::appendPiece(&out, args), ...);
  return out;
}

// Appends the pieces to *out.
template <typename... Args>
void strAppend([[maybe_unused]] std::string* out, const Args&... args) {
  (str_cat_internal::appendPiece(out, args), ...);
}

}  // namespace mixer::base
