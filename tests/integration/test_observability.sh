#!/bin/bash
# Request logs, health and Prometheus metrics (issue 17):
#   1. scepctl serve --metrics-listen: a scrape before and after micromdm
#      scepclient enrolls three times (issued; a wrong secret: FAILURE
#      badRequest; no secret: pending) and scep_client.py once with a
#      transactionID that tries to forge a log field; exact counter deltas,
#      the pending gauge, the CA's notAfter; the whole exposition parsed by
#      prometheus_client; the text log lines (every field, the FAILURE's
#      pkiStatus/failInfo, the escaped transactionID); health 200, 503 when
#      a CA key is gone, 200 again; on the SCEP path and the metrics listener.
#   2. --log-format json: every line is JSON with every field.
#   3. JOURNAL_STREAM naming stderr: "<N>" priorities instead of time stamps;
#      naming another file: time stamps.
#   4. scep.cgi under spawn-fcgi behind nginx: its request line on stderr,
#      server.metrics_path and /scep/health through the web server.
#   5. scep.cgi as a CGI program: health, no metrics, a JSON request line
#      only when SCEP_LOG_LEVEL=info asks for it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enroll_lib.sh"
require_cmd scepclient curl openssl nginx spawn-fcgi "$PYTHON"
"$PYTHON" -c 'import prometheus_client' 2>/dev/null || fail "needs python3-prometheus-client"

STORE="$WORK/store"
make_store "$STORE" # alpha: plain CA (the default); beta: CA with an RA
legacy_on alpha
scepctl policy create device --days 30 --eku clientAuth >/dev/null || fail "scepctl policy create"
C="$WORK/clients"

# scrape URL NAME — fetch a scrape, parse all of it with prometheus_client,
# write $WORK/NAME.samples: one "name{k="v",...} value" per sample, labels sorted.
scrape() {
  local url=$1 name=$2
  http GET "$url"
  expect_status 200
  [[ $(header Content-Type) == "text/plain; version=0.0.4; charset=utf-8" ]] ||
    fail "$LAST_REQUEST: Content-Type $(header Content-Type)"
  cp "$WORK/resp.body" "$WORK/$name.prom"
  "$PYTHON" - "$WORK/$name.prom" >"$WORK/$name.samples" <<'EOF' || fail "prometheus_client cannot parse $WORK/$name.prom"
import sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
families = list(text_string_to_metric_families(text))
assert families, "no metric families"
for f in families:
    assert f.documentation, "%s has no HELP" % f.name
    for s in f.samples:
        labels = ",".join('%s="%s"' % (k, v) for k, v in sorted(s.labels.items()))
        print("%s{%s} %r" % (s.name, labels, float(s.value)))
EOF
}

# value NAME SAMPLE — the value of SAMPLE ('name{k="v",...}', labels sorted)
# in scrape NAME, 0 when absent.
value() {
  awk -v s="$2" 'index($0, s " ") == 1 { v = $NF } END { printf "%d\n", v + 0 }' "$WORK/$1.samples"
}

# delta SAMPLE WANT — the change of SAMPLE from scrape "before" to "after".
delta() {
  local got=$(($(value after "$1") - $(value before "$1")))
  [[ $got == "$2" ]] || fail "$1 changed by $got, want $2"
}

# ------------------------------------------------------------ 1. serve, text
start_serve_metrics() {
  SERVE_PORT=$(free_port)
  METRICS_PORT=$(free_port)
  start_bg "$WORK/$1" "$SCEPCTL" --store "$STORE" serve --listen "127.0.0.1:$SERVE_PORT" \
    --metrics-listen "127.0.0.1:$METRICS_PORT" "${@:2}"
  SERVE_PID=$BG_PID
  wait_for_port "$SERVE_PORT" "$SERVE_PID"
  wait_for_port "$METRICS_PORT" "$SERVE_PID"
  SERVE_URL="http://127.0.0.1:$SERVE_PORT/scep"
  METRICS_URL="http://127.0.0.1:$METRICS_PORT"
}
start_serve_metrics serve.log
grep -q "metrics on http://127.0.0.1:$METRICS_PORT/metrics" "$WORK/serve.log" || fail "no metrics line at start"
# Not on the SCEP port.
http GET "$SERVE_URL/metrics"
expect_status 400

http GET "$SERVE_URL?operation=GetCACaps"
expect_status 200
scrape "$METRICS_URL/metrics" before

ok_secret=$(new_secret alpha device)
scepclient_run "$C/ok" "$SERVE_URL" "$ok_secret" obs-ok
expect_scepclient_ok "$C/ok"
scepclient_run "$C/wrong" "$SERVE_URL" "not-the-secret" obs-wrong
expect_scepclient_failinfo "$C/wrong" badRequest
# Manual: no secret; parked, then the client is stopped while it polls.
mkdir -p "$C/manual"
(cd "$C/manual" && exec timeout 60 scepclient -server-url "$SERVE_URL" -cn obs-manual -private-key key.pem \
  -certificate cert.pem >out 2>&1) &
manual_pid=$!
for _ in $(seq 1 200); do
  [[ $(scepctl pending --json | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)))') == 1 ]] && break
  sleep 0.1
done
kill "$manual_pid" 2>/dev/null || true
wait "$manual_pid" 2>/dev/null || true
[[ $(scepctl pending --json | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)))') == 1 ]] ||
  fail "the manual request is not pending"
# A transactionID that tries to forge fields of a text line.
evil_tid='evil" fail_info=none x=1'
rc=0
"$PYTHON" "$SCEP_SOURCE/tests/integration/scep_client.py" enroll --url "$SERVE_URL" --key "$WORK/evil.key" \
  --cn obs-evil --challenge wrong --transaction-id "$evil_tid" --cipher aes128 --timeout 0 \
  >"$WORK/evil.out" 2>&1 || rc=$?
[[ $rc == 2 ]] || fail "scep_client.py with a wrong secret exited $rc, want 2: $(tail -n 3 "$WORK/evil.out")"

scrape "$METRICS_URL/metrics" after
e='scep_enrollments_total{ca="alpha",'
delta "${e}message_type=\"PKCSReq\",outcome=\"issued\"}" 1
delta "${e}fail_info=\"badRequest\",message_type=\"PKCSReq\",outcome=\"failure\"}" 2
delta "${e}message_type=\"PKCSReq\",outcome=\"pending\"}" 1
[[ $(value after 'scep_pending_requests{ca="alpha"}') == 1 ]] || fail "scep_pending_requests{ca=alpha} is not 1"
[[ $(value after 'scep_pending_requests{ca="beta"}') == 0 ]] || fail "scep_pending_requests{ca=beta} is not 0"
grep -q '^scep_pending_requests{ca="beta"} ' "$WORK/after.samples" || fail "no pending gauge for beta"
grep -q '^scep_build_info{version="' "$WORK/after.samples" || fail "no scep_build_info"
# The counters agree with the log lines (the manual client's polls vary in number).
pki_lines=$(grep -c 'level=info .* operation=PKIOperation .*status=200 ' "$WORK/serve.log" || true)
delta 'scep_requests_total{operation="PKIOperation",status="200"}' "$pki_lines"
caps_after=$(grep -c 'level=info .* operation=GetCACaps .*status=200 ' "$WORK/serve.log" || true)
[[ $(value after 'scep_requests_total{operation="GetCACaps",status="200"}') == "$caps_after" ]] ||
  fail "GetCACaps counter $(value after 'scep_requests_total{operation="GetCACaps",status="200"}'), log lines $caps_after"
pki_count=$(value after 'scep_request_duration_seconds_count{class="pki"}')
[[ $(value after 'scep_request_duration_seconds_bucket{class="pki",le="+Inf"}') == "$pki_count" ]] ||
  fail "le=+Inf bucket is not the count"
[[ $pki_count -ge $pki_lines ]] || fail "pki duration count $pki_count < $pki_lines PKIOperation answers"

# The shipped alert rules are YAML whose expressions use only metrics we export.
"$PYTHON" - "$SCEP_SOURCE/share/prometheus/scep-alerts.yml" "$WORK/after.samples" <<'EOF' || fail "share/prometheus/scep-alerts.yml"
import re, sys, yaml
rules = [r for g in yaml.safe_load(open(sys.argv[1]))["groups"] for r in g["rules"]]
exported = {re.sub(r"(_bucket|_sum|_count)$", "", l.split("{")[0]) for l in open(sys.argv[2])}
assert len(rules) >= 2
for r in rules:
    assert r["alert"] and r["expr"] and r["annotations"]["summary"], r
    for name in re.findall(r"\bscep_[a-z_]+", r["expr"]):
        assert name in exported, "%s: %s is not exported" % (r["alert"], name)
EOF

# notAfter of each CA and RA certificate, as openssl reads it.
not_after() { date -u -d "$(openssl x509 -in "$1" -noout -enddate | sed 's/^notAfter=//')" +%s; }
[[ $(value after 'scep_certificate_not_after_seconds{ca="alpha",role="ca"}') == $(not_after "$STORE/ca/alpha/cert.pem") ]] ||
  fail "alpha notAfter gauge $(value after 'scep_certificate_not_after_seconds{ca="alpha",role="ca"}') is not the certificate's"
[[ $(value after 'scep_certificate_not_after_seconds{ca="beta",role="ra"}') == $(not_after "$STORE/ca/beta/ra.pem") ]] ||
  fail "beta RA notAfter gauge is not the certificate's"
grep -q 'scep_certificate_not_after_seconds{ca="alpha",role="ra"}' "$WORK/after.samples" && fail "alpha has no RA"

# The text lines: every field, in order; the FAILURE shows its outcome.
fields='^time=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z level=info remote=127\.0\.0\.1 method=[A-Z]+ target=[^ ]+ ca=[^ ]+ operation=[^ ]+ message_type=[^ ]+ status=[0-9]{3} pki_status=[^ ]+ fail_info=[^ ]+ transaction_id=.* duration_ms=[0-9]+\.[0-9]{3} bytes=[0-9]+$'
{ grep "^time=" "$WORK/serve.log" | grep -Ev "$fields" || true; } | head -3 >"$WORK/bad-lines"
[[ ! -s $WORK/bad-lines ]] || fail "log lines without every field: $(cat "$WORK/bad-lines")"
grep -Eq 'ca=alpha operation=PKIOperation message_type=PKCSReq status=200 pki_status=SUCCESS fail_info=- ' "$WORK/serve.log" ||
  fail "no SUCCESS line"
grep -Eq 'ca=alpha operation=PKIOperation message_type=PKCSReq status=200 pki_status=FAILURE fail_info=badRequest transaction_id=[^ ]+ duration_ms=' "$WORK/serve.log" ||
  fail "no FAILURE badRequest line for scepclient"
grep -Eq 'pki_status=PENDING fail_info=- ' "$WORK/serve.log" || fail "no PENDING line"
grep -Fq 'fail_info=badRequest transaction_id="evil\x22 fail_info=none x=1" duration_ms=' "$WORK/serve.log" ||
  fail "the forged transactionID is not escaped: $(grep -F evil "$WORK/serve.log" | head -2)"

# ------------------------------------------------------------ health
for url in "$SERVE_URL/health" "$METRICS_URL/health"; do
  http GET "$url"
  expect_response 200 text/plain
  [[ $(cat "$WORK/resp.body") == ok ]] || fail "$url: $(cat "$WORK/resp.body")"
done
mv "$STORE/ca/alpha/key.pem" "$WORK/alpha-key.pem"
for url in "$SERVE_URL/health" "$METRICS_URL/health"; do
  http GET "$url"
  expect_status 503
  [[ $(cat "$WORK/resp.body") == "CA alpha: its key does not load" ]] || fail "$url: $(cat "$WORK/resp.body")"
done
mv "$WORK/alpha-key.pem" "$STORE/ca/alpha/key.pem"
http GET "$SERVE_URL/health"
expect_status 200
grep -q 'ca=- operation=health message_type=- status=503 ' "$WORK/serve.log" || fail "no log line for the 503 health answer"
_stop_pid "$SERVE_PID"

# ------------------------------------------------------------ 2. JSON lines
start_serve_metrics serve-json.log --log-format json --log-level debug
http GET "$SERVE_URL?operation=GetCACert&message=nosuch"
expect_status 200
rc=0
"$PYTHON" "$SCEP_SOURCE/tests/integration/scep_client.py" enroll --url "$SERVE_URL" --key "$WORK/evil.key" \
  --cn obs-evil2 --challenge wrong --transaction-id "$evil_tid" --timeout 0 >"$WORK/evil2.out" 2>&1 || rc=$?
[[ $rc == 2 ]] || fail "scep_client.py (JSON run) exited $rc, want 2"
_stop_pid "$SERVE_PID"
"$PYTHON" - "$WORK/serve-json.log" "$evil_tid" <<'EOF' || fail "JSON log lines: see above"
import json, re, sys
keys = ["time", "level", "remote", "method", "target", "ca", "operation", "message_type", "status",
        "pki_status", "fail_info", "transaction_id", "duration_ms", "bytes"]
lines = [l for l in open(sys.argv[1]) if l.startswith("{")]
assert len(lines) >= 4, "too few JSON lines: %d" % len(lines)
failure = debug = 0
for l in lines:
    j = json.loads(l)
    missing = [k for k in keys if k not in j]
    assert not missing, "missing %s in %s" % (missing, l)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", j["time"]), j["time"]
    if j["pki_status"] == "FAILURE":
        assert j["fail_info"] == "badRequest" and j["transaction_id"] == sys.argv[2], l
        failure += 1
    if j["level"] == "debug":
        assert "names no CA" in j["msg"], l
        debug += 1
assert failure == 1, "FAILURE lines: %d" % failure
assert debug == 1, "debug lines: %d" % debug
EOF

# ------------------------------------------------------------ 3. journald
# JOURNAL_STREAM names stderr (this log file): priorities, no time stamps.
: >"$WORK/serve-journal.log"
journal=$(stat -c '%d:%i' "$WORK/serve-journal.log")
SERVE_PORT=$(free_port)
JOURNAL_STREAM=$journal start_bg "$WORK/serve-journal.log" "$SCEPCTL" --store "$STORE" serve \
  --listen "127.0.0.1:$SERVE_PORT"
SERVE_PID=$BG_PID
wait_for_port "$SERVE_PORT" "$SERVE_PID"
http GET "http://127.0.0.1:$SERVE_PORT/scep/nosuch?operation=GetCACert"
expect_status 404
wait_for_log "$WORK/serve-journal.log" '^<6>level=info remote=127\.0\.0\.1 method=GET .* status=404 '
grep -q '^time=' "$WORK/serve-journal.log" && fail "time stamps in lines for the journal"
_stop_pid "$SERVE_PID"
# Inherited but naming another file: stderr is not the journal.
SERVE_PORT=$(free_port)
JOURNAL_STREAM=$journal start_bg "$WORK/serve-notjournal.log" "$SCEPCTL" --store "$STORE" serve \
  --listen "127.0.0.1:$SERVE_PORT"
SERVE_PID=$BG_PID
wait_for_port "$SERVE_PORT" "$SERVE_PID"
http GET "http://127.0.0.1:$SERVE_PORT/scep?operation=GetCACaps"
wait_for_log "$WORK/serve-notjournal.log" '^time=.* level=info .* operation=GetCACaps '
grep -q '^<' "$WORK/serve-notjournal.log" && fail "priority prefixes though stderr is not JOURNAL_STREAM"
_stop_pid "$SERVE_PID"

# ------------------------------------------------------------ 4. FastCGI
sed -i 's|^\[server\]$|[server]\nmetrics_path = "/metrics"|' "$STORE/scep.toml"
grep -q '^metrics_path = "/metrics"$' "$STORE/scep.toml" || fail "could not set server.metrics_path"
SOCK="$WORK/scep.sock"
start_bg "$WORK/spawn-fcgi.log" env SCEP_STORE="$STORE" SCEP_FASTCGI_THREADS=2 spawn-fcgi -n -s "$SOCK" -M 0600 -- \
  "$SCEP_CGI_BIN"
FCGI_PID=$BG_PID
for _ in $(seq 1 100); do [[ -S $SOCK ]] && break; sleep 0.1; done
[[ -S $SOCK ]] || fail "spawn-fcgi made no socket"
start_nginx_fastcgi "$SOCK"
BASE="http://127.0.0.1:$NGINX_PORT/scep"
http GET "$BASE/alpha?operation=GetCACert"
expect_status 200
scepclient_run "$C/fcgi-wrong" "$BASE" "not-the-secret" obs-fcgi-wrong
expect_scepclient_failinfo "$C/fcgi-wrong" badRequest
wait_for_log "$WORK/spawn-fcgi.log" '^time=[^ ]+Z level=info remote=127\.0\.0\.1 method=GET target="/scep/alpha\?operation=GetCACert" ca=alpha operation=GetCACert .* status=200 '
wait_for_log "$WORK/spawn-fcgi.log" 'operation=PKIOperation message_type=PKCSReq status=200 pki_status=FAILURE fail_info=badRequest '
http GET "$BASE/health"
expect_response 200 text/plain
scrape "$BASE/metrics" fcgi
[[ $(value fcgi 'scep_requests_total{operation="GetCACert",status="200"}') -ge 2 ]] || fail "FastCGI GetCACert counter"
[[ $(value fcgi 'scep_enrollments_total{ca="alpha",fail_info="badRequest",message_type="PKCSReq",outcome="failure"}') == 1 ]] ||
  fail "FastCGI enrollment counter"
[[ $(value fcgi 'scep_requests_total{operation="health",status="200"}') == 1 ]] || fail "FastCGI health counter"
[[ $(value fcgi 'scep_pending_requests{ca="alpha"}') == 1 ]] || fail "FastCGI pending gauge"

# ------------------------------------------------------------ 5. CGI
# One process per request: health works, metrics_path is 404, the request
# line only with SCEP_LOG_LEVEL=info (errors always).
cgi() { env -i SCEP_STORE="$STORE" REQUEST_METHOD=GET SCRIPT_NAME=/scep REMOTE_ADDR=192.0.2.9 "$@" "$SCEP_CGI_BIN"; }
cgi PATH_INFO=/health >"$WORK/cgi-health.out" 2>"$WORK/cgi-health.err"
grep -q '^Status: 200 OK' "$WORK/cgi-health.out" || fail "CGI /health: $(head -1 "$WORK/cgi-health.out")"
[[ ! -s $WORK/cgi-health.err ]] || fail "CGI logs at the default level: $(cat "$WORK/cgi-health.err")"
cgi PATH_INFO=/metrics >"$WORK/cgi-metrics.out" 2>/dev/null
grep -q '^Status: 404 ' "$WORK/cgi-metrics.out" || fail "CGI metrics_path: $(head -1 "$WORK/cgi-metrics.out")"
cgi PATH_INFO=/alpha QUERY_STRING=operation=GetCACert SCEP_LOG_LEVEL=info SCEP_LOG_FORMAT=json \
  >/dev/null 2>"$WORK/cgi-info.err"
"$PYTHON" -c '
import json, sys
j = json.loads(open(sys.argv[1]).read())
assert j["level"] == "info" and j["remote"] == "192.0.2.9" and j["ca"] == "alpha", j
assert j["target"] == "/scep/alpha?operation=GetCACert" and j["status"] == 200, j' "$WORK/cgi-info.err" ||
  fail "CGI request line: $(cat "$WORK/cgi-info.err")"
log "ok"
