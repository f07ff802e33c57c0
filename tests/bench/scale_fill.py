#!/usr/bin/python3
"""Fills a store for tests/bench/scale.sh, writing the files as the server
would (the format of lib/store/records.cpp and certs.cpp).

  scale_fill.py pending STORE CA N   N pending requests (real PKCS#10s)
  scale_fill.py certs STORE CA N     N certificates (copies of the CA
                                     certificate under random serials) and
                                     N transaction records
  scale_fill.py revoked STORE CA N   N certificates as above, each revoked
                                     (revoked/SERIAL.json, no CRL signed)
"""
import base64
import hashlib
import json
import os
import secrets
import sys
import time


def pending(store, ca, n):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    d = os.path.join(store, "ca", ca, "pending")
    os.makedirs(d, exist_ok=True)
    now = int(time.time())
    for i in range(n):
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"dev-{i}")])
        der = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256()).public_bytes(
            serialization.Encoding.DER)
        rec = {"format": 1, "ca": ca, "transaction_id": f"tid-{i}", "remote": "192.0.2.1",
               "csr": base64.b64encode(der).decode(), "created": now, "subject": f"CN=dev-{i}", "key": "RSA 2048"}
        with open(os.path.join(d, hashlib.sha256(der).hexdigest() + ".json"), "w") as f:
            f.write(json.dumps(rec) + "\n")


def certs(store, ca, n):
    base = os.path.join(store, "ca", ca)
    os.makedirs(os.path.join(base, "certs"), exist_ok=True)
    os.makedirs(os.path.join(base, "tx"), exist_ok=True)
    pem = open(os.path.join(base, "cert.pem")).read()
    now = int(time.time())
    for _ in range(n):
        serial = secrets.token_hex(16).upper()
        with open(os.path.join(base, "certs", serial + ".pem"), "w") as f:
            f.write("Policy: dev\n" + pem)
        tid = secrets.token_hex(16)
        rec = {"format": 1, "ca": ca, "transaction_id": tid, "state": "issued", "key_id": secrets.token_hex(32),
               "serial": serial, "policy": "dev", "created": now}
        with open(os.path.join(base, "tx", hashlib.sha256(tid.encode()).hexdigest() + ".json"), "w") as f:
            f.write(json.dumps(rec) + "\n")


def revoked(store, ca, n):
    base = os.path.join(store, "ca", ca)
    for d in ("certs", "revoked"):
        os.makedirs(os.path.join(base, d), exist_ok=True)
    pem = open(os.path.join(base, "cert.pem")).read()
    now = int(time.time())
    for _ in range(n):
        serial = "4" + secrets.token_hex(16).upper()[1:]  # as a certificate serial prints: 16 bytes, positive
        with open(os.path.join(base, "certs", serial + ".pem"), "w") as f:
            f.write("Policy: dev\n" + pem)
        event = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)), "unix_time": now, "ca": ca,
                 "operation": "revoke", "outcome": "revoked", "serial": serial}
        rec = {"format": 1, "serial": serial, "time": now, "reason": "keyCompromise", "event": event}
        with open(os.path.join(base, "revoked", serial + ".json"), "w") as f:
            f.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    {"pending": pending, "certs": certs, "revoked": revoked}[sys.argv[1]](sys.argv[2], sys.argv[3], int(sys.argv[4]))
