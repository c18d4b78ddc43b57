#!/usr/bin/env bash
# Check/Report load over loopback: mixs versus the floor (check_floor_server: the same protos, an
# empty OK for every call), side by side in one run, driven by the same mixc load generator.
#
# For each server it measures, with the client on the same 2-core machine:
#   - closed loop (-c 8): throughput and the server's CPU time per call (utime+stime of the server
#     process from /proc, before and after);
#   - open loop at a fixed rate: latency percentiles including queueing.
# Usage: check_load.sh BUILD_DIR [CALLS] [RATE]
set -euo pipefail
build=${1:-build/release}
calls=${2:-100000}
rate=${3:-5000}
bin=$build/bin
tick=$(getconf CLK_TCK)

attrs='source.ip=10.44.1.7,source.uid=kubernetes://productpage-v1-6b746f74dc-9stvs.default,source.namespace=default,destination.uid=kubernetes://reviews-v2-7d79d5bd5d-4lqhk.default,destination.service.host=reviews.default.svc.cluster.local,destination.service.name=reviews,destination.service.namespace=default,destination.namespace=default,destination.port=9080,request.host=reviews:9080,request.method=GET,request.path=/reviews/0,request.scheme=http,request.useragent=python-requests/2.18.4,request.time=2026-11-22T05:00:00Z,context.protocol=http,context.reporter.kind=inbound,connection.mtls=true'
headers='request.headers=x-tenant:t0;accept:*/*;user-agent:python-requests/2.18.4;x-request-id:2c0a8d6e-6f3a-9c7b-a1f5-0e3b2d4c6a8f;x-b3-traceid:8a3c1e2f0b4d5a6c;x-b3-spanid:0f5e1e1a4c0b1d2e;x-b3-sampled:1;x-forwarded-proto:http'
report_attrs="$attrs,request.size=0,response.code=200,response.size=379,response.duration=8ms"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start_server() {  # name [config dir] -> sets ADDR and PID
  local out
  out=$(mktemp)
  if [ "$1" = floor ]; then
    "$bin/check_floor_server" 127.0.0.1:0 >"$out" 2>&1 &
  elif [ -n "${2:-}" ]; then
    "$bin/mixs" server --address 127.0.0.1:0 --monitoring-port -1 --log-level error \
      --config-dir "$2" >"$out" 2>&1 &
  else
    "$bin/mixs" server --address 127.0.0.1:0 --monitoring-port -1 --log-level error \
      --prometheus-address 127.0.0.1:0 >"$out" 2>&1 &
  fi
  PID=$!
  pids+=("$PID")
  for _ in $(seq 100); do
    ADDR=$(grep -o '127\.0\.0\.1:[0-9]*' "$out" | head -1 || true)
    [ -n "$ADDR" ] && return 0
    sleep 0.05
  done
  echo "server $1 did not start: $(cat "$out")" >&2
  exit 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

json_field() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d'+sys.argv[1]))" "$1"; }

measure() {  # server method [rules] -> prints one markdown row
  local server=$1 method=$2 rules=${3:-} flags dir=""
  if [ "$method" = check ]; then flags=(-a "$attrs" --stringmap_attributes "$headers"); else flags=(-a "$report_attrs" --stringmap_attributes "$headers"); fi
  if [ -n "$rules" ]; then
    dir=$(mktemp -d)
    /usr/bin/python3 tests/bench/gen_rules.py "$dir" "$rules"
  fi
  start_server "$server" "$dir"
  "$bin/mixc" "$method" -m "$ADDR" "${flags[@]}" -r 5000 -c 8 >/dev/null  # warm-up
  local before after closed open
  before=$(cpu_ticks "$PID")
  closed=$("$bin/mixc" "$method" -m "$ADDR" "${flags[@]}" -r "$calls" -c 8 --json)
  after=$(cpu_ticks "$PID")
  open=$("$bin/mixc" "$method" -m "$ADDR" "${flags[@]}" --rate "$rate" --duration 5s --json)
  kill "$PID"; wait "$PID" 2>/dev/null || true
  local cpu_us
  cpu_us=$(/usr/bin/python3 -c "print(f'{($after-$before)*1e6/$tick/$calls:.1f}')")
  [ -n "$dir" ] && rm -rf "$dir"
  local label=$server
  [ -n "$rules" ] && label="$server, $rules rules"
  printf '| %s | %s | %s | %.0f | %s | %.0f | %.0f | %.0f |\n' "$method" "$label" \
    "$(echo "$closed" | json_field '["ok"]')" "$(echo "$closed" | json_field '["rate"]')" "$cpu_us" \
    "$(echo "$open" | json_field '["latency_us"]["p50"]')" \
    "$(echo "$open" | json_field '["latency_us"]["p99"]')" \
    "$(echo "$open" | json_field '["latency_us"]["p999"]')"
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(date -u +%Y-%m-%d)"
echo "closed loop: $calls calls, concurrency 8; open loop: $rate calls/s for 5 s"
echo
echo '| method | server | OK calls | calls/s (closed) | server CPU µs/call | p50 µs (open) | p99 µs (open) | p99.9 µs (open) |'
echo '|---|---|---|---|---|---|---|---|'
# Each configuration twice, interleaved with the floor, so drift in the machine's load shows.
for method in check report; do
  for server in floor mixs floor mixs; do
    measure "$server" "$method"
  done
done
for round in 1 2; do
  measure floor check
  for rules in 10 100 1000; do
    measure mixs check "$rules"
  done
done
