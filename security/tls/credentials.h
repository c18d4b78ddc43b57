// TLS for the project's gRPC servers and clients, from PEM files an operator provides (SPIRE,
// cert-manager, the pilot-discovery CA, or openssl).
//
// The files are watched: gRPC's FileWatcherCertificateProvider re-reads them every `refresh`
// and new handshakes use what it read; connections already up keep their session, so calls in
// flight survive a rotation. TLS 1.2 is the lowest version offered (gRPC's floor). A server
// given a client CA verifies client certificates against it: `kRequire` refuses a client without
// one, `kOptional` lets it in unauthenticated (the CA's first-issue port).
//
// The files are also read once by checkFiles() when a process starts, so that a missing file, a
// key that does not belong to its certificate or a file without a certificate is an error at
// start-up that names the file, not a handshake that silently fails later.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace grpc {
class AuthContext;
class ChannelArguments;
class ChannelCredentials;
class ServerCredentials;
}  // namespace grpc

namespace security::tls {

enum class ClientCertMode { kNone, kOptional, kRequire };

struct TlsFiles {
  std::string cert;  // PEM certificate chain, leaf first
  std::string key;   // PEM private key of the leaf
  // Servers: the CA(s) client certificates are verified against. Clients: the CA(s) the server's
  // certificate is verified against (empty: the system's roots).
  std::string ca;
  // Servers only: whether a client certificate is asked for (needs `ca`).
  ClientCertMode client_cert = ClientCertMode::kRequire;
  // How often the files are re-read.
  std::chrono::seconds refresh{60};
};

// Reads and parses the files now: OK, or an error naming the file and what is wrong with it.
// `server`: the certificate and key are required.
absl::Status checkFiles(const TlsFiles& files, bool server);

// Server credentials over the files (checkFiles() first).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> serverCredentials(const TlsFiles& files);

// Channel credentials over the files: `ca` verifies the server; `cert` and `key`, when given,
// are the client's certificate for mTLS. The server's name is checked against the channel's
// target host, or the name set with GRPC_SSL_TARGET_NAME_OVERRIDE_ARG.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> channelCredentials(const TlsFiles& files);

// Lets a client channel resume its TLS sessions: when it connects again to a server that gave it
// a session ticket (a reconnect after the server's max-connection-age or idle limit, a network
// blip), the handshake resumes the session instead of repeating the certificate exchange. One
// cache of sessions per process (kSessionCacheSize servers, least recently used first out),
// shared by every channel given these arguments. Servers issue tickets by default (TLS 1.3); a
// ticket is only good with the server process that issued it.
constexpr size_t kSessionCacheSize = 64;
void enableSessionResumption(grpc::ChannelArguments* args);

// Who is calling, as the transport verified it.
struct PeerIdentity {
  bool tls = false;  // the call came over TLS
  // The peer presented a certificate that was verified (mTLS).
  bool authenticated = false;
  // The certificate's SPIFFE ID (its URI SAN), else its first DNS SAN, else "".
  std::string principal;
};

// The identity of a call's peer from its gRPC auth context.
PeerIdentity peerIdentity(const grpc::AuthContext& context);

}  // namespace security::tls
