#!/bin/bash
# The Debian package (debian/, `make -f Makefile.dist deb`) of this build,
# installed for real:
#   a. built from the build under test (DEB_REUSE_BUILD), lintian-clean
#      (no E:, no W: that debian/*.lintian-overrides does not explain);
#   b. its binaries stripped, the debug info in the -dbgsym package, the
#      /etc files conffiles;
#   c. an older build of itself (the same .deb, version 0.0.1-0~test)
#      installs: user scep, /var/lib/scep 0750 scep:scep;
#   d. the scep user sets up a CA, a policy and a one-time secret there;
#   e. the real .deb upgrades it and the store stays as it was;
#   f. scep.cgi started as the installed scep-fastcgi.socket/.service say
#      (spawn-fcgi: systemd is not running here) behind lighttpd with the
#      installed 50-scep.conf, unmodified: micromdm's scepclient enrolls;
#   g. purge removes the package's files but keeps a store with a CA key;
#      with no CA, purge removes the store.
#
# Needs root (dpkg -i); skipped otherwise. It refuses to run where the
# package is installed or /var/lib/scep exists (it would purge them). The
# EXIT trap purges the package and removes what the test created (the
# store, /run/scep, the user and group scep if they were not there, and on a
# host that runs systemd the policy-rc.d that kept services from starting).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enroll_lib.sh"

if [[ $(id -u) != 0 ]]; then
  note "skipped: installing a package needs root"
  exit 0
fi
require_cmd make dpkg dpkg-deb dpkg-query lintian readelf runuser spawn-fcgi lighttpd scepclient openssl "$PYTHON"

BUILD=$(dirname "$SCEP_BIN")
PKG=$(sed -n 's/^Package: //p' "$SCEP_SOURCE/debian/control" | head -n 1)
[[ -n $PKG ]] || fail "no Package: in $SCEP_SOURCE/debian/control"
STORE=/var/lib/scep
UNITS=/lib/systemd/system
LIGHTTPD_SNIPPET=/etc/lighttpd/conf-available/50-scep.conf
CONFFILES=(/etc/apache2/conf-available/scep.conf /etc/apache2/conf-available/scep-fastcgi.conf "$LIGHTTPD_SNIPPET" /etc/nginx/snippets/scep.conf /etc/logrotate.d/scep)

known() { dpkg-query -W "$PKG" >/dev/null 2>&1 && [[ $(dpkg-query -W -f='${db:Status-Status}' "$PKG") != not-installed ]]; }

known && fail "$PKG is installed (or its conffiles are) on this machine; this test installs and purges it: dpkg --purge $PKG first"
[[ ! -e $STORE ]] || fail "$STORE exists; this test installs the package and purges its store: move it away first"
getent passwd scep >/dev/null && HAD_USER=1 || HAD_USER=0
getent group scep >/dev/null && HAD_GROUP=1 || HAD_GROUP=0
[[ -e /run/scep ]] && HAD_RUN=1 || HAD_RUN=0
POLICY_RC=/usr/sbin/policy-rc.d
MADE_POLICY_RC=0

_package_cleanup() {
  local pid
  for pid in "${_SERVER_PIDS[@]}"; do _stop_pid "$pid"; done
  _SERVER_PIDS=()
  if known; then dpkg --purge "$PKG" >"$WORK/cleanup-purge.log" 2>&1 || log "cleanup: dpkg --purge $PKG failed"; fi
  rm -rf "$STORE"
  [[ $HAD_RUN == 1 ]] || rm -rf /run/scep
  if [[ $HAD_USER == 0 ]] && getent passwd scep >/dev/null; then userdel scep || log "cleanup: userdel scep failed"; fi
  if [[ $HAD_GROUP == 0 ]] && getent group scep >/dev/null; then groupdel scep || log "cleanup: groupdel scep failed"; fi
  [[ $MADE_POLICY_RC == 0 ]] || rm -f "$POLICY_RC"
}
trap 'rc=$?; set +e; _package_cleanup; (exit "$rc"); _cleanup' EXIT

# Under a running systemd, the upgrade (e.) would start scep.service for
# real (a CA exists by then): `scepctl serve` on 0.0.0.0:8080. A
# policy-rc.d that denies every action keeps the maintainer scripts from
# starting anything while the test runs (deb-systemd-invoke asks it).
if [[ -d /run/systemd/system && ! -e $POLICY_RC ]]; then
  printf '#!/bin/sh\n# test_package.sh (scep): no service actions while it runs\nexit 101\n' >"$POLICY_RC"
  chmod 0755 "$POLICY_RC"
  MADE_POLICY_RC=1
fi

# as_scep CMD... — CMD as the user scep (from /: the working directory of
# the test may be closed to it).
as_scep() { (cd / && runuser -u scep -- "$@"); }
ctl() { as_scep /usr/bin/scepctl --store "$STORE" "$@"; }
# owner_mode PATH — "MODE USER:GROUP".
owner_mode() { stat -c '%a %U:%G' "$1"; }

# ---- a. build it from this build, lintian
log "a. ${SECONDS}s"
DIST="$WORK/dist"
log "building the package from $BUILD"
# gzip -1: the -dbgsym's debug sections are compressed already, and xz
# spends half a minute on them for nothing (the format is not under test).
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL DPKG_DEB_COMPRESSOR_TYPE=gzip DPKG_DEB_COMPRESSOR_LEVEL=1 make -f "$SCEP_SOURCE/Makefile.dist" -C "$SCEP_SOURCE" deb \
  DEB_REUSE_BUILD="$BUILD" DEB_DIST="$DIST" >"$WORK/deb-build.log" 2>&1 ||
  fail "make -f Makefile.dist deb DEB_REUSE_BUILD=$BUILD: $(tail -n 20 "$WORK/deb-build.log")"
debs=("$DIST/${PKG}_"*.deb)
[[ ${#debs[@]} == 1 && -f ${debs[0]} ]] || fail "want one ${PKG}_*.deb in $DIST, have: $(ls "$DIST")"
DEB=${debs[0]}
VERSION=$(dpkg-deb -f "$DEB" Version)
dbgs=("$DIST/${PKG}-dbgsym_${VERSION}_"*.*deb)
[[ -f ${dbgs[0]} ]] || fail "no ${PKG}-dbgsym package in $DIST: $(ls "$DIST")"
DBG=${dbgs[0]}

lint_rc=0
lintian --info "$DEB" >"$WORK/lintian.out" 2>&1 || lint_rc=$?
[[ $lint_rc == 0 || $lint_rc == 1 ]] || fail "lintian failed to run (exit $lint_rc): $(tail -n 5 "$WORK/lintian.out")"
if grep -E '^[EW]:' "$WORK/lintian.out" >"$WORK/lintian.bad"; then
  fail "lintian $(basename "$DEB"): fix or override (debian/$PKG.lintian-overrides, with the reason):$(printf '\n%s' "$(cat "$WORK/lintian.bad")")"
fi
[[ $lint_rc == 0 ]] || fail "lintian exited $lint_rc: $(cat "$WORK/lintian.out")"

# ---- b. contents
log "b. ${SECONDS}s"
ROOT="$WORK/deb-root"
dpkg-deb -x "$DEB" "$ROOT"
dpkg-deb -e "$DEB" "$ROOT/DEBIAN"
for f in /usr/bin/scepctl /usr/libexec/scep/scep.cgi /usr/share/man/man1/scepctl.1.gz /usr/share/man/man5/scep.toml.5.gz \
  /usr/share/man/man7/scep-security.7.gz /usr/share/man/man8/scep.cgi.8.gz /usr/share/scep/scep.toml \
  /usr/share/bash-completion/completions/scepctl "$UNITS/scep.service" "$UNITS/scep-fastcgi.socket" \
  "$UNITS/scep-fastcgi.service" "${CONFFILES[@]}"; do
  [[ -f $ROOT$f ]] || fail "the package has no $f"
done
dpkg-deb -c "$DBG" >"$WORK/dbgsym.list"
for f in usr/bin/scepctl usr/libexec/scep/scep.cgi; do
  readelf -S "$ROOT/$f" >"$WORK/sections" || fail "readelf -S $f"
  ! grep -Eq '\.debug_info|\.symtab' "$WORK/sections" || fail "$f is not stripped: $(grep -E '\.debug_info|\.symtab' "$WORK/sections")"
  # Its debug info is in the -dbgsym package, under its build id.
  id=$(readelf -n "$ROOT/$f" | sed -n 's/^ *Build ID: //p')
  [[ -n $id ]] || fail "$f has no build id"
  grep -q "/usr/lib/debug/\.build-id/${id:0:2}/${id:2}\.debug\$" "$WORK/dbgsym.list" ||
    fail "$(basename "$DBG") has no debug file for $f (build id $id)"
done
for f in "${CONFFILES[@]}"; do
  grep -qx "$f" "$ROOT/DEBIAN/conffiles" || fail "$f is not a conffile: $(cat "$ROOT/DEBIAN/conffiles")"
done

# ---- c. an older build of itself first
log "c. ${SECONDS}s"
mkdir -p "$WORK/old"
dpkg-deb -R "$DEB" "$WORK/old/root"
sed -i 's/^Version: .*/Version: 0.0.1-0~test/' "$WORK/old/root/DEBIAN/control"
dpkg-deb -b "$WORK/old/root" "$WORK/old/${PKG}_old.deb" >/dev/null || fail "dpkg-deb -b of the older version"
dpkg -i "$WORK/old/${PKG}_old.deb" >"$WORK/dpkg-old.log" 2>&1 || fail "dpkg -i (0.0.1-0~test): $(tail -n 20 "$WORK/dpkg-old.log")"
[[ $(dpkg-query -W -f='${Version}' "$PKG") == 0.0.1-0~test ]] || fail "0.0.1-0~test is not the installed version"
getent passwd scep >/dev/null || fail "postinst created no user scep"
getent group scep >/dev/null || fail "postinst created no group scep"
[[ $(id -gn scep) == scep ]] || fail "the primary group of scep is $(id -gn scep), want scep"
[[ $(getent passwd scep | cut -d: -f6) == "$STORE" ]] || fail "the home of scep is not $STORE: $(getent passwd scep)"
(($(id -u scep) < 1000)) || fail "scep is not a system user (uid $(id -u scep))"
[[ $(owner_mode "$STORE") == "750 scep:scep" ]] || fail "$STORE is $(owner_mode "$STORE"), want 750 scep:scep"
[[ -L /etc/systemd/system/multi-user.target.wants/scep.service ]] || fail "scep.service was not enabled"
[[ ! -e /etc/systemd/system/sockets.target.wants/scep-fastcgi.socket ]] || fail "scep-fastcgi.socket was enabled"

# ---- d. the store, as the user scep
log "d. ${SECONDS}s"
ctl init >"$WORK/init.out" 2>&1 || fail "scepctl init on the packaged store: $(cat "$WORK/init.out")"
ctl ca create demo --subject "CN=scep package test CA" --key-bits 2048 >"$WORK/ca.out" 2>&1 || fail "scepctl ca create: $(cat "$WORK/ca.out")"
ctl ca set demo --legacy-algorithms on >/dev/null || fail "scepctl ca set demo --legacy-algorithms on"
ctl policy create device --days 30 --eku clientAuth >/dev/null || fail "scepctl policy create"
ctl secret create --ca demo --policy device --json >"$WORK/secret.json" || fail "scepctl secret create"
SECRET=$(json_field "$WORK/secret.json" secret)
SECRET_ID=$(json_field "$WORK/secret.json" id)
ctl ca show demo --json >"$WORK/ca-before.json" || fail "scepctl ca show"
CA_FP=$(json_field "$WORK/ca-before.json" sha256)
[[ $(owner_mode "$STORE/ca/demo/key.pem") == "600 scep:scep" ]] || fail "the CA key is $(owner_mode "$STORE/ca/demo/key.pem")"
find "$STORE" >"$WORK/store-before.list"

# ---- e. upgrade to the real package: the store stays
log "e. ${SECONDS}s"
dpkg -i "$DEB" >"$WORK/dpkg-upgrade.log" 2>&1 || fail "dpkg -i $(basename "$DEB") over 0.0.1-0~test: $(tail -n 20 "$WORK/dpkg-upgrade.log")"
[[ $(dpkg-query -W -f='${Version}' "$PKG") == "$VERSION" ]] || fail "$VERSION is not the installed version after the upgrade"
ctl ca show demo --json >"$WORK/ca-after.json" || fail "scepctl ca show after the upgrade"
[[ $(json_field "$WORK/ca-after.json" sha256) == "$CA_FP" ]] || fail "the CA changed in the upgrade"
[[ $(owner_mode "$STORE") == "750 scep:scep" ]] || fail "the upgrade changed $STORE to $(owner_mode "$STORE")"
[[ $(owner_mode "$STORE/ca/demo/key.pem") == "600 scep:scep" ]] || fail "the upgrade changed the CA key to $(owner_mode "$STORE/ca/demo/key.pem")"
find "$STORE" | diff "$WORK/store-before.list" - >"$WORK/store.diff" || fail "the upgrade changed the store's files: $(cat "$WORK/store.diff")"
ctl secret list --json >"$WORK/secrets.json" || fail "scepctl secret list"
"$PYTHON" - "$WORK/secrets.json" "$SECRET_ID" <<'EOF' || fail "the secret did not survive the upgrade unused"
import json, sys
s = [s for s in json.load(open(sys.argv[1])) if s["id"] == sys.argv[2]]
sys.exit(0 if len(s) == 1 and s[0]["uses_left"] == 1 else 1)
EOF
for f in "${CONFFILES[@]}"; do cmp -s "$f" "$ROOT$f" || fail "$f is not the package's"; done

# ---- f. scep.cgi as the installed units say, lighttpd with the installed snippet
log "f. ${SECONDS}s"
# unit_value UNIT KEY — the last KEY= of the installed unit (empty if none).
unit_value() { sed -n "s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*//p" "$UNITS/$1" | tail -n 1; }
SOCK=$(unit_value scep-fastcgi.socket ListenStream)
SOCK_USER=$(unit_value scep-fastcgi.socket SocketUser)
SOCK_GROUP=$(unit_value scep-fastcgi.socket SocketGroup)
SOCK_MODE=$(unit_value scep-fastcgi.socket SocketMode)
SOCK_DIR_MODE=$(unit_value scep-fastcgi.socket DirectoryMode)
SVC_USER=$(unit_value scep-fastcgi.service User)
SVC_GROUP=$(unit_value scep-fastcgi.service Group)
EXEC=$(unit_value scep-fastcgi.service ExecStart)
[[ $SOCK == /* ]] || fail "scep-fastcgi.socket: ListenStream=$SOCK is not a unix socket path"
[[ -n $EXEC ]] || fail "scep-fastcgi.service has no ExecStart"
! grep -q '^[[:space:]]*EnvironmentFile' "$UNITS/scep-fastcgi.service" || fail "scep-fastcgi.service: EnvironmentFile= is not supported by this test"
grep -Eq '^[[:space:]]*StandardInput[[:space:]]*=[[:space:]]*socket' "$UNITS/scep-fastcgi.service" ||
  fail "scep-fastcgi.service does not hand the socket over as standard input (StandardInput=socket): scep.cgi would not be a FastCGI responder"
# systemd's defaults for what the units leave out.
: "${SOCK_USER:=root}" "${SOCK_GROUP:=root}" "${SOCK_MODE:=0666}" "${SOCK_DIR_MODE:=0755}" "${SVC_USER:=root}"
[[ -n $SVC_GROUP ]] || SVC_GROUP=$(id -gn "$SVC_USER")
# Environment= lines, each a list of shell-like quoted assignments.
mapfile -t UNIT_ENV < <(sed -n 's/^[[:space:]]*Environment[[:space:]]*=//p' "$UNITS/scep-fastcgi.service" |
  "$PYTHON" -c 'import shlex, sys
for line in sys.stdin:
    for word in shlex.split(line):
        print(word)')
# ExecStart: without systemd's prefixes (-@:+!), split as systemd does.
EXEC=$(printf '%s' "$EXEC" | sed 's/^[-@:+!]*//')
mapfile -t EXEC_ARGV < <("$PYTHON" -c 'import shlex, sys; print("\n".join(shlex.split(sys.argv[1])))' "$EXEC")
[[ ${EXEC_ARGV[0]} == /usr/libexec/scep/scep.cgi ]] || note "scep-fastcgi.service runs ${EXEC_ARGV[0]}, not /usr/libexec/scep/scep.cgi"
log "socket $SOCK ($SOCK_USER:$SOCK_GROUP $SOCK_MODE), $SVC_USER:$SVC_GROUP, env ${UNIT_ENV[*]}, ${EXEC_ARGV[*]}"

# systemd creates the socket's missing parent directories (DirectoryMode=).
install -d -m "$SOCK_DIR_MODE" "$(dirname "$SOCK")"
start_bg "$WORK/scep-fastcgi.log" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "${UNIT_ENV[@]}" \
  spawn-fcgi -n -s "$SOCK" -U "$SOCK_USER" -G "$SOCK_GROUP" -M "$SOCK_MODE" -u "$SVC_USER" -g "$SVC_GROUP" -- "${EXEC_ARGV[@]}"
FCGI_PID=$BG_PID
wait_for_socket "$SOCK" "$FCGI_PID" "$WORK/scep-fastcgi.log"
want_mode=$(printf '%o' "$((8#$SOCK_MODE))")
[[ $(stat -c '%a %U:%G' "$SOCK") == "$want_mode $SOCK_USER:$SOCK_GROUP" ]] ||
  fail "$SOCK is $(stat -c '%a %U:%G' "$SOCK"), want $want_mode $SOCK_USER:$SOCK_GROUP"
[[ $(ps -o user= -p "$FCGI_PID" | tr -d ' ') == "$SVC_USER" ]] || fail "scep.cgi runs as $(ps -o user= -p "$FCGI_PID"), want $SVC_USER"

PORT=$(free_port)
mkdir -p "$WORK/www"
# lighttpd opens its logs as www-data (server.username).
chmod 0711 "$WORK"
touch "$WORK/lighttpd-error.log" "$WORK/lighttpd-access.log"
chown www-data: "$WORK/lighttpd-error.log" "$WORK/lighttpd-access.log"
cat >"$WORK/lighttpd.conf" <<EOF
server.document-root = "$WORK/www"
server.bind          = "127.0.0.1"
server.port          = $PORT
server.username      = "www-data"
server.groupname     = "www-data"
server.pid-file      = "$WORK/lighttpd.pid"
server.errorlog      = "$WORK/lighttpd-error.log"
server.modules       = ( "mod_access", "mod_accesslog" )
accesslog.filename   = "$WORK/lighttpd-access.log"
include "$LIGHTTPD_SNIPPET"
EOF
lighttpd -tt -f "$WORK/lighttpd.conf" >"$WORK/lighttpd-tt.out" 2>&1 || fail "lighttpd -tt: $(cat "$WORK/lighttpd-tt.out")"
start_bg "$WORK/lighttpd.log" lighttpd -D -f "$WORK/lighttpd.conf"
wait_for_port "$PORT" "$BG_PID"
URL="http://127.0.0.1:$PORT/scep"

CA_HEX=$(printf '%s' "$CA_FP" | tr -d ':' | tr '[:upper:]' '[:lower:]')
scepclient_run "$WORK/client" "$URL/demo" "$SECRET" pkg-test-1 -ca-fingerprint "$CA_HEX"
expect_scepclient_ok "$WORK/client"
same_key "$WORK/client/cert.pem" "$WORK/client/key.pem"
SERIAL=$(cert_serial "$WORK/client/cert.pem")
ctl certs >"$WORK/certs.out" || fail "scepctl certs"
grep -q "^$SERIAL .*CN=pkg-test-1" "$WORK/certs.out" || fail "scepctl certs does not list $SERIAL: $(cat "$WORK/certs.out")"
ctl export demo >"$WORK/demo-ca.pem" || fail "scepctl export demo"
openssl verify -CAfile "$WORK/demo-ca.pem" "$WORK/client/cert.pem" >/dev/null 2>&1 || fail "the certificate does not verify against the CA"
ctl check >"$WORK/check.out" 2>&1 || fail "scepctl check: $(cat "$WORK/check.out")"
if (cd / && runuser -u www-data -- head -c 1 "$STORE/ca/demo/key.pem") >/dev/null 2>&1; then
  fail "www-data can read the CA key"
fi
wait_for_log "$WORK/lighttpd-access.log" '"POST /scep/demo\?operation=PKIOperation HTTP/1\.1" 200 ' 10

for pid in "${_SERVER_PIDS[@]}"; do _stop_pid "$pid"; done
_SERVER_PIDS=()

# ---- g. purge: the package's files go, a store with a CA stays
log "g. ${SECONDS}s"
dpkg --purge "$PKG" >"$WORK/purge1.log" 2>&1 || fail "dpkg --purge $PKG: $(cat "$WORK/purge1.log")"
! known || fail "$PKG is still known to dpkg after the purge"
for f in "${CONFFILES[@]}" /usr/bin/scepctl /usr/libexec/scep /usr/share/scep /usr/share/bash-completion/completions/scepctl \
  "$UNITS/scep.service" "$UNITS/scep-fastcgi.socket" "$UNITS/scep-fastcgi.service" \
  /etc/systemd/system/multi-user.target.wants/scep.service; do
  [[ ! -e $f && ! -L $f ]] || fail "$f is still there after the purge"
done
[[ -f $STORE/ca/demo/key.pem ]] || fail "the purge removed the CA key"
grep -q "kept $STORE" "$WORK/purge1.log" || fail "the purge did not say it kept the store: $(cat "$WORK/purge1.log")"

# ... and a store without a CA goes.
rm -rf "$STORE"
dpkg -i "$DEB" >"$WORK/dpkg-again.log" 2>&1 || fail "dpkg -i once more: $(tail -n 20 "$WORK/dpkg-again.log")"
[[ $(owner_mode "$STORE") == "750 scep:scep" ]] || fail "$STORE is $(owner_mode "$STORE") on the second install"
ctl init >/dev/null || fail "scepctl init"
dpkg --purge "$PKG" >"$WORK/purge2.log" 2>&1 || fail "dpkg --purge $PKG (no CA): $(cat "$WORK/purge2.log")"
[[ ! -e $STORE ]] || fail "the purge left $STORE, which holds no CA: $(find "$STORE" | head)"
! grep -q "kept" "$WORK/purge2.log" || fail "the purge says it kept a store without a CA: $(cat "$WORK/purge2.log")"

log "ok ($(basename "$DEB"))"
