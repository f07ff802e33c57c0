#!/usr/bin/python3
"""Mixed concurrent SCEP load against one CA, with its own checks; used by
test_concurrency_mixed.sh. The requests come from scep_client.py (its own
CMS code, not the server's) and from micromdm's scepclient; the operator's
decisions from `scepctl approve/reject`, run by two operator threads at the
same time as the load.

  scep_load.py --url URL --ca NAME --store DIR --scepctl PATH --policy P
               --keys DIR --scepclient-keys DIR --out DIR [--label TEXT]
               [--workers 16] [--secret 450] [--reuse-every 10] [--race 40]
               [--twin 40] [--refused 30] [--multi 60x10+2] [--manual 450]
               [--manual-twin-every 15] [--poll 1.5] [--scepclient 200]
               [--seed 1] [--deadline 200]

Transactions (each one a new transactionID; counted as enrollments):
  secret     PKCSReq with a fresh one-use secret: SUCCESS. After every
             --reuse-every-th, the same worker tries the spent secret with
             another key: FAILURE badRequest ("reuse").
  race       two keys send PKCSReqs with ONE one-use secret at the same
             moment: exactly one SUCCESS, the other FAILURE badRequest.
  twin       one PKCSReq message sent twice at the same moment (a client's
             retry): the same answer twice, one certificate.
  refused    a secret bound to CN=bound-N (--cn), a request for another CN:
             FAILURE badRequest, and the secret keeps its use.
  multi      SxU+E: S secrets with --uses U, each tried U+E times at once:
             exactly U SUCCESS per secret.
  manual     PKCSReq without a challenge: PENDING. The client polls after
             --poll seconds, then backs off (x1.5, at most 6 s), every other
             client by CertPoll, the rest by sending the PKCSReq again (as
             certmonger does), until the operator threads approve (CN
             ...-approve) or reject (CN ...-reject, with a reason) it by the
             MD5 fingerprint `scepctl pending --json` lists, which must be
             the MD5 of a CSR a client sent. The first PKCSReq of every
             --manual-twin-every-th is sent twice at the same moment (a retry
             racing the first try): PENDING both times, one pending request.
  scepclient micromdm scepclient with a one-use secret (its own key each).
A quarter of the scep_client.py requests go by GET, the rest by POST; a
third use AES-256, the rest AES-128. --workers jobs run at once (a race,
twin or multi job sends its requests from extra threads at the same
moment); waiting clients hold no worker: their polls are scheduled.

Checks (exit 1 and "FAIL: ..." lines when one fails): every answer as
above; every certificate a client received verifies against the CA, has the
client's key and CN, and is the store's file of its serial; serials are
unique per transaction and the store holds exactly the issued ones; every
operator decision was made exactly once, losers of an operator race were
told the request is no longer pending; audit.log: every line a JSON object,
one line per PKIOperation answered plus one per operator decision, the
issued/approve/reject/failure/pending counts as the clients saw them, every
one-use secret issued at most once and `scepctl secret list --json`
uses_left = 1 - (its issued lines). Figures go to OUT/summary.json.
"""

import argparse
import hashlib
import heapq
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scep_client as sc  # noqa: E402

from cryptography.hazmat.primitives.asymmetric import padding  # noqa: E402

# Operator actions that decide no request (scepctl(1), FILES: audit.log).
OPERATOR_ACTIONS = {"ca-create", "ca-import", "ca-set", "ra-create", "ra-replace", "policy-create", "policy-replace",
                    "secret-create", "secret-revoke", "crl-sign"}


class Failures:
    def __init__(self):
        self.lock = threading.Lock()
        self.items = []

    def add(self, text):
        with self.lock:
            self.items.append(text)


FAIL = Failures()


def check(cond, text):
    if not cond:
        FAIL.add(text)
    return cond


class Scheduler:
    """Tasks (callables) run by N workers; a task may schedule others, now
    or later. run() returns when nothing is queued, delayed or running."""

    def __init__(self, workers):
        self.cv = threading.Condition()
        self.heap = []
        self.seq = itertools.count()
        self.running = 0
        self.workers = workers
        self.stopped = False

    def add(self, fn, delay=0.0):
        with self.cv:
            heapq.heappush(self.heap, (time.monotonic() + delay, next(self.seq), fn))
            self.cv.notify()

    def _worker(self):
        while True:
            with self.cv:
                while True:
                    if self.stopped or (not self.heap and self.running == 0):
                        self.cv.notify_all()
                        return
                    if self.heap and self.heap[0][0] <= time.monotonic():
                        _, _, fn = heapq.heappop(self.heap)
                        self.running += 1
                        break
                    self.cv.wait(self.heap[0][0] - time.monotonic() if self.heap else None)
            try:
                fn()
            except Exception:  # noqa: BLE001 - recorded as a failure of the test
                FAIL.add("task raised: " + traceback.format_exc(limit=4))
            finally:
                with self.cv:
                    self.running -= 1
                    self.cv.notify_all()

    def run(self, deadline):
        threads = [threading.Thread(target=self._worker, daemon=True) for _ in range(self.workers)]
        for t in threads:
            t.start()
        end = time.monotonic() + deadline
        for t in threads:
            t.join(max(0.0, end - time.monotonic()))
        if any(t.is_alive() for t in threads):
            with self.cv:
                self.stopped = True
                self.cv.notify_all()
            FAIL.add("the load did not finish within %d s" % deadline)


class Load:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.ep = sc.Endpoint(a.url, a.ca, timeout=60)
        self.ep.get_ca_cert()
        self.ca_pub = self.ep.ca_cert.x509.public_key()
        self.lock = threading.Lock()
        self.requests = []       # one dict per PKIOperation a scep_client.py client sent
        self.issued = []         # (kind, tid, Cert, cn) per SUCCESS a client saw
        self.scepclient_runs = 0
        self.manual_md5 = {}     # md5 hex -> (cn, decision)
        self.manual_final = {}   # tid -> Reply
        self.decisions = []      # (operator, verb, md5, ok, output)
        self.keys = []
        for name in sorted(os.listdir(a.keys)):
            key = sc.load_key(os.path.join(a.keys, name))
            self.keys.append(sc.Identity(key, "load-signer-%d" % len(self.keys)))
        self.kid = itertools.count()

    # ---- helpers

    def identity(self):
        return self.keys[next(self.kid) % len(self.keys)]

    def opts(self):
        r = self.rng.random()
        return {"use_get": r < 0.25, "cipher": "aes256" if self.rng.random() < 1 / 3 else "aes128"}

    def send(self, kind, ident, msg, tid, data, opts, raw=None):
        t0 = time.monotonic()
        try:
            reply, req = self.ep.pki_operation(ident, msg, tid, data, raw=raw, **opts)
        except Exception as e:  # noqa: BLE001
            FAIL.add("%s %s %s: %s: %s" % (kind, msg, tid, type(e).__name__, e))
            with self.lock:
                self.requests.append({"kind": kind, "msg": msg, "tid": tid, "status": "ERROR", "error": str(e)})
            return None, None
        rec = {"kind": kind, "msg": msg, "tid": tid, "status": reply.status, "fail_info": reply.fail_info,
               "fail_text": reply.fail_text, "ms": round((time.monotonic() - t0) * 1000, 1)}
        with self.lock:
            self.requests.append(rec)
        return reply, req

    def got_cert(self, kind, tid, reply, ident, cn):
        try:
            cert = sc.issued_cert(reply, ident)
        except ValueError as e:
            FAIL.add("%s %s: %s" % (kind, tid, e))
            return None
        x = cert.x509
        try:
            self.ca_pub.verify(x.signature, x.tbs_certificate_bytes, padding.PKCS1v15(), x.signature_hash_algorithm)
        except Exception:  # noqa: BLE001
            FAIL.add("%s %s: certificate %s does not verify against the CA" % (kind, tid, cert.serial_hex()))
        cns = [v.value for v in x.subject.get_attributes_for_oid(sc.x509.oid.NameOID.COMMON_NAME)]
        check(cns == [cn], "%s %s: certificate CN %s, want %s" % (kind, tid, cns, cn))
        with self.lock:
            self.issued.append((kind, tid, cert, cn))
        return cert

    def expect(self, kind, tid, reply, status, fail_info=None, text=None):
        if reply is None:
            return False
        ok = reply.status == status and (fail_info is None or reply.fail_info == fail_info)
        ok = ok and (text is None or text in (reply.fail_text or ""))
        return check(ok, "%s %s: got %r, want %s %s %s" % (kind, tid, reply, status, fail_info or "", text or ""))

    # ---- transactions

    def enroll_secret(self, n, secret):
        ident, tid, cn, opts = self.identity(), sc.new_transaction_id(), "secret-%d" % n, self.opts()
        reply, _ = self.send("secret", ident, "PKCSReq", tid, sc.make_csr(ident.key, cn, secret), opts)
        if self.expect("secret", tid, reply, "SUCCESS"):
            self.got_cert("secret", tid, reply, ident, cn)
        if self.a.reuse_every and n % self.a.reuse_every == 0:
            ident, tid2, cn2 = self.identity(), sc.new_transaction_id(), "reuse-%d" % n
            reply, _ = self.send("reuse", ident, "PKCSReq", tid2, sc.make_csr(ident.key, cn2, secret), self.opts())
            self.expect("reuse", tid2, reply, "FAILURE", "badRequest", "already been used")

    def concurrently(self, fns):
        # Both requests leave together: a barrier in two extra threads.
        barrier = threading.Barrier(len(fns))
        out = [None] * len(fns)

        def run(i):
            barrier.wait(10)
            out[i] = fns[i]()

        ts = [threading.Thread(target=run, args=(i,)) for i in range(len(fns))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        return out

    def race(self, n, secret, kind="race", contenders=2, winners=1):
        jobs = []
        for k in range(contenders):
            ident, tid, cn = self.identity(), sc.new_transaction_id(), "%s-%d-%d" % (kind, n, k)
            csr = sc.make_csr(ident.key, cn, secret)
            opts = self.opts()
            jobs.append((ident, tid, cn, csr, opts))
        replies = self.concurrently([lambda j=j: self.send(kind, j[0], "PKCSReq", j[1], j[3], j[4])[0] for j in jobs])
        won = 0
        for (ident, tid, cn, _, _), reply in zip(jobs, replies):
            if reply is not None and reply.status == "SUCCESS":
                won += 1
                self.got_cert(kind, tid, reply, ident, cn)
            else:
                self.expect(kind, tid, reply, "FAILURE", "badRequest", "already been used")
        check(won == winners, "%s %d: %d of %d requests with one secret got a certificate, want %d"
              % (kind, n, won, contenders, winners))

    def twin(self, n, secret):
        ident, tid, cn, opts = self.identity(), sc.new_transaction_id(), "twin-%d" % n, self.opts()
        csr = sc.make_csr(ident.key, cn, secret)
        raw = self.ep.message(ident, "PKCSReq", tid, csr, opts["cipher"])  # both copies: the same bytes
        replies = self.concurrently([lambda: self.send("twin", ident, "PKCSReq", tid, None, opts, raw=raw)[0]] * 2)
        if None in replies:
            return
        statuses = sorted(r.status for r in replies)
        if check(statuses == ["SUCCESS", "SUCCESS"],
                 "twin %s: the same PKCSReq sent twice at once got %r and %r, want SUCCESS twice"
                 % (tid, replies[0], replies[1])):
            a, b = (sc.issued_cert(r, ident) for r in replies)
            check(a.der == b.der, "twin %s: two different certificates (%s, %s) for one transaction"
                  % (tid, a.serial_hex(), b.serial_hex()))
            self.got_cert("twin", tid, replies[0], ident, cn)
        elif "SUCCESS" in statuses:
            self.got_cert("twin", tid, next(r for r in replies if r.status == "SUCCESS"), ident, cn)

    def refused(self, n, secret):
        ident, tid, cn = self.identity(), sc.new_transaction_id(), "notbound-%d" % n
        reply, _ = self.send("refused", ident, "PKCSReq", tid, sc.make_csr(ident.key, cn, secret), self.opts())
        self.expect("refused", tid, reply, "FAILURE", "badRequest")

    def manual(self, sched, n):
        decision = "approve" if n % 3 else "reject"
        ident, tid, cn, opts = self.identity(), sc.new_transaction_id(), "manual-%d-%s" % (n, decision), self.opts()
        csr = sc.make_csr(ident.key, cn)
        with self.lock:
            self.manual_md5[hashlib.md5(csr).hexdigest()] = (cn, decision)
        if self.a.manual_twin_every and n % self.a.manual_twin_every == 1:
            # A client's retry racing its first try: both must be PENDING.
            raw = self.ep.message(ident, "PKCSReq", tid, csr, opts["cipher"])
            replies = self.concurrently([lambda: self.send("manual-twin", ident, "PKCSReq", tid, None, opts, raw=raw)[0]] * 2)
            for r in replies:
                self.expect("manual-twin", tid, r, "PENDING")
            reply = replies[0]
        else:
            reply, _ = self.send("manual", ident, "PKCSReq", tid, csr, opts)
        if not self.expect("manual", tid, reply, "PENDING"):
            with self.lock:
                self.manual_final[tid] = reply
            return
        deadline = time.monotonic() + self.a.deadline * 0.9
        by_poll = n % 2 == 0
        polls = itertools.count()

        def later():
            # Back off as clients do: --poll, then 1.5 times longer each time, at most 6 s.
            return min(self.a.poll * 1.5 ** next(polls), 6.0) * (0.75 + 0.5 * self.rng.random())

        def poll():
            if by_poll:
                r, _ = self.send("manual", ident, "CertPoll", tid, sc.seq(self.ep.ca_cert.subject, sc.name_cn(cn)), opts)
            else:
                r, _ = self.send("manual", ident, "PKCSReq", tid, csr, opts)
            if r is not None and r.status == "PENDING" and time.monotonic() < deadline:
                sched.add(poll, later())
                return
            with self.lock:
                self.manual_final[tid] = r
            if decision == "approve":
                if self.expect("manual", tid, r, "SUCCESS"):
                    self.got_cert("manual", tid, r, ident, cn)
            else:
                self.expect("manual", tid, r, "FAILURE", "badRequest", "load test rejects " + cn)

        sched.add(poll, later())

    def scepclient(self, n, secret):
        d = os.path.join(self.a.out, "scepclient", str(n))
        os.makedirs(d)
        shutil.copy(os.path.join(self.a.scepclient_keys, "key.%d.pem" % n), os.path.join(d, "key.pem"))
        cn = "scepclient-%d" % n
        p = subprocess.run(["timeout", "90", "scepclient", "-server-url", self.a.url + "/" + self.a.ca,
                            "-challenge", secret, "-cn", cn, "-private-key", "key.pem", "-certificate", "cert.pem"],
                           cwd=d, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        with self.lock:
            self.scepclient_runs += 1
        if not check(p.returncode == 0 and os.path.exists(os.path.join(d, "cert.pem")),
                     "scepclient %d: exit %d: %s" % (n, p.returncode, p.stdout[-300:])):
            return
        with open(os.path.join(d, "cert.pem"), "rb") as f:
            cert = sc.Cert(sc.x509.load_pem_x509_certificate(f.read()).public_bytes(sc.serialization.Encoding.DER))
        with open(os.path.join(d, "key.pem"), "rb") as f:
            spki = sc.spki_of(sc.serialization.load_pem_private_key(f.read(), None))
        check(cert.spki == spki, "scepclient %d: the certificate does not carry its key" % n)
        with self.lock:
            self.issued.append(("scepclient", "scepclient-%d" % n, cert, cn))

    # ---- the operator

    def scepctl(self, *args):
        p = subprocess.run([self.a.scepctl, "--store", self.a.store] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        return p.returncode, p.stdout, p.stderr

    def operator(self, name, stop):
        rng = random.Random(name)
        while not stop.is_set():
            rc, out, err = self.scepctl("pending", "--json", "--ca", self.a.ca)
            if not check(rc == 0, "operator %s: scepctl pending exited %d: %s" % (name, rc, err)):
                return
            pending = json.loads(out)
            rng.shuffle(pending)
            if name != "op-a":
                # The second operator takes a third of the list: enough races
                # for the same request without a second scepctl for each.
                pending = pending[:len(pending) // 3 + 1]
            for p in pending:
                md5 = p["md5"].replace(":", "").lower()
                with self.lock:
                    known = self.manual_md5.get(md5)
                if not check(known is not None, "operator %s: pending MD5 %s (%s) is no CSR a client sent"
                             % (name, md5, p.get("subject"))):
                    continue
                cn, decision = known
                check(p.get("subject") == "CN=" + cn, "operator: MD5 %s lists subject %s, want CN=%s"
                      % (md5, p.get("subject"), cn))
                if decision == "approve":
                    rc, out, err = self.scepctl("approve", md5, "--ca", self.a.ca, "--policy", self.a.policy)
                else:
                    rc, out, err = self.scepctl("reject", md5, "--ca", self.a.ca, "--reason", "load test rejects " + cn)
                with self.lock:
                    self.decisions.append((name, decision, md5, rc == 0, (out + err).strip()))
            time.sleep(0.2 if pending else 0.5)

    # ---- the run

    def create_secrets(self, specs):
        """specs: list of extra scepctl args; returns [(id, secret)], in order."""
        def one(extra):
            rc, out, err = self.scepctl("--json", "secret", "create", "--ca", self.a.ca, "--policy", self.a.policy, *extra)
            if rc != 0:
                raise RuntimeError("scepctl secret create %s: %s" % (" ".join(extra), err))
            d = json.loads(out)
            return d["id"], d["secret"]
        with ThreadPoolExecutor(4) as ex:
            return list(ex.map(one, specs))

    def run(self):
        a = self.a
        multi_s, rest = a.multi.split("x")
        multi_u, multi_e = (int(v) for v in rest.split("+"))
        multi_s = int(multi_s)
        t0 = time.monotonic()
        specs = ([[]] * (a.secret + a.race + a.twin + a.scepclient) + [["--cn", "bound-%d" % i] for i in range(a.refused)]
                 + [["--uses", str(multi_u)]] * multi_s)
        made = self.create_secrets(specs)
        setup_s = time.monotonic() - t0
        it = iter(made)
        take = lambda k: [next(it) for _ in range(k)]  # noqa: E731
        s_secret, s_race, s_twin, s_scepclient = take(a.secret), take(a.race), take(a.twin), take(a.scepclient)
        s_refused, s_multi = take(a.refused), take(multi_s)
        self.one_use = {i for i, _ in s_secret + s_race + s_twin + s_scepclient + s_refused}
        self.refused_ids = {i for i, _ in s_refused}
        self.multi_ids = {i for i, _ in s_multi}
        self.multi_uses = multi_u

        sched = Scheduler(a.workers)
        jobs = [lambda n=n, s=s: self.enroll_secret(n, s) for n, (_, s) in enumerate(s_secret, 1)]
        jobs += [lambda n=n, s=s: self.race(n, s) for n, (_, s) in enumerate(s_race)]
        jobs += [lambda n=n, s=s: self.twin(n, s) for n, (_, s) in enumerate(s_twin)]
        jobs += [lambda n=n, s=s: self.refused(n, s) for n, (_, s) in enumerate(s_refused)]
        jobs += [lambda n=n, s=s: self.race(n, s, "multi", multi_u + multi_e, multi_u) for n, (_, s) in enumerate(s_multi)]
        jobs += [lambda n=n: self.manual(sched, n) for n in range(a.manual)]
        jobs += [lambda n=n, s=s: self.scepclient(n, s) for n, (_, s) in enumerate(s_scepclient)]
        self.rng.shuffle(jobs)
        for j in jobs:
            sched.add(j)

        stop = threading.Event()
        ops = [threading.Thread(target=self.operator, args=(name, stop)) for name in ("op-a", "op-b")]
        t1 = time.monotonic()
        for t in ops:
            t.start()
        sched.run(a.deadline)
        stop.set()
        for t in ops:
            t.join(60)
        load_s = time.monotonic() - t1
        self.figures = {
            "label": a.label, "workers": a.workers, "secrets_created": len(made), "setup_seconds": round(setup_s, 1),
            "load_seconds": round(load_s, 1), "transactions": (a.secret + a.secret // max(a.reuse_every, 1) + 2 * a.race
                                                               + a.twin + a.refused + multi_s * (multi_u + multi_e)
                                                               + a.manual + a.scepclient),
            "pki_requests_python": len(self.requests), "scepclient_runs": self.scepclient_runs,
            "operator_decisions": sum(1 for d in self.decisions if d[3]),
            "operator_attempts": len(self.decisions),
            "certificates": len(self.issued),
        }
        pki = self.figures["pki_requests_python"] + self.scepclient_runs
        self.figures["pki_requests_per_second"] = round(pki / load_s, 1)
        self.figures["transactions_per_second"] = round(self.figures["transactions"] / load_s, 1)

    # ---- checks after the run

    def verify(self):
        a = self.a
        # Every manual request was decided once, and every client learnt it.
        wins = {}
        for name, verb, md5, ok, text in self.decisions:
            if ok:
                wins[md5] = wins.get(md5, 0) + 1
            else:
                check("no longer pending" in text or "no pending request has fingerprint" in text,
                      "operator %s: %s %s failed: %s" % (name, verb, md5, text))
        check(len(self.manual_md5) == a.manual, "%d manual CSRs for %d requests" % (len(self.manual_md5), a.manual))
        for md5 in self.manual_md5:
            check(wins.get(md5, 0) == 1, "manual request %s %s was decided %d times"
                  % (md5, self.manual_md5[md5][0], wins.get(md5, 0)))
        check(len(self.manual_final) == a.manual, "%d of %d manual requests ended" % (len(self.manual_final), a.manual))
        rc, out, _ = self.scepctl("pending", "--json")
        check(rc == 0 and json.loads(out) == [], "requests still pending after the run: %s" % out[:300])

        # Certificates: unique serials per transaction; exactly the store's.
        by_tid = {}
        for kind, tid, cert, cn in self.issued:
            by_tid.setdefault(tid, set()).add(cert.der)
        for tid, ders in by_tid.items():
            check(len(ders) == 1, "transaction %s received %d different certificates" % (tid, len(ders)))
        serials = {}
        for kind, tid, cert, cn in self.issued:
            serials.setdefault(cert.serial_hex(), set()).add(tid)
        for s, tids in serials.items():
            check(len(tids) == 1, "serial %s went to %d transactions: %s" % (s, len(tids), sorted(tids)[:4]))
        cdir = os.path.join(a.store, "ca", a.ca, "certs")
        files = {f[:-4] for f in os.listdir(cdir) if f.endswith(".pem")}
        for s in serials:
            if check(s in files, "serial %s a client received is not in the store" % s):
                with open(os.path.join(cdir, s + ".pem"), "rb") as f:
                    stored = sc.x509.load_pem_x509_certificate(f.read()).public_bytes(sc.serialization.Encoding.DER)
                want = next(c.der for _, _, c, _ in self.issued if c.serial_hex() == s)
                check(stored == want, "the store's %s.pem is not the certificate the client received" % s)
        extra = files - set(serials)
        check(not extra, "%d certificates in the store no client received: %s" % (len(extra), sorted(extra)[:5]))

        # The audit log.
        lines = open(os.path.join(a.store, "audit.log"), "rb").read().split(b"\n")
        check(lines[-1] == b"", "audit.log does not end with a newline")
        recs = []
        keys = {"time", "ca", "remote", "operation", "transaction_id", "subject", "secret_id", "policy", "outcome",
                "serial", "fail_info", "detail"}
        for n, line in enumerate(lines[:-1], 1):
            try:
                r = json.loads(line)
            except ValueError as e:
                FAIL.add("audit.log line %d is not JSON (%s): %r" % (n, e, line[:200]))
                continue
            if check(isinstance(r, dict) and keys <= set(r), "audit.log line %d lacks fields: %r" % (n, line[:200])):
                recs.append(r)
        # The set-up's operator actions (ca-create, policy-create, secret-create,
        # ...) are audited too, each naming its operator; they are no requests.
        setup = [r for r in recs if r["operation"] in OPERATOR_ACTIONS]
        check(all(r.get("operator") for r in setup), "an operator action's audit line names no operator")
        recs = [r for r in recs if r["operation"] not in OPERATOR_ACTIONS]
        want_lines = len(self.requests) + self.scepclient_runs + sum(wins.values())
        check(len(lines) - 1 - len(setup) == want_lines, "audit.log has %d request lines, want %d (%d scep_client.py "
              "PKIOperations + %d scepclient + %d operator decisions)" % (len(lines) - 1 - len(setup), want_lines,
                                                                          len(self.requests), self.scepclient_runs,
                                                                          sum(wins.values())))
        ours = [r for r in recs if r["ca"] == a.ca]
        check(len(ours) == len(recs), "audit lines of other CAs")
        count = lambda **kv: sum(1 for r in recs if all(r[k] == v for k, v in kv.items()))  # noqa: E731
        sent = lambda status, **kv: sum(1 for q in self.requests if q["status"] == status  # noqa: E731
                                        and all(q[k] == v for k, v in kv.items()))
        approvals = sum(1 for d in self.decisions if d[3] and d[1] == "approve")
        rejections = sum(1 for d in self.decisions if d[3] and d[1] == "reject")
        check(count(operation="approve", outcome="issued") == approvals,
              "%d approve audit lines for %d approvals" % (count(operation="approve", outcome="issued"), approvals))
        check(count(operation="reject", outcome="rejected") == rejections,
              "%d reject audit lines for %d rejections" % (count(operation="reject", outcome="rejected"), rejections))
        check(count(outcome="pending") == sent("PENDING"),
              "%d pending audit lines, clients saw %d PENDING" % (count(outcome="pending"), sent("PENDING")))
        # A FAILURE that answers a request the operator rejected is audited as
        # "rejected" (operation PKCSReq or CertPoll, not the operator's "reject").
        told_rejected = sum(1 for r in recs if r["outcome"] == "rejected" and r["operation"] != "reject")
        check(count(outcome="failure") + told_rejected == sent("FAILURE"),
              "%d failure + %d rejected audit lines, clients saw %d FAILURE"
              % (count(outcome="failure"), told_rejected, sent("FAILURE")))
        success = sent("SUCCESS") + self.scepclient_runs
        check(count(outcome="issued", operation="PKCSReq") + count(outcome="reissued") == success,
              "%d issued+reissued PKCSReq/CertPoll audit lines, clients saw %d SUCCESS"
              % (count(outcome="issued", operation="PKCSReq") + count(outcome="reissued"), success))
        issued_serials = [r["serial"] for r in recs if r["outcome"] == "issued"]
        check(len(issued_serials) == len(set(issued_serials)), "a serial has two 'issued' audit lines")
        check(set(issued_serials) == set(serials), "the 'issued' audit serials are not the certificates clients got")
        check(all(r["fail_info"] for r in recs if r["outcome"] == "failure"), "a failure audit line without fail_info")
        for r in recs:
            if r["outcome"] not in ("issued", "reissued", "pending", "failure", "rejected"):
                FAIL.add("unexpected audit outcome: %r" % r)
                break

        # Secrets: a one-use secret issues at most once; uses_left agrees.
        uses = {}
        for r in recs:
            if r["outcome"] == "issued" and r["secret_id"]:
                uses[r["secret_id"]] = uses.get(r["secret_id"], 0) + 1
        rc, out, _ = self.scepctl("secret", "list", "--json")
        listed = {s["id"]: s for s in json.loads(out)}
        for sid in self.one_use:
            n, left = uses.get(sid, 0), listed[sid]["uses_left"]
            check(n <= 1, "one-use secret %s issued %d certificates" % (sid, n))
            check(n + left == 1, "secret %s: %d issued audit lines and uses_left %d" % (sid, n, left))
            check((sid in self.refused_ids) == (left == 1),
                  "secret %s: uses_left %d (refused requests must not spend it; all others must)" % (sid, left))
        for sid in self.multi_ids:
            n, left = uses.get(sid, 0), listed[sid]["uses_left"]
            check(n == self.multi_uses and left == 0, "secret %s with %d uses: %d issued, uses_left %d"
                  % (sid, self.multi_uses, n, left))

        kinds = {}
        for q in self.requests:
            k = "%s %s %s" % (q["kind"], q["msg"], q["status"])
            kinds[k] = kinds.get(k, 0) + 1
        self.figures["answers"] = dict(sorted(kinds.items()))
        self.figures["audit_lines"] = len(lines) - 1
        self.figures["operator_races_lost"] = sum(1 for d in self.decisions if not d[3])
        ms = sorted(q["ms"] for q in self.requests if "ms" in q)
        if ms:
            self.figures["latency_ms_p50_p99_max"] = [ms[len(ms) // 2], ms[int(len(ms) * 0.99)], ms[-1]]


def main():
    p = argparse.ArgumentParser()
    for name in ("url", "ca", "store", "scepctl", "policy", "keys", "scepclient-keys", "out"):
        p.add_argument("--" + name, required=True)
    p.add_argument("--label", default="")
    for name, default in (("workers", 16), ("secret", 450), ("reuse-every", 10), ("race", 40), ("twin", 40),
                          ("refused", 30), ("manual", 450), ("manual-twin-every", 15), ("scepclient", 200), ("seed", 1),
                          ("deadline", 200)):
        p.add_argument("--" + name, type=int, default=default)
    p.add_argument("--multi", default="60x10+2")
    p.add_argument("--poll", type=float, default=1.5, help="seconds before the first poll")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    load = Load(a)
    load.run()
    load.verify()
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump(load.figures, f, indent=1)
    with open(os.path.join(a.out, "requests.jsonl"), "w") as f:
        for q in load.requests:
            f.write(json.dumps(q) + "\n")
    print(json.dumps(load.figures))
    for text in FAIL.items[:40]:
        print("FAIL: " + text)
    if len(FAIL.items) > 40:
        print("FAIL: ... and %d more" % (len(FAIL.items) - 40))
    return 1 if FAIL.items else 0


if __name__ == "__main__":
    sys.exit(main())
