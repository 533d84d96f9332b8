#!/usr/bin/python3
"""The lease holder's direct path on PostgreSQL (issue 17; suite pg, needs
$SCITT_TEST_DATABASE from tests/tools/pgtmp):
  - one process at light load commits its own statements directly: 201s
    whose receipts verify, scittd_direct_commit_total counts them and
    scittd_queue_put_total stays 0;
  - a follower's statements still go through the hand-off queue (its
    queue_put_total counts them, it commits nothing) and the holder logs
    them: 201 from the follower, 200 on the holder;
  - a direct commit that waits (a transaction holds the log row) is queued
    as well, so the POST still gets its 202 + Location at --register-wait-ms,
    then 204, then 200 once the commit goes through; after it the holder
    goes back to the direct path."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import *  # noqa: E402,F403

if not ON_PG:
    print("skip: needs $SCITT_TEST_DATABASE (run under tests/tools/pgtmp)")
    sys.exit(77)

COSE = ["content-type: application/cose"]
WAIT_MS = 3000  # --register-wait-ms of the holder: a direct batch is queued after WAIT_MS / 2


def metric(srv, name):
    """The value of an unlabelled metric, or None."""
    for line in curl(srv.base + "/metrics").body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def wait_metric(srv, name, value, timeout=10):
    t0 = time.time()
    while time.time() - t0 < timeout and metric(srv, name) != value:
        time.sleep(0.05)
    return metric(srv, name)


root = tempdir()
logdir = os.path.join(root, "log")  # names the database (database_for), also for WriterLock
servers = []
try:
    iss = Issuer(root)
    args = ["--issuer-keys", iss.keys_dir, "--keys", os.path.join(root, "keys"), "--database", database_for(logdir),
            "--lease-ms", "1500"]
    issuer_pem = os.path.join(iss.keys_dir, "issuer.pem")
    a = Server(root, data=os.path.join(root, "a"), args=args + ["--register-wait-ms", str(WAIT_MS)]).start()
    servers.append(a)
    check(wait_metric(a, "scittd_sequencer", 1) == 1, "the only process holds the sequencer lease")
    log_pem = os.path.join(root, "log.pem")
    log_key_pem(curl(a.base + "/.well-known/scitt-keys", headers=["accept: application/cbor"]).body, log_pem)

    # 1. One process, light load: the direct path only.
    stmts = [iss.statement("direct %d" % i) for i in range(12)]
    got = [curl(a.base + "/entries", "POST", COSE, st) for st in stmts]
    check(all(r.status == 201 for r in got), "12 POSTs one at a time: 201 (%s)" % sorted({r.status for r in got}))
    ok, out = verify_receipt(root, stmts[-1], got[-1].body, log_pem, issuer_pem)
    check(ok, "a directly committed receipt verifies (%s)" % out.strip()[-200:])
    check(metric(a, "scittd_direct_commit_total") == 12, "scittd_direct_commit_total counts the 12 (%s)" %
          metric(a, "scittd_direct_commit_total"))
    check(metric(a, "scittd_queue_put_total") == 0, "nothing was queued (queue puts %s)" %
          metric(a, "scittd_queue_put_total"))
    g = curl(a.base + "/entries/" + entry_id(stmts[0]))
    check(g.status == 200 and g.body == got[0].body, "GET of a directly committed entry: 200, the same receipt")
    r = curl(a.base + "/entries", "POST", COSE, stmts[3])
    check(r.status == 201 and r.body == got[3].body, "a repeat: 201 with the first receipt")

    # 2. A follower queues; the holder logs its statements.
    b = Server(root, data=os.path.join(root, "b"), args=args + ["--register-wait-ms", "20000"]).start()
    servers.append(b)
    check(metric(b, "scittd_sequencer") == 0, "a second process follows")
    direct_before = metric(a, "scittd_direct_commit_total")
    fst = [iss.statement("via the follower %d" % i) for i in range(5)]
    got = [curl(b.base + "/entries", "POST", COSE, st) for st in fst]
    check(all(r.status == 201 for r in got), "POSTs to the follower: 201 (%s)" % sorted({r.status for r in got}))
    check(metric(b, "scittd_queue_put_total") == 5 and metric(b, "scittd_direct_commit_total") == 0,
          "the follower queued all 5 and committed none")
    check(metric(a, "scittd_direct_commit_total") == direct_before, "the holder counts none of them as direct")
    for st, r in zip(fst, got):
        ok, out = verify_receipt(root, st, r.body, log_pem, issuer_pem)
        check(ok, "the follower's receipt verifies (%s)" % out.strip()[-120:])
        g = curl(a.base + "/entries/" + entry_id(st))
        check(g.status == 200 and g.body == r.body, "the holder serves it: 200, the same receipt")
    b.stop()
    servers.remove(b)

    # 3. A direct commit that waits is queued too: 202 at --register-wait-ms.
    lock = WriterLock(logdir)
    try:
        st = iss.statement("a commit that waits")
        t0 = time.time()
        r = curl(a.base + "/entries", "POST", COSE, st)
        waited = time.time() - t0
        check(r.status == 202 and r.header("location") == "/entries/" + entry_id(st),
              "POST while the commit waits: 202 + Location after %.1f s (%d)" % (waited, r.status))
        check(WAIT_MS / 1000 - 0.5 < waited < WAIT_MS / 1000 + 4, "the 202 came at --register-wait-ms")
        check(metric(a, "scittd_queue_put_total") == 1, "the waiting batch was queued (the promise is durable)")
        g = curl(a.base + "/entries/" + entry_id(st))
        check(g.status == 204, "GET while it waits: 204 (%d)" % g.status)
    finally:
        lock.release()
    t0 = time.time()
    while time.time() - t0 < 20 and g.status != 200:
        g = curl(a.base + "/entries/" + entry_id(st))
        time.sleep(0.05)
    check(g.status == 200, "once the commit goes through: 200")
    ok, out = verify_receipt(root, st, g.body, log_pem, issuer_pem)
    check(ok, "its receipt verifies (%s)" % out.strip()[-200:])
    # The slow commit sent the next statements through the queue; a fast one brings the direct path back.
    direct_before = metric(a, "scittd_direct_commit_total")
    got = [curl(a.base + "/entries", "POST", COSE, iss.statement("after %d" % i)) for i in range(5)]
    check(all(r.status == 201 for r in got), "POSTs after the wait: 201 (%s)" % sorted({r.status for r in got}))
    check(metric(a, "scittd_direct_commit_total") > direct_before, "the direct path is back")
    _, size, _ = verify_checkpoint(curl(a.base + "/checkpoint").body, curl(a.base + "/checkpoint.vkey").body.decode())
    _, entries, _ = fetch_tree(lambda p: curl(a.base + p).body, size)
    check(len(set(entries)) == len(entries) == 12 + 5 + 1 + 5, "every statement logged once (%d leaves)" % size)
    check(a.stop() == 0, "SIGTERM: exits 0")
finally:
    for s in servers:
        s.stop(timeout=10)
    cleanup(root)
finish()
