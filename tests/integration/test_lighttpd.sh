#!/bin/bash
# scep.cgi behind lighttpd, mounted with the shipped lighttpd/scep.conf.
#
# lighttpd runs as the current user (root in CI is fine: without
# server.username lighttpd keeps its uid and so does the CGI program).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_cmd lighttpd curl openssl "$PYTHON"

SNIPPET=$(shipped lighttpd/scep.conf)
STORE="$WORK/store"
make_store "$STORE"
mkdir -p "$WORK/www"

# 1. The snippet as shipped parses, with its documented defaults.
cat >"$WORK/defaults.conf" <<EOF
server.document-root = "$WORK/www"
server.bind = "127.0.0.1"
server.port = $(free_port)
include "$SNIPPET"
EOF
lighttpd -tt -f "$WORK/defaults.conf" >"$WORK/defaults.out" 2>&1 ||
  fail "lighttpd rejects the shipped snippet: $(cat "$WORK/defaults.out")"
lighttpd -p -f "$WORK/defaults.conf" >"$WORK/defaults.dump" 2>&1 || fail "lighttpd -p failed"
grep -q "\"/scep\" => \"$SHIPPED_PREFIX/libexec/scep/scep.cgi\"" "$WORK/defaults.dump" ||
  fail "the snippet does not alias /scep to $SHIPPED_PREFIX/libexec/scep/scep.cgi by default"
grep -q '"SCEP_STORE" => "/var/lib/scep"' "$WORK/defaults.dump" ||
  fail "the snippet does not set SCEP_STORE=/var/lib/scep by default"

# 2. The test's own paths: set var.scep_cgi / var.scep_store in the main
# config before the include, as the snippet's header explains, and drop the
# snippet's two default assignments (lighttpd refuses to assign twice).
sed '/^var\.scep_\(cgi\|store\)[[:space:]]*=/d' "$SNIPPET" >"$WORK/scep-snippet.conf"
[[ $(($(wc -l <"$SNIPPET") - $(wc -l <"$WORK/scep-snippet.conf"))) == 2 ]] ||
  fail "expected exactly two default var.scep_* lines in $SNIPPET"

PORT=$(free_port)
lighttpd_conf lighttpd "$PORT" '"mod_access", "mod_alias", "mod_cgi", "mod_setenv", "mod_accesslog"' \
  "var.scep_cgi = \"$SCEP_CGI_BIN\"
var.scep_store = \"$STORE\"" "$WORK/scep-snippet.conf"

start_bg "$WORK/lighttpd.log" lighttpd -D -f "$WORK/lighttpd.conf"
LIGHTTPD_PID=$BG_PID
wait_for_port "$PORT" "$LIGHTTPD_PID"

BASE="http://127.0.0.1:$PORT/scep"
check_scep_endpoint "$BASE"
# The snippet raises server.max-request-field-size: GET PKIOperation
# requests are long (lighttpd's default of 8 KiB answers 431).
check_long_query "$BASE" 60000

# Trailing slash and a path prefix that is not /scep.
http GET "http://127.0.0.1:$PORT/scep/?operation=GetCACert&message=beta"
expect_ra_p7 beta
http GET "http://127.0.0.1:$PORT/scepx?operation=GetCACert"
expect_status 404

# The CGI program ran under lighttpd (not some other server on the port).
grep -q 'GET /scep/beta/pkiclient.exe?operation=GetCACert' "$WORK/lighttpd-access.log" ||
  fail "lighttpd's access log does not show the requests"

log "ok"
