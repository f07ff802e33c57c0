#!/bin/bash
# CA keys on a PKCS#11 token (issue 19), with SoftHSM2: a token initialised
# in the test's temp dir (SOFTHSM2_CONF), the PIN in a file the URIs name.
#  - without a module (no [pkcs11], no module-path): exit 6 naming both,
#    no CA directory;
#  - `ca create --key-uri`: an RSA CA whose key is made on the token
#    (ca/NAME/key.uri, no key.pem), an EC CA on the token with its RSA RA
#    (a file key), a CA on an existing token key; a conflicting --key-type
#    is refused and leaves no CA; `ca show` and `check` say where each key is;
#  - enrollment with micromdm's scepclient through `scepctl serve` (both
#    CAs) and scep.cgi under lighttpd (a login per request), renewal, and
#    certmonger through serve: every certificate verifies against its CA;
#  - revoke + CRL signed on the token (`openssl crl -CAfile`);
#  - FastCGI (spawn-fcgi, lighttpd's scep-fastcgi.conf) enrolls too;
#  - a wrong PIN: scep.cgi answers 503, so does a server started then (the
#    reason in its log), `scepctl check` exits 6, while the running server
#    and the FastCGI process keep their login and still enroll; a token gone
#    (its directory moved away): 503 from scep.cgi;
#  - `ra create --key-uri`: the RA key on the token too;
#  - no key.pem of a token CA ever appears;
#  - rollover with --key-uri: the current key is refused; a next key made on
#    the token (next/key.uri) is offered by GetNextCACert (verified against
#    the current CA) and, once activated, issues through serve and scep.cgi
#    (its RA on the token, certified again); the retired generation keeps
#    its key.uri; a file CA rolls over to a token key and back, exactly one
#    of key.pem and key.uri each time, and `check` passes.
# Re-login after a token reset is tested in process (tests/crypto/test_pkcs11.cpp).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enroll_lib.sh"
CERTMONGER=/usr/lib/certmonger/certmonger-session
MODULE=/usr/lib/softhsm/libsofthsm2.so
require_cmd softhsm2-util scepclient lighttpd spawn-fcgi curl openssl "$CERTMONGER" getcert dbus-daemon "$PYTHON"
[[ -f $MODULE ]] || fail "no SoftHSM2 module at $MODULE (package softhsm2)"

# ---- the token
mkdir -p "$WORK/tokens"
export SOFTHSM2_CONF="$WORK/softhsm2.conf"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$WORK/tokens" >"$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label scep --pin 123456 --so-pin 654321 >"$WORK/init-token.out" 2>&1 ||
  fail "softhsm2-util --init-token: $(cat "$WORK/init-token.out")"
PIN="$WORK/pin"
echo 123456 >"$PIN"
uri() { printf 'pkcs11:token=scep;object=%s?pin-source=file:%s' "$1" "$PIN"; }

STORE="$WORK/store"
scepctl init >/dev/null || fail "scepctl init"

# ---- 1. no module anywhere: a clear error, exit 6, nothing written.
rc=0
out=$(scepctl ca create tok --key-uri "$(uri tok-ca)" 2>&1) || rc=$?
[[ $rc == 6 ]] || fail "ca create --key-uri without a module: exit $rc, want 6: $out"
[[ $out == *"module-path="* && $out == *"[pkcs11]"* ]] || fail "no module: the error names neither place: $out"
[[ ! -e $STORE/ca/tok ]] || fail "a failed ca create --key-uri left ca/tok"
# A PIN in the URI is refused: the URI is stored.
rc=0
out=$(scepctl ca create tok --key-uri "pkcs11:token=scep;object=tok-ca?pin-value=123456" 2>&1) || rc=$?
[[ $rc != 0 && $out == *"pin-source=file:"* ]] || fail "pin-value= in --key-uri accepted or unclear: $out"
rc=0
out=$(scepctl ca create tok --key-uri "pkcs11:token=scep;objet=tok-ca" 2>&1) || rc=$?
[[ $rc != 0 && $out == *'"objet"'* ]] || fail "an unknown URI attribute accepted or unclear: $out"

printf '\n[pkcs11]\nmodule = "%s"\n' "$MODULE" >>"$STORE/scep.toml"

# ---- 2. the CAs.
scepctl ca create tok --subject "CN=Token CA,O=scep tests" --key-uri "$(uri tok-ca)" --default \
  >"$WORK/ca-tok.out" 2>&1 || fail "ca create tok --key-uri: $(cat "$WORK/ca-tok.out")"
[[ -f $STORE/ca/tok/key.uri && ! -e $STORE/ca/tok/key.pem ]] || fail "ca/tok: $(ls "$STORE/ca/tok")"
[[ $(cat "$STORE/ca/tok/key.uri") == "$(uri tok-ca)" ]] || fail "key.uri holds $(cat "$STORE/ca/tok/key.uri")"
[[ $(stat -c %a "$STORE/ca/tok/key.uri") == 640 ]] || fail "key.uri has mode $(stat -c %a "$STORE/ca/tok/key.uri")"
scepctl ca create ectok --subject "CN=EC Token CA,O=scep tests" --key-uri "$(uri ec-ca)" --key-type ec-p256 \
  >"$WORK/ca-ectok.out" 2>&1 || fail "ca create ectok --key-uri --key-type ec-p256: $(cat "$WORK/ca-ectok.out")"
[[ -f $STORE/ca/ectok/key.uri && -f $STORE/ca/ectok/ra-key.pem && ! -e $STORE/ca/ectok/key.pem ]] ||
  fail "ca/ectok: $(ls "$STORE/ca/ectok")"
# The existing object again under another CA name: its type (EC) wins; a
# conflicting --key-type is refused and leaves nothing.
rc=0
out=$(scepctl ca create clash --key-uri "$(uri ec-ca)" --key-type rsa-2048 2>&1) || rc=$?
[[ $rc != 0 && $out == *"already holds"* ]] || fail "a conflicting --key-type for a token key: exit $rc: $out"
[[ ! -e $STORE/ca/clash ]] || fail "a refused ca create left ca/clash"
for ca in tok ectok; do
  scepctl export "$ca" >"$WORK/$ca.pem" || fail "scepctl export $ca"
  openssl verify -CAfile "$WORK/$ca.pem" "$WORK/$ca.pem" >/dev/null || fail "the $ca certificate does not verify"
done
openssl x509 -in "$WORK/ectok.pem" -noout -text | grep -q 'Signature Algorithm: ecdsa-with-SHA256' ||
  fail "the EC token CA is not signed ecdsa-with-SHA256"
# A create that fails after making its key on the token: no CA, and the
# message says where the unused key is.
rc=0
out=$(scepctl ca create orphan --subject "not a DN" --key-uri "$(uri orphan-ca)" 2>&1) || rc=$?
[[ $rc != 0 && $out == *"stays there"*"object=orphan-ca"* ]] || fail "a failed ca create --key-uri: exit $rc: $out"
[[ ! -e $STORE/ca/orphan ]] || fail "a failed ca create --key-uri left ca/orphan"
# ca import --key-uri: the certificate from a file, the key on the token;
# a key that does not match the certificate is refused (exit 2).
rc=0
out=$(scepctl ca import wrongkey --cert "$WORK/tok.pem" --key-uri "$(uri ec-ca)" 2>&1) || rc=$?
[[ $rc == 2 && $out == *"does not match"* ]] || fail "ca import of a mismatched token key: exit $rc: $out"
[[ ! -e $STORE/ca/wrongkey ]] || fail "a refused ca import left ca/wrongkey"
scepctl ca import tokimp --cert "$WORK/tok.pem" --key-uri "$(uri tok-ca)" >"$WORK/import.out" 2>&1 ||
  fail "ca import --key-uri: $(cat "$WORK/import.out")"
[[ -f $STORE/ca/tokimp/key.uri && ! -e $STORE/ca/tokimp/key.pem ]] || fail "ca/tokimp: $(ls "$STORE/ca/tokimp")"
scepctl ca show tok >"$WORK/show.out" || fail "ca show tok"
grep -qF "private key: $(uri tok-ca) (RSA 2048, matches certificate)" "$WORK/show.out" ||
  fail "ca show does not say where the key is: $(grep -i 'private' "$WORK/show.out")"
scepctl check >"$WORK/check.out" 2>&1 || fail "scepctl check: $(cat "$WORK/check.out")"
grep -qF "CA key: $(uri ec-ca) (EC 256, matches certificate)" "$WORK/check.out" ||
  fail "check does not report the EC key: $(cat "$WORK/check.out")"

scepctl policy create device --days 30 --eku clientAuth --key-usage digitalSignature,keyEncipherment >/dev/null ||
  fail "scepctl policy create"
legacy_on tok
legacy_on ectok
KU="Digital Signature, Key Encipherment"
EKU="TLS Web Client Authentication"
C="$WORK/clients"

# FastCGI: scep.cgi under spawn-fcgi on a socket (as scep-fastcgi.socket
# runs it), lighttpd's shipped scep-fastcgi.conf in front.
start_fastcgi_token() {
  local snippet sock="$WORK/scep.sock"
  start_bg "$WORK/spawn-fcgi.log" env SCEP_STORE="$STORE" SCEP_FASTCGI_THREADS=2 spawn-fcgi -n -s "$sock" -M 0600 \
    -- "$SCEP_CGI_BIN"
  wait_for_socket "$sock" "$BG_PID" "$WORK/spawn-fcgi.log"
  snippet=$(shipped lighttpd/scep-fastcgi.conf)
  sed '/^var\.scep_socket[[:space:]]*=/d' "$snippet" >"$WORK/lighttpd-fcgi-snippet.conf"
  FCGI_PORT=$(free_port)
  lighttpd_conf lighttpd-fcgi "$FCGI_PORT" '"mod_access", "mod_accesslog"' "var.scep_socket = \"$sock\"" \
    "$WORK/lighttpd-fcgi-snippet.conf"
  start_bg "$WORK/lighttpd-fcgi.log" lighttpd -D -f "$WORK/lighttpd-fcgi.conf"
  wait_for_port "$FCGI_PORT" "$BG_PID"
  FCGI_URL="http://127.0.0.1:$FCGI_PORT/scep"
}

start_serve
# scep.cgi also needs SOFTHSM2_CONF.
start_lighttpd "\"SOFTHSM2_CONF\" => \"$SOFTHSM2_CONF\""
start_fastcgi_token
TOK_FP=$(openssl x509 -in "$WORK/tok.pem" -outform DER | sha256sum | cut -d' ' -f1)

# ---- 3. scepclient through serve (RSA token CA), renewal, through scep.cgi.
S=$(new_secret tok device)
scepclient_run "$C/serve" "$SERVE_URL/tok" "$S" dev-serve -ca-fingerprint "$TOK_FP"
expect_scepclient_ok "$C/serve"
same_key "$C/serve/cert.pem" "$C/serve/key.pem"
SERIAL1=$(check_issued "$C/serve/cert.pem" tok dev-serve 30 "$KU" "$EKU")
cp "$C/serve/cert.pem" "$C/serve/cert.first.pem"
scepclient_run "$C/serve" "$SERVE_URL/tok" "" dev-serve -ca-fingerprint "$TOK_FP"
expect_scepclient_ok "$C/serve"
RENEWED=$(cert_serial "$C/serve/cert.pem")
[[ $RENEWED != "$SERIAL1" ]] || fail "the renewal gave back $SERIAL1"
openssl verify -CAfile "$WORK/tok.pem" "$C/serve/cert.pem" >/dev/null || fail "the renewed certificate does not verify"
audit_one outcome=renewed serial="$RENEWED" >/dev/null

S=$(new_secret tok device)
scepclient_run "$C/cgi" "$LIGHTTPD_URL/tok" "$S" dev-cgi -ca-fingerprint "$TOK_FP"
expect_scepclient_ok "$C/cgi"
SERIAL2=$(check_issued "$C/cgi/cert.pem" tok dev-cgi 30 "$KU" "$EKU")

S=$(new_secret tok device)
scepclient_run "$C/fcgi" "$FCGI_URL/tok" "$S" dev-fcgi -ca-fingerprint "$TOK_FP"
expect_scepclient_ok "$C/fcgi"
check_issued "$C/fcgi/cert.pem" tok dev-fcgi 30 "$KU" "$EKU" >/dev/null

# ---- 4. the EC token CA through serve (scepclient pinned to its RSA RA).
scepctl export ectok --ra >"$WORK/ectok-ra.pem" || fail "scepctl export ectok --ra"
RA_FP=$(openssl x509 -in "$WORK/ectok-ra.pem" -outform DER | sha256sum | cut -d' ' -f1)
S=$(new_secret ectok device)
scepclient_run "$C/ec" "$SERVE_URL/ectok" "$S" dev-ec -ca-fingerprint "$RA_FP"
expect_scepclient_ok "$C/ec"
check_issued "$C/ec/cert.pem" ectok dev-ec 30 "$KU" "$EKU" >/dev/null
openssl x509 -in "$C/ec/cert.pem" -noout -text | grep -q 'Signature Algorithm: ecdsa-with-SHA256' ||
  fail "the EC token CA's certificate is not signed ecdsa-with-SHA256"

# ---- 5. certmonger through serve.
start_certmonger
# (-N: certmonger trusts a CA without an RA only when given its certificate)
certmonger_add_ca tokca "$SERVE_URL" tok -N "$WORK/tok.pem"
S=$(new_secret tok device)
certmonger_request cm1 tokca dev-certmonger "$S"
[[ $(certmonger_status cm1) == MONITORING ]] ||
  fail "certmonger: status $(certmonger_status cm1): $(cat "$CM/out/cm1.list")"
CM1=$(check_issued "$CM/out/cm1.cert.pem" tok dev-certmonger 30 "$KU" "$EKU")
# Its renewal (getcert resubmit: the same key, signed by the old certificate).
rc=0
timeout 120 getcert resubmit -s -i cm1 -w --wait-timeout=90 >"$CM/out/cm1.resubmit" 2>&1 || rc=$?
getcert list -s -i cm1 >"$CM/out/cm1.list" 2>&1 || fail "getcert list -i cm1"
[[ $(certmonger_status cm1) == MONITORING ]] ||
  fail "getcert resubmit: exit $rc, status $(certmonger_status cm1): $(cat "$CM/out/cm1.list")"
CM2=$(cert_serial "$CM/out/cm1.cert.pem")
[[ $CM2 != "$CM1" ]] || fail "certmonger's renewal gave back $CM1"
openssl verify -CAfile "$WORK/tok.pem" "$CM/out/cm1.cert.pem" >/dev/null || fail "certmonger's renewed certificate"
[[ $(jget "$(audit_one outcome=renewed serial="$CM2")" detail) == "renewal of $CM1" ]] || fail "no renewal of $CM1"

# ---- 6. revoke + CRL, signed on the token.
scepctl revoke "$SERIAL2" --ca tok --reason keyCompromise >"$WORK/revoke.out" 2>&1 ||
  fail "scepctl revoke $SERIAL2: $(cat "$WORK/revoke.out")"
http GET "$SERVE_URL/tok/crl"
expect_response 200 application/pkix-crl
openssl crl -inform DER -in "$WORK/resp.body" -out "$WORK/crl.pem" || fail "not a DER CRL"
openssl crl -in "$WORK/crl.pem" -CAfile "$WORK/tok.pem" -noout 2>&1 | grep -qx 'verify OK' ||
  fail "the CRL does not verify against the token CA"
openssl crl -in "$WORK/crl.pem" -noout -text | grep -q "Serial Number: $SERIAL2" || fail "the CRL does not list $SERIAL2"

# ---- 7. ra create --key-uri: the RA key on the token too, made there.
scepctl ra create tok --key-uri "$(uri tok-ra)" >"$WORK/ra.out" 2>&1 || fail "ra create --key-uri: $(cat "$WORK/ra.out")"
[[ -f $STORE/ca/tok/ra-key.uri && ! -e $STORE/ca/tok/ra-key.pem ]] || fail "ca/tok: $(ls "$STORE/ca/tok")"
scepctl export tok --ra >"$WORK/tok-ra.pem" || fail "scepctl export tok --ra"
TOKRA_FP=$(openssl x509 -in "$WORK/tok-ra.pem" -outform DER | sha256sum | cut -d' ' -f1)
S=$(new_secret tok device)
scepclient_run "$C/cgi-ra" "$LIGHTTPD_URL/tok" "$S" dev-cgi-ra -ca-fingerprint "$TOKRA_FP"
expect_scepclient_ok "$C/cgi-ra"
check_issued "$C/cgi-ra/cert.pem" tok dev-cgi-ra 30 "$KU" "$EKU" >/dev/null

# ---- 8. a wrong PIN: scep.cgi 503 (a login per request), check exit 6;
# the running server keeps its login.
echo 999999 >"$PIN"
S=$(new_secret tok device)
scepclient_run "$C/cgi-badpin" "$LIGHTTPD_URL/tok" "$S" dev-badpin -ca-fingerprint "$TOKRA_FP"
[[ $SC_RC != 0 && ! -s $C/cgi-badpin/cert.pem ]] || fail "scep.cgi enrolled with a wrong PIN"
wait_for_log "$WORK/lighttpd-access.log" '"POST /scep/tok\?operation=PKIOperation HTTP/1\.1" 503 ' 10
# A server started now cannot log in either: 503, the reason in its log
# (lighttpd's error log is no reliable witness of a CGI's stderr).
OLD_SERVE_URL=$SERVE_URL
start_serve serve-badpin.log
scepclient_run "$C/serve2-badpin" "$SERVE_URL/tok" "$S" dev-serve2-badpin -ca-fingerprint "$TOKRA_FP"
[[ $SC_RC != 0 && ! -s $C/serve2-badpin/cert.pem ]] || fail "a server started with a wrong PIN enrolled"
wait_for_log "$WORK/serve-badpin.log" 'status=503 .*wrong PIN' 10
SERVE_URL=$OLD_SERVE_URL
rc=0
scepctl check >"$WORK/check-badpin.out" 2>&1 || rc=$?
[[ $rc == 6 ]] || fail "scepctl check with a wrong PIN: exit $rc, want 6: $(cat "$WORK/check-badpin.out")"
grep -q 'wrong PIN' "$WORK/check-badpin.out" || fail "check does not say the PIN is wrong: $(cat "$WORK/check-badpin.out")"
scepclient_run "$C/serve-badpin" "$SERVE_URL/tok" "$S" dev-serve-badpin -ca-fingerprint "$TOKRA_FP"
expect_scepclient_ok "$C/serve-badpin"
# FastCGI keeps its login too: it logged in for its enrollment in 3., and
# loads the RA key (new since 7.) under that login, without the PIN.
S=$(new_secret tok device)
scepclient_run "$C/fcgi-badpin" "$FCGI_URL/tok" "$S" dev-fcgi-badpin -ca-fingerprint "$TOKRA_FP"
expect_scepclient_ok "$C/fcgi-badpin"
echo 123456 >"$PIN"

# ---- 9. the token gone: 503 from scep.cgi, and it comes back.
mv "$WORK/tokens" "$WORK/tokens.away"
mkdir "$WORK/tokens"
n503=$(grep -c '" 503 ' "$WORK/lighttpd-access.log" || true)
S=$(new_secret tok device)
scepclient_run "$C/cgi-gone" "$LIGHTTPD_URL/tok" "$S" dev-gone -ca-fingerprint "$TOKRA_FP"
[[ $SC_RC != 0 && ! -s $C/cgi-gone/cert.pem ]] || fail "scep.cgi enrolled without its token"
for ((i = 0; i < 100; i++)); do
  (($(grep -c '" 503 ' "$WORK/lighttpd-access.log" || true) > n503)) && break
  sleep 0.1
done
(($(grep -c '" 503 ' "$WORK/lighttpd-access.log" || true) > n503)) || fail "no 503 from scep.cgi without its token"
rmdir "$WORK/tokens"
mv "$WORK/tokens.away" "$WORK/tokens"
S=$(new_secret tok device)
scepclient_run "$C/cgi-back" "$LIGHTTPD_URL/tok" "$S" dev-back -ca-fingerprint "$TOKRA_FP"
expect_scepclient_ok "$C/cgi-back"

# ---- 10. no private key of a token CA ever reached the store.
found=$(find "$STORE/ca/tok" "$STORE/ca/ectok" "$STORE/ca/tokimp" -name key.pem)
[[ -z $found ]] || fail "a token CA has a key.pem: $found"
[[ $(grep -rl 'PRIVATE KEY' "$STORE" | grep -v '/ca/ectok/ra-key.pem$' || true) == "" ]] ||
  fail "a private key in the store: $(grep -rl 'PRIVATE KEY' "$STORE")"

# ---- 11. rollover with the next key on the token.
rc=0
out=$(scepctl ca rollover tok --key-uri "$(uri tok-ca)" 2>&1) || rc=$?
[[ $rc == 2 && $out == *"current CA key"* ]] || fail "a rollover to the current token key: exit $rc: $out"
[[ ! -e $STORE/ca/tok/next ]] || fail "a refused rollover left ca/tok/next"
scepctl ca rollover tok --key-uri "$(uri tok-ca-2)" >"$WORK/rollover.out" 2>&1 ||
  fail "ca rollover --key-uri: $(cat "$WORK/rollover.out")"
[[ $(cat "$STORE/ca/tok/next/key.uri") == "$(uri tok-ca-2)" && ! -e $STORE/ca/tok/next/key.pem ]] ||
  fail "ca/tok/next: $(ls "$STORE/ca/tok/next")"
http GET "$SERVE_URL/tok?operation=GetNextCACert"
expect_response 200 application/x-x509-next-ca-cert
openssl cms -verify -inform DER -in "$WORK/resp.body" -CAfile "$WORK/tok.pem" -out "$WORK/next.p7" \
  >/dev/null 2>"$WORK/next.verify" || fail "GetNextCACert does not verify: $(cat "$WORK/next.verify")"
openssl pkcs7 -inform DER -in "$WORK/next.p7" -print_certs -out "$WORK/next-certs.pem" ||
  fail "GetNextCACert's content is no PKCS#7"
[[ $(grep -c 'BEGIN CERTIFICATE' "$WORK/next-certs.pem") == 2 ]] || fail "GetNextCACert: not the next CA and RA"
scepctl ca activate tok >"$WORK/activate.out" 2>&1 || fail "ca activate tok: $(cat "$WORK/activate.out")"
[[ $(cat "$STORE/ca/tok/key.uri") == "$(uri tok-ca-2)" && ! -e $STORE/ca/tok/key.pem ]] ||
  fail "ca/tok after activation: $(ls "$STORE/ca/tok")"
retired=$(ls "$STORE/ca/tok/retired")
[[ $(cat "$STORE/ca/tok/retired/$retired/key.uri") == "$(uri tok-ca)" ]] ||
  fail "retired/$retired does not keep the old key.uri: $(ls "$STORE/ca/tok/retired/$retired")"
scepctl export tok >"$WORK/tok2.pem" || fail "scepctl export tok"
scepctl export tok --ra >"$WORK/tok2-ra.pem" || fail "scepctl export tok --ra"
TOKRA2_FP=$(openssl x509 -in "$WORK/tok2-ra.pem" -outform DER | sha256sum | cut -d' ' -f1)
for via in serve cgi; do
  url=$SERVE_URL
  [[ $via == cgi ]] && url=$LIGHTTPD_URL
  S=$(new_secret tok device)
  scepclient_run "$C/next-$via" "$url/tok" "$S" "dev-next-$via" -ca-fingerprint "$TOKRA2_FP"
  expect_scepclient_ok "$C/next-$via"
  openssl verify -CAfile "$WORK/tok2.pem" "$C/next-$via/cert.pem" >/dev/null ||
    fail "a certificate issued after the activation ($via) does not verify under the next CA"
done
scepctl check >"$WORK/check2.out" 2>&1 || fail "check after a token rollover: $(cat "$WORK/check2.out")"

# A CA with a key file rolls over to a token key, and back to a file.
scepctl ca create filek --subject "CN=File Key CA,O=scep tests" >/dev/null || fail "ca create filek"
scepctl ca rollover filek --key-uri "$(uri filek-2)" >/dev/null 2>"$WORK/rollover2.err" ||
  fail "ca rollover filek --key-uri: $(cat "$WORK/rollover2.err")"
scepctl ca activate filek >/dev/null 2>"$WORK/activate2.err" || fail "ca activate filek: $(cat "$WORK/activate2.err")"
[[ -f $STORE/ca/filek/key.uri && ! -e $STORE/ca/filek/key.pem ]] || fail "ca/filek: $(ls "$STORE/ca/filek")"
[[ -n $(find "$STORE/ca/filek/retired" -name key.pem) ]] || fail "the retired file generation lost its key.pem"
scepctl ca show filek | grep -qF "private key: $(uri filek-2) (RSA 2048, matches certificate)" ||
  fail "ca show filek after a rollover to the token: $(scepctl ca show filek 2>&1 | grep -i private)"
scepctl ca rollover filek >/dev/null 2>"$WORK/rollover3.err" || fail "ca rollover filek: $(cat "$WORK/rollover3.err")"
scepctl ca activate filek >/dev/null 2>"$WORK/activate3.err" || fail "ca activate filek: $(cat "$WORK/activate3.err")"
[[ -f $STORE/ca/filek/key.pem && ! -e $STORE/ca/filek/key.uri ]] || fail "ca/filek: $(ls "$STORE/ca/filek")"
[[ $(stat -c %a "$STORE/ca/filek/key.pem") == 600 ]] || fail "key.pem has mode $(stat -c %a "$STORE/ca/filek/key.pem")"
scepctl check >"$WORK/check3.out" 2>&1 || fail "check after rollovers to and from a token: $(cat "$WORK/check3.out")"
log "ok"
