#!/bin/bash
# Many enrollments at once through lighttpd + scep.cgi (one process per
# request, so only the store's file-system atomics keep them apart), with
# micromdm's scepclient:
#  1. 16 devices (16 keys) race for ONE one-use secret: exactly one wins.
#  2. 200 devices with 200 secrets, 16 at a time: 200 certificates with 200
#     distinct serials, every audit line whole JSON.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enroll_lib.sh"
require_cmd scepclient lighttpd curl openssl xargs "$PYTHON"

RACERS=16
BULK=${SCEP_BULK_ENROLLMENTS:-200}
PARALLEL=16

STORE="$WORK/store"
"$SCEPCTL" --store "$STORE" ca create race --key-bits 2048 --default >/dev/null || fail "scepctl ca create race"
"$SCEPCTL" --store "$STORE" ca create bulk --key-bits 2048 >/dev/null || fail "scepctl ca create bulk"
legacy_on race
legacy_on bulk
# The keys are pre-generated (scepclient takes an existing -private-key, as
# PKCS#1 "RSA PRIVATE KEY" PEM: "unmatched type or headers" otherwise);
# 1024-bit ones for the bulk run keep key generation from dominating the
# test, so that policy accepts them.
scepctl policy create p2048 --days 30 --eku clientAuth --key-usage digitalSignature >/dev/null || fail "policy p2048"
scepctl policy create p1024 --days 30 --eku clientAuth --key-usage digitalSignature --min-rsa-bits 1024 >/dev/null ||
  fail "policy p1024"

start_lighttpd

# genkeys DIR-PREFIX COUNT BITS — DIR-PREFIX.N/key.pem for N in 1..COUNT.
genkeys() {
  local prefix=$1 count=$2 bits=$3
  seq 1 "$count" | xargs -P "$(nproc)" -I{} sh -c \
    'mkdir -p "$1.$2" && openssl genrsa -traditional -out "$1.$2/key.pem" "$3" 2>/dev/null' _ "$prefix" {} "$bits" ||
    fail "openssl genrsa failed"
}

# ---- 1. the race for one secret
genkeys "$WORK/race" "$RACERS" 2048
SECRET=$(new_secret race p2048)
SECRET_ID=$(cat "$WORK/secret.id")
URL="$LIGHTTPD_URL" # the default CA, race
export URL SECRET WORK
seq 1 "$RACERS" | xargs -P "$RACERS" -I{} bash -c '
  cd "$WORK/race.$1" || exit 1
  rc=0
  timeout 60 scepclient -server-url "$URL" -challenge "$SECRET" -cn "racer$1" \
    -private-key key.pem -certificate cert.pem >out 2>&1 || rc=$?
  echo "$rc" >rc' _ {} || true

winners=0
for ((i = 1; i <= RACERS; i++)); do
  d="$WORK/race.$i"
  [[ -s $d/rc ]] || fail "racer $i did not finish"
  rc=$(cat "$d/rc")
  [[ $rc != 124 ]] || fail "racer $i timed out: $(tail -n 3 "$d/out")"
  if [[ $rc == 0 ]]; then
    [[ -s $d/cert.pem ]] || fail "racer $i exited 0 without a certificate"
    winners=$((winners + 1))
    WINNER=$i
  else
    grep -q 'failInfo: badRequest' "$d/out" || fail "racer $i failed without failInfo badRequest: $(tail -n 3 "$d/out")"
    [[ ! -s $d/cert.pem ]] || fail "racer $i failed but has a certificate"
  fi
done
[[ $winners == 1 ]] || fail "$winners of $RACERS racers got a certificate for one one-use secret, want exactly 1"
[[ $(cert_count race) == 1 ]] || fail "$(cert_count race) certificate files for one one-use secret, want 1"
[[ $(audit_count outcome=issued ca=race) == 1 ]] ||
  fail "$(audit_count outcome=issued ca=race) \"issued\" audit lines for one one-use secret, want 1"
[[ $(audit_count outcome=failure ca=race fail_info=badRequest) == $((RACERS - 1)) ]] ||
  fail "want $((RACERS - 1)) badRequest failure audit lines, have $(audit_count outcome=failure ca=race fail_info=badRequest)"
line=$(audit_one outcome=issued ca=race)
[[ $(jget "$line" secret_id) == "$SECRET_ID" ]] || fail "the winner's audit line names secret $(jget "$line" secret_id)"
[[ $(jget "$line" serial) == "$(cert_serial "$WORK/race.$WINNER/cert.pem")" ]] ||
  fail "the issued audit line's serial is not the winner's certificate's"
same_key "$WORK/race.$WINNER/cert.pem" "$WORK/race.$WINNER/key.pem"
[[ $(secret_field "$SECRET_ID" uses_left) == 0 ]] || fail "the raced secret has uses left"
log "race: racer $WINNER won, $((RACERS - 1)) refused"

# ---- 2. bulk: BULK secrets, PARALLEL at a time
t0=$SECONDS
# Keys and secrets are made in parallel as well (secret creation is one
# more thing that must not trip over itself).
export SCEPCTL STORE
seq 1 "$BULK" | xargs -P "$PARALLEL" -I{} sh -c '
  d="$WORK/bulk.$1"
  mkdir -p "$d" &&
    openssl genrsa -traditional -out "$d/key.pem" 1024 2>/dev/null &&
    "$SCEPCTL" --store "$STORE" secret create --ca bulk --policy p1024 --json >"$d/secret.json" 2>"$d/secret.err"
  echo $? >"$d/setup.rc"' _ {} || true
for ((i = 1; i <= BULK; i++)); do
  d="$WORK/bulk.$i"
  [[ $(<"$d/setup.rc") == 0 ]] || fail "bulk setup $i failed: $(cat "$d/secret.err")"
  [[ $(<"$d/secret.json") =~ \"secret\":\ *\"([^\"]+)\" ]] || fail "bulk $i: no secret in $(<"$d/secret.json")"
  printf '%s\n' "${BASH_REMATCH[1]}" >"$d/secret"
done
[[ $(cat "$WORK"/bulk.*/secret | sort -u | wc -l) == "$BULK" ]] || fail "the $BULK secrets are not all distinct"
log "bulk: $BULK keys and secrets in $((SECONDS - t0)) s"

t0=$SECONDS
URL="$LIGHTTPD_URL/bulk"
seq 1 "$BULK" | xargs -P "$PARALLEL" -I{} bash -c '
  cd "$WORK/bulk.$1" || exit 1
  rc=0
  timeout 120 scepclient -server-url "$URL" -challenge "$(cat secret)" -cn "bulk$1" \
    -private-key key.pem -certificate cert.pem >out 2>&1 || rc=$?
  echo "$rc" >rc' _ {} || true
log "bulk: $BULK enrollments, $PARALLEL at a time, in $((SECONDS - t0)) s"

: >"$WORK/bulk-all.pem"
for ((i = 1; i <= BULK; i++)); do
  d="$WORK/bulk.$i"
  [[ -s $d/rc && $(<"$d/rc") == 0 ]] || fail "bulk enrollment $i failed (exit $(cat "$d/rc" 2>/dev/null)): $(tail -n 3 "$d/out")"
  [[ -s $d/cert.pem ]] || fail "bulk enrollment $i: no certificate"
  cat "$d/cert.pem" >>"$WORK/bulk-all.pem"
done
# The serials of the certificates the clients received (upper-case hex, as
# the store names its files), of the store's files, and of the audit log.
openssl crl2pkcs7 -nocrl -certfile "$WORK/bulk-all.pem" | openssl pkcs7 -print -noout |
  "$PYTHON" -c '
import re, sys
for m in re.finditer(r"serialNumber: (0x[0-9A-Fa-f]+|\d+)", sys.stdin.read()):
    h = "%X" % int(m.group(1), 0)
    print(h if len(h) % 2 == 0 else "0" + h)' | sort >"$WORK/client-serials"
[[ $(wc -l <"$WORK/client-serials") == "$BULK" ]] || fail "read $(wc -l <"$WORK/client-serials") serials from $BULK certificates"
[[ $(sort -u "$WORK/client-serials" | wc -l) == "$BULK" ]] ||
  fail "the $BULK certificates have $(sort -u "$WORK/client-serials" | wc -l) distinct serials"
[[ $(cert_count bulk) == "$BULK" ]] || fail "$(cert_count bulk) certificate files of CA bulk, want $BULK"
(cd "$STORE/ca/bulk/certs" && ls -- *.pem) | sed 's/\.pem$//' | sort >"$WORK/store-serials"
cmp -s "$WORK/client-serials" "$WORK/store-serials" || fail "the store's certificate files are not the clients' certificates"
audit outcome=issued ca=bulk | "$PYTHON" -c 'import json, sys; print("\n".join(sorted(json.loads(l)["serial"] for l in sys.stdin)))' \
  >"$WORK/audit-serials"
[[ $(wc -l <"$WORK/audit-serials") == "$BULK" ]] ||
  fail "$(wc -l <"$WORK/audit-serials") \"issued\" audit lines for CA bulk, want $BULK"
cmp -s "$WORK/client-serials" "$WORK/audit-serials" || fail "the audit log's serials are not the issued certificates' serials"
[[ $(audit_count outcome=failure ca=bulk) == 0 ]] || fail "bulk enrollments failed: $(audit outcome=failure ca=bulk | head -n 3)"
# Spot-check a few certificates against the CA and their keys.
scepctl export bulk >"$WORK/bulk-ca.pem"
for i in 1 $((BULK / 2)) "$BULK"; do
  openssl verify -CAfile "$WORK/bulk-ca.pem" "$WORK/bulk.$i/cert.pem" >/dev/null 2>&1 ||
    fail "bulk certificate $i does not verify against CA bulk"
  same_key "$WORK/bulk.$i/cert.pem" "$WORK/bulk.$i/key.pem"
done
# Every secret is spent.
left=$(scepctl secret list --json | "$PYTHON" -c 'import json, sys; print(sum(s["uses_left"] for s in json.load(sys.stdin) if s["ca"] == "bulk"))')
[[ $left == 0 ]] || fail "$left uses left on the bulk secrets after $BULK enrollments"

audit_all_json >/dev/null || fail "audit.log is not whole JSON lines"
# One line per decision, besides the set-up's operator actions (remote scepctl).
lines=$(audit_count remote!=scepctl)
[[ $lines == $((RACERS + BULK)) ]] || fail "audit.log has $lines request lines, want $((RACERS + BULK)) (one per decision)"
log "ok"
