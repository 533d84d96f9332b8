"""The mirror copies what the log accepts (issue 16, item B): a statement of
exactly --max-statement-bytes is registered, and `scitt mirror` copies it
although statement plus receipt exceed that size. scittd publishes its
limits at /.well-known/transparency-configuration; the mirror reads them,
and a mirror's --serve publishes the limits (and receipt keys) of the log it
copies, so a mirror of a mirror takes and checks the same statements.

  default limit (1 MiB): a 1 MiB statement, mirrored              -> 0
  --max-statement-bytes 2 MiB: the configuration says so; a 2 MiB
  statement, mirrored, then mirrored again from the mirror's --serve -> 0

Environment: SCITT, SCITTD (set by tests/cli/meson.build).
"""
import os
import signal
import subprocess
import tempfile

import cbor2

from clitest import SCITT, Issuer, Server, check, finish, free_port, scitt
from harness import curl, wait_port


def statement_of_size(issuer, size, name):
    """A statement signed by `issuer` of exactly `size` bytes."""
    root = issuer.root
    payload = os.path.join(root, name + ".payload")
    out = os.path.join(root, name + ".cose")
    n = size - 1024
    for _ in range(4):
        with open(payload, "wb") as f:
            f.write(b"x" * n)
        r = scitt("sign", "--key", issuer.key, "--iss", issuer.iss, "--sub", "pkg:test/big", "--out", out, payload)
        assert r.returncode == 0, r.stderr
        got = os.path.getsize(out)
        if got == size:
            return out
        n += size - got
    raise AssertionError("cannot make a statement of %d bytes" % size)


def register_and_mirror(tmp, srv, issuer, limit, name):
    # POSTed with curl, to see the exact status (test_register_big registers
    # a statement over 1 MiB with `scitt register`).
    for size, want in [(limit, 201), (limit + 1, 413)]:
        data = open(statement_of_size(issuer, size, "%s-%d" % (name, size)), "rb").read()
        r = curl(srv.url + "/entries", "POST", ["content-type: application/cose"], data)
        check(r.status == want, "%s: a statement of %d bytes: %d (got %d)" % (name, size, want, r.status))
    mdir = os.path.join(tmp, "m-" + name)
    r = scitt("mirror", "--url", srv.url, "--dir", mdir)
    check(r.returncode == 0 and "tree size 1" in r.stdout,
          "%s: the mirror copies it with its receipt (%d: %s)" % (name, r.returncode, r.stderr.strip()))
    return mdir


def main():
    with tempfile.TemporaryDirectory() as tmp:
        issuer = Issuer(tmp)
        srv = Server(tmp, os.path.join(tmp, "data"), issuer.keys_dir)
        try:
            register_and_mirror(tmp, srv, issuer, 1 << 20, "default")
        finally:
            srv.stop()

        big = 2 << 20
        srv = Server(tmp, os.path.join(tmp, "data-2m"), issuer.keys_dir, ["--max-statement-bytes", str(big)])
        try:
            r = curl(srv.url + "/.well-known/transparency-configuration")
            conf = cbor2.loads(r.body) if r.status == 200 else {}
            check(r.status == 200 and r.header("content-type") == "application/cbor" and
                  conf.get("max_statement_bytes") == big and conf.get("issuer") == "localhost/scittd" and
                  conf.get("max_transparent_statement_bytes", 0) > big,
                  "the configuration publishes the limits (%r)" % conf)
            mdir = register_and_mirror(tmp, srv, issuer, big, "2mib")
        finally:
            srv.stop()

        port = free_port()
        server = subprocess.Popen([SCITT, "mirror", "--dir", mdir, "--serve", "127.0.0.1:%d" % port],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            server.stdout.readline()  # "mirror: serving ...", printed before it listens
            check(wait_port(port, timeout=30), "the mirror listens")
            r = curl("http://127.0.0.1:%d/.well-known/transparency-configuration" % port)
            check(r.status == 200 and cbor2.loads(r.body).get("max_statement_bytes") == big,
                  "a mirror's --serve publishes the log's limit")
            r = scitt("mirror", "--url", "http://127.0.0.1:%d" % port, "--dir", os.path.join(tmp, "m-of-m"))
            check(r.returncode == 0 and "tree size 1" in r.stdout and "warning" not in r.stderr,
                  "a mirror of the mirror copies the 2 MiB statement too, checking its receipt with the keys the "
                  "served copy publishes (%s)" % r.stderr.strip())
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    finish()


if __name__ == "__main__":
    main()
