#!/bin/bash
# Crashes: `scepctl serve` is killed with SIGKILL at random moments while
# micromdm scepclient enrolls, while `scepctl approve` issues certificates for
# pending requests and while `scepctl crl` signs CRLs — ROUNDS times (default
# 100; SCEP_CRASH_ROUNDS overrides; test_kill_modes adds 300 kills of
# concurrent enrollments in three front ends). Afterwards `scepctl check --repair`
# leaves a store `scepctl check` passes, every certificate a client or an
# operator was told about is in it, no one-use secret issued twice, and the
# service still enrolls.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enroll_lib.sh"
require_cmd scepclient openssl

ROUNDS=${SCEP_CRASH_ROUNDS:-100}
PARKED=20
STORE="$WORK/store"
scepctl ca create main --subject "CN=Crash Test CA" >/dev/null || fail "ca create"
legacy_on main
scepctl policy create dev --days 30 >/dev/null || fail "policy create"
for ((i = 0; i < 2 * ROUNDS + 1; i++)); do
  scepctl secret create --ca main --policy dev --expires 1d --json || fail "secret create"
done >"$WORK/secrets.json"
mapfile -t SECRETS < <("$PYTHON" -c '
import json, sys
dec = json.JSONDecoder()
text, pos = open(sys.argv[1]).read(), 0
while pos < len(text.rstrip()):
    obj, pos = dec.raw_decode(text, pos)
    print(obj["secret"])
    while pos < len(text) and text[pos].isspace(): pos += 1' "$WORK/secrets.json")
[[ ${#SECRETS[@]} == $((2 * ROUNDS + 1)) ]] || fail "made ${#SECRETS[@]} secrets"

wait_pending() {
  local n i
  for ((i = 0; i < 200; i++)); do
    n=$(scepctl pending --json | "$PYTHON" -c 'import json, sys; print(len(json.load(sys.stdin)))')
    [[ $n -ge $1 ]] && return 0
    sleep 0.1
  done
  fail "want $1 pending requests, have $n"
}

# Park PARKED requests (scepclient without a challenge) for the approvals.
start_serve
parked=()
for ((i = 0; i < PARKED; i++)); do
  mkdir -p "$WORK/parked/$i"
  # It waits 30 s after PENDING before re-sending: the timeout ends it.
  (cd "$WORK/parked/$i" && exec timeout 10 scepclient -server-url "$SERVE_URL" -cn "parked-$i" \
    -private-key key.pem -certificate cert.pem >out 2>&1) &
  parked+=($!)
  ((i % 10 == 9)) && wait_pending $((i + 1))
done
wait_pending "$PARKED"
kill "${parked[@]}" 2>/dev/null || true
wait "${parked[@]}" 2>/dev/null || true
log "$PARKED requests parked (${SECONDS}s)"
mapfile -t PENDING < <(scepctl pending --json | "$PYTHON" -c '
import json, sys
for p in json.load(sys.stdin): print(p["sha256"])')
kill -KILL "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null || true
forget_pid "$SERVE_PID"

# One round: serve + two enrolling clients + an approval + a CRL, all cut
# short by SIGKILL after a random 0-399 ms.
PORT=$SERVE_PORT
URL="http://127.0.0.1:$PORT/scep"
mkdir -p "$WORK/clients" "$WORK/approvals"
for ((r = 0; r < ROUNDS; r++)); do
  "$SCEPCTL" --store "$STORE" serve --listen "127.0.0.1:$PORT" >>"$WORK/serve.log" 2>&1 &
  serve=$!
  wait_for_port "$PORT" "$serve"
  clients=()
  for k in 0 1; do
    dir="$WORK/clients/$r-$k"
    mkdir -p "$dir"
    (cd "$dir" && exec timeout 20 scepclient -server-url "$URL" -challenge "${SECRETS[2 * r + k]}" -cn "crash-$r-$k" \
      -private-key key.pem -certificate cert.pem >out 2>&1) &
    clients+=($!)
  done
  fp=${PENDING[r % PARKED]}
  "$SCEPCTL" --store "$STORE" approve "$fp" >"$WORK/approvals/$r.out" 2>&1 &
  approve=$!
  "$SCEPCTL" --store "$STORE" crl main >/dev/null 2>&1 &
  crl=$!
  sleep "0.$(printf '%03d' $((RANDOM % 400)))"
  kill -KILL "$serve" "$approve" "$crl" 2>/dev/null || true
  wait "$serve" "$approve" "$crl" 2>/dev/null || true
  wait "${clients[@]}" 2>/dev/null || true
done
log "$ROUNDS rounds of SIGKILL survived (${SECONDS}s)"

# The store after the crashes: what is left is repairable, then clean.
scepctl check >"$WORK/check0.out" 2>&1 || log "before repair: $(grep -c '' "$WORK/check0.out") line(s) of findings"
scepctl check --repair >"$WORK/repair.out" 2>&1 || fail "check --repair left problems: $(cat "$WORK/repair.out")"
scepctl check >"$WORK/check.out" 2>&1 || fail "check after repair: $(cat "$WORK/check.out")"

# Every certificate a client received, and every approval scepctl reported, is in the store.
scepctl certs --json >"$WORK/certs.json" || fail "scepctl certs"
stored() { "$PYTHON" -c 'import json, sys; sys.exit(0 if any(c["serial"] == sys.argv[2] for c in json.load(open(sys.argv[1]))) else 1)' "$WORK/certs.json" "$1"; }
received=0
for cert in "$WORK"/clients/*/cert.pem; do
  [[ -s $cert ]] || continue
  serial=$(cert_serial "$cert")
  stored "$serial" || fail "a client received $serial, which is not in the store"
  ((received++)) || true
done
approved=0
for out in "$WORK"/approvals/*.out; do
  serial=$(sed -n 's/^approved: certificate \([0-9A-F]*\) .*/\1/p' "$out")
  [[ -n $serial ]] || continue
  stored "$serial" || fail "scepctl approve reported $serial, which is not in the store"
  ((approved++)) || true
done
((received > 0)) || fail "no client ever received a certificate: the kills came too early"
log "clients received $received certificates, operators approved $approved; all are stored"

# A one-use secret never issued twice, and every audit line is JSON.
audit_all_json >/dev/null || fail "audit.log is not JSON lines"
twice=$(audit outcome=issued | "$PYTHON" -c '
import collections, json, sys
c = collections.Counter(json.loads(l)["secret_id"] for l in sys.stdin if json.loads(l)["secret_id"])
print(sum(1 for n in c.values() if n > 1))')
[[ $twice == 0 ]] || fail "$twice secrets issued more than once"

# The service still works.
start_serve
scepclient_run "$WORK/after" "$SERVE_URL" "${SECRETS[2 * ROUNDS]}" after-crashes
expect_scepclient_ok "$WORK/after"
scepctl crl main >"$WORK/final.crl" || fail "scepctl crl after the crashes"
scepctl export main >"$WORK/ca.pem"
openssl crl -in "$WORK/final.crl" -CAfile "$WORK/ca.pem" -noout 2>/dev/null || fail "the final CRL does not verify"
log "ok"
