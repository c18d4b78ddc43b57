// Fuzz target: the lean port's HTTP/2 session and gRPC framing (mixer/server/lean_port.h). The
// input is what a client sends after the connection preface (the target puts the preface first):
// frames, HPACK blocks, gRPC messages. The handler answers every call at once, OK with its
// message echoed or, for a message starting with 'e', an error. Invariants beyond "no crash":
//   - a call's message is never larger than the limit;
//   - every call is on a stream the client opened (odd, positive), and once only;
//   - the session's open streams never exceed the advertised limit.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "mixer/server/lean_port.h"

namespace {

constexpr char kPreface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

class Echo final : public mixer::server::LeanSession::Handler {
 public:
  void onCall(mixer::server::LeanSession* session, int32_t stream,
              mixer::server::LeanSession::Method, std::string_view message,
              mixer::runtime::CallDeadline) override {
    if (message.size() > 4096 || stream <= 0 || stream % 2 == 0 || !seen.insert(stream).second) {
      std::abort();
    }
    if (!message.empty() && message[0] == 'e') {
      session->answer(stream, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad\n%\xff"), {});
    } else {
      session->answer(stream, grpc::Status::OK, message);
    }
  }
  std::set<int32_t> seen;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mixer::server::LeanLimits limits;
  limits.max_message_size = 4096;
  limits.max_concurrent_streams = 8;
  limits.max_metadata_size = 1024;
  Echo echo;
  mixer::server::LeanSession session(&echo, limits);
  std::string out;
  session.produce(&out);
  bool open = session.receive(kPreface, sizeof(kPreface) - 1);
  // In pieces, as a socket delivers them: the split points come from the input's length.
  const size_t step = size / 3 + 1;
  for (size_t at = 0; open && at < size; at += step) {
    const size_t n = std::min(step, size - at);
    open = session.receive(reinterpret_cast<const char*>(data) + at, n);
    session.produce(&out);
    if (session.openStreams() > 8) std::abort();
  }
  session.produce(&out);
  return 0;
}
