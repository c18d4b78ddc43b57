// CallDeadline: the moment after which the rest of a call's work is pointless, because its client
// has stopped waiting. Long work checks it at step boundaries (after decoding, between rules,
// before adapter calls) and stops there. Checking costs a clock read when the call has a deadline
// and nothing when it has none; it neither allocates nor locks.
#pragma once

#include <chrono>

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

 private:
  Clock::time_point at_ = Clock::time_point::max();
};

}  // namespace mixer::runtime
