#include "pilot/model/etcd_registry.h"

#include <civetweb.h>
#include <yaml-cpp/yaml.h>

#include <cstring>

#include "pilot/model/file_registry.h"

namespace pilot::model {
namespace {

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64Encode(std::string_view in) {
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kBase64[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t v = uint8_t(in[i]) << 16;
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += kBase64[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

bool base64Decode(std::string_view in, std::string* out) {
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const char* p = std::strchr(kBase64, c);
    if (p == nullptr || c == '\0') return false;
    acc = (acc << 6) | static_cast<uint32_t>(p - kBase64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return true;
}

// The end of the key range that holds every key starting with `prefix`.
std::string rangeEnd(std::string prefix) {
  while (!prefix.empty()) {
    if (static_cast<uint8_t>(prefix.back()) < 0xFF) {
      prefix.back() = static_cast<char>(prefix.back() + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');
}

std::string where(const EtcdOptions& o) { return "etcd " + o.host + ":" + std::to_string(o.port); }

// POSTs a JSON body to the gateway; the response body on HTTP 200.
bool post(const EtcdOptions& o, const std::string& path, const std::string& body,
          std::string* response, std::string* error) {
  static std::once_flag init;
  std::call_once(init, [] { mg_init_library(0); });
  char ebuf[256] = {0};
  mg_connection* conn = mg_connect_client(o.host.c_str(), o.port, 0, ebuf, sizeof(ebuf));
  if (conn == nullptr) {
    *error = "cannot connect to " + where(o) + ": " + ebuf;
    return false;
  }
  mg_printf(conn,
            "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
            "Content-Length: %zu\r\nConnection: close\r\n\r\n",
            path.c_str(), o.host.c_str(), o.port, body.size());
  mg_write(conn, body.data(), body.size());
  if (mg_get_response(conn, ebuf, sizeof(ebuf), static_cast<int>(o.timeout.count())) < 0) {
    *error = "no response from " + where(o) + ": " + ebuf;
    mg_close_connection(conn);
    return false;
  }
  const int status = mg_get_response_info(conn)->status_code;
  response->clear();
  char buf[8192];
  for (int n; (n = mg_read(conn, buf, sizeof(buf))) > 0;) response->append(buf, n);
  mg_close_connection(conn);
  if (status != 200) {
    *error = where(o) + " answered " + std::to_string(status) + " to " + path + ": " + *response;
    return false;
  }
  return true;
}

}  // namespace

bool parseEtcdAddress(const std::string& address, EtcdOptions* options) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  try {
    options->port = std::stoi(address.substr(colon + 1));
  } catch (...) {
    return false;
  }
  options->host = address.substr(0, colon);
  return options->port > 0 && options->port <= 65535;
}

bool etcdPut(const EtcdOptions& o, const std::string& key, const std::string& value,
             std::string* error) {
  std::string response;
  return post(o, "/v3/kv/put",
              "{\"key\":\"" + base64Encode(key) + "\",\"value\":\"" + base64Encode(value) + "\"}",
              &response, error);
}

bool etcdDelete(const EtcdOptions& o, const std::string& key, std::string* error) {
  std::string response;
  return post(o, "/v3/kv/deleterange", "{\"key\":\"" + base64Encode(key) + "\"}", &response, error);
}

bool etcdRange(const EtcdOptions& o, std::vector<std::pair<std::string, std::string>>* kvs,
               int64_t* revision, std::string* error) {
  std::string response;
  if (!post(o, "/v3/kv/range",
            "{\"key\":\"" + base64Encode(o.prefix) + "\",\"range_end\":\"" +
                base64Encode(rangeEnd(o.prefix)) + "\"}",
            &response, error)) {
    return false;
  }
  try {
    // The gateway's JSON is YAML flow syntax; 64-bit integers arrive as strings.
    const YAML::Node root = YAML::Load(response);
    *revision = std::stoll(root["header"]["revision"].as<std::string>("0"));
    kvs->clear();
    for (const YAML::Node& kv : root["kvs"]) {
      std::string key, value;
      if (!base64Decode(kv["key"].as<std::string>(""), &key) ||
          !base64Decode(kv["value"].as<std::string>(""), &value)) {
        *error = where(o) + " sent a key or value that is not base64";
        return false;
      }
      kvs->emplace_back(std::move(key), std::move(value));
    }
  } catch (const std::exception& e) {
    *error = where(o) + " sent an unreadable range response: " + e.what();
    return false;
  }
  return true;
}

bool etcdRangeKvs(const EtcdOptions& o, std::vector<EtcdKv>* kvs, int64_t* revision,
                  std::string* error) {
  std::string response;
  if (!post(o, "/v3/kv/range",
            "{\"key\":\"" + base64Encode(o.prefix) + "\",\"range_end\":\"" +
                base64Encode(rangeEnd(o.prefix)) + "\"}",
            &response, error)) {
    return false;
  }
  try {
    const YAML::Node root = YAML::Load(response);
    *revision = std::stoll(root["header"]["revision"].as<std::string>("0"));
    kvs->clear();
    for (const YAML::Node& kv : root["kvs"]) {
      EtcdKv out;
      if (!base64Decode(kv["key"].as<std::string>(""), &out.key) ||
          !base64Decode(kv["value"].as<std::string>(""), &out.value)) {
        *error = where(o) + " sent a key or value that is not base64";
        return false;
      }
      out.mod_revision = std::stoll(kv["mod_revision"].as<std::string>("0"));
      kvs->push_back(std::move(out));
    }
  } catch (const std::exception& e) {
    *error = where(o) + " sent an unreadable range response: " + e.what();
    return false;
  }
  return true;
}

bool etcdCompareAndSwap(const EtcdOptions& o, const std::string& key, const std::string* value,
                        int64_t expected, bool* swapped, int64_t* revision, std::string* error) {
  const std::string k = base64Encode(key);
  std::string op;
  if (value != nullptr) {
    op = "{\"request_put\":{\"key\":\"" + k + "\",\"value\":\"" + base64Encode(*value) + "\"}}";
  } else {
    op = "{\"request_delete_range\":{\"key\":\"" + k + "\"}}";
  }
  const std::string body = "{\"compare\":[{\"key\":\"" + k +
                           "\",\"target\":\"MOD\",\"result\":\"EQUAL\",\"mod_revision\":\"" +
                           std::to_string(expected) + "\"}],\"success\":[" + op + "]}";
  std::string response;
  if (!post(o, "/v3/kv/txn", body, &response, error)) return false;
  try {
    const YAML::Node root = YAML::Load(response);
    *revision = std::stoll(root["header"]["revision"].as<std::string>("0"));
    *swapped = root["succeeded"].IsDefined() && root["succeeded"].as<std::string>("") == "true";
  } catch (const std::exception& e) {
    *error = where(o) + " sent an unreadable txn response: " + e.what();
    return false;
  }
  return true;
}

bool EtcdRegistry::list(std::vector<Service>* services, std::vector<ConfigError>* errors) {
  std::vector<std::pair<std::string, std::string>> kvs;
  int64_t revision = 0;
  std::string error;
  if (!etcdRange(options_, &kvs, &revision, &error)) {
    errors->push_back(ConfigError{{"etcd:" + options_.prefix, 1}, error});
    return false;
  }
  std::vector<Service> all;
  bool ok = true;
  for (const auto& [key, value] : kvs) {
    ok = parseRegistryYaml(value, "etcd:" + key, &all, errors) && ok;
  }
  return mergeServices(std::move(all), ok, services, errors);
}

bool EtcdRegistry::watch(std::function<void()> on_change, std::string* error) {
  std::vector<std::pair<std::string, std::string>> kvs;
  if (!etcdRange(options_, &kvs, &revision_, error)) return false;
  on_change_ = std::move(on_change);
  thread_ = std::thread([this] { poll(); });
  return true;
}

void EtcdRegistry::poll() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, options_.poll, [this] { return stopping_; });
    if (stopping_) return;
    lock.unlock();
    std::vector<std::pair<std::string, std::string>> kvs;
    int64_t revision = 0;
    std::string error;
    // An unreachable etcd is retried at the next poll; the last good services keep serving.
    const bool ok = etcdRange(options_, &kvs, &revision, &error);
    lock.lock();
    if (ok && revision != revision_) {
      revision_ = revision;
      lock.unlock();
      on_change_();
      lock.lock();
    }
  }
}

void EtcdRegistry::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace pilot::model
