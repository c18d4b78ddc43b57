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

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <system_error>
#include <vector>

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

// The command line both harnesses take: [-v] [--known-failures FILE] [--min-pass N] [--help]
// [FILE_OR_DIR...]; a directory stands for its files ending in `extension`, sorted.
struct HarnessArgs {
  bool verbose = false;
  int min_pass = 0;
  std::filesystem::path known_file;
  std::vector<std::filesystem::path> files;
};

// Parses the command line into *args and loads the known-failures list into *known. Returns -1
// when the harness should run, else the exit status (2), having printed the usage: on --help,
// and with the reason on a bad flag, a missing path or an unreadable list.
inline int parseHarnessArgs(int argc, char** argv, const std::string& name, const char* usage,
                            const std::filesystem::path& default_input,
                            const std::string& extension, HarnessArgs* args, KnownFailures* known) {
  namespace fs = std::filesystem;
  auto usageError = [&](const std::string& why) {
    std::cerr << name << ": " << why << "\n" << usage;
    return 2;
  };
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::cout << usage;
      return 2;
    } else if (a == "-v") {
      args->verbose = true;
    } else if (a == "--min-pass" && i + 1 < argc) {
      args->min_pass = std::atoi(argv[++i]);
    } else if (a == "--known-failures" && i + 1 < argc) {
      args->known_file = argv[++i];
    } else if (a.starts_with("-")) {
      return usageError("unknown or incomplete option " + a);
    } else {
      inputs.emplace_back(a);
    }
  }
  if (inputs.empty()) inputs.push_back(default_input);
  if (!args->known_file.empty()) {
    std::string error;
    if (!known->load(args->known_file, &error)) return usageError(error);
  }
  for (const auto& in : inputs) {
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      std::vector<fs::path> here;
      for (const auto& e : fs::directory_iterator(in)) {
        if (e.path().extension() == extension) here.push_back(e.path());
      }
      std::sort(here.begin(), here.end());
      if (here.empty()) return usageError(in.string() + ": no *" + extension + " suite files");
      args->files.insert(args->files.end(), here.begin(), here.end());
    } else if (fs::is_regular_file(in, ec)) {
      args->files.push_back(in);
    } else {
      return usageError(in.string() + ": no such file or directory");
    }
  }
  return -1;
}

// The closing line and the exit status of a run (0, or 1 when anything was off the list).
inline int finishHarness(const KnownFailures& known, int skipped, const HarnessArgs& args) {
  const int stale = known.staleEntries();
  std::cout << known.passed() << " passed, " << known.failed() + stale << " failed, " << skipped
            << " skipped\n";
  if (known.failed() + stale > 0) {
    std::cout << "FAIL: the outcomes differ from "
              << (args.known_file.empty() ? std::string("an empty known-failures list")
                                          : args.known_file.string())
              << " (lines above); fix the regression or update the list\n";
    return 1;
  }
  if (known.passed() < args.min_pass) {
    std::cout << "FAIL: pass count " << known.passed() << " is below the recorded minimum "
              << args.min_pass << "\n";
    return 1;
  }
  return 0;
}

}  // namespace conformance
