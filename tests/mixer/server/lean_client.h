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
#include <utility>
#include <vector>

#include "mixer/server/lean_port.h"

namespace mixer::server {

// A libnghttp2 client session wired to a LeanSession in memory, for what needs the session's
// own state: streams that send part of a message and wait, the bytes the session holds.
class InMemoryClient {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;

  explicit InMemoryClient(LeanSession* server) : server_(server) {
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(
        cb, [](nghttp2_session*, const nghttp2_frame* f, const uint8_t* name, size_t namelen,
               const uint8_t* value, size_t valuelen, uint8_t, void* user) {
          auto& answer = static_cast<InMemoryClient*>(user)->answers_[f->hd.stream_id];
          const std::string_view n(reinterpret_cast<const char*>(name), namelen);
          const std::string v(reinterpret_cast<const char*>(value), valuelen);
          if (n == ":status") answer.http_status = std::stoi(v);
          if (n == "grpc-status") answer.grpc_status = std::stoi(v);
          if (n == "grpc-message") answer.grpc_message = v;
          return 0;
        });
    nghttp2_session_client_new(&client_, cb, this);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(client_, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~InMemoryClient() { nghttp2_session_del(client_); }

  // The headers of a gRPC Check: POST, the Check path, application/grpc.
  static Headers checkHeaders() {
    return {{":method", "POST"},
            {":scheme", "http"},
            {":authority", "mixs"},
            {":path", "/istio.mixer.v1.Mixer/Check"},
            {"content-type", "application/grpc"}};
  }
  // A gRPC message: its 5-byte prefix (`compressed` flag, length) and `payload`.
  static std::string message(std::string_view payload, bool compressed = false) {
    std::string m(5, '\0');
    m[0] = compressed ? 1 : 0;
    const auto n = static_cast<uint32_t>(payload.size());
    for (int i = 0; i < 4; ++i) m[1 + i] = static_cast<char>(n >> (24 - 8 * i));
    return m.append(payload);
  }

  // A request with `headers` and `body`; with `end`, the stream ends after the body, else it
  // waits for more that never comes. The stream's id.
  int32_t request(const Headers& headers, std::string body, bool end = true) {
    std::vector<nghttp2_nv> nva;
    for (const auto& [n, v] : headers) {
      nva.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())),
                     reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                     NGHTTP2_NV_FLAG_NONE});
    }
    bodies_.push_back(std::make_unique<Body>(Body{std::move(body), 0, end}));
    nghttp2_data_provider provider{};
    provider.source.ptr = bodies_.back().get();
    provider.read_callback = [](nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                                uint32_t* flags, nghttp2_data_source* source, void*) -> ssize_t {
      auto* b = static_cast<Body*>(source->ptr);
      const size_t n = std::min(length, b->bytes.size() - b->at);
      if (n == 0 && !b->end) return NGHTTP2_ERR_DEFERRED;  // the rest never comes
      std::memcpy(buf, b->bytes.data() + b->at, n);
      b->at += n;
      if (b->end && b->at == b->bytes.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(n);
    };
    return nghttp2_submit_request(client_, nullptr, nva.data(), nva.size(), &provider, nullptr);
  }
  // A Check whose DATA is `bytes` bytes of a longer message, without END_STREAM: the stream then
  // waits for more.
  int32_t partialCheck(size_t bytes) {
    return request(checkHeaders(), std::string(bytes, '\0'), /*end=*/false);
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

  // What a stream was answered: -1 and "" for what has not come.
  struct Answer {
    int http_status = -1;
    int grpc_status = -1;
    std::string grpc_message;
  };
  Answer answer(int32_t stream) const {
    auto it = answers_.find(stream);
    return it == answers_.end() ? Answer{} : it->second;
  }
  // The grpc-status the stream was answered with; -1 for none yet.
  int status(int32_t stream) const { return answer(stream).grpc_status; }

 private:
  struct Body {
    std::string bytes;
    size_t at;
    bool end;
  };
  LeanSession* server_;
  nghttp2_session* client_ = nullptr;
  std::vector<std::unique_ptr<Body>> bodies_;
  std::map<int32_t, Answer> answers_;
};

}  // namespace mixer::server
