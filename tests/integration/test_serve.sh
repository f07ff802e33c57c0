#!/bin/bash
# `scepctl serve`, the built-in HTTP server: the common SCEP endpoint checks,
# its access log on stderr, --path, and a clean stop on SIGTERM and SIGINT.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
require_cmd curl openssl "$PYTHON"

STORE="$WORK/store"
make_store "$STORE"

# ---- default mount point /scep, stopped with SIGTERM
PORT=$(free_port)
start_bg "$WORK/serve.log" "$SCEPCTL" --store "$STORE" serve --listen "127.0.0.1:$PORT" --max-conns-per-client 32
SERVE_PID=$BG_PID
wait_for_port "$PORT" "$SERVE_PID"
grep -q "listening on http://127.0.0.1:$PORT/scep" "$WORK/serve.log" ||
  fail "no \"listening on http://127.0.0.1:$PORT/scep\" line: $(cat "$WORK/serve.log")"
grep -q "(store .*; connections: [0-9]*, per client: 32)$" "$WORK/serve.log" ||
  fail "--max-conns-per-client 32 not in the listening line: $(cat "$WORK/serve.log")"

BASE="http://127.0.0.1:$PORT/scep"
check_scep_endpoint "$BASE"

# The mount point is matched case-insensitively; other paths are not SCEP.
http GET "http://127.0.0.1:$PORT/SCEP?operation=GetCACert&message=beta"
expect_ra_p7 beta
http GET "http://127.0.0.1:$PORT/other?operation=GetCACert"
expect_text_error 404
http GET "http://127.0.0.1:$PORT/scepfoo?operation=GetCACert"
expect_text_error 404

# Access log: one line per request (key=value: remote, method, target, ..., status, ..., bytes).
http GET "$BASE?operation=GetCACert&message=beta&probe=log1"
expect_ra_p7 beta
size=$(wc -c <"$WORK/resp.body")
wait_for_log "$WORK/serve.log" " remote=127\.0\.0\.1 method=GET target=\"/scep\?operation=GetCACert&message=beta&probe=log1\" ca=beta operation=GetCACert .* status=200 .* bytes=$size\$"
http GET "$BASE/nosuch?operation=GetCACert&probe=log2"
wait_for_log "$WORK/serve.log" " remote=127\.0\.0\.1 method=GET target=\"/scep/nosuch\?operation=GetCACert&probe=log2\" .* status=404 .* bytes=[0-9]+\$"
http PUT "$BASE?operation=GetCACert&probe=log3" --data-binary ''
wait_for_log "$WORK/serve.log" " remote=127\.0\.0\.1 method=PUT target=\"/scep\?operation=GetCACert&probe=log3\" .* status=405 .* bytes=[0-9]+\$"

# Long GET requests (GET PKIOperation carries the whole pkiMessage in the
# query; the design asks for request lines of at least 64 KiB).
pad=$(head -c 60000 /dev/zero | tr '\0' A)
http GET "$BASE?operation=GetCACaps&message=alpha&pad=$pad"
expect_response 200 text/plain

# Absolute-form request targets (RFC 9112 3.2.2), as a client whose proxy
# setting names this server sends them: curl does so to a proxy. The access
# log keeps the target as it came.
http GET "http://example.invalid/scep?operation=GetCACaps&probe=absolute" --proxy "http://127.0.0.1:$PORT"
expect_response 200 text/plain
grep -q '^SCEPStandard' "$WORK/resp.body" || fail "GetCACaps through --proxy: no SCEPStandard: $(cat "$WORK/resp.body")"
wait_for_log "$WORK/serve.log" ' remote=127\.0\.0\.1 method=GET target="http://example\.invalid/scep\?operation=GetCACaps&probe=absolute" .* status=200 .* bytes=[0-9]+$'
http GET "HTTP://Example.Invalid:8080/SCEP/beta/pkiclient.exe?operation=GetCACert" --proxy "http://127.0.0.1:$PORT"
expect_ra_p7 beta
http GET "http://example.invalid/nowhere?operation=GetCACaps" --proxy "http://127.0.0.1:$PORT"
expect_text_error 404

# HTTP edge cases the server answers itself (Boost.Beast parser).
# Expect: 100-continue (curl sends it for bodies over 1 KiB): the interim
# 100 comes first, then scep's answer to the (junk) body.
head -c 5000 /dev/urandom >"$WORK/junk.der"
curl -sS -v -o "$WORK/resp.body" -H 'Expect: 100-continue' --data-binary @"$WORK/junk.der" \
  "$BASE/pkiclient.exe?operation=PKIOperation" 2>"$WORK/curl.err" || fail "curl with Expect: 100-continue failed"
grep -q '^< HTTP/1.1 100 Continue' "$WORK/curl.err" || fail "no 100 Continue before the body: $(grep '^<' "$WORK/curl.err")"
grep -q '^< HTTP/1.1 400 ' "$WORK/curl.err" || fail "junk PKIOperation body not answered 400: $(grep '^<' "$WORK/curl.err")"
# A body declared too large is refused before it is sent (no 100 Continue).
"$PYTHON" - "$PORT" >"$WORK/raw.out" <<'PY' || fail "raw HTTP checks failed: $(cat "$WORK/raw.out")"
import re, socket, sys
port = int(sys.argv[1])

def exchange(data, read_all=True):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(data)
    out = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
        if not read_all and b"\r\n\r\n" in out:
            break
    s.close()
    return out

def status(reply):
    return reply.split(b"\r\n", 1)[0].decode()

checks = [
    ("over-limit Content-Length",
     b"POST /scep?operation=PKIOperation HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n"
     b"Expect: 100-continue\r\n\r\n", "HTTP/1.1 413 "),
    ("header over the limit", b"GET /scep?operation=GetCACaps HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"A" * 200000 +
     b"\r\n\r\n", "HTTP/1.1 431 "),
    ("not HTTP", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", "HTTP/1.1 400 "),
    ("bad header line", b"GET /scep?operation=GetCACaps HTTP/1.1\r\nno colon here\r\n\r\n", "HTTP/1.1 400 "),
    ("absolute form with userinfo", b"GET http://user@x/scep?operation=GetCACaps HTTP/1.1\r\nHost: x\r\n\r\n",
     "HTTP/1.1 400 "),
    ("absolute form, another scheme", b"GET ftp://x/scep?operation=GetCACaps HTTP/1.1\r\nHost: x\r\n\r\n",
     "HTTP/1.1 400 "),
    # A chunk-size line that never ends: refused once the read buffer's
    # limit is reached, not held until the I/O timeout.
    ("endless chunk extension", b"POST /scep?operation=PKIOperation HTTP/1.1\r\nHost: x\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n1;" + b"x" * 400000, "HTTP/1.1 400 "),
]
for name, data, want in checks:
    got = status(exchange(data))
    if not got.startswith(want):
        print(f"{name}: got {got!r}, want {want!r}")
        sys.exit(1)
# Request smuggling: a request whose length another HTTP hop could read
# differently gets 400 (501 for a coding other than chunked), and the
# request hidden in its body is never answered.
smuggled = b"GET /scep?operation=GetCACert&message=beta HTTP/1.1\r\nHost: x\r\n\r\n"
post = b"POST /scep?operation=PKIOperation HTTP/1.1\r\nHost: x\r\n"
body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(smuggled), smuggled)
shapes = [
    ("TE chunked, identity", post + b"Transfer-Encoding: chunked, identity\r\n\r\n" + body, "400"),
    ("TE identity", post + b"Transfer-Encoding: identity\r\n\r\n" + body, "400"),
    ("TE gzip, chunked", post + b"Transfer-Encoding: gzip, chunked\r\n\r\n" + body, "501"),
    ("TE gzip + CL", post + b"Transfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc" + smuggled, "400"),
    ("TE chunked + CL", post + b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n" + body, "400"),
    ("CL twice", post + b"Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc" + smuggled, "400"),
    ("CL 3, 3", post + b"Content-Length: 3, 3\r\n\r\nabc" + smuggled, "400"),
    ("obs-fold", post + b"Transfer-Encoding: identity,\r\n chunked\r\n\r\n" + body, "400"),
    ("TE in HTTP/1.0", b"POST /scep?operation=PKIOperation HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n" + body, "400"),
    ("two Host fields", b"GET /scep?operation=GetCACaps HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + smuggled, "400"),
]
for name, data, want in shapes:
    reply = exchange(data)
    answers = re.findall(rb"HTTP/1\.1 \d{3} ", reply)
    if not status(reply).startswith("HTTP/1.1 " + want + " ") or len(answers) != 1:
        print(f"{name}: got {answers}, want one {want}: {reply[:300]!r}")
        sys.exit(1)
# An 11 MB URL: python sends it all, then reads the 414 (no reset).
import http.client
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
c.request("GET", "/scep?operation=PKIOperation&message=" + "A" * (11 << 20))
r = c.getresponse()
if r.status != 414:
    print(f"11 MB URL: {r.status}, want 414")
    sys.exit(1)
c.close()
# Pipelined keep-alive requests are answered in order on one connection.
reply = exchange(b"GET /scep?operation=GetCACaps HTTP/1.1\r\nHost: x\r\n\r\n"
                 b"HEAD /scep?operation=GetCACert&message=beta HTTP/1.1\r\nHost: x\r\n\r\n"
                 b"GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
# (a body ends in "\n": the next status line follows it directly)
statuses = [m.decode() for m in re.findall(rb"HTTP/1\.1 \d{3} [A-Za-z ]+(?=\r\n)", reply)]
if statuses != ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found"]:
    print(f"pipelined: {statuses}")
    sys.exit(1)
print("ok")
PY
# curl refuses requests over 1 MB; a 900 kB URL (-G appends the file, too long
# for an argument, as the query) gets its 414 too.
{
  printf 'operation=PKIOperation&message='
  head -c 900000 /dev/zero | tr '\0' A
} >"$WORK/long-query"
code=$(curl -sS -o "$WORK/resp.body" -w '%{http_code}' -G --data-binary @"$WORK/long-query" "$BASE") ||
  fail "curl with a 900 kB URL failed"
[[ $code == 414 ]] || fail "a 900 kB URL: HTTP $code, want 414"
# Clients that connect and send nothing (or half a request) take no thread,
# and one client address holds at most 32 connections (as set): with
# 200 such connections tried from 127.0.0.2 (32 held, 168 answered 503), GETs
# and a PKIOperation from 127.0.0.1 are still answered.
"$PYTHON" - "$PORT" "$WORK/idle.ready" >"$WORK/idle.out" 2>&1 <<'PY' &
import socket, sys, time, pathlib
port, ready = int(sys.argv[1]), pathlib.Path(sys.argv[2])
conns = []
for i in range(200):
    s = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.2", 0))
    if i % 2:
        s.sendall(b"GET /scep?operation=GetCA")
    conns.append(s)
time.sleep(0.5)
busy = 0
for s in conns:
    s.settimeout(0.05)
    try:
        if s.recv(200).startswith(b"HTTP/1.1 503 "):
            busy += 1
    except (socket.timeout, ConnectionResetError):
        pass
ready.write_text(f"{busy}")
time.sleep(20)
PY
IDLE_PID=$!
for ((i = 0; i < 300; i++)); do [[ -s $WORK/idle.ready ]] && break; sleep 0.1; done
[[ -f $WORK/idle.ready ]] || fail "the idle connections were not opened: $(cat "$WORK/idle.out")"
[[ $(cat "$WORK/idle.ready") == 168 ]] || fail "$(cat "$WORK/idle.ready") of 200 connections from 127.0.0.2 got 503, want 168"
http GET "$BASE?operation=GetCACaps" --max-time 5
expect_response 200 text/plain
http GET "$BASE?operation=GetCACert&message=beta" --max-time 5
expect_ra_p7 beta
http POST "$BASE/pkiclient.exe?operation=PKIOperation" --max-time 5 --data-binary @"$WORK/junk.der"
expect_text_error 400
kill "$IDLE_PID" 2>/dev/null || true
wait "$IDLE_PID" 2>/dev/null || true
wait_for_log "$WORK/serve.log" '^scepctl serve: too many connections from 127\.0\.0\.2 \(at most 32 per client\); answered 503'

# Connections beyond the limit (derived from the descriptor limit: 128 - 64
# - 2 x 8 workers = 48 here) get a 503 at once and are closed; those within
# it are served, and once they close new ones are accepted again. (The
# per-client limit is off: every connection here comes from 127.0.0.1.)
LIMIT_PORT=$(free_port)
start_bg "$WORK/serve-limit.log" bash -c "ulimit -n 128 && exec \"\$0\" \"\$@\"" "$SCEPCTL" --store "$STORE" serve \
  --listen "127.0.0.1:$LIMIT_PORT" --max-conns-per-client 0
LIMIT_PID=$BG_PID
wait_for_port "$LIMIT_PORT" "$LIMIT_PID"
"$PYTHON" - "$LIMIT_PORT" >"$WORK/limit.out" <<'PY' || fail "connection limit: $(cat "$WORK/limit.out")"
import socket, sys, time
port = int(sys.argv[1])
conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(60)]
time.sleep(0.5)
busy = 0
for s in conns:
    s.settimeout(0.2)
    try:
        if s.recv(200).startswith(b"HTTP/1.1 503 "):
            busy += 1
    except socket.timeout:
        pass
if busy != 60 - 48:
    print(f"{busy} of 60 connections got 503, want 12")
    sys.exit(1)
live = [s for s in conns[:10]]
for s in live:
    s.settimeout(5)
    s.sendall(b"GET /scep?operation=GetCACaps HTTP/1.1\r\nHost: x\r\n\r\n")
    if not s.recv(100).startswith(b"HTTP/1.1 200 "):
        print("a connection within the limit was not served")
        sys.exit(1)
for s in conns:
    s.close()
print("ok")
PY
http GET "http://127.0.0.1:$LIMIT_PORT/scep?operation=GetCACaps"
expect_response 200 text/plain
grep -q '^scepctl serve: too many connections; answered 503$' "$WORK/serve-limit.log" || fail "no log line for the refused connections"
forget_pid "$LIMIT_PID"
kill -TERM "$LIMIT_PID"
wait "$LIMIT_PID" || fail "scepctl serve (connection limit) did not exit 0"

# The limits from scep.toml (server.max_connections_per_client,
# server.max_connections), and the options over them.
cp "$STORE/scep.toml" "$WORK/scep.toml.saved"
sed -i '/^max_connections\(_per_client\)\? *=/d; s/^\[server\]$/[server]\nmax_connections_per_client = 4\nmax_connections = 100/' \
  "$STORE/scep.toml"
LIMIT_PORT=$(free_port)
start_bg "$WORK/serve-toml-limit.log" "$SCEPCTL" --store "$STORE" serve --listen "127.0.0.1:$LIMIT_PORT"
LIMIT_PID=$BG_PID
wait_for_port "$LIMIT_PORT" "$LIMIT_PID"
grep -q "(store .*; connections: 100, per client: 4)$" "$WORK/serve-toml-limit.log" ||
  fail "scep.toml limits not in the listening line: $(cat "$WORK/serve-toml-limit.log")"
"$PYTHON" - "$LIMIT_PORT" >"$WORK/toml-limit.out" <<'PY' || fail "scep.toml per-client limit: $(cat "$WORK/toml-limit.out")"
import socket, sys, time
port = int(sys.argv[1])
conns = [socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.2", 0)) for _ in range(6)]
time.sleep(0.5)
busy = 0
for s in conns:
    s.settimeout(0.2)
    try:
        if s.recv(200).startswith(b"HTTP/1.1 503 "):
            busy += 1
    except socket.timeout:
        pass
if busy != 2:
    print(f"{busy} of 6 connections from one address got 503, want 2")
    sys.exit(1)
other = socket.create_connection(("127.0.0.1", port))
other.settimeout(5)
other.sendall(b"GET /scep?operation=GetCACaps HTTP/1.1\r\nHost: x\r\n\r\n")
if not other.recv(100).startswith(b"HTTP/1.1 200 "):
    print("another address was not served")
    sys.exit(1)
print("ok")
PY
forget_pid "$LIMIT_PID"
kill -TERM "$LIMIT_PID"
wait "$LIMIT_PID" || fail "scepctl serve (scep.toml limits) did not exit 0"
LIMIT_PORT=$(free_port)
start_bg "$WORK/serve-opt-limit.log" "$SCEPCTL" --store "$STORE" serve --listen "127.0.0.1:$LIMIT_PORT" \
  --max-conns-per-client 0 --max-connections 50
LIMIT_PID=$BG_PID
wait_for_port "$LIMIT_PORT" "$LIMIT_PID"
grep -q "(store .*; connections: 50, per client: no limit)$" "$WORK/serve-opt-limit.log" ||
  fail "--max-connections/--max-conns-per-client not in the listening line: $(cat "$WORK/serve-opt-limit.log")"
forget_pid "$LIMIT_PID"
kill -TERM "$LIMIT_PID"
wait "$LIMIT_PID" || fail "scepctl serve (option limits) did not exit 0"
# Unset, the per-client limit is an eighth of the connection limit, at least 32.
sed -i '/^max_connections\(_per_client\)\? *=/d; s/^\[server\]$/[server]\nmax_connections = 800/' "$STORE/scep.toml"
LIMIT_PORT=$(free_port)
start_bg "$WORK/serve-default-limit.log" "$SCEPCTL" --store "$STORE" serve --listen "127.0.0.1:$LIMIT_PORT"
LIMIT_PID=$BG_PID
wait_for_port "$LIMIT_PORT" "$LIMIT_PID"
grep -q "(store .*; connections: 800, per client: 100)$" "$WORK/serve-default-limit.log" ||
  fail "default per-client limit not 800/8: $(cat "$WORK/serve-default-limit.log")"
forget_pid "$LIMIT_PID"
kill -TERM "$LIMIT_PID"
wait "$LIMIT_PID" || fail "scepctl serve (default per-client limit) did not exit 0"
cp "$WORK/scep.toml.saved" "$STORE/scep.toml"

# SIGTERM: exit status 0 and a "stopped" line; the port is closed.
forget_pid "$SERVE_PID"
kill -TERM "$SERVE_PID"
rc=0
wait "$SERVE_PID" || rc=$?
[[ $rc == 0 ]] || fail "scepctl serve exited with status $rc after SIGTERM"
grep -q '^scepctl serve: stopped$' "$WORK/serve.log" || fail "no \"scepctl serve: stopped\" line after SIGTERM"
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then fail "port $PORT still open after the server stopped"; fi

# ---- --path /enroll, stopped with SIGINT
PORT=$(free_port)
start_bg "$WORK/serve2.log" "$SCEPCTL" --store "$STORE" serve --listen "127.0.0.1:$PORT" --path /enroll
SERVE_PID=$BG_PID
wait_for_port "$PORT" "$SERVE_PID"
grep -q "listening on http://127.0.0.1:$PORT/enroll" "$WORK/serve2.log" || fail "--path /enroll not in the listening line"
http GET "http://127.0.0.1:$PORT/enroll/beta/pkiclient.exe?operation=GetCACert"
expect_ra_p7 beta
http GET "http://127.0.0.1:$PORT/enroll?operation=GetCACert"
expect_ca_der alpha
http GET "http://127.0.0.1:$PORT/scep?operation=GetCACert"
expect_text_error 404

forget_pid "$SERVE_PID"
kill -INT "$SERVE_PID"
rc=0
wait "$SERVE_PID" || rc=$?
[[ $rc == 0 ]] || fail "scepctl serve exited with status $rc after SIGINT"
grep -q '^scepctl serve: stopped$' "$WORK/serve2.log" || fail "no \"scepctl serve: stopped\" line after SIGINT"

# ---- --io-timeout: a request that stops halfway (in its header or in its
# body) and a keep-alive connection that stays idle after its answer are
# closed once the timeout passes, not before, not much after.
PORT=$(free_port)
start_bg "$WORK/serve-timeout.log" "$SCEPCTL" --store "$STORE" serve --listen "127.0.0.1:$PORT" --io-timeout 1
SERVE_PID=$BG_PID
wait_for_port "$PORT" "$SERVE_PID"
"$PYTHON" - "$PORT" >"$WORK/timeout.out" 2>&1 <<'PY' || fail "--io-timeout checks failed: $(cat "$WORK/timeout.out")"
import socket, sys, time
port = int(sys.argv[1])

def closed_after(sock):
    # Seconds until the server closes (EOF or reset); None if it did not within 6 s.
    sock.settimeout(6)
    start = time.monotonic()
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass
    except socket.timeout:
        return None
    return time.monotonic() - start

def check(what, sock):
    t = closed_after(sock)
    sock.close()
    if t is None or not 0.7 <= t <= 4.0:
        sys.exit(f"{what}: closed after {t} s, want about 1 s")
    print(f"{what}: closed after {t:.2f} s")

s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"GET /scep?operation=GetCACaps HTTP/1.1\r\nHost: x\r\n")
check("header cut short", s)

s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"POST /scep?operation=PKIOperation HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
check("body cut short", s)

def caps(sock):
    sock.sendall(b"GET /scep?operation=GetCACaps HTTP/1.1\r\nHost: x\r\n\r\n")
    sock.settimeout(5)
    reply = b""
    while b"SCEPStandard" not in reply:
        part = sock.recv(4096)
        if not part:
            sys.exit(f"keep-alive: connection closed before the answer: {reply!r}")
        reply += part
    if not reply.startswith(b"HTTP/1.1 200"):
        sys.exit(f"keep-alive: {reply[:100]!r}")

# The clock starts again with each request: a second one 0.6 s after the
# first keeps the connection open for a full second after its own answer.
s = socket.create_connection(("127.0.0.1", port))
caps(s)
time.sleep(0.6)
caps(s)
check("idle keep-alive", s)
PY
forget_pid "$SERVE_PID"
kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID" 10 "after SIGTERM"
[[ $RC == 0 ]] || fail "scepctl serve --io-timeout 1 exited with status $RC after SIGTERM"
rc=0
timeout 10 "$SCEPCTL" --store "$STORE" serve --listen "127.0.0.1:$(free_port)" --io-timeout 0 >"$WORK/timeout0.out" 2>&1 ||
  rc=$?
[[ $rc == 2 ]] || fail "serve --io-timeout 0: exit status $rc, want 2: $(cat "$WORK/timeout0.out")"
log "--io-timeout 1: $(tr '\n' ';' <"$WORK/timeout.out")"

# ---- a store that does not exist: a clear error, no listening server
PORT=$(free_port)
rc=0
timeout 10 "$SCEPCTL" --store "$WORK/no-such-store" serve --listen "127.0.0.1:$PORT" >"$WORK/nostore.out" 2>&1 || rc=$?
[[ $rc != 124 ]] || fail "scepctl serve with a missing store kept running"
[[ $rc != 0 ]] || fail "scepctl serve with a missing store exited 0"
[[ -s $WORK/nostore.out ]] || fail "scepctl serve with a missing store printed no error"

# ---- SIGTERM while enrollments are in flight: the workers finish what they
# started, the server exits 0, nothing was answered 500, the store checks
# clean, and every certificate a client received is in the store.
"$SCEPCTL" --store "$STORE" policy create stopping --days 1 --eku clientAuth >/dev/null || fail "policy create"
SECRET=$("$SCEPCTL" --store "$STORE" secret create --ca alpha --policy stopping --uses 500 --expires 1d --json |
  "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["secret"])')
PORT=$(free_port)
start_bg "$WORK/serve3.log" "$SCEPCTL" --store "$STORE" serve --listen "127.0.0.1:$PORT"
SERVE_PID=$BG_PID
wait_for_port "$PORT" "$SERVE_PID"
stop_under_load "$SERVE_PID" "http://127.0.0.1:$PORT/scep" alpha "$SECRET" "$STORE" 4
! grep -q ' status=5[0-9][0-9] ' "$WORK/serve3.log" || fail "5xx answers while stopping: $(grep ' status=5[0-9][0-9] ' "$WORK/serve3.log" | head -3)"
! grep -q '^scepctl serve: .*\(failed\|error\)\| level=error ' "$WORK/serve3.log" ||
  fail "errors while stopping: $(grep '^scepctl serve: \| level=error ' "$WORK/serve3.log" | head -3)"
log "stopped under load after $STOP_GOT enrollments; store checks clean"

# ---- Enrollments wait on worker threads, never on the event loop. A lock
# over the whole of alpha's tx.lock (a POSIX lock: it conflicts with the
# store's per-transaction OFD locks) holds every PKCSReq in lock_transaction;
# with both workers stuck and a third request queued, GetCACaps and GetCACert
# must still be answered at once, and the held enrollments finish, each with
# its certificate, when the lock goes.
[[ -f $STORE/ca/alpha/tx.lock ]] || fail "no ca/alpha/tx.lock after enrollments"
# The lock holder starts first, so that on a failure it is stopped first.
start_bg "$WORK/locker.log" "$PYTHON" -c '
import fcntl, sys, time
f = open(sys.argv[1], "r+")
fcntl.lockf(f, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(120)' "$STORE/ca/alpha/tx.lock"
LOCKER_PID=$BG_PID
wait_for_log "$WORK/locker.log" '^locked$'
PORT=$(free_port)
start_bg "$WORK/serve4.log" "$SCEPCTL" --store "$STORE" serve --listen "127.0.0.1:$PORT" --workers 2
SERVE_PID=$BG_PID
wait_for_port "$PORT" "$SERVE_PID"
BASE="http://127.0.0.1:$PORT/scep"
held=()
for c in 0 1 2; do
  start_bg "$WORK/held-$c.log" "$PYTHON" "$HERE/scep_client.py" enroll --url "$BASE" --ca alpha \
    --key "$WORK/stop-keys/key.$c.pem" --cn "held-$c" --challenge "$SECRET" --timeout 60 --out "$WORK/held-$c.pem"
  held+=("$BG_PID")
done
# Both workers are stuck once two lock requests wait on tx.lock (the kernel
# lists them in /proc/locks as "->" lines on its inode).
inode=$(stat -c %i "$STORE/ca/alpha/tx.lock")
waiting=0
for ((i = 0; i < 300; i++)); do
  waiting=$(grep -c -- "-> .*:$inode " /proc/locks || true)
  [[ $waiting -ge 2 ]] && break
  sleep 0.1
done
[[ $waiting -ge 2 ]] || fail "the enrollments never waited on tx.lock (/proc/locks: $(grep -- ":$inode " /proc/locks))"
for q in "operation=GetCACaps&message=alpha" "operation=GetCACert&message=alpha" "operation=GetCACert&message=beta"; do
  code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "$BASE?$q") ||
    fail "GET $q got no answer within 5 s while every worker waited on an enrollment"
  [[ $code == 200 ]] || fail "GET $q answered $code while the workers were busy"
done
for c in 0 1 2; do
  kill -0 "${held[$c]}" 2>/dev/null || fail "enrollment held-$c ended while the store lock was held: $(cat "$WORK/held-$c.log")"
  [[ ! -e $WORK/held-$c.pem ]] || fail "enrollment held-$c got a certificate through the store lock"
done
forget_pid "$LOCKER_PID"
kill "$LOCKER_PID"
wait "$LOCKER_PID" 2>/dev/null || true
for c in 0 1 2; do
  forget_pid "${held[$c]}"
  wait_exit "${held[$c]}" 60 "after the store lock went"
  [[ $RC == 0 ]] || fail "enrollment held-$c failed after the lock went: $(cat "$WORK/held-$c.log")"
  [[ -s $WORK/held-$c.pem ]] || fail "enrollment held-$c has no certificate"
done
forget_pid "$SERVE_PID"
kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID" 10 "after SIGTERM"
[[ $RC == 0 ]] || fail "scepctl serve exited with status $RC after the held enrollments"
log "GETs answered while both workers waited on enrollments; the held enrollments then finished"
log "ok"
