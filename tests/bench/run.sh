#!/bin/bash
# The side-by-side SCEP benchmark (issue 6): the same load client
# (scep-bench), the same RSA-2048 keys, one run, against
#   serve       scepctl serve
#   cgi         scep.cgi under lighttpd mod_cgi        (share/lighttpd/scep.conf)
#   fastcgi     scep.cgi under lighttpd mod_fastcgi    (share/lighttpd-fastcgi.conf)
#   scepserver  micromdm's scepserver (Debian package scep), static -challenge
# at each concurrency of BENCH_CONCURRENCY, then GetCACaps/GetCACert against
# serve and scepserver at BENCH_GET_CONCURRENCY, with scep-bench and with wrk
# (an epoll client, so the server rather than the client is the limit), and
# with wrk the CGI floor (scep.cgi's GetCACaps beside two do-nothing CGI
# programs under the same lighttpd set-up). Prints a markdown table.
#
#   make -f Makefile.dist bench                        (builds, then runs this)
#   SCEP_BIN=build/bin SCEP_SOURCE=. tests/bench/run.sh
#
# Environment (defaults in brackets):
#   BENCH_COUNT [300]            measured enrollments per cell
#   BENCH_GET_COUNT [30000]      measured GetCACaps / GetCACert requests per cell (about
#                                1 s: shorter cells catch a passing stall of the host)
#   BENCH_CONCURRENCY ["1 2 8"]  workers (keep-alive connections) per enrollment cell
#   BENCH_GET_CONCURRENCY [8]
#   BENCH_SERVERS ["serve cgi fastcgi scepserver"]
#   BENCH_SECRET_USES [1000]     uses per scep secret (scepctl allows 1..1000); each
#                                enrollment cell gets fresh secrets, enough for it
#   BENCH_PIN [auto]             auto: with 2+ CPUs the server runs on CPU 1 and the
#                                client on CPU 0 (taskset); 0: no pinning
#   BENCH_GET_SECONDS [5]        length of each wrk GET cell (skipped without wrk)
#   BENCH_INPROC_COUNT [1000]    enrollments of the in-memory protocol-path cell
#   BENCH_JSON [none]            also write the raw results (JSON lines) there
# Each server gets a fresh store (or depot) with an RSA-2048 CA.
set -euo pipefail
: "${SCEP_SOURCE:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${SCEP_BIN:=$SCEP_SOURCE/build/bin}"
export SCEP_SOURCE SCEP_BIN
. "$SCEP_SOURCE/tests/integration/lib.sh"

COUNT=${BENCH_COUNT:-300}
GET_COUNT=${BENCH_GET_COUNT:-30000}
CONCURRENCY=${BENCH_CONCURRENCY:-1 2 8}
GET_CONCURRENCY=${BENCH_GET_CONCURRENCY:-8}
SERVERS=${BENCH_SERVERS:-serve cgi fastcgi scepserver}
SECRET_USES=${BENCH_SECRET_USES:-1000}
BENCH="$SCEP_BIN/scep-bench"
require_cmd "$BENCH" "$SCEPCTL" "$SCEP_CGI_BIN" lighttpd scepserver taskset ps "$PYTHON"

SERVER_CPU=() CLIENT_CPU=()
if [[ ${BENCH_PIN:-auto} != 0 && $(nproc) -ge 2 ]]; then
  SERVER_CPU=(taskset -c 1) CLIENT_CPU=(taskset -c 0)
  PINNING="server (and its CGI/FastCGI children) pinned to CPU 1, scep-bench to CPU 0 (taskset)"
else
  PINNING="no CPU pinning"
fi
RESULTS="$WORK/results.jsonl"
: >"$RESULTS"

# new_store DIR — a store with CA "bench" (RSA-2048, the default) and policy "device".
new_store() {
  "$SCEPCTL" --store "$1" ca create bench --subject "CN=scep bench CA,O=scep" --key-bits 2048 --default \
    >"$WORK/ca-create.out" || fail "scepctl ca create"
  "$SCEPCTL" --store "$1" policy create device --days 30 --eku clientAuth >/dev/null || fail "scepctl policy create"
}

# challenges STORE ENROLLMENTS — enough multi-use secrets for ENROLLMENTS;
# prints --challenge arguments for scep-bench.
challenges() {
  local store=$1 need=$2 n
  for ((n = 0; n < need; n += SECRET_USES)); do
    printf -- '--challenge\n%s\n' "$("$SCEPCTL" --store "$store" secret create --ca bench --policy device \
      --uses "$SECRET_USES" --expires 1d --json | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["secret"])')"
  done
}

# lighttpd_conf KIND STORE PORT [PROGRAM] — a lighttpd.conf using the shipped
# snippet (mod_cgi for the cgi kinds, mod_fastcgi for fastcgi) running PROGRAM
# (scep.cgi unless given).
lighttpd_conf() {
  local kind=$1 store=$2 port=$3 program=${4:-$SCEP_CGI_BIN} snippet modules vars
  mkdir -p "$WORK/www"
  if [[ $kind == cgi* ]]; then
    snippet=$(shipped lighttpd/scep.conf)
    modules='"mod_access", "mod_alias", "mod_cgi", "mod_setenv"'
    vars="var.scep_cgi = \"$program\"
var.scep_store = \"$store\""
  else
    snippet=$(shipped lighttpd-fastcgi.conf)
    modules='"mod_access"'
    vars="var.scep_cgi = \"$program\"
var.scep_store = \"$store\"
var.scep_socket = \"$WORK/fcgi.sock\""
  fi
  sed '/^var\.scep_\(cgi\|store\|socket\)[[:space:]]*=/d' "$snippet" >"$WORK/$kind-snippet.conf"
  cat >"$WORK/$kind-lighttpd.conf" <<EOF
server.document-root = "$WORK/www"
server.bind          = "127.0.0.1"
server.port          = $port
server.errorlog      = "$WORK/$kind-lighttpd-error.log"
server.modules       = ( $modules )
$vars
include "$WORK/$kind-snippet.conf"
EOF
}

# start_server KIND — starts KIND on a fresh store; sets URL, PIDS (the
# processes whose CPU time is the server's), STORE (scep) or CHALLENGE_ARGS
# (scepserver's static challenge) and SERVER_MAIN_PID.
start_server() {
  local kind=$1 port store="$WORK/$1-store"
  port=$(free_port)
  URL="http://127.0.0.1:$port/scep"
  if [[ $kind == scepserver ]]; then
    local depot="$WORK/scepserver-depot" secret
    (cd "$WORK" && scepserver ca -init -depot "$depot" -keySize 2048 -organization "scep bench" >"$WORK/depot.out" 2>&1) ||
      fail "scepserver ca -init: $(cat "$WORK/depot.out")"
    secret=$(openssl rand -hex 16)
    start_bg "$WORK/scepserver.log" "${SERVER_CPU[@]}" scepserver -depot "$depot" -port "$port" -challenge "$secret"
    CHALLENGE_ARGS=(--challenge "$secret")
  else
    rm -rf "$store"  # cgi runs twice: the enrollment cells, then the floor's
    new_store "$store"
    STORE=$store
    case $kind in
      serve) start_bg "$WORK/serve.log" "${SERVER_CPU[@]}" "$SCEPCTL" --store "$store" serve --listen "127.0.0.1:$port" ;;
      cgi | fastcgi | cgi-noop | cgi-openssl)
        local program=$SCEP_CGI_BIN
        [[ $kind != cgi-* ]] || program="$SCEP_BIN/scep-bench-$kind"
        lighttpd_conf "$kind" "$store" "$port" "$program"
        start_bg "$WORK/$kind-lighttpd.log" "${SERVER_CPU[@]}" lighttpd -D -f "$WORK/$kind-lighttpd.conf"
        ;;
      *) fail "unknown server $kind" ;;
    esac
  fi
  SERVER_MAIN_PID=$BG_PID
  wait_for_port "$port" "$BG_PID"
  # The pid started is taskset's until it execs: the same process.
  PIDS=("$BG_PID")
  if [[ $kind == fastcgi ]]; then
    local p i
    for ((i = 0; i < 50; i++)); do
      [[ -n $(ps -o pid= --ppid "$BG_PID") ]] && break
      sleep 0.1
    done
    for p in $(ps -o pid=,comm= --ppid "$BG_PID" | awk '$2 == "scep.cgi" { print $1 }'); do PIDS+=("$p"); done
    [[ ${#PIDS[@]} -gt 1 ]] || fail "lighttpd started no scep.cgi FastCGI process"
    log "fastcgi: lighttpd $BG_PID, scep.cgi ${PIDS[*]:1}"
  fi
}

stop_server() {
  _stop_pid "$SERVER_MAIN_PID"
  forget_pid "$SERVER_MAIN_PID"
}

# bench KIND MODE WORKERS COUNT — one cell; appends its JSON line to $RESULTS.
bench() {
  local kind=$1 mode=$2 workers=$3 count=$4 pid_args=() p out
  for p in "${PIDS[@]}"; do pid_args+=(--server-pid "$p"); done
  local args=(--url "$URL" --ca bench --mode "$mode" --workers "$workers" --count "$count" --warmup $((2 * workers))
    --key-bits 2048 --label "$kind" --json "${pid_args[@]}")
  if [[ $mode == enroll && $kind != scepserver ]]; then
    # Fresh multi-use secrets for each cell: every cell starts from the same state.
    mapfile -t CHALLENGE_ARGS < <(challenges "$STORE" $((count + 2 * workers)))
  fi
  [[ $mode != enroll ]] || args+=("${CHALLENGE_ARGS[@]}")
  log "$kind $mode x$workers: $count requests"
  # A server that fails some requests still gets its row (with a failure count).
  out=$("${CLIENT_CPU[@]}" "$BENCH" "${args[@]}" 2>"$WORK/bench.err") || true
  [[ -n $out ]] || fail "scep-bench $kind $mode x$workers: $(cat "$WORK/bench.err")"
  [[ ! -s $WORK/bench.err ]] || log "$(head -c 600 "$WORK/bench.err")"
  printf '%s\n' "$out" >>"$RESULTS"
}

# wrk_bench KIND MODE CONNECTIONS — a GET cell driven by wrk.
wrk_bench() {
  local kind=$1 mode=$2 conns=$3 pid_args=() p cpu_args=() out
  for p in "${PIDS[@]}"; do pid_args+=(--server-pid "$p"); done
  [[ ${#CLIENT_CPU[@]} == 0 ]] || cpu_args=(--client-cpu 0)
  log "$kind $mode x$conns: wrk for ${BENCH_GET_SECONDS:-5} s"
  out=$("$PYTHON" "$SCEP_SOURCE/tests/bench/wrk_cell.py" --url "$URL" --label "$kind" --mode "$mode" \
    --connections "$conns" --seconds "${BENCH_GET_SECONDS:-5}" "${pid_args[@]}" "${cpu_args[@]}") ||
    fail "wrk $kind $mode x$conns failed"
  printf '%s\n' "$out" >>"$RESULTS"
}

# The protocol path alone first (no HTTP, no files): its CPU per enrollment
# is what no server built on it can go below.
if [[ -x $SCEP_BIN/scep-bench-inproc ]]; then
  log "inproc: ${BENCH_INPROC_COUNT:-1000} enrollments through scep::Service in memory"
  "${SERVER_CPU[@]}" "$SCEP_BIN/scep-bench-inproc" --count "${BENCH_INPROC_COUNT:-1000}" --json >>"$RESULTS" ||
    fail "scep-bench-inproc failed"
fi

for kind in $SERVERS; do
  start_server "$kind"
  for c in $CONCURRENCY; do bench "$kind" enroll "$c" "$COUNT"; done
  if [[ $kind == serve || $kind == scepserver ]]; then
    for c in $GET_CONCURRENCY; do
      bench "$kind" caps "$c" "$GET_COUNT"
      bench "$kind" cacert "$c" "$GET_COUNT"
      if command -v wrk >/dev/null; then
        for mode in caps cacert; do wrk_bench "$kind" "$mode" "$c"; done
      fi
    done
  fi
  stop_server
done

# The CGI floor: how many requests/s lighttpd's mod_cgi (set up as for scep.cgi)
# gets through a program that answers at once (cgi-noop) and one that only
# starts OpenSSL (cgi-openssl, tests/bench/cgi_floor.cpp), beside scep.cgi's
# own GetCACaps, all driven by wrk: no CGI enrollment can be cheaper.
if [[ " $SERVERS " == *" cgi "* ]] && command -v wrk >/dev/null; then
  for kind in cgi cgi-openssl cgi-noop; do
    [[ $kind == cgi || -x $SCEP_BIN/scep-bench-$kind ]] || { log "no $SCEP_BIN/scep-bench-$kind: no $kind cell"; continue; }
    start_server "$kind"
    for c in $GET_CONCURRENCY; do wrk_bench "$kind" caps "$c"; done
    stop_server
  done
fi

[[ -z ${BENCH_JSON:-} ]] || cp "$RESULTS" "$BENCH_JSON"
"$PYTHON" "$SCEP_SOURCE/tests/bench/report.py" "$RESULTS" "$PINNING"
