// MixerClient: what a proxy embeds to call the server per request. Check: the CheckCache and
// QuotaCache answer locally when they can; otherwise one Check RPC (attributes compressed with
// the global dictionary, a deduplication id, the quotas to charge) decides, and its answer fills
// the caches. Report: records are batched by a ReportBatcher.
//
// Failures: a transport failure (after the transport's retries), or an INTERNAL answer, is
// decided by the fail policy: fail open = allowed, fail close = UNAVAILABLE. A rejection of the
// global dictionary shrinks it to Istio's 111-word fallback and resends once.
//
// Thread-safe. Create one per process (nginx: per worker, after fork).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy-filter/core/attribute_compressor.h"
#include "proxy-filter/core/attributes.h"
#include "proxy-filter/core/check_cache.h"
#include "proxy-filter/core/check_result.h"
#include "proxy-filter/core/client_stats.h"
#include "proxy-filter/core/mixer_transport.h"
#include "proxy-filter/core/quota_cache.h"
#include "proxy-filter/core/report_batcher.h"

namespace mixer::proxy {

struct MixerClientOptions {
  bool check_cache = true;
  size_t check_cache_entries = 10000;
  bool quota_cache = true;
  bool fail_open = true;  // Istio 1.4's network_fail_open default
  QuotaPrefetchOptions quota_prefetch;
  bool report_batch = true;  // false: every record is sent at once (a batch of one)
  ReportBatchOptions report;
};

struct QuotaRequest {
  std::string name;
  int64_t amount = 1;
};

class MixerClient {
 public:
  // Runs exactly once: inline inside check() when decided locally, otherwise on a transport
  // thread.
  using CheckDone = std::function<void(const CheckResult&)>;

  MixerClient(MixerClientOptions options, std::unique_ptr<MixerTransport> transport);
  // Flushes queued reports, then waits for RPCs in flight.
  ~MixerClient();

  // The cache-only decision of a Check without quotas: true (and `out` filled) on a hit.
  bool checkCached(const Attributes& attributes, CheckResult* out);

  // `precondition_missed`: the caller already had checkCached() miss for these attributes, so
  // the cache is not asked twice.
  void check(const Attributes& attributes, const std::vector<QuotaRequest>& quotas, CheckDone done,
             bool precondition_missed = false);

  void report(Attributes record);
  // Queues `*record` and leaves it empty, holding the storage of the record queued before it: a
  // host that builds each request into the set it gets back allocates nothing once records of
  // this shape have been queued (see Attributes::clear).
  void reportSwap(Attributes* record);
  void flushReports() { batcher_.flush(); }

  ClientStats stats() const { return stats_.snapshot(); }
  uint32_t globalWordCount() const { return dictionary_.wordCount(); }

 private:
  struct PendingCheck;
  void sendCheck(std::shared_ptr<PendingCheck> pending);
  void onCheckResponse(std::shared_ptr<PendingCheck> pending, const grpc::Status& status,
                       const istio::mixer::v1::CheckResponse& response);
  void backgroundFetches(const Attributes& attributes, const std::vector<QuotaRequest>& quotas,
                         std::vector<QuotaCache::Decision> decisions);
  std::string deduplicationId();
  static int64_t nowNs();

  const MixerClientOptions options_;
  GlobalDictionary dictionary_;
  StatsCounters stats_;
  CheckCache check_cache_;
  QuotaCache quota_cache_;
  std::unique_ptr<MixerTransport> transport_;
  ReportBatcher batcher_;
  std::string dedup_prefix_;
  std::atomic<uint64_t> dedup_counter_{0};
};

}  // namespace mixer::proxy
