#!/bin/bash
# `make -f Makefile.dist install` and `uninstall` with a PREFIX of its own
# under a DESTDIR: the programs are stripped and run; every shipped unit,
# snippet and man page names PREFIX's paths (no placeholder, no /usr/local
# left); the units pass `systemd-analyze verify`; uninstall removes every
# file it installed and scep's own directories.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_cmd make cmake readelf

BUILD=$(dirname "$SCEP_BIN")
ROOT="$WORK/root"
PREFIX=/opt/scep-test
make -s -C "$SCEP_SOURCE" -f Makefile.dist install BUILD="$BUILD" PREFIX="$PREFIX" DESTDIR="$ROOT" \
  >"$WORK/install.log" 2>&1 || fail "make install: $(tail -n 20 "$WORK/install.log")"
P="$ROOT$PREFIX"

# The programs: stripped, and they run.
for prog in bin/scepctl libexec/scep/scep.cgi; do
  [[ -x $P/$prog ]] || fail "$PREFIX/$prog is not installed"
  readelf -S "$P/$prog" >"$WORK/sections" || fail "readelf $prog"
  ! grep -q '\.debug_info\|\.symtab' "$WORK/sections" || fail "$PREFIX/$prog is not stripped"
done
"$P/bin/scepctl" --version >/dev/null || fail "the installed scepctl does not run"
QUERY_STRING=operation=GetCACaps SCEP_STORE="$WORK/none" REQUEST_METHOD=GET "$P/libexec/scep/scep.cgi" >"$WORK/cgi.out" 2>&1 || true
grep -q '^Status: ' "$WORK/cgi.out" || fail "the installed scep.cgi does not answer as a CGI program: $(head -c 300 "$WORK/cgi.out")"

# Paths filled in for PREFIX.
for f in share/scep/systemd/scep.service share/scep/systemd/scep-fastcgi.service share/scep/apache/scep.conf \
  share/scep/lighttpd/scep.conf share/scep/lighttpd-fastcgi.conf share/man/man8/scep.cgi.8; do
  [[ -f $P/$f ]] || fail "$PREFIX/$f is not installed"
done
grep -q "^ExecStart=$PREFIX/bin/scepctl --store /var/lib/scep serve$" "$P/share/scep/systemd/scep.service" ||
  fail "scep.service does not start $PREFIX/bin/scepctl"
grep -q "^ExecStart=$PREFIX/libexec/scep/scep.cgi$" "$P/share/scep/systemd/scep-fastcgi.service" ||
  fail "scep-fastcgi.service does not start $PREFIX/libexec/scep/scep.cgi"
grep -q "Define SCEP_CGI $PREFIX/libexec/scep/scep.cgi" "$P/share/scep/apache/scep.conf" ||
  fail "the Apache snippet does not default to $PREFIX/libexec/scep/scep.cgi"
grep -q "^var.scep_cgi *= \"$PREFIX/libexec/scep/scep.cgi\"" "$P/share/scep/lighttpd/scep.conf" "$P/share/scep/lighttpd-fastcgi.conf" ||
  fail "the lighttpd snippets do not name $PREFIX/libexec/scep/scep.cgi"
grep -q "^\.B $PREFIX/libexec/scep/scep.cgi" "$P/share/man/man8/scep.cgi.8" || fail "scep.cgi(8) does not name $PREFIX"
if grep -rln '@SCEP[A-Z_]*@\|/usr/local' "$P" >"$WORK/stale"; then
  fail "placeholders or /usr/local left in: $(tr '\n' ' ' <"$WORK/stale")"
fi
# The man pages render.
for page in "$P"/share/man/man*/*; do
  man -l "$page" >/dev/null 2>"$WORK/man.err" || fail "man -l $page: $(cat "$WORK/man.err")"
done

# The units as shipped: systemd-analyze verify (unknown keys, ExecStart
# not executable -- it exists under DESTDIR, hence --root).
if command -v systemd-analyze >/dev/null; then
  mkdir -p "$ROOT/etc/systemd/system"
  cp "$P"/share/scep/systemd/* "$ROOT/etc/systemd/system/"
  for unit in scep.service scep-fastcgi.socket scep-fastcgi.service; do
    systemd-analyze verify --man=no --recursive-errors=no --root="$ROOT" "/etc/systemd/system/$unit" \
      >"$WORK/verify.out" 2>&1 || fail "systemd-analyze verify $unit: $(cat "$WORK/verify.out")"
    [[ ! -s $WORK/verify.out ]] || fail "systemd-analyze verify $unit: $(cat "$WORK/verify.out")"
  done
  rm -r "${ROOT:?}/etc"
else
  note "no systemd-analyze: units not verified"
fi

# uninstall: nothing of it left but the shared directories (bin, share/man/manN).
make -s -C "$SCEP_SOURCE" -f Makefile.dist uninstall BUILD="$BUILD" DESTDIR="$ROOT" >"$WORK/uninstall.log" 2>&1 ||
  fail "make uninstall: $(tail -n 20 "$WORK/uninstall.log")"
left=$(find "$ROOT" -mindepth 1 \( -type f -o -type l \) -printf '%P ')
[[ -z $left ]] || fail "uninstall left files: $left"
for d in libexec/scep share/scep; do
  [[ ! -e $P/$d ]] || fail "uninstall left $PREFIX/$d"
done
log "ok"
