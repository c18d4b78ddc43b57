#!/usr/bin/env bash
# mixs' lean port with --lean-threads THREADS, driven by two mixc processes at once (one
# connection each, 8 calls in flight each, 40,000 Checks each): mixs' CPU per Check from /proc,
# each client's rate, and the CPU ticks of each lean thread (which shows whether the kernel put
# the two connections on one thread or on two). docs/performance.md §23.
# Usage: lean_threads_load.sh THREADS [BUILD_DIR]
set -euo pipefail
t=${1:-1}
build=${2:-build/release}
work=$(mktemp -d)
P=""
trap '[ -n "$P" ] && kill "$P" 2>/dev/null; rm -rf "$work"' EXIT
"$build/bin/mixs" server --address 127.0.0.1:0 --monitoring-port -1 --log-level error --prometheus-address 127.0.0.1:0 --lean-address 127.0.0.1:0 --lean-threads "$t" >"$work/mixs.log" 2>&1 &
P=$!
A=""
for _ in $(seq 50); do A=$(grep -oE 'lean port .* on 127\.0\.0\.1:[0-9]+' "$work/mixs.log" | grep -oE '127[.0-9]+:[0-9]+' || true); [ -n "$A" ] && break; sleep 0.1; done
[ -n "$A" ] || { echo "mixs did not start: $(cat "$work/mixs.log")" >&2; exit 1; }
attrs='source.ip=10.44.1.7,source.uid=kubernetes://productpage-v1-6b746f74dc-9stvs.default,destination.uid=kubernetes://reviews-v2-7d79d5bd5d-4lqhk.default,destination.service.host=reviews.default.svc.cluster.local,request.path=/reviews/0,request.method=GET,context.protocol=http,connection.mtls=true'
"$build/bin/mixc" check -m "$A" -a "$attrs" -r 5000 -c 8 > /dev/null
t0=$(awk '{print $14+$15}' /proc/$P/stat)
declare -A th0; for d in /proc/$P/task/*; do th0[$(cat $d/comm)]=$(awk '{print $14+$15}' $d/stat); done
"$build/bin/mixc" check -m "$A" -a "$attrs" -r 40000 -c 8 --json > "$work/1.json" &
c1=$!
"$build/bin/mixc" check -m "$A" -a "$attrs" -r 40000 -c 8 --json > "$work/2.json" &
c2=$!
wait $c1 $c2
t1=$(awk '{print $14+$15}' /proc/$P/stat)
per=""
for d in /proc/$P/task/*; do n=$(cat $d/comm); case $n in mixs-lean*) per="$per $n=$(( $(awk '{print $14+$15}' $d/stat) - ${th0[$n]:-0} ))";; esac; done
r1=$(/usr/bin/python3 -c "import json;print(int(json.load(open('$work/1.json'))['rate']))"); r2=$(/usr/bin/python3 -c "import json;print(int(json.load(open('$work/2.json'))['rate']))")
/usr/bin/python3 -c "print('threads $t: mixs %.1f us/call, rates $r1 + $r2, ticks by thread:$per' % (($t1-$t0)*1e6/$(getconf CLK_TCK)/80000))"
kill "$P"; wait "$P" 2>/dev/null || true
