#!/bin/bash
# Capture real-client SCEP wire messages into tests/data/scepclient/ and
# tests/data/certmonger/ (see the README.md there). Not a test; run by hand
# from the repository root after a build:
#   SCEP_BIN=build/bin SCEP_SOURCE=. tests/data/capture_client_messages.sh
#
# A fresh store with one CA, "wire" (no RA, legacy_algorithms on for
# scepclient's DES), is served by `scepctl serve`; the clients talk to it
# through the capture proxy of tests/integration/enroll_lib.sh
# (start_capture), which keeps micromdm scepclient's POST body (answering it
# 500) and forwards and keeps certmonger's GET PKIOperation.
set -euo pipefail
. "${SCEP_SOURCE:?}/tests/integration/lib.sh"
. "$SCEP_SOURCE/tests/integration/enroll_lib.sh"
require_cmd scepclient getcert /usr/lib/certmonger/certmonger-session dbus-daemon curl openssl "$PYTHON"

OUT="$SCEP_SOURCE/tests/data"
SC="$OUT/scepclient"
CMO="$OUT/certmonger"
mkdir -p "$SC" "$CMO"

STORE="$WORK/store"
"$SCEPCTL" --store "$STORE" ca create wire --subject "CN=SCEP Wire Capture CA,O=scep tests" \
  --key-bits 2048 --days 36500 --default >/dev/null || fail "ca create"
legacy_on wire
scepctl policy create wire --days 365 --eku clientAuth --key-usage digitalSignature,keyEncipherment >/dev/null
start_serve
start_capture "http://127.0.0.1:$SERVE_PORT" "$WORK/cap"

# The CA, so that the messages can be replayed (scepctl ca import).
cp "$STORE/ca/wire/cert.pem" "$SC/ca.pem"
cp "$STORE/ca/wire/key.pem" "$SC/ca.key"
cp "$SC/ca.pem" "$CMO/ca.pem"
cp "$SC/ca.key" "$CMO/ca.key"

# ---- micromdm scepclient: its PKCSReq POST body
s=$(new_secret wire wire)
printf '%s\n' "$s" >"$SC/challenge.txt"
scepclient_run "$WORK/sc" "$CAPTURE_URL" "$s" scepclient-wire
f=$(ls "$WORK"/cap/post.*.der)
cp "$f" "$SC/pkcsreq.der"
cp "${f%.der}.headers" "$SC/pkcsreq.headers.txt"
cp "$WORK/sc/key.pem" "$SC/client-key.pem"
cp "$WORK/sc/self.pem" "$SC/client-signer.pem"
cp "$WORK/sc/csr.pem" "$SC/client-csr.pem"
# scep's reply to it (POST to scepctl serve): CertRep SUCCESS.
curl -sS -o "$SC/certrep.der" -H 'Content-Type: application/octet-stream' \
  --data-binary "@$SC/pkcsreq.der" "$SERVE_URL?operation=PKIOperation"
grep -h '"outcome"' "$STORE/audit.log" | tail -n 1 >"$SC/audit.json"

# ---- certmonger: its GET PKIOperation (PKCSReq), forwarded to the server
start_certmonger
s=$(new_secret wire wire)
printf '%s\n' "$s" >"$CMO/challenge.txt"
certmonger_add_ca wire "$CAPTURE_URL" wire -N "$CMO/ca.pem"
certmonger_request wire wire certmonger-wire "$s"
[[ $(certmonger_status wire) == MONITORING ]] || fail "certmonger: $(cat "$CM/out/wire.list")"
g=$(ls "$WORK"/cap/get.*.target | head -n 1)
cp "$g" "$CMO/pkcsreq.get.txt"
cp "${g%.target}.headers" "$CMO/pkcsreq.headers.txt"
cp "${g%.target}.reply" "$CMO/certrep.der"
"$PYTHON" - "$g" "$CMO/pkcsreq.der" <<'EOF'
import base64, sys, urllib.parse
target = open(sys.argv[1]).read()
msg = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query)["message"][0]
open(sys.argv[2], "wb").write(base64.b64decode(msg.replace(" ", "+")))
EOF
cp "$CM/out/wire.key.pem" "$CMO/client-key.pem"
cp "$CM/out/wire.cert.pem" "$CMO/issued.pem"
grep -h '"outcome"' "$STORE/audit.log" | tail -n 1 >"$CMO/audit.json"
scepclient -version >"$SC/client-version.txt" 2>&1 || true
certmonger-session -v >"$CMO/client-version.txt" 2>&1 || /usr/lib/certmonger/certmonger-session -v >"$CMO/client-version.txt" 2>&1 || true
log "captured into $SC and $CMO"
