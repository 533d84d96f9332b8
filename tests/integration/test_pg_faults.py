#!/usr/bin/python3
"""scittd on PostgreSQL when the database fails (issue 17, faults). A
cluster of its own (tests/tools/pgtmp), since the test stops it:
  1. database down at start: scittd waits --database-wait, then exits
     non-zero naming the libpq error;
  2. `pg_ctl stop -m fast` and start again under a stream of registrations:
     503s (with Retry-After and a problem body) or 202s while it is down,
     reads of statements 503, /healthz 503; then registrations succeed again;
  3. the writer's connection reset right after it sent COMMIT (through
     tests/tools/tcpcut.py, which also refuses new connections for a while,
     so the engine cannot settle it at once): the commit is in doubt, the
     POST waits (201 once settled) or turns into 202 (the batch in flight
     was queued from another connection), and once the database is reachable the batch is
     settled: committed (GET 200, receipt verifies) or, when the COMMIT
     never reached the server, rolled back and run again (GET 200 too);
  4. ALTER SYSTEM SET default_transaction_read_only = on + reload: POST 503,
     /healthz 503 "store unavailable", the log still readable; reset: 201.
After each: every statement answered 201 (or 200 on GET) is in the log with
a verifying receipt, and the log's size equals the number of distinct
statements registered (nothing doubled)."""
import importlib.machinery
import importlib.util
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
from harness import *  # noqa: E402,F403
from tcpcut import TcpCut  # noqa: E402


def load_pgtmp():
    path = os.path.join(HERE, "..", "tools", "pgtmp")
    loader = importlib.machinery.SourceFileLoader("pgtmp", path)
    spec = importlib.util.spec_from_loader("pgtmp", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


COSE = ["content-type: application/cose"]
WAIT_MS = 1000


def has_database_option():
    r = subprocess.run([SCITTD, "--help"], capture_output=True, text=True)
    return "--database" in (r.stdout + r.stderr)


if not has_database_option():
    print("SKIP: scittd was built without PostgreSQL (--database)")
    sys.exit(77)

pgtmp = load_pgtmp()


def metric(srv, name):
    body = curl(srv.base + "/metrics").body.decode()
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def checkpoint_size(srv):
    r = curl(srv.base + "/checkpoint")
    return int(r.body.decode().split("\n")[1]) if r.status == 200 else None


def wait_for(what, fn, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.2)
    return None


class Log:
    """What the test registered: statement -> the answer that counts."""

    def __init__(self, srv, root):
        self.srv, self.root = srv, root
        self.acked = {}  # entry id -> statement, answered 201 or found 200
        self.pending = {}  # entry id -> statement, answered 202 (promise; settled later)
        self.lock = threading.Lock()

    def post(self, stmt):
        r = curl(self.srv.base + "/entries", "POST", COSE, stmt)
        eid = entry_id(stmt)
        with self.lock:
            if r.status == 201:
                self.acked[eid] = stmt
            elif r.status == 202:
                self.pending[eid] = stmt
        return r

    def settle(self):
        """GET every 202: 200 joins the acknowledged; 404 (not committed) is
        dropped (its client submits again); 204 waits."""
        deadline = time.time() + 60
        while self.pending and time.time() < deadline:
            for eid, stmt in list(self.pending.items()):
                s = curl(self.srv.base + "/entries/" + eid).status
                if s == 200:
                    self.acked[eid] = stmt
                if s in (200, 404):
                    del self.pending[eid]
            time.sleep(0.3)
        check(not self.pending, "every 202 settles (200 or 404) once the database is back")

    def verify(self, what):
        """Every acknowledged statement is in the log with a verifying
        receipt, and the log holds nothing else."""
        keyset = curl(self.srv.base + "/.well-known/scitt-keys").body
        pem = os.path.join(self.root, "log.pem")
        log_key_pem(keyset, pem)
        bad = 0
        for eid, stmt in self.acked.items():
            r = curl(self.srv.base + "/entries/" + eid)
            ok = r.status == 200 and verify_receipt(self.root, stmt, r.body, pem, issuer_pem)[0]
            bad += not ok
        check(bad == 0, "%s: all %d acknowledged statements are in the log, receipts verify (%d bad)" %
              (what, len(self.acked), bad))
        size = checkpoint_size(self.srv)
        check(size == len(self.acked), "%s: the log holds %s entries, one per registered statement (%d)" %
              (what, size, len(self.acked)))


root = tempdir()
servers, cuts = [], []
cluster = pgtmp.start()
try:
    iss = Issuer(root)
    issuer_pem = os.path.join(iss.keys_dir, "issuer.pem")
    base_args = ["--issuer-keys", iss.keys_dir, "--register-wait-ms", str(WAIT_MS)]

    # 1. Database down at start.
    port = free_port()
    data = os.path.join(root, "down")
    t0 = time.time()
    p = subprocess.run([SCITTD, "--data", data, "--listen", "127.0.0.1:%d" % free_port(), "--database",
                        "postgresql://scitt@127.0.0.1:%d/postgres?connect_timeout=2" % port, "--database-wait", "2"] +
                       base_args, capture_output=True, text=True, timeout=60)
    took = time.time() - t0
    check(p.returncode != 0, "database down: scittd exits non-zero (%d)" % p.returncode)
    check(took >= 1.5, "after waiting --database-wait (%.1f s)" % took)
    check("waiting for the database" in p.stderr, "it says it waits: %r" % p.stderr[-300:])
    check("Connection refused" in p.stderr or "connection" in p.stderr.lower(),
          "and names the libpq error: %r" % p.stderr[-300:])

    # 2. pg_ctl stop -m fast, then start, under load.
    db = pgtmp.create_database(cluster.url)
    srv = Server(root, data=os.path.join(root, "d2"), args=base_args + ["--database", db]).start()
    servers.append(srv)
    log = Log(srv, root)
    check(log.post(iss.statement("before the outage")).status == 201, "a first registration")
    first_eid = next(iter(log.acked))
    statuses, stop_load = [], threading.Event()

    def load():
        i = 0
        while not stop_load.is_set():
            r = log.post(iss.statement("load %d" % i))
            statuses.append((r.status, r.header("retry-after"), r.problem()))
            i += 1

    t = threading.Thread(target=load)
    t.start()
    time.sleep(1.0)
    cluster.server_stop("fast")
    down_at = len(statuses)
    time.sleep(3.0)
    health = curl(srv.base + "/healthz")
    stmt_get = curl(srv.base + "/entries/" + first_eid + "/statement")
    cluster.server_start()
    up_at = len(statuses)
    ok_again = wait_for("201 again", lambda: any(s == 201 for s, _, _ in statuses[up_at:]), 60)
    time.sleep(1.0)
    stop_load.set()
    t.join(60)
    during = statuses[down_at:up_at]
    refused = [x for x in during if x[0] == 503]
    check(len(refused) > 0 or any(s == 202 for s, _, _ in during), "while down: 503 or 202 (%s)" %
          sorted(set(s for s, _, _ in during)))
    check(all(ra is not None and pr is not None for _, ra, pr in refused), "each 503 has Retry-After and a problem")
    check(all(s in (201, 202, 503) for s, _, _ in statuses), "no other status (%s)" % sorted(set(s for s, _, _ in statuses)))
    check(health.status == 503, "/healthz while down: 503 (%d %s)" % (health.status, health.problem()))
    check(stmt_get.status == 503 and stmt_get.header("retry-after") is not None and stmt_get.problem() is not None,
          "a statement GET while down: 503 + Retry-After + problem (%d)" % stmt_get.status)
    check(ok_again, "registrations succeed again after the restart")
    log.settle()
    log.verify("stop/start")
    check(curl(srv.base + "/healthz").status == 200, "/healthz 200 again")

    # 3. Connection reset right after COMMIT, through tcpcut.
    for forward in (True, False):
        cut = TcpCut("127.0.0.1", cluster.port)
        cuts.append(cut)
        db = pgtmp.create_database(cluster.url)
        via = db.replace("127.0.0.1:%d" % cluster.port, "127.0.0.1:%d" % cut.port)
        srv = Server(root, data=os.path.join(root, "d3-%d" % forward), args=base_args + ["--database", via]).start()
        servers.append(srv)
        log = Log(srv, root)
        check(log.post(iss.statement("first %d" % forward)).status == 201, "a first registration through the proxy")
        # The writer sends its transaction as one pipeline: Parse "BEGIN"
        # (a reader's BEGIN is a simple query naming its isolation level),
        # the batch, Parse "COMMIT", Sync. Cut there, the pipeline
        # forwarded whole or not at all.
        cut.arm(rb"COMMIT\x00", forward=forward, refuse_seconds=4.0, conn_seen=rb"P\x00\x00\x00\x0d\x00BEGIN\x00")
        stmt = iss.statement("cut %d" % forward)
        r = log.post(stmt)
        check(wait_for("the cut", lambda: not cut.armed(), 20), "the proxy cut the writer's connection after its COMMIT")
        # The holder's direct path holds the batch unanswered until it is
        # settled (201), unless a rescue queued it first (202).
        check(r.status in (201, 202, 503), "the POST in doubt: 201 or 202 (or 503 if settled as not committed) (%d)" %
              r.status)
        log.settle()
        eid = entry_id(stmt)
        outcome = "committed" if forward else "rolled_back"
        name = 'scittd_in_doubt_resolutions_total{outcome="%s"}' % outcome
        check(wait_for(outcome, lambda: metric(srv, name) == 1.0, 30),
              "the sequencer settled the commit in doubt as %s" % outcome)
        if forward:
            check(eid in log.acked, "the COMMIT reached the server: the entry is registered (GET 200)")
        elif r.status in (201, 202):
            check(eid in log.acked, "the COMMIT never reached the server: the batch ran again, GET 200")
        else:
            check(eid not in log.acked, "settled at once as not written (503): not registered")
            check(log.post(stmt).status == 201, "a retry registers it")
        log.verify("cut after COMMIT (forwarded=%s)" % forward)
        again = log.post(stmt)
        check(again.status == 201 and entry_id(stmt) in log.acked, "a repeat is a duplicate, not a new entry")
        log.verify("after a repeat")
        check(srv.stop() == 0, "exit 0")
        cut.close()

    # 4. Read-only database.
    db = pgtmp.create_database(cluster.url)
    srv = Server(root, data=os.path.join(root, "d4"), args=base_args + ["--database", db]).start()
    servers.append(srv)
    log = Log(srv, root)
    check(log.post(iss.statement("writable")).status == 201, "a registration while writable")
    pgtmp.psql(cluster.url, "ALTER SYSTEM SET default_transaction_read_only = on")
    pgtmp.psql(cluster.url, "SELECT pg_reload_conf()")
    time.sleep(1.0)  # new transactions see the setting
    r = log.post(iss.statement("read-only"))
    check(r.status == 503 and r.header("retry-after") is not None and r.problem() is not None,
          "read-only: POST 503 + Retry-After + problem (%d %s)" % (r.status, r.problem()))
    h = curl(srv.base + "/healthz")
    check(h.status == 503 and "store unavailable" in (h.problem() or {}).get(-2, ""),
          "read-only: /healthz 503 store unavailable (%d %s)" % (h.status, h.problem()))
    check(checkpoint_size(srv) == 1, "the log stays readable")
    pgtmp.psql(cluster.url, "ALTER SYSTEM RESET default_transaction_read_only")
    pgtmp.psql(cluster.url, "SELECT pg_reload_conf()")
    time.sleep(1.0)
    r = wait_for("201", lambda: log.post(iss.statement("writable again")).status == 201, 30)
    check(r, "writable again: 201")
    h = curl(srv.base + "/healthz")
    check(h.status == 200, "writable again: /healthz 200 (%d %s)" % (h.status, h.problem()))
    log.verify("read-only")
    check(srv.stop() == 0, "exit 0")
finally:
    for s in servers:
        s.stop(timeout=10)
    for c in cuts:
        c.close()
    cluster.stop()
    cleanup(root)
finish()
