#!/bin/bash
# Renewal by certmonger against `scepctl serve` (the setup of
# test_enroll_certmonger.sh: a session certmonger on a private bus).
#
# How certmonger 0.79 renews through SCEP: for every submission it builds
# two PKCSReq messages, one signed by a self-signed "mini" certificate of
# the request's key, and, when the tracking request already holds a
# certificate, one signed by that certificate and its key (the "old"
# message). Its helper scep-submit sends the old one when GetCACaps lists
# "Renewal" (and it is not run with -n); otherwise the self-signed one.
# `getcert resubmit` renews with the same key; `getcert rekey` makes a new
# key, and the request for it is still signed with the old certificate and
# key. Neither needs a challenge: the CSR still carries the spent secret
# of the first enrollment, which the server ignores for a renewal.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enroll_lib.sh"
CERTMONGER=/usr/lib/certmonger/certmonger-session
require_cmd "$CERTMONGER" getcert dbus-daemon /usr/lib/certmonger/scep-submit openssl "$PYTHON"

STORE="$WORK/store"
make_store "$STORE" # alpha: plain CA (the default); beta: CA with an RA
scepctl policy create cm --days 90 --eku clientAuth,serverAuth \
  --key-usage digitalSignature,keyEncipherment >/dev/null || fail "scepctl policy create"
start_serve
start_certmonger
certmonger_add_ca scep-beta "$SERVE_URL" beta

# certmonger_again VERB NAME — getcert VERB (resubmit or rekey) of request
# NAME, waiting for the outcome; `getcert list` in $CM/out/NAME.list.
certmonger_again() {
  local verb=$1 name=$2 rc=0
  timeout 120 getcert "$verb" -s -i "$name" -w --wait-timeout=90 >"$CM/out/$name.$verb" 2>&1 || rc=$?
  [[ $rc != 124 ]] || fail "getcert $verb $name timed out: $(cat "$CM/out/$name.$verb")"
  getcert list -s -i "$name" >"$CM/out/$name.list" 2>&1 || fail "getcert list -i $name: $(cat "$CM/out/$name.list")"
  [[ $(certmonger_status "$name") == MONITORING ]] ||
    fail "getcert $verb $name: exit $rc, status $(certmonger_status "$name"): $(cat "$CM/out/$name.$verb" "$CM/out/$name.list")"
}

# expect_renewed NAME OLD — NAME's certificate file holds a new certificate
# of beta, renewed from OLD with its subject; prints the new serial.
expect_renewed() {
  local cert="$CM/out/$1.cert.pem" old=$2 serial line
  serial=$(cert_serial "$cert")
  [[ $serial != "$old" ]] || fail "certmonger still has $old"
  openssl verify -CAfile "$WORK/expect/beta.pem" "$cert" >/dev/null 2>&1 || fail "renewed $serial does not verify"
  [[ $(fp_pem "$STORE/ca/beta/certs/$serial.pem") == "$(fp_pem "$cert")" ]] || fail "store lacks $serial"
  same_key "$cert" "$CM/out/$1.key.pem"
  openssl x509 -in "$cert" -noout -subject | grep -qx 'subject=CN = cm-renew' || fail "renewal changed the subject"
  line=$(audit_one outcome=renewed serial="$serial")
  [[ $(jget "$line" detail) == "renewal of $old" && $(jget "$line" operation) == PKCSReq &&
    $(jget "$line" policy) == cm && -z $(jget "$line" secret_id) ]] || fail "renewed audit line: $line"
  printf '%s\n' "$serial"
}

# ---- enrollment with a one-use secret
S1=$(new_secret beta cm)
S1_ID=$(cat "$WORK/secret.id")
certmonger_request renew scep-beta cm-renew "$S1"
[[ $(certmonger_status renew) == MONITORING ]] || fail "enrollment: $(cat "$CM/out/renew.list")"
SERIAL1=$(cert_serial "$CM/out/renew.cert.pem")
audit_one outcome=issued serial="$SERIAL1" secret_id="$S1_ID" >/dev/null
cp "$CM/out/renew.key.pem" "$WORK/key1.pem"

# ---- getcert resubmit: the same key, a PKCSReq signed by the old certificate.
certmonger_again resubmit renew
SERIAL2=$(expect_renewed renew "$SERIAL1")
same_key "$CM/out/renew.cert.pem" "$WORK/key1.pem"

# ---- getcert rekey: a new key, the request signed with the old certificate and key.
certmonger_again rekey renew
SERIAL3=$(expect_renewed renew "$SERIAL2")
[[ $(openssl pkey -in "$WORK/key1.pem" -pubout) != "$(openssl pkey -in "$CM/out/renew.key.pem" -pubout)" ]] ||
  fail "getcert rekey kept the old key"

# The secret was used once, by the enrollment; nothing failed.
[[ $(audit_count secret_id="$S1_ID" operation!=secret-create) == 1 && $(secret_field "$S1_ID" uses_left) == 0 ]] ||
  fail "a renewal used the secret: $(audit secret_id="$S1_ID")"
[[ $(audit_count outcome=failure) == 0 ]] || fail "failures in the audit log: $(audit outcome=failure)"
[[ $(cert_count beta) == 3 ]] || fail "want 3 certificates of beta, have $(cert_count beta)"

# ---- revoked: nothing is issued and nothing renews. The request is a
# PKCSReq signed by the revoked certificate, with the transactionID of the
# rekey request (certmonger derives it from the key): the server refuses it
# (FAILURE badRequest, CA_REJECTED) rather than repeat the revoked answer.
scepctl revoke "$SERIAL3" --reason superseded >/dev/null || fail "scepctl revoke $SERIAL3"
rc=0
timeout 120 getcert resubmit -s -i renew -w --wait-timeout=90 >"$CM/out/renew.revoked" 2>&1 || rc=$?
[[ $rc != 124 ]] || fail "getcert resubmit after the revocation timed out"
getcert list -s -i renew >"$CM/out/renew.list" 2>&1 || fail "getcert list -i renew"
[[ $(cert_count beta) == 3 && $(cert_serial "$CM/out/renew.cert.pem") == "$SERIAL3" ]] ||
  fail "a certificate was issued to revoked $SERIAL3"
[[ $(audit_count outcome=renewed detail="renewal of $SERIAL3") == 0 ]] || fail "revoked $SERIAL3 renewed"
# certmonger keeps monitoring the certificate it has and shows the refusal
# as its ca-error.
case $(certmonger_status renew) in
  CA_REJECTED | MONITORING) ;;
  *) fail "renewal signed by revoked $SERIAL3: certmonger status $(certmonger_status renew)" ;;
esac
grep -q "ca-error: .*not permitted" "$CM/out/renew.list" ||
  fail "certmonger shows no refusal: $(grep -E 'status|ca-error' "$CM/out/renew.list")"
audit_one outcome=failure fail_info=badRequest serial="$SERIAL3" >/dev/null
audit_all_json >/dev/null || fail "audit.log is not JSON lines"
log "ok"
