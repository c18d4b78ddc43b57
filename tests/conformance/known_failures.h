// The committed list of conformance cases this engine is known not to pass, and the bookkeeping
// that enforces it. Both harnesses (cel_conformance, cexl_conformance) use it:
//   - every case is run, listed or not;
//   - a case that does not pass and is not listed fails the harness (a regression);
//   - a listed case that passes fails the harness too, so the list is kept current;
//   - a listed key that names no case of the suite fails the harness (a stale entry).
// The list is YAML with two maps, each entry `"<key>": "<one-line reason>"`:
//   known_failures:  cases that run and are expected not to pass;
//   not_run:         cases that cannot say anything about this engine when run (for example an
//                    expected error that would come from a missing feature, not from the thing
//                    tested): they are not run, and are reported as skipped.
#pragma once

#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <string>

#include "yaml-cpp/yaml.h"

namespace conformance {

class KnownFailures {
 public:
  // Loads `path`; false with *error set when it cannot be read or an entry has no reason.
  bool load(const std::filesystem::path& path, std::string* error) {
    YAML::Node doc;
    try {
      doc = YAML::LoadFile(path.string());
    } catch (const YAML::Exception& e) {
      *error = path.string() + ": " + e.what();
      return false;
    }
    if (!doc || doc.IsNull()) return true;  // an empty list: every case must pass
    if (!doc.IsMap()) {
      *error = path.string() + ": expected the maps known_failures and not_run";
      return false;
    }
    for (const auto& section : doc) {
      const std::string name = section.first.as<std::string>();
      auto* target = name == "known_failures" ? &listed_ : name == "not_run" ? &not_run_ : nullptr;
      if (target == nullptr) {
        *error = path.string() + ": unknown section '" + name + "' (known_failures, not_run)";
        return false;
      }
      if (section.second.IsNull()) continue;
      if (!section.second.IsMap()) {
        *error = path.string() + ": " + name + ": expected a map of \"case key\": \"reason\"";
        return false;
      }
      for (const auto& e : section.second) {
        const std::string key = e.first.as<std::string>();
        const std::string reason = e.second.IsScalar() ? e.second.as<std::string>() : "";
        if (reason.empty()) {
          *error = path.string() + ": " + key + ": an entry needs a one-line reason";
          return false;
        }
        (*target)[key] = reason;
      }
    }
    return true;
  }

  // True when `key` is listed as not to be run; counts it as seen and skipped.
  bool skip(const std::string& key, bool verbose) {
    const auto it = not_run_.find(key);
    if (it == not_run_.end()) return false;
    seen_.insert(key);
    ++skipped_;
    if (verbose) std::cout << "NOT RUN " << key << ": " << it->second << "\n";
    return true;
  }

  // Records the outcome of case `key`; `why` is empty when it passed. Prints every surprise.
  void record(const std::string& key, const std::string& why, bool verbose) {
    seen_.insert(key);
    const auto it = listed_.find(key);
    if (it == listed_.end()) {
      if (why.empty()) {
        ++passed_;
      } else {
        ++failed_;
        std::cout << "FAIL " << key << ": " << why << "\n";
      }
    } else if (why.empty()) {
      ++failed_;
      std::cout << "NOW PASSES " << key << ": listed as known to fail (" << it->second
                << "); remove it from the list\n";
    } else {
      ++known_;
      if (verbose) std::cout << "KNOWN " << key << ": " << it->second << " (" << why << ")\n";
    }
  }

  // Counts the listed keys that named no case run; prints each.
  int staleEntries() const {
    int stale = 0;
    for (const auto* list : {&listed_, &not_run_}) {
      for (const auto& [key, reason] : *list) {
        if (!seen_.count(key)) {
          ++stale;
          std::cout << "STALE " << key << ": listed, but the suite has no such case\n";
        }
      }
    }
    return stale;
  }

  int passed() const { return passed_; }
  int failed() const { return failed_; }
  int known() const { return known_; }
  int skipped() const { return skipped_; }

 private:
  std::map<std::string, std::string> listed_, not_run_;
  std::set<std::string> seen_;
  int passed_ = 0, failed_ = 0, known_ = 0, skipped_ = 0;
};

// Base64 (standard alphabet) as the suites write bytes and raw IP addresses.
inline std::string b64decode(const std::string& in) {
  static const std::string chars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    size_t pos = chars.find(c);
    if (pos == std::string::npos) break;
    val = (val << 6) + static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

}  // namespace conformance
