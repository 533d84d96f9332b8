#!/usr/bin/python3
"""Per-address rate limits (issue 19): --post-rate and --post-burst.

  flood      127.0.0.2 floods POST /entries: past its burst it gets 429 +
             Retry-After + problem details, while 127.0.0.1 registers at
             its own full rate, unthrottled; Retry-After is honest; metrics
  polls      GET of a pending entry (204) from one address past its burst:
             429; other reads from that address are not limited
  default    on with no option (a flood from one address meets 429), off
             with --post-rate 0
  client     `scitt register` under a small limit waits as Retry-After says
             and registers every statement
  help       scittd --help lists the options

Client addresses are loopback aliases (Linux routes all of 127/8 to lo).
"""
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import *  # noqa: E402,F403

SCITT = os.environ.get("SCITT", "build-release/tools/scitt/scitt")
COSE = [("content-type", "application/cose")]


def flood(h, body, n):
    """POST `body` n times on connection `h`, 90 streams at a time; the
    responses in order."""
    out = []
    while len(out) < n:
        sids = [h.send("POST", "/entries", COSE, body) for _ in range(min(90, n - len(out)))]
        out += h.wait(sids)
    return out


def metric(base, line_start):
    for ln in curl(base + "/metrics").body.decode().splitlines():
        if ln.startswith(line_start + " "):
            return float(ln.split()[-1])
    return None


def case_flood(root, iss):
    srv = Server(root, data=os.path.join(root, "flood"),
                 args=["--issuer-keys", iss.keys_dir, "--post-rate", "20", "--post-burst", "20"]).start()
    try:
        dup = iss.statement("flooded")
        polite_statements = [iss.statement("polite %d" % i) for i in range(40)]
        polite = {"statuses": [], "times": []}

        def polite_client():
            # 20 at once (its burst), then 20 more at 10 per second: all
            # within its own budget, whatever 127.0.0.2 does meanwhile.
            h = H2(srv.port, src="127.0.0.1")
            t0 = time.time()
            sids = [h.send("POST", "/entries", COSE, s) for s in polite_statements[:20]]
            polite["statuses"] += [r.status for r in h.wait(sids)]
            for s in polite_statements[20:]:
                time.sleep(0.1)
                polite["statuses"].append(h.request("POST", "/entries", COSE, s).status)
            polite["times"].append(time.time() - t0)
            h.close()

        attacker = H2(srv.port, src="127.0.0.2")
        th = threading.Thread(target=polite_client)
        t0 = time.time()
        th.start()
        rs = flood(attacker, dup, 600)
        elapsed = time.time() - t0
        th.join(120)
        ok = sum(r.status == 201 for r in rs)
        limited = [r for r in rs if r.status == 429]
        check(ok + len(limited) == len(rs), "flood: every answer is 201 or 429 (%s)" % sorted({r.status for r in rs}))
        check(len(limited) >= 300 and ok <= 20 + 20 * elapsed + 5,
              "flood: %d x 201 (burst 20 + 20/s over %.1fs), %d x 429" % (ok, elapsed, len(limited)))
        check(polite["statuses"] == [201] * 40,
              "127.0.0.1 registered all 40 at its own rate during the flood: %s" % sorted(set(polite["statuses"])))
        r = limited[0] if limited else Response(0, {}, b"")
        p = r.problem()
        ra = r.header("retry-after")
        check(p is not None and p.get(-1) == "Too Many Requests" and "per second" in p.get(-2, ""),
              "429 carries problem details: %r" % p)
        check(ra is not None and ra.isdigit() and 1 <= int(ra) <= 2, "429 carries Retry-After in seconds: %r" % ra)
        # Retry-After is honest: after it, a token is there.
        time.sleep(int(ra or 1) + 0.1)
        r = attacker.request("POST", "/entries", COSE, dup)
        check(r.status == 201, "after Retry-After the flooder registers again: %d" % r.status)
        attacker.close()
        got = metric(srv.base, 'scittd_rate_limited_total{route="register"}')
        check(got == len(limited), "scittd_rate_limited_total{route=register} %r = %d" % (got, len(limited)))
        check(metric(srv.base, "scittd_rate_limit_addresses") == 2, "two addresses tracked")
    finally:
        srv.stop()


def case_polls(root, iss):
    srv = Server(root, data=os.path.join(root, "polls"),
                 args=["--issuer-keys", iss.keys_dir, "--post-rate", "5", "--post-burst", "5",
                       "--register-wait-ms", "1000"]).start()
    lock = None
    try:
        st = iss.statement("pending")
        eid = entry_id(st)
        lock = WriterLock(srv.data)
        r = H2(srv.port, src="127.0.0.4").request("POST", "/entries", COSE, st)
        check(r.status == 202, "POST while the commit waits: 202 (%d)" % r.status)
        h = H2(srv.port, src="127.0.0.3")
        rs = h.wait([h.send("GET", "/entries/" + eid) for _ in range(30)])
        statuses = [x.status for x in rs]
        check(1 <= statuses.count(204) <= 12 and statuses.count(429) >= 15 and set(statuses) <= {204, 429},
              "30 polls of a pending entry from one address: %d x 204, %d x 429" % (statuses.count(204),
                                                                                  statuses.count(429)))
        r = next((x for x in rs if x.status == 429), None)
        check(r is not None and r.header("retry-after") and r.problem() is not None, "poll 429: Retry-After + problem")
        others = h.wait([h.send("GET", p) for p in ["/checkpoint", "/entries/" + "0" * 64, "/checkpoint.vkey"] * 5])
        check([x.status for x in others] == [200, 404, 200] * 5,
              "other reads from that address are not limited: %s" % [x.status for x in others])
        h.close()
        check(metric(srv.base, 'scittd_rate_limited_total{route="pending"}') == statuses.count(429),
              "scittd_rate_limited_total{route=pending} counts them")
    finally:
        if lock is not None:
            lock.release()
        srv.stop()


def case_default(root, iss):
    dup = iss.statement("default")
    for args, want in [([], "on"), (["--post-rate", "0"], "off")]:
        srv = Server(root, data=os.path.join(root, "default-" + want), args=["--issuer-keys", iss.keys_dir] + args)
        srv.start()
        try:
            h = H2(srv.port, src="127.0.0.5")
            t0 = time.time()
            rs = flood(h, dup, 1500)
            elapsed = time.time() - t0
            h.close()
            ok, limited = sum(r.status == 201 for r in rs), sum(r.status == 429 for r in rs)
            if want == "on":
                check(limited > 0 and ok <= 1000 + 100 * elapsed + 10,
                      "default (100/s, burst 1000): 1500 POSTs in %.1fs from one address: %d x 201, %d x 429"
                      % (elapsed, ok, limited))
            else:
                check(ok == 1500, "--post-rate 0: 1500 POSTs from one address all 201 (%d)" % ok)
        finally:
            srv.stop()


def case_client(root, iss):
    srv = Server(root, data=os.path.join(root, "client"),
                 args=["--issuer-keys", iss.keys_dir, "--post-rate", "2", "--post-burst", "2"]).start()
    try:
        files = []
        for i in range(6):
            path = os.path.join(root, "c%d.cose" % i)
            open(path, "wb").write(iss.statement("client %d" % i))
            files.append(path)
        t0 = time.time()
        p = subprocess.run([SCITT, "register", "--url", srv.base] + files, capture_output=True, text=True,
                           timeout=120)
        check(p.returncode == 0 and len(p.stdout.splitlines()) == 6,
              "scitt register of 6 at 2/s: every statement registered in %.1fs (rc %d) %s"
              % (time.time() - t0, p.returncode, p.stderr[-300:]))
        check(metric(srv.base, 'scittd_rate_limited_total{route="register"}') > 0, "... after 429s")
    finally:
        srv.stop()


root = tempdir()
try:
    usage = subprocess.run([SCITTD, "--help"], capture_output=True, text=True).stdout
    check(all(o in usage for o in ["--post-rate N", "--post-burst N", "--tokens FILE", "--client-ca FILE", "0 = off"]),
          "scittd --help lists --post-rate (0 = off), --post-burst, --tokens and --client-ca")
    iss = Issuer(root)
    case_flood(root, iss)
    case_polls(root, iss)
    case_default(root, iss)
    case_client(root, iss)
finally:
    cleanup(root)
finish()
