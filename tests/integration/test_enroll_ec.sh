#!/bin/bash
# An ECDSA CA with an RSA RA (issue 19), through `scepctl serve`:
#  - `scepctl ca create --key-type ec-p256` makes the EC CA and its RSA RA
#    in one step; GetCACert sends RA + CA;
#  - micromdm scepclient (pinned to the RA: see 3.; and its renewal), certmonger (getcert,
#    its scep-submit helper) and the tests' own client (scep_client.py:
#    every CMS structure built by hand in DER, not by our library; it stands
#    in for sscep, which is not installed here, and like sscep encrypts to
#    the RA it finds in GetCACert) enroll; each certificate verifies with
#    `openssl verify` against the EC CA and is signed ecdsa-with-SHA256; the
#    CertReps are the RA's;
#  - GetCRL over HTTP: a CRL the EC CA signed (`openssl crl -verify`);
#  - P-384: ecdsa-with-SHA384 for its certificates and CRL;
#  - an RA may not be EC; `ca import` of an EC CA makes its RSA RA too;
#  - an EC CA whose RA was taken away by hand: `scepctl check` says what to
#    run, the server answers GetCACert 503 with the reason and stays up
#    (PKIOperation's 503: tests/scep/test_enroll_ec.cpp).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enroll_lib.sh"
CERTMONGER=/usr/lib/certmonger/certmonger-session
require_cmd scepclient "$CERTMONGER" getcert dbus-daemon /usr/lib/certmonger/scep-submit curl openssl "$PYTHON"

STORE="$WORK/store"
C="$WORK/clients"
mkdir -p "$C"

# ---- 1. ca create --key-type ec-p256: the CA and its RSA RA, one command.
scepctl ca create ec --subject "CN=EC Integration CA,O=scep tests" --key-type ec-p256 --default \
  >"$WORK/ca-ec.out" 2>&1 || fail "scepctl ca create ec --key-type ec-p256: $(cat "$WORK/ca-ec.out")"
grep -q 'RSA RA' "$WORK/ca-ec.out" || fail "ca create of an EC CA does not mention its RSA RA: $(cat "$WORK/ca-ec.out")"
[[ -f $STORE/ca/ec/ra.pem && -f $STORE/ca/ec/ra-key.pem ]] || fail "ca create --key-type ec-p256 made no RA: $(ls "$STORE/ca/ec")"
scepctl export ec >"$WORK/ec-ca.pem" || fail "scepctl export ec"
scepctl export ec --ra >"$WORK/ec-ra.pem" || fail "scepctl export ec --ra"
openssl x509 -in "$WORK/ec-ca.pem" -noout -text >"$WORK/ec-ca.txt"
grep -q 'Public Key Algorithm: id-ecPublicKey' "$WORK/ec-ca.txt" || fail "the EC CA's key is not EC"
grep -q 'NIST CURVE: P-256' "$WORK/ec-ca.txt" || fail "the EC CA is not on P-256"
grep -q 'Signature Algorithm: ecdsa-with-SHA256' "$WORK/ec-ca.txt" || fail "the EC CA is not signed ecdsa-with-SHA256"
openssl x509 -in "$WORK/ec-ra.pem" -noout -text | grep -q 'Public Key Algorithm: rsaEncryption' ||
  fail "the RA of the EC CA is not RSA"
openssl verify -CAfile "$WORK/ec-ca.pem" "$WORK/ec-ra.pem" >/dev/null || fail "the RA does not verify against the EC CA"
scepctl check >"$WORK/check.out" 2>&1 || fail "scepctl check on a fresh EC CA + RA: $(cat "$WORK/check.out")"

# An RA may not be EC, under any CA.
out=$(scepctl ra create ec --replace --key-type ec-p256 2>&1) && fail "ra create --key-type ec-p256 succeeded"
[[ $out == *"must be RSA"* ]] || fail "ra create --key-type ec-p256: unclear error: $out"
[[ $(grep -c . <<<"$out") == 1 ]] || fail "ra create --key-type ec-p256: more than one line: $out"
openssl verify -CAfile "$WORK/ec-ca.pem" "$STORE/ca/ec/ra.pem" >/dev/null || fail "the refused ra create touched ra.pem"
out=$(scepctl ca create bad --key-type ec-p256 --key-bits 2048 2>&1) && fail "--key-type with --key-bits succeeded"

scepctl policy create device --days 30 --eku clientAuth --key-usage digitalSignature,keyEncipherment >/dev/null ||
  fail "scepctl policy create"
legacy_on ec # scepclient encrypts with DES-CBC
KU="Digital Signature, Key Encipherment"
EKU="TLS Web Client Authentication"
start_serve

# ---- 2. GetCACert: the RA and the EC CA (application/x-x509-ca-ra-cert).
http GET "$SERVE_URL?operation=GetCACert&message=ec"
expect_response 200 application/x-x509-ca-ra-cert
openssl pkcs7 -inform DER -in "$WORK/resp.body" -print_certs -out "$WORK/getcacert.pem" ||
  fail "GetCACert is not a PKCS#7"
[[ $(split_pem "$WORK/getcacert.pem" "$WORK/getcacert") == 2 ]] || fail "GetCACert does not send two certificates"
# A DER SET OF (in byte order): clients tell the RA by its key usage.
got=$(for f in "$WORK"/getcacert.[01].pem; do fp_pem "$f"; done | sort | tr '\n' ' ')
want=$(for f in "$WORK/ec-ra.pem" "$WORK/ec-ca.pem"; do fp_pem "$f"; done | sort | tr '\n' ' ')
[[ $got == "$want" ]] || fail "GetCACert does not send the RA and the EC CA"

# check_ec CERT CN — issued by the EC CA as check_issued checks it, and
# signed with ECDSA over SHA-256.
check_ec() {
  check_issued "$1" ec "$2" 30 "$KU" "$EKU" >/dev/null
  openssl x509 -in "$1" -noout -text | grep -q 'Signature Algorithm: ecdsa-with-SHA256' ||
    fail "$1 is not signed ecdsa-with-SHA256"
}

# ---- 3. micromdm scepclient. It encrypts to every GetCACert certificate
# unless -ca-fingerprint selects some, and 2.1 panics on an EC one
# ("interface {} is *ecdsa.PublicKey, not *rsa.PublicKey", go.mozilla.org/
# pkcs7 encryptKey): with an EC CA it must be pinned to the RA's SHA-256.
RA_FP=$(openssl x509 -in "$WORK/ec-ra.pem" -outform DER | sha256sum | cut -d' ' -f1)
S=$(new_secret ec device)
scepclient_run "$C/scepclient" "$SERVE_URL/ec" "$S" ec-scepclient -ca-fingerprint "$RA_FP"
expect_scepclient_ok "$C/scepclient"
same_key "$C/scepclient/cert.pem" "$C/scepclient/key.pem"
check_ec "$C/scepclient/cert.pem" ec-scepclient
# Its renewal (no challenge: the request is signed by the EC CA's
# certificate, verified under the EC key), issued by the EC CA again.
FIRST=$(cert_serial "$C/scepclient/cert.pem")
scepclient_run "$C/scepclient" "$SERVE_URL/ec" "" ec-scepclient -ca-fingerprint "$RA_FP"
expect_scepclient_ok "$C/scepclient"
RENEWED=$(cert_serial "$C/scepclient/cert.pem")
[[ $RENEWED != "$FIRST" ]] || fail "the renewal at the EC CA gave back $FIRST"
openssl verify -CAfile "$WORK/ec-ca.pem" "$C/scepclient/cert.pem" >/dev/null ||
  fail "the renewed certificate does not verify under the EC CA"
openssl x509 -in "$C/scepclient/cert.pem" -noout -text | grep -q 'Signature Algorithm: ecdsa-with-SHA256' ||
  fail "the renewed certificate is not signed ecdsa-with-SHA256"
[[ $(jget "$(audit_one outcome=renewed serial="$RENEWED")" detail) == "renewal of $FIRST" ]] ||
  fail "the EC CA's renewal is not recorded as a renewal of $FIRST"

# ---- 4. the independent client (scep_client.py), POST and GET.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$C/py.key" 2>/dev/null || fail "openssl genpkey"
for mode in post get; do
  S=$(new_secret ec device)
  extra=()
  [[ $mode == get ]] && extra=(--get)
  "$PYTHON" "$SCEP_SOURCE/tests/integration/scep_client.py" enroll --url "$SERVE_URL" --ca ec --key "$C/py.key" \
    --cn "ec-py-$mode" --challenge "$S" --out "$C/py-$mode.pem" "${extra[@]}" >"$C/py-$mode.out" 2>&1 ||
    fail "scep_client.py ($mode) at the EC CA: $(tail -n 5 "$C/py-$mode.out")"
  check_ec "$C/py-$mode.pem" "ec-py-$mode"
done

# ---- 5. certmonger: nothing but the URL and the CA's name (it keeps the RA
# as its encryption certificate and trusts the EC CA).
start_certmonger
certmonger_add_ca scep-ec "$SERVE_URL" ec
S=$(new_secret ec device)
certmonger_request cm scep-ec ec-certmonger "$S"
[[ $(certmonger_status cm) == MONITORING ]] ||
  fail "certmonger at the EC CA: status $(certmonger_status cm): $(cat "$CM/out/cm.request" "$CM/out/cm.list")"
check_ec "$CM/out/cm.cert.pem" ec-certmonger
same_key "$CM/out/cm.cert.pem" "$CM/out/cm.key.pem"

# scepclient (and its renewal), scep_client.py twice, certmonger.
[[ $(cert_count ec) == 5 ]] || fail "want 5 certificates of the EC CA, have $(cert_count ec)"

# ---- 6. GetCRL over HTTP, after a revocation: signed by the EC CA.
SERIAL=$(cert_serial "$C/scepclient/cert.pem")
scepctl revoke "$SERIAL" --reason keyCompromise >/dev/null || fail "scepctl revoke $SERIAL"
http GET "$SERVE_URL?operation=GetCRL&message=ec"
expect_status 200
openssl crl -inform DER -in "$WORK/resp.body" -out "$WORK/ec-crl.pem" || fail "GetCRL is not a DER CRL"
openssl crl -in "$WORK/ec-crl.pem" -CAfile "$WORK/ec-ca.pem" -verify -noout 2>&1 | grep -q 'verify OK' ||
  fail "the CRL does not verify against the EC CA"
openssl crl -in "$WORK/ec-crl.pem" -noout -text | grep -q 'Signature Algorithm: ecdsa-with-SHA256' ||
  fail "the CRL is not signed ecdsa-with-SHA256"
out=$(openssl verify -crl_check -CRLfile "$WORK/ec-crl.pem" -CAfile "$WORK/ec-ca.pem" "$C/scepclient/cert.pem" 2>&1) &&
  fail "openssl verify -crl_check accepts the revoked $SERIAL"
grep -q 'certificate revoked' <<<"$out" || fail "verify of the revoked $SERIAL: $out"
openssl verify -crl_check -CRLfile "$WORK/ec-crl.pem" -CAfile "$WORK/ec-ca.pem" "$C/py-post.pem" >/dev/null ||
  fail "verify -crl_check rejects a certificate that is not revoked"

# ---- 7. P-384: SHA-384 throughout.
scepctl ca create ec384 --key-type ec-p384 >/dev/null || fail "scepctl ca create ec384 --key-type ec-p384"
scepctl export ec384 >"$WORK/ec384.pem"
openssl x509 -in "$WORK/ec384.pem" -noout -text | grep -q 'Signature Algorithm: ecdsa-with-SHA384' ||
  fail "the P-384 CA is not signed ecdsa-with-SHA384"
S=$(new_secret ec384 device)
"$PYTHON" "$SCEP_SOURCE/tests/integration/scep_client.py" enroll --url "$SERVE_URL" --ca ec384 --key "$C/py.key" \
  --cn ec384-py --challenge "$S" --out "$C/py-384.pem" >"$C/py-384.out" 2>&1 ||
  fail "scep_client.py at the P-384 CA: $(tail -n 5 "$C/py-384.out")"
openssl verify -CAfile "$WORK/ec384.pem" "$C/py-384.pem" >/dev/null || fail "the P-384 CA's certificate does not verify"
openssl x509 -in "$C/py-384.pem" -noout -text | grep -q 'Signature Algorithm: ecdsa-with-SHA384' ||
  fail "a certificate of the P-384 CA is not signed ecdsa-with-SHA384"
curl -sf "$SERVE_URL?operation=GetCRL&message=ec384" | openssl crl -inform DER -CAfile "$WORK/ec384.pem" -verify \
  -noout -text 2>&1 | grep -q 'Signature Algorithm: ecdsa-with-SHA384' || fail "the P-384 CRL is not SHA-384"

# ---- 8. ca import of an EC CA (made by openssl): it gets its RSA RA.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/imp.key" -out "$WORK/imp.pem" \
  -subj "/CN=Imported EC CA" -days 30 -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null || fail "openssl req (EC CA)"
scepctl ca import imported --cert "$WORK/imp.pem" --key "$WORK/imp.key" >"$WORK/import.out" 2>&1 ||
  fail "ca import of an EC CA: $(cat "$WORK/import.out")"
grep -q 'RSA RA' "$WORK/import.out" || fail "ca import of an EC CA does not mention its RSA RA: $(cat "$WORK/import.out")"
! grep -q 'warning' "$WORK/import.out" || fail "ca import of an EC CA warns: $(cat "$WORK/import.out")"
scepctl export imported --ra >"$WORK/imp-ra.pem" || fail "the imported EC CA has no RA"
openssl verify -CAfile "$WORK/imp.pem" "$WORK/imp-ra.pem" >/dev/null || fail "the imported CA's RA does not verify"

# ---- 9. an EC CA without its RA (taken away by hand): a problem for
# `check`, 503 with the reason for clients, and the server stays up.
rm "$STORE/ca/imported/ra.pem" "$STORE/ca/imported/ra-key.pem"
out=$(scepctl check 2>&1) && fail "scepctl check passes an EC CA without an RA: $out"
grep -q 'scepctl ra create imported' <<<"$out" || fail "scepctl check does not say what to run: $out"
http GET "$SERVE_URL?operation=GetCACert&message=imported"
expect_status 503
grep -q 'scepctl ra create imported' "$WORK/resp.body" || fail "GetCACert 503 body: $(cat "$WORK/resp.body")"
S=$(new_secret imported device)
# A client cannot even start (GetCACert is refused); the PKIOperation
# refusal is tests/scep/test_enroll_ec.cpp's.
"$PYTHON" "$SCEP_SOURCE/tests/integration/scep_client.py" enroll --url "$SERVE_URL" --ca imported --key "$C/py.key" \
  --cn gone --challenge "$S" --out "$C/gone.pem" >"$C/gone.out" 2>&1 && fail "enrolled at an EC CA without an RA"
kill -0 "$SERVE_PID" || fail "scepctl serve died"
http GET "$SERVE_URL?operation=GetCACert&message=ec"
expect_status 200
scepctl ra create imported >/dev/null || fail "scepctl ra create imported (the fix check names)"
http GET "$SERVE_URL?operation=GetCACert&message=imported"
expect_status 200
scepctl check >"$WORK/check2.out" 2>&1 || fail "scepctl check after ra create: $(cat "$WORK/check2.out")"

log "ok"
