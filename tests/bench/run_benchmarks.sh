#!/usr/bin/env bash
# Runs every benchmark of a build: the Google Benchmark programs, then the loopback load test.
# Results are printed; docs/performance.md records them with the machine and date.
set -euo pipefail
build=${1:-build/release}
for b in "$build"/bin/*_bench; do
  echo "== $(basename "$b")"
  "$b" --benchmark_min_time=0.5
done
echo "== check_load"
bash tests/bench/check_load.sh "$build"
if [ -f "$build/modules/ngx_http_mixer_module.so" ] && command -v wrk >/dev/null; then
  echo "== nginx_mixer_load"
  bash tests/bench/nginx_mixer_load.sh "$build"
fi
