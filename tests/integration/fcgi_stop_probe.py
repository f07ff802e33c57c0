#!/usr/bin/env python3
"""Does a FastCGI responder stop taking requests once told to stop?

Speaks FastCGI to SOCKET directly (no web server: nginx and lighttpd buffer
request bodies, so they cannot hold a request open inside the responder):

  1. request A: BEGIN_REQUEST, PARAMS and half of a POST body, then waits,
     so one of the responder's threads is busy reading A's body;
  2. sends SIGTERM to PID;
  3. request B, a whole GetCACaps on a new connection: it must get no answer
     within --quiet seconds (a stopping responder accepts nothing new);
  4. sends the rest of A's body: A must be answered in full (the request in
     progress is finished). The caller then checks that PID exits.

Prints one line and exits 0 when all of that held, 1 otherwise.

  fcgi_stop_probe.py SOCKET PID STORE [--quiet SECONDS]
"""
import argparse
import os
import signal
import socket
import struct
import sys
import time

BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6
RESPONDER = 1


def record(kind, request_id, content=b""):
    return struct.pack(">BBHHBx", 1, kind, request_id, len(content), 0) + content


def name_value(name, value):
    out = b""
    for part in (name, value):
        n = len(part)
        out += bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
    return out + name + value


def start(sock_path, params, request_id=1):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    body = b"".join(name_value(k.encode(), v.encode()) for k, v in params.items())
    s.sendall(record(BEGIN_REQUEST, request_id, struct.pack(">HB5x", RESPONDER, 0))
              + record(PARAMS, request_id, body) + record(PARAMS, request_id))
    return s


def read_response(s, timeout):
    """The STDOUT bytes up to END_REQUEST; None when nothing came in time."""
    s.settimeout(timeout)
    data, out = b"", b""
    try:
        while True:
            while len(data) < 8:
                chunk = s.recv(65536)
                if not chunk:
                    return None
                data += chunk
            _, kind, _, length, padding = struct.unpack(">BBHHBx", data[:8])
            while len(data) < 8 + length + padding:
                chunk = s.recv(65536)
                if not chunk:
                    return None
                data += chunk
            content, data = data[8:8 + length], data[8 + length + padding:]
            if kind == STDOUT:
                out += content
            elif kind == END_REQUEST:
                return out
    except (socket.timeout, ConnectionError):
        return None


def sockets(pid):
    # Sockets only: the process may still be starting (its eventfd and the
    # like appear then), but only an accepted connection adds a socket.
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except FileNotFoundError:
            pass
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socket")
    ap.add_argument("pid", type=int)
    ap.add_argument("store")
    ap.add_argument("--quiet", type=float, default=2.0)
    args = ap.parse_args()
    common = {"SCEP_STORE": args.store, "REMOTE_ADDR": "127.0.0.1", "SCRIPT_NAME": "/scep", "PATH_INFO": ""}
    body = b"\x30" + b"\x00" * 999  # not a pkiMessage: A is answered 400, which is still an answer
    before = sockets(args.pid)
    a = start(args.socket, dict(common, REQUEST_METHOD="POST", QUERY_STRING="operation=PKIOperation",
                                CONTENT_TYPE="application/x-pki-message", CONTENT_LENGTH=str(len(body))))
    a.sendall(record(STDIN, 1, body[:500]))
    # A is accepted when the process holds one socket more. Its parameters
    # are read inside FCGX_Accept_r before the request counts as in
    # progress (a SIGTERM in that window ends the process at once: see
    # scep.cgi(8)), so give it a moment more; its thread then waits for the
    # rest of the body.
    deadline = time.monotonic() + 10
    while sockets(args.pid) <= before:
        if time.monotonic() > deadline:
            print("FAIL: the first request was never accepted")
            return 1
        time.sleep(0.02)
    time.sleep(0.5)
    os.kill(args.pid, signal.SIGTERM)
    time.sleep(1.0)  # the signal is taken before B connects
    b = start(args.socket, dict(common, REQUEST_METHOD="GET", QUERY_STRING="operation=GetCACaps"))
    b.sendall(record(STDIN, 1))
    late = read_response(b, args.quiet)
    b.close()
    if late:
        print(f"FAIL: a request sent after SIGTERM was answered: {late[:60]!r}")
        return 1
    a.sendall(record(STDIN, 1, body[500:]) + record(STDIN, 1))
    answer = read_response(a, 10)
    a.close()
    if not answer or not answer.startswith(b"Status: 400"):
        print(f"FAIL: the request in progress at SIGTERM got {answer[:60] if answer else None!r}, want Status: 400")
        return 1
    print("ok: nothing new taken after SIGTERM, the request in progress answered")
    return 0


if __name__ == "__main__":
    sys.exit(main())
