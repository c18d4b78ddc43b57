#include "proxy-filter/core/attributes.h"

#include <arpa/inet.h>

namespace mixer::proxy {

void Attributes::setMapEntry(std::string_view name, std::string_view key, std::string_view value) {
  auto it = values_.find(lookupKey(name));
  if (it == values_.end()) {
    it = values_.emplace(std::string(name), StringMap{}).first;
  } else if (!std::holds_alternative<StringMap>(it->second)) {
    it->second = StringMap{};
  }
  std::get<StringMap>(it->second).insert_or_assign(std::string(key), std::string(value));
}

void Attributes::merge(const Attributes& other) {
  for (const auto& [name, value] : other.values_) {
    values_.insert_or_assign(name, value);
  }
}

std::optional<Bytes> ipAddressBytes(std::string_view text) {
  if (text.size() >= INET6_ADDRSTRLEN) {
    return std::nullopt;
  }
  char buffer[INET6_ADDRSTRLEN];
  text.copy(buffer, text.size());
  buffer[text.size()] = '\0';
  unsigned char out[16];
  if (inet_pton(AF_INET, buffer, out) == 1) {
    return Bytes{std::string(reinterpret_cast<char*>(out), 4)};
  }
  if (inet_pton(AF_INET6, buffer, out) == 1) {
    return Bytes{std::string(reinterpret_cast<char*>(out), 16)};
  }
  return std::nullopt;
}

}  // namespace mixer::proxy
