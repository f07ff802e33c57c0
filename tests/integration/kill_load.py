#!/usr/bin/python3
"""Devices that enroll while the server dies under them; used by
test_kill_modes.sh and test_full_disk.sh (issue 14's acceptance tests).

A device is one PKCS#10 request with its own RSA key, its own fixed
transactionID, its own secret (challengePassword) and its own self-signed
signer certificate, all kept in a JSON file, so a retry is the SAME request
(only the senderNonce and the envelope's content key are new, as with any
real client). Requests are built and read by scep_client.py (its own CMS
code, not the server's), sent by POST, one connection each.

  kill_load.py run --mode serve|cgi|fastcgi --url URL --ca NAME --store DIR
                   --scepctl PATH --policy NAME --devices OUT.json
                   [--kills 100] [--concurrency 8] [--max-delay 0.3]
                   [--key-bits 1024] [--seed N] [--tries 5]
       serve:    --port PORT --log FILE     (scepctl serve, started here)
       cgi:      --cgi-parent PID           (lighttpd, started by the test)
       fastcgi:  --socket PATH --scep-cgi PATH --log FILE
                                            (spawn-fcgi -n, started here)
      Rounds: CONCURRENCY devices send their requests at the same moment
      (messages built beforehand), and after a random delay in [0, D] the
      server is killed with SIGKILL: `scepctl serve` or the FastCGI process
      (started again before the next round), or, for CGI, every scep.cgi
      child of lighttpd running at that moment (lighttpd stays up). D is
      what CONCURRENCY requests take here without a kill (3 rounds first,
      then every 25th round; the median of the last 5), at most
      --max-delay. A kill counts when it struck while at least one request
      was open; rounds go on until --kills kills counted. A device whose
      request was cut off (no HTTP 200 answer) sends it again in a later
      round (--tries times in all); one that saw no SUCCESS is left for
      `retry`. Devices (a one-use secret and a key each) are made in
      batches between rounds (beside them they would slow the server and
      so the measured D); unused ones end up in OUT.json too. Every
      attempt, its outcome and the certificate received go to OUT.json; a
      summary (JSON) to standard output.

  kill_load.py retry --url URL --ca NAME --devices F.json... [--concurrency 8]
      Every device that sent a request and saw no SUCCESS sends the same
      request again, once. Updates the files; prints a summary. Exit 0 even
      when some fail (the verifier judges).

  kill_load.py disk --url URL --ca NAME --secret SECRET --secret-id ID
                    --devices OUT.json [--max 40] [--stop-after 6]
                    [--key-bits 1024]
      Devices (distinct keys and transactionIDs, all with SECRET) enroll one
      after another until --stop-after requests in a row got no SUCCESS (or
      --max were sent); every answer's HTTP status and Retry-After header
      is recorded. Prints a summary.

  kill_load.py verify --stage NAME --devices F.json... --certs CERTS.json
                      --secrets SECRETS.json --audit audit.log [--final]
                      [--mode MODE]
      Holds the store (`scepctl certs --json`, `scepctl secret list --json`,
      audit.log) against what the devices saw; prints one "FINDING: " line
      per problem and the counts as JSON; exit 1 on any finding.
      Findings: an audit.log line that is not a JSON object with an outcome
      (torn or glued lines), or no final newline; a serial twice in the store
      or in two "issued" audit lines; a SUCCESS a device saw whose serial is
      not in the store or whose certificate (SHA-256) differs; a certificate
      with no "issued" audit line (orphan); an "issued" line whose serial is
      not in the store; per secret, uses spent (uses - uses_left) != the
      distinct serials audit.log records as issued with its secret_id
      (unattributed uses / uses not spent); a device with more than one
      certificate in the store; a device answered FAILURE (its request is
      valid and its secret fresh: after a crash a retry must complete it, and
      a real client gives up on a FAILURE), PENDING or an unreadable 200.
      --final: also every device that sent a request has
      exactly one certificate, the one it received, and every device's
      secret is used up when it has one use. --mode: the findings about
      devices, their certificates and their secrets are of MODE's devices
      only (certificates and secrets of no device always count).
"""

import argparse
import collections
import http.client
import json
import multiprocessing
import os
import random
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scep_client as sc  # noqa: E402

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

HTTP_TIMEOUT = 20.0
# A started server dies with this process, whatever kills it (the thread
# that starts servers is the main thread, which lives to the end).
PDEATHSIG = ["setpriv", "--pdeathsig", "KILL", "--"]


def log(text):
    print("kill_load: " + text, file=sys.stderr, flush=True)


def norm_serial(s):
    return int(s.replace(":", ""), 16)


def norm_fp(s):
    return s.replace(":", "").lower()


# ---------------------------------------------------------------- devices


def _genkey(bits):
    key = rsa.generate_private_key(65537, bits)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


class Device:
    FIELDS = ("name", "mode", "cn", "tid", "secret", "secret_id", "key_pem", "signer", "csr", "attempts")

    def __init__(self, **kw):
        for f in self.FIELDS:
            setattr(self, f, kw.get(f))
        if self.attempts is None:
            self.attempts = []
        self._ident = None

    @classmethod
    def new(cls, mode, n, key_pem, secret_id, secret, prefix="kill"):
        key = serialization.load_pem_private_key(key_pem.encode(), None)
        cn = "%s-%s-%d" % (prefix, mode, n)
        return cls(name=cn, mode=mode, cn=cn, tid="%s-%s" % (cn, os.urandom(6).hex()), secret=secret,
                   secret_id=secret_id, key_pem=key_pem, signer=sc.self_signed(key, cn).hex(),
                   csr=sc.make_csr(key, cn, secret).hex())

    def identity(self):
        if self._ident is None:
            ident = sc.Identity.__new__(sc.Identity)
            ident.key = serialization.load_pem_private_key(self.key_pem.encode(), None)
            ident.cn = self.cn
            ident.cert = sc.Cert(bytes.fromhex(self.signer))
            ident.spki = sc.spki_of(ident.key)
            self._ident = ident
        return self._ident

    def success(self):
        return next((a for a in self.attempts if a["outcome"] == "success"), None)

    def to_json(self):
        return {f: getattr(self, f) for f in self.FIELDS}


def load_devices(paths):
    out = []
    for p in paths:
        with open(p) as f:
            out.extend(Device(**d) for d in json.load(f))
    return out


def save_devices(path, devices):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump([d.to_json() for d in devices], f)
    os.replace(tmp, path)


class Factory:
    """Makes devices: a key each (a process per core) and a one-use secret
    each (`scepctl secret create`, several at once). Between rounds, in
    batches: made beside the rounds they would slow the server down, and
    with it the measured kill window."""

    def __init__(self, a, mode):
        self.a, self.mode, self.n, self.seconds = a, mode, 0, 0.0
        self.made = []
        self.ready = collections.deque()
        # forkserver: this process runs threads when the workers start.
        self.keys = ProcessPoolExecutor(max(1, os.cpu_count() or 1),
                                        mp_context=multiprocessing.get_context("forkserver"))

    def secret(self):
        a = self.a
        out = subprocess.run([a.scepctl, "--store", a.store, "secret", "create", "--ca", a.ca, "--policy", a.policy,
                              "--expires", "1d", "--json"], capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("scepctl secret create: exit %d: %s" % (out.returncode, out.stderr.strip()))
        d = json.loads(out.stdout)
        return d["id"], d["secret"]

    def make(self, count):
        t0 = time.monotonic()
        keys = [self.keys.submit(_genkey, self.a.key_bits) for _ in range(count)]
        with ThreadPoolExecutor(8) as ex:
            secrets = list(ex.map(lambda _: self.secret(), range(count)))
        for k, (sid, secret) in zip(keys, secrets):
            d = Device.new(self.mode, self.n, k.result(), sid, secret)
            self.n += 1
            self.made.append(d)
            self.ready.append(d)
        self.seconds += time.monotonic() - t0

    def take(self):
        if not self.ready:
            self.make(32)
        return self.ready.popleft()

    def close(self):
        self.keys.shutdown()


# ---------------------------------------------------------------- one request


def prepare(ep, dev):
    return ep.message(dev.identity(), "PKCSReq", dev.tid, bytes.fromhex(dev.csr))


def send(ep, dev, msg, phase):
    """POSTs the prepared message; records and returns the attempt:
    outcome success | failure | pending | cut (no HTTP 200 answer, or the
    connection broke) | bad (an HTTP 200 that is not a valid CertRep)."""
    req, nonce = msg
    rec = {"phase": phase, "time": time.time()}
    try:
        conn = http.client.HTTPConnection(ep.host, ep.port, timeout=HTTP_TIMEOUT)
        try:
            conn.request("POST", ep.path + "?operation=PKIOperation", body=req,
                         headers={"Content-Type": "application/x-pki-message"})
            r = conn.getresponse()
            status, ctype, retry_after, body = r.status, r.getheader("Content-Type", ""), r.getheader("Retry-After"), r.read()
        finally:
            conn.close()
    except (OSError, http.client.HTTPException) as e:
        rec.update(outcome="cut", http=None, detail="%s: %s" % (type(e).__name__, e))
        dev.attempts.append(rec)
        return rec
    rec["http"] = status
    rec["retry_after"] = retry_after
    if status != 200:
        rec.update(outcome="cut", detail="HTTP %d %r" % (status, body[:120]))
    elif ctype != "application/x-pki-message":
        rec.update(outcome="bad", detail="HTTP 200 with Content-Type %r: %r" % (ctype, body[:120]))
    else:
        try:
            reply = sc.read_cert_rep(body, ep.trusted, dev.tid, nonce, dev.identity())
            if reply.status == "SUCCESS":
                cert = sc.issued_cert(reply, dev.identity())
                rec.update(outcome="success", serial=cert.serial_hex(), sha256=cert.sha256(), pem=cert.pem())
            elif reply.status == "FAILURE":
                rec.update(outcome="failure", detail="%s: %s" % (reply.fail_info, reply.fail_text))
            else:
                rec.update(outcome="pending" if reply.status == "PENDING" else "bad", detail=reply.status)
        except Exception as e:  # noqa: BLE001 - any unreadable reply is a finding
            rec.update(outcome="bad", detail="unreadable CertRep: %s: %s" % (type(e).__name__, e))
    dev.attempts.append(rec)
    return rec


# ---------------------------------------------------------------- targets


def wait_ready(probe, proc, what, secs=15.0):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if probe():
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("%s exited with status %s before it was ready" % (what, proc.returncode))
        time.sleep(0.005)
    raise RuntimeError("%s not ready after %.0f s" % (what, secs))


def tcp_ok(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def unix_ok(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


class Process:
    """A server process this driver starts, SIGKILLs and starts again."""

    def __init__(self, cmd, env, logpath, probe, what):
        self.cmd, self.env, self.probe, self.what = cmd, env, probe, what
        self.log = open(logpath, "ab")
        self.proc = None
        self.starts = 0

    def up(self):
        if self.proc is not None and self.proc.poll() is None:
            return
        self.proc = subprocess.Popen(PDEATHSIG + self.cmd, env=self.env, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.starts += 1
        wait_ready(self.probe, self.proc, self.what)

    def kill(self):
        if self.proc is None or self.proc.poll() is not None:
            return 0
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        return 1

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class CgiChildren:
    """lighttpd's scep.cgi children: killed, never started (lighttpd forks
    one per request)."""

    def __init__(self, parent):
        self.parent = parent

    def _children(self):
        try:
            with open("/proc/%d/task/%d/children" % (self.parent, self.parent)) as f:
                pids = [int(p) for p in f.read().split()]
        except OSError:
            raise RuntimeError("lighttpd (pid %d) is gone" % self.parent)
        return [p for p in pids if self._is_cgi(p)]

    def _is_cgi(self, pid):
        try:
            with open("/proc/%d/stat" % pid) as f:
                stat = f.read()
        except OSError:
            return False
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        return comm == "scep.cgi" and fields[0] != "Z" and int(fields[1]) == self.parent

    def up(self):
        self._children()  # lighttpd still there

    def kill(self):
        n = 0
        for pid in self._children():
            try:
                fd = os.pidfd_open(pid)
            except OSError:
                continue
            try:
                # The pidfd pins the process: if it is still lighttpd's
                # scep.cgi, the signal cannot reach a reused pid.
                if self._is_cgi(pid):
                    signal.pidfd_send_signal(fd, signal.SIGKILL)
                    n += 1
            except OSError:
                pass
            finally:
                os.close(fd)
        return n

    def stop(self):
        pass


def make_target(a):
    if a.mode == "serve":
        return Process([a.scepctl, "--store", a.store, "serve", "--listen", "127.0.0.1:%d" % a.port], None, a.log,
                       lambda: tcp_ok(a.port), "scepctl serve")
    if a.mode == "fastcgi":
        env = dict(os.environ, SCEP_STORE=a.store, SCEP_FASTCGI_THREADS=str(max(8, a.concurrency)))
        return Process(["spawn-fcgi", "-n", "-s", a.socket, "-M", "0600", "--", a.scep_cgi], env, a.log,
                       lambda: unix_ok(a.socket), "scep.cgi under spawn-fcgi")
    if a.mode == "cgi":
        return CgiChildren(a.cgi_parent)
    raise ValueError(a.mode)


# ---------------------------------------------------------------- run


def cmd_run(a):
    rng = random.Random(a.seed)
    target = make_target(a)
    factory = Factory(a, a.mode)
    pool = ThreadPoolExecutor(a.concurrency)
    again = collections.deque()
    stats = collections.Counter()
    started = time.monotonic()

    def take(n):
        batch = []
        while again and len(batch) < n:
            batch.append(again.popleft())
        while len(batch) < n:
            batch.append(factory.take())
        return batch

    def one_round(delay):
        """Sends a batch; kills after DELAY seconds (None: no kill).
        Returns (kill counted, seconds until every answer was in)."""
        target.up()
        batch = take(a.concurrency)
        msgs = [prepare(ep, d) for d in batch]
        t0 = time.monotonic()
        futs = [pool.submit(send, ep, d, m, "under kills") for d, m in zip(batch, msgs)]
        counted = False
        if delay is not None:
            time.sleep(max(0.0, t0 + delay - time.monotonic()))
            open_now = sum(1 for f in futs if not f.done())
            if open_now:
                hit = target.kill()
                stats["processes_killed"] += hit
                counted = hit > 0
                stats["kills"] += counted
                stats["requests_open_at_kills"] += open_now if counted else 0
            else:
                stats["kills_skipped_nothing_open"] += 1
        for d, f in zip(batch, futs):
            rec = f.result()
            stats["attempts"] += 1
            stats[rec["outcome"]] += 1
            if rec["outcome"] == "cut" and len(d.attempts) < a.tries:
                again.append(d)
        return counted, time.monotonic() - t0

    try:
        # What a run takes here today (about 3.5 a kill); more when needed.
        factory.make(3 * a.kills + 4 * a.concurrency)
        target.up()
        ep = sc.Endpoint(a.url, a.ca, timeout=HTTP_TIMEOUT)
        ep.get_ca_cert()
        # Calibration: how long CONCURRENCY requests take here, unkilled;
        # again every 25th round, as the machine's load changes. (Rounds
        # whose kill found nothing open would bias it: short ones only.)
        took = [one_round(None)[1] for _ in range(3)]

        def kill_window():
            recent = sorted(took[-5:])
            return min(a.max_delay, max(0.03, recent[len(recent) // 2]))

        log("%s: %d requests at once take %s s; kill delay 0-%.0f ms" %
            (a.mode, a.concurrency, "/".join("%.3f" % t for t in took), kill_window() * 1000))
        rounds, windows = 0, []
        while stats["kills"] < a.kills:
            rounds += 1
            if rounds > 4 * a.kills + 20:
                raise RuntimeError("only %d kills struck open requests in %d rounds" % (stats["kills"], rounds - 1))
            if rounds % 25 == 0:
                took.append(one_round(None)[1])
                continue
            window = kill_window()
            windows.append(window)
            one_round(rng.uniform(0.0, window))
        max_delay = max(windows, default=0.0)
    finally:
        pool.shutdown(wait=True)
        target.stop()
        factory.close()
        save_devices(a.devices, factory.made)
    sent = [d for d in factory.made if d.attempts]
    summary = {
        "mode": a.mode, "rounds": rounds, "seconds": round(time.monotonic() - started, 1),
        "max_delay_ms": round(max_delay * 1000), "mean_window_ms": round(1000 * sum(windows) / max(1, len(windows))),
        "make_devices_s": round(factory.seconds, 1), "devices": len(sent),
        "devices_with_success": sum(1 for d in sent if d.success()),
        "devices_cut_at_least_once": sum(1 for d in sent if any(x["outcome"] == "cut" for x in d.attempts)),
        "retried_and_succeeded": sum(1 for d in sent if d.success() and d.attempts[0]["outcome"] != "success"),
        "devices_answered_failure": sum(1 for d in sent if any(x["outcome"] == "failure" for x in d.attempts)),
        "devices_left_without_success": sum(1 for d in sent if not d.success()),
        "server_starts": getattr(target, "starts", 0),
    }
    summary.update(stats)
    print(json.dumps(summary, sort_keys=True))
    return 0


# ---------------------------------------------------------------- retry


def cmd_retry(a):
    ep = sc.Endpoint(a.url, a.ca, timeout=HTTP_TIMEOUT)
    ep.get_ca_cert()
    files = [(p, load_devices([p])) for p in a.devices]
    todo = [d for _, ds in files for d in ds if d.attempts and not d.success()]

    def go(d):
        return send(ep, d, prepare(ep, d), a.phase)

    with ThreadPoolExecutor(a.concurrency) as ex:
        recs = list(ex.map(go, todo))
    for p, ds in files:
        save_devices(p, ds)
    by = collections.Counter(r["outcome"] for r in recs)
    examples = ["%s: %s %s" % (d.cn, r["outcome"], r.get("detail", "")) for d, r in zip(todo, recs)
                if r["outcome"] != "success"][:5]
    print(json.dumps({"retried": len(todo), "succeeded": by["success"], "outcomes": by, "examples": examples},
                     sort_keys=True))
    return 0


# ---------------------------------------------------------------- disk


def cmd_disk(a):
    ep = sc.Endpoint(a.url, a.ca, timeout=HTTP_TIMEOUT)
    ep.get_ca_cert()
    devices, in_a_row = [], 0
    with ProcessPoolExecutor(max(1, os.cpu_count() or 1)) as ex:
        keys = list(ex.map(_genkey, [a.key_bits] * a.max))
    for n in range(a.max):
        d = Device.new("disk", n, keys[n], a.secret_id, a.secret, prefix="full")
        devices.append(d)
        rec = send(ep, d, prepare(ep, d), "disk full")
        in_a_row = 0 if rec["outcome"] == "success" else in_a_row + 1
        if in_a_row >= a.stop_after:
            break
    save_devices(a.devices, devices)
    first_failure = next((i for i, d in enumerate(devices) if not d.success()), None)
    print(json.dumps({
        "sent": len(devices), "successes": sum(1 for d in devices if d.success()),
        "first_failure": first_failure,
        "failures": [{"cn": d.cn, "outcome": d.attempts[0]["outcome"], "http": d.attempts[0].get("http"),
                      "retry_after": d.attempts[0].get("retry_after"), "detail": d.attempts[0].get("detail", "")}
                     for d in devices if not d.success()],
    }, sort_keys=True))
    return 0


# ---------------------------------------------------------------- verify


class Findings:
    def __init__(self, stage):
        self.stage, self.items = stage, []

    def add(self, what, examples=(), count=None):
        ex = list(examples)
        n = len(ex) if count is None else count
        if n == 0:
            return
        text = "%s: %s" % (self.stage, what % n if "%d" in what else what)
        if ex:
            text += "; e.g. " + "; ".join(str(e) for e in ex[:4])
        self.items.append(text)
        print("FINDING: " + text, flush=True)


def read_audit(path, findings):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        data = b""
    lines = data.split(b"\n")
    torn = []
    if data and not data.endswith(b"\n"):
        findings.add("audit.log does not end with a newline (a torn last line)", [repr(lines[-1][:120])], count=1)
    events = []
    for n, line in enumerate(lines[:-1] if data.endswith(b"\n") else lines, 1):
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict) or "outcome" not in rec:
                raise ValueError("not an object with an outcome")
        except ValueError as e:
            torn.append("line %d (%s): %r" % (n, e, line[:160]))
            continue
        events.append(rec)
    findings.add("%d audit.log line(s) are not JSON objects with an outcome (torn or glued)", torn)
    return events, len(lines) - 1


def cmd_verify(a):
    F = Findings(a.stage)
    everyone = load_devices(a.devices)
    # --mode: the findings that belong to devices (what they saw, their
    # certificates, their secrets) are of that mode's devices only; a
    # certificate or secret of no device is everyone's finding.
    devices = [d for d in everyone if not a.mode or d.mode == a.mode]
    mine_cn = {d.cn for d in devices}
    mine_secret = {d.secret_id for d in devices}
    known_cn = {d.cn for d in everyone}
    known_secret = {d.secret_id for d in everyone}
    with open(a.certs) as f:
        certs = json.load(f)
    with open(a.secrets) as f:
        secrets = json.load(f)
    events, audit_lines = read_audit(a.audit, F)
    mode_of_cn = {d.cn: d.mode for d in everyone}

    def cn_of(c):
        return c["subject"][3:] if c["subject"].startswith("CN=") else c["subject"]

    # The store's certificates: serials unique.
    by_serial = {}
    dups = []
    for c in certs:
        s = norm_serial(c["serial"])
        if s in by_serial:
            dups.append(c["serial"])
        by_serial[s] = c
    F.add("%d serial(s) appear twice in `scepctl certs`", dups)
    by_cn = collections.defaultdict(list)
    for c in certs:
        by_cn[cn_of(c)].append(c)

    # audit.log: one "issued" line per serial, attributed to a secret.
    issued = collections.defaultdict(list)
    for e in events:
        if e.get("outcome") == "issued" and e.get("serial"):
            issued[norm_serial(e["serial"])].append(e)
    F.add("%d serial(s) have more than one \"issued\" audit line",
          ["%s x%d" % (format(s, "X"), len(v)) for s, v in issued.items() if len(v) > 1])
    F.add("%d \"issued\" audit line(s) name a serial that is not in the store",
          [format(s, "X") for s in issued if s not in by_serial])
    orphans = [c for s, c in by_serial.items() if s not in issued and (cn_of(c) in mine_cn or cn_of(c) not in known_cn)]
    F.add("%d orphan certificate(s): in the store with no \"issued\" audit line",
          ["%s %s" % (c["serial"], c["subject"]) for c in orphans])

    # Secrets: uses spent == distinct serials issued with the secret.
    serials_of = collections.defaultdict(set)
    for s, evs in issued.items():
        for e in evs:
            if e.get("secret_id"):
                serials_of[e["secret_id"]].add(s)
    unattributed, unspent = [], []
    spent_total = 0
    for s in secrets:
        if s["id"] in known_secret and s["id"] not in mine_secret:
            continue
        spent = s["uses"] - s["uses_left"]
        spent_total += spent
        got = len(serials_of.get(s["id"], ()))
        if spent > got:
            unattributed.append((s["id"], spent, got))
        elif spent < got:
            unspent.append((s["id"], spent, got))
    F.add("secret uses spent with no certificate issued for them (unattributed): %d use(s)" % sum(
        sp - g for _, sp, g in unattributed),
          ["%s spent %d, issued %d" % x for x in unattributed], count=sum(sp - g for _, sp, g in unattributed))
    F.add("certificates issued beyond the uses spent: %d" % sum(g - sp for _, sp, g in unspent),
          ["%s spent %d, issued %d" % x for x in unspent], count=sum(g - sp for _, sp, g in unspent))

    # What the devices saw.
    lost, differ, answered, several, missing_final = [], [], collections.defaultdict(dict), [], []
    for d in devices:
        for x in d.attempts:
            if x["outcome"] == "success":
                c = by_serial.get(norm_serial(x["serial"]))
                if c is None:
                    lost.append("%s got %s" % (d.cn, x["serial"]))
                elif norm_fp(c["sha256"]) != norm_fp(x["sha256"]):
                    differ.append("%s got %s with SHA-256 %s, the store has %s" % (d.cn, x["serial"], x["sha256"],
                                                                                   c["sha256"]))
            elif x["outcome"] in ("failure", "pending", "bad") and d.cn not in answered[x["outcome"]]:
                answered[x["outcome"]][d.cn] = "%s (%s, %s): %s" % (d.cn, d.mode, x["phase"], x.get("detail", ""))
        mine = by_cn.get(d.cn, [])
        if len(mine) > 1:
            several.append("%s: %s" % (d.cn, ", ".join(c["serial"] for c in mine)))
        if a.final and d.attempts:
            ok = d.success()
            if ok is None:
                missing_final.append("%s (%s): never SUCCESS; last: %s %s" % (
                    d.cn, d.mode, d.attempts[-1]["outcome"], d.attempts[-1].get("detail", "")))
            elif not mine:
                lost.append("%s: no certificate in the store" % d.cn)
            else:
                # Every SUCCESS it saw carries that one certificate.
                for x in d.attempts:
                    if x["outcome"] == "success" and norm_serial(x["serial"]) != norm_serial(mine[0]["serial"]):
                        differ.append("%s got %s, its certificate in the store is %s" % (d.cn, x["serial"],
                                                                                         mine[0]["serial"]))
    F.add("%d SUCCESS answer(s) name a serial that is not in the store", lost)
    F.add("%d SUCCESS answer(s) carry another certificate than the store's", differ)
    F.add("%d device(s) have more than one certificate in the store", several)
    F.add("%d device(s) were answered FAILURE (a definitive answer; e.g. \"already used\" on a retry)",
          answered["failure"].values())
    F.add("%d device(s) were answered PENDING", answered["pending"].values())
    F.add("%d device(s) got an HTTP 200 that is not a valid CertRep", answered["bad"].values())
    if a.final:
        F.add("%d device(s) that were cut off did not get their certificate on retry", missing_final)
        one_use = {s["id"]: s for s in secrets if s["uses"] == 1}
        left = [d.cn for d in devices if d.attempts and d.secret_id in one_use and one_use[d.secret_id]["uses_left"]]
        F.add("%d device(s) hold a certificate while their one-use secret keeps its use", left)

    # Per mode, for the log.
    per_mode = collections.defaultdict(collections.Counter)
    for d in everyone:
        m = per_mode[d.mode]
        if d.attempts:
            m["devices"] += 1
            m["success_seen"] += 1 if d.success() else 0
    for c in orphans:
        per_mode[mode_of_cn.get(c["subject"][3:], "?")]["orphans"] += 1
    sid_mode = {d.secret_id: d.mode for d in everyone}
    for sid, sp, g in unattributed:
        per_mode[sid_mode.get(sid, "?")]["unattributed_uses"] += sp - g
    print(json.dumps({"stage": a.stage, "mode": a.mode or "all", "certificates": len(certs), "audit_lines": audit_lines,
                      "issued_lines": sum(len(v) for v in issued.values()), "secret_uses_spent": spent_total,
                      "orphans": len(orphans), "unattributed_uses": sum(sp - g for _, sp, g in unattributed),
                      "findings": len(F.items), "per_mode": per_mode}, sort_keys=True))
    return 1 if F.items else 0


# ---------------------------------------------------------------- main


def main(argv):
    p = argparse.ArgumentParser(prog="kill_load.py")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--mode", required=True, choices=["serve", "cgi", "fastcgi"])
    r.add_argument("--url", required=True)
    r.add_argument("--ca", required=True)
    r.add_argument("--store", required=True)
    r.add_argument("--scepctl", required=True)
    r.add_argument("--policy", required=True)
    r.add_argument("--devices", required=True)
    r.add_argument("--kills", type=int, default=100)
    r.add_argument("--concurrency", type=int, default=8)
    r.add_argument("--max-delay", type=float, default=0.3)
    r.add_argument("--key-bits", type=int, default=1024)
    r.add_argument("--seed", type=int, default=None)
    r.add_argument("--tries", type=int, default=5)
    r.add_argument("--port", type=int)
    r.add_argument("--log")
    r.add_argument("--cgi-parent", type=int)
    r.add_argument("--socket")
    r.add_argument("--scep-cgi")
    t = sub.add_parser("retry")
    t.add_argument("--url", required=True)
    t.add_argument("--ca", required=True)
    t.add_argument("--devices", required=True, nargs="+")
    t.add_argument("--concurrency", type=int, default=8)
    t.add_argument("--phase", default="final retry")
    k = sub.add_parser("disk")
    k.add_argument("--url", required=True)
    k.add_argument("--ca", required=True)
    k.add_argument("--secret", required=True)
    k.add_argument("--secret-id", required=True)
    k.add_argument("--devices", required=True)
    k.add_argument("--max", type=int, default=40)
    k.add_argument("--stop-after", type=int, default=6)
    k.add_argument("--key-bits", type=int, default=1024)
    v = sub.add_parser("verify")
    v.add_argument("--stage", required=True)
    v.add_argument("--devices", required=True, nargs="+")
    v.add_argument("--certs", required=True)
    v.add_argument("--secrets", required=True)
    v.add_argument("--audit", required=True)
    v.add_argument("--final", action="store_true")
    v.add_argument("--mode")
    a = p.parse_args(argv)
    if a.cmd == "run":
        need = {"serve": ("port", "log"), "fastcgi": ("socket", "scep_cgi", "log"), "cgi": ("cgi_parent",)}[a.mode]
        for n in need:
            if getattr(a, n) is None:
                p.error("--mode %s needs --%s" % (a.mode, n.replace("_", "-")))
    return {"run": cmd_run, "retry": cmd_retry, "disk": cmd_disk, "verify": cmd_verify}[a.cmd](a)


if __name__ == "__main__":
    # The test's cleanup stops this process with SIGTERM: stop the servers too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main(sys.argv[1:]))
