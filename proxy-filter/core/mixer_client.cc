#include "proxy-filter/core/mixer_client.h"

#include <time.h>

#include <random>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "proxy-filter/core/report_encoder.h"

namespace mixer::proxy {

using istio::mixer::v1::CheckResponse;

struct MixerClient::PendingCheck {
  Attributes attributes;
  std::vector<QuotaRequest> quotas;             // those sent to the server
  std::vector<QuotaCache::Decision> decisions;  // parallel to quotas
  bool precondition_cached = false;             // the cache already allowed the precondition
  bool dictionary_retried = false;
  CheckDone done;  // nullptr for a background refill
};

namespace {

// The report batcher's options: the client's, or a batch of one per record without batching; a
// transport that only queues calls is sent to from the queuing thread.
ReportBatchOptions batchOptions(const MixerClientOptions& options,
                                const MixerTransport& transport) {
  ReportBatchOptions out = options.report;
  if (!options.report_batch) {
    out.max_entries = 1;
    out.max_time_ms = 0;
    out.max_queued_batches = options.report.max_queued_batches * options.report.max_entries;
  }
  out.queuing_thread_sends = transport.queuesCalls();
  return out;
}

}  // namespace

MixerClient::MixerClient(MixerClientOptions options, std::unique_ptr<MixerTransport> transport)
    : options_(options),
      check_cache_(options.check_cache_entries),
      quota_cache_(options.quota_prefetch),
      transport_(std::move(transport)),
      batcher_(batchOptions(options, *transport_),
               ReportBatcher::SendSerialized([this](std::string request,
                                                    std::function<void(bool)> done) {
                 transport_->reportSerialized(
                     std::move(request), [this, done = std::move(done)](const grpc::Status& s) {
                       if (!s.ok() && isDictionaryRejection(s.error_code(), s.error_message()) &&
                           dictionary_.shrink()) {
                         stats_.dictionary_shrinks.add();
                       }
                       done(s.ok());
                     });
               }),
               &dictionary_, &stats_) {
  std::random_device random;
  dedup_prefix_ =
      absl::StrCat(absl::Hex(random(), absl::kZeroPad8), absl::Hex(random(), absl::kZeroPad8), "-");
}

MixerClient::~MixerClient() { batcher_.flush(); }

int64_t MixerClient::nowNs() {
  // The coarse monotonic clock (a few milliseconds of resolution, a fraction of the cost of the
  // precise one): cache lifetimes are seconds, the prefetch windows hundreds of milliseconds.
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::string MixerClient::deduplicationId() {
  return absl::StrCat(dedup_prefix_, dedup_counter_.fetch_add(1, std::memory_order_relaxed));
}

bool MixerClient::checkCached(const Attributes& attributes, CheckResult* out) {
  if (!options_.check_cache) {
    return false;
  }
  if (check_cache_.lookup(attributes, nowNs(), out)) {
    stats_.check_cache_hits.add();
    return true;
  }
  stats_.check_cache_misses.add();
  return false;
}

void MixerClient::check(const Attributes& attributes, const std::vector<QuotaRequest>& quotas,
                        CheckDone done, bool precondition_missed) {
  CheckResult result;
  const bool hit = !precondition_missed && checkCached(attributes, &result);
  if (hit && !result.ok()) {
    done(result);
    return;
  }
  const int64_t now = nowNs();
  // Created when the server is needed: a request whose quotas are all decided locally does not
  // allocate one.
  std::shared_ptr<PendingCheck> pending;
  std::vector<QuotaRequest> refill_quotas;
  std::vector<QuotaCache::Decision> refills;
  for (const QuotaRequest& quota : quotas) {
    QuotaCache::Decision d;
    if (options_.quota_cache) {
      d = quota_cache_.check(quota.name, quota.amount, attributes, now);
    } else {
      d.fetch_amount = quota.amount;
      d.waiting_amount = quota.amount;
    }
    switch (d.outcome) {
      case QuotaCache::Decision::Outcome::kDenied:
        stats_.quota_cache_hits.add();
        done(CheckResult{StatusCode::kResourceExhausted,
                         absl::StrCat("Quota is exhausted for: ", quota.name), nullptr});
        return;
      case QuotaCache::Decision::Outcome::kAllowed:
        stats_.quota_cache_hits.add();
        if (d.fetch_amount > 0) {
          refill_quotas.push_back({quota.name, d.fetch_amount});
          refills.push_back(std::move(d));
        }
        break;
      case QuotaCache::Decision::Outcome::kRemote:
        stats_.quota_cache_misses.add();
        if (pending == nullptr) {
          pending = std::make_shared<PendingCheck>();
        }
        pending->quotas.push_back({quota.name, d.fetch_amount});
        pending->decisions.push_back(std::move(d));
        break;
    }
  }
  if (hit && pending == nullptr) {
    if (!refills.empty()) {
      backgroundFetches(attributes, refill_quotas, std::move(refills));
    }
    done(result);
    return;
  }
  // Going to the server anyway: background refills ride along.
  if (pending == nullptr) {
    pending = std::make_shared<PendingCheck>();
  }
  for (size_t i = 0; i < refills.size(); ++i) {
    pending->quotas.push_back(std::move(refill_quotas[i]));
    pending->decisions.push_back(std::move(refills[i]));
  }
  pending->attributes = attributes;
  pending->precondition_cached = hit;
  pending->done = std::move(done);
  sendCheck(std::move(pending));
}

void MixerClient::backgroundFetches(const Attributes& attributes,
                                    const std::vector<QuotaRequest>& quotas,
                                    std::vector<QuotaCache::Decision> decisions) {
  auto pending = std::make_shared<PendingCheck>();
  pending->attributes = attributes;
  pending->quotas = quotas;
  pending->decisions = std::move(decisions);
  pending->precondition_cached = true;
  sendCheck(std::move(pending));
}

void MixerClient::sendCheck(std::shared_ptr<PendingCheck> pending) {
  // Encoded straight into wire bytes, the message compressAttributes() would build, without
  // building it (its maps and words allocate per attribute). One encoder per calling thread: it
  // keeps its scratch buffers between Checks.
  thread_local ReportEncoder encoder;
  absl::InlinedVector<ReportEncoder::CheckQuota, 4> quotas;
  for (size_t i = 0; i < pending->quotas.size(); ++i) {
    quotas.push_back(
        {pending->quotas[i].name, pending->quotas[i].amount, pending->decisions[i].best_effort});
  }
  std::string request;
  encoder.encodeCheck(pending->attributes, dictionary_.wordCount(), deduplicationId(), quotas,
                      &request);
  transport_->checkSerialized(std::move(request), [this, pending](const grpc::Status& status,
                                                                  const CheckResponse& response) {
    onCheckResponse(pending, status, response);
  });
}

void MixerClient::onCheckResponse(std::shared_ptr<PendingCheck> pending, const grpc::Status& status,
                                  const CheckResponse& response) {
  stats_.check_remote_calls.add();
  const int64_t now = nowNs();
  if (!status.ok()) {
    stats_.check_remote_errors.add();
    if (isDictionaryRejection(status.error_code(), status.error_message()) &&
        !pending->dictionary_retried) {
      if (dictionary_.shrink()) {
        stats_.dictionary_shrinks.add();
      }
      pending->dictionary_retried = true;
      sendCheck(std::move(pending));
      return;
    }
    for (const auto& d : pending->decisions) {
      quota_cache_.onFailure(d, now);
    }
    if (pending->done == nullptr) {
      return;
    }
    // Transport failures and INTERNAL go through the fail policy; other statuses are a real
    // rejection by the server (e.g. INVALID_ARGUMENT) and fail closed.
    const bool policy = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                        status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
                        status.error_code() == grpc::StatusCode::INTERNAL ||
                        status.error_code() == grpc::StatusCode::CANCELLED ||
                        status.error_code() == grpc::StatusCode::UNKNOWN;
    if (policy && options_.fail_open) {
      stats_.check_fail_open.add();
      pending->done(CheckResult{});
      return;
    }
    stats_.check_fail_close.add();
    pending->done(CheckResult{
        policy ? StatusCode::kUnavailable : static_cast<StatusCode>(status.error_code()),
        absl::StrCat("mixer check failed: ", status.error_message()), nullptr});
    return;
  }

  const auto& precondition = response.precondition();
  CheckResult result;
  result.code = static_cast<StatusCode>(precondition.status().code());
  result.message = precondition.status().message();
  result.route = RouteDirective::fromProto(precondition.route_directive());
  if (options_.check_cache) {
    // Not cacheable (REGEX) or malformed references: the answer still decides this request.
    check_cache_.insert(pending->attributes, precondition, now).IgnoreError();
  }
  if (result.code == StatusCode::kInternal && options_.fail_open) {
    stats_.check_fail_open.add();
    result = CheckResult{};
  }
  for (size_t i = 0; i < pending->quotas.size(); ++i) {
    const std::string& name = pending->quotas[i].name;
    auto it = response.quotas().find(name);
    CheckResponse::QuotaResult quota_result;
    if (it != response.quotas().end()) {
      quota_result = it->second;
    }
    const auto& decision = pending->decisions[i];
    if (options_.quota_cache) {
      if (precondition.status().code() == 0) {
        quota_cache_.onResult(name, pending->attributes, decision, quota_result, now);
      } else {
        quota_cache_.onAbandoned(decision);
      }
    }
    if (result.ok() && decision.waiting_amount > 0 &&
        quota_result.granted_amount() < decision.waiting_amount) {
      result.code = StatusCode::kResourceExhausted;
      result.message = quota_result.status().message().empty()
                           ? absl::StrCat("Quota is exhausted for: ", name)
                           : quota_result.status().message();
    }
  }
  if (pending->done != nullptr) {
    pending->done(result);
  }
}

void MixerClient::report(Attributes record) { batcher_.enqueue(std::move(record)); }

void MixerClient::reportSwap(Attributes* record) { batcher_.enqueueSwap(record); }

}  // namespace mixer::proxy
