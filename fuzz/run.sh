#!/bin/sh
# Runs libFuzzer targets for a while each: fuzz/run.sh BUILD_DIR SECONDS TARGET...
# Seeds are copied from fuzz/corpus/TARGET into BUILD_DIR/fuzz-corpus/TARGET (the
# committed corpus is never written); crashes go to BUILD_DIR/fuzz-findings/TARGET/,
# logs to BUILD_DIR/fuzz-logs/TARGET.log. Exits 1 if any target found something.
set -u
build=$1 seconds=$2
shift 2
src=$(cd "$(dirname "$0")" && pwd)
failed=""
for target in "$@"; do
  bin=$build/bin/$target
  corpus=$build/fuzz-corpus/$target
  findings=$build/fuzz-findings/$target
  log=$build/fuzz-logs/$target.log
  rm -rf "$corpus"
  mkdir -p "$corpus" "$findings" "$(dirname "$log")"
  cp "$src/corpus/$target/"* "$corpus/"
  case $target in
    fuzz_query) dict=fuzz_query.dict ;;
    fuzz_config) dict=fuzz_config.dict ;;
    *) dict=fuzz_der.dict ;;
  esac
  echo "== $target: ${seconds}s"
  "$bin" -max_total_time="$seconds" -timeout=25 -print_final_stats=1 -dict="$src/dict/$dict" \
    -artifact_prefix="$findings/" "$corpus" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  echo "   exit $rc, ${runs:-?} runs, ${speed:-?} exec/s, corpus $(ls "$corpus" | wc -l) files (log: $log)"
  if [ "$rc" -ne 0 ]; then
    failed="$failed $target"
    grep -E "ERROR|SUMMARY|runtime error|fuzz setup|client input|subjectAltNames|render_policy|changed on its way|not a valid SignedData|status [0-9]+ for" "$log" | head -8
    ls "$findings"
  fi
done
if [ -n "$failed" ]; then
  echo "fuzz: findings in:$failed (inputs under $build/fuzz-findings/; reproduce with $build/bin/TARGET FILE)"
  exit 1
fi
