#!/usr/bin/python3
"""Several scittd on one PostgreSQL log (issue 18; suite pg, needs
$SCITT_TEST_DATABASE from tests/tools/pgtmp). Three instances share one
database and one --keys folder:
  - a statement POSTed to one that is not sequencing gets 201 with a receipt
    that verifies, and every instance serves the same receipt;
  - the same statement POSTed to two instances at once is one entry: both
    201 with the same receipt;
  - a 202 from one instance (the sequencer paused) resolves to 200 on
    another;
  - kill -9 of the sequencing instance under load: another holds the lease
    within --lease-ms + 1 s; SIGSTOP of the next one for longer than the
    lease: a third takes over, and after SIGCONT the paused one follows;
  - throughout, the checkpoint each instance serves never goes backwards;
    at the end every statement answered 201/202 is in the log once, every
    entry is in the log once (no index given twice), receipts verify."""
import os
import random
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import *  # noqa: E402,F403

if not ON_PG:
    print("skip: needs $SCITT_TEST_DATABASE (run under tests/tools/pgtmp)")
    sys.exit(77)

COSE = ["content-type: application/cose"]
LEASE_MS = 1500


def metric(srv, name):
    """The value of an unlabelled metric, or None."""
    try:
        body = curl(srv.base + "/metrics").body.decode()
    except Exception:
        return None
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def holders(servers):
    return [s for s in servers if s.alive() and metric(s, "scittd_sequencer") == 1]


def wait_holder(servers, timeout):
    """The one instance holding the lease, waited for; (server, seconds)."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        h = holders(servers)
        if len(h) == 1:
            return h[0], time.time() - t0
        time.sleep(0.05)
    return None, time.time() - t0


root = tempdir()
servers = []
try:
    iss = Issuer(root)
    issuer_pem = os.path.join(iss.keys_dir, "issuer.pem")
    keys = os.path.join(root, "keys")
    db = database_for(os.path.join(root, "cluster"))
    base_args = ["--issuer-keys", iss.keys_dir, "--keys", keys, "--database", db, "--lease-ms", str(LEASE_MS)]
    a = Server(root, data=os.path.join(root, "a"), args=base_args + ["--register-wait-ms", "20000"]).start()
    servers.append(a)
    first, _ = wait_holder([a], 10)
    check(first is a, "the first instance takes the sequencer lease")
    b = Server(root, data=os.path.join(root, "b"), args=base_args + ["--register-wait-ms", "20000"]).start()
    c = Server(root, data=os.path.join(root, "c"), args=base_args + ["--register-wait-ms", "300"]).start()
    servers += [b, c]
    check(curl(b.base + "/healthz").status == 200 and curl(c.base + "/healthz").status == 200,
          "the others start beside it (no writer lock) and are healthy as followers")
    check(metric(b, "scittd_sequencer") == 0 and metric(c, "scittd_sequencer") == 0, "and do not sequence")

    r = curl(a.base + "/.well-known/scitt-keys", headers=["accept: application/cbor"])
    log_pem = os.path.join(root, "log.pem")
    log_key_pem(r.body, log_pem)
    vkey = curl(a.base + "/checkpoint.vkey").body.decode()

    acked = {}  # entry id -> statement, for every 201/202
    lock = threading.Lock()

    def post(srv, st):
        try:
            r = curl(srv.base + "/entries", "POST", COSE, st)
        except Exception:
            return None
        if r.status in (201, 202):
            with lock:
                acked[entry_id(st)] = st
        return r

    # 1. POST to a follower: 201 and a receipt that verifies; same receipt everywhere.
    st = iss.statement("to a follower")
    r = post(b, st)
    check(r.status == 201, "POST to a follower: 201 (%d)" % r.status)
    ok, out = verify_receipt(root, st, r.body, log_pem, issuer_pem)
    check(ok, "its receipt verifies (%s)" % out.strip()[-200:])
    eid = entry_id(st)
    for s in servers:
        g = curl(s.base + "/entries/" + eid)
        check(g.status == 200 and g.body == r.body, "GET on :%d: 200, the same receipt" % s.port)

    # 2. One statement to two instances at once: one entry.
    st = iss.statement("to two at once")
    got = {}
    ts = [threading.Thread(target=lambda s=s: got.__setitem__(s.port, post(s, st))) for s in (a, c)]
    [t.start() for t in ts]
    [t.join(60) for t in ts]
    codes = sorted(g.status for g in got.values() if g is not None)
    check(codes == [201, 201], "both instances answer 201 (%s)" % codes)
    bodies = set(g.body for g in got.values() if g is not None)
    check(len(bodies) == 1, "with the same receipt (one entry, one index)")

    # 3. A 202 from one instance resolves to 200 on another.
    a.proc.send_signal(signal.SIGSTOP)
    try:
        st = iss.statement("202 then 200")
        r = post(c, st)
        check(r.status == 202 and r.header("location") == "/entries/" + entry_id(st),
              "sequencer paused: 202 from a follower with its Location (%d)" % r.status)
        g = curl(b.base + r.header("location"))
        check(g.status in (204, 200), "another instance knows it (GET %d)" % g.status)
    finally:
        a.proc.send_signal(signal.SIGCONT)
    t0 = time.time()
    while time.time() - t0 < 10 and curl(b.base + "/entries/" + entry_id(st)).status != 200:
        time.sleep(0.1)
    check(curl(b.base + "/entries/" + entry_id(st)).status == 200, "then 200 on another instance")

    # Load and checkpoint watchers for the failover rounds.
    stop = threading.Event()
    backwards = []
    last_size = {}

    def watch():
        while not stop.is_set():
            for s in list(servers):
                if not s.alive():
                    continue
                try:
                    note = curl(s.base + "/checkpoint").body
                    _, size, _ = verify_checkpoint(note, vkey)
                except Exception:
                    continue
                key = (s.port, s.proc.pid if s.proc else 0)
                if size < last_size.get(key, 0):
                    backwards.append((s.port, last_size[key], size))
                last_size[key] = max(size, last_size.get(key, 0))
            time.sleep(0.05)

    def load(n):
        k = 0
        while not stop.is_set():
            live = [s for s in servers if s.alive()]
            k += 1
            post(random.choice(live), iss.statement("load %d %d" % (n, k)))

    threads = [threading.Thread(target=watch)] + [threading.Thread(target=load, args=(n,)) for n in range(3)]
    [t.start() for t in threads]
    try:
        # 4. kill -9 of the holder under load.
        time.sleep(1.5)
        holder, _ = wait_holder(servers, 5)
        check(holder is not None, "one instance holds the lease")
        holder.proc.send_signal(signal.SIGKILL)
        holder.proc.wait()
        holder.stop()
        servers.remove(holder)
        nxt, took = wait_holder(servers, 10)
        check(nxt is not None and took <= LEASE_MS / 1000 + 1, "kill -9: another holds the lease in %.2f s" % took)
        time.sleep(1.5)

        # 5. SIGSTOP the new holder for longer than the lease.
        if nxt is not None:
            before = metric(nxt, "scittd_writer_epoch")
            nxt.proc.send_signal(signal.SIGSTOP)
            try:
                third, took = wait_holder([s for s in servers if s is not nxt], 10)
                check(third is not None and took <= 2 * LEASE_MS / 1000 + 2,
                      "SIGSTOP past the lease: another takes over in %.2f s" % took)
                check(third is not None and metric(third, "scittd_writer_epoch") > before, "under a newer epoch")
            finally:
                nxt.proc.send_signal(signal.SIGCONT)
            t0 = time.time()
            while time.time() - t0 < 5 and metric(nxt, "scittd_sequencer") != 0:
                time.sleep(0.1)
            check(metric(nxt, "scittd_sequencer") == 0, "SIGCONT: the paused one follows")
            check(len(holders(servers)) == 1, "one sequencer")
            time.sleep(1)
    finally:
        stop.set()
        [t.join(60) for t in threads]

    check(not backwards, "no instance's checkpoint went backwards (%s)" % backwards[:3])
    check(len(acked) > 20, "statements acknowledged under load: %d" % len(acked))

    # Everything acknowledged is in the log, once.
    live = [s for s in servers if s.alive()]
    missing = set(acked)
    t0 = time.time()
    while missing and time.time() - t0 < 20:
        for e in list(missing):
            if curl(random.choice(live).base + "/entries/" + e).status == 200:
                missing.discard(e)
        time.sleep(0.2)
    check(not missing, "every statement answered 201/202 is in the log (%d missing)" % len(missing))
    _, size, _ = verify_checkpoint(curl(live[0].base + "/checkpoint").body, vkey)
    _, entries, tiles = fetch_tree(lambda p: curl(live[-1].base + p).body, size)
    check(len(set(entries)) == len(entries), "no entry twice among %d leaves" % size)
    check(set(bytes.fromhex(e) for e in acked) <= set(entries), "every acknowledged entry is a leaf")
    for p, data in list(tiles.items())[:4]:
        check(curl(live[0].base + "/" + p).body == data, "instances serve the same %s" % p)
    for e in random.sample(sorted(acked), 3):
        g = curl(live[0].base + "/entries/" + e)
        ok, out = verify_receipt(root, acked[e], g.body, log_pem, issuer_pem)
        check(ok, "the receipt of %s... verifies" % e[:12])
    for s in live:
        check(s.stop() == 0, "SIGTERM: :%d exits 0" % s.port)
finally:
    for s in servers:
        if s.proc is not None:
            s.proc.send_signal(signal.SIGCONT)
        s.stop(timeout=10)
    cleanup(root)
finish()
