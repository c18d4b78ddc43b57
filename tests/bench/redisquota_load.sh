#!/usr/bin/env bash
# redisquota under load, side by side in one run on one box:
#   1. redis-benchmark running the adapter's FIXED_WINDOW script with EVALSHA (the same script,
#      the same argument shape, one key) against a fresh redis-server: the Redis ceiling;
#   2. mixc Check load (each call carrying one quota request) against mixs whose rule sends the
#      quota to a redisquota handler on that same redis-server.
# The limit is set so high that every call is granted (a denial would be cheaper).
# mixs' CPU time and context switches per call (from /proc) are printed for both mixc runs: on a
# shared box they compare builds better than the rates do.
# Then the same two mixc runs against a mixs whose rule sends the quota to memquota (answered at
# once, on the calling thread). MIXS_ONLY=1 leaves out the redis-benchmark and adapter rows.
# PERF_OUT=PREFIX records mixs with `perf record -g` during each quota run, into PREFIX.redis and
# PREFIX.mem. LEAN=1 sends every call to mixs' lean port (--lean-address) instead of its gRPC port.
# CLIENT=lean makes mixc's load runs go through the proxy library's lean transport
# (--transport lean) instead of gRPC C++'s client. Without MIXS_ONLY the table also gives
# redis-benchmark's own CPU per request at 1, 4 and 16 commands per write: what a Redis round trip
# costs a lean single-threaded client, beside what it adds to a quota Check in mixs.
# SLICES=N then also runs N alternating pairs of CALLS/N quota and plain Checks on each mixs,
# timed by on-CPU nanoseconds (schedstat), and prints the median of the pairs' ratios: the ratio of
# goal 1 with the box's drift between two long runs taken out.
# Usage: redisquota_load.sh BUILD_DIR [CALLS] [CONCURRENCY]
# (BUILD_DIR/bin and BUILD_DIR/adapters: a copy of another build can be measured the same way.)
set -euo pipefail
build=${1:-build/release}
calls=${2:-50000}
conc=${3:-16}
bin=$build/bin
src=$(cd "$(dirname "$0")/../.." && pwd)

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
/usr/bin/redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no >"$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "Ready to accept" "$work/redis.log" && break; sleep 0.05; done

# The script text, from the header the adapter compiles.
sed -n '/kFixedWindowScript\[\] = R"lua(/,/)lua";/p' "$src/adapters/redisquota/redis_scripts.h" \
  | sed '1d;$d' >"$work/fixed.lua"
sha=$(redis-cli -p "$port" SCRIPT LOAD "$(cat "$work/fixed.lua")")
now_ms=$(( $(date +%s) * 1000 ))

if [ "${MIXS_ONLY:-0}" != 1 ]; then
  rb=$(redis-benchmark -p "$port" -n "$calls" -c "$conc" -P 1 -q \
    EVALSHA "$sha" 2 bench.meta bench.data 1000000000000 3600000 0 0 1 "$now_ms" "" | tr '\r' '\n' |
    grep -o '[0-9.]* requests per second' | tail -1 | cut -d' ' -f1)
  # mixc's load mode repeats one request, so one deduplication id: after the first call the
  # script answers from the dedup hash. The same shape for redis-benchmark:
  rbd=$(redis-benchmark -p "$port" -n "$calls" -c "$conc" -P 1 -q \
    EVALSHA "$sha" 2 bench2.meta bench2.data 1000000000000 3600000 0 0 1 "$now_ms" "mixc-dedup" | tr '\r' '\n' |
    grep -o '[0-9.]* requests per second' | tail -1 | cut -d' ' -f1)
  # A fresh dedup id per call (the script's full path: it also writes the dedup hash).
  rbu=$(redis-benchmark -p "$port" -n "$calls" -c "$conc" -P 1 -q -r 1000000000 \
    EVALSHA "$sha" 2 bench3.meta bench3.data 1000000000000 3600000 0 0 1 "$now_ms" "d-__rand_int__" | tr '\r' '\n' |
    grep -o '[0-9.]* requests per second' | tail -1 | cut -d' ' -f1)
  # The adapter alone (loaded by the host library, no gRPC), a fresh dedup id per call.
  export MIXER_ADAPTER_DIR=$build/adapters
  # Its rate, and the load process' CPU and context switches per call (getrusage).
  adapter_row() {
    "$bin/redisquota_adapter_load" "$port" "$calls" "$1" "${POOL:-4}" | /usr/bin/python3 -c \
      "import json,sys; d=json.load(sys.stdin); print(f\"{d['rate']:.0f} | {d['cpu_us_per_call']:.1f} | {d['switches_per_call']:.2f}\")"
  }
  ad=$(adapter_row "$conc")
  ad128=$(adapter_row 128)
  rbp=$(redis-benchmark -p "$port" -n "$calls" -c "$conc" -P 16 -q \
    EVALSHA "$sha" 2 bench.meta bench.data 1000000000000 3600000 0 0 1 "$now_ms" "" | tr '\r' '\n' |
    grep -o '[0-9.]* requests per second' | tail -1 | cut -d' ' -f1)
  # What a Redis round trip costs a lean client: redis-benchmark (one event-loop thread, C) with
  # mixc's shape (one dedup id), its own CPU and context switches per request (getrusage), with
  # PIPELINE commands per connection per write.
  client_row() {
    /usr/bin/python3 - "$1" redis-benchmark -p "$port" -n "$((calls * $1))" -c "$conc" -P "$1" -q \
      EVALSHA "$sha" 2 bench2.meta bench2.data 1000000000000 3600000 0 0 1 "$now_ms" "mixc-dedup" <<'PY'
import re, resource, subprocess, sys
out = subprocess.run(sys.argv[2:], capture_output=True, text=True).stdout.replace("\r", "\n")
rate = float(re.findall(r"([0-9.]+) requests per second", out)[-1])
r = resource.getrusage(resource.RUSAGE_CHILDREN)
n = int(sys.argv[sys.argv.index("-n") + 1])
print(f"{rate:.0f} | {(r.ru_utime + r.ru_stime) * 1e6 / n:.1f} | {(r.ru_nvcsw + r.ru_nivcsw) / n:.2f}")
PY
  }
  rc1=$(client_row 1)
  rc4=$(client_row 4)
  rc16=$(client_row 16)
fi

mkdir -p "$work/config" "$work/memconfig"
cat >"$work/config/quota.yaml" <<YAML
apiVersion: config.istio.io/v1alpha2
kind: redisquota
metadata: {name: handler, namespace: istio-system}
spec:
  redisServerUrl: 127.0.0.1:$port
  connectionPoolSize: ${POOL:-4}
  quotas:
  - name: requestcount.quota.istio-system
    maxAmount: 1000000000000
    validDuration: 1h
YAML
# The same quota on memquota (an adapter that answers at once, on the calling thread).
cat >"$work/memconfig/quota.yaml" <<YAML
apiVersion: config.istio.io/v1alpha2
kind: memquota
metadata: {name: handler, namespace: istio-system}
spec:
  quotas:
  - name: requestcount.quota.istio-system
    maxAmount: 1000000000000
    validDuration: 1h
YAML
for dir in "$work/config" "$work/memconfig"; do
  kind=$(sed -n 's/^kind: \(.*quota\)$/\1/p' "$dir/quota.yaml")
  cat >>"$dir/quota.yaml" <<YAML
---
apiVersion: config.istio.io/v1alpha2
kind: quota
metadata: {name: requestcount, namespace: istio-system}
spec:
  dimensions:
    destination: destination.service | "unknown"
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: quota, namespace: istio-system}
spec:
  actions:
  - handler: handler.$kind
    instances: [requestcount.quota]
YAML
done
tck=$(getconf CLK_TCK)
per_call() { /usr/bin/python3 -c "print(f'{($2 - $1) * $3 / $calls:.1f}')"; }
rate_of() { /usr/bin/python3 -c "import json,sys; print(f\"{json.load(sys.stdin)['rate']:.0f}\")"; }

# Starts mixs on config dir $1, then measures a quota Check run and a plain Check run (in that
# order) with mixs' CPU and context switches per call; sets Q_RATE Q_CPU Q_SW NQ_RATE NQ_CPU
# NQ_SW and MIXC_JSON, and with THREADS=1 writes the per-thread breakdown to $work/threads.$2.
measure_mixs() {
  local dir=$1 tag=$2 mixs_pid addr="" one t0 t1 t2 s0 s1 s2 nq_json lean=()
  [ "${LEAN:-0}" = 1 ] && lean=(--lean-address 127.0.0.1:0)
  "$bin/mixs" server --address 127.0.0.1:0 --monitoring-port -1 --log-level error \
    --adapter-dir "$build/adapters" --config-dir "$dir" "${lean[@]}" >"$work/mixs.$tag.log" 2>&1 &
  mixs_pid=$!
  pids+=($mixs_pid)
  # mixs' CPU ticks (user + system) and context switches, summed over its threads.
  cpu_ticks() { awk '{print $14 + $15}' "/proc/$mixs_pid/stat"; }
  switches() { cat /proc/$mixs_pid/task/*/status | awk '/ctxt_switches/ {n += $2} END {print n}'; }
  # With THREADS=1: mixs' CPU and context switches per call, by thread name.
  by_thread() {
    for t in /proc/$mixs_pid/task/*; do
      echo "$(tr ' ' '_' <"$t/comm") $(awk '{print $14 + $15}' "$t/stat") $(awk '/ctxt_switches/ {n += $2} END {print n}' "$t/status")"
    done
  }
  for _ in $(seq 200); do
    if [ "${LEAN:-0}" = 1 ]; then
      addr=$(grep -oE 'lean port .* on 127\.0\.0\.1:[0-9]+' "$work/mixs.$tag.log" | grep -oE '127[.0-9]+:[0-9]+' || true)
    else
      addr=$(grep -o '127\.0\.0\.1:[0-9]*' "$work/mixs.$tag.log" | head -1 || true)
    fi
    [ -n "$addr" ] && break
    sleep 0.05
  done
  [ -n "$addr" ] || { echo "mixs did not start: $(cat "$work/mixs.$tag.log")" >&2; exit 1; }
  one=$("$bin/mixc" check -m "$addr" -s destination.service=bench.svc -q requestcount=1)
  echo "$one" | grep -q "Quota 'requestcount': granted 1" || { echo "quota not granted ($tag): $one" >&2; exit 1; }
  local client=()
  [ "${CLIENT:-grpc}" = lean ] && client=(--transport lean)
  "$bin/mixc" check -m "$addr" "${client[@]}" -s destination.service=bench.svc -q requestcount=1 -r 2000 -c "$conc" >/dev/null
  [ "${THREADS:-0}" = 1 ] && by_thread >"$work/threads0"
  local perf_pid=""
  if [ -n "${PERF_OUT:-}" ]; then
    perf record -e cpu-clock -g -p "$mixs_pid" -o "$PERF_OUT.$tag" >/dev/null 2>&1 &
    perf_pid=$!
    sleep 0.2
  fi
  t0=$(cpu_ticks); s0=$(switches)
  MIXC_JSON=$("$bin/mixc" check -m "$addr" "${client[@]}" -s destination.service=bench.svc \
    -q requestcount=1 -r "$calls" -c "$conc" --json)
  t1=$(cpu_ticks); s1=$(switches)
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid"
    wait "$perf_pid" 2>/dev/null || true
  fi
  [ "${THREADS:-0}" = 1 ] && by_thread >"$work/threads1"
  nq_json=$("$bin/mixc" check -m "$addr" "${client[@]}" -s destination.service=bench.svc -r "$calls" -c "$conc" --json)
  t2=$(cpu_ticks); s2=$(switches)
  [ "${THREADS:-0}" = 1 ] && by_thread >"$work/threads2"
  Q_CPU=$(per_call "$t0" "$t1" "1000000 / $tck"); NQ_CPU=$(per_call "$t1" "$t2" "1000000 / $tck")
  Q_SW=$(per_call "$s0" "$s1" 1); NQ_SW=$(per_call "$s1" "$s2" 1)
  Q_RATE=$(echo "$MIXC_JSON" | rate_of); NQ_RATE=$(echo "$nq_json" | rate_of)
  if [ "${THREADS:-0}" = 1 ]; then
    /usr/bin/python3 - "$work/threads0" "$work/threads1" "$calls" "$tck" "$work/threads2" \
      >"$work/threads.$tag" <<'PY'
import collections, sys
def load(path):
    out = collections.defaultdict(lambda: [0, 0])
    for line in open(path):
        name, cpu, sw = line.split()
        out[name][0] += int(cpu); out[name][1] += int(sw)
    return out
calls, tck = int(sys.argv[3]), int(sys.argv[4])
for a, b in ((load(sys.argv[1]), load(sys.argv[2])), (load(sys.argv[2]), load(sys.argv[5]))):
    for name in sorted(b, key=lambda n: a[n][0] - b[n][0]):
        cpu = (b[name][0] - a[name][0]) * 1e6 / tck / calls
        sw = (b[name][1] - a[name][1]) / calls
        if cpu > 0 or sw > 0.01:
            print(f"  {name:16} {cpu:6.1f} {sw:5.2f}")
    print("  --")
PY
  fi
  SLICE_SUMMARY=""
  if [ "${SLICES:-0}" -gt 0 ]; then
    # Alternating slices of calls/SLICES quota and plain Checks on this same mixs (quota first in
    # odd slices, plain first in even ones), each timed by mixs' on-CPU nanoseconds from schedstat
    # summed over its threads: a drift of the box falls on both halves of a pair alike.
    local n=$((calls / SLICES)) i a b c ns=()
    oncpu() { cat /proc/$mixs_pid/task/*/schedstat | awk '{n += $1} END {printf "%.0f\n", n}'; }
    quota_slice() { "$bin/mixc" check -m "$addr" "${client[@]}" -s destination.service=bench.svc \
      -q requestcount=1 -r "$n" -c "$conc" >/dev/null; }
    plain_slice() { "$bin/mixc" check -m "$addr" "${client[@]}" -s destination.service=bench.svc \
      -r "$n" -c "$conc" >/dev/null; }
    for i in $(seq "$SLICES"); do
      a=$(oncpu)
      if [ $((i % 2)) = 1 ]; then quota_slice; b=$(oncpu); plain_slice; c=$(oncpu)
        ns+=("$((b - a)) $((c - b))")
      else plain_slice; b=$(oncpu); quota_slice; c=$(oncpu)
        ns+=("$((c - b)) $((b - a))")
      fi
    done
    SLICE_SUMMARY=$(printf '%s\n' "${ns[@]}" | /usr/bin/python3 -c "
import statistics, sys
n = $n
pairs = [tuple(int(x) for x in l.split()) for l in sys.stdin if l.strip()]
r = [q / p for q, p in pairs]
print(f'quota {statistics.median(q for q, _ in pairs) / n / 1e3:.2f} us, plain {statistics.median(p for _, p in pairs) / n / 1e3:.2f} us per call (medians); quota/plain per slice pair: median {statistics.median(r):.3f}, quartiles {statistics.quantiles(r, n=4)[0]:.3f}-{statistics.quantiles(r, n=4)[2]:.3f}, all: ' + ' '.join(f'{x:.2f}' for x in r))")
  fi
  kill "$mixs_pid" 2>/dev/null || true
  wait "$mixs_pid" 2>/dev/null || true
}

measure_mixs "$work/config" redis
r_q_rate=$Q_RATE r_q_cpu=$Q_CPU r_q_sw=$Q_SW r_nq_rate=$NQ_RATE r_nq_cpu=$NQ_CPU r_nq_sw=$NQ_SW
r_json=$MIXC_JSON r_slices=$SLICE_SUMMARY
granted=$(redis-cli -p "$port" HGET "requestcount.quota.istio-system;destination=bench.svc.meta" token)
measure_mixs "$work/memconfig" mem

echo "| measurement | calls/s | mixs CPU us/call | mixs context switches/call |"
echo "|---|---|---|---|"
if [ "${MIXS_ONLY:-0}" != 1 ]; then
  echo "| redis-benchmark EVALSHA fixed-window script, -c $conc, no pipelining | $rb |"
  echo "| redis-benchmark EVALSHA fixed-window script, -c $conc, -P 16 | $rbp |"
  echo "| redis-benchmark EVALSHA, one dedup id (mixc's load shape), -c $conc, no pipelining | $rbd |"
  echo "| redis-benchmark EVALSHA, a fresh dedup id per call, -c $conc, no pipelining | $rbu |"
  echo "| redis-benchmark's own CPU and switches per request (the floor of a Redis round trip for a client), one dedup id, -c $conc, -P 1 | $rc1 |"
  echo "| the same, -P 4 (4 commands per write) | $rc4 |"
  echo "| the same, -P 16 | $rc16 |"
  echo "| redisquota adapter alone (host library), fresh dedup ids, $conc in flight, pool ${POOL:-4} (load process CPU, switches) | $ad |"
  echo "| redisquota adapter alone (host library), fresh dedup ids, 128 in flight, pool ${POOL:-4} (load process CPU, switches) | $ad128 |"
fi
echo "| mixc Check without quota -> mixs (the Check path alone), -c $conc | $r_nq_rate | $r_nq_cpu | $r_nq_sw |"
echo "| mixc Check + quota -> mixs -> redisquota (pool ${POOL:-4}), -c $conc | $r_q_rate | $r_q_cpu | $r_q_sw |"
echo "| mixc Check without quota -> mixs (second mixs, memquota configured), -c $conc | $NQ_RATE | $NQ_CPU | $NQ_SW |"
echo "| mixc Check + quota -> mixs -> memquota, -c $conc | $Q_RATE | $Q_CPU | $Q_SW |"
if [ "${THREADS:-0}" = 1 ]; then
  echo
  echo "mixs threads per call (name, CPU us, context switches): the redisquota run, then the Check alone"
  cat "$work/threads.redis"
  echo "the same with memquota: the quota run, then the Check alone"
  cat "$work/threads.mem"
fi
if [ "${SLICES:-0}" -gt 0 ]; then
  echo
  echo "alternating slices ($SLICES pairs of $((calls / SLICES)) calls each, mixs on-CPU time from schedstat):"
  echo "  redisquota: $r_slices"
  echo "  memquota:   $SLICE_SUMMARY"
fi
echo
echo "mixc summary (redisquota): $r_json"
echo "tokens charged in Redis by the mixs runs (one per distinct dedup id): $granted"
