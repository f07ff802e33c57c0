#!/bin/bash
# scep.cgi behind Apache httpd 2.4, mounted with the shipped apache/scep.conf
# as Debian's `a2enmod cgid && a2enconf scep` would: mpm_event, mod_cgid,
# the snippet included at server level, its own LimitRequestLine in force.
#
# Running as root: Apache refuses "User root" (AH00526: "Apache has not been
# designed to serve pages while running as root", unless rebuilt with
# -DBIG_SECURITY_HOLE); without a User directive it tries uid -1
# (AH02155 getpwuid alert) and keeps running as root only by accident. So,
# as in a real deployment, the CGI program runs as an unprivileged user
# (nobody:nogroup) that owns the store, and scep.cgi is copied to a place
# that user can reach. When the test itself runs unprivileged, Apache keeps
# the current user and no chown is needed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_cmd apache2 curl openssl "$PYTHON"

SNIPPET=$(shipped apache/scep.conf)
MODULES="mpm_event authz_core alias cgid env"

STORE="$WORK/store"
make_store "$STORE"
mkdir -p "$WORK/libexec" "$WORK/run"
install -m 0755 "$SCEP_CGI_BIN" "$WORK/libexec/scep.cgi"

if [[ $(id -u) == 0 ]]; then
  chmod 0711 "$WORK"
  chown -R nobody:nogroup "$STORE"
  runuser -u nobody -- test -r "$STORE/ca/beta/ra.pem" ||
    fail "user nobody cannot read $STORE (a parent of $WORK not searchable by others? set TMPDIR)"
  runuser -u nobody -- test -x "$WORK/libexec/scep.cgi" || fail "user nobody cannot run $WORK/libexec/scep.cgi"
fi

# 1. The snippet as shipped parses with its documented defaults.
apache_conf "$WORK/defaults.conf" "$(free_port)" "$MODULES" "Include \"$SNIPPET\""
apache2 -t -f "$WORK/defaults.conf" >"$WORK/defaults.out" 2>&1 ||
  fail "apache2 rejects the shipped snippet: $(cat "$WORK/defaults.out")"
apache2 -t -D DUMP_RUN_CFG -f "$WORK/defaults.conf" >"$WORK/defaults.dump" 2>&1 || true
grep -q "Define: SCEP_CGI=$SHIPPED_PREFIX/libexec/scep/scep.cgi" "$WORK/defaults.dump" ||
  fail "the snippet does not default SCEP_CGI to $SHIPPED_PREFIX/libexec/scep/scep.cgi: $(cat "$WORK/defaults.dump")"
grep -q '^LimitRequestLine 65536$' "$SNIPPET" || fail "the snippet does not set LimitRequestLine 65536"
grep -q 'Define: SCEP_STORE=/var/lib/scep' "$WORK/defaults.dump" ||
  fail "the snippet does not default SCEP_STORE to /var/lib/scep"

# 2. The test's paths, Define'd before the Include, as the snippet's header
# explains; the long-request limit is the snippet's own.
PORT=$(free_port)
apache_conf "$WORK/httpd.conf" "$PORT" "$MODULES" "Define SCEP_CGI \"$WORK/libexec/scep.cgi\"
Define SCEP_STORE \"$STORE\"
Include \"$SNIPPET\""
start_apache "$WORK/httpd.conf" "$PORT"

BASE="http://127.0.0.1:$PORT/scep"
check_scep_endpoint "$BASE"
check_long_query "$BASE" 60000

# HTTP/1.0 (Cisco): still Content-Length, not a connection-close body.
http GET "$BASE?operation=GetCACert&message=beta" -0
expect_ra_p7 beta

# /scepx is not the endpoint (Alias matches whole path segments): Apache's
# own answer (403 here, from "Require all denied" on /), not scep's.
http GET "http://127.0.0.1:$PORT/scepx?operation=GetCACert"
[[ $HTTP_STATUS == 403 || $HTTP_STATUS == 404 ]] || fail "$LAST_REQUEST: status $HTTP_STATUS, want Apache's 403/404"

grep -q '"GET /scep/beta/pkiclient.exe?operation=GetCACert HTTP/1.1" 200' "$WORK/apache-access.log" ||
  fail "Apache's access log does not show the requests"

log "ok"
