// Fuzz target: the proxy library's lean transport (LeanTransport, libnghttp2) reading a server's
// answer. Each input is the whole byte stream a server sends on one connection (its SETTINGS, then
// frames for the client's stream 1), written by this harness from a loopback listener to which the
// transport connects for one Check or Report (the input's first byte chooses), before the harness
// closes its side. Invariants beyond "no crash": the call's callback runs exactly once, and within
// a bounded time once the connection has ended, whatever the server sent (a second callback would
// write to the finished input's stack, which ASan reports). Seeds: make_lean_port_corpus.py
// --answers.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>

#include "proxy-filter/core/lean_transport.h"

namespace {

using mixer::proxy::LeanTransport;

struct Harness {
  int listener = -1;
  std::unique_ptr<LeanTransport> transport;

  Harness() {
    listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        listen(listener, 8) != 0 ||
        getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      std::abort();
    }
    mixer::proxy::LeanTransportOptions o;
    o.address = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    o.timeout_ms = 5000;  // an answer left unfinished ends with the connection, not the deadline
    auto made = LeanTransport::create(o);
    if (!made.ok()) std::abort();
    transport = *std::move(made);
  }
};

// Waits up to `ms` for `fd` to be readable (or closed); false on timeout.
bool readable(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, ms) > 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness* h = new Harness;
  const bool check = size == 0 || (data[0] & 1) == 0;
  const uint8_t* answer = size == 0 ? data : data + 1;
  const size_t answer_size = size == 0 ? 0 : size - 1;

  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  auto done = [&] {
    std::lock_guard<std::mutex> lock(mu);
    ++calls;
    cv.notify_all();
  };
  // The transport connects for the call; the harness is its server. The connection of the input
  // before may still look open to the transport (it has not read its end yet): a call that fails
  // on it is made again, on a new connection.
  int fd = -1;
  for (int attempt = 0; fd < 0; ++attempt) {
    {
      std::lock_guard<std::mutex> lock(mu);
      calls = 0;
    }
    if (check) {
      h->transport->checkSerialized(
          "x", [&](const grpc::Status&, const istio::mixer::v1::CheckResponse&) { done(); });
    } else {
      h->transport->reportSerialized("x", [&](const grpc::Status&) { done(); });
    }
    for (int waited = 0; fd < 0; waited += 10) {
      if (readable(h->listener, 10)) {
        fd = accept4(h->listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) std::abort();
        break;
      }
      std::lock_guard<std::mutex> lock(mu);
      if (calls > 0) break;  // it failed on the old connection
      if (waited > 5000) std::abort();
    }
    if (fd < 0 && attempt == 3) std::abort();
  }
  if (fd < 0) std::abort();
  size_t written = 0;
  while (written < answer_size) {
    const ssize_t n = send(fd, answer + written, answer_size - written, MSG_NOSIGNAL);
    if (n <= 0) break;  // the client closed: what it read so far decides
    written += static_cast<size_t>(n);
  }
  shutdown(fd, SHUT_WR);  // the end of the server's bytes
  // Read what the client sends until its call is over, so that closing never resets the
  // connection under bytes the client has yet to read.
  char sink[4096];
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (calls > 0) break;
    }
    if (std::chrono::steady_clock::now() > give_up) {
      std::fprintf(stderr, "lean_transport_fuzz: the call never ended\n");
      std::abort();
    }
    if (readable(fd, 10) && recv(fd, sink, sizeof(sink), 0) == 0) {
      // The client closed its side; its call must end now.
      std::unique_lock<std::mutex> lock(mu);
      if (!cv.wait_for(lock, std::chrono::seconds(10), [&] { return calls > 0; })) {
        std::fprintf(stderr, "lean_transport_fuzz: no answer after the connection closed\n");
        std::abort();
      }
      break;
    }
  }
  close(fd);
  std::lock_guard<std::mutex> lock(mu);
  if (calls != 1) {
    std::fprintf(stderr, "lean_transport_fuzz: %d callbacks for one call\n", calls);
    std::abort();
  }
  return 0;
}
