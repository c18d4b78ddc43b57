#include "proxy-filter/core/quota_prefetch.h"

#include <algorithm>

namespace mixer::proxy {

int64_t QuotaPrefetch::available(int64_t now_ns) {
  int64_t total = 0;
  for (auto it = slots_.begin(); it != slots_.end();) {
    if (it->expire_ns <= now_ns) {
      it = slots_.erase(it);
    } else {
      total += it->amount;
      ++it;
    }
  }
  return total;
}

bool QuotaPrefetch::take(int64_t amount, int64_t now_ns) {
  if (available(now_ns) < amount) {
    return false;
  }
  // Spend the grants that expire first.
  std::sort(slots_.begin(), slots_.end(),
            [](const Slot& a, const Slot& b) { return a.expire_ns < b.expire_ns; });
  int64_t left = amount;
  while (left > 0) {
    Slot& slot = slots_.front();
    const int64_t used = std::min(left, slot.amount);
    slot.amount -= used;
    left -= used;
    if (slot.amount == 0) {
      slots_.pop_front();
    }
  }
  return true;
}

int64_t QuotaPrefetch::recentRequests(int64_t now_ns) {
  while (!recent_.empty() && recent_.front().first <= now_ns - options_.predict_window_ns) {
    recent_total_ -= recent_.front().second;
    recent_.pop_front();
  }
  return recent_total_;
}

QuotaPrefetch::Decision QuotaPrefetch::check(int64_t amount, int64_t now_ns) {
  Decision d;
  const int64_t desired = std::max(recentRequests(now_ns), options_.min_prefetch);
  if (closed_) {
    d.allowed = take(amount, now_ns);
    if (!d.allowed && !in_flight_ && now_ns - last_fetch_ns_ >= options_.close_wait_ns) {
      // Probe again: the request waits for the answer.
      d.fetch_amount = amount;
      d.wait_for_fetch = true;
    }
  } else {
    d.allowed = take(amount, now_ns);
    const int64_t avail = available(now_ns);
    if (!d.allowed) {
      // Not covered locally: the request is decided by a fetch that also refills.
      d.fetch_amount = std::max(amount, desired);
      d.wait_for_fetch = true;
    } else if (avail < desired / 2 && !in_flight_) {
      d.fetch_amount = std::max(amount, desired);
    }
  }
  if (d.fetch_amount > 0) {
    in_flight_ = true;
    last_fetch_ns_ = now_ns;
  }
  if (d.allowed || d.wait_for_fetch) {
    recent_.emplace_back(now_ns, amount);
    recent_total_ += amount;
  }
  return d;
}

void QuotaPrefetch::addGrant(int64_t amount, int64_t valid_ns, int64_t now_ns) {
  if (amount > 0) {
    const bool finite = valid_ns > 0 && valid_ns < INT64_MAX - now_ns;
    slots_.push_back({amount, finite ? now_ns + valid_ns : INT64_MAX});
  }
}

void QuotaPrefetch::onGrant(int64_t requested, int64_t granted, int64_t valid_ns,
                            int64_t waiting_amount, int64_t now_ns) {
  in_flight_ = false;
  closed_ = granted < requested;
  if (closed_) {
    last_fetch_ns_ = now_ns;  // close_wait counts from the short answer
  }
  int64_t keep = granted;
  if (waiting_amount > 0 && granted >= waiting_amount) {
    keep -= waiting_amount;
  }
  addGrant(keep, valid_ns, now_ns);
}

void QuotaPrefetch::onFailure(int64_t requested, int64_t waiting_amount, int64_t now_ns) {
  in_flight_ = false;
  closed_ = false;
  addGrant(requested - std::min(requested, std::max<int64_t>(waiting_amount, 0)),
           options_.failure_grant_ns, now_ns);
}

}  // namespace mixer::proxy
