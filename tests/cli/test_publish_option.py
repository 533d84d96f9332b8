#!/usr/bin/python3
"""scittd --publish-dir DIR (issue 18): the option's edges. `--help` lists it;
a value that looks like an option is refused; a DIR that cannot be a folder,
a DIR another scittd publishes into, and a DIR whose checkpoint is another
log's are refused at start with a reason; a folder that cannot be written
makes publishing retry (errors counted, said once) while registrations go
on, and it catches up once fixed; a DIR holding a file that differs
from what the log gives is a fork: publishing stops loudly, registrations go
on. (The folder itself: tests/integration/test_publish.py.)

Environment: SCITT, SCITTD.
"""
import os
import re
import shutil
import subprocess
import tempfile
import time

import clitest
from clitest import check, finish

SCITTD = os.environ["SCITTD"]


def start_fails(tmp, data, args, what, expect):
    r = subprocess.run([SCITTD, "--data", data, "--listen", "127.0.0.1:%d" % clitest.harness.free_port()] + args,
                       capture_output=True, text=True, timeout=60)
    check(r.returncode != 0 and expect in r.stderr, "%s: refused (%d: %s)" % (what, r.returncode, r.stderr.strip()))


with tempfile.TemporaryDirectory() as tmp:
    r = subprocess.run([SCITTD, "--help"], capture_output=True, text=True)
    check("--publish-dir DIR" in r.stdout, "--help lists --publish-dir")
    r = subprocess.run([SCITTD, "--publish-dir", "--listen", "127.0.0.1:1"], capture_output=True, text=True, cwd=tmp)
    check(r.returncode != 0 and "`--publish-dir` needs a value" in r.stderr, "--publish-dir --listen: refused")

    iss = clitest.Issuer(tmp)
    data = os.path.join(tmp, "data")
    pub = os.path.join(tmp, "pub")
    afile = os.path.join(tmp, "a-file")
    open(afile, "w").write("x")
    start_fails(tmp, data, ["--publish-dir", afile], "--publish-dir on a file", "--publish-dir " + afile)
    blocked = os.path.join(tmp, "blocked")
    os.makedirs(blocked)
    open(os.path.join(blocked, ".well-known"), "w").write("x")
    start_fails(tmp, data, ["--publish-dir", blocked], "a folder where .well-known/ cannot be made",
                "cannot write .well-known/scitt-keys")

    srv = clitest.Server(tmp, data, iss.keys_dir, ["--publish-dir", pub])
    try:
        check(os.stat(pub).st_mode & 0o777 == 0o755, "DIR is made 0755 (a web server reads it)")
        start_fails(tmp, os.path.join(tmp, "data2"), ["--publish-dir", pub], "a second scittd on the same DIR",
                    "is in use by pid")
        path = iss.statements(1, "one")[0]
        r = clitest.scitt("register", "--url", srv.url, "--out", os.path.join(tmp, "r.cose"), path)
        check(r.returncode == 0, "registers (%s)" % r.stderr.strip())
        deadline = time.time() + 30
        while not os.path.exists(os.path.join(pub, "checkpoint")) and time.time() < deadline:
            time.sleep(0.05)
        check(os.path.exists(os.path.join(pub, "checkpoint")), "the checkpoint is published")
    finally:
        check(srv.stop() == 0, "exits 0")

    # A folder that cannot be written (entries/ is a file, so no statement
    # folder can be made): registrations go on, the publisher counts errors
    # and retries; once the folder is fixed it catches up by itself.
    shutil.rmtree(os.path.join(pub, "entries"))
    open(os.path.join(pub, "entries"), "w").write("in the way")
    srv = clitest.Server(tmp, data, iss.keys_dir, ["--publish-dir", pub])
    try:
        r = clitest.scitt("register", "--url", srv.url, "--out", os.path.join(tmp, "r3.cose"),
                          iss.statements(1, "blocked")[0])
        check(r.returncode == 0, "registers while the folder fails (%s)" % r.stderr.strip())
        errors = 0
        deadline = time.time() + 30
        while errors < 2 and time.time() < deadline:
            time.sleep(0.2)
            m = subprocess.run(["curl", "-s", "--http2-prior-knowledge", srv.url + "/metrics"], capture_output=True,
                               text=True).stdout
            found = re.search(r"^scittd_publish_errors_total (\d+)$", m, re.M)
            errors = int(found.group(1)) if found else 0
        check(errors >= 2 and "scittd_published_size 1\n" in m, "publish errors counted and retried (%d)" % errors)
        log = open(srv.log, errors="replace").read()
        check(log.count("scittd: publish: cannot write") == 1, "the failure is said once, not at every retry")
        os.unlink(os.path.join(pub, "entries"))
        deadline = time.time() + 30
        while "scittd_published_size 2\n" not in m and time.time() < deadline:
            time.sleep(0.2)
            m = subprocess.run(["curl", "-s", "--http2-prior-knowledge", srv.url + "/metrics"], capture_output=True,
                               text=True).stdout
        check("scittd_published_size 2\n" in m, "once the folder is fixed, the publisher catches up")
        check("up to date again" in open(srv.log, errors="replace").read(), "and says so")
    finally:
        check(srv.stop() == 0, "exits 0")

    # Another log's checkpoint in DIR: refused.
    other = clitest.Server(tmp, os.path.join(tmp, "other"), iss.keys_dir, [])
    other.stop()
    start_fails(tmp, os.path.join(tmp, "other"), ["--publish-dir", pub], "DIR holding another log's checkpoint",
                "is not a checkpoint of this log")

    # A published tile changed behind scittd's back: the next round finds
    # other bytes, stops publishing and says so; registrations go on.
    tile = os.path.join(pub, "tile", "0", "000.p", "3")  # the next partial tile
    open(tile, "wb").write(b"\0" * 64)
    srv = clitest.Server(tmp, data, iss.keys_dir, ["--publish-dir", pub])
    try:
        r = clitest.scitt("register", "--url", srv.url, "--out", os.path.join(tmp, "r2.cose"),
                          iss.statements(1, "two")[0])
        check(r.returncode == 0, "registers beside a forked folder (%s)" % r.stderr.strip())
        deadline = time.time() + 30
        log = ""
        while "PUBLISH FORK" not in log and time.time() < deadline:
            time.sleep(0.1)
            log = open(srv.log, errors="replace").read()
        check("PUBLISH FORK" in log and "000.p/3 already holds other bytes" in log, "the fork is reported loudly")
        m = subprocess.run(["curl", "-s", "--http2-prior-knowledge", srv.url + "/metrics"], capture_output=True,
                           text=True).stdout
        check("scittd_publish_fork 1" in m, "scittd_publish_fork 1")
    finally:
        check(srv.stop() == 0, "exits 0")
    shutil.rmtree(pub)
finish()
