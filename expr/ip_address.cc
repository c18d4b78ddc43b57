#include "expr/ip_address.h"

#include <arpa/inet.h>

#include <cstring>

#include "expr/str_util.h"

namespace expr {

bool isIpv4(std::string_view ip) {
  return ip.size() == 4 ||
         (ip.size() == 16 && std::memcmp(ip.data(), "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0);
}

bool parseIp(std::string_view s, std::string* bytes16) {
  std::string str(s);
  unsigned char buf[16];
  if (inet_pton(AF_INET, str.c_str(), buf + 12) == 1) {
    std::memcpy(buf, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
    bytes16->assign(reinterpret_cast<char*>(buf), 16);
    return true;
  }
  if (str.find('%') == std::string::npos && inet_pton(AF_INET6, str.c_str(), buf) == 1) {
    bytes16->assign(reinterpret_cast<char*>(buf), 16);
    return true;
  }
  return false;
}

std::string formatIp(std::string_view b) {
  char out[INET6_ADDRSTRLEN];
  if (b.size() == 4 || (b.size() == 16 && isIpv4(b))) {
    inet_ntop(AF_INET, b.data() + b.size() - 4, out, sizeof(out));
    return out;
  }
  if (b.size() == 16) {
    inet_ntop(AF_INET6, b.data(), out, sizeof(out));
    return out;
  }
  return strCat("?", b.size());
}

}  // namespace expr
