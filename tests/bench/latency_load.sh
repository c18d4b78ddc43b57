#!/usr/bin/env bash
# Check latency under load, open loop: mixs on its embedded configuration, its maximum rate found
# with a closed loop (mixc, 8 in flight), then mixc --rate at 50% and at 90% of that rate, each
# for DURATION; latency counts from each call's scheduled start, so queueing is included. Prints
# CSV rows: date,load_average,fraction,target_rate,achieved_rate,p50_us,p90_us,p99_us,p999_us.
# With PIN=1, mixs runs on CPU 0 and mixc on CPU 1 (taskset), so they do not preempt each other.
# With RATES="R1 R2 ...", each round sends at those fixed rates instead (fraction column "fixed"),
# to compare builds or servers at the same load. With LEAN=1, mixc calls mixs' lean port
# (--lean-address: libnghttp2 on one thread) instead of its gRPC port. With CLIENT=lean, mixc sends
# through the proxy library's lean transport (--transport lean) instead of gRPC C++'s client.
# Usage: [PIN=1] [RATES=...] [LEAN=1] [CLIENT=lean] latency_load.sh BUILD_DIR [DURATION] [ROUNDS]
set -euo pipefail
build=${1:-build/release}
duration=${2:-10s}
rounds=${3:-2}
bin=$build/bin
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

attrs='source.ip=10.44.1.7,source.uid=kubernetes://productpage-v1-6b746f74dc-9stvs.default,source.namespace=default,destination.uid=kubernetes://reviews-v2-7d79d5bd5d-4lqhk.default,destination.service.host=reviews.default.svc.cluster.local,destination.service.name=reviews,destination.service.namespace=default,destination.namespace=default,destination.port=9080,request.host=reviews:9080,request.method=GET,request.path=/reviews/0,request.scheme=http,request.useragent=python-requests/2.18.4,request.time=2026-11-22T05:00:00Z,context.protocol=http,context.reporter.kind=inbound,connection.mtls=true'
headers='request.headers=x-tenant:t0;accept:*/*;user-agent:python-requests/2.18.4;x-request-id:2c0a8d6e-6f3a-9c7b-a1f5-0e3b2d4c6a8f;x-b3-traceid:8a3c1e2f0b4d5a6c;x-b3-spanid:0f5e1e1a4c0b1d2e;x-b3-sampled:1;x-forwarded-proto:http'

server_cpu=() client_cpu=() lean=() shown='API\)'
if [ "${LEAN:-0}" = 1 ]; then
  lean=(--lean-address 127.0.0.1:0) shown='lean port .*'
fi
if [ "${PIN:-0}" = 1 ]; then
  server_cpu=(taskset -c 0) client_cpu=(taskset -c 1)
fi
"${server_cpu[@]}" "$bin/mixs" server --address 127.0.0.1:0 --monitoring-port -1 --log-level error \
  --prometheus-address 127.0.0.1:0 "${lean[@]}" >"$work/mixs.log" 2>&1 &
pid=$!
addr=
for _ in $(seq 100); do
  addr=$(grep -oE "$shown on 127\.0\.0\.1:[0-9]+" "$work/mixs.log" | grep -oE '127[.0-9]+:[0-9]+' || true)
  [ -n "$addr" ] && break
  sleep 0.05
done
[ -n "$addr" ] || { echo "mixs did not start: $(cat "$work/mixs.log")" >&2; exit 1; }

field() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d'+sys.argv[1]))" "$1"; }
client=()
[ "${CLIENT:-grpc}" = lean ] && client=(--transport lean)
check() { "${client_cpu[@]}" "$bin/mixc" check -m "$addr" "${client[@]}" -a "$attrs" --stringmap_attributes "$headers" "$@"; }

check -r 20000 -c 8 >/dev/null  # warm-up
echo "date,load_average,fraction,target_rate,achieved_rate,p50_us,p90_us,p99_us,p999_us"
for _ in $(seq "$rounds"); do
  runs=()  # fraction:target
  if [ -n "${RATES:-}" ]; then
    for rate in $RATES; do runs+=("fixed:$rate"); done
  else
    max=$(check -r 60000 -c 8 --json | field '["rate"]')
    for fraction in 0.5 0.9; do
      runs+=("$fraction:$(/usr/bin/python3 -c "print(int($max * $fraction))")")
    done
  fi
  for run in "${runs[@]}"; do
    fraction=${run%%:*} target=${run#*:}
    out=$(check --rate "$target" --duration "$duration" --json)
    printf '%s,%s,%s,%s,%.0f,%.0f,%.0f,%.0f,%.0f\n' "$(date -u +%F)" \
      "$(cut -d' ' -f1 /proc/loadavg)" "$fraction" "$target" \
      "$(echo "$out" | field '["rate"]')" "$(echo "$out" | field '["latency_us"]["p50"]')" \
      "$(echo "$out" | field '["latency_us"]["p90"]')" "$(echo "$out" | field '["latency_us"]["p99"]')" \
      "$(echo "$out" | field '["latency_us"]["p999"]')"
  done
done
