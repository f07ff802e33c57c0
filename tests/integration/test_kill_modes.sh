#!/bin/bash
# SIGKILL during enrollments, through every front end (issue 14's acceptance
# test): `scepctl serve`; scep.cgi as CGI under lighttpd (its scep.cgi
# children are killed, lighttpd stays up); scep.cgi as FastCGI under
# spawn-fcgi behind nginx (the process is killed and started again).
#
# In each mode, kill_load.py sends SCEP_KILL_CONCURRENCY (default 8)
# PKCSReqs at once, each from its own device: its own key, fixed
# transactionID and one-use secret, so that a retry is the same request. A
# random 0-D ms later (D: what those requests take here unkilled, at most
# 300) the server dies by SIGKILL; SCEP_KILL_ROUNDS (default 100) such kills
# per mode strike while requests are open. A device that got no answer sends
# the same request again in a later round (5 tries in all).
#
# After each mode: `scepctl check --repair`, then `scepctl check` exits 0
# ("store ok"), no temp files, and kill_load.py verify holds the store
# against what the clients saw: every SUCCESS a client saw is in the store
# (serial and SHA-256); every audit.log line is a JSON object (no torn or
# glued lines); no serial twice; no certificate without an "issued" audit
# line (orphan); for every secret, the uses spent equal the distinct serials
# audit.log records as issued with it (no unattributed use); no device with
# two certificates; no device answered FAILURE (each request is valid and
# its secret fresh, so a retry after a crash must complete it, as issue 14
# asks, and a real client gives up on a FAILURE). Finally every device that
# saw no SUCCESS sends its SAME request to a healthy `scepctl serve` and
# must get its certificate (the one already stored, if its first try got
# that far); then the store checks clean without repair, the verifier
# passes with --final, and every one-use secret of a device is used up.
#
# Every finding is logged; the test fails at the end with the list.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enroll_lib.sh"
require_cmd lighttpd nginx spawn-fcgi setpriv openssl "$PYTHON"

KILLS=${SCEP_KILL_ROUNDS:-100}
CONC=${SCEP_KILL_CONCURRENCY:-8}
((CONC >= 8)) || fail "SCEP_KILL_CONCURRENCY=$CONC: the test needs at least 8 requests at once"
read -r -a MODES <<<"${SCEP_KILL_MODES:-serve cgi fastcgi}"
KL=("$PYTHON" "$SCEP_SOURCE/tests/integration/kill_load.py")

STORE="$WORK/store"
scepctl ca create main --subject "CN=Kill Test CA,O=scep tests" --key-bits 2048 >/dev/null || fail "scepctl ca create"
# 1024-bit device keys: a key per device, made in the test's time.
scepctl policy create dev --days 30 --min-rsa-bits 1024 >/dev/null || fail "scepctl policy create"

FINDINGS=()
finding() {
  log "FINDING: $*"
  FINDINGS+=("$*")
}

# driver OUT ARGS... — kill_load.py ARGS in the background (stopped by the
# EXIT trap if the test is stopped), standard output to OUT, its log to
# OUT.log; exit status in RC.
driver() {
  local out=$1 pid
  shift
  "${KL[@]}" "$@" >"$out" 2>"$out.log" &
  pid=$!
  _SERVER_PIDS+=("$pid")
  RC=0
  wait "$pid" || RC=$?
  forget_pid "$pid"
}

# jfield FILE KEY — a top-level field of the one-line JSON object in FILE.
jfield() { "$PYTHON" -c 'import json, sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1]).get(sys.argv[2], ""))' "$1" "$2"; }

# check_store STAGE REPAIR [--final] — with REPAIR=repair: scepctl check
# (findings counted for the log), check --repair, check; else check alone.
# Then no temp files, and kill_load.py verify over every device so far.
DEVICE_FILES=()
check_store() {
  local stage=$1 repair=$2 rc n temp
  shift 2
  REPAIRED=0
  if [[ $repair == repair ]]; then
    rc=0
    scepctl check >"$WORK/check-$stage-before.out" 2>&1 || rc=$?
    n=$(grep -cv -e '^ca ' -e '^store ok$' "$WORK/check-$stage-before.out" || true)
    temp=$(find "$STORE" -name '.*tmp*' | wc -l)
    log "$stage: before repair, scepctl check exits $rc with $n finding line(s); $temp temp file(s)"
    rc=0
    scepctl check --repair >"$WORK/repair-$stage.out" 2>&1 || rc=$?
    REPAIRED=$(grep -c 'repaired' "$WORK/repair-$stage.out" || true)
    [[ $rc == 0 ]] ||
      finding "$stage: scepctl check --repair exits $rc: $(grep -v '^ca ' "$WORK/repair-$stage.out" | head -n 5 | tr '\n' ' ')"
  fi
  local what="scepctl check"
  if [[ $repair == repair ]]; then what+=" after --repair"; fi
  rc=0
  scepctl check >"$WORK/check-$stage.out" 2>&1 || rc=$?
  if [[ $rc != 0 ]] || ! grep -qx 'store ok' "$WORK/check-$stage.out"; then
    finding "$stage: $what exits $rc: $(grep -v '^ca ' "$WORK/check-$stage.out" | head -n 5 | tr '\n' ' ')"
  fi
  temp=$(find "$STORE" -name '.*tmp*' | wc -l)
  ((temp == 0)) || finding "$stage: $temp temp file(s) in the store: $(find "$STORE" -name '.*tmp*' | head -n 3 | tr '\n' ' ')"
  scepctl certs --json >"$WORK/certs-$stage.json" || fail "scepctl certs --json"
  scepctl secret list --json >"$WORK/secrets-$stage.json" || fail "scepctl secret list --json"
  rc=0
  "${KL[@]}" verify --stage "$stage" --devices "${DEVICE_FILES[@]}" --certs "$WORK/certs-$stage.json" \
    --secrets "$WORK/secrets-$stage.json" --audit "$STORE/audit.log" "$@" >"$WORK/verify-$stage.out" 2>&1 || rc=$?
  local line
  while IFS= read -r line; do finding "${line#FINDING: }"; done < <(grep '^FINDING: ' "$WORK/verify-$stage.out")
  if [[ $rc != 0 ]] && ! grep -q '^FINDING: ' "$WORK/verify-$stage.out"; then
    fail "kill_load.py verify failed: $(tail -n 5 "$WORK/verify-$stage.out")"
  fi
  VERIFY=$(grep '^{' "$WORK/verify-$stage.out" | tail -n 1)
}

# ---------------------------------------------------------------- the modes

# run_mode MODE ARGS... — the kill rounds of MODE; the counts to the log.
run_mode() {
  local mode=$1
  local out="$WORK/kill-$mode"
  shift
  driver "$out.json" run --mode "$mode" --ca main --store "$STORE" --scepctl "$SCEPCTL" --policy dev \
    --devices "$WORK/devices-$mode.json" --kills "$KILLS" --concurrency "$CONC" "$@"
  grep '^kill_load: ' "$out.json.log" >&2 || true
  [[ $RC == 0 ]] || fail "kill_load.py run --mode $mode exited $RC: $(tail -n 8 "$out.json.log")"
  DEVICE_FILES+=("$WORK/devices-$mode.json")
  local kills
  kills=$(jfield "$out.json" kills)
  ((kills >= KILLS)) || fail "$mode: $kills kills, want $KILLS"
  ((KILLS == 0 || $(jfield "$out.json" devices_cut_at_least_once) > 0)) ||
    fail "$mode: no request was ever cut off: the kills came too late to test anything"
  log "$mode: $kills kills ($(jfield "$out.json" processes_killed) processes, $(jfield "$out.json" requests_open_at_kills) requests open at them) in $(jfield "$out.json" rounds) rounds, $(jfield "$out.json" seconds) s; $(jfield "$out.json" devices) devices, $(jfield "$out.json" success) SUCCESS seen, $(jfield "$out.json" devices_cut_at_least_once) cut off, $(jfield "$out.json" retried_and_succeeded) retried with success during the kills, $(jfield "$out.json" devices_answered_failure) answered FAILURE, $(jfield "$out.json" devices_left_without_success) left without a certificate"
  check_store "$mode" repair --mode "$mode"
  log "$mode: repair: $REPAIRED finding(s) repaired; verify: $VERIFY"
}

for mode in "${MODES[@]}"; do
  case $mode in
    serve)
      port=$(free_port)
      run_mode serve --url "http://127.0.0.1:$port/scep" --port "$port" --log "$WORK/serve-kills.log"
      ;;
    cgi)
      start_lighttpd
      run_mode cgi --url "$LIGHTTPD_URL" --cgi-parent "$LIGHTTPD_PID"
      _stop_pid "$LIGHTTPD_PID"
      forget_pid "$LIGHTTPD_PID"
      ;;
    fastcgi)
      # nginx with the shipped snippet in front of a unix socket that
      # kill_load.py's spawn-fcgi listens on.
      SOCK="$WORK/fcgi.sock"
      start_nginx_fastcgi "$SOCK" 256
      run_mode fastcgi --url "http://127.0.0.1:$NGINX_PORT/scep" --socket "$SOCK" --scep-cgi "$SCEP_CGI_BIN" \
        --log "$WORK/fastcgi-kills.log"
      _stop_pid "$NGINX_PID"
      forget_pid "$NGINX_PID"
      ;;
    *) fail "unknown mode $mode in SCEP_KILL_MODES" ;;
  esac
done

# ---------------------------------------------------------------- the retries

# Every device that saw no SUCCESS sends the same request (key,
# transactionID, secret) to a healthy server.
start_serve
driver "$WORK/retry.json" retry --url "$SERVE_URL" --ca main --devices "${DEVICE_FILES[@]}" --concurrency "$CONC"
[[ $RC == 0 ]] || fail "kill_load.py retry exited $RC: $(tail -n 8 "$WORK/retry.json.log")"
log "retries on a healthy server: $(jfield "$WORK/retry.json" succeeded) of $(jfield "$WORK/retry.json" retried) got their certificate $(jfield "$WORK/retry.json" examples)"
_stop_pid "$SERVE_PID"
forget_pid "$SERVE_PID"
# A healthy server leaves nothing to repair.
check_store final no --final
log "final: verify: $VERIFY"

log "$((${#FINDINGS[@]})) finding(s) in ${SECONDS}s"
if ((${#FINDINGS[@]})); then
  fail "$(printf '%s\n' "${#FINDINGS[@]} finding(s):" "${FINDINGS[@]}")"
fi
log "ok"
