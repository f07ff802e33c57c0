#!/bin/bash
# Manual authentication with certmonger (the setup of test_enroll_certmonger.sh:
# a session certmonger on a private bus) against `scepctl serve`:
#  1. `getcert request` without a challenge password: the request waits as
#     pending on the server, certmonger shows it waiting, and the MD5
#     thumbprint certmonger prints for its signing request is the one
#     `scepctl pending` lists (and openssl's MD5 of certmonger's CSR); the
#     operator approves it by that thumbprint and certmonger's next poll
#     gets the certificate.
#  2. a second request is refused with `scepctl reject --reason`.
#
# What certmonger 0.79 does with a PENDING CertRep: scep-submit exits 1
# (WAIT) with a cookie, the request shows status CA_WORKING, and certmonger
# schedules its next poll in 604800 s (7 days). That poll (CERTMONGER_OPERATION
# POLL) asks for fresh SCEP messages (helper status 16) and re-sends a
# PKCSReq with the same transactionID (certmonger derives it from the key;
# it is `scep_tx` in its request file), which the server answers from the
# transaction record; it never sends a CertPoll. `getcert resubmit` does the
# same now, so the test uses it instead of waiting a week.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enroll_lib.sh"
CERTMONGER=/usr/lib/certmonger/certmonger-session
require_cmd "$CERTMONGER" getcert dbus-daemon /usr/lib/certmonger/scep-submit openssl "$PYTHON"

STORE="$WORK/store"
# A CA with an RA: certmonger then trusts the reply without -N CA.pem.
scepctl ca create man --subject "CN=Manual certmonger CA" >/dev/null || fail "ca create"
scepctl ra create man >/dev/null || fail "ra create"
scepctl policy create hosts --days 30 --eku clientAuth,serverAuth >/dev/null || fail "policy create"
start_serve
start_certmonger
certmonger_add_ca scep-man "$SERVE_URL" man

# cm_wait NAME SECONDS REGEX — wait until `getcert list` of NAME shows a
# status matching REGEX; the listing is left in $CM/out/NAME.list.
cm_wait() {
  local name=$1 secs=$2 re=$3 i
  for ((i = 0; i < secs * 5; i++)); do
    getcert list -s -i "$name" >"$CM/out/$name.list" 2>&1 || true
    [[ $(certmonger_status "$name") =~ ^($re)$ ]] && return 0
    sleep 0.2
  done
  fail "request $name: status \"$(certmonger_status "$name")\" after ${secs}s, want $re: $(cat "$CM/out/$name.list")"
}
# pending_md5s — the MD5s `scepctl pending --json` lists, plain lower-case hex.
pending_md5s() {
  scepctl pending --json | "$PYTHON" -c '
import json, sys
for p in json.load(sys.stdin):
    print(p["md5"].replace(":", "").lower(), p["subject"])'
}
# cm_md5 NAME — the MD5 thumbprint certmonger shows for its signing request.
cm_md5() { sed -n 's/^[[:space:]]*signing request thumbprint (MD5): //p' "$CM/out/$1.list" | tr -d ': ' | tr 'A-F' 'a-f'; }

request() { # request NAME CN — getcert request without -L, not waiting
  getcert request -s -c scep-man -I "$1" -f "$CM/out/$1.cert.pem" -k "$CM/out/$1.key.pem" -N "CN=$2" \
    >"$CM/out/$1.request" 2>&1 || fail "getcert request $1: $(cat "$CM/out/$1.request")"
}

# ---- 1. pending, then approved
request ok cm-manual-ok
cm_wait ok 60 CA_WORKING
for ((i = 0; i < 50; i++)); do pending_md5s >"$WORK/pending.txt"; [[ -s $WORK/pending.txt ]] && break; sleep 0.2; done
[[ $(wc -l <"$WORK/pending.txt") == 1 ]] || fail "want 1 pending request, have: $(cat "$WORK/pending.txt")"
grep -q ' CN=cm-manual-ok$' "$WORK/pending.txt" || fail "pending request is not CN=cm-manual-ok: $(cat "$WORK/pending.txt")"
audit_one outcome=pending subject=CN=cm-manual-ok operation=PKCSReq >/dev/null
md5=$(cm_md5 ok)
[[ $md5 =~ ^[0-9a-f]{32}$ ]] || fail "certmonger shows no MD5 thumbprint: $(cat "$CM/out/ok.list")"
[[ $(cut -d' ' -f1 "$WORK/pending.txt") == "$md5" ]] ||
  fail "certmonger's MD5 thumbprint $md5 is not the server's $(cut -d' ' -f1 "$WORK/pending.txt")"
# ... and so is openssl's MD5 of the CSR certmonger keeps, whose request
# file also names the transactionID the server parked.
cm_file=$(grep -l '^id=ok$' "$CM"/requests/*) || fail "no certmonger request file for ok"
awk '/^csr=/ { p = 1; sub(/^csr=/, "") } p { sub(/^ /, ""); print } p && /END CERTIFICATE REQUEST/ { exit }' "$cm_file" \
  >"$WORK/ok.csr.pem"
[[ $(openssl req -in "$WORK/ok.csr.pem" -outform DER | openssl md5 -r | cut -d' ' -f1) == "$md5" ]] ||
  fail "openssl's MD5 of certmonger's CSR is not the thumbprint certmonger shows"
tx=$(scepctl pending --json | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)[0]["transaction_id"])')
[[ $(sed -n 's/^scep_tx=//p' "$cm_file") == "$tx" ]] || fail "certmonger's scep_tx is not the pending transactionID $tx"
scepctl approve "$md5" --policy hosts >"$WORK/approve.out" || fail "scepctl approve $md5: $(cat "$WORK/approve.out")"
[[ $(scepctl pending --json) == "[]" ]] || fail "still pending after the approval"
t0=$SECONDS
getcert resubmit -s -i ok >"$CM/out/ok.resubmit" 2>&1 || fail "getcert resubmit ok: $(cat "$CM/out/ok.resubmit")"
cm_wait ok 60 MONITORING
log "approved request reached MONITORING $((SECONDS - t0)) s after the resubmit"
scepctl export man >"$WORK/ca.pem"
openssl verify -CAfile "$WORK/ca.pem" "$CM/out/ok.cert.pem" >"$WORK/verify.out" 2>&1 ||
  fail "certmonger's certificate does not verify against the CA: $(cat "$WORK/verify.out")"
same_key "$CM/out/ok.cert.pem" "$CM/out/ok.key.pem"
serial=$(cert_serial "$CM/out/ok.cert.pem")
line=$(audit_one outcome=issued operation=approve serial="$serial")
[[ $(jget "$line" policy) == hosts && $(jget "$line" subject) == CN=cm-manual-ok ]] || fail "approve audit line: $line"
line=$(audit_one outcome=reissued operation=PKCSReq serial="$serial") # the resubmitted request
[[ $(jget "$line" transaction_id) == "$tx" ]] || fail "the certificate went to another transaction: $line"
[[ $(fp_pem "$STORE/ca/man/certs/$serial.pem") == "$(fp_pem "$CM/out/ok.cert.pem")" ]] || fail "the store lacks $serial"

# ---- 2. pending, then rejected
request no cm-manual-no
cm_wait no 60 CA_WORKING
md5=$(cm_md5 no)
pending_md5s | grep -q "^$md5 CN=cm-manual-no$" || fail "certmonger's MD5 $md5 is not pending: $(pending_md5s)"
scepctl reject "$md5" --reason "unknown host, ticket 4711" >"$WORK/reject.out" || fail "scepctl reject: $(cat "$WORK/reject.out")"
line=$(audit_one outcome=rejected operation=reject subject=CN=cm-manual-no)
[[ $(jget "$line" detail) == "unknown host, ticket 4711" ]] || fail "reject audit line lacks the reason: $line"
getcert resubmit -s -i no >"$CM/out/no.resubmit" 2>&1 || fail "getcert resubmit no: $(cat "$CM/out/no.resubmit")"
cm_wait no 60 CA_REJECTED
# certmonger shows its own text for failInfo badRequest, not the server's failInfoText.
grep -q 'ca-error: .*not permitted' "$CM/out/no.list" || fail "certmonger shows no refusal: $(grep ca-error "$CM/out/no.list")"
line=$(audit_one outcome=rejected subject=CN=cm-manual-no fail_info=badRequest)
[[ $(jget "$line" detail) == *"unknown host, ticket 4711"* ]] || fail "failure audit line lacks the reason: $line"
[[ ! -s $CM/out/no.cert.pem ]] || fail "the rejected request has a certificate"

[[ $(cert_count man) == 1 ]] || fail "want 1 certificate, have $(cert_count man)"
audit_all_json >/dev/null || fail "audit.log is not JSON lines"
log "ok"
