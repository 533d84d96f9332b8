"""Every scitt subcommand against a real scittd (h2c on a free loopback
port): register (one, many, hash envelope), get, verify with the service's
keys, the mirror following a log that keeps growing while it tails, resume,
and a real fork: the same service keys in a fresh data folder signing a
different history, which the mirror must refuse with exit code 11.

Environment: SCITT, SCITTD (set by tests/cli/meson.build).
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import cbor2

SCITT = os.environ["SCITT"]
SCITTD = os.environ["SCITTD"]

failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def scitt(*args, **kw):
    return subprocess.run([SCITT, *args], capture_output=True, text=True, **kw)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    def __init__(self, root, data, issuer_keys):
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.logf = open(os.path.join(root, "scittd-%d.log" % self.port), "w")
        self.proc = subprocess.Popen([SCITTD, "--data", data, "--listen", "127.0.0.1:%d" % self.port,
                                      "--issuer-keys", issuer_keys], stdout=self.logf, stderr=subprocess.STDOUT)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("scittd did not start")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=20)
        self.logf.close()


class Issuer:
    def __init__(self, root):
        self.root = root
        self.key = os.path.join(root, "issuer.pem")
        self.keys_dir = os.path.join(root, "issuer-keys")
        os.makedirs(self.keys_dir)
        r = scitt("keygen", "--out", self.key)
        assert r.returncode == 0, r.stderr
        shutil.copy(os.path.join(root, "issuer.pub.pem"), self.keys_dir)
        self.n = 0

    def statements(self, count, tag, extra=()):
        out = []
        for _ in range(count):
            self.n += 1
            payload = os.path.join(self.root, "p%d" % self.n)
            with open(payload, "w") as f:
                f.write("%s %d %f\n" % (tag, self.n, time.time()))
            path = os.path.join(self.root, "s%d.cose" % self.n)
            r = scitt("sign", "--key", self.key, "--iss", "https://ci.example", "--sub", "pkg:test/%s" % tag,
                      "--out", path, *extra, payload)
            assert r.returncode == 0, r.stderr
            out.append(path)
        return out


def entry_id(path):
    return scitt("inspect", path).stdout.split("normalised statement): ")[1][:64]


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
    os.makedirs(forked, mode=0o700)
    for name in ["service-es256.pem", "checkpoint-ed25519.key"]:
        shutil.copy(os.path.join(data, name), forked)
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
    if failures:
        print("%d checks failed" % len(failures))
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
