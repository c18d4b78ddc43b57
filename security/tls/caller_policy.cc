#include "security/tls/caller_policy.h"

#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "base/str_cat.h"

namespace security::tls {
namespace {

constexpr std::array<std::string_view, kApiCount> kApiNames = {
    "check", "report",       "ext_authz", "ratelimit",  "accesslog",
    "xds",   "forward_auth", "rules",     "rules_write"};

absl::Status errorAt(std::string_view source, const YAML::Node& node, std::string_view what) {
  return absl::InvalidArgumentError(
      mixer::base::strCat(source, ":", node.Mark().line + 1, ": ", what));
}

}  // namespace

std::string_view apiName(Api api) { return kApiNames[static_cast<size_t>(api)]; }

bool principalMatches(std::string_view pattern, std::string_view principal) {
  if (principal.empty()) return false;
  if (pattern == "*") return true;
  if (pattern.size() > 1 && pattern.back() == '*') {
    const std::string_view prefix = pattern.substr(0, pattern.size() - 1);
    return principal.substr(0, prefix.size()) == prefix;
  }
  if (pattern.size() > 1 && pattern.front() == '*') {
    const std::string_view suffix = pattern.substr(1);
    return principal.size() >= suffix.size() &&
           principal.substr(principal.size() - suffix.size()) == suffix;
  }
  return pattern == principal;
}

absl::StatusOr<CallerPolicy> CallerPolicy::parse(std::string_view text, std::string_view source) {
  YAML::Node loaded;
  try {
    loaded = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        mixer::base::strCat(source, ":", e.mark.line + 1, ": not YAML: ", e.msg));
  }
  // Read through a const node: yaml-cpp's non-const operator[] may keep a reference to its key.
  const YAML::Node& root = loaded;
  CallerPolicy policy;
  if (!root.IsMap() || !root["callers"]) {
    return absl::InvalidArgumentError(
        mixer::base::strCat(source, ":1: expected a map with \"callers\""));
  }
  for (auto it = root.begin(); it != root.end(); ++it) {
    if (it->first.as<std::string>() != "callers") {
      return errorAt(source, it->first,
                     mixer::base::strCat("unknown field \"", it->first.as<std::string>(), "\""));
    }
  }
  const YAML::Node callers = root["callers"];
  if (!callers.IsSequence()) {
    return errorAt(source, callers, "\"callers\" must be a list");
  }
  try {
    for (const YAML::Node& item : callers) {
      if (!item.IsMap()) {
        return errorAt(source, item, "a caller entry must be a map");
      }
      Entry entry;
      bool has_principals = false, has_apis = false;
      for (auto f = item.begin(); f != item.end(); ++f) {
        const std::string field = f->first.as<std::string>();
        const YAML::Node value = f->second;  // a copy: the iterator's pair is a temporary
        if (field == "principals" || field == "apis") {
          if (!value.IsSequence() || value.size() == 0) {
            return errorAt(source, value,
                           mixer::base::strCat("\"", field, "\" must be a non-empty list"));
          }
          for (const YAML::Node& v : value) {
            if (!v.IsScalar() || v.Scalar().empty()) {
              return errorAt(source, v, mixer::base::strCat("\"", field, "\" holds strings"));
            }
            const std::string& s = v.Scalar();
            if (field == "principals") {
              entry.principals.push_back(s);
              has_principals = true;
              continue;
            }
            has_apis = true;
            if (s == "*") {
              entry.apis.fill(true);
              continue;
            }
            bool known = false;
            for (size_t i = 0; i < kApiCount; ++i) {
              if (kApiNames[i] == s) {
                entry.apis[i] = known = true;
              }
            }
            if (!known) {
              return errorAt(
                  source, v,
                  mixer::base::strCat("unknown API \"", s,
                                      "\" (check, report, ext_authz, ratelimit, accesslog, "
                                      "forward_auth, xds, rules, rules_write or *)"));
            }
          }
        } else if (field == "trusted") {
          if (!value.IsScalar() || (value.Scalar() != "true" && value.Scalar() != "false")) {
            return errorAt(source, value, "\"trusted\" must be true or false");
          }
          entry.trusted = value.Scalar() == "true";
        } else {
          return errorAt(source, f->first, mixer::base::strCat("unknown field \"", field, "\""));
        }
      }
      if (!has_principals || !has_apis) {
        return errorAt(source, item, "a caller entry needs \"principals\" and \"apis\"");
      }
      policy.entries_.push_back(std::move(entry));
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        mixer::base::strCat(source, ":", e.mark.line + 1, ": ", e.msg));
  }
  return policy;
}

absl::StatusOr<CallerPolicy> CallerPolicy::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(mixer::base::strCat("caller policy ", path, ": cannot be read"));
  }
  std::ostringstream s;
  s << in.rdbuf();
  return parse(s.str(), path);
}

CallerPolicy::Decision CallerPolicy::decide(std::string_view principal, Api api) const {
  Decision d;
  for (const Entry& e : entries_) {
    if (!e.apis[static_cast<size_t>(api)]) continue;
    for (const std::string& p : e.principals) {
      if (principalMatches(p, principal)) {
        d.allowed = true;
        d.trusted = d.trusted || e.trusted;
        break;
      }
    }
  }
  return d;
}

}  // namespace security::tls
