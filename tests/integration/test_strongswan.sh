#!/bin/bash
# strongSwan's SCEP client, `pki --scepca` and `pki --scep` (Debian
# strongswan-pki; the curl fetcher comes with libstrongswan-extra-plugins),
# with its defaults (AES-128-CBC, SHA-256, PKCS#1 v1.5 signatures) against
# `scepctl serve`:
#  1. --scepca fetches the CA (plain CA) and the RA and CA (RA CA): the files
#     it writes are the certificates scepctl exports.
#  2. enrollment with a challenge password, plain CA and RA CA. strongSwan
#     5.9.8 reads GetCACaps with a bit-shift bug (strongswan/strongswan#1607)
#     and finds AES only when SHA-384 is listed: before, it stopped with
#     "AES_CBC encryption algorithm not supported by CA".
#  3. manual approval: no password, pki polls (--interval 1, --maxpolltime)
#     while the test approves the request by its fingerprint; a request
#     nobody approves makes pki give up at --maxpolltime and stays pending.
#  4. renewal: --cert/--key of the first certificate and a new key, a
#     RenewalReq signed by the old certificate, no secret spent.
#  5. RSASSA-PSS: `pki --scep --rsa-padding pss` (PSS PKCS#10, PSS message
#     signature), and a PKCS#10 from `openssl req -sigopt
#     rsa_padding_mode:pss` sent by scep_client.py with a PSS message
#     signature. Before, both were refused badAlg ("the PKCS#10 signature
#     digest is not allowed by the policy"). The reply is PKCS#1 v1.5, which
#     is all strongSwan 5.9.8 verifies.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enroll_lib.sh"
require_cmd pki openssl curl "$PYTHON"
# pki fetches over HTTP with its curl plugin (libstrongswan-extra-plugins).
[[ -e /usr/lib/ipsec/plugins/libstrongswan-curl.so ]] ||
  fail "needs strongSwan's curl plugin (Debian: libstrongswan-extra-plugins)"

STORE="$WORK/store"
make_store "$STORE" # alpha: plain CA (the default); beta: CA with an RA
scepctl policy create swan --days 30 --eku clientAuth,serverAuth >/dev/null || fail "policy create"
start_serve
E="$WORK/expect"
P="$WORK/pki"
mkdir -p "$P"

# pki_run NAME ARGS... — pki ARGS, stdout in $P/NAME.out, stderr in
# $P/NAME.err without the plugin noise (no TPM here); status in $PKI_RC.
pki_run() {
  local name=$1
  shift
  PKI_RC=0
  timeout 120 pki "$@" >"$P/$name.out" 2>"$P/$name.err.raw" || PKI_RC=$?
  grep -v -e 'TPM 2.0' -e "plugin 'tpm'" "$P/$name.err.raw" >"$P/$name.err" || true
  [[ $PKI_RC != 124 ]] || fail "pki $name timed out: $(tail -n 5 "$P/$name.err")"
}
pki_ok() { # pki_ok NAME ARGS... — pki must exit 0
  pki_run "$@"
  [[ $PKI_RC == 0 ]] || fail "pki $1 exited $PKI_RC: $(tail -n 5 "$P/$1.err")"
}
newkey() { pki --gen --type rsa --size 2048 --outform pem >"$P/$1.key" 2>/dev/null || fail "pki --gen $1"; }
der2pem() { openssl x509 -inform DER -in "$1" -out "$2" || fail "$1 is not a DER certificate"; }
# enroll NAME URL ENC SIG DN [ARGS...] — pki --scep with a new key NAME.key;
# the certificate in $P/NAME.pem.
enroll() {
  local name=$1 url=$2 enc=$3 sig=$4 dn=$5
  shift 5
  newkey "$name"
  pki_ok "$name" --scep --url "$url" --in "$P/$name.key" --dn "$dn" --cacert-enc "$enc" --cacert-sig "$sig" "$@"
  der2pem "$P/$name.out" "$P/$name.pem"
}

# ---- 1. --scepca
pki_ok scepca-alpha --scepca --url "$SERVE_URL" --caout "$P/alpha.der"
cmp -s "$P/alpha.der" "$E/alpha.der" || fail "pki --scepca wrote another CA certificate than scepctl exports"
grep -q 'Root CA cert "CN=Alpha Integration CA' "$P/scepca-alpha.out" "$P/scepca-alpha.err" ||
  fail "pki --scepca names no CA: $(cat "$P/scepca-alpha.err")"
pki_ok scepca-beta --scepca --url "$SERVE_URL/beta" --caout "$P/beta.der" --raout "$P/beta-ra.der"
cmp -s "$P/beta.der" "$E/beta.der" || fail "pki --scepca (beta) wrote another CA certificate"
der2pem "$P/beta-ra.der" "$P/beta-ra.pem"
[[ $(fp_pem "$P/beta-ra.pem") == "$(cat "$E/beta-ra.sha256")" ]] || fail "pki --scepca --raout is not beta's RA"
grep -q 'RA cert is trusted' "$P/scepca-beta.err" || fail "pki does not trust beta's RA: $(cat "$P/scepca-beta.err")"

# ---- 2. enrollment with the defaults (AES, SHA-256), plain CA and RA CA
S1=$(new_secret alpha swan)
enroll plain "$SERVE_URL" "$P/alpha.der" "$P/alpha.der" "CN=swan-plain, O=scep tests" --password "$S1"
http GET "$SERVE_URL?operation=GetCACaps"
grep -qx 'SHA-384' "$WORK/resp.body" || fail "GetCACaps lacks SHA-384: $(tr '\n' ' ' <"$WORK/resp.body")"
grep -q 'Issued certificate is trusted' "$P/plain.err" || fail "pki does not trust its certificate: $(cat "$P/plain.err")"
serial_plain=$(check_issued "$P/plain.pem" alpha swan-plain 30 "Digital Signature, Key Encipherment" \
  "TLS Web Client Authentication, TLS Web Server Authentication")
same_key "$P/plain.pem" "$P/plain.key"
line=$(audit_one serial="$serial_plain" outcome=issued)
[[ $(jget "$line" operation) == PKCSReq && $(jget "$line" secret_id) == "$(cat "$WORK/secret.id")" ]] ||
  fail "issued audit line: $line"

S2=$(new_secret beta swan)
enroll ra "$SERVE_URL/beta" "$P/beta-ra.der" "$P/beta-ra.der" "CN=swan-ra" --cacert "$P/beta.der" --password "$S2"
grep -q 'Issued certificate is trusted' "$P/ra.err" || fail "pki does not trust its certificate: $(cat "$P/ra.err")"
check_issued "$P/ra.pem" beta swan-ra 30 "Digital Signature, Key Encipherment" \
  "TLS Web Client Authentication, TLS Web Server Authentication" >/dev/null

# ---- 3. manual approval while pki polls; a request nobody approves
# pending_field CN FIELD — a field of the request `scepctl pending` lists for
# CN=CN (md5, transaction_id, ...); empty when there is none.
pending_field() {
  scepctl pending --json | "$PYTHON" -c '
import json, sys
for p in json.load(sys.stdin):
    if p["subject"] == "CN=" + sys.argv[1]:
        print(p[sys.argv[2]])' "$1" "$2"
}
newkey manual
start_bg "$P/manual.bg.log" timeout 120 pki --scep --url "$SERVE_URL" --in "$P/manual.key" --dn "CN=swan-manual" \
  --cacert-enc "$P/alpha.der" --cacert-sig "$P/alpha.der" --interval 1 --maxpolltime 90 --outform pem
MANUAL_PID=$BG_PID
md5=""
for ((i = 0; i < 150; i++)); do
  md5=$(pending_field swan-manual md5)
  [[ -n $md5 ]] && break
  kill -0 "$MANUAL_PID" 2>/dev/null || fail "pki stopped before its request was pending: $(tail -n 5 "$P/manual.bg.log")"
  sleep 0.1
done
[[ -n $md5 ]] || fail "no pending request for CN=swan-manual: $(scepctl pending)"
audit_one outcome=pending subject=CN=swan-manual operation=PKCSReq >/dev/null
tx=$(pending_field swan-manual transaction_id)
sleep 2 # pki polls (CertPoll) and is told PENDING again
[[ $(audit_count outcome=pending transaction_id="$tx" operation=CertPoll) -ge 1 ]] ||
  fail "pki did not poll: $(audit transaction_id="$tx")"
scepctl approve "$md5" --policy swan >"$WORK/approve.out" || fail "scepctl approve $md5: $(cat "$WORK/approve.out")"
forget_pid "$MANUAL_PID"
wait_exit "$MANUAL_PID" 30 "after the approval (pki polls every second)"
[[ $RC == 0 ]] || fail "pki --scep (manual) exited $RC: $(tail -n 5 "$P/manual.bg.log")"
# pki writes the certificate to stdout, its messages to stderr: split them.
awk '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/' "$P/manual.bg.log" >"$P/manual.pem"
serial_manual=$(check_issued "$P/manual.pem" alpha swan-manual 30 "Digital Signature, Key Encipherment" \
  "TLS Web Client Authentication, TLS Web Server Authentication")
same_key "$P/manual.pem" "$P/manual.key"
audit_one outcome=issued operation=approve serial="$serial_manual" >/dev/null
[[ $(audit_count outcome=reissued operation=CertPoll serial="$serial_manual") == 1 ]] ||
  fail "pki's poll did not fetch the approved certificate: $(audit serial="$serial_manual")"

newkey unapproved
t0=$SECONDS
pki_run unapproved --scep --url "$SERVE_URL" --in "$P/unapproved.key" --dn "CN=swan-unapproved" \
  --cacert-enc "$P/alpha.der" --cacert-sig "$P/alpha.der" --interval 1 --maxpolltime 3
[[ $PKI_RC != 0 ]] || fail "pki --scep without approval exited 0"
grep -q 'maximum poll time reached' "$P/unapproved.err" || fail "pki did not give up polling: $(tail -n 3 "$P/unapproved.err")"
((SECONDS - t0 < 30)) || fail "pki took $((SECONDS - t0)) s to give up after --maxpolltime 3"
[[ -n $(pending_field swan-unapproved md5) ]] || fail "the unapproved request is no longer pending"

# ---- 4. renewal with the first certificate and its key, a new key
openssl x509 -in "$P/plain.pem" -outform DER -out "$P/plain.der"
used_before=$(audit_count secret_id="$(sed -n 1p "$WORK/secrets.tsv" | cut -f1)" operation!=secret-create)
enroll renewed "$SERVE_URL" "$P/alpha.der" "$P/alpha.der" "CN=swan-plain, O=scep tests" \
  --cert "$P/plain.der" --key "$P/plain.key"
serial_renewed=$(cert_serial "$P/renewed.pem")
[[ $serial_renewed != "$serial_plain" ]] || fail "the renewal returned the old certificate"
openssl verify -CAfile "$E/alpha.pem" "$P/renewed.pem" >/dev/null 2>&1 || fail "the renewed certificate does not verify"
same_key "$P/renewed.pem" "$P/renewed.key"
[[ $(openssl x509 -in "$P/renewed.pem" -noout -subject -nameopt RFC2253) == "subject=O=scep tests,CN=swan-plain" ]] ||
  fail "renewal changed the subject: $(openssl x509 -in "$P/renewed.pem" -noout -subject)"
line=$(audit_one outcome=renewed serial="$serial_renewed")
[[ $(jget "$line" operation) == RenewalReq && $(jget "$line" detail) == "renewal of $serial_plain" &&
  -z $(jget "$line" secret_id) ]] || fail "renewed audit line: $line"
[[ $(audit_count secret_id="$(sed -n 1p "$WORK/secrets.tsv" | cut -f1)" operation!=secret-create) == "$used_before" ]] ||
  fail "the renewal used a secret"

# ---- 5. RSASSA-PSS: strongSwan, then openssl req + scep_client.py
S3=$(new_secret alpha swan)
enroll pss "$SERVE_URL" "$P/alpha.der" "$P/alpha.der" "CN=swan-pss" --password "$S3" --rsa-padding pss
serial_pss=$(check_issued "$P/pss.pem" alpha swan-pss 30 "Digital Signature, Key Encipherment" \
  "TLS Web Client Authentication, TLS Web Server Authentication")
same_key "$P/pss.pem" "$P/pss.key"
S4=$(new_secret beta swan)
enroll pss-ra "$SERVE_URL/beta" "$P/beta-ra.der" "$P/beta-ra.der" "CN=swan-pss-ra" --cacert "$P/beta.der" \
  --password "$S4" --rsa-padding pss --digest sha384
check_issued "$P/pss-ra.pem" beta swan-pss-ra 30 "Digital Signature, Key Encipherment" \
  "TLS Web Client Authentication, TLS Web Server Authentication" >/dev/null

S5=$(new_secret alpha swan)
openssl genrsa -out "$P/ossl.key" 2048 2>/dev/null
cat >"$P/req.cnf" <<EOF
[req]
prompt = no
distinguished_name = dn
attributes = attrs
[dn]
CN = ossl-pss
[attrs]
challengePassword = $S5
EOF
openssl req -new -config "$P/req.cnf" -key "$P/ossl.key" -sha256 -sigopt rsa_padding_mode:pss \
  -sigopt rsa_pss_saltlen:digest -out "$P/ossl.csr" || fail "openssl req -sigopt rsa_padding_mode:pss"
openssl req -in "$P/ossl.csr" -noout -text | grep -q 'Signature Algorithm: rsassaPss' || fail "openssl req made no PSS request"
"$PYTHON" -W ignore "$SCEP_SOURCE/tests/integration/scep_client.py" enroll --url "$SERVE_URL" --key "$P/ossl.key" \
  --cn ossl-pss --csr "$P/ossl.csr" --pss --out "$P/ossl.pem" 2>"$P/ossl.err" ||
  fail "scep_client.py --csr (openssl req, PSS) --pss: $(cat "$P/ossl.err")"
check_issued "$P/ossl.pem" alpha ossl-pss 30 "Digital Signature, Key Encipherment" \
  "TLS Web Client Authentication, TLS Web Server Authentication" >/dev/null
same_key "$P/ossl.pem" "$P/ossl.key"

[[ $(audit_count outcome=failure) == 0 ]] || fail "failures in the audit log: $(audit outcome=failure)"
audit_all_json >/dev/null || fail "audit.log is not JSON lines"
scepctl check >"$WORK/check.out" 2>&1 || fail "scepctl check: $(cat "$WORK/check.out")"
log "ok: --scepca (CA, RA), enroll (CA, RA), manual approval while polling, --maxpolltime, renewal, PSS ($serial_pss)"
