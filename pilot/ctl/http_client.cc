#include "pilot/ctl/http_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace meshctl {
namespace {

std::string sslError() {
  const unsigned long e = ERR_get_error();
  if (e == 0) return "TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

class Conn {
 public:
  ~Conn() {
    if (ssl_ != nullptr) {
      SSL_shutdown(ssl_);
      SSL_free(ssl_);
    }
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }

  bool open(const Endpoint& e, bool tls, const std::string& host, const std::string& port,
            bool stream, std::string* error) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
      *error = "cannot resolve " + host + ": " + gai_strerror(rc);
      return false;
    }
    std::string last = "no address";
    for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
      fd_ = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd_ < 0) continue;
      timeval tv{e.timeout_ms / 1000, (e.timeout_ms % 1000) * 1000};
      setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
      if (!stream) setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      if (::connect(fd_, a->ai_addr, a->ai_addrlen) == 0) break;
      last = std::strerror(errno);
      ::close(fd_);
      fd_ = -1;
    }
    freeaddrinfo(res);
    if (fd_ < 0) {
      *error = "cannot connect to " + host + ":" + port + ": " + last;
      return false;
    }
    if (!tls) return true;
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    if (!e.ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(ctx_, e.ca_file.c_str(), nullptr) != 1) {
        *error = "cannot read --cacert " + e.ca_file + ": " + sslError();
        return false;
      }
    } else {
      SSL_CTX_set_default_verify_paths(ctx_);
    }
    if (!e.cert_file.empty()) {
      if (SSL_CTX_use_certificate_chain_file(ctx_, e.cert_file.c_str()) != 1 ||
          SSL_CTX_use_PrivateKey_file(ctx_, e.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
        *error = "cannot read --cert/--key: " + sslError();
        return false;
      }
    }
    ssl_ = SSL_new(ctx_);
    const std::string name = e.server_name.empty() ? host : e.server_name;
    unsigned char ip[16];
    if (inet_pton(AF_INET, name.c_str(), ip) == 1 || inet_pton(AF_INET6, name.c_str(), ip) == 1) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), name.c_str());  // an IP SAN
    } else {
      SSL_set_tlsext_host_name(ssl_, name.c_str());
      SSL_set1_host(ssl_, name.c_str());
    }
    SSL_set_fd(ssl_, fd_);
    if (SSL_connect(ssl_) != 1) {
      *error = "TLS handshake with " + host + ":" + port + " failed: " + sslError();
      const long v = SSL_get_verify_result(ssl_);
      if (v != X509_V_OK) *error += std::string(" (") + X509_verify_cert_error_string(v) + ")";
      return false;
    }
    return true;
  }

  bool writeAll(const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
      const int n =
          ssl_ != nullptr
              ? SSL_write(ssl_, data.data() + done, static_cast<int>(data.size() - done))
              : static_cast<int>(::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL));
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }

  // Bytes read, 0 at the end.
  long readSome(char* buf, size_t size) {
    if (ssl_ != nullptr) {
      const int n = SSL_read(ssl_, buf, static_cast<int>(size));
      return n > 0 ? n : 0;
    }
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, size, 0);
      if (n < 0 && errno == EINTR) continue;
      return n > 0 ? n : 0;
    }
  }

 private:
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
};

}  // namespace

bool httpCall(const Endpoint& endpoint, const std::string& method, const std::string& path,
              const std::string& content_type, const std::string& body, const std::string& accept,
              HttpResult* result, std::string* error,
              const std::function<bool(std::string_view)>& on_body) {
  std::string url = endpoint.url;
  bool tls = false;
  if (url.rfind("https://", 0) == 0) {
    tls = true;
    url = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    url = url.substr(7);
  }
  std::string prefix;
  if (const size_t slash = url.find('/'); slash != std::string::npos) {
    prefix = url.substr(slash);
    url = url.substr(0, slash);
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  }
  std::string host = url;
  std::string port = tls ? "443" : "80";
  if (const size_t colon = url.rfind(':');
      colon != std::string::npos && url.find(']', colon) == std::string::npos) {
    host = url.substr(0, colon);
    port = url.substr(colon + 1);
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  Conn conn;
  if (!conn.open(endpoint, tls, host, port, static_cast<bool>(on_body), error)) return false;
  std::string request = method + " " + prefix + path + " HTTP/1.1\r\nHost: " + url +
                        "\r\nUser-Agent: meshctl\r\nConnection: close\r\n";
  if (!accept.empty()) request += "Accept: " + accept + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT") {
    if (!content_type.empty()) request += "Content-Type: " + content_type + "\r\n";
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n" + body;
  if (!conn.writeAll(request)) {
    *error = "cannot send the request to " + url;
    return false;
  }
  std::string buf;
  char chunk[16384];
  size_t head_end = std::string::npos;
  while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
    const long n = conn.readSome(chunk, sizeof(chunk));
    if (n <= 0) {
      *error = "no answer from " + url;
      return false;
    }
    buf.append(chunk, static_cast<size_t>(n));
  }
  const std::string head = buf.substr(0, head_end);
  std::string rest = buf.substr(head_end + 4);
  if (head.size() < 12 || head.compare(0, 5, "HTTP/") != 0) {
    *error = "not an HTTP answer from " + url;
    return false;
  }
  result->code = std::atoi(head.c_str() + head.find(' ') + 1);
  bool chunked = false;
  long long length = -1;
  size_t pos = head.find("\r\n");
  while (pos != std::string::npos && pos < head.size()) {
    const size_t next = head.find("\r\n", pos + 2);
    std::string line =
        head.substr(pos + 2, (next == std::string::npos ? head.size() : next) - pos - 2);
    const size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      if (name == "content-type") result->content_type = value;
      if (name == "transfer-encoding" && value.find("chunked") != std::string::npos) {
        chunked = true;
      }
      if (name == "content-length") length = std::atoll(value.c_str());
    }
    pos = next;
  }
  const auto deliver = [&](std::string_view data) {
    if (on_body && result->code / 100 == 2) return on_body(data);
    result->body.append(data);
    return true;
  };
  const auto more = [&]() {
    const long n = conn.readSome(chunk, sizeof(chunk));
    if (n <= 0) return false;
    rest.append(chunk, static_cast<size_t>(n));
    return true;
  };
  if (chunked) {
    for (;;) {
      size_t eol;
      while ((eol = rest.find("\r\n")) == std::string::npos) {
        if (!more()) return true;
      }
      const size_t size = std::strtoul(rest.substr(0, eol).c_str(), nullptr, 16);
      if (size == 0) return true;
      while (rest.size() < eol + 2 + size + 2) {
        if (!more()) return true;
      }
      if (!deliver(std::string_view(rest).substr(eol + 2, size))) return true;
      rest.erase(0, eol + 2 + size + 2);
    }
  }
  if (length >= 0) {
    while (static_cast<long long>(rest.size()) < length && more()) {
    }
    deliver(std::string_view(rest).substr(0, static_cast<size_t>(length)));
    return true;
  }
  deliver(rest);
  rest.clear();
  while (more()) {
    if (!deliver(rest)) return true;
    rest.clear();
  }
  return true;
}

}  // namespace meshctl
