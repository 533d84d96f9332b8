#!/usr/bin/python3
"""Every GET through the reader pool (issue 17): scittd --reads-in-pool
sends each store read to the read workers, as it does with a database
whose reads are round trips, even on LMDB. Receipts, statements, 404s,
the checkpoint (also after a restart), hash tiles, entry bundles and audit
pages answer as they do inline; past 256 queued reads a GET answers 503 +
Retry-After and every other answer is still exact."""
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import *  # noqa: E402,F403

root = tempdir()
srv = None
try:
    iss = Issuer(root)
    args = ["--issuer-keys", iss.keys_dir, "--reads-in-pool", "--read-workers", "1"]
    srv = Server(root, args=args).start()
    B = srv.base
    issuer_pem = os.path.join(iss.keys_dir, "issuer.pem")
    log_pem = os.path.join(root, "log.pem")
    log_key_pem(curl(B + "/.well-known/scitt-keys").body, log_pem)
    vkey = curl(B + "/checkpoint.vkey").body.decode()

    r = curl(B + "/checkpoint")
    origin, size, rt = verify_checkpoint(r.body, vkey)
    check(r.status == 200 and size == 0 and rt == hashlib.sha256(b"").digest(), "empty log: size-0 checkpoint")
    missing = "ab" * 32
    check(curl(B + "/entries/" + missing).status == 404, "unknown entry: 404 from the pool")
    check(curl(B + "/entries/" + missing + "/statement").status == 404, "unknown statement: 404 from the pool")

    stmts = [iss.statement("pool %d" % i) for i in range(300)]
    h = H2(srv.port)
    got = []
    for i in range(0, len(stmts), 50):
        got += h.wait([h.send("POST", "/entries", [("content-type", "application/cose")], s)
                       for s in stmts[i:i + 50]])
    h.close()
    check(all(x.status == 201 for x in got), "300 registrations: all 201")

    bad = 0
    for s, x in list(zip(stmts, got))[::29]:
        eid = entry_id(s)
        r = curl(B + "/entries/" + eid)
        bad += r.status != 200 or r.body != x.body
        st = curl(B + "/entries/" + eid + "/statement")
        bad += st.status != 200 or len(st.body) <= len(s)
    check(bad == 0, "receipts and transparent statements from the pool equal the registrations'")
    ok, out = verify_receipt(root, stmts[7], curl(B + "/entries/" + entry_id(stmts[7])).body, log_pem, issuer_pem)
    check(ok, "a receipt read back verifies " + out.strip())

    cp = curl(B + "/checkpoint")
    origin, size, rt = verify_checkpoint(cp.body, vkey)
    check(size == 300, "checkpoint from the reader's cache: size 300 (got %d)" % size)

    def get(path):
        r = curl(B + path)
        assert r.status == 200, (path, r.status)
        return r.body

    leaves, entries, seen = fetch_tree(get, size)
    check(mth(leaves) == rt, "tiles from the pool: the root recomputed equals the checkpoint's")
    check(set(entries) == {bytes.fromhex(entry_id(s)) for s in stmts}, "entry bundles from the pool")
    check(curl(B + "/tile/0/002").status == 404 and curl(B + "/tile/0/001.p/45").status == 404
          and curl(B + "/tile/0/001.p/44").status == 200, "a tile past the tree: 404; a partial one within: 200")

    r = curl(B + "/entries?limit=5", headers=["accept: application/json"])
    check(r.status == 200 and r.body.startswith(b"{") and r.body.count(b'"id"') == 5,
          "audit page from the pool (%d: %r)" % (r.status, r.body[:80]))

    # A restart: the checkpoint is read once at start, then cached.
    check(srv.stop() == 0, "SIGTERM: exit 0")
    srv = Server(root, data=srv.data, args=args).start()
    B = srv.base
    check(curl(B + "/checkpoint").body == cp.body, "after a restart: the same checkpoint")

    # Past 256 queued reads: 503 + Retry-After; every other answer exact.
    # Audit pages of 300 entries (each decodes 300 statements) on one read
    # worker, 600 at once.
    page = "/entries?limit=300"
    want = get(page)
    conns = [H2(srv.port) for _ in range(6)]
    sids = [[c.send("GET", page) for _ in range(100)] for c in conns]
    answers = [a for c, s in zip(conns, sids) for a in c.wait(s, timeout=120)]
    for c in conns:
        c.close()
    busy = [a for a in answers if a.status == 503]
    check(all(a.status == 200 and a.body == want for a in answers if a.status != 503),
          "600 audit pages at once: every 200 is byte-exact")
    check(all(a.header("retry-after") for a in busy), "every 503 carries Retry-After")
    check(len(busy) > 0, "past 256 queued reads: 503 (%d of 600)" % len(busy))
    check(curl(B + "/healthz").status == 200, "healthy afterwards")
    check(srv.stop() == 0, "SIGTERM after the burst: exit 0")
    srv = None
finally:
    if srv is not None:
        srv.stop()
    cleanup(root)
finish()
