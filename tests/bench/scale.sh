#!/bin/bash
# Store-size figures for BENCHMARKS.md (issue 6): does the cost of a request
# grow with what the store already holds?
#   1. `scepctl pending` (text and --json) with 10,000 pending requests;
#   2. server CPU per enrollment through `scepctl serve`, empty store vs a
#      store already holding 100,000 certificates and transaction records
#      (twice each, alternating);
#   3. the peak RSS of one scep.cgi process per operation.
# Usage: tests/bench/scale.sh BUILD_DIR   (needs scep-bench: -DSCEP_BENCH=ON;
# python3-cryptography, GNU time: Debian package time)
set -euo pipefail
BIN=$(cd "${1:-build}/bin" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d /tmp/scep-scale.XXXXXX)
trap 'pkill -f "scepctl --store $WORK" 2>/dev/null || true; rm -rf "$WORK"' EXIT
S="$BIN/scepctl"
N_PENDING=${SCALE_PENDING:-10000}
N_CERTS=${SCALE_CERTS:-100000}
COUNT=${SCALE_COUNT:-800}

new_store() { # new_store DIR
  "$S" --store "$1" ca create p --subject "CN=Scale CA" >/dev/null
  "$S" --store "$1" policy create dev --days 30 >/dev/null
}
secret() { "$S" --store "$1" secret create --ca p --policy dev --uses 1000 --expires 1d --json |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["secret"])'; }
port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

echo "## 1. scepctl pending with $N_PENDING pending requests"
new_store "$WORK/pending"
python3 "$HERE/scale_fill.py" pending "$WORK/pending" p "$N_PENDING"
for args in "" "--json"; do
  t0=$EPOCHREALTIME
  "$S" --store "$WORK/pending" pending $args >/dev/null
  t1=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" -v o="$args" 'BEGIN { printf "scepctl pending %-6s %.3f s\n", o, b - a }'
done

echo "## 2. enrollment CPU, empty store vs $N_CERTS certificates + transactions"
new_store "$WORK/empty"
new_store "$WORK/full"
python3 "$HERE/scale_fill.py" certs "$WORK/full" p "$N_CERTS"
# Write the fill out first: an enrollment's fsync would otherwise carry the
# journal of 200,000 freshly made files.
sync
for round in 1 2; do
  for st in empty full; do
    p=$(port)
    "$S" --store "$WORK/$st" serve --listen "127.0.0.1:$p" >"$WORK/$st.log" 2>&1 &
    pid=$!
    sleep 1
    printf '%s (round %s): ' "$st" "$round"
    "$BIN/scep-bench" --url "http://127.0.0.1:$p/scep" --ca p --workers 2 --count "$COUNT" --warmup 50 \
      --challenge "$(secret "$WORK/$st")" --server-pid "$pid" | grep -E 'server CPU' || true
    kill "$pid"
    wait "$pid" 2>/dev/null || true
  done
done

echo "## 3. scep.cgi peak RSS"
p=$(port)
"$S" --store "$WORK/empty" serve --listen "127.0.0.1:$p" >/dev/null 2>&1 &
pid=$!
sleep 1
"$BIN/scep-bench" --url "http://127.0.0.1:$p/scep" --ca p --challenge "$(secret "$WORK/empty")" \
  --save-request "$WORK/req.der" >/dev/null
kill "$pid"
# cgi METHOD QUERY [BODY] — runs scep.cgi once as a CGI program; prints its
# peak RSS in KiB (GNU time), its output lands in $WORK/cgi.out.
cgi() {
  env -i SCEP_STORE="$WORK/empty" REQUEST_METHOD="$1" QUERY_STRING="$2" PATH_INFO=/p \
    CONTENT_LENGTH="$([[ -n ${3:-} ]] && stat -c %s "$3" || echo 0)" CONTENT_TYPE=application/x-pki-message \
    /usr/bin/time -f "%M" "$BIN/scep.cgi" <"${3:-/dev/null}" 2>&1 >"$WORK/cgi.out" | tail -n 1
}
echo "PKIOperation (PKCSReq, SUCCESS): $(cgi POST operation=PKIOperation "$WORK/req.der") KiB ($(sed -n 1p "$WORK/cgi.out" | tr -d '\r'))"
echo "GetCACaps: $(cgi GET operation=GetCACaps) KiB"
echo "GetCACert: $(cgi GET 'operation=GetCACert&message=p') KiB"
