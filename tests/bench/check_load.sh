#!/usr/bin/env bash
# Check/Report load over loopback: mixs versus the floor (check_floor_server: the same protos, an
# empty OK for every call), side by side in one run, driven by the same mixc load generator.
#
# For each server it measures, with the client on the same 2-core machine:
#   - closed loop (-c 8): throughput and the server's CPU time per call (utime+stime of the server
#     process from /proc, before and after);
#   - open loop at a fixed rate: latency percentiles including queueing.
# Sections: Check and Report on the embedded configuration; Check with 10/100/1,000 rules; the
# telemetry pipeline (stdio + prometheus + zipkin) per record, single and in batches of 100 (for
# batches: CALLS/20 calls, CPU divided by records, open loop at RATE/100 calls/s).
# Usage: check_load.sh BUILD_DIR [CALLS] [RATE] [all|basic|rules|telemetry]
set -euo pipefail
build=${1:-build/release}
calls=${2:-100000}
rate=${3:-5000}
only=${4:-all}
bin=$build/bin
tick=$(getconf CLK_TCK)

attrs='source.ip=10.44.1.7,source.uid=kubernetes://productpage-v1-6b746f74dc-9stvs.default,source.namespace=default,destination.uid=kubernetes://reviews-v2-7d79d5bd5d-4lqhk.default,destination.service.host=reviews.default.svc.cluster.local,destination.service.name=reviews,destination.service.namespace=default,destination.namespace=default,destination.port=9080,request.host=reviews:9080,request.method=GET,request.path=/reviews/0,request.scheme=http,request.useragent=python-requests/2.18.4,request.time=2026-11-22T05:00:00Z,context.protocol=http,context.reporter.kind=inbound,connection.mtls=true'
headers='request.headers=x-tenant:t0;accept:*/*;user-agent:python-requests/2.18.4;x-request-id:2c0a8d6e-6f3a-9c7b-a1f5-0e3b2d4c6a8f;x-b3-traceid:8a3c1e2f0b4d5a6c;x-b3-spanid:0f5e1e1a4c0b1d2e;x-b3-sampled:1;x-forwarded-proto:http'
report_attrs="$attrs,request.size=0,response.code=200,response.size=379,response.duration=8ms,response.time=2026-11-22T05:00:00.008Z"

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
    ADDR=$(grep -oE '(API\) on|listening on) 127\.0\.0\.1:[0-9]+' "$out" | grep -oE '127[.0-9]+:[0-9]+' | head -1 || true)
    [ -n "$ADDR" ] && return 0
    sleep 0.05
  done
  echo "server $1 did not start: $(cat "$out")" >&2
  exit 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

json_field() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d'+sys.argv[1]))" "$1"; }

measure() {  # server method [rules] -> prints one markdown row
  local server=$1 method=$2 rules=${3:-} dir="" label=$1
  if [ -n "$rules" ]; then
    dir=$(mktemp -d)
    /usr/bin/python3 tests/bench/gen_rules.py "$dir" "$rules"
    label="$server, $rules rules"
  fi
  row "$server" "$method" "$label" "$dir" 1
  [ -n "$dir" ] && rm -rf "$dir"
  return 0
}

row() {  # server method label config_dir records -> prints one markdown row
  local server=$1 method=$2 label=$3 dir=$4 records=$5 flags n r
  if [ "$method" = check ]; then
    flags=(-a "$attrs" --stringmap_attributes "$headers")
  else
    flags=(-a "$report_attrs" --stringmap_attributes "$headers" --records "$records")
  fi
  n=$((calls / (records > 1 ? 20 : 1)))
  r=$((rate / records > 50 ? rate / records : 50))
  start_server "$server" "$dir"
  "$bin/mixc" "$method" -m "$ADDR" "${flags[@]}" -r $((n / 4 + 1)) -c 8 >/dev/null  # warm-up
  local before after closed open
  before=$(cpu_ticks "$PID")
  closed=$("$bin/mixc" "$method" -m "$ADDR" "${flags[@]}" -r "$n" -c 8 --json)
  after=$(cpu_ticks "$PID")
  open=$("$bin/mixc" "$method" -m "$ADDR" "${flags[@]}" --rate "$r" --duration 5s --json)
  kill "$PID"; wait "$PID" 2>/dev/null || true
  local cpu_us
  cpu_us=$(/usr/bin/python3 -c "print(f'{($after-$before)*1e6/$tick/($n*$records):.1f}')")
  printf '| %s | %s | %s | %.0f | %s | %.0f | %.0f | %.0f |\n' "$method" "$label" \
    "$(echo "$closed" | json_field '["ok"]')" "$(echo "$closed" | json_field '["rate"]')" "$cpu_us" \
    "$(echo "$open" | json_field '["latency_us"]["p50"]')" \
    "$(echo "$open" | json_field '["latency_us"]["p99"]')" \
    "$(echo "$open" | json_field '["latency_us"]["p999"]')"
}

# The telemetry pipeline: the embedded configuration (access log through stdio, here to
# /dev/null, and Istio's four standard metrics through prometheus) plus a zipkin span per record
# (sampled) POSTed to a collector that accepts and discards them.
telemetry_config() {  # dir collector_port
  sed -e 's|outputAsJson: true|{outputAsJson: true, logStream: FILE, outputPath: /dev/null}|' \
    -e 's|address: ":42422"|address: "127.0.0.1:0"|' mixer/runtime/embedded_config.yaml >"$1/default.yaml"
  cat >"$1/zipkin.yaml" <<YAML
apiVersion: config.istio.io/v1alpha2
kind: zipkin
metadata: {name: tracing, namespace: istio-system}
spec:
  url: http://127.0.0.1:$2/api/v2/spans
  sampleProbability: 1
---
apiVersion: config.istio.io/v1alpha2
kind: tracespan
metadata: {name: default, namespace: istio-system}
spec:
  traceId: request.headers["x-b3-traceid"]
  spanId: request.headers["x-b3-spanid"] | ""
  spanName: destination.service.host | "unknown"
  startTime: request.time
  endTime: response.time
  sourceIp: source.ip | ip("0.0.0.0")
  httpStatusCode: response.code | 0
  spanTags:
    http.method: request.method | ""
    http.url: request.path | ""
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: tracing, namespace: istio-system}
spec:
  match: request.headers["x-b3-sampled"] == "1"
  actions:
  - handler: tracing.zipkin
    instances: [default.tracespan]
YAML
}

start_collector() {  # -> sets COLLECTOR_PORT; a Zipkin endpoint that accepts and discards
  local out
  out=$(mktemp)
  /usr/bin/python3 -u - >"$out" 2>&1 <<'PY' &
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(202); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print("port", s.server_address[1], flush=True)
s.serve_forever()
PY
  pids+=("$!")
  for _ in $(seq 100); do
    COLLECTOR_PORT=$(sed -n 's/^port //p' "$out")
    [ -n "$COLLECTOR_PORT" ] && return 0
    sleep 0.05
  done
  echo "collector did not start: $(cat "$out")" >&2
  exit 1
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(date -u +%Y-%m-%d)"
echo "closed loop: $calls calls, concurrency 8; open loop: $rate calls/s for 5 s"
echo
echo '| method | server | OK calls | calls/s (closed) | server CPU µs per call (reports: per record) | p50 µs (open) | p99 µs (open) | p99.9 µs (open) |'
echo '|---|---|---|---|---|---|---|---|'
# Each configuration twice, interleaved with the floor, so drift in the machine's load shows.
if [ "$only" = all ] || [ "$only" = basic ]; then
for method in check report; do
  for server in floor mixs floor mixs; do
    measure "$server" "$method"
  done
done
fi
if [ "$only" = all ] || [ "$only" = rules ]; then
for round in 1 2; do
  measure floor check
  for rules in 10 100 1000; do
    measure mixs check "$rules"
  done
done
fi
# The telemetry pipeline (stdio + prometheus + zipkin), per record, single and batched by 100.
if [ "$only" = all ] || [ "$only" = telemetry ]; then
start_collector
tdir=$(mktemp -d)
telemetry_config "$tdir" "$COLLECTOR_PORT"
for records in 1 100; do
  for server in floor mixs floor mixs; do
    label=$server
    [ "$server" = mixs ] && label="mixs, stdio + prometheus + zipkin"
    row "$server" report "$label, $records record(s) per Report" "$tdir" "$records"
  done
done
rm -rf "$tdir"
fi
