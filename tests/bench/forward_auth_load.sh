#!/usr/bin/env bash
# wrk against stock nginx alone and stock nginx + mixs through forward-auth (auth_request), in the
# same run, through the same nginx process: four servers serve the same static file, one plain,
# one with auth_request to mixs' --forward-auth-address on every request through an upstream with
# keepalive (docs/envoy.md's configuration), one the same without keepalive (a new connection per
# subrequest), and one with the cached variant of docs/envoy.md (proxy_cache on the auth
# subrequest). A real mixs serves the policy of tests/proxy-filter/testdata (list, denier,
# memquota rules). Each round runs plain, auth, auth_noka, cached for DURATION each; the summary
# gives each one's throughput ratio to the plain run of its round, and the CPU (utime+stime from
# /proc) of nginx and of mixs per request. A last run per round sends wrk's calls straight to mixs'
# forward-auth port (the headers nginx would send, kept-alive connections): mixs' own CPU per call.
# Usage: forward_auth_load.sh [BUILD_DIR] [DURATION] [CONNECTIONS] [ROUNDS]
# FORWARD_AUTH_THREADS sets mixs' --forward-auth-threads (default: mixs' default).
set -euo pipefail
build=$(cd "${1:-build/release}" && pwd)
duration=${2:-5s}
connections=${3:-16}
rounds=${4:-2}
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks_per_second=$(getconf CLK_TCK)

fa=$(free_port)
"$build/bin/mixs" server --address 127.0.0.1:0 --monitoring-port -1 --log-level error \
  --forward-auth-address "127.0.0.1:$fa" ${FORWARD_AUTH_THREADS:+--forward-auth-threads "$FORWARD_AUTH_THREADS"} --config-dir "$src/tests/proxy-filter/testdata" \
  >"$work/mixs.log" 2>&1 &
pids+=($!)
mixs_pid=$!
for _ in $(seq 100); do
  grep -q "API) on" "$work/mixs.log" && break
  sleep 0.1
done

plain=$(free_port); auth=$(free_port); auth_noka=$(free_port); cached=$(free_port)
user=""
if [ "$(id -u)" = 0 ]; then user="user root;"; fi
mkdir -p "$work/logs" "$work/cache" "$work/www"
echo ok >"$work/www/index.html"
auth_location() {  # $1: upstream; $2: extra directives of the auth subrequest
  cat <<LOC
    location = /_mixs {
      internal;
      proxy_pass http://$1;
      $2
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI \$request_uri;
      proxy_set_header X-Original-Method \$request_method;
      proxy_set_header X-Real-IP \$remote_addr;
      proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Forwarded-Host \$http_host;
    }
LOC
}
cat >"$work/nginx.conf" <<CONF
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
  proxy_cache_path $work/cache keys_zone=mixs:1m max_size=10m inactive=10m;
  root $work/www;
  upstream mixs { server 127.0.0.1:$fa; keepalive 16; }
  server { listen 127.0.0.1:$plain; location / { } }
  server {
    listen 127.0.0.1:$auth;
$(auth_location mixs "proxy_http_version 1.1; proxy_set_header Connection \"\";")
    location / { auth_request /_mixs; }
  }
  server {
    listen 127.0.0.1:$auth_noka;
$(auth_location "127.0.0.1:$fa" "")
    location / { auth_request /_mixs; }
  }
  server {
    listen 127.0.0.1:$cached;
$(auth_location mixs "proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_cache mixs; proxy_cache_key \"\$request_method \$scheme://\$http_host\$request_uri \$remote_addr\";")
    location / { auth_request /_mixs; }
  }
}
CONF
/usr/sbin/nginx -c "$work/nginx.conf" -p "$work" &
pids+=($!)
nginx_master=$!
sleep 0.5
nginx_worker=$(pgrep -P "$nginx_master" | head -1)

run() {  # $1 name, $2 port, [wrk options]: prints "name rate nginx_us mixs_us non2xx"
  local name=$1 port=$2 n0 m0 out rate reqs non2xx n1 m1
  shift 2
  n0=$(cpu_ticks "$nginx_worker"); m0=$(cpu_ticks "$mixs_pid")
  out=$(wrk -t1 -c"$connections" -d"$duration" "$@" "http://127.0.0.1:$port/")
  n1=$(cpu_ticks "$nginx_worker"); m1=$(cpu_ticks "$mixs_pid")
  rate=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  awk -v name="$name" -v rate="$rate" -v reqs="$reqs" -v dn=$((n1 - n0)) -v dm=$((m1 - m0)) \
    -v hz="$ticks_per_second" -v bad="${non2xx:-0}" \
    'BEGIN { printf "%s %.0f %.2f %.2f %d\n", name, rate, dn / hz * 1e6 / reqs, dm / hz * 1e6 / reqs, bad }'
}

for name in plain auth auth_noka cached; do  # warm-up, unrecorded
  port=${!name}; wrk -t1 -c"$connections" -d1s "http://127.0.0.1:$port/" >/dev/null
done
echo "round server requests/s nginx_worker_us_per_req mixs_us_per_req non2xx ratio_to_plain"
for r in $(seq "$rounds"); do
  base=""
  for name in plain auth auth_noka cached; do
    read -r n rate nus mus bad < <(run "$name" "${!name}")
    [ -z "$base" ] && base=$rate
    awk -v r="$r" -v n="$n" -v rate="$rate" -v nus="$nus" -v mus="$mus" -v bad="$bad" -v base="$base" \
      'BEGIN { printf "%s %s %s %s %s %s %.3f\n", r, n, rate, nus, mus, bad, rate / base }'
  done
  # mixs alone: wrk sends the calls nginx would, on kept-alive connections (no nginx involved).
  read -r n rate nus mus bad < <(run mixs_direct "$fa" -H "X-Original-URI: /index.html" \
    -H "X-Original-Method: GET" -H "X-Real-IP: 127.0.0.1" -H "X-Forwarded-For: 127.0.0.1")
  echo "$r $n $rate - $mus $bad -"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
