// Join tokens: how a workload proves its identity the first time. The operator writes a YAML list
//
//   - token: 3f9c1b0e8a7d4c21a6e5f0b9d8c7a6e5     # at least 16 characters
//     spiffe_id: spiffe://cluster.local/ns/default/sa/reviews
//     expires: "2026-12-31T23:59:59Z"            # RFC 3339
//     dns_names: [reviews.default.svc]           # optional: DNS SANs for a workload that serves
//
// and hands each token to one workload, which sends it once as `authorization: Bearer <token>`.
// A token is good for one certificate: redeeming it marks it used for the life of the process
// (and, with a used-token file, across restarts). The file is re-read when it changes (checked at
// each redemption); a file that no longer parses leaves the previous tokens in force.
// Tokens are held and compared as SHA-256 digests. Thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "security/ca/spiffe_id.h"

namespace security::ca {

struct JoinToken {
  std::string token;
  WorkloadId id;
  std::chrono::system_clock::time_point expires;
  int line = 0;
};

// Parses a token file. Errors name `file` and the line. Every SPIFFE ID must be in
// `trust_domain`; tokens must be unique.
absl::StatusOr<std::vector<JoinToken>> parseJoinTokens(std::string_view yaml, std::string_view file,
                                                       std::string_view trust_domain);

class JoinTokenStore {
 public:
  enum class Outcome { kOk, kUnknown, kUsed, kExpired };

  // `used_path` (may be empty): a file of used-token digests, read at load() and appended to.
  JoinTokenStore(std::string path, std::string trust_domain, std::string used_path = "");

  // The first load; an error if the file is missing or does not parse.
  absl::Status load();

  // Redeems `token` at `now`: on kOk, `*id` is its SPIFFE ID and the token is used up.
  Outcome redeem(std::string_view token, std::chrono::system_clock::time_point now, WorkloadId* id);

  size_t size() const;
  uint64_t reloads() const;

  static const char* name(Outcome outcome);

 private:
  struct Entry {
    WorkloadId id;
    std::chrono::system_clock::time_point expires;
  };
  struct FileStamp {
    ino_t ino = 0;
    off_t size = -1;
    int64_t mtime_ns = -1;
    bool operator==(const FileStamp&) const = default;
  };
  void maybeReloadLocked();

  const std::string path_;
  const std::string trust_domain_;
  const std::string used_path_;
  mutable std::mutex mu_;
  FileStamp stamp_;
  std::map<std::string, Entry> tokens_;  // by SHA-256 digest
  std::set<std::string> used_;           // digests
  uint64_t reloads_ = 0;
};

// The SHA-256 digest of `token`, hex.
std::string tokenDigest(std::string_view token);

}  // namespace security::ca
