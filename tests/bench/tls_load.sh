#!/usr/bin/env bash
# The cost of transport security on the Check path: a server's CPU per Check over plain text, TLS
# and mTLS (certificates made by openssl, tests/testing/make_test_certs.sh; mixs with a caller
# policy), in the same run, driven by the same mixc over one long-lived connection: the handshake
# happens once, then every call rides the established session.
# CPU per call is utime+stime of the server process from /proc, before and after, divided by the
# calls; also per thread (/proc/PID/task/*/stat), to show where the TLS work lands, and context
# switches per call (/proc/PID/task/*/status).
# Rounds alternate plain / TLS / mTLS so that a busy moment of the box hits all three alike.
#   LOADS    "closed" (mixc closed loop, 8 in flight: each transport at its own maximum rate)
#            and/or open-loop rates in calls per second (every transport at the same rate, for
#            DURATION seconds each, default 4). Default "closed".
#   SERVERS  default "mixs"; also, in the same rounds:
#            grpc-floor  check_floor_server (gRPC C++'s callback API, an empty answer) with the
#                        TLS credentials mixs builds: what gRPC's TLS costs by itself;
#            h2-floor    h2_floor_server (libnghttp2 on one epoll thread) with OpenSSL on the
#                        socket: what TLS costs on the lean path docs/performance.md proposes.
#   CSV      a file to append the rows to (round,server,load,transport,calls_per_s,cpu_us,ratio,
#            switches).
# The ratio is each run's CPU per Check over the same server's plain-text run of the round at the
# same load.
# Usage: [LOADS="closed 5000 10000 20000"] [SERVERS="mixs grpc-floor h2-floor"] \
#          tls_load.sh BUILD_DIR [CALLS] [ROUNDS]
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

start() {  # server mode -> sets PORT, PID
  local out=$work/server.out tls=() extra=()
  case $2 in
    tls) tls=("$c/server.pem" "$c/server.key") ;;
    mtls) tls=("$c/server.pem" "$c/server.key" "$c/ca.pem") ;;
  esac
  [ ${#tls[@]} -gt 0 ] && extra=(--tls "${tls[@]}")
  case $1 in
    mixs)
      local flags=()
      [ ${#tls[@]} -ge 2 ] && flags=(--tls-cert "${tls[0]}" --tls-key "${tls[1]}")
      [ ${#tls[@]} -eq 3 ] && flags+=(--tls-client-ca "${tls[2]}" --callers "$work/callers.yaml")
      "$bin/mixs" server --address 127.0.0.1:0 --monitoring-port -1 --log-level error \
        --prometheus-address 127.0.0.1:0 "${flags[@]}" >"$out" 2>&1 &
      ;;
    grpc-floor) "$bin/check_floor_server" 127.0.0.1:0 "${extra[@]}" >"$out" 2>&1 & ;;
    h2-floor) "$bin/h2_floor_server" 127.0.0.1:0 "${extra[@]}" >"$out" 2>&1 & ;;
    *) echo "unknown server $1" >&2; exit 2 ;;
  esac
  PID=$!
  pids+=("$PID")
  for _ in $(seq 100); do
    PORT=$(grep -oE '(API\)|listening) on 127\.0\.0\.1:[0-9]+' "$out" | grep -oE '[0-9]+$' | head -1 || true)
    [ -n "$PORT" ] && return 0
    sleep 0.05
  done
  echo "$1 did not start: $(cat "$out")" >&2
  exit 1
}

client_flags() {
  case $1 in
    plain) echo "-m 127.0.0.1:$PORT" ;;
    tls) echo "-m 127.0.0.1:$PORT --tls-server-name localhost --tls-ca $c/ca.pem" ;;
    mtls) echo "-m 127.0.0.1:$PORT --tls-server-name localhost --tls-ca $c/ca.pem --tls-cert $c/proxy.pem --tls-key $c/proxy.key" ;;
  esac
}

threads() {  # pid -> "name ticks" per thread
  for t in /proc/"$1"/task/*; do
    awk '{gsub(/[()]/, "", $2); print $2, $14 + $15}' "$t/stat"
  done | sort
}

servers=${SERVERS:-mixs}
loads=${LOADS:-closed}
# shellcheck source=tests/bench/load_shape.sh
. "$(dirname "$0")/load_shape.sh"
echo "| round | server | load | transport | calls/s | server CPU per Check (µs) | ratio to plain | context switches per Check | busiest threads (µs per Check) |"
echo "|---|---|---|---|---|---|---|---|---|"
for round in $(seq "$rounds"); do
  for server in $servers; do
    declare -A plain_cpu=()
    for mode in plain tls mtls; do
      start "$server" "$mode"
      # shellcheck disable=SC2046
      warm=$("$bin/mixc" check $(client_flags "$mode") -a "$attrs" --stringmap_attributes "$headers" \
        -r $((calls / 4 + 1)) -c 8 2>&1) ||
        { echo "round $round $server $mode: the warm-up calls failed: $warm" >&2; exit 1; }
      for load in $loads; do
        load_shape "$load" "$calls"
        n=$N
        before=$(cpu_ticks "$PID")
        cs0=$(switches "$PID")
        threads "$PID" >"$work/before"
        # shellcheck disable=SC2046
        out=$("$bin/mixc" check $(client_flags "$mode") -a "$attrs" --stringmap_attributes "$headers" \
          -r "$n" -c 8 "${PACE[@]}" --json)
        after=$(cpu_ticks "$PID")
        cs1=$(switches "$PID")
        threads "$PID" >"$work/after"
        per_thread=$(/usr/bin/python3 - "$work/before" "$work/after" "$n" "$tick" <<'PY'
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
        [ "$1" = "$n" ] || { echo "round $round $server $load $mode: only $1 of $n calls succeeded: $out" >&2; exit 1; }
        cpu=$(/usr/bin/python3 -c "print(f'{($after-$before)*1e6/$tick/$n:.2f}')")
        [ "$mode" = plain ] && plain_cpu[$load]=$cpu
        ratio=$(/usr/bin/python3 -c "p = ${plain_cpu[$load]}; print(f'{$cpu / p:.2f}' if p else 'n/a')")
        cs=$(/usr/bin/python3 -c "print(f'{($cs1-$cs0)/$n:.2f}')")
        shown=$(load_label "$load")
        echo "| $round | $server | $shown | $mode | $2 | $cpu | $ratio | $cs | $per_thread |"
        if [ -n "${CSV:-}" ]; then
          echo "$round,$server,$load,$mode,$2,$cpu,$ratio,$cs" >>"$CSV"
        fi
      done
      kill "$PID"; wait "$PID" 2>/dev/null || true
    done
    unset plain_cpu
  done
done
