#!/bin/bash
# scep.cgi as a FastCGI responder behind Apache httpd 2.4's mod_proxy_fcgi,
# mounted with the shipped apache/scep-fastcgi.conf as Debian's
# `a2enmod proxy_fcgi && a2enconf scep-fastcgi` would. scep.cgi runs under
# spawn-fcgi on a unix socket, as scep-fastcgi.socket runs it: Apache never
# starts it. Checked: the endpoint checks every front end passes (the CA
# from PATH_INFO, which mod_proxy_fcgi does not set by itself; GETs up to
# mod_proxy_fcgi's 16 KiB, a 4xx beyond;
# Content-Length kept, also for HTTP/1.0), /scepx not served, a bad body
# answered 400 and never 500, and an enrollment by micromdm's scepclient.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enroll_lib.sh"
require_cmd apache2 spawn-fcgi scepclient curl openssl "$PYTHON"

SNIPPET=$(shipped apache/scep-fastcgi.conf)
MODULES="mpm_event authz_core proxy proxy_fcgi env setenvif"

STORE="$WORK/store"
make_store "$STORE" # alpha: plain CA (the default); beta: CA with an RA
scepctl policy create device --days 30 --eku clientAuth --key-usage digitalSignature,keyEncipherment >/dev/null ||
  fail "scepctl policy create"
mkdir -p "$WORK/run"

# As root Apache runs as nobody (apache_conf), which must reach the socket
# (the socket unit gives www-data that; here mode 0666).
if [[ $(id -u) == 0 ]]; then chmod 0711 "$WORK"; fi

SOCK="$WORK/run/scep.sock"
start_bg "$WORK/spawn-fcgi.log" env SCEP_STORE="$STORE" SCEP_FASTCGI_THREADS=2 \
  spawn-fcgi -n -s "$SOCK" -M 0666 -- "$SCEP_CGI_BIN"
FCGI_PID=$BG_PID
wait_for_socket "$SOCK" "$FCGI_PID" "$WORK/spawn-fcgi.log"

# 1. As shipped: it parses, and the socket defaults to the socket unit's.
apache_conf "$WORK/defaults.conf" "$(free_port)" "$MODULES" "Include \"$SNIPPET\""
apache2 -t -f "$WORK/defaults.conf" >"$WORK/defaults.out" 2>&1 ||
  fail "apache2 rejects the shipped snippet: $(cat "$WORK/defaults.out")"
apache2 -t -D DUMP_RUN_CFG -f "$WORK/defaults.conf" >"$WORK/defaults.dump" 2>&1 || true
grep -q 'Define: SCEP_SOCKET=/run/scep/scep.sock' "$WORK/defaults.dump" ||
  fail "the snippet does not default SCEP_SOCKET to /run/scep/scep.sock: $(cat "$WORK/defaults.dump")"
grep -q '^ListenStream=/run/scep/scep.sock$' "$(shipped systemd/scep-fastcgi.socket)" ||
  fail "the snippet's socket is not scep-fastcgi.socket's"

# 2. The test's socket, Define'd before the Include.
PORT=$(free_port)
apache_conf "$WORK/httpd.conf" "$PORT" "$MODULES" "Define SCEP_SOCKET \"$SOCK\"
Include \"$SNIPPET\""
start_apache "$WORK/httpd.conf" "$PORT"

BASE="http://127.0.0.1:$PORT/scep"
check_scep_endpoint "$BASE"
# mod_proxy_fcgi passes no variable over 16 KiB (the snippet says so): a
# 16000-byte query gets through; a longer one is a 4xx, never a 5xx.
check_long_query "$BASE" 16000
pad=$(head -c 20000 /dev/zero | tr '\0' A)
http GET "$BASE?operation=GetCACaps&message=alpha&pad=$pad"
[[ $HTTP_STATUS == 4* ]] || fail "a 20000-byte query: status $HTTP_STATUS, want a 4xx"
grep -q "AH02536: couldn't encode envvar 'QUERY_STRING'" "$WORK/apache-error.log" ||
  fail "Apache's reason for the dropped query is not in its error log"

# Content-Length, not chunked, also for HTTP/1.0 (Cisco).
http GET "$BASE?operation=GetCACert&message=beta"
expect_ra_p7 beta
has_header Content-Length || fail "$LAST_REQUEST: no Content-Length (ap_trust_cgilike_cl)"
http GET "$BASE?operation=GetCACert&message=beta" -0
expect_ra_p7 beta

http GET "http://127.0.0.1:$PORT/scepx?operation=GetCACert"
[[ $HTTP_STATUS == 403 || $HTTP_STATUS == 404 ]] || fail "$LAST_REQUEST: status $HTTP_STATUS, want Apache's 403/404"

printf 'not a pkiMessage' >"$WORK/garbage.bin"
http POST "$BASE?operation=PKIOperation" --data-binary @"$WORK/garbage.bin" -H 'Content-Type: application/octet-stream'
expect_text_error 400

# An enrollment (POST, with the CA in the path) through Apache and the socket.
C="$WORK/clients"
legacy_on alpha
scepclient_run "$C/apache-fcgi" "$BASE/alpha" "$(new_secret alpha device)" apache-fcgi
expect_scepclient_ok "$C/apache-fcgi"
check_issued "$C/apache-fcgi/cert.pem" alpha apache-fcgi 30 "Digital Signature, Key Encipherment" \
  "TLS Web Client Authentication" >/dev/null

kill -0 "$FCGI_PID" 2>/dev/null || fail "the spawn-fcgi scep.cgi process (pid $FCGI_PID) is gone"
grep -q '"GET /scep/beta/pkiclient.exe?operation=GetCACert HTTP/1.1" 200' "$WORK/apache-access.log" ||
  fail "Apache's access log does not show the requests"
! grep -q '" 500 ' "$WORK/apache-access.log" || fail "500 answers: $(grep '" 500 ' "$WORK/apache-access.log" | head -3)"
scepctl check >"$WORK/check.out" 2>&1 || fail "scepctl check: $(cat "$WORK/check.out")"
log "ok"
