#!/bin/bash
# A full disk (issue 14's acceptance test). The store lives on a 2 MiB tmpfs
# with a secret of 1000 uses; a filler file takes all but SCEP_DISK_ROOM_KB
# (default 64) KiB, so only a handful of enrollments fit. `scepctl serve`
# then takes enrollments from devices with distinct keys and
# transactionIDs (kill_load.py disk), one after another, until 6 in a row
# get no certificate. While the disk is full:
#   - every request that got no certificate was answered HTTP 503 with a
#     Retry-After header (a full disk is temporary): never a 200 FAILURE
#     (the device would give up), never a dropped connection; the server
#     still runs and answers GetCACaps;
#   - the secret's uses left = 1000 - certificates handed out: a failed
#     request spends nothing;
#   - `scepctl check` exits 0 ("store ok"), every audit.log line is whole
#     JSON, and kill_load.py verify finds every certificate handed out in the
#     store with its "issued" line, no orphan certificate, no unattributed use.
# Then the filler goes, and the SAME devices (same key, transactionID and
# secret) retry against the same server process: all get their
# certificates; uses left = 1000 - all certificates; the store checks clean.
#
# Needs root (mount); skipped otherwise. The mount is undone on any exit.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enroll_lib.sh"

if [[ $(id -u) != 0 ]]; then
  note "skipped: mounting a tmpfs needs root"
  exit 0
fi
require_cmd mount umount mountpoint stat curl openssl "$PYTHON"

MNT="$WORK/disk"
mkdir -p "$MNT"
# Before lib.sh's cleanup: stop the servers (nothing may hold the mount),
# keep a copy of the store when the test failed, unmount.
_disk_cleanup() {
  local rc=$1 pid
  for pid in "${_SERVER_PIDS[@]}"; do _stop_pid "$pid"; done
  _SERVER_PIDS=()
  if mountpoint -q "$MNT"; then
    if [[ $rc != 0 && -d $MNT/store ]]; then cp -a "$MNT/store" "$WORK/store-at-exit" 2>/dev/null || true; fi
    umount "$MNT" 2>/dev/null || umount -l "$MNT" || log "cannot unmount $MNT"
  fi
}
trap 'rc=$?; set +e; _disk_cleanup "$rc"; (exit "$rc"); _cleanup' EXIT
mount -t tmpfs -o size=2m,mode=0700 tmpfs "$MNT" || fail "mount -t tmpfs -o size=2m tmpfs $MNT"

KL=("$PYTHON" "$SCEP_SOURCE/tests/integration/kill_load.py")
FINDINGS=()
finding() {
  log "FINDING: $*"
  FINDINGS+=("$*")
}
# jfield FILE KEY — a top-level field of the JSON object on FILE's last line.
jfield() { "$PYTHON" -c 'import json, sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1]).get(sys.argv[2], ""))' "$1" "$2"; }

STORE="$MNT/store"
USES=1000
scepctl ca create main --subject "CN=Full Disk CA,O=scep tests" --key-bits 2048 >/dev/null || fail "scepctl ca create"
scepctl policy create dev --days 30 --min-rsa-bits 1024 >/dev/null || fail "scepctl policy create"
SECRET=$(new_secret main dev --uses "$USES" --expires 1d)
SECRET_ID=$(cat "$WORK/secret.id")

# check_clean STAGE [ARGS...] — scepctl check exits 0 with "store ok", and
# kill_load.py verify ARGS passes (audit.log whole JSON lines among its checks).
check_clean() {
  local stage=$1 rc=0 line
  shift
  scepctl check >"$WORK/check-$stage.out" 2>&1 || rc=$?
  if [[ $rc != 0 ]] || ! grep -qx 'store ok' "$WORK/check-$stage.out"; then
    finding "$stage: scepctl check exits $rc: $(grep -v '^ca ' "$WORK/check-$stage.out" | head -n 5 | tr '\n' ' ')"
  fi
  scepctl certs --json >"$WORK/certs-$stage.json" || fail "scepctl certs --json"
  scepctl secret list --json >"$WORK/secrets-$stage.json" || fail "scepctl secret list --json"
  rc=0
  "${KL[@]}" verify --stage "$stage" --devices "$WORK/devices.json" --certs "$WORK/certs-$stage.json" \
    --secrets "$WORK/secrets-$stage.json" --audit "$STORE/audit.log" "$@" >"$WORK/verify-$stage.out" 2>&1 || rc=$?
  while IFS= read -r line; do finding "${line#FINDING: }"; done < <(grep '^FINDING: ' "$WORK/verify-$stage.out")
  if [[ $rc != 0 ]] && ! grep -q '^FINDING: ' "$WORK/verify-$stage.out"; then
    fail "kill_load.py verify failed: $(tail -n 5 "$WORK/verify-$stage.out")"
  fi
}

# uses_left_is WANT STAGE
uses_left_is() {
  local left
  left=$(secret_field "$SECRET_ID" uses_left)
  [[ $left == "$1" ]] ||
    finding "$2: the secret has $left uses left, want $1 ($USES - $3 certificates): $(($1 - left)) use(s) spent on requests that got no certificate"
}

# Fill the disk: all but ROOM KiB.
ROOM=$((${SCEP_DISK_ROOM_KB:-64} * 1024))
avail=$(($(stat -f -c '%a * %S' "$MNT")))
((avail > ROOM)) || fail "the tmpfs has $avail bytes free after the store was made; want more than $ROOM"
head -c $((avail - ROOM)) /dev/zero >"$MNT/filler" || fail "cannot write the filler"
log "filler of $((avail - ROOM)) bytes; $(($(stat -f -c '%a * %S' "$MNT"))) bytes left for the store"

start_serve
RC=0
"${KL[@]}" disk --url "$SERVE_URL" --ca main --secret "$SECRET" --secret-id "$SECRET_ID" \
  --devices "$WORK/devices.json" --max 40 --stop-after 6 >"$WORK/disk.json" 2>"$WORK/disk.log" || RC=$?
[[ $RC == 0 ]] || fail "kill_load.py disk exited $RC: $(tail -n 5 "$WORK/disk.log")"
GOT=$(jfield "$WORK/disk.json" successes)
SENT=$(jfield "$WORK/disk.json" sent)
NFAIL=$((SENT - GOT))
log "disk full: $SENT requests, $GOT certificates, $NFAIL without one (first at request $(jfield "$WORK/disk.json" first_failure))"
((GOT >= 1)) || fail "no enrollment fit in $ROOM bytes: the test needs a bigger SCEP_DISK_ROOM_KB"
((NFAIL >= 1)) || fail "all $SENT enrollments fit: the disk never filled"

# How the requests without a certificate were answered.
"$PYTHON" - "$WORK/disk.json" >"$WORK/answers.out" <<'EOF'
import collections, json, sys
fails = json.loads(open(sys.argv[1]).read())["failures"]
kinds = collections.Counter()
for f in fails:
    if f["outcome"] == "failure":
        kinds["a 200 FAILURE (the device gives up): " + f["detail"][:100]] += 1
    elif f["outcome"] != "cut":
        kinds["%s: %s" % (f["outcome"], f["detail"][:100])] += 1
    elif f["http"] is None:
        kinds["no HTTP answer (the connection broke): " + f["detail"][:100]] += 1
    elif not 500 <= f["http"] <= 599:
        kinds["HTTP %d, not a 5xx" % f["http"]] += 1
    elif f["http"] != 503:
        kinds["HTTP %d, not 503" % f["http"]] += 1
    elif not f["retry_after"]:
        kinds["HTTP 503 without Retry-After"] += 1
    else:
        kinds["ok"] += 1
for k, n in sorted(kinds.items()):
    print("%d\t%s" % (n, k))
EOF
while IFS=$'\t' read -r n what; do
  if [[ $what == ok ]]; then
    log "$n request(s) answered 503 with Retry-After"
  else
    finding "disk full: $n of $NFAIL request(s) without a certificate got $what"
  fi
done <"$WORK/answers.out"
if kill -0 "$SERVE_PID" 2>/dev/null; then
  http GET "$SERVE_URL?operation=GetCACaps"
  [[ $HTTP_STATUS == 200 ]] || finding "disk full: GetCACaps answered $HTTP_STATUS"
else
  finding "disk full: scepctl serve died: $(tail -n 5 "$WORK/serve.log" | tr '\n' ' ')"
  start_serve serve-2.log
fi

uses_left_is $((USES - GOT)) "disk full" "$GOT"
check_clean "disk full"
log "disk full: $(grep '^{' "$WORK/verify-disk full.out" | tail -n 1)"

# Room again: the same devices retry against the same server.
rm -f "$MNT/filler"
RC=0
"${KL[@]}" retry --url "$SERVE_URL" --ca main --devices "$WORK/devices.json" --concurrency 1 \
  >"$WORK/retry.json" 2>"$WORK/retry.log" || RC=$?
[[ $RC == 0 ]] || fail "kill_load.py retry exited $RC: $(tail -n 5 "$WORK/retry.log")"
RETRIED=$(jfield "$WORK/retry.json" retried)
AGAIN=$(jfield "$WORK/retry.json" succeeded)
log "after the filler went: $AGAIN of $RETRIED retries got their certificate"
((AGAIN == RETRIED)) ||
  finding "after the filler went: $((RETRIED - AGAIN)) of $RETRIED retries got no certificate: $(jfield "$WORK/retry.json" examples)"
kill -0 "$SERVE_PID" 2>/dev/null || finding "scepctl serve died during the retries"
uses_left_is $((USES - GOT - AGAIN)) "after the retries" $((GOT + AGAIN))
check_clean "after the retries" --final

log "${#FINDINGS[@]} finding(s) in ${SECONDS}s"
if ((${#FINDINGS[@]})); then
  fail "$(printf '%s\n' "${#FINDINGS[@]} finding(s):" "${FINDINGS[@]}")"
fi
log "ok"
