#!/usr/bin/env bash
# Where a Check's server CPU goes below the policy work: the same closed-loop Check (mixc, 8 in
# flight on one connection, Istio-shaped attributes) against four servers, one after the other
# in each round, so that a busy moment of the box hits them alike:
#   grpc-callback  check_floor_server: gRPC C++'s callback API, an empty OK answer (what mixs
#                  used before its port moved to completion queues)
#   grpc-async     check_floor_server --async 1: the completion-queue API, one thread polling and
#                  answering
#   grpc-sync      check_floor_server --sync: the synchronous API (gRPC's own thread pool); only
#                  when SERVERS names it
#   nghttp2        h2_floor_server: libnghttp2 on one epoll thread, no gRPC library
#   mixs           mixs on its embedded configuration (one completion queue and its thread;
#                  decoding and policy)
#   mixs-2q        the same with --grpc-threads 2; only when SERVERS names it
#   mixs-lean      the same mixs, called on its lean port (--lean-address: libnghttp2 on one
#                  epoll thread, no gRPC library); only when SERVERS names it
#   mixs-base      the mixs binary MIXS_BASE names (another build, e.g. before a change); only
#                  when SERVERS names it
# A server name with ":lean" (e.g. mixs-lean:lean) is called by mixc --transport lean (the proxy
# library's libnghttp2 client) instead of gRPC C++'s.
# Server CPU per call = utime+stime from /proc/PID/stat around the run, divided by the calls;
# context switches per call from /proc/PID/task/*/status (threads alive at both ends).
#   LOADS    "closed" (closed loop, 8 in flight) and/or open-loop rates in calls per second, each
#            for DURATION seconds (default 4), on the same server process. Default "closed".
#   SERVERS  default "grpc-callback grpc-async nghttp2 mixs".
#   METHOD   "check" (default) or "report": Reports of RECORDS records each (default 1) instead,
#            for the mixs servers (the floors answer Check only); CPU and switches per call.
# Usage: transport_floor.sh BUILD_DIR [CALLS] [ROUNDS]
set -euo pipefail
build=${1:-build/release}
calls=${2:-40000}
rounds=${3:-3}
bin=$build/bin
tick=$(getconf CLK_TCK)
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
attrs='source.ip=10.44.1.7,source.uid=kubernetes://productpage-v1-6b746f74dc-9stvs.default,destination.uid=kubernetes://reviews-v2-7d79d5bd5d-4lqhk.default,destination.service.host=reviews.default.svc.cluster.local,request.path=/reviews/0,request.method=GET,context.protocol=http,connection.mtls=true'

# shellcheck source=tests/bench/load_shape.sh
. "$(dirname "$0")/load_shape.sh"

method=${METHOD:-check}
flags=(-a "$attrs")
if [ "$method" = report ]; then
  flags=(-a "$attrs,response.code=200,response.size=379,response.duration=8ms" --records "${RECORDS:-1}")
fi
servers=${SERVERS:-grpc-callback grpc-async nghttp2 mixs}
loads=${LOADS:-closed}
echo "| round | server | load | server CPU µs per $method | context switches per $method | calls/s |"
echo "|---|---|---|---|---|---|"
for round in $(seq "$rounds"); do
  for server in $servers; do
    client=()
    [ "${server#*:}" = lean ] && client=(--transport lean)
    server=${server%%:*}
    shown_server=$server${client:+:lean}
    case $server in
      grpc-callback) "$bin/check_floor_server" 127.0.0.1:0 >"$work/out" 2>&1 & ;;
      grpc-async) "$bin/check_floor_server" 127.0.0.1:0 --async 1 >"$work/out" 2>&1 & ;;
      grpc-sync) "$bin/check_floor_server" 127.0.0.1:0 --sync >"$work/out" 2>&1 & ;;
      nghttp2) "$bin/h2_floor_server" 127.0.0.1:0 >"$work/out" 2>&1 & ;;
      mixs | mixs-2q | mixs-base | mixs-lean)
        mixs=$bin/mixs
        extra=()
        [ "$server" = mixs-2q ] && extra=(--grpc-threads 2)
        [ "$server" = mixs-lean ] && extra=(--lean-address 127.0.0.1:0)
        if [ "$server" = mixs-base ]; then
          mixs=${MIXS_BASE:?mixs-base needs MIXS_BASE, the path of another build\'s mixs}
        fi
        "$mixs" server --address 127.0.0.1:0 --monitoring-port -1 --log-level error \
          --prometheus-address 127.0.0.1:0 "${extra[@]}" >"$work/out" 2>&1 & ;;
      *) echo "unknown server $server" >&2; exit 2 ;;
    esac
    pid=$!
    port=""
    for _ in $(seq 100); do
      if [ "$server" = mixs-lean ]; then
        port=$(grep -oE 'lean port .* on 127\.0\.0\.1:[0-9]+' "$work/out" | grep -oE '[0-9]+$' | head -1 || true)
      else
        port=$(grep -oE '(API\)|listening) on 127\.0\.0\.1:[0-9]+' "$work/out" | grep -oE '[0-9]+$' | head -1 || true)
      fi
      [ -n "$port" ] && break
      sleep 0.05
    done
    [ -n "$port" ] || { echo "$server did not start: $(cat "$work/out")" >&2; exit 1; }
    "$bin/mixc" "$method" -m "127.0.0.1:$port" "${flags[@]}" "${client[@]}" -r $((calls / 8 + 1)) -c 8 >/dev/null
    for load in $loads; do
      load_shape "$load" "$calls"
      n=$N
      cpu0=$(cpu_ticks "$pid")
      cs0=$(switches "$pid")
      out=$("$bin/mixc" "$method" -m "127.0.0.1:$port" "${flags[@]}" "${client[@]}" -r "$n" -c 8 "${PACE[@]}" --json)
      cpu1=$(cpu_ticks "$pid")
      cs1=$(switches "$pid")
      read -r ok rate < <(echo "$out" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["ok"], int(d["rate"]))')
      [ "$ok" = "$n" ] || { echo "round $round $shown_server $load: only $ok of $n calls succeeded" >&2; exit 1; }
      shown=$(load_label "$load")
      /usr/bin/python3 -c "print(f'| $round | $shown_server | $shown | {($cpu1-$cpu0)*1e6/$tick/$n:.1f} | {($cs1-$cs0)/$n:.2f} | $rate |')"
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true
    pid=""
  done
done
