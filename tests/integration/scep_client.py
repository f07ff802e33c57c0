#!/usr/bin/python3
"""A small SCEP (RFC 8894) client for the integration tests, independent of
the server's C++ message code: every CMS structure it sends or reads is
encoded and decoded here, by hand, in DER. The `cryptography` package
(Debian: python3-cryptography) does only the primitives: RSA key generation,
PKCS#1 v1.5 signatures and key transport, AES/3DES-CBC, and reading the
extensions of the CA certificates. Standard library otherwise.

What it sends
  GetCACaps and GetCACert (GET), then PKIOperation, by POST (default) or by
  GET with the base64 message in message= (--get). A PKIOperation is a CMS
  SignedData (SHA-256, rsaEncryption; digestAlgorithm and signature over the
  DER SET of signed attributes: contentType, messageDigest, messageType,
  transactionID (PrintableString), senderNonce (16 random bytes); with
  --pss the signature is RSASSA-PSS instead: SHA-256, MGF1-SHA-256, a 32-byte
  salt, signatureAlgorithm rsassaPss with these parameters) whose
  eContent is a CMS EnvelopedData (version 0, one KeyTransRecipientInfo by
  issuerAndSerialNumber, rsaEncryption PKCS#1 v1.5 key transport, AES-128-CBC
  by default) to the RA certificate if GetCACert returned one, else to the
  CA certificate. The signer is a self-signed certificate of the request's
  key (CN of the request, 1 day, random serial), included in the SignedData.
    PKCSReq (19)  the PKCS#10: subject CN=..., the key's SPKI,
                  challengePassword (PrintableString) when given, signed
                  sha256WithRSAEncryption (--pss: RSASSA-PSS as above);
                  or, with --csr, the PKCS#10 of that file as it is.
    CertPoll (20) IssuerAndSubject (the CA's subject, the request's subject),
                  with the transactionID of the PKCSReq.
  Replies are checked: a SignedData signed (signature verified over the
  signed attributes, messageDigest checked) by a certificate GetCACert
  returned, messageType 3, the transactionID sent, recipientNonce = the
  senderNonce sent; a SUCCESS carries an EnvelopedData to the signer
  certificate, decrypted here, holding a degenerate SignedData whose
  certificates include one with the request's public key.

Command line
  scep_client.py enroll --url URL [--ca NAME] --key KEY.pem --cn CN
                        [--challenge SECRET] [--out CERT.pem] [--get]
                        [--cipher aes128|aes192|aes256|des3] [--poll SECONDS]
                        [--timeout SECONDS] [--transaction-id ID]
                        [--csr CSR.pem|CSR.der] [--pss]
      URL is the endpoint (http://HOST:PORT/scep); --ca puts NAME in the
      path (URL/NAME) and in message= of GetCACert. KEY.pem is an RSA key
      (PEM, any form; created, 2048 bits, when the file does not exist).
      PENDING is polled with CertPoll every --poll seconds (default 1) until
      --timeout (default 60). Exit 0 with the certificate in --out (PEM,
      default: stdout); 2 on FAILURE (failInfo and failInfoText on stderr);
      3 when still PENDING at the timeout; 1 on any other error. --csr
      sends that PKCS#10 (made by `openssl req`, say) instead of one made
      here; KEY.pem must hold its key (it signs the message).
  scep_client.py genkeys DIR COUNT [BITS]
      COUNT RSA keys (default 2048 bits) as DIR/key.N.pem (PKCS#1 "RSA
      PRIVATE KEY", which micromdm's scepclient also reads), N from 0, a
      process per core.

As a library (tests/integration/scep_load.py): Endpoint, Identity,
Endpoint.pki_operation(), pkcs_req(), cert_poll(), Reply.
"""

import base64
import hashlib
import http.client
import os
import secrets
import sys
import time
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding as sympad, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# ---------------------------------------------------------------- DER


def _length(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag, content):
    return bytes([tag]) + _length(len(content)) + content


def seq(*items):
    return tlv(0x30, b"".join(items))


def set_of(*items):
    # DER: the encodings of a SET OF in ascending order.
    return tlv(0x31, b"".join(sorted(items)))


def ctx(n, content, constructed=True):
    return tlv((0xA0 if constructed else 0x80) | n, content)


def integer(v):
    return tlv(0x02, v.to_bytes(v.bit_length() // 8 + 1, "big", signed=True))


def octets(b):
    return tlv(0x04, b)


def printable(s):
    return tlv(0x13, s.encode("ascii"))


def utf8(s):
    return tlv(0x0C, s.encode("utf-8"))


NULL = b"\x05\x00"


def oid(dotted):
    parts = [int(p) for p in dotted.split(".")]
    body = bytes([40 * parts[0] + parts[1]])
    for p in parts[2:]:
        enc = [p & 0x7F]
        p >>= 7
        while p:
            enc.append(0x80 | (p & 0x7F))
            p >>= 7
        body += bytes(reversed(enc))
    return tlv(0x06, body)


def oid_text(content):
    first = content[0]
    parts = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    v = 0
    for b in content[1:]:
        v = (v << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(v)
            v = 0
    return ".".join(map(str, parts))


class Der:
    """One element: tag, content bytes, the whole encoding."""

    __slots__ = ("tag", "content", "raw")

    def __init__(self, data, pos=0):
        tag = data[pos]
        if tag & 0x1F == 0x1F:
            raise ValueError("multi-byte tags are not used here")
        n = data[pos + 1]
        hdr = 2
        if n == 0x80:
            raise ValueError("indefinite length in a DER reply")
        if n & 0x80:
            k = n & 0x7F
            n = int.from_bytes(data[pos + 2:pos + 2 + k], "big")
            hdr += k
        end = pos + hdr + n
        if end > len(data):
            raise ValueError("truncated DER")
        self.tag = tag
        self.content = data[pos + hdr:end]
        self.raw = data[pos:end]

    def children(self):
        out, pos = [], 0
        while pos < len(self.content):
            d = Der(self.content, pos)
            out.append(d)
            pos += len(d.raw)
        return out


def der(data):
    d = Der(data)
    if len(d.raw) != len(data):
        raise ValueError("trailing bytes after DER")
    return d


# ---------------------------------------------------------------- OIDs

ID_DATA = "1.2.840.113549.1.7.1"
ID_SIGNED = "1.2.840.113549.1.7.2"
ID_ENVELOPED = "1.2.840.113549.1.7.3"
RSA_ENC = "1.2.840.113549.1.1.1"
SHA256_RSA = "1.2.840.113549.1.1.11"
SHA256 = "2.16.840.1.101.3.4.2.1"
RSASSA_PSS = "1.2.840.113549.1.1.10"
MGF1 = "1.2.840.113549.1.1.8"
CONTENT_TYPE = "1.2.840.113549.1.9.3"
MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
CHALLENGE_PASSWORD = "1.2.840.113549.1.9.7"
CN = "2.5.4.3"
MESSAGE_TYPE = "2.16.840.1.113733.1.9.2"
PKI_STATUS = "2.16.840.1.113733.1.9.3"
FAIL_INFO = "2.16.840.1.113733.1.9.4"
SENDER_NONCE = "2.16.840.1.113733.1.9.5"
RECIPIENT_NONCE = "2.16.840.1.113733.1.9.6"
TRANSACTION_ID = "2.16.840.1.113733.1.9.7"
FAIL_INFO_TEXT = "1.3.6.1.5.5.7.24.1"
CIPHERS = {  # name: (OID, key bytes, block bytes, cryptography algorithm)
    "aes128": ("2.16.840.1.101.3.4.1.2", 16, 16, algorithms.AES),
    "aes192": ("2.16.840.1.101.3.4.1.22", 24, 16, algorithms.AES),
    "aes256": ("2.16.840.1.101.3.4.1.42", 32, 16, algorithms.AES),
    "des3": ("1.2.840.113549.3.7", 24, 8, algorithms.TripleDES),
}
DIGESTS = {SHA256: hashes.SHA256, "1.3.14.3.2.26": hashes.SHA1, "2.16.840.1.101.3.4.2.3": hashes.SHA512,
           "2.16.840.1.101.3.4.2.2": hashes.SHA384}
MESSAGE_TYPES = {"PKCSReq": 19, "CertPoll": 20, "RenewalReq": 17}
PKI_STATUSES = {"0": "SUCCESS", "2": "FAILURE", "3": "PENDING"}
FAIL_INFOS = {"0": "badAlg", "1": "badMessageCheck", "2": "badRequest", "3": "badTime", "4": "badCertId"}


def name_cn(cn):
    return seq(set_of(seq(oid(CN), utf8(cn))))


def algid(o, params=NULL):
    return seq(oid(o), params) if params is not None else seq(oid(o))


# RSASSA-PSS-params (RFC 4055): SHA-256, MGF1 with SHA-256, saltLength 32,
# trailerField left at its default.
PSS_SHA256_PARAMS = seq(ctx(0, algid(SHA256)), ctx(1, algid(MGF1, algid(SHA256))), ctx(2, integer(32)))


def sig_algid(pss, pkcs1_oid):
    """The signatureAlgorithm: rsassaPss with its parameters, or PKCS1_OID."""
    return algid(RSASSA_PSS, PSS_SHA256_PARAMS) if pss else algid(pkcs1_oid)


# ---------------------------------------------------------------- certificates


class Cert:
    """The parts of a certificate (DER) the protocol needs, as raw DER."""

    def __init__(self, data):
        self.der = bytes(data)
        tbs = der(self.der).children()[0].children()
        i = 1 if tbs[0].tag == 0xA0 else 0
        self.serial = tbs[i].raw
        self.issuer = tbs[i + 2].raw
        self.subject = tbs[i + 4].raw
        self.spki = tbs[i + 5].raw
        self.x509 = x509.load_der_x509_certificate(self.der)

    def issuer_and_serial(self):
        return seq(self.issuer, self.serial)

    def is_ca(self):
        try:
            return self.x509.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            return False

    def sha256(self):
        return hashlib.sha256(self.der).hexdigest()

    def serial_hex(self):
        """Upper-case hex, even length, as the store names its files."""
        h = "%X" % self.x509.serial_number
        return h if len(h) % 2 == 0 else "0" + h

    def pem(self):
        return self.x509.public_bytes(serialization.Encoding.PEM).decode()


def spki_of(key):
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def sign(key, data, pss=False):
    if pss:
        return key.sign(data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _utc(t):
    return tlv(0x17, time.strftime("%y%m%d%H%M%SZ", time.gmtime(t)).encode())


def self_signed(key, cn):
    """A self-signed v3 certificate (no extensions) of KEY for CN, as DER."""
    now = int(time.time())
    name = name_cn(cn)
    tbs = seq(ctx(0, integer(2)), integer(int.from_bytes(os.urandom(15), "big") | 1 << 119),
              algid(SHA256_RSA), name, seq(_utc(now - 300), _utc(now + 86400)), name, spki_of(key))
    return seq(tbs, algid(SHA256_RSA), tlv(0x03, b"\x00" + sign(key, tbs)))


def make_csr(key, cn, challenge=None, pss=False):
    """PKCS#10 for CN=cn with KEY; challengePassword when given. DER."""
    attrs = b""
    if challenge is not None:
        attrs = seq(oid(CHALLENGE_PASSWORD), set_of(printable(challenge)))
    info = seq(integer(0), name_cn(cn), spki_of(key), ctx(0, attrs))
    return seq(info, sig_algid(pss, SHA256_RSA), tlv(0x03, b"\x00" + sign(key, info, pss)))


# ---------------------------------------------------------------- CMS


def envelope(content, recipient, cipher="aes128"):
    """ContentInfo(EnvelopedData) of CONTENT to RECIPIENT (a Cert)."""
    c_oid, klen, block, alg = CIPHERS[cipher]
    cek, iv = os.urandom(klen), os.urandom(block)
    padder = sympad.PKCS7(block * 8).padder()
    padded = padder.update(content) + padder.finalize()
    enc = Cipher(alg(cek), modes.CBC(iv)).encryptor()
    encrypted = enc.update(padded) + enc.finalize()
    ek = recipient.x509.public_key().encrypt(cek, padding.PKCS1v15())
    ktri = seq(integer(0), recipient.issuer_and_serial(), algid(RSA_ENC), octets(ek))
    eci = seq(oid(ID_DATA), seq(oid(c_oid), octets(iv)), ctx(0, encrypted, constructed=False))
    return seq(oid(ID_ENVELOPED), ctx(0, seq(integer(0), set_of(ktri), eci)))


def open_envelope(data, recipient, key):
    """The plaintext of ContentInfo(EnvelopedData) DATA for RECIPIENT/KEY."""
    ci = der(data).children()
    if oid_text(ci[0].content) != ID_ENVELOPED:
        raise ValueError("not an EnvelopedData")
    ed = ci[1].children()[0].children()
    i = 2 if ed[1].tag == 0xA0 else 1  # originatorInfo
    want = recipient.issuer_and_serial()
    ek = None
    for ri in ed[i].children():
        f = ri.children()
        if ri.tag == 0x30 and f[1].raw == want:
            if oid_text(f[2].children()[0].content) != RSA_ENC:
                raise ValueError("key transport is not rsaEncryption")
            ek = f[3].content
    if ek is None:
        raise ValueError("the reply is not encrypted to the signer certificate")
    cek = key.decrypt(ek, padding.PKCS1v15())
    eci = ed[i + 1].children()
    alg = eci[1].children()
    name = next((n for n, v in CIPHERS.items() if v[0] == oid_text(alg[0].content)), None)
    if name is None:
        raise ValueError("unknown content cipher " + oid_text(alg[0].content))
    _, klen, block, algo = CIPHERS[name]
    enc = eci[2].content if eci[2].tag == 0x80 else b"".join(c.content for c in eci[2].children())
    dec = Cipher(algo(cek), modes.CBC(alg[1].content)).decryptor()
    unpadder = sympad.PKCS7(block * 8).unpadder()
    return unpadder.update(dec.update(enc) + dec.finalize()) + unpadder.finalize()


def signed_attr(o, value):
    return seq(oid(o), set_of(value))


def signed_data(content, signer, key, attrs, pss=False):
    """ContentInfo(SignedData) with eContent CONTENT (id-data), signed by
    SIGNER (a Cert) and KEY with the SCEP attributes ATTRS (DER Attributes);
    PSS: RSASSA-PSS, else PKCS#1 v1.5."""
    all_attrs = [signed_attr(CONTENT_TYPE, oid(ID_DATA)),
                 signed_attr(MESSAGE_DIGEST, octets(hashlib.sha256(content).digest()))] + attrs
    body = b"".join(sorted(all_attrs))
    signature = sign(key, tlv(0x31, body), pss)
    si = seq(integer(1), signer.issuer_and_serial(), algid(SHA256, None), ctx(0, body), sig_algid(pss, RSA_ENC),
             octets(signature))
    sd = seq(integer(1), set_of(algid(SHA256, None)), seq(oid(ID_DATA), ctx(0, octets(content))),
             ctx(0, signer.der), set_of(si))
    return seq(oid(ID_SIGNED), ctx(0, sd))


def degenerate_certs(data):
    """The certificates (DER) of a certs-only ContentInfo(SignedData)."""
    ci = der(data).children()
    if oid_text(ci[0].content) != ID_SIGNED:
        raise ValueError("not a SignedData")
    for f in ci[1].children()[0].children():
        if f.tag == 0xA0:
            return [c.raw for c in f.children()]
    return []


class Reply:
    """A verified CertRep."""

    def __init__(self, status, fail_info=None, fail_text=None, certs=(), der=b""):
        self.status, self.fail_info, self.fail_text, self.certs, self.der = status, fail_info, fail_text, list(certs), der

    def __repr__(self):
        return "Reply(%s %s %s)" % (self.status, self.fail_info or "", self.fail_text or "")


def read_cert_rep(data, trusted, tid, nonce, identity):
    """Check and read the CertRep DATA: signed by one of TRUSTED (Certs),
    answering transactionID TID and senderNonce NONCE; decrypt a SUCCESS
    with IDENTITY's certificate and key."""
    ci = der(data).children()
    if oid_text(ci[0].content) != ID_SIGNED:
        raise ValueError("the reply is not a SignedData")
    fields = ci[1].children()[0].children()
    econtent = b""
    ec = fields[2].children()
    if oid_text(ec[0].content) != ID_DATA:
        raise ValueError("the reply's content is not id-data")
    if len(ec) > 1:
        inner = ec[1].children()[0]
        econtent = inner.content if inner.tag == 0x04 else b"".join(c.content for c in inner.children())
    certs = [Cert(c.raw) for f in fields if f.tag == 0xA0 for c in f.children()]
    sis = fields[-1].children()
    if fields[-1].tag != 0x31 or len(sis) != 1:
        raise ValueError("the reply does not have exactly one SignerInfo")
    si = sis[0].children()
    sid, digest_alg, attrs_el = si[1], si[2], si[3]
    if attrs_el.tag != 0xA0:
        raise ValueError("the reply has no signed attributes")
    signer = next((c for c in certs if c.issuer_and_serial() == sid.raw), None)
    if signer is None:
        signer = next((c for c in trusted if c.issuer_and_serial() == sid.raw), None)
    if signer is None or all(signer.der != t.der for t in trusted):
        raise ValueError("the reply is not signed by a certificate GetCACert returned")
    h = DIGESTS.get(oid_text(digest_alg.children()[0].content))
    if h is None:
        raise ValueError("unknown reply digest")
    signer.x509.public_key().verify(si[5].content, tlv(0x31, attrs_el.content), padding.PKCS1v15(), h())
    attrs = {}
    for a in attrs_el.children():
        f = a.children()
        vals = f[1].children()
        if len(vals) != 1:
            raise ValueError("attribute with %d values" % len(vals))
        attrs[oid_text(f[0].content)] = vals[0]
    d = hashes.Hash(h())
    d.update(econtent)
    if attrs[MESSAGE_DIGEST].content != d.finalize():
        raise ValueError("messageDigest does not match the content")
    if attrs[MESSAGE_TYPE].content != b"3":
        raise ValueError("messageType %r, want 3 (CertRep)" % attrs[MESSAGE_TYPE].content)
    if attrs[TRANSACTION_ID].content != tid.encode():
        raise ValueError("transactionID %r, want %r" % (attrs[TRANSACTION_ID].content, tid))
    if attrs[RECIPIENT_NONCE].content != nonce:
        raise ValueError("recipientNonce is not our senderNonce")
    status = PKI_STATUSES.get(attrs[PKI_STATUS].content.decode(), "?" + attrs[PKI_STATUS].content.decode())
    if status == "FAILURE":
        fi = attrs.get(FAIL_INFO)
        text = attrs.get(FAIL_INFO_TEXT)
        return Reply(status, FAIL_INFOS.get(fi.content.decode(), fi.content.decode()) if fi else None,
                     text.content.decode("utf-8", "replace") if text else None, der=data)
    if status == "SUCCESS":
        plain = open_envelope(econtent, identity.cert, identity.key)
        return Reply(status, certs=[Cert(c) for c in degenerate_certs(plain)], der=data)
    return Reply(status, der=data)


# ---------------------------------------------------------------- the protocol


class Identity:
    """A request's key and its self-signed signer certificate."""

    def __init__(self, key, cn):
        self.key = key
        self.cn = cn
        self.cert = Cert(self_signed(key, cn))
        self.spki = spki_of(key)


class Endpoint:
    """A SCEP endpoint: URL (http://HOST:PORT/PATH), optionally a CA name."""

    def __init__(self, url, ca=None, timeout=60):
        u = urllib.parse.urlsplit(url)
        if u.scheme != "http":
            raise ValueError("only http:// URLs")
        self.host, self.port = u.hostname, u.port or 80
        self.path = u.path.rstrip("/") + ("/" + urllib.parse.quote(ca) if ca else "")
        self.ca = ca
        self.timeout = timeout
        self.ca_cert = None
        self.recipient = None
        self.trusted = []

    def http(self, method, target, body=None, headers=None):
        """One request on a fresh connection; (status, content type, body)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, target, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, r.getheader("Content-Type", ""), r.read()
        finally:
            conn.close()

    def get_ca_caps(self):
        st, _, body = self.http("GET", self.path + "?operation=GetCACaps" + self._message())
        if st != 200:
            raise RuntimeError("GetCACaps: HTTP %d" % st)
        return body.decode().split()

    def _message(self):
        return "&message=" + urllib.parse.quote(self.ca) if self.ca else ""

    def get_ca_cert(self):
        """Fetch the CA (and RA) certificates; pick the recipient."""
        st, ctype, body = self.http("GET", self.path + "?operation=GetCACert" + self._message())
        if st != 200:
            raise RuntimeError("GetCACert: HTTP %d %r" % (st, body[:200]))
        if ctype == "application/x-x509-ca-cert":
            self.ca_cert = Cert(body)
            self.recipient = self.ca_cert
            self.trusted = [self.ca_cert]
        elif ctype == "application/x-x509-ca-ra-cert":
            certs = [Cert(c) for c in degenerate_certs(body)]
            cas = [c for c in certs if c.is_ca()]
            ras = [c for c in certs if not c.is_ca()]
            if not cas or not ras:
                raise RuntimeError("GetCACert: no CA and RA certificate in the PKCS#7")
            self.ca_cert, self.recipient, self.trusted = cas[0], ras[0], certs
        else:
            raise RuntimeError("GetCACert: Content-Type %r" % ctype)
        return self.ca_cert

    def message(self, identity, msg_type, tid, message_data, cipher="aes128", pss=False):
        """A PKIOperation request: (DER, its senderNonce)."""
        nonce = os.urandom(16)
        attrs = [signed_attr(MESSAGE_TYPE, printable(str(MESSAGE_TYPES[msg_type]))),
                 signed_attr(TRANSACTION_ID, printable(tid)), signed_attr(SENDER_NONCE, octets(nonce))]
        return signed_data(envelope(message_data, self.recipient, cipher), identity.cert, identity.key, attrs,
                           pss), nonce

    def pki_operation(self, identity, msg_type, tid, message_data, cipher="aes128", use_get=False, raw=None,
                      pss=False):
        """Send one PKIOperation; return (Reply, (request DER, nonce)). RAW,
        when given, is such a (DER, nonce) to send again as it is."""
        req, nonce = raw or self.message(identity, msg_type, tid, message_data, cipher, pss)
        if use_get:
            st, ctype, body = self.http("GET", self.path + "?operation=PKIOperation&message=" +
                                        urllib.parse.quote(base64.b64encode(req).decode(), safe=""))
        else:
            st, ctype, body = self.http("POST", self.path + "?operation=PKIOperation", req,
                                        {"Content-Type": "application/x-pki-message"})
        if st != 200:
            raise RuntimeError("PKIOperation %s: HTTP %d %r" % (msg_type, st, body[:200]))
        if ctype != "application/x-pki-message":
            raise RuntimeError("PKIOperation: Content-Type %r" % ctype)
        return read_cert_rep(body, self.trusted, tid, nonce, identity), (req, nonce)

    def pkcs_req(self, identity, csr_der, tid, **kw):
        return self.pki_operation(identity, "PKCSReq", tid, csr_der, **kw)

    def cert_poll(self, identity, tid, **kw):
        ias = seq(self.ca_cert.subject, name_cn(identity.cn))
        return self.pki_operation(identity, "CertPoll", tid, ias, **kw)


def issued_cert(reply, identity):
    """The certificate of a SUCCESS reply that carries IDENTITY's key."""
    mine = [c for c in reply.certs if c.spki == identity.spki]
    if len(mine) != 1:
        raise ValueError("the SUCCESS reply holds %d certificates with the request's key" % len(mine))
    return mine[0]


def load_csr(path):
    """A PKCS#10 file (PEM or DER) as DER, its bytes as they are."""
    with open(path, "rb") as f:
        data = f.read()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_csr(data).public_bytes(serialization.Encoding.DER)
    return data


def new_transaction_id():
    return secrets.token_hex(16)


def load_key(path, bits=2048):
    if not os.path.exists(path):
        key = rsa.generate_private_key(65537, bits)
        with open(path, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                      serialization.NoEncryption()))
        return key
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


# ---------------------------------------------------------------- command line


def _enroll(argv):
    import argparse
    p = argparse.ArgumentParser(prog="scep_client.py enroll")
    p.add_argument("--url", required=True)
    p.add_argument("--ca")
    p.add_argument("--key", required=True)
    p.add_argument("--cn", required=True)
    p.add_argument("--challenge")
    p.add_argument("--out")
    p.add_argument("--get", action="store_true")
    p.add_argument("--cipher", default="aes128", choices=sorted(CIPHERS))
    p.add_argument("--poll", type=float, default=1.0)
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--transaction-id")
    p.add_argument("--csr")
    p.add_argument("--pss", action="store_true")
    p.add_argument("--recipient", help="encrypt to this certificate (PEM) instead of GetCACert's")
    a = p.parse_args(argv)
    ep = Endpoint(a.url, a.ca)
    ep.get_ca_cert()
    if a.recipient:
        with open(a.recipient, "rb") as f:
            ep.recipient = Cert(x509.load_pem_x509_certificate(f.read()).public_bytes(serialization.Encoding.DER))
    ident = Identity(load_key(a.key), a.cn)
    tid = a.transaction_id or new_transaction_id()
    kw = {"cipher": a.cipher, "use_get": a.get, "pss": a.pss}
    csr = load_csr(a.csr) if a.csr else make_csr(ident.key, a.cn, a.challenge, a.pss)
    reply, _ = ep.pkcs_req(ident, csr, tid, **kw)
    deadline = time.monotonic() + a.timeout
    while reply.status == "PENDING" and time.monotonic() < deadline:
        time.sleep(a.poll)
        reply, _ = ep.cert_poll(ident, tid, **kw)
    print("transactionID %s: %s" % (tid, reply.status), file=sys.stderr)
    if reply.status == "FAILURE":
        print("failInfo: %s\nfailInfoText: %s" % (reply.fail_info, reply.fail_text), file=sys.stderr)
        return 2
    if reply.status == "PENDING":
        return 3
    if reply.status != "SUCCESS":
        print("pkiStatus %s" % reply.status, file=sys.stderr)
        return 1
    pem = issued_cert(reply, ident).pem()
    if a.out:
        with open(a.out, "w") as f:
            f.write(pem)
    else:
        sys.stdout.write(pem)
    return 0


def _genkeys(argv):
    from concurrent.futures import ProcessPoolExecutor
    d, count = argv[0], int(argv[1])
    bits = int(argv[2]) if len(argv) > 2 else 2048
    os.makedirs(d, exist_ok=True)
    with ProcessPoolExecutor(os.cpu_count()) as ex:
        list(ex.map(_genkey, [(os.path.join(d, "key.%d.pem" % i), bits) for i in range(count)]))
    return 0


def _genkey(path_bits):
    load_key(*path_bits)


def main(argv):
    if argv and argv[0] == "enroll":
        return _enroll(argv[1:])
    if argv and argv[0] == "genkeys":
        return _genkeys(argv[1:])
    print(__doc__, file=sys.stderr)
    return 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Exception as e:  # noqa: BLE001 - a command-line tool reports and exits
        print("scep_client.py: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        sys.exit(1)
