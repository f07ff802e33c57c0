#!/bin/bash
# CA rollover (RFC 8894 §4.7) through `scepctl serve` and scep.cgi under
# lighttpd: micromdm scepclient enrolls; `scepctl ca rollover` makes the
# next CA; GetCACaps offers GetNextCACert, whose reply (a SignedData by the
# current CA, as sscep's getnextca verifies it) carries the next CA (and, for
# a CA with an RA, the next RA); `scepctl ca activate` makes it current; a new
# enrollment is issued by the new key, the old certificate renews (issued by
# the new key) and revokes: the retired generation's CRL at /NAME/crl/ID
# lists it and verifies under the old CA, the current CRL under the new one;
# `scepctl check` passes at each step.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enroll_lib.sh"
require_cmd scepclient lighttpd curl openssl "$PYTHON"

STORE="$WORK/store"
scepctl ca create main --subject "CN=Rollover CA,O=scep tests" --key-bits 2048 --days 400 --default >/dev/null ||
  fail "ca create main"
scepctl ca create ec --key-type ec-p256 >/dev/null || fail "ca create ec"
legacy_on main
scepctl policy create dev --days 30 --eku clientAuth --key-usage digitalSignature,keyEncipherment >/dev/null ||
  fail "policy create"
scepctl export main >"$WORK/old.pem"
start_serve
start_lighttpd
C="$WORK/clients"

check_ok() { scepctl check >"$WORK/check.out" 2>&1 || fail "scepctl check ($1): $(cat "$WORK/check.out")"; }

# caps URL — GetCACaps keywords, one per line, no CR.
caps() {
  http GET "$1?operation=GetCACaps"
  expect_response 200 text/plain
  tr -d '\r' <"$WORK/resp.body"
}

# ---- before a rollover: no GetNextCACert, and asking for it is a 403.
secret=$(new_secret main dev)
scepclient_run "$C/old" "$SERVE_URL" "$secret" old
expect_scepclient_ok "$C/old"
OLD=$(check_issued "$C/old/cert.pem" main old 30 "Digital Signature, Key Encipherment" "TLS Web Client Authentication")
secret=$(new_secret main dev)
scepclient_run "$C/old2" "$SERVE_URL" "$secret" old2
expect_scepclient_ok "$C/old2"
OLD2=$(cert_serial "$C/old2/cert.pem")
for url in "$SERVE_URL" "$LIGHTTPD_URL"; do
  ! caps "$url" | grep -qx GetNextCACert || fail "$url offers GetNextCACert without a rollover"
  http GET "$url?operation=GetNextCACert&message=main"
  expect_status 403
done
scepctl ca activate main >"$WORK/out" 2>&1 && fail "ca activate without a next certificate succeeded"
grep -q "has no next certificate" "$WORK/out" || fail "ca activate without next: $(cat "$WORK/out")"

# ---- rollover: the next CA, same subject, new key, default lifetime (400 days).
scepctl ca rollover main >"$WORK/rollover.out" || fail "ca rollover main: $(cat "$WORK/rollover.out")"
scepctl ca rollover main >"$WORK/out" 2>&1 && fail "a second rollover without --replace succeeded"
grep -q -- "--replace" "$WORK/out" || fail "second rollover: $(cat "$WORK/out")"
openssl x509 -in "$STORE/ca/main/next/cert.pem" -out "$WORK/new.pem" || fail "next/cert.pem is not a certificate"
[[ $(openssl x509 -in "$WORK/new.pem" -noout -subject) == "$(openssl x509 -in "$WORK/old.pem" -noout -subject)" ]] ||
  fail "the next CA has another subject"
[[ $(openssl x509 -in "$WORK/new.pem" -noout -pubkey) != "$(openssl x509 -in "$WORK/old.pem" -noout -pubkey)" ]] ||
  fail "the next CA has the old key"
[[ $(stat -c %a "$STORE/ca/main/next/key.pem") == 600 ]] || fail "next/key.pem is not 0600"
end=$(date -d "$(openssl x509 -in "$WORK/new.pem" -noout -enddate | sed 's/^notAfter=//')" +%s)
((end > $(date +%s) + 399 * 86400 && end < $(date +%s) + 401 * 86400)) || fail "next CA does not last 400 days"
check_ok "after rollover"
scepctl ca show main | grep -q "^next certificate" || fail "ca show does not list the next certificate"

# getnextca URL CA OUT — GetNextCACert as sscep's getnextca reads it: the
# outer SignedData verifies under the current CA (openssl cms -verify, the
# current CA as the only trust anchor), its content is a degenerate PKCS#7
# whose certificates are the next ones (also in the outer set, for jscep).
getnextca() {
  local url=$1 ca=$2 out=$3
  http GET "$url?operation=GetNextCACert&message=$ca"
  expect_response 200 application/x-x509-next-ca-cert
  cp "$WORK/resp.body" "$out.der"
  scepctl export "$ca" >"$out.current.pem"
  openssl cms -verify -inform DER -in "$out.der" -CAfile "$out.current.pem" -purpose any -binary \
    -out "$out.inner.der" 2>"$out.err" || fail "$url: GetNextCACert does not verify under CA $ca: $(cat "$out.err")"
  openssl pkcs7 -inform DER -in "$out.inner.der" -print_certs -out "$out.certs.pem" ||
    fail "$url: the signed content is not a degenerate PKCS#7"
  openssl pkcs7 -inform DER -in "$out.der" -print_certs -out "$out.outer.pem" || fail "$url: outer certificates"
}

for url in "$SERVE_URL" "$LIGHTTPD_URL"; do
  caps "$url" | grep -qx GetNextCACert || fail "$url does not offer GetNextCACert during a rollover"
  getnextca "$url" main "$WORK/next"
  [[ $(grep -c 'BEGIN CERTIFICATE' "$WORK/next.certs.pem") == 1 ]] || fail "$url: GetNextCACert of main: not one certificate"
  [[ $(fp_pem "$WORK/next.certs.pem") == "$(fp_pem "$WORK/new.pem")" ]] || fail "$url: GetNextCACert is not next/cert.pem"
  grep -q "$(sed -n 2p "$WORK/new.pem")" "$WORK/next.outer.pem" || fail "$url: the next CA is not among the outer certificates"
  # The old CA still answers GetCACert and issues until the activation.
  http GET "$url?operation=GetCACert&message=main"
  expect_response 200 application/x-x509-ca-cert
  [[ $(fp_der "$WORK/resp.body") == "$(fp_pem "$WORK/old.pem")" ]] || fail "$url: GetCACert changed before activation"
done

# A client that already encrypts to the next CA (it fetched GetNextCACert) is
# answered, still by the current key (RFC 8894 §5.1: the CA picks its key by
# the envelope's recipient).
py_enroll() {
  "$PYTHON" "$SCEP_SOURCE/tests/integration/scep_client.py" enroll --url "$SERVE_URL" --key "$C/$1.key" --cn "$1" \
    --challenge "$(new_secret "$2" dev)" --ca "$2" --recipient "$3" --out "$C/$1.pem" 2>"$C/$1.err" ||
    fail "enrollment of $1 encrypted to $3: $(cat "$C/$1.err")"
}
mkdir -p "$C"
py_enroll to-next main "$WORK/new.pem"
openssl verify -CAfile "$WORK/old.pem" "$C/to-next.pem" >/dev/null || fail "to-next is not issued by the current CA"

# A CA with an RA: its RA key is certified again, and GetNextCACert carries both.
scepctl ca rollover ec >/dev/null || fail "ca rollover ec"
getnextca "$SERVE_URL" ec "$WORK/ecnext"
[[ $(grep -c 'BEGIN CERTIFICATE' "$WORK/ecnext.certs.pem") == 2 ]] || fail "GetNextCACert of ec: not CA + RA"
openssl verify -CAfile "$STORE/ca/ec/next/cert.pem" "$STORE/ca/ec/next/ra.pem" >/dev/null ||
  fail "the next RA certificate is not issued by the next CA"
[[ $(openssl x509 -in "$STORE/ca/ec/next/ra.pem" -noout -pubkey) == "$(openssl x509 -in "$STORE/ca/ec/ra.pem" -noout -pubkey)" ]] ||
  fail "the next RA certificate has another key"

# The RA replaced after the rollover: next/ra.pem names the old RA key, so
# the activation is refused (clients would encrypt to a key nobody holds)
# until a rollover --replace certifies the new one.
scepctl ra create ec --replace >/dev/null 2>"$WORK/ra-replace.err" || fail "ra create ec --replace"
grep -q "rollover ec --replace" "$WORK/ra-replace.err" || fail "ra create --replace does not warn: $(cat "$WORK/ra-replace.err")"
rc=0
out=$(scepctl ca activate ec 2>&1) || rc=$?
[[ $rc == 2 && $out == *"rollover ec --replace"* ]] || fail "activation with a stale next RA: exit $rc: $out"
[[ -d $STORE/ca/ec/next && ! -e $STORE/ca/ec/retired ]] || fail "a refused activation changed ca/ec: $(ls "$STORE/ca/ec")"
scepctl ca rollover ec --replace >/dev/null || fail "ca rollover ec --replace"
[[ $(openssl x509 -in "$STORE/ca/ec/next/ra.pem" -noout -pubkey) == "$(openssl x509 -in "$STORE/ca/ec/ra.pem" -noout -pubkey)" ]] ||
  fail "rollover --replace did not certify the new RA key"

# The current generation's CRL answers to its ID before the activation too,
# so relying parties can be given the URL that stays after it.
OLD_ID=$(openssl x509 -in "$WORK/old.pem" -noout -serial | sed 's/^serial=//')
http GET "$SERVE_URL/main/crl/$OLD_ID"
expect_response 200 application/pkix-crl
openssl crl -inform DER -in "$WORK/resp.body" -CAfile "$WORK/old.pem" -noout 2>&1 | grep -qx 'verify OK' ||
  fail "/main/crl/$OLD_ID before the activation does not verify under the current CA"

# ---- activation.
scepctl ca activate main >"$WORK/activate.out" || fail "ca activate main: $(cat "$WORK/activate.out")"
ID=$(openssl x509 -in "$WORK/old.pem" -noout -serial | sed 's/^serial=//')
grep -q "retired as $ID" "$WORK/activate.out" || fail "activate does not name the retired generation: $(cat "$WORK/activate.out")"
[[ ! -e $STORE/ca/main/next && -f $STORE/ca/main/retired/$ID/key.pem ]] || fail "activation left $(ls -R "$STORE/ca/main")"
[[ $(fp_pem "$STORE/ca/main/cert.pem") == "$(fp_pem "$WORK/new.pem")" ]] || fail "cert.pem is not the next certificate"
scepctl ca show main | grep -q "^retired generation $ID" || fail "ca show does not list the retired generation"
check_ok "after activation"
for url in "$SERVE_URL" "$LIGHTTPD_URL"; do
  ! caps "$url" | grep -qx GetNextCACert || fail "$url offers GetNextCACert after the activation"
  http GET "$url?operation=GetCACert&message=main"
  expect_response 200 application/x-x509-ca-cert
  [[ $(fp_der "$WORK/resp.body") == "$(fp_pem "$WORK/new.pem")" ]] || fail "$url: GetCACert is not the new CA"
done

# A client that still encrypts to the retired CA certificate is answered,
# by the new key; for a CA with an RA, one that encrypts to the retired RA
# certificate (the same RA key) too.
py_enroll to-old main "$WORK/old.pem"
openssl verify -CAfile "$WORK/new.pem" "$C/to-old.pem" >/dev/null || fail "to-old is not issued by the new CA"
cp "$STORE/ca/ec/ra.pem" "$WORK/ec-old-ra.pem"
scepctl ca activate ec >/dev/null || fail "ca activate ec"
py_enroll to-old-ra ec "$WORK/ec-old-ra.pem"
openssl verify -CAfile "$STORE/ca/ec/cert.pem" "$C/to-old-ra.pem" >/dev/null || fail "to-old-ra is not issued by ec's new CA"

# ---- a new enrollment is issued by the new key.
secret=$(new_secret main dev)
scepclient_run "$C/new" "$LIGHTTPD_URL/main" "$secret" new
expect_scepclient_ok "$C/new"
check_issued "$C/new/cert.pem" main new 30 "Digital Signature, Key Encipherment" "TLS Web Client Authentication" >/dev/null
openssl verify -CAfile "$WORK/old.pem" "$C/new/cert.pem" >/dev/null 2>&1 && fail "the new certificate verifies under the old CA"

# ---- the old certificate renews (RenewalReq signed by it), from the new key.
cp "$C/old/cert.pem" "$C/old/cert.$OLD.pem"
scepclient_run "$C/old" "$SERVE_URL" "" old
expect_scepclient_ok "$C/old"
RENEWED=$(cert_serial "$C/old/cert.pem")
[[ $RENEWED != "$OLD" ]] || fail "the renewal gave back the old certificate"
openssl verify -CAfile "$WORK/new.pem" "$C/old/cert.pem" >/dev/null || fail "the renewed certificate is not the new CA's"
[[ $(jget "$(audit_one outcome=renewed serial="$RENEWED")" detail) == "renewal of $OLD" ]] || fail "renewal audit line"

# ---- revoke a certificate of the retired generation: its CRL lists it and
# verifies under the old CA; the current CRL verifies under the new CA.
scepctl revoke "$OLD2" --reason keyCompromise >"$WORK/revoke.out" || fail "revoke $OLD2: $(cat "$WORK/revoke.out")"
grep -q "generation $ID" "$WORK/revoke.out" || fail "revoke does not name the generation: $(cat "$WORK/revoke.out")"
for base in "$SERVE_URL" "$LIGHTTPD_URL"; do
  http GET "$base/main/crl/$ID"
  expect_response 200 application/pkix-crl
  openssl crl -inform DER -in "$WORK/resp.body" -out "$WORK/oldcrl.pem" || fail "$base/main/crl/$ID: not a CRL"
  openssl crl -in "$WORK/oldcrl.pem" -CAfile "$WORK/old.pem" -noout 2>&1 | grep -qx 'verify OK' ||
    fail "$base/main/crl/$ID does not verify under the old CA"
  openssl crl -in "$WORK/oldcrl.pem" -noout -text | grep -q "Serial Number: $OLD2" || fail "old CRL does not list $OLD2"
  out=$(openssl verify -crl_check -CRLfile "$WORK/oldcrl.pem" -CAfile "$WORK/old.pem" "$C/old2/cert.pem" 2>&1) &&
    fail "openssl accepts revoked $OLD2 with the old CRL"
  grep -q 'certificate revoked' <<<"$out" || fail "verify of revoked $OLD2: $out"
  http GET "$base/main/crl"
  expect_response 200 application/pkix-crl
  openssl crl -inform DER -in "$WORK/resp.body" -out "$WORK/newcrl.pem" || fail "$base/main/crl: not a CRL"
  openssl crl -in "$WORK/newcrl.pem" -CAfile "$WORK/new.pem" -noout 2>&1 | grep -qx 'verify OK' ||
    fail "$base/main/crl does not verify under the new CA"
  http GET "$base/main/crl/0123ABCD"
  expect_status 404
  # An ID that is not a generation never becomes a path (lighttpd decodes the
  # %2F into the path itself: then it is no CRL path at all, a 400).
  http GET "$base/main/crl/..%2Fkey.pem"
  [[ $HTTP_STATUS == 404 || $HTTP_STATUS == 400 ]] || fail "$LAST_REQUEST: status $HTTP_STATUS, want 404 or 400"
  ! grep -q 'PRIVATE KEY' "$WORK/resp.body" || fail "$LAST_REQUEST answered a key"
done
scepctl crl main --generation "$ID" --out "$WORK/crl-gen.pem" >/dev/null || fail "scepctl crl --generation"
openssl crl -in "$WORK/crl-gen.pem" -CAfile "$WORK/old.pem" -noout 2>&1 | grep -qx 'verify OK' ||
  fail "scepctl crl --generation: does not verify under the old CA"
scepctl crl main --generation NOPE >"$WORK/out" 2>&1 && fail "crl --generation NOPE succeeded"
grep -q 'no retired generation' "$WORK/out" || fail "crl --generation NOPE: $(cat "$WORK/out")"
check_ok "at the end"
log "ok"
