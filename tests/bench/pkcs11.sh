#!/bin/bash
# What a CA key on a PKCS#11 token (SoftHSM2) costs against a key file
# (BENCHMARKS.md, "Issue 19 part 1"). Not a test: it times, it asserts only
# that every run answered 200.
#   tests/bench/pkcs11.sh BUILD_DIR      (BUILD_DIR configured with -DSCEP_BENCH=ON;
#                                         needs scepctl, scep.cgi, scep-bench)
# Environment: PKCS11_BENCH_CGI_RUNS (default 100), PKCS11_BENCH_COUNT (serve, default 500).
#
# Two RSA-2048 CAs in one store: "file" (key.pem) and "tok" (key.uri on a
# SoftHSM2 token in a temp dir).
#  1. CGI: scep.cgi run directly (no web server), N times per CA, on one
#     saved PKCSReq: the first run issues, the others are retries answered
#     from the record. Each run is a process that starts, reads the store,
#     loads the key (for "tok": loads the module, logs in, finds the key),
#     decrypts the request and signs the CertRep: wall and CPU time per run.
#  2. serve: scep-bench, one worker, fresh enrollments; the key (and the
#     token's login) is cached: server CPU per enrollment.
set -euo pipefail
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
BIN="$BUILD/bin"
RUNS=${PKCS11_BENCH_CGI_RUNS:-100}
COUNT=${PKCS11_BENCH_COUNT:-500}
MODULE=/usr/lib/softhsm/libsofthsm2.so
WORK=$(mktemp -d "${TMPDIR:-/tmp}/scep-bench-pkcs11.XXXXXX")
SERVE_PID=
cleanup() {
  [[ -z $SERVE_PID ]] || kill "$SERVE_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

export SOFTHSM2_CONF="$WORK/softhsm2.conf"
mkdir -p "$WORK/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$WORK/tokens" >"$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label bench --pin 123456 --so-pin 654321 >/dev/null
echo 123456 >"$WORK/pin"
S="$WORK/store"
c() { "$BIN/scepctl" --store "$S" "$@"; }
c init >/dev/null
printf '\n[pkcs11]\nmodule = "%s"\n' "$MODULE" >>"$S/scep.toml"
c ca create file --key-type rsa-2048 --default >/dev/null
c ca create tok --key-uri "pkcs11:token=bench;object=ca?pin-source=file:$WORK/pin" >/dev/null
c policy create device --days 30 --eku clientAuth >/dev/null
secret() { c secret create --ca "$1" --policy device --uses 1000 | sed -n 's/^secret: *//p'; }
SFILE=$(secret file)
STOK=$(secret tok)

PORT=$((20000 + RANDOM % 20000))
"$BIN/scepctl" --store "$S" serve --listen "127.0.0.1:$PORT" >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/scep?operation=GetCACaps" >/dev/null && break; sleep 0.1; done
URL="http://127.0.0.1:$PORT/scep"

echo "# host: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $(openssl version), SoftHSM2 $(softhsm2-util --version), libp11 $(pkg-config --modversion libp11)"

# ---- 1. CGI
for ca in file tok; do
  secret_var=SFILE
  [[ $ca == tok ]] && secret_var=STOK
  "$BIN/scep-bench" --url "$URL/$ca" --ca "$ca" --challenge "${!secret_var}" --save-request "$WORK/$ca.der" >/dev/null
done
/usr/bin/python3 - "$BIN/scep.cgi" "$S" "$WORK" "$RUNS" <<'PY'
import os, resource, statistics, subprocess, sys, time
cgi, store, work, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def one(ca):
    body = open(f"{work}/{ca}.der", "rb").read()
    env = {"SCEP_STORE": store, "SOFTHSM2_CONF": os.environ["SOFTHSM2_CONF"], "REQUEST_METHOD": "POST",
           "QUERY_STRING": "operation=PKIOperation", "PATH_INFO": f"/{ca}", "CONTENT_LENGTH": str(len(body)),
           "CONTENT_TYPE": "application/x-pki-message"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run([cgi], input=body, env=env, capture_output=True).stdout
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if not out.startswith(b"Status: 200") and b"\r\nStatus: 200" not in out and b"200 OK" not in out.split(b"\r\n\r\n")[0]:
        sys.exit(f"{ca}: not 200: {out[:200]!r}")
    return wall * 1000, (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
res = {"file": [], "tok": []}
one("file"), one("tok")  # the first run issues; the rest are retries
for _ in range(runs):
    for ca in ("file", "tok"):  # alternating: the same load for both
        res[ca].append(one(ca))
for ca in ("file", "tok"):
    wall = [w for w, _ in res[ca]]
    cpu = [c for _, c in res[ca]]
    print(f"cgi {ca:4}: {runs} runs, wall ms median {statistics.median(wall):.2f} "
          f"(p10 {statistics.quantiles(wall, n=10)[0]:.2f}, p90 {statistics.quantiles(wall, n=10)[-1]:.2f}), "
          f"CPU ms median {statistics.median(cpu):.2f}")
PY

# ---- 2. serve (cached key)
for ca in file tok; do
  secret_var=SFILE
  [[ $ca == tok ]] && secret_var=STOK
  "$BIN/scep-bench" --url "$URL/$ca" --ca "$ca" --challenge "${!secret_var}" --workers 1 --count "$COUNT" \
    --warmup 20 --server-pid "$SERVE_PID" --label "serve-$ca" --json >"$WORK/serve-$ca.json"
  /usr/bin/python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
keep = {k: v for k, v in j.items() if isinstance(v, (int, float, str))}
print("serve " + sys.argv[2] + ": " + json.dumps(keep))' "$WORK/serve-$ca.json" "$ca"
done
