// InMemoryClient: a libnghttp2 client session wired to a LeanSession in memory (no socket), for
// tests and benchmarks of what a client can make a session hold.
#pragma once

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mixer/server/lean_port.h"

namespace mixer::server {

// A libnghttp2 client session wired to a LeanSession in memory, for what needs the session's
// own state: streams that send part of a message and wait, the bytes the session holds.
class InMemoryClient {
 public:
  explicit InMemoryClient(LeanSession* server) : server_(server) {
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(
        cb, [](nghttp2_session*, const nghttp2_frame* f, const uint8_t* name, size_t namelen,
               const uint8_t* value, size_t valuelen, uint8_t, void* user) {
          if (std::string_view(reinterpret_cast<const char*>(name), namelen) == "grpc-status") {
            static_cast<InMemoryClient*>(user)->status_[f->hd.stream_id] =
                std::stoi(std::string(reinterpret_cast<const char*>(value), valuelen));
          }
          return 0;
        });
    nghttp2_session_client_new(&client_, cb, this);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(client_, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~InMemoryClient() { nghttp2_session_del(client_); }

  // A Check whose DATA is `bytes` bytes of a longer message, without END_STREAM: the stream then
  // waits for more.
  int32_t partialCheck(size_t bytes) {
    static const std::string post = "POST", scheme = "http", authority = "mixs",
                             path = "/istio.mixer.v1.Mixer/Check", type = "application/grpc";
    auto nv = [](const char* n, const std::string& v) {
      return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(n)),
                        reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), std::strlen(n),
                        v.size(), NGHTTP2_NV_FLAG_NONE};
    };
    const nghttp2_nv headers[] = {nv(":method", post), nv(":scheme", scheme),
                                  nv(":authority", authority), nv(":path", path),
                                  nv("content-type", type)};
    sources_.push_back(std::make_unique<size_t>(bytes));
    nghttp2_data_provider provider{};
    provider.source.ptr = sources_.back().get();
    provider.read_callback = [](nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t*,
                                nghttp2_data_source* source, void*) -> ssize_t {
      auto* left = static_cast<size_t*>(source->ptr);
      if (*left == 0) return NGHTTP2_ERR_DEFERRED;  // the rest of the message never comes
      const size_t n = std::min(length, *left);
      std::memset(buf, 0, n);
      *left -= n;
      return static_cast<ssize_t>(n);
    };
    return nghttp2_submit_request(client_, nullptr, headers, 5, &provider, nullptr);
  }
  // Moves bytes both ways until neither side has any; false when the server refused them.
  bool exchange() {
    for (bool moved = true; moved;) {
      moved = false;
      const uint8_t* data;
      ssize_t n;
      std::string to_server;
      while ((n = nghttp2_session_mem_send(client_, &data)) > 0) {
        to_server.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
      }
      if (!to_server.empty()) {
        moved = true;
        if (!server_->receive(to_server.data(), to_server.size())) return false;
      }
      std::string to_client;
      server_->produce(&to_client);
      if (!to_client.empty()) {
        moved = true;
        nghttp2_session_mem_recv(client_, reinterpret_cast<const uint8_t*>(to_client.data()),
                                 to_client.size());
      }
    }
    return true;
  }
  // The grpc-status the stream was answered with; -1 for none yet.
  int status(int32_t stream) const {
    auto it = status_.find(stream);
    return it == status_.end() ? -1 : it->second;
  }

 private:
  LeanSession* server_;
  nghttp2_session* client_ = nullptr;
  std::vector<std::unique_ptr<size_t>> sources_;
  std::map<int32_t, int> status_;
};

}  // namespace mixer::server
