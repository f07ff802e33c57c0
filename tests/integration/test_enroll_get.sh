#!/bin/bash
# PKIOperation by GET (RFC 8894 §4.1: the base64 pkiMessage in message=),
# with the encodings real clients send, through `scepctl serve` and through
# scep.cgi under lighttpd.
#
# The request messages are real client messages, not ours: micromdm's
# scepclient builds them (it only POSTs), a small capture proxy between it
# and `scepctl serve` forwards its GetCACert/GetCACaps and keeps the POST
# body without passing it on (answering 500, so nothing is issued then).
# Each captured PKCSReq is then sent by GET with curl; the CertRep is checked
# down to the certificate inside it (signature verified against the CA,
# envelope decrypted with the client's own key).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enroll_lib.sh"
require_cmd scepclient lighttpd curl openssl "$PYTHON"

STORE="$WORK/store"
"$SCEPCTL" --store "$STORE" ca create getca --subject "CN=GET Integration CA,O=scep tests" --key-bits 2048 \
  --default >/dev/null || fail "scepctl ca create"
legacy_on getca # scepclient encrypts with DES-CBC
scepctl export getca >"$WORK/ca.pem"
scepctl policy create getpol --days 7 --eku clientAuth --key-usage digitalSignature,keyEncipherment >/dev/null ||
  fail "scepctl policy create"

start_serve
start_lighttpd
start_capture "http://127.0.0.1:$SERVE_PORT" "$WORK/captured"

# ---- capture real PKCSReq messages, one secret each
VARIANTS=(std rawplus lines nopad urlsafe)
NCAP=8 # more than the variants: "nopad" needs a message whose base64 has padding
for ((i = 1; i <= NCAP; i++)); do
  s=$(new_secret getca getpol)
  scepclient_run "$WORK/client$i" "$CAPTURE_URL" "$s" "getdev$i"
  [[ $SC_RC != 0 ]] || fail "scepclient $i succeeded through the capture proxy (which answers POST 500)"
  [[ -s $WORK/captured/post.$i.der ]] || fail "no POST body captured from scepclient $i: $(tail -n 3 "$WORK/client$i/out")"
  [[ -s $WORK/client$i/self.pem && -s $WORK/client$i/key.pem ]] || fail "scepclient $i left no self.pem/key.pem"
  openssl cms -cmsout -inform DER -in "$WORK/captured/post.$i.der" -print >"$WORK/captured/post.$i.txt" 2>&1 ||
    fail "captured body $i is not CMS: $(head -n 3 "$WORK/captured/post.$i.txt")"
  grep -q 'contentType: pkcs7-signedData' "$WORK/captured/post.$i.txt" || fail "captured body $i is not SignedData"
done
[[ $(cert_count getca) == 0 ]] || fail "something was issued while capturing"
# (The set-up's operator actions are in audit.log, with remote scepctl.)
[[ $(audit_count remote!=scepctl) == 0 ]] || fail "the server saw a PKIOperation while capturing: $(audit remote!=scepctl)"

# encode VARIANT FILE — the message= value for the DER in FILE.
encode() {
  "$PYTHON" - "$1" "$2" <<'EOF'
import base64, sys, urllib.parse
variant, der = sys.argv[1], open(sys.argv[2], "rb").read()
b64 = base64.b64encode(der).decode()
if variant == "std":        # RFC 8894: base64, then percent-escaped
    out = urllib.parse.quote(b64, safe="")
elif variant == "rawplus":  # macOS/iOS: '+' and '/' raw, only '=' escaped; '+' decodes to a space
    assert "+" in b64, "no + in the base64"
    out = b64.replace("=", "%3D")
elif variant == "lines":    # sscep/Cisco: 64-character lines, %0A between them
    lines = "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64)) + "\n"
    out = lines.replace("+", "%2B").replace("=", "%3D").replace("\n", "%0A")
elif variant == "nopad":    # padding dropped
    assert b64.endswith("="), "no padding to drop"
    out = urllib.parse.quote(b64.rstrip("="), safe="")
elif variant == "urlsafe":  # base64url, no padding (micromdm GET mode before 2026)
    out = base64.urlsafe_b64encode(der).decode().rstrip("=")
else:
    sys.exit("unknown variant " + variant)
print(out)
EOF
}

# has_padding FILE — the base64 of FILE ends with "=".
has_padding() { (($(wc -c <"$1") % 3 != 0)); }

# get_pkiop BASE MESSAGE — GET BASE?operation=PKIOperation&message=MESSAGE.
get_pkiop() { http GET "$1?operation=PKIOperation&message=$2"; }

# expect_certrep_cert N — the last response is a CertRep SUCCESS for the
# message of client N: signed by the CA, its envelope opens with client N's
# key and holds a certificate for CN=getdevN issued by the CA. Prints the
# serial.
expect_certrep_cert() {
  local n=$1 d="$WORK/client$1" r="$WORK/certrep"
  expect_response 200 application/x-pki-message
  openssl cms -cmsout -inform DER -in "$WORK/resp.body" -print >"$r.txt" 2>&1 ||
    fail "$LAST_REQUEST: the reply is not CMS: $(head -n 3 "$r.txt")"
  grep -q 'contentType: pkcs7-signedData' "$r.txt" || fail "$LAST_REQUEST: the reply is not SignedData"
  [[ $(certrep_attr "$WORK/resp.body" 2.16.840.1.113733.1.9.2) == 3 ]] || fail "$LAST_REQUEST: messageType is not CertRep (3)"
  [[ $(certrep_attr "$WORK/resp.body" 2.16.840.1.113733.1.9.3) == 0 ]] ||
    fail "$LAST_REQUEST: pkiStatus $(certrep_attr "$WORK/resp.body" 2.16.840.1.113733.1.9.3), want 0 (SUCCESS); failInfo $(certrep_attr "$WORK/resp.body" 2.16.840.1.113733.1.9.4)"
  openssl cms -verify -inform DER -in "$WORK/resp.body" -CAfile "$WORK/ca.pem" -purpose any \
    -out "$r.env.der" >"$r.verify" 2>&1 || fail "$LAST_REQUEST: the CertRep does not verify against the CA: $(cat "$r.verify")"
  openssl cms -decrypt -provider legacy -provider default -inform DER -in "$r.env.der" \
    -recip "$d/self.pem" -inkey "$d/key.pem" -out "$r.p7.der" >"$r.decrypt" 2>&1 ||
    fail "$LAST_REQUEST: the CertRep envelope does not open with client $n's key (no SUCCESS?): $(cat "$r.decrypt")"
  openssl pkcs7 -inform DER -in "$r.p7.der" -print_certs -out "$r.certs.pem" 2>/dev/null ||
    fail "$LAST_REQUEST: the envelope holds no PKCS#7 certificates"
  local count
  count=$(split_pem "$r.certs.pem" "$r.cert")
  ((count >= 1)) || fail "$LAST_REQUEST: no certificate in the CertRep"
  openssl verify -CAfile "$WORK/ca.pem" "$r.cert.0.pem" >/dev/null 2>&1 ||
    fail "$LAST_REQUEST: the first certificate does not verify against the CA"
  openssl x509 -in "$r.cert.0.pem" -noout -subject | grep -q "CN = getdev$n\$" ||
    fail "$LAST_REQUEST: certificate $(openssl x509 -in "$r.cert.0.pem" -noout -subject), want CN getdev$n"
  same_key "$r.cert.0.pem" "$d/key.pem"
  cert_serial "$r.cert.0.pem"
}

# ---- one fresh enrollment per encoding, through scepctl serve
declare -A VAR_OF SERIAL_OF
used=()
for v in "${VARIANTS[@]}"; do
  pick=""
  for ((i = 1; i <= NCAP; i++)); do
    [[ " ${used[*]} " == *" $i "* ]] && continue
    if [[ $v == nopad ]] && ! has_padding "$WORK/captured/post.$i.der"; then continue; fi
    if [[ $v == rawplus ]] && ! base64 -w0 "$WORK/captured/post.$i.der" | grep -q '+'; then continue; fi
    pick=$i
    break
  done
  [[ -n $pick ]] || fail "no captured message suits variant $v"
  used+=("$pick")
  VAR_OF[$v]=$pick
  msg=$(encode "$v" "$WORK/captured/post.$pick.der")
  get_pkiop "$SERVE_URL" "$msg"
  serial=$(expect_certrep_cert "$pick") || exit 1
  line=$(audit_one outcome=issued serial="$serial")
  [[ $(jget "$line" ca) == getca ]] || fail "variant $v: issued by $(jget "$line" ca)"
  [[ -f $STORE/ca/getca/certs/$serial.pem ]] || fail "variant $v: no certs/$serial.pem"
  SERIAL_OF[$v]=$serial
  log "GET variant $v (message $pick, ${#msg} bytes): issued $serial"
done
[[ $(cert_count getca) == "${#VARIANTS[@]}" ]] || fail "want ${#VARIANTS[@]} certificates, have $(cert_count getca)"
[[ $(printf '%s\n' "${SERIAL_OF[@]}" | sort -u | wc -l) == "${#VARIANTS[@]}" ]] || fail "serials repeat: ${SERIAL_OF[*]}"
wait_for_log "$WORK/serve.log" 'method=GET target="/scep\?operation=PKIOperation&message=[^"]*" .* status=200 ' 5

# ---- the same messages again (same transactionID, same key): the same
# certificate comes back, nothing new is issued; through scep.cgi too.
n_issued=$(cert_count getca)
replays=0
for v in std rawplus lines; do
  i=${VAR_OF[$v]}
  want=0
  for base in "$SERVE_URL" "$LIGHTTPD_URL"; do
    get_pkiop "$base" "$(encode "$v" "$WORK/captured/post.$i.der")"
    serial=$(expect_certrep_cert "$i") || exit 1
    [[ $serial == "${SERIAL_OF[$v]}" ]] || fail "replay of the $v message through $base: serial $serial, want ${SERIAL_OF[$v]}"
    replays=$((replays + 1))
    want=$((want + 1))
  done
  [[ $(audit_count outcome=reissued serial="${SERIAL_OF[$v]}") == "$want" ]] ||
    fail "want $want \"reissued\" audit lines for ${SERIAL_OF[$v]}, have $(audit_count outcome=reissued serial="${SERIAL_OF[$v]}")"
done
# ... and by POST of the same DER.
i=${VAR_OF[std]}
http POST "$LIGHTTPD_URL?operation=PKIOperation" -H 'Content-Type: application/x-pki-message' \
  --data-binary "@$WORK/captured/post.$i.der"
serial=$(expect_certrep_cert "$i") || exit 1
[[ $serial == "${SERIAL_OF[std]}" ]] || fail "POST replay: serial $serial, want ${SERIAL_OF[std]}"
[[ $(cert_count getca) == "$n_issued" ]] || fail "replays issued new certificates ($(cert_count getca) files, want $n_issued)"
[[ $(audit_count outcome=issued) == "$n_issued" ]] || fail "replays wrote \"issued\" audit lines"
[[ $(audit_count outcome=reissued) == $((replays + 1)) ]] ||
  fail "want $((replays + 1)) \"reissued\" audit lines, have $(audit_count outcome=reissued)"

# ---- undecodable messages: HTTP 400 with a short text, never a CertRep
# (nor a 500), and nothing in the store.
good=$(base64 -w0 "$WORK/captured/post.1.der")
trunc=$(head -c 1000 "$WORK/captured/post.1.der" | base64 -w0 | "$PYTHON" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.stdin.read().strip(), safe=""))')
for base in "$SERVE_URL" "$LIGHTTPD_URL"; do
  for junk in '%21%21%21not%20base64%21%21%21' 'aGVsbG8gd29ybGQ%3D' "${good:0:101}" "$trunc" '' '%ZZ'; do
    get_pkiop "$base" "$junk"
    expect_text_error 400
  done
  http GET "$base?operation=PKIOperation"
  expect_text_error 400
done
[[ $(cert_count getca) == "$n_issued" ]] || fail "junk messages changed the certificates"

audit_all_json >/dev/null || fail "audit.log is not JSON lines"

# ---- stored real-client messages (tests/data/*/README.md), replayed by GET
# to their own CA imported into a fresh store: certmonger's request target
# exactly as it sent it, scepclient's POST body base64-encoded. Their
# secrets were spent when they were captured and are unknown here, so each
# gets a CertRep FAILURE badRequest (or badTime, should the server one day
# refuse stale messages: scepclient's signer certificate is valid for one
# hour), signed by that CA, echoing the transactionID — proof that the bytes
# real clients produce are decoded, decrypted and answered.
for client in scepclient certmonger; do
  D="$SCEP_SOURCE/tests/data/$client"
  [[ -f $D/pkcsreq.der && -f $D/ca.pem && -f $D/ca.key ]] || fail "missing stored messages in $D"
done
STORE="$WORK/store-replay"
"$SCEPCTL" --store "$STORE" ca import wire --cert "$SCEP_SOURCE/tests/data/scepclient/ca.pem" \
  --key "$SCEP_SOURCE/tests/data/scepclient/ca.key" --default >/dev/null || fail "scepctl ca import of the stored CA"
legacy_on wire
start_serve serve-replay.log
for client in scepclient certmonger; do
  D="$SCEP_SOURCE/tests/data/$client"
  if [[ $client == certmonger ]]; then
    http GET "http://127.0.0.1:$SERVE_PORT$(cat "$D/pkcsreq.get.txt")"
  else
    get_pkiop "$SERVE_URL" "$(encode std "$D/pkcsreq.der")"
  fi
  expect_response 200 application/x-pki-message
  openssl cms -verify -inform DER -in "$WORK/resp.body" -CAfile "$D/ca.pem" -purpose any -out /dev/null \
    >"$WORK/replay.verify" 2>&1 || fail "stored $client message: the CertRep does not verify: $(cat "$WORK/replay.verify")"
  [[ $(certrep_attr "$WORK/resp.body" 2.16.840.1.113733.1.9.3) == 2 ]] || fail "stored $client message: pkiStatus is not FAILURE"
  fi_=$(certrep_attr "$WORK/resp.body" 2.16.840.1.113733.1.9.4)
  [[ $fi_ == 2 || $fi_ == 3 ]] || fail "stored $client message: failInfo $fi_, want 2 (badRequest) or 3 (badTime)"
  tx=$(jget "$(cat "$D/audit.json")" transaction_id)
  [[ $(certrep_attr "$WORK/resp.body" 2.16.840.1.113733.1.9.7) == "$tx" ]] ||
    fail "stored $client message: the CertRep's transactionID is not the request's ($tx)"
  line=$(audit_one transaction_id="$tx")
  [[ $(jget "$line" outcome) == failure ]] || fail "stored $client message: audit $line"
  if [[ $fi_ == 2 ]]; then
    [[ $(jget "$line" fail_info) == badRequest ]] || fail "stored $client message: audit $line"
    [[ $(jget "$line" subject) == "$(jget "$(cat "$D/audit.json")" subject)" ]] ||
      fail "stored $client message: the server read subject $(jget "$line" subject)"
  fi
done
log "ok"
