#!/usr/bin/python3
"""Restart: receipts, statements, checkpoint and tiles are served byte for byte
the same after a restart (with the receipt and tile caches off); SIGTERM with a registration in flight answers it
(201) before exiting 0; the log keeps growing consistently afterwards."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import *  # noqa: E402,F403

root = tempdir()
servers = []
try:
    iss = Issuer(root)
    args = ["--issuer-keys", iss.keys_dir, "--register-wait-ms", "20000"]
    srv = Server(root, args=args).start()
    servers.append(srv)
    B = srv.base
    stmts = [iss.statement("restart %d" % i) for i in range(20)]
    h = H2(srv.port)
    got = h.wait([h.send("POST", "/entries", [("content-type", "application/cose")], s) for s in stmts])
    h.close()
    check(all(r.status == 201 for r in got), "20 registrations 201")

    def snapshot(base, size):
        snap = {}
        for s in stmts:
            eid = entry_id(s)
            snap["/entries/" + eid] = curl(base + "/entries/" + eid).body
            snap["/entries/" + eid + "/statement"] = curl(base + "/entries/" + eid + "/statement").body
        for p in ["/.well-known/scitt-keys", "/checkpoint.vkey"]:
            snap[p] = curl(base + p).body
        _, _, tiles = fetch_tree(lambda p: curl(base + p).body, size)
        snap.update(tiles)
        return snap

    cp1 = curl(B + "/checkpoint").body
    vkey = curl(B + "/checkpoint.vkey").body.decode()
    _, size1, root1 = verify_checkpoint(cp1, vkey)
    before = snapshot(B, size1)

    # SIGTERM while a registration waits on the commit: it is answered.
    lock = WriterLock(srv.data)
    late = iss.statement("in flight at SIGTERM")
    result = {}

    def post():
        result["r"] = curl(B + "/entries", "POST", ["content-type: application/cose"], late)

    t = threading.Thread(target=post)
    t.start()
    time.sleep(0.7)
    srv.signal()
    time.sleep(0.5)
    check(srv.alive(), "scittd waits for the in-flight registration")
    lock.release()
    t.join(30)
    rc = srv.stop()
    check(rc == 0, "exit 0 after SIGTERM (got %r)" % rc)
    check(result.get("r") is not None and result["r"].status == 201, "in-flight POST answered 201 during shutdown")

    # Before, receipts came from the recent-receipt cache; now with both
    # caches off they are proved from the store alone: the same bytes.
    srv2 = Server(root, data=srv.data, args=args + ["--tile-cache-bytes", "0", "--receipt-cache-bytes", "0"]).start()
    servers.append(srv2)
    after = snapshot(srv2.base, size1)
    diff = [k for k in before if before[k] != after[k]]
    check(not diff, "receipts, statements, keys and tiles identical after restart, caches off %s" % diff[:3])
    cp2 = curl(srv2.base + "/checkpoint").body
    _, size2, root2 = verify_checkpoint(cp2, curl(srv2.base + "/checkpoint.vkey").body.decode())
    check(size2 == size1 + 1, "the in-flight entry was committed (size %d -> %d)" % (size1, size2))
    leaves, _, _ = fetch_tree(lambda p: curl(srv2.base + p).body, size2)
    check(mth(leaves) == root2 and mth(leaves[:size1]) == root1, "new checkpoint extends the old tree")
    r = curl(srv2.base + "/entries/" + entry_id(late))
    check(r.status == 200 and r.body == result["r"].body, "receipt of the in-flight entry served after restart")
    check(srv2.stop() == 0, "second run exits 0")
finally:
    for s in servers:
        s.stop(timeout=5)
    cleanup(root)
finish()
