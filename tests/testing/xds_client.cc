#include "tests/testing/xds_client.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <thread>

namespace mixer::testing {
namespace {

constexpr char kPython[] = "/usr/bin/python3";

std::string scriptDir() { return sourceDir() + "/tests/integration/pilot"; }

}  // namespace

Counts parseCounts(const std::string& json) {
  Counts out;
  const std::regex item(R"re("([^"]*)": (\d+))re");
  for (auto it = std::sregex_iterator(json.begin(), json.end(), item); it != std::sregex_iterator();
       ++it) {
    out[(*it)[1].str()] = std::stoi((*it)[2].str());
  }
  return out;
}

int countVersion(const Counts& counts, const std::string& prefix) {
  int n = 0;
  for (const auto& [k, v] : counts) {
    if (k.rfind(prefix, 0) == 0) n += v;
  }
  return n;
}

int EchoBackends::start(const std::string& version, const std::string& id) {
  auto b = std::make_unique<Subprocess>();
  const bool started =
      b->start({kPython, scriptDir() + "/echo_backend.py", "--version", version, "--id", id});
  auto m = started ? b->waitFor(R"(listening on (\d+))") : std::nullopt;
  backends_.push_back(std::move(b));
  return m ? std::stoi((*m)[1].str()) : 0;
}

std::string EchoBackends::output() const {
  std::string out;
  for (const auto& b : backends_) out += b->output();
  return out;
}

void EchoBackends::stop() {
  for (auto& b : backends_) b->stop(SIGTERM);
}

bool XdsClient::start(const std::string& dir, int xds_port, const std::string& zone) {
  const std::string bootstrap = dir + "/bootstrap.json";
  std::ofstream(bootstrap)
      << R"({"xds_servers":[{"server_uri":"127.0.0.1:)" << xds_port
      << R"(","channel_creds":[{"type":"insecure"}],"server_features":["xds_v3"]}],
 "node":{"id":"sidecar~127.0.0.1~client.default~default.svc.cluster.local",)"
      << (zone.empty() ? "" : R"("locality":{"zone":")" + zone + R"("},)") << R"(
         "metadata":{"GENERATOR":"grpc","NAMESPACE":"default"}}})";
  setenv("GRPC_XDS_BOOTSTRAP", bootstrap.c_str(), 1);
  const std::string fifo = dir + "/commands";
  if (mkfifo(fifo.c_str(), 0600) != 0) {
    return false;
  }
  process_ = std::make_unique<Subprocess>();
  if (!process_->start({kPython, scriptDir() + "/xds_client.py", "--commands", fifo}) ||
      !process_->waitFor("ready")) {
    return false;
  }
  commands_fd_ = open(fifo.c_str(), O_WRONLY);  // blocks until the client opens it
  return commands_fd_ >= 0;
}

std::optional<Counts> XdsClient::call(int count, const std::vector<std::string>& headers) {
  const std::string tag = "t" + std::to_string(++tag_);
  std::string line = "CALL " + tag + " " + std::to_string(count) + " echo:9080";
  for (const std::string& h : headers) line += " " + h;
  line += "\n";
  if (write(commands_fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    return std::nullopt;
  }
  auto m = process_->waitFor("RESULT " + tag + R"( (\{[^\n]*\}))", std::chrono::seconds(120));
  if (!m) {
    return std::nullopt;
  }
  return parseCounts((*m)[1].str());
}

void XdsClient::stop() {
  if (commands_fd_ >= 0) {
    const std::string quit = "QUIT\n";
    [[maybe_unused]] ssize_t n = write(commands_fd_, quit.data(), quit.size());
    close(commands_fd_);
    commands_fd_ = -1;
  }
  if (process_) process_->stop(SIGTERM);
}

bool callUntil(const std::function<Counts()>& call,
               const std::function<bool(const Counts&)>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done(call())) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

}  // namespace mixer::testing
