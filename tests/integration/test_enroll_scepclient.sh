#!/bin/bash
# Enrollment with a one-time secret by a real client, micromdm's scepclient
# (the `scep` package), through `scepctl serve` and through scep.cgi under
# lighttpd (share/lighttpd/scep.conf), for a plain CA and for a CA in RA mode.
#
# What scepclient (2.x) does: GetCACert, GetCACaps, then one PKIOperation
# POST (application/octet-stream) of a PKCSReq signed by a throw-away
# self-signed "CN=SCEP SIGNER" certificate, its envelope DES-CBC encrypted
# to every GetCACert certificate. So the CA needs legacy_algorithms
# (`scepctl ca set NAME --legacy-algorithms on`); without it the answer is a
# FAILURE badAlg CertRep. On FAILURE it prints "... failInfo: NAME (N)" and
# exits 1.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enroll_lib.sh"
require_cmd scepclient lighttpd curl openssl "$PYTHON"

STORE="$WORK/store"
make_store "$STORE" # alpha: plain CA (the default); beta: CA with an RA
scepctl policy create device --days 30 --eku clientAuth,serverAuth \
  --key-usage digitalSignature,keyEncipherment >/dev/null || fail "scepctl policy create"
KU="Digital Signature, Key Encipherment"
EKU="TLS Web Client Authentication, TLS Web Server Authentication"
ALPHA_FP=$(openssl x509 -in "$WORK/expect/alpha.pem" -outform DER | sha256sum | cut -d' ' -f1)

start_serve
start_lighttpd
C="$WORK/clients"

# ---- 1. DES without legacy_algorithms: FAILURE badAlg, and the secret
# (inside the envelope the server cannot open) is not used up.
S1=$(new_secret alpha device)
S1_ID=$(cat "$WORK/secret.id")
scepclient_run "$C/des-refused" "$SERVE_URL" "$S1" des-refused
expect_scepclient_failinfo "$C/des-refused" badAlg
audit_one outcome=failure fail_info=badAlg ca=alpha >/dev/null
[[ $(secret_field "$S1_ID" uses_left) == 1 ]] ||
  fail "a request refused with badAlg used up its secret (uses_left $(secret_field "$S1_ID" uses_left))"
[[ $(cert_count alpha) == 0 ]] || fail "a certificate was issued for a refused request"

legacy_on alpha
legacy_on beta

# ---- 2. scepctl serve, plain CA, the default (no CA in the URL); the client
# pins the CA by its SHA-256 fingerprint.
scepclient_run "$C/serve" "$SERVE_URL" "$S1" dev-serve -ca-fingerprint "$ALPHA_FP"
expect_scepclient_ok "$C/serve"
same_key "$C/serve/cert.pem" "$C/serve/key.pem"
SERIAL1=$(check_issued "$C/serve/cert.pem" alpha dev-serve 30 "$KU" "$EKU")
line=$(audit_one outcome=issued serial="$SERIAL1")
[[ $(jget "$line" secret_id) == "$S1_ID" ]] || fail "issued audit line names secret $(jget "$line" secret_id), want $S1_ID"
[[ $(jget "$line" policy) == device ]] || fail "issued audit line names policy $(jget "$line" policy), want device"
[[ $(jget "$line" operation) == PKCSReq ]] || fail "issued audit line: operation $(jget "$line" operation), want PKCSReq"
[[ $(secret_field "$S1_ID" uses_left) == 0 ]] || fail "secret $S1_ID still has uses left after the enrollment"
wait_for_log "$WORK/serve.log" 'method=POST target="/scep\?operation=PKIOperation" .* status=200 ' 5

# ---- 3. the one-use secret again, for a second device (fresh key): refused.
scepclient_run "$C/reuse" "$SERVE_URL" "$S1" dev-reuse
expect_scepclient_failinfo "$C/reuse" badRequest
line=$(audit_one outcome=failure secret_id="$S1_ID")
[[ $(jget "$line" fail_info) == badRequest ]] || fail "reused secret: audit fail_info $(jget "$line" fail_info), want badRequest"
[[ -z $(jget "$line" serial) ]] || fail "reused secret: failure audit line carries a serial: $line"
[[ $(cert_count alpha) == 1 ]] || fail "reusing a one-use secret issued a certificate ($(cert_count alpha) files)"

# ---- 4. a wrong secret: refused, nothing issued, nothing parked.
scepclient_run "$C/wrong" "$SERVE_URL" "WRONG-$S1" dev-wrong
expect_scepclient_failinfo "$C/wrong" badRequest
line=$(audit_one outcome=failure subject="C=US,O=scep-client,OU=MDM,CN=dev-wrong")
[[ $(jget "$line" fail_info) == badRequest ]] || fail "wrong secret: audit fail_info $(jget "$line" fail_info), want badRequest"
[[ $(cert_count alpha) == 1 ]] || fail "a wrong secret issued a certificate"

# ---- 5. scep.cgi under lighttpd, the CA named by the path.
S2=$(new_secret alpha device)
scepclient_run "$C/cgi" "$LIGHTTPD_URL/alpha" "$S2" dev-cgi -ca-fingerprint "$ALPHA_FP"
expect_scepclient_ok "$C/cgi"
same_key "$C/cgi/cert.pem" "$C/cgi/key.pem"
SERIAL2=$(check_issued "$C/cgi/cert.pem" alpha dev-cgi 30 "$KU" "$EKU")
[[ $SERIAL1 != "$SERIAL2" ]] || fail "two enrollments got the same serial $SERIAL1"
# (lighttpd writes its access log lazily)
wait_for_log "$WORK/lighttpd-access.log" '"POST /scep/alpha\?operation=PKIOperation HTTP/1\.1" 200 ' 10

# ... and the spent secret, through the CGI as well.
scepclient_run "$C/cgi-reuse" "$LIGHTTPD_URL/alpha" "$S2" dev-cgi-reuse
expect_scepclient_failinfo "$C/cgi-reuse" badRequest
[[ $(cert_count alpha) == 2 ]] || fail "want 2 certificates of alpha, have $(cert_count alpha)"

# ---- 6. RA mode (beta): GetCACert gives RA + CA, scepclient encrypts to
# them, the server decrypts with the RA key and signs with the RA.
S3=$(new_secret beta device)
scepclient_run "$C/ra-serve" "$SERVE_URL/beta" "$S3" dev-ra-serve
expect_scepclient_ok "$C/ra-serve"
same_key "$C/ra-serve/cert.pem" "$C/ra-serve/key.pem"
check_issued "$C/ra-serve/cert.pem" beta dev-ra-serve 30 "$KU" "$EKU" >/dev/null
openssl verify -CAfile "$WORK/expect/alpha.pem" "$C/ra-serve/cert.pem" >/dev/null 2>&1 &&
  fail "a certificate enrolled at beta verifies against alpha"

S4=$(new_secret beta device)
scepclient_run "$C/ra-cgi" "$LIGHTTPD_URL/beta/pkiclient.exe" "$S4" dev-ra-cgi
expect_scepclient_ok "$C/ra-cgi"
check_issued "$C/ra-cgi/cert.pem" beta dev-ra-cgi 30 "$KU" "$EKU" >/dev/null

# A secret bound to beta does not enroll at alpha.
S5=$(new_secret beta device)
S5_ID=$(cat "$WORK/secret.id")
scepclient_run "$C/wrong-ca" "$SERVE_URL/alpha" "$S5" dev-wrong-ca
expect_scepclient_failinfo "$C/wrong-ca" badRequest
[[ $(secret_field "$S5_ID" uses_left) == 1 ]] || fail "a secret of beta was used up by a request to alpha"

[[ $(cert_count alpha) == 2 && $(cert_count beta) == 2 ]] ||
  fail "want 2 certificates each, have alpha $(cert_count alpha), beta $(cert_count beta)"
[[ $(audit_count outcome=issued) == 4 ]] || fail "want 4 issued audit lines, have $(audit_count outcome=issued)"
audit_all_json >/dev/null || fail "audit.log is not JSON lines"

log "ok"
