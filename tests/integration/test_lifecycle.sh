#!/bin/bash
# The certificate lifecycle with a real client, through `scepctl serve` and
# scep.cgi under lighttpd: micromdm scepclient enrolls with a one-time
# secret, renews (run again in the same directory: key.pem, csr.pem and
# cert.pem kept, so it sends a RenewalReq signed by cert.pem, no challenge
# checked) and renews the renewed certificate; the operator revokes
# (`scepctl revoke`), the CRL served over HTTP lists it and openssl rejects
# the certificate with it; a revoked certificate cannot renew; `scepctl
# certs`, `scepctl check` and scepctl's error exits.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enroll_lib.sh"
require_cmd scepclient lighttpd curl openssl "$PYTHON"

STORE="$WORK/store"
scepctl ca create main --subject "CN=Lifecycle CA,O=scep tests" --key-bits 2048 --default >/dev/null || fail "ca create main"
scepctl ca create other --subject "CN=Other CA" --key-bits 2048 >/dev/null || fail "ca create other"
legacy_on main
scepctl policy create dev --days 30 --eku clientAuth --key-usage digitalSignature,keyEncipherment >/dev/null ||
  fail "policy create"
scepctl export main >"$WORK/ca.pem"
scepctl export other >"$WORK/other.pem"
start_serve
start_lighttpd
C="$WORK/clients"

# renew DIR URL — scepclient once more in DIR: a renewal of DIR/cert.pem
# (kept as DIR/cert.SERIAL.pem). Checks the new certificate; sets RENEWED.
renew() {
  local dir=$1 url=$2 old n line end
  old=$(cert_serial "$dir/cert.pem")
  n=$(cert_count main)
  cp "$dir/cert.pem" "$dir/cert.$old.pem"
  scepclient_run "$dir" "$url" "" "$(basename "$dir")"
  expect_scepclient_ok "$dir"
  RENEWED=$(cert_serial "$dir/cert.pem")
  [[ $RENEWED != "$old" ]] || fail "renewal of $old gave back the same certificate"
  [[ $(cert_count main) == $((n + 1)) ]] || fail "renewal of $old: $(cert_count main) certificates, want $((n + 1))"
  openssl verify -CAfile "$WORK/ca.pem" "$dir/cert.pem" >"$WORK/verify.out" 2>&1 ||
    fail "renewed $RENEWED does not verify: $(cat "$WORK/verify.out")"
  [[ $(openssl x509 -in "$dir/cert.pem" -noout -subject) == "$(openssl x509 -in "$dir/cert.$old.pem" -noout -subject)" ]] ||
    fail "renewal changed the subject to $(openssl x509 -in "$dir/cert.pem" -noout -subject)"
  same_key "$dir/cert.pem" "$dir/key.pem"
  [[ $(fp_pem "$STORE/ca/main/certs/$RENEWED.pem") == "$(fp_pem "$dir/cert.pem")" ]] || fail "store lacks $RENEWED"
  end=$(date -d "$(openssl x509 -in "$dir/cert.pem" -noout -enddate | sed 's/^notAfter=//')" +%s)
  ((end > $(date +%s) + 30 * 86400 - 600 && end < $(date +%s) + 30 * 86400 + 600)) ||
    fail "renewed $RENEWED does not last the 30 days of the old certificate's policy"
  line=$(audit_one outcome=renewed serial="$RENEWED")
  [[ $(jget "$line" detail) == "renewal of $old" ]] || fail "renewed audit line: $line"
  [[ $(jget "$line" operation) == RenewalReq && $(jget "$line" policy) == dev && -z $(jget "$line" secret_id) ]] ||
    fail "renewed audit line: $line"
}

# lifecycle NAME URL — enroll with a secret, renew, renew the renewed one;
# the first certificate cannot renew a second time. Sets FIRST and CURRENT.
lifecycle() {
  local dir="$C/$1" url=$2 secret sid n
  http GET "$url?operation=GetCACaps"
  expect_response 200 text/plain
  grep -qx 'Renewal' <(tr -d '\r' <"$WORK/resp.body") || fail "$LAST_REQUEST lacks Renewal: $(cat "$WORK/resp.body")"
  secret=$(new_secret main dev)
  sid=$(cat "$WORK/secret.id")
  scepclient_run "$dir" "$url" "$secret" "$1"
  expect_scepclient_ok "$dir"
  FIRST=$(check_issued "$dir/cert.pem" main "$1" 30 "Digital Signature, Key Encipherment" "TLS Web Client Authentication")
  renew "$dir" "$url"
  local second=$RENEWED
  # csr.pem still carries the spent secret; a renewal neither checks nor uses it.
  [[ $(audit_count secret_id="$sid" operation!=secret-create) == 1 && $(secret_field "$sid" uses_left) == 0 ]] || fail "renewal touched the secret"
  renew "$dir" "$url"
  CURRENT=$RENEWED
  [[ $(jget "$(audit_one serial="$CURRENT")" detail) == "renewal of $second" ]] || fail "second renewal is not of $second"
  # The first certificate again: it has renewed once, nothing new is issued.
  n=$(cert_count main)
  cp "$dir/cert.pem" "$dir/cert.$CURRENT.pem"
  cp "$dir/cert.$FIRST.pem" "$dir/cert.pem"
  scepclient_run "$dir" "$url" "" "$1"
  [[ $(cert_count main) == "$n" && $(audit_count outcome=renewed detail="renewal of $FIRST") == 1 ]] ||
    fail "$FIRST renewed twice: $(tail -n 1 "$STORE/audit.log")"
  [[ $SC_RC != 0 || $(cert_serial "$dir/cert.pem") == "$CURRENT" ]] || fail "a second renewal of $FIRST was answered"
  cp "$dir/cert.$CURRENT.pem" "$dir/cert.pem"
}

lifecycle serve "$SERVE_URL"
SV_CUR=$CURRENT
lifecycle cgi "$LIGHTTPD_URL/main"
CG_FIRST=$FIRST CG_CUR=$CURRENT

# crl URL OUT — the CRL at URL (DER, application/pkix-crl) to OUT.der and
# OUT.pem; it verifies with the CA certificate and not with another CA's.
crl() {
  http GET "$1"
  expect_response 200 application/pkix-crl
  cp "$WORK/resp.body" "$2.der"
  openssl crl -inform DER -in "$2.der" -out "$2.pem" || fail "$1: not a DER CRL"
  openssl crl -in "$2.pem" -CAfile "$WORK/ca.pem" -noout 2>&1 | grep -qx 'verify OK' || fail "$1: CRL does not verify"
  ! openssl crl -in "$2.pem" -CAfile "$WORK/other.pem" -noout >/dev/null 2>&1 || fail "$1: CRL verifies with another CA"
}
crl_number() { echo $((16#$(openssl crl -in "$1" -noout -crlnumber | sed 's/^crlNumber=0x//'))); }
# crl_entry CRL SERIAL — the reason line of SERIAL's entry ("" when none).
crl_entry() { openssl crl -in "$1" -noout -text | grep -A4 "Serial Number: $2\$" | sed -n 's/^ *\([A-Z][A-Za-z ]*\)$/\1/p'; }

# ---- before any revocation: the first request makes an empty CRL.
crl "$LIGHTTPD_URL/main/crl" "$WORK/crl0"
openssl crl -in "$WORK/crl0.pem" -noout -text | grep -q 'No Revoked Certificates' || fail "fresh CRL lists revocations"
n0=$(crl_number "$WORK/crl0.pem")

# ---- revoke serve's current certificate.
scepctl revoke "$SV_CUR" --reason keyCompromise >"$WORK/revoke.out" || fail "scepctl revoke $SV_CUR"
n1=$(sed -n 's/^.*CRL number \([0-9]*\) published$/\1/p' "$WORK/revoke.out")
((n1 > n0)) || fail "revoke published CRL number \"$n1\", not above $n0: $(cat "$WORK/revoke.out")"
for url in "$SERVE_URL/main/crl" "$SERVE_URL?operation=GetCRL&message=main" \
  "$LIGHTTPD_URL/main/crl" "$LIGHTTPD_URL?operation=GetCRL&message=main"; do
  crl "$url" "$WORK/crl1"
  [[ $(crl_number "$WORK/crl1.pem") == "$n1" ]] || fail "$url: CRL number $(crl_number "$WORK/crl1.pem"), want $n1"
  [[ $(crl_entry "$WORK/crl1.pem" "$SV_CUR") == "Key Compromise" ]] || fail "$url: no keyCompromise entry for $SV_CUR"
done
vfy() { openssl verify -crl_check -CRLfile "$1" -CAfile "$WORK/ca.pem" "$2" 2>&1; }
out=$(vfy "$WORK/crl1.pem" "$C/serve/cert.pem") && fail "openssl verify -crl_check accepts revoked $SV_CUR"
grep -q 'certificate revoked' <<<"$out" || fail "verify of revoked $SV_CUR: $out"
vfy "$WORK/crl1.pem" "$C/cgi/cert.pem" >/dev/null || fail "verify -crl_check rejects $CG_CUR: $(vfy "$WORK/crl1.pem" "$C/cgi/cert.pem")"

# ---- a second revocation (an old, superseded certificate): a higher number.
scepctl revoke "$CG_FIRST" --reason superseded >/dev/null || fail "scepctl revoke $CG_FIRST"
crl "$SERVE_URL/main/crl" "$WORK/crl2"
n2=$(crl_number "$WORK/crl2.pem")
((n2 > n1)) || fail "CRL number $n2 after the second revocation, not above $n1"
[[ $(crl_entry "$WORK/crl2.pem" "$CG_FIRST") == Superseded && $(crl_entry "$WORK/crl2.pem" "$SV_CUR") == "Key Compromise" ]] ||
  fail "second CRL: $(openssl crl -in "$WORK/crl2.pem" -noout -text | grep -A4 'Serial Number')"
vfy "$WORK/crl2.pem" "$C/cgi/cert.pem" >/dev/null || fail "verify -crl_check rejects the current $CG_CUR"
# A damaged crl.der in the store: the next request re-signs it, numbered higher.
echo damaged >"$STORE/ca/main/crl.der"
crl "$LIGHTTPD_URL?operation=GetCRL&message=main" "$WORK/crl3"
(($(crl_number "$WORK/crl3.pem") > n2)) || fail "CRL re-signed over a damaged one has number $(crl_number "$WORK/crl3.pem")"
[[ $(crl_entry "$WORK/crl3.pem" "$CG_FIRST") == Superseded ]] || fail "CRL re-signed over a damaged one lacks $CG_FIRST"
# serve keeps the CRL it served in memory, and sees a damaged crl.der at its
# next GetCRL (inotify): signed again, never served.
crl "$SERVE_URL/main/crl" "$WORK/crl4"
cmp -s "$WORK/crl4.der" "$STORE/ca/main/crl.der" || fail "serve does not serve the stored CRL"
crl "$SERVE_URL?operation=GetCRL&message=main" "$WORK/crl4b"
cmp -s "$WORK/crl4.der" "$WORK/crl4b.der" || fail "serve re-signed an unchanged CRL"
echo damaged >"$STORE/ca/main/crl.der"
crl "$SERVE_URL/main/crl" "$WORK/crl5"
(($(crl_number "$WORK/crl5.pem") > $(crl_number "$WORK/crl4.pem"))) ||
  fail "serve re-signed a damaged CRL as number $(crl_number "$WORK/crl5.pem")"
[[ $(crl_entry "$WORK/crl5.pem" "$CG_FIRST") == Superseded ]] || fail "serve's CRL over a damaged one lacks $CG_FIRST"
cmp -s "$WORK/crl5.der" "$STORE/ca/main/crl.der" || fail "serve did not store the CRL it signed"
cp "$STORE/ca/main/crl.der" "$WORK/crl.kept"

# ---- the revoked certificate cannot renew.
n=$(cert_count main)
cp "$C/serve/cert.pem" "$WORK/revoked.pem"
scepclient_run "$C/serve" "$SERVE_URL" "" serve
[[ $SC_RC != 0 ]] || fail "renewal signed by revoked $SV_CUR succeeded"
grep -q 'failInfo: badRequest' "$C/serve/out" || fail "revoked renewal: $(tail -n 2 "$C/serve/out")"
cmp -s "$C/serve/cert.pem" "$WORK/revoked.pem" || fail "revoked renewal replaced cert.pem"
[[ $(cert_count main) == "$n" ]] || fail "a certificate was issued to a revoked signer"
audit_one outcome=failure fail_info=badRequest detail="certificate $SV_CUR is revoked (keyCompromise)" >/dev/null

# ---- scepctl certs --json: every certificate with its status.
scepctl certs --json >"$WORK/certs.json" || fail "scepctl certs --json"
got=$("$PYTHON" -c '
import json, sys
for c in sorted(json.load(open(sys.argv[1])), key=lambda c: c["serial"]):
    print(c["serial"], c["status"], c.get("reason", "-"), c["ca"], c["policy"])' "$WORK/certs.json")
want=$(for f in "$STORE"/ca/main/certs/*.pem; do
  s=$(basename "$f" .pem)
  case $s in "$SV_CUR") echo "$s revoked keyCompromise main dev" ;; "$CG_FIRST") echo "$s revoked superseded main dev" ;;
  *) echo "$s valid - main dev" ;; esac
done | sort)
[[ $got == "$want" && $(wc -l <<<"$got") == 6 ]] || fail "scepctl certs --json:$(printf '\n%s\nwant:\n%s' "$got" "$want")"
[[ $(scepctl certs --revoked --json | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)))') == 2 ]] ||
  fail "scepctl certs --revoked does not list exactly the 2 revoked certificates"

# ---- scepctl check: a sound store, then a damaged one.
scepctl check >"$WORK/check.out" 2>&1 || fail "scepctl check on a sound store: $(cat "$WORK/check.out")"
grep -qx 'store ok' "$WORK/check.out" || fail "scepctl check: $(cat "$WORK/check.out")"
chmod 644 "$STORE/ca/main/key.pem"
rc=0
scepctl check >"$WORK/check.out" 2>"$WORK/check.err" || rc=$?
[[ $rc == 5 ]] || fail "scepctl check with a world-readable CA key: exit $rc, want 5"
grep -Eq "problem: .*/ca/main/key\.pem .*644" "$WORK/check.out" || fail "scepctl check: $(cat "$WORK/check.out")"
[[ $(wc -l <"$WORK/check.err") == 1 ]] || fail "scepctl check: stderr is not one line: $(cat "$WORK/check.err")"
chmod 640 "$STORE/ca/main/key.pem" # for the web server's group: allowed
scepctl check >"$WORK/check.out" 2>&1 || fail "scepctl check with a 0640 CA key: $(cat "$WORK/check.out")"
chmod 600 "$STORE/ca/main/key.pem"

# ---- scepctl revoke errors: exit status, one line on stderr, no new CRL.
revoke_err() { # WANT_RC ARGS...
  local want=$1 rc=0
  shift
  scepctl revoke "$@" >"$WORK/err.out" 2>"$WORK/err.err" || rc=$?
  [[ $rc == "$want" ]] || fail "scepctl revoke $*: exit $rc, want $want"
  [[ $(wc -l <"$WORK/err.err") == 1 && $(head -c 16 "$WORK/err.err") == "scepctl: error: " ]] ||
    fail "scepctl revoke $*: stderr is not one error line: $(cat "$WORK/err.err")"
  [[ ! -s $WORK/err.out ]] || fail "scepctl revoke $* printed on stdout: $(cat "$WORK/err.out")"
}
revoke_err 4 "$SV_CUR"
grep -q 'already revoked' "$WORK/err.err" || fail "revoke twice: $(cat "$WORK/err.err")"
revoke_err 3 DEADBEEF
revoke_err 2 "$CG_CUR" --reason notAReason
grep -q 'keyCompromise' "$WORK/err.err" || fail "bad reason: the error does not list the reasons"
cmp -s "$STORE/ca/main/crl.der" "$WORK/crl.kept" || fail "a failed scepctl revoke re-signed the CRL"
[[ $(scepctl certs --revoked --json | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)))') == 2 ]] ||
  fail "a failed scepctl revoke revoked something"
audit_all_json >/dev/null || fail "audit.log is not JSON lines"
log "ok"
