#!/bin/bash
# Capture strongSwan `pki --scep` wire messages into tests/data/strongswan/
# (see the README.md there). Not a test; run by hand from the repository
# root after a build:
#   SCEP_BIN=build/bin SCEP_SOURCE=. tests/data/capture_strongswan_messages.sh
#
# A fresh store with one CA, "wire" (no RA), is served by `scepctl serve`;
# pki talks to it through the capture proxy of tests/integration/enroll_lib.sh
# (start_capture), which keeps the PKIOperation POST body and answers it 500
# (pki then gives up: nothing is issued, the secrets stay unspent).
set -euo pipefail
. "${SCEP_SOURCE:?}/tests/integration/lib.sh"
. "$SCEP_SOURCE/tests/integration/enroll_lib.sh"
require_cmd pki curl openssl "$PYTHON"

OUT="$SCEP_SOURCE/tests/data/strongswan"
mkdir -p "$OUT"

STORE="$WORK/store"
"$SCEPCTL" --store "$STORE" ca create wire --subject "CN=SCEP Wire Capture CA,O=scep tests" \
  --key-bits 2048 --days 36500 --default >/dev/null || fail "ca create"
scepctl policy create wire --days 365 --eku clientAuth --key-usage digitalSignature,keyEncipherment >/dev/null
start_serve
start_capture "http://127.0.0.1:$SERVE_PORT" "$WORK/cap"
cp "$STORE/ca/wire/cert.pem" "$OUT/ca.pem"
cp "$STORE/ca/wire/key.pem" "$OUT/ca.key"
openssl x509 -in "$OUT/ca.pem" -outform DER -out "$WORK/ca.der"

# capture NAME PKI-ARGS... — one PKCSReq of `pki --scep` with a fresh key
# and a fresh secret: NAME.der, NAME-key.pem, NAME-challenge.txt.
capture() {
  local name=$1 s f
  shift
  s=$(new_secret wire wire)
  printf '%s\n' "$s" >"$OUT/$name-challenge.txt"
  pki --gen --type rsa --size 2048 --outform pem >"$OUT/$name-key.pem" 2>/dev/null
  rm -f "$WORK"/cap/post.*
  pki --scep --url "$CAPTURE_URL" --in "$OUT/$name-key.pem" --dn "CN=strongswan-$name" --password "$s" \
    --cacert-enc "$WORK/ca.der" --cacert-sig "$WORK/ca.der" "$@" >/dev/null 2>"$WORK/$name.err" || true
  f=$(ls "$WORK"/cap/post.*.der 2>/dev/null) || fail "pki --scep $* sent no POST: $(cat "$WORK/$name.err")"
  cp "$f" "$OUT/$name.der"
}
capture pkcsreq
capture pkcsreq-pss --rsa-padding pss
{ pki --help 2>&1 | grep -m1 strongSwan; dpkg-query -W strongswan-pki 2>/dev/null || true; } >"$OUT/client-version.txt"
log "captured into $OUT"
