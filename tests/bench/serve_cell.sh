#!/bin/bash
# serve_cell.sh BIN_DIR LABEL WORKERS COUNT [trace]
# One `scepctl serve` enrollment cell for before/after comparisons of two
# builds in one run (BENCHMARKS.md, issue 14): a fresh store, RSA-2048, two
# 1000-use secrets, serve pinned to CPU 1 and scep-bench (from SCEP_BENCH,
# default build/bin/scep-bench) to CPU 0; prints scep-bench's JSON line. With
# "trace", strace -c counts the server's file system calls instead (its CPU
# figures are then strace's, not the server's).
#   tests/bench/serve_cell.sh /tmp/old/build/bin before 8 600
#   tests/bench/serve_cell.sh build/bin after 1 200 trace
set -eu
BIN=$1 LABEL=$2 W=$3 N=$4 TRACE=${5:-}
BENCH=${SCEP_BENCH:-$(cd "$(dirname "$0")/../.." && pwd)/build/bin/scep-bench}
D=$(mktemp -d)
"$BIN/scepctl" --store "$D/s" ca create bench --subject "CN=bench" --key-bits 2048 --default >/dev/null
"$BIN/scepctl" --store "$D/s" policy create device --days 30 >/dev/null
ch=()
for i in 1 2; do ch+=("$("$BIN/scepctl" --store "$D/s" --json secret create --ca bench --policy device --uses 1000 | python3 -c 'import json,sys;print(json.load(sys.stdin)["secret"])')"); done
port=$((20000 + RANDOM % 20000))
taskset -c 1 "$BIN/scepctl" --store "$D/s" serve --listen 127.0.0.1:$port >/dev/null 2>&1 &
pid=$!
for i in $(seq 50); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
if [[ -n $TRACE ]]; then
  strace -f -qq -c -o "$D/strace" -p $pid & tpid=$!
  sleep 1
fi
out=$(taskset -c 0 "$BENCH" --url http://127.0.0.1:$port/scep --ca bench --workers $W --count $N --warmup 0 --challenge "${ch[@]}" --server-pid $pid --json --label "$LABEL")
[[ -n $TRACE ]] && { kill -INT $tpid; wait $tpid 2>/dev/null || true; }
kill $pid; wait $pid 2>/dev/null || true
echo "$out"
if [[ -n $TRACE ]]; then
  echo "== $LABEL syscalls for $N enrollments (+ GetCACert):"
  grep -E "fsync|fdatasync|rename|link|openat|unlink|write$|flock|pread" "$D/strace" || true
  echo "inodes: $(find "$D/s" -type f | wc -l) files, $(find "$D/s" -type f -links 1 | wc -l) with one link"
fi
rm -rf "$D"
