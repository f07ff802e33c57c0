# shellcheck shell=bash
# Shared helpers for tests/integration/test_*.sh. Source it:
#   . "$(dirname "$0")/lib.sh"
#
# CTest sets SCEP_BIN (the build's bin directory) and SCEP_SOURCE (the
# repository root). By hand:
#   SCEP_BIN=build/bin SCEP_SOURCE=. tests/integration/test_serve.sh
# SCEP_KEEP_WORK=1 keeps the temp directory (it is always kept on failure).

set -euo pipefail

: "${SCEP_BIN:?set SCEP_BIN to the bin directory of the build}"
: "${SCEP_SOURCE:?set SCEP_SOURCE to the repository root}"
SCEP_BIN=$(cd "$SCEP_BIN" && pwd)
SCEP_SOURCE=$(cd "$SCEP_SOURCE" && pwd)
SCEPCTL="$SCEP_BIN/scepctl"
# shellcheck disable=SC2034 # used by the tests that source this file
SCEP_CGI_BIN="$SCEP_BIN/scep.cgi"
# The system interpreter: a pyenv shim on PATH costs a second per call.
if [[ -x /usr/bin/python3 ]]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi

TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/scep-$TEST_NAME.XXXXXX")
_SERVER_PIDS=()

# shipped NAME — the installed copy of share/NAME, as `cmake --install
# --prefix /usr` writes it (paths filled in, cmake/install_substituted.cmake):
# snippets and units are tested as shipped, not from the templates. The
# data component is installed once per test, under $WORK/shipped.
SHIPPED_PREFIX=/usr
shipped() {
  local root="$WORK/shipped" build
  if [[ ! -d $root ]]; then
    build=$(dirname "$SCEP_BIN")
    [[ -f $build/cmake_install.cmake ]] || fail "no cmake_install.cmake in $build (SCEP_BIN should be BUILD/bin)"
    DESTDIR="$root" cmake --install "$build" --prefix "$SHIPPED_PREFIX" --component data >"$WORK/shipped.out" 2>&1 ||
      fail "cmake --install --component data: $(cat "$WORK/shipped.out")"
  fi
  [[ -f $root$SHIPPED_PREFIX/share/scep/$1 ]] || fail "nothing installed as share/scep/$1"
  printf '%s\n' "$root$SHIPPED_PREFIX/share/scep/$1"
}

log() { printf '%s: %s\n' "$TEST_NAME" "$*" >&2; }
note() { printf '%s: NOTE: %s\n' "$TEST_NAME" "$*" >&2; }

# fail MESSAGE... — report and stop the test (the EXIT trap cleans up).
fail() {
  printf '%s: FAIL: %s\n' "$TEST_NAME" "$*" >&2
  exit 1
}

# Stop one started process: SIGTERM, up to 10 s grace, then SIGKILL.
_stop_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

_cleanup() {
  local rc=$?
  set +e
  local pid
  for pid in "${_SERVER_PIDS[@]}"; do _stop_pid "$pid"; done
  if [[ $rc -ne 0 ]]; then
    # Show the server logs: they usually say why.
    local f
    for f in "$WORK"/*.log; do
      [[ -s $f ]] || continue
      printf -- '--- %s (last 40 lines) ---\n' "$f" >&2
      tail -n 40 "$f" | cut -c1-300 >&2
    done
    log "failed; work directory kept: $WORK"
  elif [[ ${SCEP_KEEP_WORK:-} == 1 ]]; then
    log "work directory kept: $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap _cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# require_cmd NAME... — fail clearly when a needed program is missing.
require_cmd() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || [[ -x $c ]] || fail "needs $c (not installed?)"
  done
}

# free_port — print a TCP port on 127.0.0.1 that is free right now.
free_port() {
  "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_bg LOGFILE CMD... — run CMD in the background, stdout+stderr to
# LOGFILE; its pid is in $BG_PID and is stopped by the EXIT trap.
start_bg() {
  local logfile=$1
  shift
  "$@" >"$logfile" 2>&1 &
  BG_PID=$!
  _SERVER_PIDS+=("$BG_PID")
}

# forget_pid PID — the test stops PID itself (e.g. to check its exit status).
forget_pid() {
  local pid=$1 i
  for i in "${!_SERVER_PIDS[@]}"; do
    if [[ ${_SERVER_PIDS[$i]} == "$pid" ]]; then unset '_SERVER_PIDS[i]'; fi
  done
  return 0
}

# wait_for_port PORT PID [SECONDS] — wait until 127.0.0.1:PORT accepts
# connections; fail early if PID died.
wait_for_port() {
  local port=$1 pid=$2 secs=${3:-15} i
  for ((i = 0; i < secs * 10; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    kill -0 "$pid" 2>/dev/null || fail "server (pid $pid) exited before listening on port $port"
    sleep 0.1
  done
  fail "nothing listens on 127.0.0.1:$port after ${secs}s"
}

# wait_for_log FILE REGEX [SECONDS] — wait until a line of FILE matches.
wait_for_log() {
  local file=$1 re=$2 secs=${3:-10} i
  for ((i = 0; i < secs * 10; i++)); do
    grep -Eq -- "$re" "$file" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "no line matching /$re/ in $file after ${secs}s"
}

# ---------------------------------------------------------------- the store

# make_store DIR — a store with two CAs:
#   alpha  plain CA, the default       (GetCACert: DER, x509-ca-cert)
#   beta   CA with an RA certificate   (GetCACert: PKCS#7, x509-ca-ra-cert)
# and the expected certificates and SHA-256 fingerprints in $WORK/expect/:
#   alpha.pem alpha.der alpha.sha256  beta.pem beta.der beta.sha256
#   beta-ra.pem beta-ra.sha256  beta-ra-chain.pem (RA then CA, as exported)
make_store() {
  local store=$1 e="$WORK/expect"
  mkdir -p "$e"
  "$SCEPCTL" --store "$store" ca create alpha --subject "CN=Alpha Integration CA,O=scep tests" \
    --key-bits 2048 --default >"$WORK/ca-alpha.out" || fail "scepctl ca create alpha"
  "$SCEPCTL" --store "$store" ca create beta --subject "CN=Beta Integration CA,O=scep tests" \
    --key-bits 2048 >"$WORK/ca-beta.out" || fail "scepctl ca create beta"
  "$SCEPCTL" --store "$store" ra create beta >"$WORK/ra-beta.out" || fail "scepctl ra create beta"

  local ca
  for ca in alpha beta; do
    "$SCEPCTL" --store "$store" export "$ca" --format pem >"$e/$ca.pem"
    "$SCEPCTL" --store "$store" export "$ca" --format der --out "$e/$ca.der" >/dev/null
    "$SCEPCTL" --store "$store" ca show "$ca" --json >"$e/$ca.json"
    json_field "$e/$ca.json" sha256 >"$e/$ca.sha256"
  done
  "$SCEPCTL" --store "$store" export beta --ra --format pem >"$e/beta-ra.pem"
  "$SCEPCTL" --store "$store" export beta --ra --chain --format pem >"$e/beta-ra-chain.pem"
  json_field "$e/beta.json" ra.sha256 >"$e/beta-ra.sha256"

  # The store's own account of itself must agree with openssl.
  for ca in alpha beta; do
    [[ $(fp_pem "$e/$ca.pem") == "$(cat "$e/$ca.sha256")" ]] ||
      fail "scepctl ca show $ca --json sha256 differs from openssl's fingerprint of scepctl export"
    [[ $(fp_der "$e/$ca.der") == "$(cat "$e/$ca.sha256")" ]] || fail "scepctl export $ca --format der differs from the PEM"
  done
  [[ $(fp_pem "$e/beta-ra.pem") == "$(cat "$e/beta-ra.sha256")" ]] ||
    fail "scepctl ca show beta --json ra.sha256 differs from openssl's fingerprint of scepctl export --ra"
  [[ $(json_field "$e/alpha.json" default) == true ]] || fail "alpha is not the default CA"
  [[ $(json_field "$e/beta.json" default) == false ]] || fail "beta claims to be the default CA"
}

# json_field FILE DOTTED.KEY — print one value (true/false for booleans).
json_field() {
  "$PYTHON" - "$1" "$2" <<'EOF'
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[k]
print(json.dumps(v) if isinstance(v, bool) else v)
EOF
}

# Upper-case colon-separated SHA-256 fingerprints, as `scepctl ca show` prints them.
fp_der() { openssl x509 -inform DER -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//'; }
fp_pem() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//'; }

# split_pem FILE PREFIX — write each certificate of FILE to PREFIX.N.pem
# (N from 0); print the count.
split_pem() {
  awk -v p="$2" '
    /-----BEGIN CERTIFICATE-----/ { f = p "." (n + 0) ".pem"; n++ }
    f { print > f }
    /-----END CERTIFICATE-----/ { close(f); f = "" }
    END { print n + 0 }' "$1"
}

# ---------------------------------------------------------------- HTTP

# http METHOD URL [curl args...] — one request; the response lands in
# $WORK/resp.headers and $WORK/resp.body, the status in $HTTP_STATUS.
http() {
  local method=$1 url=$2
  shift 2
  local args=(-sS -g -D "$WORK/resp.headers" -o "$WORK/resp.body" -w '%{http_code}' -X "$method")
  # curl --head prints the headers as the "body"; a HEAD body stays empty.
  if [[ $method == HEAD ]]; then args=(-sS -g -I -D "$WORK/resp.headers" -o /dev/null -w '%{http_code}'); fi
  : >"$WORK/resp.body"
  HTTP_STATUS=$(curl "${args[@]}" "$@" "$url") || fail "curl $method $url failed"
  LAST_REQUEST="$method $url"
  if [[ ${#LAST_REQUEST} -gt 200 ]]; then LAST_REQUEST="${LAST_REQUEST:0:200}...(${#url} bytes)"; fi
}

# header NAME — the value of a response header of the last request (last
# occurrence, no CR, no surrounding blanks); empty when absent.
header() {
  awk -v want="$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]')" '
    { sub(/\r$/, "") }
    {
      i = index($0, ":"); if (i == 0) next
      name = tolower(substr($0, 1, i - 1)); value = substr($0, i + 1)
      gsub(/^[ \t]+|[ \t]+$/, "", value)
      if (name == want) last = value
    }
    END { print last }' "$WORK/resp.headers"
}

has_header() { grep -qi "^$1:" "$WORK/resp.headers"; }

expect_status() {
  [[ $HTTP_STATUS == "$1" ]] || fail "$LAST_REQUEST: status $HTTP_STATUS, want $1 (body: $(head -c 200 "$WORK/resp.body"))"
}

# expect_type TYPE — Content-Type is exactly TYPE (no parameters).
expect_type() {
  local ct
  ct=$(header Content-Type)
  [[ $ct == "$1" ]] || fail "$LAST_REQUEST: Content-Type \"$ct\", want exactly \"$1\""
}

# expect_length — a Content-Length header is present and matches the body
# (not chunked: Cisco speaks HTTP/1.0, sscep reads to EOF).
expect_length() {
  has_header Content-Length || fail "$LAST_REQUEST: no Content-Length header (Transfer-Encoding: $(header Transfer-Encoding))"
  local cl size
  cl=$(header Content-Length)
  size=$(wc -c <"$WORK/resp.body")
  [[ $cl == "$size" ]] || fail "$LAST_REQUEST: Content-Length $cl but the body has $size bytes"
  ! has_header Transfer-Encoding || fail "$LAST_REQUEST: Transfer-Encoding $(header Transfer-Encoding) next to Content-Length"
}

# expect_response STATUS TYPE — status, exact Content-Type, Content-Length.
expect_response() {
  expect_status "$1"
  expect_type "$2"
  expect_length
}

# expect_ca_der CA — the last body is CA's certificate, DER, with the
# expected subject and the SHA-256 fingerprint `scepctl ca show --json` gave.
expect_ca_der() {
  local ca=$1 e="$WORK/expect" subject want
  expect_response 200 application/x-x509-ca-cert
  subject=$(openssl x509 -inform DER -in "$WORK/resp.body" -noout -subject -nameopt RFC2253) ||
    fail "$LAST_REQUEST: body is not a DER certificate"
  want=$(openssl x509 -in "$e/$ca.pem" -noout -subject -nameopt RFC2253)
  [[ $subject == "$want" ]] || fail "$LAST_REQUEST: got \"$subject\", want $ca's \"$want\""
  [[ $(fp_der "$WORK/resp.body") == "$(cat "$e/$ca.sha256")" ]] || fail "$LAST_REQUEST: fingerprint is not $ca's"
  cmp -s "$WORK/resp.body" "$e/$ca.der" || fail "$LAST_REQUEST: body differs from scepctl export $ca --format der"
}

# expect_ra_p7 CA — the last body is a degenerate PKCS#7 with CA's RA
# certificate first, then the CA certificate, and nothing else.
expect_ra_p7() {
  local ca=$1 e="$WORK/expect" n
  expect_response 200 application/x-x509-ca-ra-cert
  openssl pkcs7 -inform DER -in "$WORK/resp.body" -print_certs -out "$WORK/p7.pem" 2>"$WORK/p7.err" ||
    fail "$LAST_REQUEST: body is not a DER PKCS#7: $(cat "$WORK/p7.err")"
  n=$(split_pem "$WORK/p7.pem" "$WORK/p7cert")
  [[ $n == 2 ]] || fail "$LAST_REQUEST: PKCS#7 holds $n certificates, want 2 (RA, CA)"
  [[ $(fp_pem "$WORK/p7cert.0.pem") == "$(cat "$e/$ca-ra.sha256")" ]] ||
    fail "$LAST_REQUEST: first certificate is $(openssl x509 -in "$WORK/p7cert.0.pem" -noout -subject), want $ca's RA"
  [[ $(fp_pem "$WORK/p7cert.1.pem") == "$(cat "$e/$ca.sha256")" ]] ||
    fail "$LAST_REQUEST: second certificate is $(openssl x509 -in "$WORK/p7cert.1.pem" -noout -subject), want CA $ca"
  # The RA is issued by the CA it stands for.
  openssl verify -partial_chain -CAfile "$e/$ca.pem" "$WORK/p7cert.0.pem" >/dev/null 2>&1 ||
    fail "$LAST_REQUEST: the RA certificate does not verify against CA $ca"
}

# expect_chain_has CA — the last body is an x509-ca-ra-cert-chain PKCS#7
# that contains CA's certificate.
expect_chain_has() {
  local ca=$1 n i found=0
  expect_response 200 application/x-x509-ca-ra-cert-chain
  openssl pkcs7 -inform DER -in "$WORK/resp.body" -print_certs -out "$WORK/chain.pem" 2>/dev/null ||
    fail "$LAST_REQUEST: body is not a DER PKCS#7"
  n=$(split_pem "$WORK/chain.pem" "$WORK/chaincert")
  for ((i = 0; i < n; i++)); do
    if [[ $(fp_pem "$WORK/chaincert.$i.pem") == "$(cat "$WORK/expect/$ca.sha256")" ]]; then found=1; fi
  done
  [[ $found == 1 ]] || fail "$LAST_REQUEST: chain of $n certificates lacks CA $ca"
}

# expect_text_error STATUS — a short text/plain error, no HTML error page.
expect_text_error() {
  expect_response "$1" text/plain
  [[ -s $WORK/resp.body ]] || fail "$LAST_REQUEST: empty error body"
  ! grep -qi '<html' "$WORK/resp.body" || fail "$LAST_REQUEST: the web server's HTML error page, not scep's"
}

# check_scep_endpoint BASE — the behaviour every front end must show at
# BASE (e.g. http://127.0.0.1:PORT/scep) for a store made by make_store.
check_scep_endpoint() {
  local base=$1 line

  # GetCACaps: text/plain keyword list (possibly empty), one keyword a line.
  http GET "$base?operation=GetCACaps"
  expect_response 200 text/plain
  while IFS= read -r line || [[ -n $line ]]; do
    line=${line%$'\r'}
    [[ -z $line || $line =~ ^[A-Za-z0-9-]+$ ]] || fail "$LAST_REQUEST: \"$line\" is not a capability keyword"
  done <"$WORK/resp.body"
  http GET "$base?operation=GetCACaps&message=beta"
  expect_response 200 text/plain
  # A message= that names no CA (certmonger sends "0", sscep "CAIdentifier")
  # is answered for the default CA; a CA named in the path must exist.
  http GET "$base?operation=GetCACaps&message=CAIdentifier"
  expect_response 200 text/plain
  http GET "$base?operation=GetCACert&message=0"
  expect_ca_der alpha
  http GET "$base/nosuch/pkiclient.exe?operation=GetCACaps"
  expect_text_error 404
  # The path is percent-decoded once, by every front end: "%61lpha" is
  # alpha, "%2561lpha" is the CA "%61lpha", which does not exist.
  http GET "$base/%61lpha/pkiclient.exe?operation=GetCACert"
  expect_ca_der alpha
  http GET "$base/%2561lpha/pkiclient.exe?operation=GetCACert"
  expect_text_error 404

  # GetCACert: the default CA, and each CA by message= and by path.
  http GET "$base?operation=GetCACert"
  expect_ca_der alpha
  http GET "$base?operation=GetCACert&message=alpha"
  expect_ca_der alpha
  http GET "$base?operation=GetCACert&message=beta"
  expect_ra_p7 beta
  http GET "$base/beta/pkiclient.exe?operation=GetCACert"
  expect_ra_p7 beta
  http GET "$base/beta?operation=GetCACert"
  expect_ra_p7 beta
  http GET "$base/alpha/pkiclient.exe?operation=GetCACert"
  expect_ca_der alpha
  # "pkiclient.exe" is not a CA name: message= decides.
  http GET "$base/pkiclient.exe?operation=GetCACert&message=beta"
  expect_ra_p7 beta
  # The path beats message= (Cisco sends its trustpoint label there).
  http GET "$base/alpha/pkiclient.exe?operation=GetCACert&message=beta"
  expect_ca_der alpha
  # Operation names are matched case-insensitively; unknown parameters ignored.
  http GET "$base?operation=getcacert&message=beta&extra=1"
  expect_ra_p7 beta
  # HEAD: the same status, type and length as GET.
  local get_length
  get_length=$(wc -c <"$WORK/resp.body")
  http HEAD "$base?operation=GetCACert&message=beta"
  expect_status 200
  expect_type application/x-x509-ca-ra-cert
  [[ $(header Content-Length) == "$get_length" ]] ||
    fail "$LAST_REQUEST: Content-Length \"$(header Content-Length)\", want $get_length as for GET"

  # The chain operations (GetCACertChain: EJBCA/draft-18; GetCAChain: certmonger).
  http GET "$base?operation=GetCACertChain&message=beta"
  expect_chain_has beta
  http GET "$base/alpha?operation=GetCAChain"
  expect_chain_has alpha

  # Errors: scep's own short text/plain answers, never the server's pages.
  http GET "$base/nosuch/pkiclient.exe?operation=GetCACert"
  expect_text_error 404
  http GET "$base?operation=GetBogus"
  expect_text_error 400
  http GET "$base"
  expect_text_error 400
  local m
  for m in PUT DELETE; do
    # With an explicit empty body: cpp-httplib (scepctl serve) answers a PUT
    # without Content-Length with its own 400 before scep sees it.
    http "$m" "$base?operation=GetCACert" --data-binary ''
    expect_text_error 405
    [[ $(header Allow) == *GET* ]] || fail "$LAST_REQUEST: 405 without an Allow header naming GET (Allow: $(header Allow))"
  done
}

# check_long_query BASE [BYTES] — a GET whose query string is BYTES long
# (default 60000: GET PKIOperation messages reach 10 KB and more) gets to
# scep; the web server must not answer 414/431/400 itself.
check_long_query() {
  local base=$1 bytes=${2:-60000} pad
  pad=$(head -c "$bytes" /dev/zero | tr '\0' A)
  http GET "$base?operation=GetCACaps&message=alpha&pad=$pad"
  expect_response 200 text/plain
}

# wait_exit PID SECONDS [WHAT] — waits at most SECONDS for PID (a child of
# this shell that the test stops itself: forget_pid) to exit, and sets RC to
# its exit status; when it is still running then, kills it and fails,
# naming WHAT (e.g. "after SIGTERM").
wait_exit() {
  local pid=$1 secs=$2 what=${3:-after it was told to stop} i
  for ((i = 0; i < secs * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    fail "pid $pid still runs $secs s $what"
  fi
  RC=0
  wait "$pid" || RC=$?
}

# stop_under_load PID URL CA SECRET STORE MIN — 4 clients (scep_client.py)
# enroll through URL with SECRET until at least MIN certificates are out, then
# SIGTERM PID: it must exit with status 0. Waits for the clients (they stop at
# their first failure), then checks that every certificate a client received
# ($WORK/stop-*.pem) is in STORE and that STORE checks clean. Sets STOP_GOT.
stop_under_load() {
  local pid=$1 url=$2 ca=$3 secret=$4 store=$5 min=$6 c i p cert serial
  "$PYTHON" "$SCEP_SOURCE/tests/integration/scep_client.py" genkeys "$WORK/stop-keys" 4 2048 || fail "genkeys"
  local clients=()
  for c in 0 1 2 3; do
    (
      for ((i = 0; i < 60; i++)); do
        "$PYTHON" "$SCEP_SOURCE/tests/integration/scep_client.py" enroll --url "$url" --ca "$ca" \
          --key "$WORK/stop-keys/key.$c.pem" --cn "stop-$c-$i" --challenge "$secret" --timeout 10 \
          --out "$WORK/stop-$c-$i.pem" >/dev/null 2>&1 || exit 0
      done
    ) &
    clients+=("$!")
  done
  for ((i = 0; i < 200; i++)); do
    [[ $(ls "$WORK"/stop-*.pem 2>/dev/null | wc -l) -ge $min ]] && break
    sleep 0.1
  done
  forget_pid "$pid"
  local at_kill
  at_kill=$(ls "$WORK"/stop-*.pem 2>/dev/null | wc -l)
  kill -TERM "$pid"
  # Stopping takes the requests in progress, not a load that goes on.
  wait_exit "$pid" 30 "after SIGTERM (clients were still enrolling: it kept taking requests)"
  [[ $RC == 0 ]] || fail "pid $pid exited with status $RC after SIGTERM under load, want 0"
  for p in "${clients[@]}"; do wait "$p" || true; done
  # At most the requests in flight at the signal (one per client) and
  # replies being written then: 2 per client.
  local after
  after=$(ls "$WORK"/stop-*.pem 2>/dev/null | wc -l)
  ((after - at_kill <= 8)) || fail "$((after - at_kill)) certificates were issued after SIGTERM ($at_kill before): new requests were taken"
  STOP_GOT=0
  for cert in "$WORK"/stop-*.pem; do
    [[ -s $cert ]] || continue
    serial=$(openssl x509 -in "$cert" -noout -serial | sed 's/^serial=//')
    [[ -f $store/ca/$ca/certs/$serial.pem ]] || fail "$(basename "$cert") (serial $serial) was received but is not in the store"
    STOP_GOT=$((STOP_GOT + 1))
  done
  [[ $STOP_GOT -ge $min ]] || fail "only $STOP_GOT certificates were issued before the stop"
  "$SCEPCTL" --store "$store" check >"$WORK/check.out" 2>&1 || fail "scepctl check after the stop: $(cat "$WORK/check.out")"
}

# wait_for_socket SOCKET PID LOG — waits up to 10 s for the unix socket
# that PID (spawn-fcgi) makes; fails with LOG if PID exits first.
wait_for_socket() {
  local sock=$1 pid=$2 log=$3 i
  for ((i = 0; i < 100; i++)); do
    [[ -S $sock ]] && return 0
    kill -0 "$pid" 2>/dev/null || fail "spawn-fcgi exited: $(cat "$log")"
    sleep 0.1
  done
  fail "no socket $sock after 10 s"
}

# apache_conf FILE PORT MODULES EXTRA — a minimal Apache httpd 2.4 server
# config in FILE: listens on 127.0.0.1:PORT, loads MODULES (names as in
# mod_NAME.so, e.g. "mpm_event authz_core cgid"), logs in $WORK, denies
# everything outside what EXTRA (the snippet under test) allows, and sets a
# global charset default that must not leak into scep's Content-Types.
# As root it runs as nobody:nogroup (Apache refuses to serve as root).
APACHE_MODULES=/usr/lib/apache2/modules
apache_conf() {
  local file=$1 port=$2 modules=$3 extra=$4 m loads="" user=""
  for m in $modules; do
    [[ -f $APACHE_MODULES/mod_$m.so ]] || fail "missing $APACHE_MODULES/mod_$m.so"
    loads+="LoadModule ${m}_module $APACHE_MODULES/mod_$m.so"$'\n'
    if [[ $m == cgid ]]; then loads+="ScriptSock \"$WORK/run/cgid.sock\""$'\n'; fi
  done
  if [[ $(id -u) == 0 ]]; then user=$'User nobody\nGroup nogroup'; fi
  mkdir -p "$WORK/run"
  cat >"$file" <<EOF
ServerRoot "$WORK"
ServerName 127.0.0.1
DefaultRuntimeDir "$WORK/run"
PidFile "$WORK/run/httpd.pid"
ErrorLog "$WORK/apache-error.log"
LogLevel info
Listen 127.0.0.1:$port
$loads$user
CustomLog "$WORK/apache-access.log" "%h \"%r\" %>s %B"
<Directory />
  Require all denied
</Directory>
AddDefaultCharset UTF-8
$extra
EOF
}

# start_apache CONF PORT — checks CONF (apache2 -t) and starts Apache on it
# in the foreground (-X: one process, stops on SIGTERM); sets APACHE_PID.
start_apache() {
  apache2 -t -f "$1" >"$WORK/apache-t.out" 2>&1 || fail "apache2 -t: $(cat "$WORK/apache-t.out")"
  start_bg "$WORK/apache.log" apache2 -X -f "$1"
  APACHE_PID=$BG_PID
  wait_for_port "$2" "$APACHE_PID"
}

# lighttpd_conf NAME PORT MODULES VARS SNIPPET — writes $WORK/NAME.conf:
# lighttpd on 127.0.0.1:PORT with MODULES (quoted, comma-separated), logs in
# $WORK/NAME-error.log and $WORK/NAME-access.log, the VARS lines, then
# SNIPPET included; `lighttpd -tt` must accept it.
lighttpd_conf() {
  local name=$1 port=$2 modules=$3 vars=$4 snippet=$5
  mkdir -p "$WORK/www"
  cat >"$WORK/$name.conf" <<EOF
server.document-root = "$WORK/www"
server.bind          = "127.0.0.1"
server.port          = $port
server.errorlog      = "$WORK/$name-error.log"
server.modules       = ( $modules )
accesslog.filename   = "$WORK/$name-access.log"
$vars
include "$snippet"
EOF
  lighttpd -tt -f "$WORK/$name.conf" >"$WORK/$name-tt.out" 2>&1 || fail "lighttpd -tt: $(cat "$WORK/$name-tt.out")"
}

# start_nginx_fastcgi SOCKET [WORKER_CONNECTIONS] — nginx on a free port with
# the shipped nginx/scep.conf, its socket (the one place to edit) pointed at
# SOCKET; sets NGINX_PORT and NGINX_PID.
start_nginx_fastcgi() {
  local sock=$1 conns=${2:-64} snippet
  snippet=$(shipped nginx/scep.conf)
  grep -q 'fastcgi_pass unix:/run/scep/scep.sock;' "$snippet" || fail "$snippet: no fastcgi_pass line"
  grep -v '^[[:space:]]*#' "$snippet" | grep -q 'SCRIPT_FILENAME\|SCEP_STORE' &&
    fail "$snippet names a program or store: the service does"
  sed -e "s|unix:/run/scep/scep.sock;|unix:$sock;|" "$snippet" >"$WORK/nginx-snippet.conf"
  NGINX_PORT=$(free_port)
  mkdir -p "$WORK/nginx"
  cat >"$WORK/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
user $(id -un) $(id -gn);
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log info;
events { worker_connections $conns; }
http {
    access_log $WORK/nginx-access.log;
    client_body_temp_path $WORK/nginx/body;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    proxy_temp_path $WORK/nginx/proxy;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        include $WORK/nginx-snippet.conf;
    }
}
EOF
  nginx -t -p "$WORK/nginx" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf" >"$WORK/nginx-t.out" 2>&1 ||
    fail "nginx -t: $(cat "$WORK/nginx-t.out")"
  start_bg "$WORK/nginx.log" nginx -p "$WORK/nginx" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf"
  NGINX_PID=$BG_PID
  wait_for_port "$NGINX_PORT" "$NGINX_PID"
}
