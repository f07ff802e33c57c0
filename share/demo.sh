#!/bin/sh
# make -f Makefile.dist demo: a store with a CA "demo" and a policy "device",
# two one-time secrets with the commands that use them, then scepctl serve.
# Environment: SCEPCTL (the binary), DEMO_STORE (directory), DEMO_LISTEN
# (HOST:PORT, default 127.0.0.1:8080).
set -eu
: "${SCEPCTL:?}" "${DEMO_STORE:=demo-store}" "${DEMO_LISTEN:=127.0.0.1:8080}"
ctl() { "$SCEPCTL" --store "$DEMO_STORE" "$@"; }

if ! [ -f "$DEMO_STORE/FORMAT" ] || ! [ -d "$DEMO_STORE/ca/demo" ]; then
  ctl ca create demo --subject "CN=scep demo CA" >/dev/null
  # micromdm's scepclient always encrypts with DES and signs with SHA-1 or
  # MD5: the demo CA accepts that so that its example works as printed. A
  # production CA should not (scepctl ca set NAME --legacy-algorithms off).
  ctl ca set demo --legacy-algorithms on >/dev/null
fi
[ -f "$DEMO_STORE/policies/device.toml" ] ||
  ctl policy create device --days 365 --eku clientAuth >/dev/null
store=$(cd "$DEMO_STORE" && pwd)
ctl export demo >"$store/demo-ca.pem"

host=${DEMO_LISTEN%:*}
port=${DEMO_LISTEN##*:}
case $host in
  0.0.0.0 | "" | "[::]") host=$(hostname -f 2>/dev/null || hostname) ;;
esac
url="http://$host:$port/scep"
secret() { ctl secret create --ca demo --policy device --expires 1d | awk '$1 == "secret:" { print $2 }'; }

ctl ca show demo
cat <<EOF

Enrollment URL: $url  (CA "demo", the default: /scep/demo works as well)
CA certificate: $store/demo-ca.pem
The demo CA accepts DES and MD5 (legacy_algorithms) for scepclient's sake.

micromdm's scepclient (Debian package scep) keeps csr.pem beside its key,
so give each device its own directory:
  mkdir -p dev1 && cd dev1 && scepclient -server-url $url \\
      -challenge $(secret) -private-key dev1.key -certificate dev1.pem -cn dev1

certmonger (as root; getcert add-scep-ca once per CA):
  getcert add-scep-ca -c scep-demo -u $url -N $store/demo-ca.pem
  getcert request -c scep-demo -k /etc/ssl/private/demo-host.key \\
      -f /etc/ssl/certs/demo-host.pem -N CN=demo-host -L $(secret)

Each secret is good for one enrollment within a day; more with
  $SCEPCTL --store $store secret create --ca demo --policy device
Without a secret the request waits: $SCEPCTL --store $store pending / approve.

EOF
exec "$SCEPCTL" --store "$DEMO_STORE" serve --listen "$DEMO_LISTEN"
