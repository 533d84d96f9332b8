#!/usr/bin/python3
"""/healthz reports a sequencer that cannot commit (issue 16 I):
  - full disk (RLIMIT_FSIZE just above data.mdb, as the soak does): once a
    commit fails, /healthz answers 503 with a problem body naming the
    reason, until a commit succeeds again (the limit lifted with prlimit);
  - a commit that does not return (another process holds LMDB's writer
    lock): 503 once the batch has taken longer than --register-wait-ms,
    200 again when it is done."""
import os
import resource
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import *  # noqa: E402,F403

COSE = ["content-type: application/cose"]


def health(srv):
    r = curl(srv.base + "/healthz")
    return r.status, (r.problem() or {}).get(-2, "")


root = tempdir()
servers = []
try:
    iss = Issuer(root)
    args = ["--issuer-keys", iss.keys_dir, "--register-wait-ms", "1000"]
    srv = Server(root, args=args).start()
    servers.append(srv)
    check(curl(srv.base + "/entries", "POST", COSE, iss.statement("first")).status == 201, "a first registration")
    check(health(srv)[0] == 200, "healthy")

    # A commit that does not return.
    lock = WriterLock(srv.data)
    result = {}
    t = threading.Thread(target=lambda: result.update(r=curl(srv.base + "/entries", "POST", COSE,
                                                             iss.statement("behind the lock"))))
    t.start()
    status, why = 200, ""
    deadline = time.time() + 20
    while status == 200 and time.time() < deadline:
        time.sleep(0.3)
        status, why = health(srv)
    check(status == 503 and "committing one batch" in why, "a stuck commit: 503 (%d: %s)" % (status, why))
    lock.release()
    t.join(30)
    check(result.get("r") is not None and result["r"].status in (201, 202), "the registration goes through")
    deadline = time.time() + 10
    while health(srv)[0] != 200 and time.time() < deadline:
        time.sleep(0.1)
    check(health(srv)[0] == 200, "healthy again once the commit returned")
    check(srv.stop() == 0, "exit 0")

    # Full disk: room for a few commits, then every write past the limit fails.
    # LMDB's file only (PostgreSQL's full disk: the pg fault tests).
    if ON_PG:
        print("skip: full disk is LMDB's data.mdb here")
    else:
        limit = os.path.getsize(os.path.join(srv.data, "data.mdb")) + (64 << 10)

        def preexec():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

        srv.preexec = preexec
        srv.start()
        status, why, failed, healthy = 200, "", False, True
        for i in range(200):
            r = curl(srv.base + "/entries", "POST", COSE, iss.statement("fill %d %s" % (i, "x" * 4000)))
            status, why = health(srv)
            if r.status != 201:
                failed = r.status == 503
                break
            healthy = healthy and status == 200
        check(healthy, "healthy while commits succeed")
        check(failed, "the disk fills: a registration answers 503")
        check(status == 503 and "cannot commit" in why and "no space" in why,
              "then /healthz: 503 naming the reason (%d: %s)" % (status, why))
        time.sleep(1.5)
        check(health(srv)[0] == 503, "and stays 503 while no commit succeeds")
        resource.prlimit(srv.proc.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        r = curl(srv.base + "/entries", "POST", COSE, iss.statement("room again"))
        check(r.status == 201, "room again: registrations succeed (%d)" % r.status)
        check(health(srv)[0] == 200, "and /healthz is 200 again")
        check(srv.stop() == 0, "exit 0")
finally:
    for s in servers:
        s.stop(timeout=5)
    cleanup(root)
finish()
