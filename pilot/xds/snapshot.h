// An immutable, versioned set of xDS resources, each serialized once and shared by every
// connection that is sent it. Snapshots are built from the service model and the routing config
// (translate.h) and replaced as a whole; readers hold a shared_ptr. Thread-safe once published.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pilot::xds {

// In the order a change is pushed (make-before-break: clusters and endpoints before the
// listeners and routes that refer to them).
enum class ResourceType { kCluster = 0, kEndpoint = 1, kListener = 2, kRoute = 3 };
inline constexpr size_t kResourceTypeCount = 4;
inline constexpr std::array<ResourceType, kResourceTypeCount> kAllResourceTypes = {
    ResourceType::kCluster, ResourceType::kEndpoint, ResourceType::kListener, ResourceType::kRoute};

std::string_view typeUrl(ResourceType type);
std::optional<ResourceType> typeFromUrl(std::string_view type_url);
// "CDS", "EDS", "LDS", "RDS" (metric labels, logs).
std::string_view typeShortName(ResourceType type);

// The serialized resource message (the value of its Any).
using ResourceBytes = std::shared_ptr<const std::string>;

struct Snapshot {
  uint64_t version = 0;
  std::chrono::steady_clock::time_point created;
  std::array<std::unordered_map<std::string, ResourceBytes>, kResourceTypeCount> resources;
  // The names a wildcard subscription gets (Envoy's legacy empty-names request for LDS/CDS).
  std::array<std::vector<std::string>, kResourceTypeCount> wildcard_names;
  // With has_changes: the names added, removed or changed since snapshot previous_version, so a
  // stream that holds that snapshot checks only these against its subscription.
  bool has_changes = false;
  uint64_t previous_version = 0;
  std::array<std::vector<std::string>, kResourceTypeCount> changed;

  // nullptr if the snapshot has no such resource.
  ResourceBytes find(ResourceType type, const std::string& name) const {
    const auto& m = resources[static_cast<size_t>(type)];
    auto it = m.find(name);
    return it == m.end() ? nullptr : it->second;
  }
  std::string versionString() const { return std::to_string(version); }
};

}  // namespace pilot::xds
