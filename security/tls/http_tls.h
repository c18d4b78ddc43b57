// TLS for the project's HTTP servers (mixs' forward-auth port), with OpenSSL, from the same PEM
// files and the same rules as the gRPC ports (credentials.h): TLS 1.2 or later; with a client CA,
// client certificates verified (kRequire: required); the files re-read when they change, checked
// at most every `refresh` (a new handshake uses the new files, an established session keeps its
// own).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "base/http_server.h"
#include "security/tls/credentials.h"

namespace security::tls {

// An HttpTls over `files` (checked now with checkFiles(); an error names the file). The process
// ignores SIGPIPE from then on (OpenSSL writes to sockets with write()). With `alpn` (e.g. "h2",
// which gRPC clients require), a client that offers ALPN must offer that protocol, which is
// selected; a client that offers none is served.
absl::StatusOr<std::shared_ptr<mixer::HttpTls>> httpServerTls(const TlsFiles& files,
                                                              std::string alpn = "");

}  // namespace security::tls
