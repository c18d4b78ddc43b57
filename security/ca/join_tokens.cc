#include "security/ca/join_tokens.h"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <fstream>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/log.h"
#include "security/ca/x509.h"

namespace security::ca {
namespace {

constexpr size_t kMinTokenLength = 16;
constexpr size_t kMaxTokenLength = 4096;
constexpr size_t kMaxFileBytes = 16 << 20;

absl::Status lineError(std::string_view file, const YAML::Node& node, const std::string& what) {
  const int line = node.Mark().line >= 0 ? node.Mark().line + 1 : 1;
  return absl::InvalidArgumentError(std::string(file) + ":" + std::to_string(line) + ": " + what);
}

}  // namespace

std::string tokenDigest(std::string_view token) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(token.data(), token.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

absl::StatusOr<std::vector<JoinToken>> parseJoinTokens(std::string_view yaml, std::string_view file,
                                                       std::string_view trust_domain) {
  if (yaml.size() > kMaxFileBytes) {
    return absl::InvalidArgumentError(std::string(file) + ": larger than 16 MiB");
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(std::string(file) + ":" + std::to_string(e.mark.line + 1) +
                                      ": " + e.msg);
  }
  std::vector<JoinToken> out;
  if (root.IsNull()) return out;  // an empty file: no tokens
  if (!root.IsSequence()) return lineError(file, root, "expected a list of tokens");
  std::set<std::string> seen;
  try {
    for (const YAML::Node& item : root) {
      if (!item.IsMap()) return lineError(file, item, "expected {token, spiffe_id, expires}");
      JoinToken t;
      t.line = item.Mark().line + 1;
      bool has_token = false, has_id = false, has_expires = false;
      for (const auto& kv : item) {
        if (!kv.first.IsScalar()) return lineError(file, kv.first, "expected a field name");
        const std::string key = kv.first.Scalar();
        if (key == "dns_names") {
          if (!kv.second.IsSequence()) {
            return lineError(file, kv.second, "dns_names must be a list of DNS names");
          }
          for (const YAML::Node& n : kv.second) {
            if (!n.IsScalar() || !validDnsName(n.Scalar())) {
              return lineError(file, n, "not a DNS name (letters, digits, '-' and '.')");
            }
            t.id.dns_names.push_back(n.Scalar());
          }
          if (t.id.dns_names.size() > 16) return lineError(file, kv.second, "at most 16 names");
          continue;
        }
        if (!kv.second.IsScalar()) return lineError(file, kv.second, key + " must be a string");
        const std::string value = kv.second.Scalar();
        if (key == "token") {
          if (value.size() < kMinTokenLength || value.size() > kMaxTokenLength) {
            return lineError(file, kv.second, "a token has 16 to 4096 characters");
          }
          for (unsigned char c : value) {
            if (c <= 0x20 || c >= 0x7f) {
              return lineError(file, kv.second, "a token is printable ASCII without spaces");
            }
          }
          t.token = value;
          has_token = true;
        } else if (key == "spiffe_id") {
          auto id = parseWorkloadId(value);
          if (!id.ok()) return lineError(file, kv.second, std::string(id.status().message()));
          if (id->trust_domain != trust_domain) {
            return lineError(file, kv.second,
                             value + " is not in trust domain " + std::string(trust_domain));
          }
          id->dns_names = std::move(t.id.dns_names);
          t.id = std::move(*id);
          has_id = true;
        } else if (key == "expires") {
          absl::Time when;
          std::string err;
          if (!absl::ParseTime(absl::RFC3339_full, value, &when, &err)) {
            return lineError(file, kv.second, "expires must be an RFC 3339 time: " + err);
          }
          t.expires = absl::ToChronoTime(when);
          has_expires = true;
        } else {
          return lineError(file, kv.first, "unknown field " + key);
        }
      }
      if (!has_token || !has_id || !has_expires) {
        return lineError(file, item, "each token needs token, spiffe_id and expires");
      }
      if (!seen.insert(t.token).second) return lineError(file, item, "duplicate token");
      out.push_back(std::move(t));
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(std::string(file) + ":" + std::to_string(e.mark.line + 1) +
                                      ": " + e.msg);
  }
  return out;
}

JoinTokenStore::JoinTokenStore(std::string path, std::string trust_domain, std::string used_path)
    : path_(std::move(path)),
      trust_domain_(std::move(trust_domain)),
      used_path_(std::move(used_path)) {}

const char* JoinTokenStore::name(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kUnknown:
      return "token_unknown";
    case Outcome::kUsed:
      return "token_used";
    case Outcome::kExpired:
      return "token_expired";
  }
  return "?";
}

absl::Status JoinTokenStore::load() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!used_path_.empty()) {
    std::ifstream in(used_path_);
    std::string line;
    while (std::getline(in, line)) {
      if (line.size() == 64) used_.insert(line);
    }
  }
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return absl::NotFoundError("cannot read " + path_);
  auto text = readFile(path_);
  if (!text.ok()) return text.status();
  auto tokens = parseJoinTokens(*text, path_, trust_domain_);
  if (!tokens.ok()) return tokens.status();
  for (auto& t : *tokens) tokens_[tokenDigest(t.token)] = Entry{std::move(t.id), t.expires};
  stamp_ = FileStamp{st.st_ino, st.st_size,
                     static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
  return absl::OkStatus();
}

void JoinTokenStore::maybeReloadLocked() {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return;  // gone for a moment (an editor's rename)
  const FileStamp now{st.st_ino, st.st_size,
                      static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
  if (now == stamp_) return;
  stamp_ = now;
  auto text = readFile(path_);
  if (!text.ok()) return;
  auto tokens = parseJoinTokens(*text, path_, trust_domain_);
  if (!tokens.ok()) {
    MIXER_LOG(Warn) << "join tokens not reloaded, the previous ones stay in force: "
                    << tokens.status().message();
    return;
  }
  std::map<std::string, Entry> fresh;
  for (auto& t : *tokens) fresh[tokenDigest(t.token)] = Entry{std::move(t.id), t.expires};
  tokens_ = std::move(fresh);
  ++reloads_;
  MIXER_LOG(Info) << "join tokens reloaded from " << path_ << ": " << tokens_.size();
}

JoinTokenStore::Outcome JoinTokenStore::redeem(std::string_view token,
                                               std::chrono::system_clock::time_point now,
                                               WorkloadId* id) {
  const std::string digest = tokenDigest(token);
  std::lock_guard<std::mutex> lock(mu_);
  maybeReloadLocked();
  if (used_.count(digest) != 0) return Outcome::kUsed;
  const auto it = tokens_.find(digest);
  if (it == tokens_.end()) return Outcome::kUnknown;
  if (it->second.expires <= now) return Outcome::kExpired;
  used_.insert(digest);
  if (!used_path_.empty()) {
    std::ofstream out(used_path_, std::ios::app);
    out << digest << "\n";
    out.flush();
  }
  *id = it->second.id;
  return Outcome::kOk;
}

size_t JoinTokenStore::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tokens_.size();
}

uint64_t JoinTokenStore::reloads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reloads_;
}

}  // namespace security::ca
