// The project's version, reported by `mixs version`, `/version` and startup output.
#pragma once

namespace mixer {
inline constexpr const char* kVersion = "0.1.0";
// The Istio release whose istio.mixer.v1 API and global dictionary the server speaks.
inline constexpr const char* kIstioApiVersion = "1.4";
}  // namespace mixer
