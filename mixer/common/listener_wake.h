// Stopping an embedded civetweb server promptly.
//
// civetweb (1.15, Debian 12) checks its stop flag only between polls of its listening sockets, and
// each poll waits up to 2 s for a connection: mg_stop() on an idle server blocks until that poll
// times out. With two such servers in one process (mixs' monitoring port and the prometheus
// adapter's exposition), an idle mixs took up to 4 s to exit after SIGTERM. The monitoring ports
// now use mixer/common/http_server.h, which stops at once; the prometheus adapter's Exposer
// (civetweb) still needs this.
#pragma once

#include <functional>
#include <string>

namespace mixer {

// Runs `stop` (which blocks until the server's listener notices its stop flag) while a helper
// thread connects to host:port every 10 ms and closes each connection at once, so that the
// listener's poll returns and sees the flag. `host` "" (every interface) is reached on 127.0.0.1.
void stopWakingListener(const std::string& host, int port, const std::function<void()>& stop);

}  // namespace mixer
