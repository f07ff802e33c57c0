#!/bin/bash
# Manual authentication with a real client: micromdm scepclient sends no
# challenge, the request waits as pending, the operator finds it by the MD5
# fingerprint the device owner would read out (checked against openssl's own
# hash of the client's CSR), approves it, and the client's next poll gets the
# certificate. A second client is rejected and its wait ends in a failure.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enroll_lib.sh"
require_cmd scepclient
require_cmd openssl

STORE="$WORK/store"
scepctl ca create main --subject "CN=Manual Test CA" >/dev/null || fail "ca create"
legacy_on main
scepctl policy create phones --days 20 --eku clientAuth >/dev/null || fail "policy create"
start_serve

client() {  # client DIR CN — scepclient without a challenge, in the background
  mkdir -p "$1"
  (cd "$1" && rc=0 && { timeout 100 scepclient -server-url "$SERVE_URL" -cn "$2" -private-key key.pem \
    -certificate cert.pem >out 2>&1 || rc=$?; } && echo "$rc" >rc) &
  CLIENT_PIDS+=($!)
}
CLIENT_PIDS=()
client "$WORK/a" approved-device
client "$WORK/b" rejected-device

for _ in $(seq 1 150); do
  n=$(scepctl pending --json | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)))')
  [[ $n == 2 ]] && break
  sleep 0.1
done
[[ $n == 2 ]] || fail "want 2 pending requests, have $n"
[[ $(audit outcome=pending | wc -l) -ge 2 ]] || fail "no 'pending' audit lines"

# The fingerprint the device side computes, with openssl, from its own CSR.
md5_a=$(openssl req -in "$WORK/a/csr.pem" -outform DER | openssl md5 -r | cut -d' ' -f1)
sha256_b=$(openssl req -in "$WORK/b/csr.pem" -outform DER | openssl sha256 -r | cut -d' ' -f1)
listed=$(scepctl pending --json | "$PYTHON" -c '
import json, sys
for p in json.load(sys.stdin):
    print(p["md5"].replace(":", "").lower())')
grep -qx "$md5_a" <<<"$listed" || fail "scepctl pending does not list MD5 $md5_a of the client's CSR (lists: $listed)"
scepctl pending | grep -q "CN=approved-device" || fail "scepctl pending does not show the subject"

colon_md5=$(sed 's/../&:/g; s/:$//' <<<"${md5_a^^}")
scepctl approve "$colon_md5" --policy phones >"$WORK/approve.out" || fail "approve $colon_md5: $(cat "$WORK/approve.out")"
scepctl reject "${sha256_b:0:12}" --reason "not one of ours" >"$WORK/reject.out" || fail "reject by SHA-256 prefix"

# Deciding twice is a clear error that changes nothing.
rc=0
scepctl approve "$md5_a" 2>"$WORK/again.err" || rc=$?
[[ $rc == 3 ]] || fail "approving twice: want exit 3, got $rc"
grep -q "no pending request" "$WORK/again.err" || fail "approving twice: $(cat "$WORK/again.err")"
[[ $(scepctl pending --json) == "[]" ]] || fail "requests still pending after approve/reject"

wait "${CLIENT_PIDS[@]}"
[[ $(cat "$WORK/a/rc") == 0 ]] || fail "approved client exited $(cat "$WORK/a/rc"): $(tail -n 3 "$WORK/a/out")"
scepctl export main >"$WORK/ca.pem"
openssl verify -CAfile "$WORK/ca.pem" "$WORK/a/cert.pem" >/dev/null || fail "issued certificate does not verify"
openssl x509 -in "$WORK/a/cert.pem" -noout -subject | grep -q "CN = approved-device" || fail "wrong subject"
end=$(date -d "$(openssl x509 -in "$WORK/a/cert.pem" -noout -enddate | sed 's/notAfter=//')" +%s)
(( end - $(date +%s) > 19 * 86400 && end - $(date +%s) < 21 * 86400 )) || fail "not the policy's 20 days"
serial=$(cert_serial "$WORK/a/cert.pem")
[[ $(audit outcome=issued operation=approve serial="$serial" | wc -l) == 1 ]] || fail "no audit line for the approval"

[[ $(cat "$WORK/b/rc") != 0 ]] || fail "rejected client exited 0"
grep -q "failInfo: badRequest" "$WORK/b/out" || fail "rejected client: $(tail -n 3 "$WORK/b/out")"
[[ ! -s $WORK/b/cert.pem ]] || fail "rejected client has a certificate"
audit outcome=rejected operation=reject | grep -q "not one of ours" || fail "no audit line with the rejection reason"
# The poll that learnt it (scepclient polls by sending its PKCSReq again): a
# FAILURE whose outcome says the operator refused.
line=$(audit_one outcome=rejected fail_info=badRequest)
[[ $(jget "$line" operation) == PKCSReq && $(jget "$line" detail) == *"not one of ours"* ]] ||
  fail "the rejected client's poll is not logged as rejected: $line"
log "ok: pending -> approve by MD5 -> certificate; reject by SHA-256 prefix -> failure"
