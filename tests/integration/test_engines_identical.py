#!/usr/bin/python3
"""The two store engines build the same log (issue 17; suite pg, needs
$SCITT_TEST_DATABASE from tests/tools/pgtmp): the same statements registered
one at a time into a scittd on LMDB and a scittd on PostgreSQL, sharing one
--keys folder, give identical EntryIDs and leaf indexes, identical tiles and
entry bundles (a full tile, partial ones, level 1), identical checkpoint
bodies, and receipts equal except their signature and time; the same holds
after the PostgreSQL one restarts with its caches off."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import *  # noqa: E402,F403

if not ON_PG:
    print("skip: needs $SCITT_TEST_DATABASE (run under tests/tools/pgtmp)")
    sys.exit(77)

COUNT = 300  # one full level-0 tile and a partial one


def receipt_parts(receipt):
    """(protected header without its time, unprotected header, leaf index)."""
    item = cbor2.loads(receipt)
    arr = item.value if isinstance(item, cbor2.CBORTag) else item
    prot = cbor2.loads(arr[0])
    cwt = dict(prot.get(15, {}))
    cwt.pop(6, None)  # iat: when each signed
    prot[15] = cwt
    proof = cbor2.loads(arr[1][396][-1][0])
    return prot, arr[1], proof[1]


root = tempdir()
servers = []
try:
    iss = Issuer(root)
    keys = os.path.join(root, "keys")
    args = ["--issuer-keys", iss.keys_dir, "--keys", keys]
    lmdb = Server(root, data=os.path.join(root, "lmdb"), args=args, lmdb=True).start()
    servers.append(lmdb)
    pg = Server(root, data=os.path.join(root, "pg"), args=args).start()
    servers.append(pg)
    check(os.path.exists(os.path.join(lmdb.data, "data.mdb")) and not os.path.exists(os.path.join(pg.data, "data.mdb")),
          "one log in LMDB, the other in PostgreSQL")
    conns = {s: H2(s.port) for s in (lmdb, pg)}

    ids, diffs, indexes = 0, [], 0
    for i in range(COUNT):
        st = iss.statement("same %d" % i)
        got = [conns[s].request("POST", "/entries", [("content-type", "application/cose")], st) for s in (lmdb, pg)]
        if not all(r.status == 201 for r in got):
            diffs.append("statement %d: %s" % (i, [r.status for r in got]))
            continue
        loc = [r.header("location") for r in got]
        ids += loc[0] == loc[1] == "/entries/" + entry_id(st)
        a, b = receipt_parts(got[0].body), receipt_parts(got[1].body)
        indexes += a[2] == b[2] == i
        if a != b:
            diffs.append("receipt %d: %r != %r" % (i, a, b))
    check(ids == COUNT, "identical EntryIDs (%d of %d)" % (ids, COUNT))
    check(indexes == COUNT, "identical leaf indexes, in order (%d of %d)" % (indexes, COUNT))
    check(not diffs, "receipts equal but for signature and time (%s)" % diffs[:3])

    def compare(what):
        bodies = {}
        for s in (lmdb, pg):
            note = curl(s.base + "/checkpoint").body
            body = note.split(b"\n\n")[0]
            size = int(body.split(b"\n")[1])

            def get(path, s=s):
                r = curl(s.base + path)
                assert r.status == 200, (path, r.status)
                return r.body

            _, _, seen = fetch_tree(get, size)
            bodies[s] = (body, size, seen)
        (b1, n1, t1), (b2, n2, t2) = bodies[lmdb], bodies[pg]
        check(n1 == n2 == COUNT and b1 == b2, "%s: identical checkpoint bodies (%d, %d)" % (what, n1, n2))
        check(t1 == t2 and len(t1) >= 5, "%s: identical tiles and entry bundles (%d fetched)" % (what, len(t1)))
        for path in ("/tile/0/001.p/%d" % (COUNT - 256), "/tile/entries/001.p/%d" % (COUNT - 256)):
            check(path[1:] in t2, "%s: %s among them" % (what, path))
        same = 0
        for i in (0, 1, 255, 256, COUNT - 1):
            st = os.path.join(iss.dir, "s%d.cose" % (i + 2))  # s1 is the key's first statement
            eid = entry_id(open(st, "rb").read())
            r1, r2 = (curl(s.base + "/entries/" + eid) for s in (lmdb, pg))
            same += r1.status == r2.status == 200 and receipt_parts(r1.body) == receipt_parts(r2.body)
        check(same == 5, "%s: GET /entries/{id} receipts equal but for signature and time (%d of 5)" % (what, same))

    compare("live")
    for c in conns.values():
        c.close()
    check(pg.stop() == 0, "the PostgreSQL one exits 0")
    pg.args += ["--tile-cache-bytes", "0", "--receipt-cache-bytes", "0"]
    pg.start()
    compare("after a restart, caches off")
finally:
    for s in servers:
        s.stop(timeout=5)
    cleanup(root)
finish()
