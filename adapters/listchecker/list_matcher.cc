#include "list_matcher.h"

#include <arpa/inet.h>
#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <cstring>

namespace listchecker {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string_view unquote(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) {
    s = s.substr(1, s.size() - 2);
  }
  return s;
}

}  // namespace

class ListMatcher::RegexSet {
 public:
  RegexSet() : set_(RE2::Options(), RE2::UNANCHORED) {}
  bool add(const std::string& pattern, std::string* error) { return set_.Add(pattern, error) >= 0; }
  bool compile() { return set_.Compile(); }
  bool match(std::string_view value) const {
    return set_.Match(re2::StringPiece(value.data(), value.size()), nullptr);
  }

 private:
  RE2::Set set_;
};

ListMatcher::~ListMatcher() = default;

void ListMatcher::Trie::insert(const uint8_t* addr, int prefix_bits) {
  int32_t node = 0;
  for (int i = 0; i < prefix_bits; ++i) {
    int bit = (addr[i / 8] >> (7 - i % 8)) & 1;
    if (children[node][bit] < 0) {
      children[node][bit] = static_cast<int32_t>(children.size());
      children.push_back({-1, -1});
      terminal.push_back(false);
    }
    node = children[node][bit];
  }
  terminal[node] = true;
}

bool ListMatcher::Trie::matches(const uint8_t* addr, int bits) const {
  int32_t node = 0;
  for (int i = 0;; ++i) {
    if (terminal[node]) {
      return true;
    }
    if (i == bits) {
      return false;
    }
    int bit = (addr[i / 8] >> (7 - i % 8)) & 1;
    node = children[node][bit];
    if (node < 0) {
      return false;
    }
  }
}

bool parseAddress(std::string_view value, bool raw, std::array<uint8_t, 16>* out, bool* is_v4) {
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  out->fill(0);
  if (raw) {
    if (value.size() == 4) {
      std::memcpy(out->data(), kMapped, 12);
      std::memcpy(out->data() + 12, value.data(), 4);
    } else if (value.size() == 16) {
      std::memcpy(out->data(), value.data(), 16);
    } else {
      return false;
    }
  } else {
    std::string text(value);
    uint8_t buf[16];
    if (inet_pton(AF_INET, text.c_str(), buf) == 1) {
      std::memcpy(out->data(), kMapped, 12);
      std::memcpy(out->data() + 12, buf, 4);
      *is_v4 = true;
      return true;
    }
    if (inet_pton(AF_INET6, text.c_str(), buf) != 1) {
      return false;
    }
    std::memcpy(out->data(), buf, 16);
  }
  *is_v4 = std::memcmp(out->data(), kMapped, 12) == 0;
  return true;
}

std::unique_ptr<const ListMatcher> ListMatcher::build(EntryType type,
                                                      const std::vector<std::string>& entries,
                                                      std::vector<std::string>* errors) {
  std::unique_ptr<ListMatcher> m(new ListMatcher());
  m->type_ = type;
  auto fail = [&](const std::string& entry, const std::string& why) {
    if (errors != nullptr) {
      errors->push_back("entry '" + entry + "': " + why);
    }
  };
  if (type == EntryType::kRegex) {
    m->regexes_ = std::make_unique<RegexSet>();
  }
  for (const std::string& entry : entries) {
    switch (type) {
      case EntryType::kStrings:
        m->strings_.insert(entry);
        break;
      case EntryType::kCaseInsensitiveStrings:
        m->strings_.insert(lower(entry));
        break;
      case EntryType::kIpAddresses: {
        std::string_view addr = entry;
        int prefix = -1;
        size_t slash = addr.find('/');
        if (slash != std::string_view::npos) {
          std::string digits(addr.substr(slash + 1));
          if (digits.empty() || digits.size() > 3 ||
              digits.find_first_not_of("0123456789") != std::string::npos) {
            fail(entry, "invalid prefix length");
            continue;
          }
          prefix = std::stoi(digits);
          addr = addr.substr(0, slash);
        }
        std::array<uint8_t, 16> bytes;
        bool is_v4 = false;
        if (!parseAddress(addr, /*raw=*/false, &bytes, &is_v4)) {
          fail(entry, "not an IP address or CIDR");
          continue;
        }
        int max_bits = is_v4 ? 32 : 128;
        if (prefix > max_bits) {
          fail(entry, "prefix length larger than " + std::to_string(max_bits));
          continue;
        }
        if (prefix < 0) {
          prefix = max_bits;
        }
        if (is_v4) {
          m->v4_.insert(bytes.data() + 12, prefix);
        } else {
          m->v6_.insert(bytes.data(), prefix);
        }
        break;
      }
      case EntryType::kRegex: {
        std::string error;
        if (!m->regexes_->add(entry, &error)) {
          fail(entry, error);
          continue;
        }
        break;
      }
    }
    ++m->size_;
  }
  if (m->regexes_ != nullptr && !m->regexes_->compile()) {
    fail("", "the regex set does not compile (too large)");
    m->regexes_.reset();
  }
  return m;
}

bool ListMatcher::contains(std::string_view value, bool raw_address) const {
  switch (type_) {
    case EntryType::kStrings:
      return strings_.count(std::string(value)) > 0;
    case EntryType::kCaseInsensitiveStrings:
      return strings_.count(lower(value)) > 0;
    case EntryType::kIpAddresses: {
      std::array<uint8_t, 16> bytes;
      bool is_v4 = false;
      if (!parseAddress(raw_address ? value : trim(value), raw_address, &bytes, &is_v4)) {
        return false;
      }
      return is_v4 ? v4_.matches(bytes.data() + 12, 32) : v6_.matches(bytes.data(), 128);
    }
    case EntryType::kRegex:
      return regexes_ != nullptr && regexes_->match(value);
  }
  return false;
}

std::vector<std::string> parseListBody(std::string_view body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= body.size()) {
    size_t end = body.find('\n', pos);
    if (end == std::string_view::npos) {
      end = body.size();
    }
    std::string_view line = trim(body.substr(pos, end - pos));
    pos = end + 1;
    if (line.empty() || line.front() == '#') {
      continue;
    }
    if (line.rfind("whitelist:", 0) == 0) {  // Istio's YAML list shape
      line = trim(line.substr(std::strlen("whitelist:")));
      if (line.empty()) {
        continue;
      }
    }
    if (line.front() == '[') {  // flow list: [a, b, c]
      line = line.substr(1);
      if (!line.empty() && line.back() == ']') {
        line.remove_suffix(1);
      }
      size_t start = 0;
      while (start <= line.size()) {
        size_t comma = line.find(',', start);
        if (comma == std::string_view::npos) {
          comma = line.size();
        }
        std::string_view item = unquote(line.substr(start, comma - start));
        if (!item.empty()) {
          out.emplace_back(item);
        }
        start = comma + 1;
      }
      continue;
    }
    if (line.size() >= 2 && line[0] == '-' && line[1] == ' ') {  // block list item
      line = line.substr(2);
    }
    line = unquote(line);
    if (!line.empty()) {
      out.emplace_back(line);
    }
  }
  return out;
}

}  // namespace listchecker
