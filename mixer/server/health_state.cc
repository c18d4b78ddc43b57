#include "mixer/server/health_state.h"

#include <algorithm>

#include "base/proto_wire.h"

namespace mixer::server {

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
  base::WireReader in(bytes);
  while (!in.done()) {
    uint32_t field;
    base::WireType type;
    if (!in.readTag(&field, &type)) return false;
    if (field == 1 && type == base::WireType::Len) {
      std::string_view name;
      if (!in.readLen(&name)) return false;
      service->assign(name);
    } else if (!in.skip(type)) {
      return false;
    }
  }
  return true;
}

std::string HealthState::encodeResponse(Status status) {
  std::string out;
  if (status != kUnknown) {  // proto3 leaves the zero value out
    base::appendTag(1, base::WireType::Varint, &out);
    base::appendVarint(status, &out);
  }
  return out;
}

}  // namespace mixer::server
