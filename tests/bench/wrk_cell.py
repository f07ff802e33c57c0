#!/usr/bin/python3
"""One GET cell of tests/bench/run.sh driven by wrk (Debian package wrk), an
epoll load client that costs far less per request than scep-bench's
thread-per-connection client, so the server, not the client, is the limit.

  wrk_cell.py --url URL --label L --mode caps|cacert --connections N --seconds S
              --server-pid PID [--server-pid PID ...] [--client-cpu CPU]

Prints one JSON line in scep-bench's layout (mode suffixed "-wrk"): requests/s,
p50/p99 latency, failed requests (non-2xx and socket errors) and the server
processes' CPU time per request, read from /proc/PID/stat around the run.
"""
import argparse
import json
import os
import re
import subprocess
import sys

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # utime stime cutime cstime: fields 14-17 of the whole line
        total += sum(int(x) for x in fields[11:15])
    return total / TICKS


def duration_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise ValueError(text)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[m.group(2)]
    return float(m.group(1)) * scale


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--label", required=True)
    ap.add_argument("--mode", required=True)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--server-pid", type=int, action="append", required=True)
    ap.add_argument("--client-cpu")
    a = ap.parse_args()
    query = {"caps": "operation=GetCACaps&message=bench", "cacert": "operation=GetCACert&message=bench"}[a.mode]
    cmd = ["wrk", "-t1", f"-c{a.connections}", f"-d{a.seconds}s", "--latency", f"{a.url}?{query}"]
    if a.client_cpu is not None:
        cmd = ["taskset", "-c", a.client_cpu] + cmd
    before = cpu_seconds(a.server_pid)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    after = cpu_seconds(a.server_pid)
    m = re.search(r"(\d+) requests in ([\d.]+)(s|m)", out)
    if not m:
        sys.exit(f"wrk_cell: cannot read wrk's output:\n{out}")
    requests = int(m.group(1))
    seconds = float(m.group(2)) * (60 if m.group(3) == "m" else 1)
    failed = 0
    if (m2 := re.search(r"Non-2xx or 3xx responses: (\d+)", out)):
        failed += int(m2.group(1))
    if (m3 := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)):
        failed += sum(int(x) for x in m3.groups())
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    ok = max(requests - failed, 0)
    row = {
        "label": a.label,
        "mode": f"{a.mode}-wrk",
        "workers": a.connections,
        "count": requests,
        "failed": failed,
        "per_s": ok / seconds if seconds else 0.0,
        "p50_ms": duration_ms(lat["50"]),
        "p99_ms": duration_ms(lat["99"]),
        "server_cpu_ms_per_req": (after - before) * 1000 / requests if requests else 0.0,
        "client": "wrk",
    }
    print(json.dumps(row))


if __name__ == "__main__":
    main()
