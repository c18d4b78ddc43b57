#!/usr/bin/env bash
# The Envoy front-ends of a real mixs over loopback gRPC, against the Mixer API in the same run:
# envoy_frontends_load sends the requests of envoy_frontends_bench (tests/bench/envoy_requests.h)
# with INFLIGHT calls in flight, and mixs' CPU per call is utime+stime of its process from
# /proc/<pid>/stat before and after each run, divided by the calls (for the access log and
# Report, by the entries).
#   - Mixer Check with the attributes the ext_authz request maps to, ext_authz Check, and
#     ShouldRateLimit (one descriptor, memquota), on one mixs serving `envoy_frontends_load
#     --print-config` (10 rules, one matching, and the memquota rule of the domain);
#   - Mixer Report of ENTRIES records and StreamAccessLogs messages of ENTRIES HTTP entries (one
#     stream per call in flight), on a second mixs serving the embedded default configuration
#     (the stdio access log, to /dev/null, and the standard Prometheus metrics), whose adapters
#     run on mixs' report threads and are counted too;
#   - StreamAccessLogs again on a third mixs with an empty configuration: transport, decoding,
#     attribute mapping and the report path with no rule to run.
# Each round runs every case once, in that order; ratios are to the Mixer Check (or Report) of the
# same round.
# Usage: envoy_frontends_load.sh [BUILD_DIR] [CALLS] [INFLIGHT] [ROUNDS] [ENTRIES]
set -euo pipefail
build=$(cd "${1:-build/release}" && pwd)
calls=${2:-40000}
inflight=${3:-16}
rounds=${4:-3}
entries=${5:-100}
bin=$build/bin
tick=$(getconf CLK_TCK)
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

start_mixs() {  # name [extra args...] -> sets ADDR and PID
  local name=$1
  shift
  "$bin/mixs" server --address 127.0.0.1:0 --monitoring-port -1 --log-level error "$@" \
    >"$work/$name.log" 2>&1 &
  PID=$!
  pids+=("$PID")
  for _ in $(seq 200); do
    ADDR=$(grep -oE 'API\) on 127\.0\.0\.1:[0-9]+' "$work/$name.log" | grep -oE '127[.0-9]+:[0-9]+' || true)
    [ -n "$ADDR" ] && return 0
    sleep 0.05
  done
  echo "mixs $name did not start: $(cat "$work/$name.log")" >&2
  exit 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run() {  # pid address mode calls divisor -> prints "us_per_unit calls_per_second"
  local pid=$1 address=$2 mode=$3 n=$4 divisor=$5 t0 t1 out
  t0=$(cpu_ticks "$pid")
  out=$("$bin/envoy_frontends_load" --address "$address" --mode "$mode" --calls "$n" \
    --inflight "$inflight" --entries "$entries")
  t1=$(cpu_ticks "$pid")
  awk -v d=$((t1 - t0)) -v hz="$tick" -v units="$((n * divisor))" -v out="$out" -v n="$n" 'BEGIN {
    split(out, f, "seconds="); printf "%.2f %.0f\n", d / hz * 1e6 / units, (f[2] > 0 ? n / f[2] : 0) }'
}

mkdir -p "$work/policy"
"$bin/envoy_frontends_load" --print-config >"$work/policy/policy.yaml"
start_mixs policy --config-dir "$work/policy"
policy_pid=$PID policy_addr=$ADDR
mkdir -p "$work/default"
"$bin/envoy_frontends_load" --print-default-config >"$work/default/default.yaml"
start_mixs default --config-dir "$work/default"
default_pid=$PID default_addr=$ADDR
mkdir -p "$work/empty"
start_mixs empty --config-dir "$work/empty"
empty_pid=$PID empty_addr=$ADDR
batch_calls=$((calls * 4 / entries))
[ "$batch_calls" -gt 0 ] || batch_calls=1

# Warm-up, unrecorded.
for mode in check authz rls; do run "$policy_pid" "$policy_addr" "$mode" 2000 1 >/dev/null; done
for mode in report als; do run "$default_pid" "$default_addr" "$mode" 50 "$entries" >/dev/null; done
run "$empty_pid" "$empty_addr" als 50 "$entries" >/dev/null

echo "round case mixs_cpu_us_per_unit calls_per_s ratio"
for r in $(seq "$rounds"); do
  res=$(run "$policy_pid" "$policy_addr" check "$calls" 1)
  read -r check_us check_rate <<<"$res"
  echo "$r mixer_check $check_us $check_rate 1.00"
  for mode in authz rls; do
    res=$(run "$policy_pid" "$policy_addr" "$mode" "$calls" 1)
    read -r us rate <<<"$res"
    echo "$r $mode $us $rate $(awk -v a="$us" -v b="$check_us" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
  done
  res=$(run "$default_pid" "$default_addr" report "$batch_calls" "$entries")
  read -r report_us report_rate <<<"$res"
  echo "$r mixer_report_per_record $report_us $report_rate 1.00"
  res=$(run "$default_pid" "$default_addr" als "$batch_calls" "$entries")
  read -r us rate <<<"$res"
  echo "$r als_per_entry $us $rate $(awk -v a="$us" -v b="$report_us" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
  res=$(run "$empty_pid" "$empty_addr" als "$batch_calls" "$entries")
  read -r us rate <<<"$res"
  echo "$r als_per_entry_no_rules $us $rate -"
done
echo "inflight=$inflight calls=$calls entries=$entries load average: $(cut -d' ' -f1-3 /proc/loadavg)"
