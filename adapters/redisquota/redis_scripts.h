// The redisquota Lua scripts, shaped as Istio's (KEYS = {meta, data}; ARGV = {credit, window,
// bucket, best_effort, amount, now, dedup_id}) but in milliseconds rather than nanoseconds: Redis
// converts Lua numbers to strings with "%.14g", which keeps millisecond Unix times (13 digits)
// exact and would round nanosecond ones. The reply is {granted, ttl, remaining}: Istio's two,
// and what is left of the limit after this call (-1 for an answer repeated for a deduplication
// id, whose remainder is not kept).
#ifndef MIXER_ADAPTERS_REDISQUOTA_REDIS_SCRIPTS_H_
#define MIXER_ADAPTERS_REDISQUOTA_REDIS_SCRIPTS_H_

namespace redisquota {

// Fixed window: the window starts with the first request after the previous one ended (Istio's
// behaviour); meta = {token, expire}. The dedup hash "<id>-<meta>" = {token, expire} returns the
// first answer again until the window of that answer ends.
inline constexpr char kFixedWindowScript[] = R"lua(
local key_meta = KEYS[1]
local credit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local best_effort = tonumber(ARGV[4])
local amount = tonumber(ARGV[5])
local now = tonumber(ARGV[6])
local dedup = ARGV[7]
local dedup_key = dedup .. "-" .. key_meta
if dedup ~= "" then
  local d = redis.call("HMGET", dedup_key, "token", "expire")
  local d_token = tonumber(d[1])
  local d_expire = tonumber(d[2])
  if d_token ~= nil and d_expire ~= nil and d_expire > now then
    return {d_token, d_expire - now, -1}
  end
end
local info = redis.call("HMGET", key_meta, "token", "expire")
local used = tonumber(info[1])
local expire = tonumber(info[2])
if expire == nil or expire <= now then
  used = 0
  expire = now + window
  redis.call("HMSET", key_meta, "token", 0, "expire", expire)
  redis.call("PEXPIRE", key_meta, window)
end
local granted = amount
if used + amount > credit then
  if best_effort == 1 then
    granted = math.max(0, credit - used)
  else
    granted = 0
  end
end
if granted > 0 then
  redis.call("HINCRBY", key_meta, "token", granted)
end
if dedup ~= "" then
  redis.call("HMSET", dedup_key, "token", granted, "expire", expire)
  redis.call("PEXPIRE", dedup_key, expire - now)
end
return {granted, expire - now, math.max(0, credit - used - granted)}
)lua";

// Rolling window: meta = {token (in the window), bucket.token, bucket.timestamp, key (sequence)};
// a bucket older than bucket_duration is moved to the sorted set `data` (score = its start,
// member "seq.tokens"); members at or before now - window are reclaimed. A grant therefore
// returns to the pool one window after the start of its bucket.
inline constexpr char kRollingWindowScript[] = R"lua(
local key_meta = KEYS[1]
local key_data = KEYS[2]
local credit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local bucket = tonumber(ARGV[3])
local best_effort = tonumber(ARGV[4])
local amount = tonumber(ARGV[5])
local now = tonumber(ARGV[6])
local dedup = ARGV[7]
local dedup_key = dedup .. "-" .. key_meta
if dedup ~= "" then
  local d = redis.call("HMGET", dedup_key, "token", "expire")
  local d_token = tonumber(d[1])
  local d_expire = tonumber(d[2])
  if d_token ~= nil and d_expire ~= nil and d_expire > now then
    return {d_token, d_expire - now, -1}
  end
end
local info = redis.call("HMGET", key_meta, "token", "bucket.token", "bucket.timestamp", "key")
local used = tonumber(info[1]) or 0
local bucket_token = tonumber(info[2]) or 0
local bucket_start = tonumber(info[3]) or now
local seq = tonumber(info[4]) or 0
if now - bucket_start >= bucket then
  if bucket_token > 0 then
    seq = seq + 1
    redis.call("ZADD", key_data, bucket_start, seq .. "." .. bucket_token)
  end
  bucket_token = 0
  bucket_start = now
end
local cutoff = now - window
local expired = redis.call("ZRANGEBYSCORE", key_data, "-inf", cutoff)
for _, member in ipairs(expired) do
  used = used - tonumber(string.match(member, "%.(%d+)$"))
end
if #expired > 0 then
  redis.call("ZREMRANGEBYSCORE", key_data, "-inf", cutoff)
end
if used < 0 then
  used = 0
end
local granted = amount
if used + amount > credit then
  if best_effort == 1 then
    granted = math.max(0, credit - used)
  else
    granted = 0
  end
end
used = used + granted
bucket_token = bucket_token + granted
redis.call("HMSET", key_meta, "token", used, "bucket.token", bucket_token,
           "bucket.timestamp", bucket_start, "key", seq)
redis.call("PEXPIRE", key_meta, window)
redis.call("PEXPIRE", key_data, window)
if dedup ~= "" then
  redis.call("HMSET", dedup_key, "token", granted, "expire", now + window)
  redis.call("PEXPIRE", dedup_key, window)
end
return {granted, window, math.max(0, credit - used)}
)lua";

}  // namespace redisquota

#endif  // MIXER_ADAPTERS_REDISQUOTA_REDIS_SCRIPTS_H_
