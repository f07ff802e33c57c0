# shellcheck shell=bash
# Helpers for the enrollment tests (test_enroll_*.sh): real clients
# (micromdm scepclient, certmonger) against `scepctl serve` and scep.cgi
# under lighttpd. Source it after lib.sh:
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/enroll_lib.sh"

shopt -s inherit_errexit

# ---------------------------------------------------------------- the store

# scepctl ARGS... — scepctl on $STORE.
scepctl() { "$SCEPCTL" --store "$STORE" "$@"; }

# new_secret CA POLICY [ARGS...] — create a secret; print it. Its id is
# written to $WORK/secret.id (the last one) and appended to $WORK/secrets.tsv
# as "id<TAB>secret".
new_secret() {
  local ca=$1 policy=$2 out
  shift 2
  out=$(scepctl secret create --ca "$ca" --policy "$policy" "$@" --json) ||
    fail "scepctl secret create --ca $ca --policy $policy $* failed"
  "$PYTHON" -c '
import json, sys
d = json.loads(sys.argv[1])
open(sys.argv[2], "w").write(d["id"] + "\n")
open(sys.argv[3], "a").write(d["id"] + "\t" + d["secret"] + "\n")
print(d["secret"])' "$out" "$WORK/secret.id" "$WORK/secrets.tsv"
}

# secret_field ID FIELD — a field of `scepctl secret list --json` for ID.
secret_field() {
  scepctl secret list --json | "$PYTHON" -c '
import json, sys
for s in json.load(sys.stdin):
    if s["id"] == sys.argv[1]:
        print(json.dumps(s[sys.argv[2]]) if not isinstance(s[sys.argv[2]], str) else s[sys.argv[2]])
        sys.exit(0)
sys.exit("no secret " + sys.argv[1])' "$1" "$2"
}

# legacy_on CA — accept DES-CBC (micromdm scepclient encrypts with it).
legacy_on() { scepctl ca set "$1" --legacy-algorithms on >/dev/null || fail "scepctl ca set $1 --legacy-algorithms on"; }

# cert_count CA — number of issued certificate files of CA.
cert_count() {
  local d="$STORE/ca/$1/certs"
  [[ -d $d ]] || {
    echo 0
    return
  }
  find "$d" -maxdepth 1 -type f -name '*.pem' | wc -l
}

# ---------------------------------------------------------------- audit log

# audit QUERY-ARGS... — print the audit lines (JSON) matching every
# KEY=VALUE (and none of the KEY!=VALUE) arguments, one per line; fails on
# a line that is not JSON.
audit() {
  "$PYTHON" - "$STORE/audit.log" "$@" <<'EOF'
import json, sys
want = [a.split("=", 1) for a in sys.argv[2:] if "!=" not in a]
unwanted = [a.split("!=", 1) for a in sys.argv[2:] if "!=" in a]
try:
    lines = open(sys.argv[1]).read().splitlines()
except FileNotFoundError:
    lines = []
for n, line in enumerate(lines, 1):
    try:
        rec = json.loads(line)
    except ValueError as e:
        sys.exit("audit.log line %d is not JSON (%s): %r" % (n, e, line[:200]))
    if all(str(rec.get(k, "")) == v for k, v in want) and not any(str(rec.get(k, "")) == v for k, v in unwanted):
        print(json.dumps(rec, sort_keys=True))
EOF
}

# audit_count KEY=VALUE... — number of matching audit lines.
audit_count() {
  local out
  out=$(audit "$@") || fail "$out"
  if [[ -z $out ]]; then echo 0; else printf '%s\n' "$out" | wc -l; fi
}

# audit_one KEY=VALUE... — exactly one audit line matches; it is printed.
audit_one() {
  local out n
  out=$(audit "$@") || fail "$out"
  n=$(if [[ -z $out ]]; then echo 0; else printf '%s\n' "$out" | wc -l; fi)
  [[ $n == 1 ]] || fail "want exactly one audit line with $*, found $n:$(printf '\n%s' "$out")$(printf '\n(last lines of audit.log:)\n')$(tail -n 5 "$STORE/audit.log" 2>/dev/null)"
  printf '%s\n' "$out"
}

# jget JSON KEY — a top-level field of one JSON object.
jget() { "$PYTHON" -c 'import json, sys; print(json.loads(sys.argv[1]).get(sys.argv[2], ""))' "$1" "$2"; }

# audit_all_json — every line of audit.log parses as a JSON object with an
# outcome; prints the number of lines.
audit_all_json() {
  "$PYTHON" - "$STORE/audit.log" <<'EOF'
import json, sys
n = 0
for n, line in enumerate(open(sys.argv[1], "rb").read().split(b"\n")[:-1], 1):
    try:
        rec = json.loads(line)
    except ValueError as e:
        sys.exit("audit.log line %d is not JSON (%s): %r" % (n, e, line[:200]))
    if not isinstance(rec, dict) or "outcome" not in rec:
        sys.exit("audit.log line %d has no outcome: %r" % (n, line[:200]))
data = open(sys.argv[1], "rb").read()
if data and not data.endswith(b"\n"):
    sys.exit("audit.log does not end with a newline")
print(n)
EOF
}

# ---------------------------------------------------------------- servers

# start_serve [LOGNAME] — `scepctl serve` on $STORE on a free port; sets
# SERVE_PORT, SERVE_URL (http://127.0.0.1:PORT/scep), SERVE_PID; its log
# (one line per request) in $WORK/LOGNAME (default serve.log).
# shellcheck disable=SC2120 # the argument is optional
start_serve() {
  SERVE_PORT=$(free_port)
  start_bg "$WORK/${1:-serve.log}" "$SCEPCTL" --store "$STORE" serve --listen "127.0.0.1:$SERVE_PORT"
  SERVE_PID=$BG_PID
  wait_for_port "$SERVE_PORT" "$SERVE_PID"
  # shellcheck disable=SC2034 # used by the tests that source this file
  SERVE_URL="http://127.0.0.1:$SERVE_PORT/scep"
}

# start_lighttpd — lighttpd running scep.cgi on $STORE with the shipped
# lighttpd/scep.conf (its two default var.scep_* lines replaced, as its
# header explains); sets LIGHTTPD_PORT, LIGHTTPD_URL, LIGHTTPD_PID.
# start_lighttpd [ENV]: ENV, e.g. '"SOFTHSM2_CONF" => "/path"', is added to
# the environment the snippet gives scep.cgi.
start_lighttpd() {
  local snippet extra_env=${1:-}
  snippet=$(shipped lighttpd/scep.conf)
  sed -e '/^var\.scep_\(cgi\|store\)[[:space:]]*=/d' \
    -e "s|\"SCEP_STORE\" => var.scep_store|\"SCEP_STORE\" => var.scep_store${extra_env:+, $extra_env}|" \
    "$snippet" >"$WORK/scep-snippet.conf"
  [[ -z $extra_env ]] || grep -qF "$extra_env" "$WORK/scep-snippet.conf" ||
    fail "the lighttpd snippet has no SCEP_STORE line to extend"
  LIGHTTPD_PORT=$(free_port)
  lighttpd_conf lighttpd "$LIGHTTPD_PORT" '"mod_access", "mod_alias", "mod_cgi", "mod_setenv", "mod_accesslog"' \
    "var.scep_cgi = \"$SCEP_CGI_BIN\"
var.scep_store = \"$STORE\"" "$WORK/scep-snippet.conf"
  start_bg "$WORK/lighttpd.log" lighttpd -D -f "$WORK/lighttpd.conf"
  LIGHTTPD_PID=$BG_PID
  wait_for_port "$LIGHTTPD_PORT" "$LIGHTTPD_PID"
  # shellcheck disable=SC2034
  LIGHTTPD_URL="http://127.0.0.1:$LIGHTTPD_PORT/scep"
}

# ---------------------------------------------------------------- scepclient

# scepclient_run DIR URL CHALLENGE CN [ARGS...] — micromdm scepclient in a
# fresh DIR (it keeps self.pem/csr.pem next to the key and would reuse them)
# with DIR/key.pem (kept when it exists: pre-generated keys) and
# DIR/cert.pem. Output in DIR/out, exit status in $SC_RC.
scepclient_run() {
  local dir=$1 url=$2 challenge=$3 cn=$4
  shift 4
  mkdir -p "$dir"
  SC_RC=0
  (cd "$dir" && exec timeout 60 scepclient -server-url "$url" -challenge "$challenge" -cn "$cn" \
    -private-key key.pem -certificate cert.pem "$@") >"$dir/out" 2>&1 || SC_RC=$?
  [[ $SC_RC != 124 ]] || fail "scepclient in $dir timed out: $(tail -n 5 "$dir/out")"
}

# expect_scepclient_ok DIR — scepclient succeeded and wrote DIR/cert.pem.
expect_scepclient_ok() {
  [[ $SC_RC == 0 ]] || fail "scepclient in $1 exited $SC_RC: $(grep -v '^ts=.*level=debug' "$1/out" | tail -n 5)"
  [[ -s $1/cert.pem ]] || fail "scepclient in $1 exited 0 but wrote no cert.pem"
}

# expect_scepclient_failinfo DIR FAILINFO — scepclient failed with FAILINFO
# (e.g. badRequest) and wrote no certificate.
expect_scepclient_failinfo() {
  [[ $SC_RC != 0 ]] || fail "scepclient in $1 exited 0, want a failure with failInfo $2"
  grep -q "failInfo: $2" "$1/out" || fail "scepclient in $1: want failInfo $2, got: $(tail -n 3 "$1/out")"
  [[ ! -s $1/cert.pem ]] || fail "scepclient in $1 failed but wrote cert.pem"
}

# ---------------------------------------------------------------- certificates

# cert_serial PEM — upper-case hex serial as the store names it.
cert_serial() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'; }

# check_issued CERT CA CN DAYS KU EKU — CERT verifies against CA (as
# `scepctl export` gives it), has subject CN, lasts DAYS days from now
# (within 10 minutes), carries exactly the key usage and EKU texts openssl
# prints (e.g. "Digital Signature, Key Encipherment" and "TLS Web Client
# Authentication"), and is the file the store keeps under its serial; the
# audit log has one "issued" line for its serial. Prints the serial.
check_issued() {
  local cert=$1 ca=$2 cn=$3 days=$4 ku=$5 eku=$6 serial end now want line got
  scepctl export "$ca" >"$WORK/verify-$ca.pem" || fail "scepctl export $ca"
  openssl verify -CAfile "$WORK/verify-$ca.pem" "$cert" >"$WORK/verify.out" 2>&1 ||
    fail "$cert does not verify against CA $ca: $(cat "$WORK/verify.out")"
  got=$(openssl x509 -in "$cert" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p')
  [[ $got == "$cn" ]] || fail "$cert: CN \"$got\", want \"$cn\""
  end=$(date -d "$(openssl x509 -in "$cert" -noout -enddate | sed 's/^notAfter=//')" +%s)
  now=$(date +%s)
  want=$((now + days * 86400))
  ((end > want - 600 && end < want + 600)) ||
    fail "$cert: notAfter $(openssl x509 -in "$cert" -noout -enddate), want about $days days from now"
  got=$(openssl x509 -in "$cert" -noout -ext keyUsage | sed -n '2p' | sed 's/^ *//')
  [[ $got == "$ku" ]] || fail "$cert: key usage \"$got\", want \"$ku\""
  openssl x509 -in "$cert" -noout -ext keyUsage | head -n 1 | grep -q critical ||
    fail "$cert: key usage is not critical"
  got=$(openssl x509 -in "$cert" -noout -ext extendedKeyUsage | sed -n '2p' | sed 's/^ *//')
  [[ $got == "$eku" ]] || fail "$cert: extended key usage \"$got\", want \"$eku\""
  openssl x509 -in "$cert" -noout -ext basicConstraints | grep -q 'CA:FALSE' ||
    fail "$cert: basicConstraints is not CA:FALSE"
  serial=$(cert_serial "$cert")
  [[ -f $STORE/ca/$ca/certs/$serial.pem ]] || fail "no $STORE/ca/$ca/certs/$serial.pem for $cert"
  [[ $(fp_pem "$STORE/ca/$ca/certs/$serial.pem") == "$(fp_pem "$cert")" ]] ||
    fail "$STORE/ca/$ca/certs/$serial.pem is not the certificate the client received"
  line=$(audit_one outcome=issued ca="$ca" serial="$serial")
  [[ $(jget "$line" fail_info) == "" ]] || fail "issued audit line with a fail_info: $line"
  printf '%s\n' "$serial"
}

# same_key CERT KEY — the certificate carries KEY's public key.
same_key() {
  [[ $(openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum) == \
    "$(openssl pkey -in "$2" -pubout -outform DER | sha256sum)" ]] ||
    fail "$1 does not carry the public key of $2"
}

# ---------------------------------------------------------------- capture

# start_capture UPSTREAM DIR — an HTTP server on a free port that forwards
# GET requests to UPSTREAM (e.g. http://127.0.0.1:$SERVE_PORT) unchanged
# and stores the body of every POST as DIR/post.N.der (N from 1, counting
# POSTs and GET PKIOperations together), answering the POST 500 (so the
# client gives up and nothing is issued). A GET PKIOperation is forwarded
# and kept: request target in DIR/get.N.target, headers in
# DIR/get.N.headers, the upstream's reply in DIR/get.N.reply. Sets
# CAPTURE_PORT and CAPTURE_URL (http://127.0.0.1:PORT/scep).
start_capture() {
  local upstream=$1 dir=$2
  mkdir -p "$dir"
  CAPTURE_PORT=$(free_port)
  cat >"$WORK/capture.py" <<'PYEOF'
import http.server, sys, urllib.request, urllib.error, os, itertools
port, upstream, outdir = int(sys.argv[1]), sys.argv[2], sys.argv[3]
counter = itertools.count(1)

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def reply(self, status, ctype, body):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        try:
            with urllib.request.urlopen(upstream + self.path) as r:
                status, ctype, body = r.status, r.headers.get("Content-Type", ""), r.read()
        except urllib.error.HTTPError as e:
            status, ctype, body = e.code, e.headers.get("Content-Type", ""), e.read()
        if "operation=pkioperation" in self.path.lower():
            path = os.path.join(outdir, "get.%d" % next(counter))
            with open(path + ".headers", "w") as f:
                f.write("GET %s\n%s" % (self.path, self.headers))
            with open(path + ".reply", "wb") as f:
                f.write(body)
            with open(path + ".target.tmp", "w") as f:
                f.write(self.path)
            os.rename(path + ".target.tmp", path + ".target")
        self.reply(status, ctype, body)
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        n = next(counter)
        path = os.path.join(outdir, "post.%d" % n)
        with open(path + ".tmp", "wb") as f:
            f.write(body)
        with open(path + ".headers", "w") as f:
            f.write("POST %s\n%s" % (self.path, self.headers))
        os.rename(path + ".tmp", path + ".der")
        self.reply(500, "text/plain", b"captured\n")
    def log_message(self, fmt, *args):
        sys.stderr.write("capture: " + (fmt % args) + "\n")

http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PYEOF
  start_bg "$WORK/capture.log" "$PYTHON" "$WORK/capture.py" "$CAPTURE_PORT" "$upstream" "$dir"
  wait_for_port "$CAPTURE_PORT" "$BG_PID"
  # shellcheck disable=SC2034
  CAPTURE_URL="http://127.0.0.1:$CAPTURE_PORT/scep"
}

# ---------------------------------------------------------------- certmonger

# start_certmonger — a private D-Bus bus (a dbus-daemon with a minimal
# configuration: no service activation, so no other certmonger can be
# started behind the test's back) and certmonger's session daemon on it,
# its state under $CM=$WORK/certmonger (CERTMONGER_*_DIR), debug log in
# $WORK/certmonger.log. Exports DBUS_SESSION_BUS_ADDRESS for getcert -s.
start_certmonger() {
  local i
  cat >"$WORK/bus.conf" <<BUSEOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$WORK/bus.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
BUSEOF
  start_bg "$WORK/dbus.log" dbus-daemon --config-file="$WORK/bus.conf" --nofork --nopidfile
  local dbus_pid=$BG_PID
  for ((i = 0; i < 100; i++)); do
    [[ -S $WORK/bus.sock ]] && break
    kill -0 "$dbus_pid" 2>/dev/null || fail "dbus-daemon exited: $(cat "$WORK/dbus.log")"
    sleep 0.1
  done
  [[ -S $WORK/bus.sock ]] || fail "dbus-daemon made no socket"
  export DBUS_SESSION_BUS_ADDRESS="unix:path=$WORK/bus.sock"

  CM="$WORK/certmonger"
  mkdir -p "$CM/requests" "$CM/cas" "$CM/local" "$CM/tmp" "$CM/home" "$CM/out"
  start_bg "$WORK/certmonger.log" env HOME="$CM/home" XDG_CONFIG_HOME="$CM/home/.config" \
    CERTMONGER_CONFIG_DIR="$CM" CERTMONGER_REQUESTS_DIR="$CM/requests" CERTMONGER_CAS_DIR="$CM/cas" \
    CERTMONGER_LOCAL_CA_DIR="$CM/local" CERTMONGER_TMPDIR="$CM/tmp" \
    /usr/lib/certmonger/certmonger-session -s -n -B -d 3
  CM_PID=$BG_PID
  for ((i = 0; i < 100; i++)); do
    getcert list -s >/dev/null 2>&1 && break
    kill -0 "$CM_PID" 2>/dev/null || fail "certmonger exited: $(tail -n 20 "$WORK/certmonger.log")"
    sleep 0.1
  done
  getcert list -s >"$WORK/getcert-list.out" 2>&1 ||
    fail "certmonger is not on the private bus: $(cat "$WORK/getcert-list.out")"
}

# certmonger_add_ca NAME URL ID [ARGS...] — getcert add-scep-ca, then wait
# until certmonger has fetched the CA's certificates (`getcert list-cas` in
# $WORK/certmonger-ca-NAME.out).
certmonger_add_ca() {
  local name=$1 url=$2 id=$3 i
  shift 3
  getcert add-scep-ca -s -c "$name" -u "$url" -i "$id" "$@" >"$WORK/certmonger-add-$name.out" 2>&1 ||
    fail "getcert add-scep-ca -c $name: $(cat "$WORK/certmonger-add-$name.out")"
  for ((i = 0; i < 300; i++)); do
    getcert list-cas -s -c "$name" >"$WORK/certmonger-ca-$name.out" 2>&1 || true
    grep -q 'certificate thumbprint' "$WORK/certmonger-ca-$name.out" && return 0
    sleep 0.1
  done
  fail "certmonger did not fetch the certificates of CA $name: $(cat "$WORK/certmonger-ca-$name.out")"
}

# certmonger_request NAME CA CN SECRET — getcert request (key and
# certificate in $CM/out/NAME.key.pem, NAME.cert.pem), waiting for the
# outcome; `getcert list` of the request in $CM/out/NAME.list, getcert's
# exit status in $REQUEST_RC.
certmonger_request() {
  local name=$1 ca=$2 cn=$3 secret=$4 rc=0
  timeout 120 getcert request -s -c "$ca" -I "$name" -f "$CM/out/$name.cert.pem" -k "$CM/out/$name.key.pem" \
    -N "CN=$cn" -L "$secret" -w --wait-timeout=90 >"$CM/out/$name.request" 2>&1 || rc=$?
  [[ $rc != 124 ]] || fail "getcert request $name timed out: $(cat "$CM/out/$name.request")"
  getcert list -s -i "$name" >"$CM/out/$name.list" 2>&1 || fail "getcert list -i $name: $(cat "$CM/out/$name.list")"
  # shellcheck disable=SC2034
  REQUEST_RC=$rc
}

# certmonger_status NAME — the status getcert list shows for request NAME.
certmonger_status() { sed -n 's/^[[:space:]]*status: //p' "$CM/out/$1.list"; }

# certrep_attr FILE OID — the printable value of a signed attribute of the
# DER CMS message in FILE (e.g. 2.16.840.1.113733.1.9.3 pkiStatus,
# ...9.4 failInfo, ...9.2 messageType), as `openssl cms -cmsout -print`
# shows it; empty when absent.
certrep_attr() {
  openssl cms -cmsout -inform DER -in "$1" -print 2>/dev/null | awk -v oid="($2)" '
    index($0, "object:") && index($0, oid) { want = 1; next }
    want && /set:/ { next }
    want { sub(/^[ \t]*[A-Z0-9]+STRING:/, ""); print; exit }'
}
