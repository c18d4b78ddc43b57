// CallDeadline: the moment after which the rest of a call's work is pointless, because its client
// has stopped waiting. Long work checks it at step boundaries (after decoding, between rules,
// before adapter calls) and stops there. Checking costs a clock read when the call has a deadline
// and nothing when it has none; it neither allocates nor locks.
#pragma once

#include <chrono>
#include <cstdint>

namespace mixer::runtime {

class CallDeadline {
 public:
  using Clock = std::chrono::system_clock;

  // No deadline: passed() is always false.
  CallDeadline() = default;
  // gRPC's "no deadline" is Clock::time_point::max(), which is never passed.
  explicit CallDeadline(Clock::time_point at) : at_(at) {}

  bool passed() const { return at_ != Clock::time_point::max() && Clock::now() >= at_; }
  bool none() const { return at_ == Clock::time_point::max(); }
  // passed(), but the clock is read only on every 32nd step counted in *step: for loops over many
  // cheap steps (rule selectors), where a clock read per step would cost more than the step.
  bool passedEvery32(uint32_t* step) const { return ((++*step) & 31) == 0 && passed(); }

 private:
  Clock::time_point at_ = Clock::time_point::max();
};

}  // namespace mixer::runtime
