#include "mixer/server/health_state.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <algorithm>

namespace mixer::server {

using google::protobuf::internal::WireFormatLite;

HealthState::HealthState(std::vector<std::string> services) : services_(std::move(services)) {}

void HealthState::setServing(bool serving) {
  if (shutdown_.load(std::memory_order_acquire)) return;
  if (serving_.exchange(serving, std::memory_order_acq_rel) != serving) notify();
}

void HealthState::shutdown() {
  const bool was_shutdown = shutdown_.exchange(true, std::memory_order_acq_rel);
  serving_.store(false, std::memory_order_release);
  if (!was_shutdown) notify();
}

HealthState::Status HealthState::status(std::string_view service) const {
  if (!service.empty() &&
      std::find(services_.begin(), services_.end(), service) == services_.end()) {
    return kServiceUnknown;
  }
  return serving_.load(std::memory_order_acquire) ? kServing : kNotServing;
}

void HealthState::add(Watcher* w) {
  std::lock_guard<std::mutex> lock(mu_);
  watchers_.push_back(w);
}

void HealthState::remove(Watcher* w) {
  std::lock_guard<std::mutex> lock(mu_);
  watchers_.erase(std::remove(watchers_.begin(), watchers_.end(), w), watchers_.end());
}

void HealthState::notify() {
  // Under the lock, so that a watcher is not told after remove() returned; a watcher's
  // healthChanged() only schedules work and takes no lock of this object.
  std::lock_guard<std::mutex> lock(mu_);
  for (Watcher* w : watchers_) w->healthChanged();
}

bool HealthState::parseRequest(std::string_view bytes, std::string* service) {
  service->clear();
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  while (true) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) return in.ConsumedEntireMessage();  // the end, or bytes that are no tag
    if (tag == WireFormatLite::MakeTag(1, WireFormatLite::WIRETYPE_LENGTH_DELIMITED)) {
      if (!WireFormatLite::ReadString(&in, service)) return false;
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return false;
    }
  }
}

std::string HealthState::encodeResponse(Status status) {
  if (status == kUnknown) return {};
  return std::string{static_cast<char>(0x08), static_cast<char>(status)};
}

}  // namespace mixer::server
