#!/usr/bin/python3
"""Several scittd per database (issue 18; it was one writer per database in
issue 17; test_lock's PostgreSQL form; suite pg, needs $SCITT_TEST_DATABASE
from tests/tools/pgtmp):
  - a second scittd on the database of a running one serves beside it (one
    sequences, under the lease: test_cluster) and registers; the first goes
    on registering and stays healthy;
  - `scittd --check --database` beside it reads without the writer lock and
    finds the store sound;
  - --database takes no data-folder lock: two scittd on two databases share
    one --data folder; and several share one --keys folder, which they only
    read; keys other than the database's are refused;
  - an unreachable database: --database-wait bounds the wait, then exit 1;
  - once the first exited, the next scittd takes the database over."""
import os
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import *  # noqa: E402,F403

if not ON_PG:
    print("skip: needs $SCITT_TEST_DATABASE (run under tests/tools/pgtmp)")
    sys.exit(77)

COSE = ["content-type: application/cose"]


def with_password(url):
    """`url` with a password (trust auth ignores it): messages must not show it."""
    u = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((u.scheme, u.netloc.replace("scitt@", "scitt:s3cret-pw@"), u.path, u.query, ""))


def scittd(*args, timeout=30):
    t0 = time.time()
    p = subprocess.Popen([SCITTD, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    return p.returncode, out, err, time.time() - t0


def snapshot(d):
    return sorted((n, os.stat(os.path.join(d, n)).st_mtime_ns) for n in os.listdir(d))


root = tempdir()
servers = []
try:
    iss = Issuer(root)
    args = ["--issuer-keys", iss.keys_dir]
    srv = Server(root, args=args).start()
    servers.append(srv)
    db = with_password(database_for(srv.data))
    name = urllib.parse.urlsplit(db).path[1:]
    r = curl(srv.base + "/entries", "POST", COSE, iss.statement("first"))
    check(r.status == 201, "the first registers (%d)" % r.status)
    keys = srv.data  # the first made its keys there
    before = snapshot(keys)

    # A second scittd on the same database serves beside the first.
    other = os.path.join(root, "other")
    second = Server(root, data=other, args=args + ["--keys", keys, "--database", db]).start()
    servers.append(second)
    st = iss.statement("through the second")
    r = curl(second.base + "/entries", "POST", COSE, st)
    check(r.status == 201, "a second scittd on the database serves and registers (%d)" % r.status)
    g = curl(srv.base + "/entries/" + entry_id(st))
    check(g.status == 200 and g.body == r.body, "the first serves the same receipt (%d)" % g.status)
    check(second.stop() == 0, "the second exits 0")
    err = open(second.log).read()
    check("s3cret" not in err, "and never shows the connection string's password")

    # --check beside the running writer: no writer lock, reads a sound store.
    rc, out, err, _ = scittd("--check", "--data", other, "--keys", keys, "--database", db, timeout=60)
    check(rc == 0 and "sound" in out, "--check --database beside the writer: sound (%s %r %r)" % (rc, out, err))
    check(name in out and "s3cret" not in out + err, "naming the database only (%s)" % out.strip())

    r = curl(srv.base + "/entries", "POST", COSE, iss.statement("after the second"))
    check(r.status == 201, "the first still registers (%d)" % r.status)
    check(curl(srv.base + "/healthz").status == 200, "and is healthy")

    # No folder lock with --database: a second log (own database) may share
    # the --data folder, and both read one --keys folder.
    third = Server(root, data=os.path.join(root, "third"), args=args + ["--keys", keys]).start()
    servers.append(third)
    shared = Server(root, data=srv.data, args=args + ["--database", database_for(third.data + "-2")]).start()
    servers.append(shared)
    for s in (third, shared):
        r = curl(s.base + "/entries", "POST", COSE, iss.statement("another log"))
        check(r.status == 201, "a log on its own database registers beside, sharing the folder (%d)" % r.status)
    check(snapshot(keys) == before, "the shared keys folder is only read")
    check(not os.path.exists(os.path.join(third.data, "service-es256.pem")), "--keys: nothing in --data")
    check(not os.path.exists(os.path.join(srv.data, "data.mdb")), "no LMDB store beside --database")
    for s in (third, shared):
        check(s.stop() == 0, "exits 0")

    # Keys the database does not know: refused.
    fresh = os.path.join(root, "fresh-keys")
    rc, out, err, _ = scittd("--data", other, "--keys", fresh, "--database", database_for(third.data), "--listen",
                             "127.0.0.1:%d" % free_port(), *args)
    check(rc == 1 and "service keys in " + fresh in err, "other keys than the log's: exit 1 (%s %s)" % (rc, err.strip()))

    # Nobody listening: --database-wait bounds the wait.
    u = urllib.parse.urlsplit(db)
    gone = urllib.parse.urlunsplit((u.scheme, "scitt:s3cret-pw@127.0.0.1:%d" % free_port(), "/x", "", ""))
    rc, out, err, took = scittd("--data", other, "--database", gone, "--database-wait", "2", "--listen",
                                "127.0.0.1:%d" % free_port(), *args, timeout=60)
    check(rc == 1 and "database x on 127.0.0.1:" in err, "unreachable: exit 1 naming it (%s %s)" % (rc, err.strip()))
    check(1.5 <= took < 20, "after about --database-wait 2 s (%.1f s)" % took)
    check("s3cret" not in out + err, "no password in the messages")

    check(srv.stop() == 0, "the first exits 0")
    srv2 = Server(root, data=srv.data, args=args).start()
    servers.append(srv2)
    r = curl(srv2.base + "/entries", "POST", COSE, iss.statement("next owner"))
    check(r.status == 201, "after it exited, the next scittd takes the database and registers (%d)" % r.status)
    check(srv2.stop() == 0, "which exits 0")
finally:
    for s in servers:
        s.stop(timeout=5)
    cleanup(root)
finish()
