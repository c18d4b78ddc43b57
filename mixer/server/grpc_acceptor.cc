#include "mixer/server/grpc_acceptor.h"

#include <errno.h>
#include <fcntl.h>
#include <grpcpp/server_builder.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "base/http_server.h"
#include "base/log.h"

namespace mixer::server {

long raiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return 1024;
  }
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max == RLIM_INFINITY ? 1048576 : limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      limit = raised;
    }
  }
  return limit.rlim_cur == RLIM_INFINITY ? 1048576 : static_cast<long>(limit.rlim_cur);
}

int defaultMaxConnections(long open_files) {
  const long budget = std::max(open_files / 2, open_files - 256);
  return static_cast<int>(std::max(1L, std::min(10000L, budget)));
}

absl::StatusOr<std::unique_ptr<GrpcAcceptor>> GrpcAcceptor::listen(Options options) {
  std::unique_ptr<GrpcAcceptor> a(new GrpcAcceptor());
  auto fd = listenTcp(options.host, options.port, 1024, &a->port_);
  if (!fd.ok()) {
    return fd.status();
  }
  a->listen_fd_ = *fd;
  a->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (a->wake_fd_ < 0) {
    return absl::UnavailableError(std::string("eventfd: ") + strerror(errno));
  }
  a->options_ = std::move(options);
  a->takeReserve();
  return a;
}

GrpcAcceptor::~GrpcAcceptor() {
  stop();
  releaseReserve();
  if (wake_fd_ >= 0) {
    close(wake_fd_);
  }
}

void GrpcAcceptor::start(grpc::experimental::ExternalConnectionAcceptor* target) {
  target_ = target;
  thread_ = std::thread([this] { run(); });
}

void GrpcAcceptor::stop() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
    thread_.join();
  }
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    listen_fd_ = -1;
  }
}

bool GrpcAcceptor::takeReserve() {
  while (static_cast<int>(reserve_.size()) < options_.reserve_descriptors) {
    const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      releaseReserve();
      return false;
    }
    reserve_.push_back(fd);
  }
  return true;
}

void GrpcAcceptor::releaseReserve() {
  for (int fd : reserve_) {
    close(fd);
  }
  reserve_.clear();
}

void GrpcAcceptor::sweep() {
  for (auto it = open_.begin(); it != open_.end();) {
    struct stat st;
    if (fstat(it->first, &st) != 0 || !S_ISSOCK(st.st_mode) || st.st_ino != it->second) {
      it = open_.erase(it);
    } else {
      ++it;
    }
  }
  countChanged();
}

void GrpcAcceptor::countChanged() {
  const int n = static_cast<int>(open_.size());
  if (connections_.exchange(n) != n && options_.on_count) {
    options_.on_count(n);
  }
}

void GrpcAcceptor::setAccepting(bool on) {
  if (accepting_.exchange(on) == on) {
    return;
  }
  if (on) {
    MIXER_LOG(Info) << "gRPC port accepting connections again (" << open_.size() << " open)";
  }
  if (options_.on_change) {
    options_.on_change(on);
  }
}

// Accepts until the backlog is empty, the limit is reached or descriptors run out. False when
// descriptors ran out.
bool GrpcAcceptor::acceptSome() {
  while (static_cast<int>(open_.size()) < options_.max_connections) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      switch (errno) {
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
        case EPERM:
        case ENETDOWN:
        case ENOPROTOOPT:
        case EHOSTDOWN:
        case ENONET:
        case EHOSTUNREACH:
        case EOPNOTSUPP:
        case ENETUNREACH:
        case ETIMEDOUT:
          continue;  // that connection failed; the next one may not
        case EMFILE:
        case ENFILE:
        case ENOBUFS:
        case ENOMEM:
          MIXER_LOG(Warn) << "gRPC port: cannot accept a connection: " << strerror(errno) << " ("
                          << open_.size()
                          << " connections open): not accepting until descriptors are free";
          releaseReserve();
          return false;
        default:
          return true;  // EAGAIN: the backlog is empty
      }
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct stat st;
    fstat(fd, &st);
    open_[fd] = st.st_ino;
    if (static_cast<int>(open_.size()) >= options_.max_connections) {
      // The last one the limit allows: readiness says so before the connection can serve a call
      // (else a client could see its call answered while readiness still says "accepting").
      setAccepting(false);
    }
    grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters p;
    p.listener_fd = listen_fd_;
    p.fd = fd;
    // gRPC owns the descriptor from here. (gRPC 1.51 neither serves nor closes a connection handed
    // over before the server starts or after it shuts down: the loop runs only in between.)
    target_->HandleNewConnection(&p);
  }
  return true;
}

void GrpcAcceptor::run() {
  using Clock = std::chrono::steady_clock;
  bool exhausted = false;
  bool full = false;
  auto last_sweep = Clock::now();
  for (;;) {
    const bool armed = !exhausted && !full;
    pollfd fds[2] = {{wake_fd_, POLLIN, 0},
                     {listen_fd_, static_cast<short>(armed ? POLLIN : 0), 0}};
    poll(fds, 2, armed ? 1000 : 100);
    if (fds[0].revents != 0) {
      return;
    }
    if (exhausted && takeReserve()) {
      exhausted = false;
    }
    if (!armed || Clock::now() - last_sweep >= std::chrono::seconds(1) ||
        static_cast<int>(open_.size()) >= options_.max_connections) {
      sweep();
      last_sweep = Clock::now();
    }
    if (!exhausted && (fds[1].revents & POLLIN) != 0) {
      if (static_cast<int>(open_.size()) >= options_.max_connections) {
        sweep();
        last_sweep = Clock::now();
      }
      exhausted = !acceptSome();
      countChanged();
    }
    const bool was_full = full;
    full = static_cast<int>(open_.size()) >= options_.max_connections;
    if (full && !was_full) {
      MIXER_LOG(Warn) << "gRPC port: " << open_.size()
                      << " connections open, the limit (--max-connections): not accepting until "
                         "one closes";
    }
    setAccepting(!exhausted && !full);
  }
}

}  // namespace mixer::server
