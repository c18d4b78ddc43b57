// A test's own nginx (Debian's /usr/sbin/nginx) run in the foreground with every path under one
// prefix directory, so tests run in parallel and leave nothing behind.
#pragma once

#include <string>
#include <vector>

namespace mixer::testing {

// The start of `prefix`/nginx.conf: `load_module` (when given), the test's identity for the
// workers when run as root, no daemon, one worker, pid and error log (at info, in
// `prefix`/logs/error.log) under the prefix, and the opened http block with no access log and its
// temporary paths under the prefix. The caller adds its servers and closes the http block.
std::string nginxConfigHead(const std::string& prefix, const std::string& load_module = "");

// The command that runs nginx with `prefix`/nginx.conf.
std::vector<std::string> nginxCommand(const std::string& prefix);

// `prefix`/logs/error.log.
std::string nginxErrorLog(const std::string& prefix);

}  // namespace mixer::testing
