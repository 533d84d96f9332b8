#!/usr/bin/python3
"""`scitt register` sends what the log takes (issue 16, polish item 2): the
client has no 1 MiB cap of its own, so a 2 MiB statement is registered with
a scittd started with --max-statement-bytes 4194304, and its transparent
statement comes back whole. A statement over the client's own bound (64 MiB)
is refused before anything is sent, with a message that says so.

Environment: SCITT, SCITTD (set by tests/cli/meson.build).
"""
import os
import tempfile

from clitest import Issuer, Server, check, finish, scitt


def main():
    with tempfile.TemporaryDirectory() as tmp:
        issuer = Issuer(tmp)
        payload = os.path.join(tmp, "big.payload")
        with open(payload, "wb") as f:
            f.write(b"y" * (2 << 20))
        stmt = os.path.join(tmp, "big.cose")
        r = scitt("sign", "--key", issuer.key, "--iss", issuer.iss, "--sub", "pkg:test/big", "--out", stmt, payload)
        assert r.returncode == 0, r.stderr
        size = os.path.getsize(stmt)
        check(size > 2 << 20, "a statement of %d bytes (over 2 MiB)" % size)

        srv = Server(tmp, os.path.join(tmp, "data"), issuer.keys_dir, ["--max-statement-bytes", "4194304"])
        try:
            ts = os.path.join(tmp, "big.ts")
            r = scitt("register", "--url", srv.url, "--transparent", ts, stmt, timeout=120)
            check(r.returncode == 0 and "leaf 0 tree 1" in r.stdout,
                  "scitt register registers it (%d: %s %s)" % (r.returncode, r.stdout.strip(), r.stderr.strip()))
            check(os.path.exists(ts) and os.path.getsize(ts) > size,
                  "and writes its transparent statement (%d bytes)" % (os.path.getsize(ts) if os.path.exists(ts) else -1))
        finally:
            srv.stop()

        huge = os.path.join(tmp, "huge.cose")
        with open(huge, "wb") as f:
            f.truncate((64 << 20) + 1)
        r = scitt("register", "--url", "http://127.0.0.1:9", huge, timeout=60)
        check(r.returncode != 0 and "64 MiB" in r.stderr,
              "a statement over 64 MiB is refused before sending (%d: %s)" % (r.returncode, r.stderr.strip()))
    finish()


if __name__ == "__main__":
    main()
