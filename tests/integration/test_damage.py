#!/usr/bin/python3
"""Damaged storage (issue 16 J, K, L), on the real scittd and a stopped store:

J  bits flipped in dedup.idx slots: after a restart every entry is still found
   by id, and registering the same statements again logs nothing new;
K  a byte flipped in a stored statement: GET /entries/{id}/statement and the
   entry bundle holding it answer 500 with a problem that says so, counted in
   /metrics; `scittd --check` exits 1 naming the entry (0 on a sound store),
   or naming a damaged signed checkpoint;
L  a truncated data.mdb: scittd refuses to start with a message (exit 1), no
   SIGBUS."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import *  # noqa: E402,F403

root = tempdir()
servers = []


def register_all(srv, stmts):
    h = H2(srv.port)
    got = h.wait([h.send("POST", "/entries", [("content-type", "application/cose")], s) for s in stmts])
    h.close()
    return got


def tree_size(srv):
    cp = curl(srv.base + "/checkpoint").body
    return verify_checkpoint(cp, curl(srv.base + "/checkpoint.vkey").body.decode())[1]


def scittd_check(data):
    return subprocess.run([SCITTD, "--check", "--data", data], capture_output=True, text=True, timeout=120)


def flip_slot_bits(path):
    """One bit flipped in every filled slot (a different bit each time)."""
    raw = bytearray(open(path, "rb").read())
    flipped = 0
    for off in range(4096, len(raw), 16):
        if any(raw[off:off + 16]):
            bit = (flipped * 37) % 128
            raw[off + bit // 8] ^= 1 << (bit % 8)
            flipped += 1
    open(path, "wb").write(bytes(raw))
    return flipped


try:
    iss = Issuer(root)
    args = ["--issuer-keys", iss.keys_dir, "--register-wait-ms", "20000"]
    srv = Server(root, args=args).start()
    servers.append(srv)
    # Large payloads: each statement sits alone in LMDB overflow pages.
    stmts = [iss.statement(("damage %d " % i) + "x" * 5000) for i in range(40)]
    got = register_all(srv, stmts)
    check(all(r.status == 201 for r in got), "40 registrations 201")
    # Statements verify in parallel, so their leaves need not follow the
    # submission order: the listing says which leaf each one got.
    listing = json.loads(curl(srv.base + "/entries?limit=1000", headers=["accept: application/json"]).body)
    leaf_of = {e["id"]: e["index"] for e in listing["entries"]}
    check(srv.stop() == 0, "first run exits 0")

    r = scittd_check(srv.data)
    check(r.returncode == 0 and "sound: 40 entries" in r.stdout, "--check on a sound store: exit 0 (%r %r)" %
          (r.returncode, r.stdout + r.stderr))

    # J: flipped bits in the entry index.
    n = flip_slot_bits(os.path.join(srv.data, "dedup.idx"))
    check(n == 40, "a bit flipped in each of the 40 filled slots (%d)" % n)
    srv = Server(root, data=srv.data, args=args).start()
    servers.append(srv)
    found = [curl(srv.base + "/entries/" + entry_id(s)).status for s in stmts]
    check(all(st == 200 for st in found), "every entry found by id after the restart %s" % found[:5])
    got = register_all(srv, stmts)
    check(all(r.status == 201 and r.header("location") == "/entries/" + entry_id(s) for r, s in zip(got, stmts)),
          "registering the same statements again: 201 with the same entries")
    check(tree_size(srv) == 40, "no entry logged twice (tree size %d)" % tree_size(srv))
    check(srv.stop() == 0, "second run exits 0")

    # K: a flipped byte in a stored statement.
    victim = 17
    mdb = os.path.join(srv.data, "data.mdb")
    raw = bytearray(open(mdb, "rb").read())
    at = raw.find(stmts[victim])
    check(at >= 0 and raw.find(stmts[victim], at + 1) < 0, "the statement is stored once in data.mdb")
    raw[at + len(stmts[victim]) - 100] ^= 0x20  # inside the payload
    open(mdb, "wb").write(bytes(raw))
    r = scittd_check(srv.data)
    leaf = leaf_of.get(entry_id(stmts[victim]))
    check(r.returncode == 1 and "entry %s:" % leaf in r.stderr,
          "--check exits 1 naming entry %s (%r %r)" % (leaf, r.returncode, r.stderr.strip()))
    srv = Server(root, data=srv.data, args=args).start()
    servers.append(srv)
    r = curl(srv.base + "/entries/" + entry_id(stmts[victim]) + "/statement")
    p = r.problem()
    check(r.status == 500 and p is not None and "entry hash" in p.get(-2, ""),
          "GET of the damaged statement: 500 with a problem naming it (%d %r)" % (r.status, p))
    r = curl(srv.base + "/" + tile_path(0, 0, 40, entries=True))
    check(r.status == 500 and r.problem() is not None, "the entry bundle holding it: 500 (%d)" % r.status)
    cp = curl(srv.base + "/checkpoint").body
    r = curl(srv.base + "/entries/" + entry_id(stmts[3]) + "/statement")
    check(r.status == 200, "an undamaged statement is still served")
    m = curl(srv.base + "/metrics").body.decode()
    check("scittd_damaged_reads_total 2" in m, "both damaged reads counted in /metrics")
    check(srv.stop() == 0, "third run exits 0")

    # --check also verifies every signed checkpoint: the entry repaired, the
    # latest checkpoint's signature damaged (every copy LMDB keeps of it).
    raw = bytearray(open(mdb, "rb").read())
    raw[at + len(stmts[victim]) - 100] ^= 0x20
    sig_at = cp.rindex(b" ") + 30  # inside the Ed25519 signature (past the 4-byte key id)
    copies = 0
    i = raw.find(cp)
    while i >= 0:
        raw[i + sig_at] = ord("A") if raw[i + sig_at] != ord("A") else ord("B")
        copies += 1
        i = raw.find(cp, i + 1)
    open(mdb, "wb").write(bytes(raw))
    r = scittd_check(srv.data)
    check(copies >= 1 and r.returncode == 1 and "checkpoint at size 40" in r.stderr,
          "--check names a damaged signed checkpoint (%d copies; %r %r)" % (copies, r.returncode, r.stderr.strip()))

    # L: a truncated data.mdb.
    size = os.path.getsize(mdb)
    with open(mdb, "r+b") as f:
        f.truncate(size // 2)
    p = subprocess.run([SCITTD, "--data", srv.data, "--listen", "127.0.0.1:%d" % free_port()] + args,
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 1 and "truncated" in p.stderr,
          "a truncated data.mdb: exit 1 with a message, no signal (%r %r)" % (p.returncode, p.stderr.strip()))
    r = scittd_check(srv.data)
    check(r.returncode == 1 and "truncated" in r.stderr, "--check on it: exit 1 (%r)" % r.returncode)
finally:
    for s in servers:
        s.stop(timeout=5)
    cleanup(root)
finish()
