"""Every scitt subcommand against a real scittd (h2c on a free loopback
port): register (one, many, hash envelope), get, verify with the service's
keys, the mirror following a log that keeps growing while it tails, resume,
and a real fork: the same service keys in a fresh data folder signing a
different history, which the mirror must refuse with exit code 11.

Environment: SCITT, SCITTD (set by tests/cli/meson.build).
"""
import os
import signal
import socket
import subprocess
import tempfile
import time

import cbor2

from clitest import SCITT, Issuer, Server, check, copy_service_keys, entry_id, finish, free_port, scitt


def test_register_get_verify(tmp, srv, issuer):
    [one] = issuer.statements(1, "one")
    r = scitt("register", "--url", srv.url, "--out", os.path.join(tmp, "r.cose"), "--transparent",
              os.path.join(tmp, "t.cose"), one)
    check(r.returncode == 0 and entry_id(one) in r.stdout, "register one statement (%s)" % r.stderr)
    r = scitt("verify", "--keys", srv.url, os.path.join(tmp, "t.cose"))
    check(r.returncode == 0 and "registered 20" in r.stdout, "verify the transparent statement with the URL's keys")
    r = scitt("verify", "--keys", srv.url, one, os.path.join(tmp, "r.cose"))
    check(r.returncode == 0, "verify statement + receipt")

    r = scitt("get", "--url", srv.url, "--out", os.path.join(tmp, "g.cose"), entry_id(one))
    check(r.returncode == 0 and open(os.path.join(tmp, "g.cose"), "rb").read() ==
          open(os.path.join(tmp, "r.cose"), "rb").read(), "get returns the same receipt bytes")
    r = scitt("get", "--url", srv.url, "--statement", "--out", os.path.join(tmp, "gs.cose"), one)
    check(r.returncode == 0 and scitt("verify", "--keys", srv.url, os.path.join(tmp, "gs.cose")).returncode == 0,
          "get --statement (by statement file) verifies")
    r = scitt("get", "--url", srv.url, "--out", os.path.join(tmp, "x.cose"), "0" * 64)
    check(r.returncode == 1 and "404" in r.stderr, "get of an unknown entry is 404, exit 1")

    r = scitt("register", "--url", srv.url, one)
    check(r.returncode == 0 and entry_id(one) in r.stdout, "registering the same statement again is idempotent")

    [he] = issuer.statements(1, "he", ["--hash-envelope", "--content-type", "application/octet-stream"])
    r = scitt("register", "--url", srv.url, "--transparent", os.path.join(tmp, "he.cose"), he)
    check(r.returncode == 0, "register a hash envelope (%s)" % r.stderr)
    check(scitt("verify", "--keys", srv.url, os.path.join(tmp, "he.cose")).returncode == 0,
          "hash envelope transparent statement verifies")

    many = issuer.statements(100, "many")
    r = scitt("register", "--url", srv.url, "--concurrency", "32", "--out", os.path.join(tmp, "receipts"), *many)
    check(r.returncode == 0 and r.stdout.count(" leaf ") == 100, "register 100 statements concurrently")
    check(len(os.listdir(os.path.join(tmp, "receipts"))) == 100, "one receipt file per statement")

    bad = os.path.join(tmp, "bad.cose")
    with open(bad, "wb") as f:
        f.write(cbor2.dumps(cbor2.CBORTag(18, [b"", {}, b"x", b"sig"])))
    r = scitt("register", "--url", srv.url, bad)
    check(r.returncode == 1 and "HTTP 400" in r.stderr, "a rejected statement shows the problem details")
    # Connection failures are retried with backoff; --max-wait bounds that.
    t0 = time.time()
    r = scitt("register", "--max-wait", "3", "--url", "http://127.0.0.1:%d" % free_port(), one)
    check(r.returncode == 1 and time.time() - t0 < 20, "register to a closed port fails cleanly within --max-wait")


def test_mirror_follows(tmp, srv, issuer):
    mdir = os.path.join(tmp, "mirror")
    r = scitt("mirror", "--url", srv.url, "--dir", mdir)
    check(r.returncode == 0 and os.path.exists(os.path.join(mdir, "checkpoint.vkey")),
          "mirror pins the vkey on first contact (%s)" % r.stderr)

    out_path = os.path.join(tmp, "follower.out")
    with open(out_path, "w") as out:
        follower = subprocess.Popen([SCITT, "mirror", "--url", srv.url, "--dir", mdir, "--follow", "--interval", "1"],
                                    stdout=out, stderr=subprocess.STDOUT)
    last = 0
    for round_ in range(3):
        batch = issuer.statements(150, "grow%d" % round_)
        r = scitt("register", "--url", srv.url, "--concurrency", "50", *batch)
        check(r.returncode == 0, "register round %d while the mirror tails" % round_)
        last = max(int(line.split(" tree ")[1]) for line in r.stdout.splitlines())
    deadline = time.time() + 60
    while time.time() < deadline and ("tree size %d\n" % last) not in open(out_path).read():
        check_alive = follower.poll() is None
        if not check_alive:
            break
        time.sleep(0.2)
    seen = open(out_path).read()
    check(("tree size %d\n" % last) in seen, "the following mirror reached tree size %d" % last)
    check(seen.count("verified checkpoint") >= 2, "the follower verified several checkpoints on the way")
    follower.send_signal(signal.SIGTERM)
    follower.wait(timeout=30)
    check(follower.returncode == 0, "the follower stops cleanly on SIGTERM (exit %s)" % follower.returncode)
    r = scitt("mirror", "--url", srv.url, "--dir", mdir)
    check(r.returncode == 0 and ("tree size %d" % last) in r.stdout, "mirror again: up to date")

    # --serve re-serves the verified copy; a second mirror follows the first.
    port = free_port()
    server = subprocess.Popen([SCITT, "mirror", "--dir", mdir, "--serve", "127.0.0.1:%d" % port],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    m2 = os.path.join(tmp, "mirror-of-mirror")
    r = scitt("mirror", "--url", "http://127.0.0.1:%d" % port, "--dir", m2,
              "--vkey", os.path.join(mdir, "checkpoint.vkey"))
    check(r.returncode == 0 and ("tree size %d" % last) in r.stdout,
          "a mirror of the served copy verifies the same log (%s)" % r.stderr.strip())
    r = scitt("audit", "--url", "http://127.0.0.1:%d" % port)
    check(r.returncode == 1 and "501 Not Implemented" in r.stderr, "a served mirror answers GET /entries?... 501")
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)
    check(server.returncode == 0, "mirror --serve stops cleanly on SIGTERM")
    return mdir


def test_fork(tmp, srv, issuer, data, mdir):
    """The same service keys, a different history: a fork signed by the right key."""
    srv.stop()
    forked = os.path.join(tmp, "forked-data")
    copy_service_keys(data, forked)
    srv2 = Server(tmp, forked, issuer.keys_dir)
    try:
        r = scitt("register", "--url", srv2.url, *issuer.statements(600, "fork"))
        check(r.returncode == 0, "the forked service registers a different history")
        r = scitt("mirror", "--url", srv2.url, "--dir", mdir)
        check(r.returncode == 11 and "root" in r.stderr, "the mirror refuses the fork with exit 11 (%s)" % r.stderr)
        ev = os.path.join(mdir, "evidence")
        kept = os.listdir(ev) if os.path.isdir(ev) else []
        check(any(k.endswith("-fork") for k in kept), "the fork's evidence is kept")
        if kept:
            files = os.listdir(os.path.join(ev, kept[-1]))
            check("trusted.checkpoint" in files and "offered.checkpoint" in files, "both checkpoints kept")
    finally:
        srv2.stop()


def main():
    with tempfile.TemporaryDirectory() as tmp:
        issuer = Issuer(tmp)
        data = os.path.join(tmp, "data")
        srv = Server(tmp, data, issuer.keys_dir)
        try:
            test_register_get_verify(tmp, srv, issuer)
            mdir = test_mirror_follows(tmp, srv, issuer)
        finally:
            pass
        test_fork(tmp, srv, issuer, data, mdir)
    finish()


if __name__ == "__main__":
    main()
