#!/bin/bash
# certmonger's SCEP helper, /usr/lib/certmonger/scep-submit, against
# `scepctl serve`: GetCACaps (-c) and GetCACert (-C) for a plain CA and a CA
# with an RA, named by -i (message=) and by the URL path.
#
# What scep-submit (certmonger 0.79) sends and expects:
# - GET URL?operation=GetCACaps&message=ID and GET URL?operation=GetCACert&
#   message=ID, where ID is -i (or $CERTMONGER_SCEP_CA_IDENTIFIER, which the
#   daemon sets from `getcert add-scep-ca -i`), and "0" when not given.
# - With ID "0" and an x509-ca-cert answer it walks message=1,2,... (a Dogtag
#   convention) until an answer is not 200 x509-ca-cert, is empty, or repeats.
# - Any status but 200 means failure: exit 2 ("rejected"), 3 for a 500.
# - GetCACert must be application/x-x509-ca-cert or -ca-ra-cert (compared
#   with strcasecmp); it prints the encryption (RA) certificate, then the CA
#   certificate, as PEM.
# - GetCACaps: an empty 200 body counts as "no response" (exit 2), although
#   RFC 8894 says an empty list means "no capabilities".
set -euo pipefail
. "$(dirname "$0")/lib.sh"
SUBMIT=/usr/lib/certmonger/scep-submit
require_cmd "$SUBMIT" curl openssl "$PYTHON"

STORE="$WORK/store"
make_store "$STORE"
E="$WORK/expect"

PORT=$(free_port)
start_bg "$WORK/serve.log" "$SCEPCTL" --store "$STORE" serve --listen "127.0.0.1:$PORT"
wait_for_port "$PORT" "$BG_PID"
BASE="http://127.0.0.1:$PORT/scep"

# submit NAME ARGS... — run scep-submit; output in $WORK/NAME.out, status in $RC.
submit() {
  local name=$1
  shift
  RC=0
  timeout 30 "$SUBMIT" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || RC=$?
  [[ $RC != 124 ]] || fail "scep-submit $* timed out"
}

# expect_certs NAME EXPECTED-PEM — scep-submit succeeded and printed exactly
# the certificates of EXPECTED-PEM (as `scepctl export` writes them), in order.
expect_certs() {
  local name=$1 want=$2 n m i
  [[ $RC == 0 ]] || fail "scep-submit ($name) exited $RC: $(cat "$WORK/$name.out" "$WORK/$name.err")"
  n=$(split_pem "$WORK/$name.out" "$WORK/$name.got")
  m=$(split_pem "$want" "$WORK/$name.want")
  [[ $n == "$m" ]] || fail "scep-submit ($name) printed $n certificates, want $m"
  for ((i = 0; i < n; i++)); do
    [[ $(fp_pem "$WORK/$name.got.$i.pem") == "$(fp_pem "$WORK/$name.want.$i.pem")" ]] ||
      fail "scep-submit ($name) certificate $i is $(openssl x509 -in "$WORK/$name.got.$i.pem" -noout -subject)," \
        "want $(openssl x509 -in "$WORK/$name.want.$i.pem" -noout -subject)"
  done
  cmp -s "$WORK/$name.out" "$want" || fail "scep-submit ($name) output is not byte-identical to the scepctl export PEM"
}

# ---- GetCACert, CA chosen by -i (message=NAME)
submit alpha -u "$BASE" -C -i alpha
expect_certs alpha "$E/alpha.pem"
submit beta -u "$BASE" -C -i beta
expect_certs beta "$E/beta-ra-chain.pem"
[[ $(fp_pem "$WORK/beta.got.0.pem") == "$(cat "$E/beta-ra.sha256")" ]] || fail "scep-submit did not print the RA first"

# ---- the same, as the certmonger daemon runs the helper (environment)
RC=0
CERTMONGER_OPERATION=FETCH-SCEP-CA-CERTS CERTMONGER_SCEP_CA_IDENTIFIER=beta \
  timeout 30 "$SUBMIT" -u "$BASE" >"$WORK/daemon.out" 2>"$WORK/daemon.err" || RC=$?
expect_certs daemon "$E/beta-ra-chain.pem"

# ---- CA chosen by the URL path; scep-submit then sends message=0, which the
# path overrides (and for alpha walks message=1, answered with the same cert).
submit path-beta -u "$BASE/beta/pkiclient.exe" -C
expect_certs path-beta "$E/beta-ra-chain.pem"
submit path-alpha -u "$BASE/alpha" -C
expect_certs path-alpha "$E/alpha.pem"

# ---- GetCACaps
for ca in alpha beta; do
  curl -sS -o "$WORK/caps-$ca.body" "$BASE?operation=GetCACaps&message=$ca"
  submit "caps-$ca" -u "$BASE" -c -i "$ca"
  if [[ -s $WORK/caps-$ca.body ]]; then
    [[ $RC == 0 ]] || fail "scep-submit -c -i $ca exited $RC: $(cat "$WORK/caps-$ca.out")"
    # It prints the list followed by a newline.
    printf '\n' >>"$WORK/caps-$ca.body"
    cmp -s "$WORK/caps-$ca.out" "$WORK/caps-$ca.body" || fail "scep-submit -c -i $ca printed something else than GetCACaps returns"
  else
    if [[ $RC != 2 ]] || ! grep -q 'Internal error: no response' "$WORK/caps-$ca.out"; then
      fail "scep-submit -c -i $ca with an empty capability list: exit $RC, $(cat "$WORK/caps-$ca.out")"
    fi
    note "GetCACaps for $ca is empty, so scep-submit -c exits 2 (\"Internal error: no response\"); it needs at least one keyword"
  fi
done

# ---- no -i and no CA in the path: scep-submit sends message=0, which names
# no CA, and gets the default CA (alpha) -- certmonger's defaults just work.
submit bare -u "$BASE" -C
[[ $RC == 0 ]] || fail "scep-submit -C without -i: exit $RC, $(cat "$WORK/bare.out")"
expect_certs bare "$E/alpha.pem"
grep -q 'method=GET target="/scep?operation=GetCACert&message=0"' "$WORK/serve.log" ||
  fail "scep-submit without -i no longer sends message=0; the notes at the top of this test are out of date"
submit bare-caps -u "$BASE" -c
[[ $RC == 0 ]] || fail "scep-submit -c without -i: exit $RC, $(cat "$WORK/bare-caps.out")"
curl -sS -o "$WORK/caps-default.body" "$BASE?operation=GetCACaps"
printf '\n' >>"$WORK/caps-default.body"
cmp -s "$WORK/bare-caps.out" "$WORK/caps-default.body" || fail "scep-submit -c without -i printed something else than the default CA's GetCACaps"

log "ok"
