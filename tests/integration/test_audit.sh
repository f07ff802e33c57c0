#!/bin/bash
# Every operator action leaves an audit line with who did it and what
# changed, never a secret: CA create/import/set, RA create, policy
# create/replace, secret create/revoke, approve, reject, revoke and CRL
# signing. The operator is who started scepctl (uid, login name, SUDO_USER),
# even when root becomes the store's owner first. `scepctl audit` filters the
# log by CA, serial, transactionID, operation, operator and time. An action
# whose line cannot be written says so and exits non-zero.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enroll_lib.sh"
require_cmd scepclient openssl "$PYTHON"

STORE="$WORK/store"
export SUDO_USER=alice
ME=$(id -un)
MY_UID=$(id -u)

# op_line OPERATION [KEY=VALUE...] — the one audit line of an operator's
# action; it names the operator.
op_line() {
  local line
  line=$(audit_one operation="$1" "${@:2}")
  "$PYTHON" - "$line" "$MY_UID" "$ME" <<'PY' || fail "audit line of $1 does not name the operator: $line"
import json, sys
by = json.loads(sys.argv[1]).get("operator") or {}
sys.exit(0 if by == {"uid": int(sys.argv[2]), "user": sys.argv[3], "sudo_user": "alice"} else 1)
PY
  printf '%s\n' "$line"
}

# ---- store-wide and CA actions
scepctl ca create main --subject "CN=Audit Test CA" >/dev/null || fail "ca create"
line=$(op_line ca-create ca=main outcome=created)
[[ $(jget "$line" serial) == $(openssl x509 -in "$STORE/ca/main/cert.pem" -noout -serial | sed 's/^serial=//') ]] ||
  fail "ca-create does not name the CA certificate's serial: $line"
[[ $(jget "$line" detail) == *"SHA-256 $(openssl x509 -in "$STORE/ca/main/cert.pem" -noout -fingerprint -sha256 | sed 's/^.*=//; s/://g' | tr 'A-F' 'a-f')"* ]] ||
  fail "ca-create does not give the CA's fingerprint: $line"

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/imp.key" -out "$WORK/imp.pem" -subj "/CN=Imported CA" -days 30 \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
scepctl ca import imp --cert "$WORK/imp.pem" --key "$WORK/imp.key" >/dev/null || fail "ca import"
op_line ca-import ca=imp outcome=created >/dev/null

scepctl ca set main --legacy-algorithms on >/dev/null || fail "ca set"
line=$(op_line ca-set ca=main)
[[ $(jget "$line" detail) == "legacy_algorithms: false -> true" ]] || fail "ca-set does not say what changed: $line"

scepctl ra create imp >/dev/null || fail "ra create"
op_line ra-create ca=imp serial="$(openssl x509 -in "$STORE/ca/imp/ra.pem" -noout -serial | sed 's/^serial=//')" >/dev/null
scepctl ra create imp --replace >/dev/null || fail "ra create --replace"
op_line ra-replace ca=imp >/dev/null

scepctl policy create device --days 30 --eku clientAuth >/dev/null || fail "policy create"
op_line policy-create policy=device outcome=created >/dev/null
scepctl policy create device --days 60 --eku clientAuth --replace >/dev/null || fail "policy create --replace"
line=$(op_line policy-replace policy=device outcome=replaced)
[[ $(jget "$line" detail) == "validity_days: 30 -> 60" ]] || fail "policy-replace does not say what changed: $line"

# ---- secrets: the line names the secret's id and what it grants, never the secret
SECRET=$(new_secret main device)
ID=$(scepctl secret list --json | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
line=$(op_line secret-create ca=main secret_id="$ID" policy=device outcome=created)
[[ $(jget "$line" detail) == "1 use(s), expires 20"*Z ]] || fail "secret-create does not say what it grants: $line"
BOUND=$(new_secret main device --cn dev1 --uses 3)
BOUND_ID=$(scepctl secret list --json | "$PYTHON" -c 'import json,sys; print([s["id"] for s in json.load(sys.stdin) if s["id"] != sys.argv[1]][0])' "$ID")
line=$(op_line secret-create secret_id="$BOUND_ID")
[[ $(jget "$line" detail) == "3 use(s), expires 20"*"Z, bound to CN dev1" ]] || fail "secret-create does not say what it grants: $line"
scepctl secret revoke "$BOUND_ID" >/dev/null || fail "secret revoke"
op_line secret-revoke ca=main secret_id="$BOUND_ID" outcome=revoked >/dev/null

# ---- decisions: an enrollment with the secret, a manual one approved, one rejected
start_serve
scepclient_run "$WORK/dev1" "$SERVE_URL" "$SECRET" dev1
expect_scepclient_ok "$WORK/dev1"
SERIAL=$(cert_serial "$WORK/dev1/cert.pem")
[[ -z $(audit outcome=issued serial="$SERIAL" | grep '"operator"' || true) ]] || fail "a device's enrollment names an operator"
! grep -qF "$SECRET" "$STORE/audit.log" || fail "a secret is in audit.log"
! grep -qF "$BOUND" "$STORE/audit.log" || fail "a secret is in audit.log"

manual() {  # manual DIR CN — scepclient without a challenge, in the background
  mkdir -p "$1"
  (cd "$1" && exec timeout 100 scepclient -server-url "$SERVE_URL" -cn "$2" -private-key key.pem -certificate cert.pem) \
    >"$1/out" 2>&1 &
  MANUAL_PIDS+=($!)
}
MANUAL_PIDS=()
manual "$WORK/m1" manual-ok
manual "$WORK/m2" manual-no
for _ in $(seq 1 150); do
  [[ $(scepctl pending --json | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)))') == 2 ]] && break
  sleep 0.1
done
fp() { openssl req -in "$1/csr.pem" -outform DER | openssl sha256 -r | cut -c1-16; }
scepctl approve "$(fp "$WORK/m1")" --policy device >/dev/null || fail "approve"
scepctl reject "$(fp "$WORK/m2")" --reason "not ours" >/dev/null || fail "reject"
line=$(op_line approve outcome=issued)
TX=$(jget "$line" transaction_id)
op_line reject outcome=rejected detail="not ours" >/dev/null
kill "${MANUAL_PIDS[@]}" 2>/dev/null || true  # their polls are not what this test is about

# ---- revoke, and the CRL it signs; scepctl crl
scepctl revoke "$SERIAL" --reason keyCompromise >/dev/null || fail "revoke"
op_line revoke ca=main serial="$SERIAL" outcome=revoked >/dev/null
line=$(op_line crl-sign ca=main)
[[ $(jget "$line" detail) == "CRL number 1 (after revoking $SERIAL): 1 revoked, next update 20"*Z ]] ||
  fail "crl-sign does not describe the CRL: $line"
scepctl crl main >/dev/null || fail "crl"
[[ $(audit_count operation=crl-sign ca=main) == 2 ]] || fail "scepctl crl left no crl-sign line"

# ---- root on a store another user owns: the line names root (and alice), not the owner
if [[ $(id -u) == 0 ]]; then
  chmod 0711 "$WORK"
  chown -R nobody:nogroup "$STORE"
  scepctl secret create --ca main --policy device >/dev/null || fail "secret create as root on nobody's store"
  [[ $(audit_count operation=secret-create) == 3 ]] || fail "no third secret-create line"
  audit operation=secret-create | tail -n 1 | grep -q '"operator": {"sudo_user": "alice", "uid": 0, "user": "root"}' ||
    fail "root's action on nobody's store is not recorded as root's: $(audit operation=secret-create | tail -n 1)"
fi

# ---- scepctl audit: filters, text and JSON
count() { "$SCEPCTL" --store "$STORE" --json audit "$@" | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
[[ $(count --serial "$(sed 's/../&:/g; s/:$//' <<<"${SERIAL,,}")") == $(audit_count serial="$SERIAL") ]] ||
  fail "audit --serial with colons and lower case does not find the certificate's lines"
[[ $(audit_count serial="$SERIAL") == 2 ]] || fail "want the issued and the revoke line for $SERIAL"
[[ $(count --transaction-id "$TX") == $(audit_count transaction_id="$TX") ]] || fail "audit --transaction-id"
[[ $(count --ca imp) == $(audit_count ca=imp) ]] || fail "audit --ca"
[[ $(count --operation APPROVE) == 1 ]] || fail "audit --operation APPROVE (any case)"
[[ $(count --by alice) == $(grep -c '"sudo_user":"alice"' "$STORE/audit.log") ]] || fail "audit --by alice"
[[ $(count --by nobody-at-all) == 0 ]] || fail "audit --by an unknown user matches"
[[ $(count --since 1h) == $(audit_count) ]] || fail "audit --since 1h misses lines"
[[ $(count --since "$(date -u -d tomorrow +%Y-%m-%d)") == 0 ]] || fail "audit --since tomorrow matches"
[[ $(count --until 2000-01-01) == 0 ]] || fail "audit --until 2000-01-01 matches"
"$SCEPCTL" --store "$STORE" audit --operation revoke >"$WORK/audit.txt" || fail "scepctl audit"
head -n 1 "$WORK/audit.txt" | grep -q '^TIME  *CA  *OPERATION  *OUTCOME  *OBJECT  *BY  *DETAIL$' || fail "no header: $(cat "$WORK/audit.txt")"
grep -q "^20.*  main  *revoke  *revoked  *$SERIAL  *$ME (sudo alice)  *keyCompromise$" "$WORK/audit.txt" ||
  fail "the revoke line reads: $(cat "$WORK/audit.txt")"
rc=0
"$SCEPCTL" --store "$STORE" audit --since yesterday-ish 2>"$WORK/bad.err" || rc=$?
[[ $rc == 2 ]] && grep -q "is not a time" "$WORK/bad.err" || fail "a bad --since: exit $rc, $(cat "$WORK/bad.err")"
[[ $(count --outcome REVOKED) == $(audit_count outcome=revoked) ]] || fail "audit --outcome REVOKED (any case)"
[[ $(count --outcome signed) == $(audit_count operation=crl-sign) ]] || fail "audit --outcome signed"
rc=0
"$SCEPCTL" --store "$STORE" audit --outcome isued >/dev/null 2>"$WORK/bad.err" || rc=$?
# A misspelt outcome would match nothing and look like an empty log: refused.
[[ $rc != 0 ]] && grep -q 'no outcome is called "isued"' "$WORK/bad.err" ||
  fail "a misspelt --outcome: exit $rc, $(cat "$WORK/bad.err")"
gzip -c "$STORE/audit.log" >"$WORK/rotated.gz"
[[ $(zcat "$WORK/rotated.gz" | "$SCEPCTL" --store "$STORE" --json audit --file - --ca imp |
  "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)))') == $(audit_count ca=imp) ]] || fail "audit --file - (a rotated log)"

# ---- a line that cannot be written: the action is done, the command says so
_stop_pid "$SERVE_PID"
mv "$STORE/audit.log" "$WORK/audit.log.saved"
mkdir "$STORE/audit.log"
rc=0
scepctl ca set main --legacy-algorithms off >"$WORK/set.out" 2>"$WORK/set.err" || rc=$?
[[ $rc != 0 ]] || fail "ca set exited 0 although its audit line could not be written"
grep -q "ca-set (main) is done, but its audit line could not be written" "$WORK/set.err" || fail "ca set: $(cat "$WORK/set.err")"
grep -q 'legacy_algorithms = false' "$STORE/scep.toml" || fail "the change itself was not made"
rmdir "$STORE/audit.log"
mv "$WORK/audit.log.saved" "$STORE/audit.log"

audit_all_json >/dev/null
scepctl check >"$WORK/check.out" 2>&1 || fail "scepctl check after operator actions: $(cat "$WORK/check.out")"
log "ok"
