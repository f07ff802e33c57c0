#!/bin/bash
# scep.cgi as a FastCGI responder:
#   1. spawned by lighttpd's mod_fastcgi (bin-path), with the shipped
#      lighttpd-fastcgi.conf;
#   2. started by spawn-fcgi on a unix socket (as scep-fastcgi.socket does),
#      behind nginx with the shipped nginx/scep.conf, then behind lighttpd
#      with the shipped lighttpd/scep-fastcgi.conf.
# In each: the endpoint checks every front end passes, an enrollment by
# micromdm's scepclient (refused with badAlg until the CA allows DES, then
# issued: a scep.toml change), a replaced policy sets the next certificate's
# validity, a new default CA appears, and all of it is
# answered by the same long-running processes (same PIDs: no restart).
# Each process runs SCEP_FASTCGI_THREADS threads (the snippet's 8, then 3).
# Finally SIGTERM, while 4 clients enroll, stops the spawn-fcgi process
# cleanly (exit status 0, every certificate handed out is stored).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enroll_lib.sh"
require_cmd lighttpd nginx spawn-fcgi scepclient ps curl openssl "$PYTHON"

STORE="$WORK/store"
make_store "$STORE" # alpha: plain CA (the default); beta: CA with an RA
scepctl policy create device --days 30 --eku clientAuth --key-usage digitalSignature,keyEncipherment >/dev/null || fail "scepctl policy create"
C="$WORK/clients"

# fcgi_pids PARENT — the scep.cgi processes whose parent is PARENT, sorted.
fcgi_pids() { ps -o pid=,comm= --ppid "$1" | awk '$2 == "scep.cgi" { print $1 }' | sort -n | tr '\n' ' '; }

# check_endpoint BASE QUERY-BYTES — what every front end must answer, a GET
# with a query string of QUERY-BYTES, and no match for a longer prefix.
check_endpoint() {
  check_scep_endpoint "$1"
  check_long_query "$1" "$2"
  http GET "$1x?operation=GetCACert"
  expect_status 404
  # A body that is no pkiMessage: scep's 400, never a 500.
  printf 'not a pkiMessage' >"$WORK/garbage.bin"
  http POST "$1?operation=PKIOperation" --data-binary @"$WORK/garbage.bin" -H 'Content-Type: application/octet-stream'
  expect_text_error 400
  # Over scep's 256 KiB body limit: 413 (nginx's own page with the snippet's
  # client_max_body_size, else scep's), not a reset connection or a 502.
  head -c 300000 /dev/zero >"$WORK/big.bin"
  http POST "$1?operation=PKIOperation" --data-binary @"$WORK/big.bin" -H 'Content-Type: application/octet-stream'
  expect_status 413
}

# enroll_after_change BASE NAME — scepclient's DES request is refused while
# alpha does not allow legacy algorithms; after `scepctl ca set` (scep.toml)
# the same processes issue.
enroll_after_change() {
  local base=$1 name=$2 secret
  secret=$(new_secret alpha device)
  scepclient_run "$C/$name-des" "$base/alpha" "$secret" "$name-des"
  expect_scepclient_failinfo "$C/$name-des" badAlg
  legacy_on alpha
  scepclient_run "$C/$name" "$base/alpha" "$secret" "$name"
  expect_scepclient_ok "$C/$name"
  check_issued "$C/$name/cert.pem" alpha "$name" 30 "Digital Signature, Key Encipherment" "TLS Web Client Authentication" >/dev/null
  # The processes keep policies parsed: a replaced policy rules the next enrollment.
  scepctl policy create device --days 12 --eku clientAuth --key-usage digitalSignature,keyEncipherment --replace \
    >/dev/null || fail "scepctl policy create device --replace"
  scepclient_run "$C/$name-12d" "$base/alpha" "$(new_secret alpha device)" "$name-12d"
  expect_scepclient_ok "$C/$name-12d"
  check_issued "$C/$name-12d/cert.pem" alpha "$name-12d" 12 "Digital Signature, Key Encipherment" \
    "TLS Web Client Authentication" >/dev/null
  scepctl policy create device --days 30 --eku clientAuth --key-usage digitalSignature,keyEncipherment --replace \
    >/dev/null || fail "scepctl policy create device --replace"
  scepctl ca set alpha --legacy-algorithms off >/dev/null || fail "scepctl ca set alpha --legacy-algorithms off"
}

# new_default_ca BASE CA — CA is unknown, then created as the default
# (scep.toml and a new ca/CA directory): every following request sees it.
new_default_ca() {
  local base=$1 ca=$2 i
  http GET "$base/$ca/pkiclient.exe?operation=GetCACert"
  expect_text_error 404
  "$SCEPCTL" --store "$STORE" ca create "$ca" --subject "CN=$ca FastCGI CA" --key-bits 2048 --default \
    >"$WORK/ca-$ca.out" || fail "scepctl ca create $ca"
  "$SCEPCTL" --store "$STORE" export "$ca" --format der --out "$WORK/expect/$ca.der" >/dev/null
  # Several requests: with more than one process, each must see the change.
  for ((i = 0; i < 6; i++)); do
    http GET "$base?operation=GetCACert"
    expect_response 200 application/x-x509-ca-cert
    cmp -s "$WORK/resp.body" "$WORK/expect/$ca.der" || fail "$LAST_REQUEST: not the new default CA $ca"
  done
  # Back to alpha as the default for the next server.
  sed -i "s/^default_ca = .*/default_ca = \"alpha\"/" "$STORE/scep.toml"
  http GET "$base?operation=GetCACert"
  expect_ca_der alpha
}

# ---------------------------------------------------------------- lighttpd

SNIPPET=$(shipped lighttpd-fastcgi.conf)
sed '/^var\.scep_\(cgi\|store\|socket\)[[:space:]]*=/d' "$SNIPPET" >"$WORK/lighttpd-snippet.conf"
[[ $(($(wc -l <"$SNIPPET") - $(wc -l <"$WORK/lighttpd-snippet.conf"))) == 3 ]] ||
  fail "expected exactly three default var.scep_* lines in $SNIPPET"
LIGHTTPD_PORT=$(free_port)
lighttpd_conf lighttpd "$LIGHTTPD_PORT" '"mod_access", "mod_accesslog"' "var.scep_cgi = \"$SCEP_CGI_BIN\"
var.scep_store = \"$STORE\"
var.scep_socket = \"$WORK/lighttpd-scep.sock\"" "$WORK/lighttpd-snippet.conf"
grep -q mod_cgi "$WORK/lighttpd.conf" "$WORK/lighttpd-snippet.conf" && fail "mod_cgi is loaded: this test is about FastCGI"
start_bg "$WORK/lighttpd.log" lighttpd -D -f "$WORK/lighttpd.conf"
LIGHTTPD_PID=$BG_PID
wait_for_port "$LIGHTTPD_PORT" "$LIGHTTPD_PID"
BASE="http://127.0.0.1:$LIGHTTPD_PORT/scep"

# lighttpd sends the query string twice (QUERY_STRING and REQUEST_URI) in
# FastCGI parameters of at most 64 KiB: about 32 KiB get through.
check_endpoint "$BASE" 30000
expect_text_error 413 # lighttpd sets no body limit of its own: scep's answer
PIDS=$(fcgi_pids "$LIGHTTPD_PID")
[[ -n $PIDS ]] || fail "lighttpd runs no scep.cgi process: $(ps -o pid=,args= --ppid "$LIGHTTPD_PID")"
log "lighttpd's scep.cgi processes: $PIDS"
# tasks PID — how many threads the process runs.
tasks() { ls "/proc/$1/task" | wc -l; }
for pid in $PIDS; do
  [[ $(tasks "$pid") == 9 ]] ||
    fail "scep.cgi (pid $pid) runs $(tasks "$pid") threads, want 9 (the snippet's SCEP_FASTCGI_THREADS=8 and the main thread)"
done
enroll_after_change "$BASE" lighttpd-dev
new_default_ca "$BASE" gamma
[[ $(fcgi_pids "$LIGHTTPD_PID") == "$PIDS" ]] ||
  fail "lighttpd's scep.cgi processes changed from $PIDS to $(fcgi_pids "$LIGHTTPD_PID"): restarted, not reloaded"
wait_for_log "$WORK/lighttpd-access.log" '"POST /scep/alpha\?operation=PKIOperation HTTP/1\.1" 200 ' 10
_stop_pid "$LIGHTTPD_PID"
forget_pid "$LIGHTTPD_PID"

# ---------------------------------------------------------------- nginx + spawn-fcgi

# spawn STORE SOCKET LOG — scep.cgi under spawn-fcgi -n (3 threads) on a unix
# socket, SCEP_STORE=STORE in its environment; sets SPAWNED_PID.
spawn() {
  local store=$1 sock=$2 log=$3
  start_bg "$log" env SCEP_STORE="$store" SCEP_FASTCGI_THREADS=3 spawn-fcgi -n -s "$sock" -M 0600 -- "$SCEP_CGI_BIN"
  SPAWNED_PID=$BG_PID
  wait_for_socket "$sock" "$SPAWNED_PID" "$log"
}

SOCK="$WORK/scep.sock"
# The store comes from the process environment, as scep-fastcgi.service sets
# it: the nginx snippet passes none.
spawn "$STORE" "$SOCK" "$WORK/spawn-fcgi.log"
FCGI_PID=$SPAWNED_PID

start_nginx_fastcgi "$SOCK"
BASE="http://127.0.0.1:$NGINX_PORT/scep"

check_endpoint "$BASE" 60000
enroll_after_change "$BASE" nginx-dev
new_default_ca "$BASE" delta
kill -0 "$FCGI_PID" 2>/dev/null || fail "the spawn-fcgi scep.cgi process (pid $FCGI_PID) is gone"
[[ $(ps -o comm= -p "$FCGI_PID") == scep.cgi ]] || fail "pid $FCGI_PID is not scep.cgi: $(ps -o args= -p "$FCGI_PID")"
grep -q '"POST /scep/alpha?operation=PKIOperation HTTP/1.1" 200 ' "$WORK/nginx-access.log" ||
  fail "nginx's access log does not show the enrollment"

[[ $(tasks "$FCGI_PID") == 4 ]] || fail "scep.cgi runs $(tasks "$FCGI_PID") threads, want 4 (SCEP_FASTCGI_THREADS=3)"

# ---------------------------------------------------------------- lighttpd, same socket

# lighttpd/scep-fastcgi.conf connects to the socket of scep-fastcgi.socket
# and never starts scep.cgi: its socket line is the one place to edit.
SNIPPET=$(shipped lighttpd/scep-fastcgi.conf)
grep -q '^var.scep_socket = "/run/scep/scep.sock"$' "$SNIPPET" || fail "$SNIPPET: no default socket line"
grep -v '^[[:space:]]*#' "$SNIPPET" | grep -q 'bin-path\|mod_cgi' && fail "$SNIPPET starts scep.cgi itself"
sed '/^var\.scep_socket[[:space:]]*=/d' "$SNIPPET" >"$WORK/lighttpd-socket-snippet.conf"
LIGHTTPD_PORT=$(free_port)
lighttpd_conf lighttpd-socket "$LIGHTTPD_PORT" '"mod_access", "mod_accesslog"' "var.scep_socket = \"$SOCK\"" \
  "$WORK/lighttpd-socket-snippet.conf"
start_bg "$WORK/lighttpd-socket.log" lighttpd -D -f "$WORK/lighttpd-socket.conf"
LIGHTTPD_PID=$BG_PID
wait_for_port "$LIGHTTPD_PORT" "$LIGHTTPD_PID"
SOCKET_BASE="http://127.0.0.1:$LIGHTTPD_PORT/scep"
check_scep_endpoint "$SOCKET_BASE"
check_long_query "$SOCKET_BASE" 30000
legacy_on alpha
scepclient_run "$C/lighttpd-socket" "$SOCKET_BASE/alpha/pkiclient.exe" "$(new_secret alpha device)" lighttpd-socket
expect_scepclient_ok "$C/lighttpd-socket"
check_issued "$C/lighttpd-socket/cert.pem" alpha lighttpd-socket 30 "Digital Signature, Key Encipherment" \
  "TLS Web Client Authentication" >/dev/null
scepctl ca set alpha --legacy-algorithms off >/dev/null || fail "scepctl ca set alpha --legacy-algorithms off"
[[ -z $(fcgi_pids "$LIGHTTPD_PID") ]] || fail "lighttpd started scep.cgi processes of its own"
_stop_pid "$LIGHTTPD_PID"
forget_pid "$LIGHTTPD_PID"

# SIGTERM while enrollments from 4 clients are in flight: the process
# answers what it started and exits with status 0; no 500; every certificate
# a client received is in the store, and the store checks clean. nginx then
# answers 502.
SECRET=$(new_secret alpha device --uses 400)
stop_under_load "$FCGI_PID" "$BASE" alpha "$SECRET" "$STORE" 8
! grep -q '" 500 ' "$WORK/nginx-access.log" || fail "500 answers: $(grep '" 500 ' "$WORK/nginx-access.log" | head -3)"
log "$STOP_GOT enrollments through 3 threads before SIGTERM"
http GET "$BASE?operation=GetCACaps"
expect_status 502

# Stopping means taking nothing new, even while a request is in progress:
# a second responder, spoken to directly (nginx would buffer the body).
PROBE_SOCK="$WORK/probe.sock"
spawn "$STORE" "$PROBE_SOCK" "$WORK/spawn-fcgi-probe.log"
PROBE_PID=$SPAWNED_PID
forget_pid "$PROBE_PID"
"$PYTHON" "$SCEP_SOURCE/tests/integration/fcgi_stop_probe.py" "$PROBE_SOCK" "$PROBE_PID" "$STORE" >"$WORK/probe.out" 2>&1 ||
  { kill -KILL "$PROBE_PID" 2>/dev/null; fail "fcgi_stop_probe: $(cat "$WORK/probe.out")"; }
wait_exit "$PROBE_PID" 10 "after SIGTERM with its one request answered"
[[ $RC == 0 ]] || fail "the probed scep.cgi exited with status $RC, want 0"
log "$(cat "$WORK/probe.out")"

log "ok"
