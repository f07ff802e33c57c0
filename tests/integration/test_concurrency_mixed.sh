#!/bin/bash
# Concurrency at scale, mixed: 16 clients at once, more than 2000
# enrollments, against lighttpd + scep.cgi (a process per request: only the
# store's file-system atomics keep them apart), then against `scepctl serve`
# (threads), each with a fresh store. The mix (scep_load.py has the details):
# one-use secrets, the spent secret tried again, two keys racing for one
# secret, one PKCSReq sent twice at once, a secret bound to another CN,
# multi-use secrets oversubscribed, manual requests (no challenge: PENDING,
# polled by CertPoll or by sending the PKCSReq again) approved or rejected
# meanwhile by two operator threads running `scepctl approve/reject` on the
# same pending list, and 200 enrollments by micromdm's scepclient. The rest
# of the requests come from scep_client.py, whose CMS code is its own (so a
# bug shared by the server's builder and parser cannot hide).
#
# Checked (scep_load.py): every answer; every serial unique; every SUCCESS
# a client saw is the store's certificate of that serial and the store holds
# no other; every one-use secret issued at most once (audit.log and
# `scepctl secret list --json` uses_left agree); every operator decision
# made exactly once; every audit line a JSON object, one per PKIOperation
# answered and one per decision. Here: `scepctl check` finds nothing, and the
# server's own log counts as many PKIOperations as the clients sent.
#
# SCEP_LOAD_SCALE=N (default 1) multiplies the counts (0.1 for a quick run);
# SCEP_LOAD_ARGS adds scep_load.py options.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enroll_lib.sh"
require_cmd scepclient lighttpd openssl timeout "$PYTHON"
"$PYTHON" -c 'import cryptography' 2>/dev/null || fail "needs the python3 cryptography package (Debian: python3-cryptography)"
HERE=$(cd "$(dirname "$0")" && pwd)
SCALE=${SCEP_LOAD_SCALE:-1}
n() { "$PYTHON" -c 'import sys; print(max(1, round(float(sys.argv[1]) * float(sys.argv[2]))))' "$1" "$SCALE"; }
COUNTS=(--workers 16 --secret "$(n 450)" --race "$(n 40)" --twin "$(n 40)" --refused "$(n 30)"
  --multi "$(n 60)x10+2" --manual "$(n 450)" --scepclient "$(n 200)")
# SCEP_LOAD_ARGS: more scep_load.py options, e.g. "--twin 0 --workers 32".
read -r -a extra <<<"${SCEP_LOAD_ARGS:-}"
COUNTS+=("${extra[@]}")
N_SCEPCLIENT=$(n 200)

# Keys, made once for both runs: 16 for scep_client.py (their transactions
# have random IDs, so keys can be shared), and one per scepclient enrollment
# (scepclient derives its transactionID from the key; 1024 bits, as in
# test_enroll_concurrency.sh, to keep key generation short).
t0=$SECONDS
"$PYTHON" "$HERE/scep_client.py" genkeys "$WORK/keys" 16 2048 || fail "genkeys"
"$PYTHON" "$HERE/scep_client.py" genkeys "$WORK/sc-keys" "$N_SCEPCLIENT" 1024 || fail "genkeys (scepclient)"
log "keys: $((SECONDS - t0)) s"

# run_load MODE URL — a fresh store's CA "load" is already served at URL;
# MODE's figures land in $WORK/MODE/summary.json.
run_load() {
  local mode=$1 url=$2 t=$SECONDS rc=0
  "$PYTHON" "$HERE/scep_load.py" --url "$url" --ca load --store "$STORE" --scepctl "$SCEPCTL" --policy load \
    --keys "$WORK/keys" --scepclient-keys "$WORK/sc-keys" --out "$WORK/$mode" --label "$mode" \
    "${COUNTS[@]}" >"$WORK/$mode.out" 2>&1 || rc=$?
  log "$mode: $(head -n 1 "$WORK/$mode.out")"
  [[ $rc == 0 ]] || fail "$mode: scep_load.py exited $rc:$(printf '\n%s' "$(grep -v '^{' "$WORK/$mode.out" | head -n 30)")"
  log "$mode: $((SECONDS - t)) s in all"
  scepctl check >"$WORK/$mode.check" 2>&1 || fail "$mode: scepctl check: $(tail -n 20 "$WORK/$mode.check")"
  audit_all_json >/dev/null || fail "$mode: audit.log is not JSON lines"
}

# count_requests MODE LOG — after the server stopped (lighttpd buffers its
# access log): LOG, the server's request log, counts one PKIOperation per
# scep_client.py request and one per scepclient enrollment (which needs no
# poll with a secret).
count_requests() {
  local mode=$1 reqlog=$2 pki want all secs
  pki=$(grep -c 'operation=PKIOperation' "$reqlog" || true)
  want=$(json_field "$WORK/$mode/summary.json" pki_requests_python)
  want=$((want + $(json_field "$WORK/$mode/summary.json" scepclient_runs)))
  [[ $pki == "$want" ]] || fail "$mode: the server logged $pki PKIOperations, the clients sent $want"
  all=$(grep -c '"' "$reqlog" || true)
  secs=$(json_field "$WORK/$mode/summary.json" load_seconds)
  log "$mode: FIGURES: $(json_field "$WORK/$mode/summary.json" transactions) enrollments, $all HTTP requests" \
    "($pki PKIOperations) in $secs s: $("$PYTHON" -c 'import sys; print(round(int(sys.argv[1]) / float(sys.argv[2]), 1))' \
      "$all" "$secs") requests/s; secrets made beforehand in $(json_field "$WORK/$mode/summary.json" setup_seconds) s"
}

new_store() {
  STORE="$WORK/$1/store"
  mkdir -p "$WORK/$1"
  scepctl ca create load --subject "CN=Load CA $1" --key-bits 2048 >/dev/null || fail "ca create ($1)"
  legacy_on load # scepclient encrypts with DES
  scepctl policy create load --days 30 --eku clientAuth --min-rsa-bits 1024 >/dev/null || fail "policy create ($1)"
}

# ---- 1. lighttpd + scep.cgi
new_store cgi
start_lighttpd
run_load cgi "$LIGHTTPD_URL"
_stop_pid "$LIGHTTPD_PID"
forget_pid "$LIGHTTPD_PID"
count_requests cgi "$WORK/lighttpd-access.log"

# ---- 2. scepctl serve
new_store serve
start_serve
run_load serve "$SERVE_URL"
_stop_pid "$SERVE_PID"
forget_pid "$SERVE_PID"
count_requests serve "$WORK/serve.log"
log "ok"
