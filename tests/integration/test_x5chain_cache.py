#!/usr/bin/python3
"""x5chain issuers end to end (issue 22): bench/loadgen --x5chain registers
statements whose protected header carries a leaf + intermediate chain under
the test root of bench/x5pki, against scittd --trust-roots. Every one is
registered, the chain is validated about once (/metrics counts the cache's
hits and misses), a chain under roots scittd does not trust is refused every
time and never enters the cache, and --x5chain-cache 0 turns it off."""
import os
import re
import subprocess

from harness import Server, check, cleanup, curl, finish, tempdir

LOADGEN = os.environ["LOADGEN"]
X5PKI = os.environ["X5PKI"]


def loadgen(server, issuer, count):
    out = subprocess.run([LOADGEN, "--url", server.base, "--issuer", issuer, "--x5chain", "--count", str(count),
                          "--duration", "3", "--warmup", "0", "--connections", "1", "--streams", "8",
                          "--sign-threads", "1", "--timeout-ms", "30000"],
                         check=True, capture_output=True, text=True, timeout=120).stdout
    line = [ln for ln in out.splitlines() if ln.startswith("LOADGEN")][-1]
    return {k: v for k, v in re.findall(r"(\w+)=(\S+)", line)}


def cache_counts(server):
    text = curl(server.base + "/metrics").body.decode()
    get = lambda r: int(re.search(r'scittd_x5chain_cache_lookups_total\{result="%s"\} (\d+)' % r, text).group(1))
    return get("hit"), get("miss")


root = tempdir()
try:
    issuer, other = os.path.join(root, "issuer"), os.path.join(root, "other")
    for d in (issuer, other):
        subprocess.run([X5PKI, d], check=True)
    trusted = os.path.join(issuer, "x5chain", "root.pem")
    untrusted = os.path.join(other, "x5chain", "root.pem")

    s = Server(root, args=["--trust-roots", trusted, "--post-rate", "0", "--log-level", "warn"]).start()
    try:
        r = loadgen(s, issuer, 300)
        check(r["ok"] == "300" and r["errors"] == "0", "all 300 x5chain statements registered: %s" % r)
        hits, misses = cache_counts(s)
        check(hits + misses == 300, "one cache lookup per statement (%d hits, %d misses)" % (hits, misses))
        check(1 <= misses <= 8, "the chain validated about once, not per statement (%d misses)" % misses)
    finally:
        s.stop()

    s = Server(root, data=os.path.join(root, "data2"),
               args=["--trust-roots", untrusted, "--post-rate", "0", "--log-level", "warn"]).start()
    try:
        r = loadgen(s, issuer, 40)
        check(r["ok"] == "0" and r["errors"] == "40", "a chain under untrusted roots is refused every time: %s" % r)
        check(cache_counts(s) == (0, 40), "and never enters the cache: %s" % (cache_counts(s),))
    finally:
        s.stop()

    s = Server(root, data=os.path.join(root, "data3"),
               args=["--trust-roots", trusted, "--x5chain-cache", "0", "--post-rate", "0", "--log-level", "warn"]).start()
    try:
        r = loadgen(s, issuer, 40)
        check(r["ok"] == "40", "--x5chain-cache 0: still registered: %s" % r)
        check(cache_counts(s) == (0, 0), "--x5chain-cache 0: no cache lookups")
    finally:
        s.stop()
finally:
    cleanup(root)
finish()
