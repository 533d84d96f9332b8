#!/usr/bin/python3
"""scittd --keys DIR (issue 17): the service keys live in DIR instead of the
--data folder. On LMDB (this suite; the PostgreSQL form is
tests/integration/test_lock_pg.py): the first start creates the keys in DIR
(0700) and none in --data; a restart and `scittd --check` read them there;
a second log may share the same keys folder, which is then only read; and
keys other than the log's are refused. `--help` lists --database,
--database-wait and --keys; a build without PostgreSQL says so.

Environment: SCITT, SCITTD.
"""
import os
import subprocess
import tempfile

import clitest
from clitest import check, finish

SCITTD = os.environ["SCITTD"]
KEY_FILES = ["checkpoint-ed25519.key", "service-es256.pem"]


def listing(d):
    return sorted((n, os.stat(os.path.join(d, n)).st_mtime_ns) for n in os.listdir(d))


with tempfile.TemporaryDirectory() as tmp:
    r = subprocess.run([SCITTD, "--help"], capture_output=True, text=True)
    check(all(o in r.stdout for o in ("--database URI", "--database-wait SECONDS", "--keys DIR")),
          "--help lists --database, --database-wait and --keys")

    iss = clitest.Issuer(tmp)
    keys = os.path.join(tmp, "keys")
    data = os.path.join(tmp, "data")
    srv = clitest.Server(tmp, data, iss.keys_dir, ["--keys", keys])
    try:
        path = iss.statements(1, "keys")[0]
        r = clitest.scitt("register", "--url", srv.url, "--out", os.path.join(tmp, "r.cose"), path)
        check(r.returncode == 0, "registers (%s)" % r.stderr.strip())
    finally:
        check(srv.stop() == 0, "exits 0")
    check(sorted(os.listdir(keys)) == KEY_FILES and os.stat(keys).st_mode & 0o777 == 0o700,
          "the keys are made in --keys (0700): %s" % os.listdir(keys))
    check(not any(os.path.exists(os.path.join(data, f)) for f in KEY_FILES), "and none in --data")
    before = listing(keys)

    r = subprocess.run([SCITTD, "--check", "--data", data, "--keys", keys], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0 and "sound: 1 entries" in r.stdout, "--check --keys: sound (%s %s)" % (r.stdout, r.stderr))
    r = subprocess.run([SCITTD, "--check", "--data", data], capture_output=True, text=True, timeout=60)
    check(r.returncode == 1 and "service keys in " + data in r.stderr, "--check without --keys: no keys (%s)" % r.stderr)

    srv = clitest.Server(tmp, data, iss.keys_dir, ["--keys", keys])  # a restart reads them
    other = clitest.Server(tmp, os.path.join(tmp, "data2"), iss.keys_dir, ["--keys", keys])  # a second log shares
    try:
        for s in (srv, other):
            r = clitest.scitt("register", "--url", s.url, "--out", os.path.join(tmp, "r2.cose"),
                              iss.statements(1, "again")[0])
            check(r.returncode == 0, "a log on the shared keys registers (%s)" % r.stderr.strip())
    finally:
        check(srv.stop() == 0 and other.stop() == 0, "both exit 0")
    check(listing(keys) == before, "the keys folder is only read once it holds the keys")

    r = subprocess.run([SCITTD, "--data", data, "--keys", os.path.join(tmp, "other-keys"), "--listen",
                        "127.0.0.1:%d" % clitest.free_port()], capture_output=True, text=True, timeout=60)
    check(r.returncode == 1 and "service keys in " in r.stderr, "keys other than the log's: exit 1 (%s)" % r.stderr)

    r = subprocess.run([SCITTD, "--data", os.path.join(tmp, "d3"), "--database", "postgresql://u:s3cret@h/db",
                        "--database-wait", "0", "--listen", "127.0.0.1:%d" % clitest.free_port()],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 1 and "database db on h:default" in r.stderr and "s3cret" not in r.stderr,
          "--database that cannot be reached (or no PostgreSQL in this build): exit 1 naming only the database (%s)" %
          r.stderr.strip())
finish()
