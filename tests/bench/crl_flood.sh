#!/bin/bash
# crl_flood.sh BIN_DIR [LABEL] — does a flood of GetCRL slow enrollments down?
# (issue 15 item 13; figures in BENCHMARKS.md). A fresh store with an RSA-2048
# CA holding CRL_REVOKED revoked certificates and their CRL (`scepctl crl`),
# `scepctl serve` from BIN_DIR pinned to CPU 1, the clients (scep-bench) to
# CPU 0. First a GetCRL-only cell (GetCRL/s, server CPU per GetCRL); then, in
# each of ROUNDS rounds, the enrollment p50 alone and again while CRL_FLOOD
# connections send GetCRL without pause, and the ratio of the two. The
# machine (CPU flags, openssl version, load average) is printed beside the
# figures: compare runs of one session only. With CRL_REFERENCE (default
# cacert) each round also floods with that mode (GetCACert, answered on the
# event loop) for a reference: what any flood of cheap requests costs.
#
#   tests/bench/crl_flood.sh build/bin after
#   OUT=/tmp/crl.txt tests/bench/crl_flood.sh /tmp/old/build/bin before
#
# Environment [default]: CRL_REVOKED [3000], CRL_FLOOD [16] connections,
# ENROLL_WORKERS [8], ENROLL_COUNT [300] per cell, ROUNDS [2], CRL_SECONDS [5]
# (the GetCRL-only cell), CRL_REFERENCE [cacert; empty: none], SCEP_BENCH [this tree's build/bin/scep-bench, which
# has --mode crl], OUT [also append the report to this file].
set -euo pipefail
BIN=$(cd "${1:?usage: crl_flood.sh BIN_DIR [LABEL]}" && pwd)
LABEL=${2:-$(basename "$(dirname "$BIN")")}
HERE=$(cd "$(dirname "$0")" && pwd)
BENCH=${SCEP_BENCH:-$HERE/../../build/bin/scep-bench}
REVOKED=${CRL_REVOKED:-3000} FLOOD=${CRL_FLOOD:-16} W=${ENROLL_WORKERS:-8} N=${ENROLL_COUNT:-300}
ROUNDS=${ROUNDS:-2} CRL_SECONDS=${CRL_SECONDS:-5} REFERENCE=${CRL_REFERENCE-cacert}
D=$(mktemp -d /tmp/scep-crl-flood.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$D"
}
trap cleanup EXIT
S=(taskset -c 1 "$BIN/scepctl" --store "$D/s")
report() { echo "$*"; [[ -z ${OUT:-} ]] || echo "$*" >>"$OUT"; }
field() { python3 -c 'import json, sys; print(round(json.loads(sys.argv[1])[sys.argv[2]], 2))' "$1" "$2"; }

"${S[@]}" ca create bench --subject "CN=bench" --key-bits 2048 --default >/dev/null
"${S[@]}" policy create device --days 30 >/dev/null
python3 "$HERE/scale_fill.py" revoked "$D/s" bench "$REVOKED"
"${S[@]}" crl bench >/dev/null
sync
need=$(((ROUNDS * 3 + 1) * (N + 2 * W)))
ch=()
for ((n = 0; n < need; n += 1000)); do
  ch+=(--challenge "$("${S[@]}" --json secret create --ca bench --policy device --uses 1000 |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["secret"])')")
done
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${S[@]}" serve --listen "127.0.0.1:$port" >"$D/serve.log" 2>&1 &
serve=$!
pids+=("$serve")
for _ in $(seq 50); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
URL=http://127.0.0.1:$port/scep
B=(taskset -c 0 "$BENCH" --url "$URL" --ca bench --json --server-pid "$serve")

report "## crl_flood $LABEL ($(date -u +%Y-%m-%dT%H:%MZ))"
report "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
  "CPU flags: $(grep -o -w 'avx512[a-z]*\|avx2' /proc/cpuinfo | sort -u | tr '\n' ' ')"
report "$(openssl version); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
report "store: $REVOKED revoked certificates, crl.der $(stat -c %s "$D/s/ca/bench/crl.der") bytes"

j=$("${B[@]}" --mode crl --workers "$FLOOD" --count 10000000 --seconds "$CRL_SECONDS" --label crl-alone)
report "GetCRL alone, $FLOOD connections, ${CRL_SECONDS} s: $(field "$j" per_s)/s, p50 $(field "$j" p50_ms) ms," \
  "p99 $(field "$j" p99_ms) ms, server CPU $(field "$j" server_cpu_ms_per_req) ms/GetCRL, $(field "$j" failed) failed"

enroll() { "${B[@]}" --workers "$W" --count "$N" --warmup "$((2 * W))" "${ch[@]}" --label "$1"; }
# answered OPERATION — how many OPERATION requests serve has logged.
answered() { grep -c "operation=$1" "$D/serve.log" || true; }
# flooded MODE — an enrollment cell while FLOOD connections send MODE requests.
flooded() {
  local op before
  case $1 in crl) op=GetCRL ;; cacert) op=GetCACert ;; caps) op=GetCACaps ;; *) op=$1 ;; esac
  before=$(answered "$op")
  "${B[@]}" --mode "$1" --workers "$FLOOD" --count 10000000 --seconds 3600 --label flood >/dev/null 2>&1 &
  local flood=$!
  pids+=("$flood")
  # The client takes seconds to start (RSA keys on a busy CPU): the cell
  # begins once the server has answered a round of the flood.
  for _ in $(seq 1200); do (($(answered "$op") >= before + 2 * FLOOD)) && break; sleep 0.1; done
  enroll "flooded-$1"
  kill "$flood" 2>/dev/null || true
  wait "$flood" 2>/dev/null || true
}
cell() { echo "$(field "$1" p50_ms) ms (p99 $(field "$1" p99_ms), $(field "$1" per_s)/s, $(field "$1" failed) failed)"; }
ratio() { python3 -c "print(round($(field "$2" p50_ms) / $(field "$1" p50_ms), 2))"; }
for ((round = 1; round <= ROUNDS; round++)); do
  alone=$(enroll alone)
  crl=$(flooded crl)
  line="round $round, $W workers x $N enrollments: p50 alone $(cell "$alone"); with the GetCRL flood $(cell "$crl"):"
  line+=" ratio $(ratio "$alone" "$crl")"
  if [[ -n $REFERENCE ]]; then
    ref=$(flooded "$REFERENCE")
    line+="; with a $REFERENCE flood $(cell "$ref"): ratio $(ratio "$alone" "$ref")"
  fi
  report "$line"
done
report "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
