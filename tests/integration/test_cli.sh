#!/bin/bash
# One consistent scepctl CLI, driven as a script would: every listing has a
# header row, is sorted by time and says so on stderr when empty; --json of
# every printing command parses and has the fields scepctl(1) documents;
# --ca defaults to the default CA; certs filters; cert show; crl show does
# not sign (crl.der unchanged) and crl does; ca set round-trips every
# per-CA key into scep.toml and a bad value leaves it byte-for-byte; CLI11
# parse errors exit 2; did-you-mean; check --strict. Certificates and
# pending requests come from scep_client.py through `scepctl serve`.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enroll_lib.sh"
require_cmd openssl "$PYTHON"

STORE="$WORK/store"
sc() { "$SCEPCTL" --store "$STORE" "$@"; }

# has_fields FILE FIELD... — FILE is JSON (python3 json) and every object in
# it (it, or each element of an array) has each FIELD.
has_fields() {
  local file=$1
  shift
  "$PYTHON" - "$file" "$@" <<'PY' || fail "$(basename "$1"): $(head -c 400 "$1")"
import json, sys
doc = json.load(open(sys.argv[1]))
items = doc if isinstance(doc, list) else [doc]
for item in items:
    missing = [f for f in sys.argv[2:] if f not in item]
    if missing:
        sys.exit(f"{sys.argv[1]}: missing {missing} in {sorted(item)}")
PY
}

# jsonout NAME ARGS... — scepctl --json ARGS into $WORK/NAME.json, checked
# with python3 -m json.tool.
jsonout() {
  local name=$1
  shift
  sc --json "$@" >"$WORK/$name.json" || fail "scepctl --json $*: exit $?"
  "$PYTHON" -m json.tool "$WORK/$name.json" >/dev/null || fail "scepctl --json $*: not JSON: $(head -c 300 "$WORK/$name.json")"
}

# expect_exit CODE PATTERN ARGS... — scepctl ARGS exits CODE with one
# stderr line matching PATTERN (grep -E).
expect_exit() {
  local want=$1 pattern=$2 rc=0
  shift 2
  sc "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
  [[ $rc == "$want" ]] || fail "scepctl $*: exit $rc, want $want: $(cat "$WORK/err")"
  [[ $(wc -l <"$WORK/err") == 1 ]] || fail "scepctl $*: stderr is not one line: $(cat "$WORK/err")"
  grep -Eq -- "$pattern" "$WORK/err" || fail "scepctl $*: stderr $(cat "$WORK/err"), want /$pattern/"
}

# ---- empty listings: nothing on stdout, a word on stderr, [] with --json.
jsonout init init
has_fields "$WORK/init.json" store created
for cmd in "ca list:no CAs" "secret list:no secrets" "policy list:no policies" "pending:no pending requests" \
  "certs:no certificates"; do
  args=${cmd%%:*} want=${cmd#*:}
  # shellcheck disable=SC2086 # the command's words
  sc $args >"$WORK/out" 2>"$WORK/err" || fail "scepctl $args on an empty store"
  [[ ! -s $WORK/out && $(cat "$WORK/err") == "$want" ]] || fail "scepctl $args: stdout '$(cat "$WORK/out")' stderr '$(cat "$WORK/err")'"
  # shellcheck disable=SC2086
  [[ $(sc --json $args 2>/dev/null) == "[]" ]] || fail "scepctl --json $args on an empty store is not []"
done

# ---- the default CA: one CA, several with a default, several without.
jsonout ca-create ca create soon --days 10
has_fields "$WORK/ca-create.json" name subject issuer serial not_before not_after key md5 sha1 sha256 sans
jsonout policy-create policy create dev --days 30
has_fields "$WORK/policy-create.json" name validity_days key_usage extended_key_usage san min_rsa_bits
jsonout secret1 secret create --policy dev --uses 5
[[ $(json_field "$WORK/secret1.json" ca) == soon ]] || fail "secret create without --ca and one CA: $(cat "$WORK/secret1.json")"
has_fields "$WORK/secret1.json" id secret ca policy expires uses
sc ca create main --default >/dev/null
sleep 1 # secrets are created to the second: a later one for the order below
jsonout secret2 secret create --policy dev --uses 5
[[ $(json_field "$WORK/secret2.json" ca) == main ]] || fail "secret create without --ca takes the default CA: $(cat "$WORK/secret2.json")"
sc ca create third >/dev/null
cp "$STORE/scep.toml" "$WORK/scep.toml.keep"
sed -i 's/^default_ca = .*/default_ca = ""/' "$STORE/scep.toml"
expect_exit 2 'there are 3 CAs \(main, soon, third\) and no default CA' secret create --policy dev
expect_exit 2 'no default CA' crl show
expect_exit 2 'no default CA' export
cp "$WORK/scep.toml.keep" "$STORE/scep.toml"

# ---- certificates and a pending request through scepctl serve.
start_serve
client() { "$PYTHON" "$SCEP_SOURCE/tests/integration/scep_client.py" enroll --url "$SERVE_URL" "$@"; }
"$PYTHON" "$SCEP_SOURCE/tests/integration/scep_client.py" genkeys "$WORK/keys" 3 2048 >/dev/null || fail "genkeys"
mapfile -t KEYS < <(ls "$WORK/keys"/*)
client --ca main --key "${KEYS[0]}" --cn dev-a --challenge "$(json_field "$WORK/secret2.json" secret)" \
  --out "$WORK/a.pem" >"$WORK/a.log" 2>&1 || fail "enroll dev-a: $(tail -n 3 "$WORK/a.log")"
sleep 1 # a later notBefore for dev-b
client --ca main --key "${KEYS[1]}" --cn dev-b --challenge "$(json_field "$WORK/secret2.json" secret)" \
  --out "$WORK/b.pem" >"$WORK/b.log" 2>&1 || fail "enroll dev-b: $(tail -n 3 "$WORK/b.log")"
client --ca main --key "${KEYS[2]}" --cn dev-c --timeout 2 >"$WORK/c.log" 2>&1 || true # left pending
serial_of() { sc --json certs --cn "$1" | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)[0]["serial"])'; }
serial_a=$(serial_of dev-a)
serial_b=$(serial_of dev-b)

# Headers, and rows sorted by time.
sc certs >"$WORK/certs.txt"
head -n 1 "$WORK/certs.txt" | grep -Eq '^SERIAL +STATUS +CA +NOT_BEFORE +NOT_AFTER +POLICY +SUBJECT +SANS$' ||
  fail "certs header: $(head -n 1 "$WORK/certs.txt")"
[[ $(awk 'NR > 1 {print $1}' "$WORK/certs.txt" | tr '\n' ' ') == "$serial_a $serial_b " ]] ||
  fail "certs not in issue order: $(cat "$WORK/certs.txt")"
sc pending >"$WORK/pending.txt"
head -n 1 "$WORK/pending.txt" | grep -Eq '^MD5 +CA +RECEIVED +AGE +FROM +KEY +SUBJECT +DETAILS$' ||
  fail "pending header: $(head -n 1 "$WORK/pending.txt")"
grep -q 'CN=dev-c' "$WORK/pending.txt" || fail "pending: $(cat "$WORK/pending.txt")"
sc secret list >"$WORK/secrets.txt"
head -n 1 "$WORK/secrets.txt" | grep -Eq '^ID +STATE +USES +CA +POLICY +CREATED +EXPIRES +CN$' || fail "secret list: $(cat "$WORK/secrets.txt")"
[[ $(awk 'NR > 1 {print $1}' "$WORK/secrets.txt" | tr '\n' ' ') == "$(json_field "$WORK/secret1.json" id) $(json_field "$WORK/secret2.json" id) " ]] ||
  fail "secret list not in creation order: $(cat "$WORK/secrets.txt")"
sc ca list >"$WORK/cas.txt"
head -n 1 "$WORK/cas.txt" | grep -Eq '^NAME +DEFAULT +RA +NOT_BEFORE +NOT_AFTER +SUBJECT$' || fail "ca list: $(cat "$WORK/cas.txt")"
awk 'NR > 1 {print $4}' "$WORK/cas.txt" | sort -c || fail "ca list not by notBefore: $(cat "$WORK/cas.txt")"
touch -d '2000-01-01' "$STORE/policies/dev.toml"
sc policy create zed >/dev/null
sc policy list >"$WORK/policies.txt"
head -n 1 "$WORK/policies.txt" | grep -Eq '^NAME +CHANGED +DAYS +EKU +KEY_USAGE$' || fail "policy list: $(cat "$WORK/policies.txt")"
[[ $(awk 'NR > 1 {print $1}' "$WORK/policies.txt" | tr '\n' ' ') == "dev zed " ]] || fail "policy list order: $(cat "$WORK/policies.txt")"

# certs filters and cert show.
[[ $(sc certs --cn DEV-B | awk 'NR > 1 {print $1}') == "$serial_b" ]] || fail "certs --cn dev-b"
[[ $(sc certs --expiring 400 | wc -l) == 3 ]] || fail "certs --expiring 400: $(sc certs --expiring 400)"
[[ -z $(sc certs --expiring 1 2>/dev/null) ]] || fail "certs --expiring 1 lists certificates"
sc revoke "$serial_a" --reason superseded >/dev/null
[[ $(sc certs --revoked --ca main | awk 'NR > 1 {print $1}') == "$serial_a" ]] || fail "certs --revoked"
sc cert show "$serial_a" --pem >"$WORK/show.txt"
for want in "subject: .*CN=dev-a" "extended_key_usage: +clientAuth" "policy: +dev" "status: +revoked \(superseded" "sha256:" \
  "BEGIN CERTIFICATE"; do
  grep -Eq "$want" "$WORK/show.txt" || fail "cert show lacks /$want/: $(cat "$WORK/show.txt")"
done
openssl x509 -in "$WORK/show.txt" -noout || fail "cert show --pem: openssl cannot read the PEM"

# ---- --json of every printing command, with the documented fields.
CERT="subject issuer serial not_before not_after key md5 sha1 sha256 sans"
jsonout ca-list ca list && has_fields "$WORK/ca-list.json" name default ra chain $CERT
jsonout ca-show ca show && has_fields "$WORK/ca-show.json" name default ra chain
jsonout ca-set ca set --crl-days 8 && has_fields "$WORK/ca-set.json" ca changed options
jsonout secrets secret list && has_fields "$WORK/secrets.json" id ca policy uses uses_left created expires state cn subject_regex
jsonout policies policy list && has_fields "$WORK/policies.json" name changed validity_days extended_key_usage
jsonout policy-show policy show dev && has_fields "$WORK/policy-show.json" name validity_days
jsonout pending pending && has_fields "$WORK/pending.json" ca md5 sha1 sha256 transaction_id remote created age expired subject sans key
jsonout certs certs && has_fields "$WORK/certs.json" ca $CERT status policy
jsonout cert-show cert show "$serial_b" && has_fields "$WORK/cert-show.json" ca $CERT status policy key_usage extended_key_usage pem
jsonout export export main && has_fields "$WORK/export.json" ca format certificates pem
jsonout export-out export main --out "$WORK/ca.pem" && has_fields "$WORK/export-out.json" ca format certificates file
jsonout ra ra create third && has_fields "$WORK/ra.json" ca subject sha256
openssl req -new -newkey rsa:2048 -nodes -subj /CN=fp -keyout "$WORK/fp.key" -out "$WORK/fp.csr" 2>/dev/null
jsonout fingerprint fingerprint "$WORK/fp.csr" && has_fields "$WORK/fingerprint.json" md5 sha1 sha256 subject
jsonout secret-revoke secret revoke "$(json_field "$WORK/secret1.json" id)" && has_fields "$WORK/secret-revoke.json" id state
jsonout crl crl main && has_fields "$WORK/crl.json" ca number revoked next_update pem
jsonout crl-show crl show main && has_fields "$WORK/crl-show.json" ca issuer number this_update next_update current verified revoked pem
jsonout revoke revoke "$serial_b" && has_fields "$WORK/revoke.json" ca serial reason crl_number
md5=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["md5"])' "$WORK/pending.json")
jsonout reject reject "$md5" && has_fields "$WORK/reject.json" ca transaction_id state

# ---- crl show reads, crl signs.
h1=$(sha256sum <"$STORE/ca/main/crl.der")
sc crl show main >"$WORK/crl-show.txt"
sc crl show --pem >/dev/null
grep -Eq '^  number: +[0-9]+' "$WORK/crl-show.txt" || fail "crl show: $(cat "$WORK/crl-show.txt")"
grep -Eq "^$serial_a +[0-9T:Z-]+ +superseded$" "$WORK/crl-show.txt" || fail "crl show lacks $serial_a: $(cat "$WORK/crl-show.txt")"
[[ $(sha256sum <"$STORE/ca/main/crl.der") == "$h1" ]] || fail "crl show changed crl.der"
sc crl main >/dev/null
[[ $(sha256sum <"$STORE/ca/main/crl.der") != "$h1" ]] || fail "crl did not sign a new crl.der"

# ---- ca set: every key into scep.toml; a bad value changes nothing.
sc ca set main --legacy-algorithms on --include-root off --manual-enrollment off --max-pending 12 --pending-days 3 \
  --manual-policy dev --crl-days 5 --renewal-grace-days 9 >/dev/null || fail "ca set with every key"
for kv in "legacy_algorithms = true" "include_root = false" "manual_enrollment = false" "max_pending = 12" \
  "pending_days = 3" 'manual_policy = "dev"' "crl_days = 5" "renewal_grace_days = 9"; do
  sed -n '/^\[ca\.main\]/,/^\[/p' "$STORE/scep.toml" | grep -qxF "$kv" || fail "scep.toml lacks '$kv': $(cat "$STORE/scep.toml")"
done
cp "$STORE/scep.toml" "$WORK/scep.toml.before"
expect_exit 2 'max-pending' ca set main --max-pending lots
expect_exit 2 'pending-days' ca set main --crl-days 4 --pending-days 0
expect_exit 2 'legacy-algorithms' ca set main --legacy-algorithms maybe
cmp -s "$STORE/scep.toml" "$WORK/scep.toml.before" || fail "a refused ca set changed scep.toml"

# ---- usage errors: exit 2, one line; did you mean.
expect_exit 2 "unknown command 'certz' \(did you mean 'certs'\?\)" certz
expect_exit 2 "unknown command 'secret lst' \(did you mean 'secret list'\?\)" secret lst
expect_exit 2 'not expected: --bogus' certs --bogus
expect_exit 2 'requires? (at least )?1|missing' secret create --ca
expect_exit 2 '' fingerprint "$WORK/c.log"

# ---- check: a CA that expires in 10 days is a warning; --strict fails on it.
sc check >"$WORK/check.out" 2>&1 || fail "check: $(cat "$WORK/check.out")"
grep -q 'warning: the CA certificate expires in' "$WORK/check.out" || fail "check: no expiry warning: $(cat "$WORK/check.out")"
rc=0
sc check --strict >"$WORK/check.out" 2>&1 || rc=$?
[[ $rc == 5 ]] || fail "check --strict with a CA expiring in 10 days: exit $rc, want 5"
jsonout check check && has_fields "$WORK/check.json" cas records
log "ok"
