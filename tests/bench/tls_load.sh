#!/usr/bin/env bash
# The cost of transport security on the Check path: mixs' CPU per Check over plain text, TLS and
# mTLS with a caller policy (certificates made by openssl, tests/testing/make_test_certs.sh), in
# the same run, driven by the same mixc closed loop (-c 8 over one long-lived connection: the
# handshake happens once, then every call rides the established session).
# CPU per call is utime+stime of the mixs process from /proc, before and after, divided by the
# calls; also per thread (/proc/PID/task/*/stat), to show where the TLS work lands.
# Rounds alternate plain / TLS / mTLS so that a busy moment of the box hits all three alike.
# Usage: tls_load.sh BUILD_DIR [CALLS] [ROUNDS]
set -euo pipefail
build=${1:-build/release}
calls=${2:-100000}
rounds=${3:-3}
bin=$build/bin
tick=$(getconf CLK_TCK)
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

attrs='source.ip=10.44.1.7,source.uid=kubernetes://productpage-v1-6b746f74dc-9stvs.default,source.namespace=default,destination.uid=kubernetes://reviews-v2-7d79d5bd5d-4lqhk.default,destination.service.host=reviews.default.svc.cluster.local,destination.service.name=reviews,destination.service.namespace=default,destination.namespace=default,destination.port=9080,request.host=reviews:9080,request.method=GET,request.path=/reviews/0,request.scheme=http,request.useragent=python-requests/2.18.4,request.time=2026-11-22T05:00:00Z,context.protocol=http,context.reporter.kind=inbound,connection.mtls=true'
headers='request.headers=x-tenant:t0;accept:*/*;user-agent:python-requests/2.18.4;x-request-id:2c0a8d6e-6f3a-9c7b-a1f5-0e3b2d4c6a8f;x-b3-traceid:8a3c1e2f0b4d5a6c;x-b3-spanid:0f5e1e1a4c0b1d2e;x-b3-sampled:1;x-forwarded-proto:http'

sh tests/testing/make_test_certs.sh "$work/certs" proxy=istio-system/ingress >/dev/null
c=$work/certs
cat >"$work/callers.yaml" <<YAML
callers:
- principals: ["spiffe://cluster.local/ns/istio-system/sa/ingress"]
  apis: ["*"]
  trusted: true
YAML

start() {  # mode -> sets PORT, PID
  local out=$work/mixs.out flags=()
  case $1 in
    tls) flags=(--tls-cert "$c/server.pem" --tls-key "$c/server.key") ;;
    mtls) flags=(--tls-cert "$c/server.pem" --tls-key "$c/server.key" --tls-client-ca "$c/ca.pem"
                 --callers "$work/callers.yaml") ;;
  esac
  "$bin/mixs" server --address 127.0.0.1:0 --monitoring-port -1 --log-level error \
    --prometheus-address 127.0.0.1:0 "${flags[@]}" >"$out" 2>&1 &
  PID=$!
  pids+=("$PID")
  for _ in $(seq 100); do
    PORT=$(grep -oE 'API\) on 127\.0\.0\.1:[0-9]+' "$out" | grep -oE '[0-9]+$' | head -1 || true)
    [ -n "$PORT" ] && return 0
    sleep 0.05
  done
  echo "mixs did not start: $(cat "$out")" >&2
  exit 1
}

client_flags() {
  case $1 in
    plain) echo "-m 127.0.0.1:$PORT" ;;
    tls) echo "-m localhost:$PORT --tls-ca $c/ca.pem" ;;
    mtls) echo "-m localhost:$PORT --tls-ca $c/ca.pem --tls-cert $c/proxy.pem --tls-key $c/proxy.key" ;;
  esac
}

threads() {  # pid -> "name ticks" per thread
  for t in /proc/"$1"/task/*; do
    awk '{gsub(/[()]/, "", $2); print $2, $14 + $15}' "$t/stat"
  done | sort
}

echo "| round | transport | calls/s (closed loop, 8 in flight) | mixs CPU per Check (µs) | busiest threads (µs per Check) |"
echo "|---|---|---|---|---|"
for round in $(seq "$rounds"); do
  for mode in plain tls mtls; do
    start "$mode"
    # shellcheck disable=SC2046
    "$bin/mixc" check $(client_flags "$mode") -a "$attrs" --stringmap_attributes "$headers" \
      -r $((calls / 4 + 1)) -c 8 >/dev/null
    before=$(awk '{print $14 + $15}' "/proc/$PID/stat")
    threads "$PID" >"$work/before"
    # shellcheck disable=SC2046
    out=$("$bin/mixc" check $(client_flags "$mode") -a "$attrs" --stringmap_attributes "$headers" \
      -r "$calls" -c 8 --json)
    after=$(awk '{print $14 + $15}' "/proc/$PID/stat")
    threads "$PID" >"$work/after"
    kill "$PID"; wait "$PID" 2>/dev/null || true
    per_thread=$(/usr/bin/python3 - "$work/before" "$work/after" "$calls" "$tick" <<'PY'
import collections, sys
def load(p):
    d = collections.Counter()
    for line in open(p):
        name, t = line.rsplit(" ", 1)
        d[name] += int(t)
    return d
b, a = load(sys.argv[1]), load(sys.argv[2])
calls, tick = int(sys.argv[3]), int(sys.argv[4])
rows = sorted(((a[k] - b.get(k, 0)) * 1e6 / tick / calls, k) for k in a)
print(", ".join(f"{k} {v:.1f}" for v, k in reversed(rows[-3:]) if v > 0))
PY
)
    ok=$(echo "$out" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["ok"], int(d["rate"]))')
    set -- $ok
    [ "$1" = "$calls" ] || { echo "round $round $mode: only $1 of $calls calls succeeded: $out" >&2; exit 1; }
    cpu=$(/usr/bin/python3 -c "print(f'{($after-$before)*1e6/$tick/$calls:.1f}')")
    echo "| $round | $mode | $2 | $cpu | $per_thread |"
  done
done
