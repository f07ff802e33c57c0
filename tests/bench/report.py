#!/usr/bin/python3
"""Markdown report of tests/bench/run.sh: RESULTS.jsonl [PINNING-NOTE].

One row per scep-bench run, then the RSA floor and the ratios the targets
of issue 6 are stated in."""
import json
import statistics
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
pinning = sys.argv[2] if len(sys.argv) > 2 else ""


def find(label, mode, workers):
    for r in rows:
        if r["label"] == label and r["mode"] == mode and r["workers"] == workers:
            return r
    return None


def ms(r, key):
    return f"{r[key]:.2f}" if key in r else "-"


inproc = next((r for r in rows if r["label"] == "inproc"), None)
rows = [r for r in rows if r["label"] != "inproc"]

print("| server | mode | workers | requests | failed | per second | p50 ms | p99 ms | server CPU ms/req | CPU / floor |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    ratio = f"{r['cpu_over_floor']:.2f}" if "cpu_over_floor" in r else "-"
    print(f"| {r['label']} | {r['mode']} | {r['workers']} | {r['count']} | {r['failed']} | {r['per_s']:.1f} | "
          f"{ms(r, 'p50_ms')} | {ms(r, 'p99_ms')} | {ms(r, 'server_cpu_ms_per_req')} | {ratio} |")

ops = [r["rsa2048_private_op_ms"] for r in rows if "rsa2048_private_op_ms" in r]
op = statistics.median(ops)
print()
print(f"RSA-2048 private-key operation (EVP_PKEY_sign, thread CPU time, measured by scep-bench before each run): "
      f"median {op:.3f} ms (min {min(ops):.3f}, max {max(ops):.3f}); floor = 3 ops = {3 * op:.3f} ms of CPU per enrollment.")
if inproc:
    print(f"The protocol path alone (scep-bench-inproc: {inproc['count']} PKCSReqs through scep::Service over an "
          f"in-memory repository, one thread, no HTTP, no files): {inproc['cpu_ms_per_enrollment']:.2f} ms of CPU "
          f"per enrollment = {inproc['cpu_over_floor']:.2f} × its own floor of {inproc['floor_ms']:.3f} ms "
          f"(RSA op timed at {inproc['rsa2048_private_op_ms_before']:.3f} ms before the loop and "
          f"{inproc['rsa2048_private_op_ms_after']:.3f} ms after it).")
if pinning:
    print(f"Pinning: {pinning}.")
print()


def ratio_line(what, a, b, key, target=None, fmt="{:.2f}"):
    if not a or not b or not b.get(key):
        print(f"- {what}: n/a")
        return
    v = a[key] / b[key]
    verdict = ""
    if target is not None:
        verdict = " — met" if v >= target else " — NOT met"
        verdict = f" (target ≥ {target}){verdict}"
    print(f"- {what}: {fmt.format(v)}{verdict}")


print("Ratios (same run):")
top = max((r["workers"] for r in rows if r["mode"] == "enroll"), default=8)
serve = find("serve", "enroll", top)
ratio_line(f"serve / scepserver enrollments/s at {top} workers", serve, find("scepserver", "enroll", top), "per_s", 4)
ratio_line(f"fastcgi / serve enrollments/s at {top} workers", find("fastcgi", "enroll", top), serve, "per_s", 0.9)
ratio_line(f"cgi / serve enrollments/s at {top} workers", find("cgi", "enroll", top), serve, "per_s", 0.4)
for mode in ("caps", "cacert", "caps-wrk", "cacert-wrk"):
    gets = [r for r in rows if r["mode"] == mode and r["label"] == "serve"]
    for g in gets:
        ratio_line(f"serve / scepserver {mode} requests/s at {g['workers']} workers", g,
                   find("scepserver", mode, g["workers"]), "per_s", 1.5)
        ratio_line(f"  server CPU per request, scepserver / serve ({mode})", find("scepserver", mode, g["workers"]), g,
                   "server_cpu_ms_per_req")
what = {"cgi-noop": "a CGI program that answers at once",
        "cgi-openssl": "one that only starts OpenSSL (library, configuration, one fetch)",
        "cgi": "scep.cgi answering GetCACaps (no certificate parsed)"}
floor = [r for k in what for r in rows if r["label"] == k and r["mode"] == "caps-wrk"]
if floor:
    against = (f"against serve's {serve['per_s']:.1f} enrollments/s at {top} workers, whose 0.4× is "
               f"{0.4 * serve['per_s']:.1f}/s" if serve else "(no serve enrollment cell to compare with)")
    print(f"CGI floor (wrk; lighttpd mod_cgi set up as for scep.cgi) {against}:")
    for r in floor:
        ratio = f" = {r['per_s'] / serve['per_s']:.2f}× serve's enrollments/s" if serve else ""
        print(f"- {what[r['label']]}, {r['workers']} connections: {r['per_s']:.1f}/s{ratio}, "
              f"{r['server_cpu_ms_per_req']:.2f} ms of server CPU per request")
print("Server CPU per enrollment against the floor (3 RSA-2048 private operations):")
for r in rows:
    if r["mode"] == "enroll" and "cpu_over_floor" in r:
        if r["label"] == "scepserver":
            verdict = "(reference, no target)"
        else:
            verdict = "(target ≤ 1.25) — " + ("met" if r["cpu_over_floor"] <= 1.25 else "NOT met")
        print(f"- {r['label']} x{r['workers']}: server CPU {r['server_cpu_ms_per_req']:.2f} ms/enrollment = "
              f"{r['cpu_over_floor']:.2f} × floor {verdict}")
