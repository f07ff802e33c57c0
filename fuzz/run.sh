#!/bin/sh
# Runs libFuzzer targets for a while each: fuzz/run.sh BUILD_DIR SECONDS JOBS TARGET...
# JOBS targets run at once. Seeds are copied from fuzz/corpus/TARGET into
# BUILD_DIR/fuzz-corpus/TARGET (the committed corpus is never written);
# crashes go to BUILD_DIR/fuzz-findings/TARGET/, logs to
# BUILD_DIR/fuzz-logs/TARGET.log. Exits 1 if any target found something.
set -u
build=$1 seconds=$2 jobs=$3
shift 3
src=$(cd "$(dirname "$0")" && pwd)

# run_one TARGET — fuzzes TARGET; its summary lands in fuzz-logs/TARGET.summary.
run_one() {
  target=$1
  bin=$build/bin/$target
  corpus=$build/fuzz-corpus/$target
  findings=$build/fuzz-findings/$target
  log=$build/fuzz-logs/$target.log
  summary=$build/fuzz-logs/$target.summary
  rm -rf "$corpus" "$findings"
  mkdir -p "$corpus" "$findings" "$(dirname "$log")"
  cp "$src/corpus/$target/"* "$corpus/"
  case $target in
    fuzz_query) dict=fuzz_query.dict ;;
    fuzz_config) dict=fuzz_config.dict ;;
    *) dict=fuzz_der.dict ;;
  esac
  "$bin" -max_total_time="$seconds" -timeout=25 -print_final_stats=1 -dict="$src/dict/$dict" \
    -artifact_prefix="$findings/" "$corpus" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  {
    echo "== $target: ${seconds}s, exit $rc, ${runs:-?} runs, ${speed:-?} exec/s, corpus $(ls "$corpus" | wc -l) files (log: $log)"
    if [ "$rc" -ne 0 ]; then
      grep -E "ERROR|SUMMARY|runtime error|fuzz setup|client input|subjectAltNames|render_policy|changed on its way|not a valid SignedData|status [0-9]+ for" "$log" | head -8
      ls "$findings"
    fi
  } >"$summary"
  return "$rc"
}

failed=""
set -- "$@"
while [ $# -gt 0 ]; do
  batch=""
  i=0
  while [ $# -gt 0 ] && [ "$i" -lt "$jobs" ]; do
    run_one "$1" &
    batch="$batch $1:$!"
    shift
    i=$((i + 1))
  done
  for entry in $batch; do
    target=${entry%%:*}
    wait "${entry#*:}" || failed="$failed $target"
    cat "$build/fuzz-logs/$target.summary"
  done
done
if [ -n "$failed" ]; then
  echo "fuzz: findings in:$failed (inputs under $build/fuzz-findings/; reproduce with $build/bin/TARGET FILE)"
  exit 1
fi
