#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build for N seconds each, starting from (a copy of) its
# committed corpus. New crashes land in fuzz-artifacts/; add minimised ones to the corpus.
set -euo pipefail
build_dir=${1:-build/fuzz}
seconds=${2:-30}
mkdir -p fuzz-artifacts
status=0
for fuzzer in "$build_dir"/bin/*_fuzz; do
  name=$(basename "$fuzzer" _fuzz)
  corpus=tests/fuzz/corpus/$name
  work=$(mktemp -d)
  cp -r "$corpus"/. "$work"/ 2>/dev/null || true
  echo "== $name: fuzzing for ${seconds}s"
  if ! "$fuzzer" -max_total_time="$seconds" -artifact_prefix=fuzz-artifacts/"$name"- \
      -print_final_stats=1 "$work"; then
    status=1
  fi
  rm -rf "$work"
done
exit $status
