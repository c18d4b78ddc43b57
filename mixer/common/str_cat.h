// strCat: concatenates strings, string views and numbers into a std::string.
// (Debian's Abseil is built with its own string_view type, so absl::StrCat does not accept
// std::string_view; this small helper does.)
#pragma once

#include <charconv>
#include <concepts>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace mixer {
namespace internal {

inline void appendPiece(std::string& out, std::string_view s) { out.append(s); }
inline void appendPiece(std::string& out, const char* s) { out.append(s); }
#ifndef ABSL_USES_STD_STRING_VIEW
inline void appendPiece(std::string& out, absl::string_view s) { out.append(s.data(), s.size()); }
#endif
inline void appendPiece(std::string& out, const std::string& s) { out.append(s); }
inline void appendPiece(std::string& out, char c) { out.push_back(c); }
inline void appendPiece(std::string& out, bool b) { out.append(b ? "true" : "false"); }
template <std::integral T>
requires(!std::same_as<T, bool> && !std::same_as<T, char>) void appendPiece(std::string& out, T v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}
inline void appendPiece(std::string& out, double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

}  // namespace internal

template <typename... Args>
std::string strCat(const Args&... args) {
  std::string out;
  (internal::appendPiece(out, args), ...);
  return out;
}

}  // namespace mixer
