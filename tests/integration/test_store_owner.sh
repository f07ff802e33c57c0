#!/bin/bash
# Ownership (issue 14): scepctl run as root on a store that another user owns
# becomes that user before it touches the store, so what root's commands
# create (secrets/, revoked/, a re-created audit.log, a CRL) stays the
# server's to read and write. `scepctl serve` started by root switches too.
#
# Root makes a store (it does not exist yet: made as root), hands it to a
# system user (www-data, else a scep-test-owner made here), starts the server
# as root, creates a secret, lets scepclient enroll with it, revokes the
# certificate after audit.log was rotated away, signs a CRL and checks the
# store: after each step nothing under it belongs to anyone but the owner.
# The server still enrolls and serves the revocation. Root that cannot
# switch (no CAP_SETUID/CAP_SETGID) refuses and touches nothing; so does
# root on a store of a uid without a passwd entry whose group is root.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enroll_lib.sh"

if [[ $(id -u) != 0 ]]; then
  note "skipped: scepctl switches users only when it runs as root"
  exit 0
fi
require_cmd scepclient curl openssl runuser setpriv "$PYTHON"

if id -u www-data >/dev/null 2>&1; then
  OWNER=www-data
else
  OWNER=scep-test-owner
  id -u "$OWNER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$OWNER" ||
    id -u "$OWNER" >/dev/null 2>&1 || fail "cannot create the user $OWNER"
fi
OWNER_UID=$(id -u "$OWNER")
OWNER_GID=$(id -g "$OWNER")
[[ $OWNER_UID != 0 && $OWNER_GID != 0 ]] || fail "$OWNER is root or in group root"

STORE="$WORK/store"
C="$WORK/clients"
chmod 0711 "$WORK" # the owner must reach the store
runuser -u "$OWNER" -- test -x "$WORK" || fail "$OWNER cannot reach $WORK: set TMPDIR to a directory others may enter"

# stray — files and directories under $STORE that are not OWNER's, user and group.
stray() { find "$STORE" \( ! -uid "$OWNER_UID" -o ! -gid "$OWNER_GID" \) -printf '%u:%g %p\n'; }
# expect_owned WHAT — nothing under $STORE belongs to anyone else after WHAT.
expect_owned() {
  local s
  s=$(stray)
  [[ -z $s ]] || fail "after $1, not owned by $OWNER:$(id -gn "$OWNER"):$(printf '\n%s' "$s")"
}

# ---- 1. A store that does not exist yet is made as root; then it is handed over.
scepctl ca create own --subject "CN=Owner CA,O=scep tests" --key-bits 2048 --default >/dev/null || fail "ca create own"
[[ $(stat -c %u "$STORE") == 0 ]] || fail "a new store made by root belongs to $(stat -c %U "$STORE")"
scepctl policy create dev --days 30 --eku clientAuth --key-usage digitalSignature,keyEncipherment >/dev/null ||
  fail "policy create"
legacy_on own
chown -R "$OWNER:" "$STORE"

# ---- 2. The server, started by root, runs as the owner: real, effective,
# saved and file-system ids, and the owner's groups, none of them root's.
start_serve
ids=$(awk '$1 == "Uid:" || $1 == "Gid:" { print $2, $3, $4, $5 }' "/proc/$SERVE_PID/status")
[[ $ids == "$(printf '%s %s %s %s\n%s %s %s %s' "$OWNER_UID" "$OWNER_UID" "$OWNER_UID" "$OWNER_UID" \
  "$OWNER_GID" "$OWNER_GID" "$OWNER_GID" "$OWNER_GID")" ]] ||
  fail "scepctl serve started by root runs with ids $(tr '\n' ' ' <<<"$ids"), want $OWNER's ($OWNER_UID, $OWNER_GID)"
groups=$(awk '$1 == "Groups:" { $1 = ""; print }' "/proc/$SERVE_PID/status" | tr ' ' '\n' | sed '/^$/d' | sort -n)
[[ $groups == "$(id -G "$OWNER" | tr ' ' '\n' | sort -n)" ]] ||
  fail "scepctl serve has the groups $(tr '\n' ' ' <<<"$groups"), want $OWNER's: $(id -G "$OWNER")"
expect_owned "scepctl serve started by root"

# ---- 3. Root creates a secret (the first: secrets/ is new); the server uses it.
S1=$(new_secret own dev)
expect_owned "scepctl secret create as root"
scepclient_run "$C/dev1" "$SERVE_URL/own" "$S1" dev1
expect_scepclient_ok "$C/dev1"
KU="Digital Signature, Key Encipherment"
EKU="TLS Web Client Authentication"
SERIAL=$(check_issued "$C/dev1/cert.pem" own dev1 30 "$KU" "$EKU")
expect_owned "the enrollment"
# check reads it all back (before audit.log is rotated away: check wants
# each decision in it).
scepctl check >"$WORK/check.out" 2>&1 || fail "scepctl check as root: $(cat "$WORK/check.out")"
expect_owned "scepctl check as root"

# ---- 4. Root revokes it (revoked/ is new), with audit.log rotated away
# (revoke writes a new one), and signs a CRL.
mv "$STORE/audit.log" "$WORK/audit.log.1"
scepctl revoke "$SERIAL" --reason keyCompromise >/dev/null || fail "scepctl revoke $SERIAL as root"
[[ -d $STORE/ca/own/revoked && -s $STORE/audit.log ]] || fail "scepctl revoke wrote no revoked/ or audit.log"
expect_owned "scepctl revoke as root"
scepctl crl own >"$WORK/crl.pem" || fail "scepctl crl own as root"
openssl crl -in "$WORK/crl.pem" -noout -text | grep -q "Serial Number: $SERIAL\$" ||
  fail "scepctl crl: $SERIAL is not in the CRL"
expect_owned "scepctl crl as root"
# The owner itself runs scepctl as before.
runuser -u "$OWNER" -- "$SCEPCTL" --store "$STORE" certs --revoked >"$WORK/revoked.out" 2>&1 ||
  fail "scepctl certs --revoked as $OWNER: $(cat "$WORK/revoked.out")"
grep -q "$SERIAL" "$WORK/revoked.out" || fail "scepctl certs --revoked as $OWNER lacks $SERIAL"

# ---- 5. The server still enrolls with a root-made secret and serves the
# revocation in its CRL.
S2=$(new_secret own dev)
scepclient_run "$C/dev2" "$SERVE_URL/own" "$S2" dev2
expect_scepclient_ok "$C/dev2"
check_issued "$C/dev2/cert.pem" own dev2 30 "$KU" "$EKU" >/dev/null
http GET "$SERVE_URL/own/crl"
expect_response 200 application/pkix-crl
openssl crl -inform DER -in "$WORK/resp.body" -noout -text >"$WORK/served-crl.txt" || fail "the served CRL is not DER"
grep -A4 "Serial Number: $SERIAL\$" "$WORK/served-crl.txt" | grep -q 'Key Compromise' ||
  fail "the served CRL lacks the keyCompromise entry for $SERIAL: $(cat "$WORK/served-crl.txt")"
expect_owned "the second enrollment"
audit_all_json >/dev/null || fail "audit.log is not JSON lines"

# refused STORE ARGS... — scepctl as root on STORE exits 5 with one error
# line (in $WORK/refused.err) and changes nothing in STORE.
refused() {
  local store=$1 rc=0 before
  shift
  before=$(find "$store" -printf '%p %U:%G %m %s %T@\n' | sort)
  "$@" --store "$store" secret create --ca own --policy dev >"$WORK/refused.out" 2>"$WORK/refused.err" || rc=$?
  [[ $rc == 5 ]] || fail "$* on a store it cannot switch to: exit $rc, want 5: $(cat "$WORK/refused.err")"
  [[ ! -s $WORK/refused.out ]] || fail "$*: printed $(cat "$WORK/refused.out")"
  [[ $(wc -l <"$WORK/refused.err") == 1 ]] || fail "$*: stderr is not one line: $(cat "$WORK/refused.err")"
  [[ $(find "$store" -printf '%p %U:%G %m %s %T@\n' | sort) == "$before" ]] || fail "$*: refused, but changed $store"
}

# ---- 6. Root without CAP_SETUID and CAP_SETGID cannot switch: it refuses.
if setpriv --inh-caps=-setuid,-setgid --bounding-set=-setuid,-setgid -- true 2>/dev/null; then
  refused "$STORE" setpriv --inh-caps=-setuid,-setgid --bounding-set=-setuid,-setgid -- "$SCEPCTL"
  want="scepctl: error: the store $STORE is owned by $OWNER, and scepctl, run as root, cannot switch to that user"
  want+=" (initgroups: Operation not permitted); run as that user (sudo -u $OWNER scepctl ...)"
  [[ $(cat "$WORK/refused.err") == "$want" ]] || fail "refusal: $(cat "$WORK/refused.err"), want: $want"
else
  note "setpriv cannot drop capabilities here: the refusal without CAP_SETUID is not tested"
fi

# ---- 7. An owner without a passwd entry: its uid and the store's group;
# with the group root, a refusal.
uid=4242
while getent passwd "$uid" >/dev/null || getent group "$uid" >/dev/null; do uid=$((uid + 1)); done
STORE2="$WORK/store2"
"$SCEPCTL" --store "$STORE2" init >/dev/null || fail "scepctl init $STORE2"
chown -R "$uid:$uid" "$STORE2"
"$SCEPCTL" --store "$STORE2" policy create p2 --days 1 >/dev/null || fail "policy create on a store of uid $uid"
s=$(find "$STORE2" \( ! -uid "$uid" -o ! -gid "$uid" \) -printf '%u:%g %p\n')
[[ -z $s ]] || fail "on a store of uid $uid (no passwd entry), root made:$(printf '\n%s' "$s")"
chown "$uid:0" "$STORE2"
refused "$STORE2" "$SCEPCTL"
grep -q "owned by uid $uid, .*no passwd entry and the store's group is root.*sudo -u '#$uid'" "$WORK/refused.err" ||
  fail "refusal for uid $uid with group root: $(cat "$WORK/refused.err")"

log "ok"
