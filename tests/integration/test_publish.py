#!/usr/bin/python3
"""--publish-dir (issue 18, "reads past one machine"): scittd writes its log
into a folder laid out as its own URLs.

- Registrations in several batches (crossing a full level-0 tile): every
  published file is byte-identical to scittd's GET of the same path, the
  published checkpoint verifies and the published tiles alone reproduce its
  root; partial tiles whose full tile is published are gone.
- `scitt mirror` copies the log from the folder served by a plain static
  HTTP server (python3 -m http.server) and from file://, without an
  inconsistency.
- A restart picks up where it left off, and catches up with commits made
  while nothing published.
- Refusal: the store rolled back behind the published checkpoint (LMDB: the
  data folder copied away and restored; PostgreSQL: a copy of the database
  made with CREATE DATABASE ... TEMPLATE) is refused at start, and so is one
  that grew past the published size with another history (a fork).
"""
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import *  # noqa: E402,F403

SCITT = os.environ.get("SCITT", "build-release/tools/scitt/scitt")

root = tempdir()
servers = []
statics = []


def published_files(pub):
    """Every file of the folder a static server would serve (relative)."""
    out = []
    for d, _, files in os.walk(pub):
        for f in files:
            rel = os.path.relpath(os.path.join(d, f), pub)
            if f == "owner.lock" or f.startswith("."):
                continue
            out.append(rel)
    return sorted(out)


def read(pub, rel):
    with open(os.path.join(pub, rel), "rb") as f:
        return f.read()


def published_size(pub, vkey):
    try:
        return verify_checkpoint(read(pub, "checkpoint"), vkey)[1]
    except FileNotFoundError:
        return 0


def wait_published(srv, pub, vkey, timeout=60):
    """Until the folder's checkpoint is the one scittd serves."""
    deadline = time.time() + timeout
    want = curl(srv.base + "/checkpoint").body
    while time.time() < deadline:
        try:
            if read(pub, "checkpoint") == want:
                return True
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    return False


def register(srv, iss, n, tag):
    stmts = [iss.statement("%s %d" % (tag, i)) for i in range(n)]
    h = H2(srv.port)
    got = []
    for i in range(0, n, 50):  # within the connection's concurrent streams
        got += h.wait([h.send("POST", "/entries", [("content-type", "application/cose")], s)
                       for s in stmts[i:i + 50]])
    h.close()
    return stmts, all(r.status == 201 for r in got)


def get_all(srv, paths):
    """GET every path on one HTTP/2 connection: {path: Response}."""
    h = H2(srv.port)
    out = {}
    for i in range(0, len(paths), 50):
        chunk = paths[i:i + 50]
        for p, r in zip(chunk, h.wait([h.send("GET", p) for p in chunk])):
            out[p] = r
    h.close()
    return out


def snapshot_store(srv, name):
    """A copy of the stopped server's store, to restore later."""
    if ON_PG:
        src = database_for(srv.data)
        pgtmp = load_pgtmp()
        dst = pgtmp.create_database(src)
        dbname = dst.rsplit("/", 1)[1].split("?")[0]
        pgtmp.drop_database(dst)
        srcname = src.rsplit("/", 1)[1].split("?")[0]
        pgtmp.psql(src, "CREATE DATABASE %s TEMPLATE %s" % (dbname, srcname))
        return dst
    copy = os.path.join(root, name)
    shutil.copytree(srv.data, copy)
    return copy


def restore_store(srv, snap):
    if ON_PG:
        import harness
        harness._databases[os.path.realpath(srv.data)] = snap
        return
    shutil.rmtree(srv.data)
    shutil.copytree(snap, srv.data)


def start_expect_refusal(args, data, what):
    srv = Server(root, data=data, args=args)
    try:
        srv.start()
        servers.append(srv)
        check(False, what + " (scittd started)")
        return ""
    except RuntimeError as e:
        return str(e)


try:
    iss = Issuer(root)
    pub = os.path.join(root, "pub")
    args = ["--issuer-keys", iss.keys_dir, "--register-wait-ms", "20000", "--publish-dir", pub]
    srv = Server(root, args=args).start()
    servers.append(srv)
    vkey = curl(srv.base + "/checkpoint.vkey").body.decode()
    check(read(pub, "checkpoint.vkey").decode() == vkey, "checkpoint.vkey published at start")
    check(not os.path.exists(os.path.join(pub, "checkpoint")), "an empty log publishes no checkpoint")

    # Several batches, crossing a full level-0 tile (256) and leaving partial
    # tiles at both levels; after each the folder catches up.
    all_stmts = []
    sizes = []
    for n, tag in [(1, "one"), (7, "seven"), (60, "sixty"), (200, "two hundred"), (33, "thirty-three")]:
        stmts, ok = register(srv, iss, n, tag)
        all_stmts += stmts
        check(ok, "batch of %d registered (201)" % n)
        check(wait_published(srv, pub, vkey), "the folder catches up with the checkpoint after %d more" % n)
        sizes.append(published_size(pub, vkey))
    check(sizes == [1, 8, 68, 268, 301], "published sizes %s" % sizes)

    # The checkpoint verifies, and the published tiles alone reproduce it.
    origin, size, root_hash = verify_checkpoint(read(pub, "checkpoint"), read(pub, "checkpoint.vkey").decode())
    check(origin == "localhost/scittd" and size == 301, "published checkpoint verifies (size %d)" % size)
    leaves, entries, _ = fetch_tree(lambda p: read(pub, p.lstrip("/")), size)
    check(mth(leaves) == root_hash, "the published tiles reproduce the published root")
    check(sorted(e.hex() for e in entries) == sorted(entry_id(s) for s in all_stmts),
          "the published entry bundles hold every registered entry")

    # Every file is byte-identical to scittd's GET of the same path.
    files = published_files(pub)
    got = get_all(srv, ["/" + f for f in files])
    diff = [f for f in files if got["/" + f].status != 200 or got["/" + f].body != read(pub, f)]
    check(not diff, "all %d published files identical to GET of the same path %s" % (len(files), diff[:3]))
    stmts_pub = [f for f in files if f.startswith("entries/")]
    check(len(stmts_pub) == 301 and all(f.endswith("/statement") for f in stmts_pub),
          "one transparent statement per entry (%d)" % len(stmts_pub))
    for p in ["/.well-known/scitt-keys", "/.well-known/transparency-configuration"]:
        check(p[1:] in files, "%s published" % p)
    # Partial tiles: those of the published checkpoint are there; none of a
    # tile whose full tile is published.
    partial_dirs = sorted(os.path.relpath(d, pub) for d, _, _ in os.walk(pub) if d.endswith(".p"))
    check(partial_dirs == ["tile/0/001.p", "tile/1/000.p", "tile/entries/001.p"],
          "partial tiles only where no full tile is published: %s" % partial_dirs)
    check(os.path.exists(os.path.join(pub, "tile/0/001.p/45")) and os.path.exists(os.path.join(pub, "tile/0/000")),
          "full tile 0 and partial tile 1 (width 45) at level 0")

    # Cache headers: full and partial tiles immutable, the checkpoint short-lived.
    r = curl(srv.base + "/tile/0/000")
    check(r.header("cache-control") == "public, max-age=31536000, immutable", "full tile: immutable")
    r = curl(srv.base + "/tile/0/001.p/45")
    check(r.header("cache-control") == "public, max-age=31536000, immutable", "partial tile: immutable")
    r = curl(srv.base + "/checkpoint")
    check(r.header("cache-control") == "public, max-age=1", "checkpoint: max-age=1")
    m = curl(srv.base + "/metrics").body.decode()
    check("scittd_published_size 301" in m and "scittd_publish_errors_total 0" in m, "publish metrics")

    # A mirror of the static folder, through a plain HTTP/1 static server
    # and through file://.
    port = free_port()
    static = subprocess.Popen(["/usr/bin/python3", "-m", "http.server", "--bind", "127.0.0.1", str(port),
                               "--directory", pub], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    statics.append(static)
    check(wait_port(port), "python3 -m http.server serves the folder")
    for url, name in [("http://127.0.0.1:%d" % port, "http.server"), ("file://" + pub, "file://")]:
        mdir = os.path.join(root, "mirror-" + re.sub(r"\W", "", name))
        r = subprocess.run([SCITT, "mirror", "--url", url, "--dir", mdir, "--vkey", vkey.strip()],
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, "scitt mirror of the folder through %s: exit %d %s" % (name, r.returncode,
                                                                                        (r.stdout + r.stderr)[-400:]))

    # Restart: picks up where it left off.
    check(srv.stop() == 0, "first run exits 0")
    srv = Server(root, data=srv.data, args=args).start()
    servers.append(srv)
    stmts, ok = register(srv, iss, 20, "after restart")
    all_stmts += stmts
    check(ok and wait_published(srv, pub, vkey), "after a restart the folder follows (size %d)" %
          published_size(pub, vkey))
    check(srv.stop() == 0, "second run exits 0")

    # Commits made while nothing published are caught up at the next start.
    plain = [a for a in args if a not in ("--publish-dir", pub)]
    srv = Server(root, data=srv.data, args=plain).start()
    servers.append(srv)
    stmts, ok = register(srv, iss, 15, "unpublished")
    all_stmts += stmts
    check(ok, "15 registered without --publish-dir")
    check(srv.stop() == 0, "third run exits 0")
    srv = Server(root, data=srv.data, args=args).start()
    servers.append(srv)
    check(wait_published(srv, pub, vkey), "catch-up at start publishes what the folder missed (size %d)" %
          published_size(pub, vkey))
    files = published_files(pub)
    got = get_all(srv, ["/" + f for f in files])
    diff = [f for f in files if got["/" + f].status != 200 or got["/" + f].body != read(pub, f)]
    check(not diff, "after catch-up all %d files identical to GET %s" % (len(files), diff[:3]))

    # Rollback: a copy of the store now, more registrations published, then
    # the copy restored: refused at start.
    check(srv.stop() == 0, "fourth run exits 0")
    snap = snapshot_store(srv, "backup")
    srv = Server(root, data=srv.data, args=args).start()
    servers.append(srv)
    stmts, ok = register(srv, iss, 5, "after the backup")
    check(ok and wait_published(srv, pub, vkey), "5 more published after the backup")
    n_pub = published_size(pub, vkey)
    check(srv.stop() == 0, "fifth run exits 0")
    data = srv.data
    restore_store(srv, snap)
    log = start_expect_refusal(args, data, "a store restored behind the published checkpoint is refused")
    check("the database is behind the published checkpoint at size %d" % n_pub in log,
          "the refusal says why: %s" % log.strip().splitlines()[-1:] if log else "")

    # The restored store grown past the published size with other
    # statements (without --publish-dir): a fork, refused too.
    srv = Server(root, data=data, args=plain).start()
    servers.append(srv)
    _, ok = register(srv, iss, 10, "another history")
    check(ok, "10 other statements registered on the restored store")
    check(srv.stop() == 0, "sixth run exits 0")
    log = start_expect_refusal(args, data, "a store that forks from the published checkpoint is refused")
    check("forks from the published checkpoint" in log, "the fork refusal says why: %s" %
          (log.strip().splitlines()[-1:] if log else ""))
    check(published_size(pub, vkey) == n_pub, "the published checkpoint did not move")
finally:
    for s in statics:
        s.terminate()
        s.wait()
    for s in servers:
        s.stop()
    cleanup(root)
finish()
