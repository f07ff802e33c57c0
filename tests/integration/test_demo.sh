#!/bin/bash
# share/demo.sh (make -f Makefile.dist demo): it serves where DEMO_LISTEN
# says and prints that URL, and the enrollment commands it prints work as
# printed -- micromdm's scepclient verbatim, certmonger's with only what a
# test must change (-s for the test's session daemon, key and certificate
# paths in the work directory, and --wait).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enroll_lib.sh"
require_cmd scepclient getcert dbus-daemon /usr/lib/certmonger/certmonger-session openssl "$PYTHON"

STORE="$WORK/store"
PORT=$(free_port)
start_bg "$WORK/demo.out" env SCEPCTL="$SCEPCTL" DEMO_STORE="$STORE" DEMO_LISTEN="127.0.0.1:$PORT" \
  "$SCEP_SOURCE/share/demo.sh"
DEMO_PID=$BG_PID
wait_for_port "$PORT" "$DEMO_PID"
wait_for_log "$WORK/demo.out" "listening on http://127\.0\.0\.1:$PORT/scep"
URL="http://127.0.0.1:$PORT/scep"
grep -q "^Enrollment URL: $URL " "$WORK/demo.out" || fail "the demo does not print the URL it serves: $(cat "$WORK/demo.out")"
[[ $(stat -c %a "$STORE/ca/demo/key.pem") == 600 ]] ||
  fail "the demo CA key is not 0600"

# printed FIRST-LINE-REGEX LAST-LINE-REGEX — the printed command between the
# two lines, continuation lines joined.
printed() { sed -n "/$1/,/$2/p" "$WORK/demo.out" | sed 's/\\$//' | tr -d '\n'; }

# ---- micromdm's scepclient, verbatim
cmd=$(printed '^  mkdir -p dev1 ' '-cn dev1$')
[[ -n $cmd ]] || fail "no scepclient command printed"
(cd "$WORK" && timeout 60 bash -c "$cmd") >"$WORK/scepclient.out" 2>&1 || fail "scepclient as printed: $(tail -n 5 "$WORK/scepclient.out")"
openssl verify -CAfile "$STORE/demo-ca.pem" "$WORK/dev1/dev1.pem" >/dev/null 2>&1 ||
  fail "scepclient's dev1.pem is not issued by the demo CA"
[[ -f $WORK/dev1/csr.pem ]] || note "scepclient no longer writes csr.pem beside its key; the demo's advice is stale"

# ---- certmonger
start_certmonger
add=$(grep '^  getcert add-scep-ca ' "$WORK/demo.out" || true)
req=$(printed '^  getcert request ' '-L ')
[[ -n $add && -n $req ]] || fail "no certmonger commands printed"
add=${add/getcert add-scep-ca/getcert add-scep-ca -s}
req=${req/getcert request/getcert request -s -w --wait-timeout=90}
req=${req/\/etc\/ssl\/private\/demo-host.key/$WORK/demo-host.key}
req=${req/\/etc\/ssl\/certs\/demo-host.pem/$WORK/demo-host.pem}
bash -c "$add" >"$WORK/add.out" 2>&1 || fail "getcert add-scep-ca as printed: $(cat "$WORK/add.out")"
timeout 120 bash -c "$req" >"$WORK/req.out" 2>&1 || fail "getcert request as printed: $(cat "$WORK/req.out")"
openssl verify -CAfile "$STORE/demo-ca.pem" "$WORK/demo-host.pem" >/dev/null 2>&1 ||
  fail "certmonger's certificate is not issued by the demo CA: $(getcert list -s 2>&1 | tail -n 20)"

[[ $(audit_count outcome=issued) == 2 ]] || fail "want 2 issued certificates in audit.log: $(cat "$STORE/audit.log")"
log "ok"
