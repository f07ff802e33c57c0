#!/bin/bash
# Names through `scepctl serve` with requests made by `openssl req`:
# a secret bound with `secret create --cn` yields only that name (extra
# subject attributes and SANs are refused without spending the secret), and
# SANs are issued as typed values: an rfc822Name "move" or "copy" is a name,
# not OpenSSL's directive, and a ',' or line break in a dNSName stays in it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_cmd openssl "$PYTHON"
CLIENT="$SCEP_SOURCE/tests/integration/scep_client.py"

STORE="$WORK/store"
make_store "$STORE"
scepctl() { "$SCEPCTL" --store "$STORE" "$@"; }
scepctl policy create device >/dev/null || fail "policy create"

PORT=$(free_port)
start_bg "$WORK/serve.log" "$SCEPCTL" --store "$STORE" serve --listen "127.0.0.1:$PORT"
wait_for_port "$PORT" "$BG_PID"
URL="http://127.0.0.1:$PORT/scep"
openssl genrsa -out "$WORK/key.pem" 2048 2>/dev/null

# csr NAME SECRET SUBJECT-LINES SAN-VALUE — $WORK/NAME.csr by openssl req.
csr() {
  cat >"$WORK/$1.cnf" <<EOF
[req]
distinguished_name = dn
attributes = attrs
req_extensions = ext
prompt = no
[dn]
$3
[attrs]
challengePassword = $2
[ext]
subjectAltName = $4
EOF
  openssl req -new -key "$WORK/key.pem" -config "$WORK/$1.cnf" -out "$WORK/$1.csr" 2>"$WORK/$1.err" ||
    fail "openssl req $1: $(cat "$WORK/$1.err")"
}

# enroll NAME — send $WORK/NAME.csr; exit status in $RC, output in $WORK/NAME.out.
enroll() {
  RC=0
  "$PYTHON" "$CLIENT" enroll --url "$URL" --ca alpha --key "$WORK/key.pem" --cn signer --csr "$WORK/$1.csr" \
    --out "$WORK/$1.pem" >"$WORK/$1.out" 2>&1 || RC=$?
}

uses_left() { scepctl --json secret list | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)[0]["uses_left"])'; }

# ---- a secret bound to laptop-17
BOUND=$(scepctl --json secret create --ca alpha --policy device --cn laptop-17 | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["secret"])')

csr greedy "$BOUND" $'CN = laptop-17\nO = Corp Admins' \
  'DNS:www.bank.example, DNS:*.example.com, IP:192.0.2.1, URI:https://laptop-17.example/'
enroll greedy
[[ $RC == 2 ]] || fail "CN=laptop-17,O=Corp Admins: exit $RC, want a FAILURE: $(cat "$WORK/greedy.out")"
grep -q 'failInfo: badRequest' "$WORK/greedy.out" || fail "greedy: $(cat "$WORK/greedy.out")"
grep -q 'subject attribute O ' "$WORK/greedy.out" || fail "greedy: the reason does not name O: $(cat "$WORK/greedy.out")"

csr extra "$BOUND" 'CN = laptop-17' 'DNS:laptop-17, DNS:www.bank.example'
enroll extra
[[ $RC == 2 ]] || fail "DNS:www.bank.example for laptop-17: exit $RC, want a FAILURE: $(cat "$WORK/extra.out")"
grep -q 'DNS:www.bank.example' "$WORK/extra.out" || fail "extra: the reason does not name the SAN: $(cat "$WORK/extra.out")"
[[ $(uses_left) == 1 ]] || fail "a refused request spent the bound secret"

csr own "$BOUND" 'CN = laptop-17' 'DNS:laptop-17'
enroll own
[[ $RC == 0 ]] || fail "CN=laptop-17 with DNS:laptop-17: exit $RC: $(cat "$WORK/own.out")"
[[ $(openssl x509 -in "$WORK/own.pem" -noout -subject -nameopt RFC2253) == "subject=CN=laptop-17" ]] ||
  fail "bound certificate subject: $(openssl x509 -in "$WORK/own.pem" -noout -subject)"
[[ $(openssl x509 -in "$WORK/own.pem" -noout -ext subjectAltName | tail -n +2 | tr -d ' ') == "DNS:laptop-17" ]] ||
  fail "bound certificate SANs: $(openssl x509 -in "$WORK/own.pem" -noout -ext subjectAltName)"
[[ $(uses_left) == 0 ]] || fail "the issued request did not spend the secret"

# ---- typed SANs: openssl's DER: syntax writes the GeneralNames as they are
# (its email: syntax would itself take "move" as the directive).
SANS_DER=$("$PYTHON" - <<'PY'
def tlv(tag, b): return bytes([tag, len(b)]) + b
names = tlv(0x81, b"move") + tlv(0x81, b"copy") + tlv(0x82, b"a.example,DNS:b.example") + tlv(0x82, b"c.example\nd.example")
print(tlv(0x30, names).hex())
PY
)
PLAIN=$(scepctl --json secret create --ca alpha --policy device | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
csr typed "$PLAIN" $'CN = dev2\nemailAddress = boss@example.com' "DER:$SANS_DER"
enroll typed
[[ $RC == 0 ]] || fail "typed SANs: exit $RC: $(cat "$WORK/typed.out")"
[[ $(openssl x509 -in "$WORK/typed.pem" -noout -subject -nameopt RFC2253) == \
   "$(openssl req -in "$WORK/typed.csr" -noout -subject -nameopt RFC2253)" ]] ||
  fail "the subject changed: $(openssl x509 -in "$WORK/typed.pem" -noout -subject -nameopt RFC2253)"
got=$("$PYTHON" - "$WORK/typed.pem" <<'PY'
import sys
from cryptography import x509
cert = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
for n in cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value:
    print(type(n).__name__, repr(n.value))
PY
)
want=$'RFC822Name \'move\'\nRFC822Name \'copy\'\nDNSName \'a.example,DNS:b.example\'\nDNSName \'c.example\\nd.example\''
[[ $got == "$want" ]] || fail "typed SANs issued as:$(printf '\n%s\nwant:\n%s' "$got" "$want")"

# Listed escaped: one line per certificate, the line break as \x0a.
scepctl certs >"$WORK/certs.out" || fail "scepctl certs"
[[ $(wc -l <"$WORK/certs.out") == 3 ]] || fail "scepctl certs: $(cat "$WORK/certs.out")"  # the header and two rows
grep -qF '  "email:move" "email:copy" "DNS:a.example,DNS:b.example" "DNS:c.example\x0ad.example"' "$WORK/certs.out" ||
  fail "scepctl certs: $(cat "$WORK/certs.out")"
grep -qF '"sans":["email:move","email:copy","DNS:a.example,DNS:b.example","DNS:c.example\\x0ad.example"]' "$STORE/audit.log" ||
  fail "audit.log: $(tail -n 1 "$STORE/audit.log")"
log "ok"
