#!/usr/bin/env bash
# wrk against plain nginx and nginx + the mixer module, in the same run, through the same nginx
# process and the same upstream (a static server block): two front servers proxy to it, one
# plain, one with mixer_check and mixer_report on. A real mixs serves the policy of
# tests/proxy-filter/testdata (list, denier, memquota rule, prometheus).
#   cache-hit workload: the same request every time (answered from the check cache);
#   cache-miss workload: every request a new path (a Check RPC to mixs per request).
# A third front server runs mixer_check without mixer_report (the Check's share of the cost).
# Each workload runs plain / module / plain / module; each run is bounded by DURATION.
# ROUNDS (default "1 2") and MISS_ROUNDS (default ROUNDS) set how many rounds of each workload
# run (MISS_ROUNDS=none: no cache-miss runs; ROUNDS=none with MISS_ROUNDS set: cache misses only); the summary gives each module server's throughput ratio to the plain run of its own round
# (adjacent in time, so a load burst on a shared machine hits both), and their median.
# CPU is read per thread from /proc/PID/task: the worker's main thread, the library's threads
# (named mixer-report and mixer-grpc-cq where the build names them), and mixs, per request served.
# PERF_RUN="cache miss / nginx + mixer" (a run's label) records that run's nginx worker with
# perf record -g into ${PERF_OUT:-perf.data}.ROUND.
# BATCH=N sets mixer_report_batch_max_entries (the module's default: 100, Istio's).
# PIN=1 runs nginx (its worker, the module's threads, the upstream block) on CPU 0 and mixs and wrk
# on CPU 1, so the client and mixs do not share the worker's core.
# LEAN=1 points the module at mixs' lean port (--lean-address) instead of its gRPC port.
# TRANSPORT=lean sets mixer_transport lean (the module's libnghttp2 client; default grpc).
# Usage: nginx_mixer_load.sh [BUILD_DIR] [DURATION] [CONNECTIONS]
set -euo pipefail
on_server=()
on_client=()
if [ "${PIN:-0}" = 1 ]; then
  on_server=(taskset -c 0)
  on_client=(taskset -c 1)
fi
build=$(cd "${1:-build/release}" && pwd)
duration=${2:-10s}
connections=${3:-16}
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

lean=()
[ "${LEAN:-0}" = 1 ] && lean=(--lean-address 127.0.0.1:0)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"${on_client[@]}" "$build/bin/mixs" server --address 127.0.0.1:0 --monitoring-port -1 --log-level error \
  --config-dir "$src/tests/proxy-filter/testdata" "${lean[@]}" >"$work/mixs.log" 2>&1 &
pids+=($!)
mixs_pid=$!
for _ in $(seq 100); do
  grep -q "configuration" "$work/mixs.log" && break
  sleep 0.1
done
if [ "${LEAN:-0}" = 1 ]; then
  mixs=$(grep -oE "lean port .* on 127.0.0.1:[0-9]+" "$work/mixs.log" | grep -oE "127[.0-9]+:[0-9]+")
else
  mixs=$(grep -o "API) on 127.0.0.1:[0-9]*" "$work/mixs.log" | cut -d' ' -f3)
fi

upstream=$(free_port); plain=$(free_port); module=$(free_port); checkonly=$(free_port)
user=""
if [ "$(id -u)" = 0 ]; then user="user root;"; fi
mkdir -p "$work/logs"
cat >"$work/nginx.conf" <<CONF
load_module $build/modules/ngx_http_mixer_module.so;
$user
daemon off;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/body; proxy_temp_path $work/proxy; fastcgi_temp_path $work/fastcgi;
  uwsgi_temp_path $work/uwsgi; scgi_temp_path $work/scgi;
  mixer_server $mixs;
  ${BATCH:+mixer_report_batch_max_entries $BATCH;}
  ${TRANSPORT:+mixer_transport $TRANSPORT;}
  upstream backend { server 127.0.0.1:$upstream; keepalive 32; }
  server { listen 127.0.0.1:$upstream; location / { return 200 "upstream ok\n"; } }
  server {
    listen 127.0.0.1:$plain;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
  server {
    listen 127.0.0.1:$module;
    mixer_check on;
    mixer_report on;
    mixer_attribute destination.service productpage.default.svc.cluster.local;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
  server {
    listen 127.0.0.1:$checkonly;
    mixer_check on;
    mixer_attribute destination.service productpage.default.svc.cluster.local;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
CONF
"${on_server[@]}" /usr/sbin/nginx -p "$work" -c "$work/nginx.conf" >"$work/nginx.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$module/" && break
  sleep 0.1
done
nginx_master=$!

cat >"$work/unique.lua" <<'LUA'
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/miss/" .. math.random(1, 1000000000) .. "/" .. n,
                    {["x-user"] = "alice"})
end
LUA

tick=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
worker_pid() { pgrep -P "$nginx_master" | head -1; }
# One line per thread of process $1: tid, name, utime + stime in ticks, voluntary context switches
# (the thread went to sleep: a wake-up each), and the scheduler's exact on-CPU time in ns
# (/proc/PID/task/TID/schedstat). The name is what follows "(" up to the last ")" in
# /proc/PID/task/TID/stat; the fields after it are counted from there.
# utime + stime are sampled at the kernel's tick (CONFIG_TICK_CPU_ACCOUNTING, 250 Hz here): a
# thread that runs in short bursts is charged whole ticks when one lands in a burst, which over a
# run is right on average only if its bursts are independent of the tick. schedstat is not sampled.
threads() {
  local t
  for t in /proc/"$1"/task/*; do
    sed -E 's/^([0-9]+) \((.*)\) (.*)$/\1 \2|\3/' "$t/stat" 2>/dev/null |
      awk -F'|' -v sw="$(awk '/^voluntary_ctxt_switches/ {print $2}' "$t/status" 2>/dev/null)" \
        -v ns="$(cut -d' ' -f1 "$t/schedstat" 2>/dev/null)" '
        { split($1, h, " "); split($2, f, " "); sub(/^[0-9]+ /, "", $1); gsub(/ /, "_", $1)
          print h[1], $1, f[12] + f[13], sw + 0, ns + 0 }'
  done
}
# CPU µs per request per thread between two threads() snapshots ($1, $2) over $3 requests: the
# worker's main thread (tid = pid $4), then the others grouped by thread name, then their sum;
# from the ticks, then from schedstat ("on CPU").
per_thread() {
  awk -v n="$3" -v pid="$4" -v tick="$tick" '
    FNR == NR { before[$1] = $3; switches[$1] = $4; ns[$1] = $5; next }
    { d = ($3 - before[$1]) * 1e6 / tick / n
      e = ($5 - ns[$1]) / 1e3 / n
      if ($1 == pid) { main += d; emain += e }
      else { lib += d; elib += e; by[$2] += d; eby[$2] += e; sw[$2] += $4 - switches[$1] } }
    END {
      printf "main %.2f |", main
      for (k in by) printf " %s %.2f", k, by[k]
      printf " | library %.2f | sleeps per 1000 requests:", lib
      for (k in sw) if (sw[k] > 0) printf " %s %.1f", k, sw[k] * 1000 / n
      printf " | on CPU: main %.2f |", emain
      for (k in eby) printf " %s %.2f", k, eby[k]
      printf " | library %.2f\n", elib
    }' "$1" "$2"
}

run() {  # label port [script]
  local args=(-t1 "-c$connections" "-d$duration" --latency -H "x-user: alice")
  if [ -n "${3:-}" ]; then args+=(-s "$3"); fi
  local w m0 n0 out rps p50 p99 m1 n1 requests split
  w=$(worker_pid)
  threads "$w" >"$work/t0"
  m0=$(cpu "$mixs_pid"); n0=$(cpu "$w")
  local perf=""
  if [ -n "${PERF_RUN:-}" ] && [ "$1" = "$PERF_RUN" ]; then
    perf record -q -g -F 2000 -p "$w" -o "${PERF_OUT:-perf.data}.$round" 2>/dev/null &
    perf=$!
  fi
  out=$("${on_client[@]}" wrk "${args[@]}" "http://127.0.0.1:$2/")
  if [ -n "$perf" ]; then kill -INT "$perf"; wait "$perf" || true; fi
  m1=$(cpu "$mixs_pid"); n1=$(cpu "$w")
  threads "$w" >"$work/t1"
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  split=$(per_thread "$work/t0" "$work/t1" "$requests" "$w")
  printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %.2f |\n" "$1" "$rps" "$p50" "$p99" \
    "$(( (n1 - n0) * 1000 / tick ))" "$(( (m1 - m0) * 1000 / tick ))" "${non2xx:-0}" \
    "$(echo "$split" | awk '{print $2}')" "$(echo "$split" | awk -F'library ' '{print $2 + 0}')" \
    "$(awk -v m="$((m1 - m0))" -v n="$requests" -v t="$tick" 'BEGIN { print m * 1e6 / t / n }')"
  echo "$round|$1|$rps" >>"$work/rps"
  echo "$round | $1 | $split" >>"$work/threads"
}

# Per round: each module server's requests/s over the plain server's of the same round.
summary() {
  awk -F'|' '
    { split($2, w, " / "); key = $1 SUBSEP w[1]
      if (w[2] == "plain nginx") plain[key] = $3; else { n++; k[n] = key; label[n] = $2; rps[n] = $3 } }
    END {
      for (i = 1; i <= n; i++) if (plain[k[i]] > 0) {
        r = 100 * rps[i] / plain[k[i]]; list[label[i]] = list[label[i]] sprintf(" %.0f", r)
        c[label[i]]++; v[label[i], c[label[i]]] = r
      }
      for (l in c) {
        m = c[l]
        for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++)
          if (v[l, j] < v[l, i]) { t = v[l, i]; v[l, i] = v[l, j]; v[l, j] = t }
        med = m % 2 ? v[l, (m + 1) / 2] : (v[l, m / 2] + v[l, m / 2 + 1]) / 2
        printf "%s: ratio to plain nginx per round (%%):%s; median %.1f%%\n", l, list[l], med
      }
    }' "$work/rps" | sort
}

echo "nginx $(/usr/sbin/nginx -v 2>&1 | cut -d/ -f2), wrk -t1 -c$connections -d$duration, $(nproc) cores, pinned ${PIN:-0}, lean port ${LEAN:-0}, transport ${TRANSPORT:-grpc}, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F)"
echo "| workload / server | requests/s | p50 | p99 | nginx worker CPU ms | mixs CPU ms | non-2xx | main thread µs/req | library threads µs/req | mixs µs/req |"
echo "|---|---|---|---|---|---|---|---|---|---|"
# Warm-up, not recorded: channels connected, the check cache filled, sent records to reuse.
for port in $plain $module $checkonly; do
  "${on_client[@]}" wrk -t1 "-c$connections" -d1s -H "x-user: alice" "http://127.0.0.1:$port/" >/dev/null
done
for round in ${ROUNDS:-1 2}; do
  if [ "$round" = none ]; then continue; fi
  run "cache hit / plain nginx" "$plain"
  run "cache hit / nginx + mixer" "$module"
  run "cache hit / nginx + mixer, check only" "$checkonly"
done
for round in ${MISS_ROUNDS:-${ROUNDS:-1 2}}; do
  if [ "$round" = none ]; then continue; fi
  run "cache miss / plain nginx" "$plain" "$work/unique.lua"
  run "cache miss / nginx + mixer" "$module" "$work/unique.lua"
done
summary
echo "CPU µs per request per thread of the nginx worker (round | run | main | other threads by name | their sum | voluntary context switches per 1,000 requests by thread name):"
cat "$work/threads"
grep -E "emerg|alert|crit" "$work/logs/error.log" | head -5 || true
