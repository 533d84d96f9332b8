#!/usr/bin/python3
"""One process per data folder (issue 15 item 7, issue 16 I): a second scittd
started on the folder of a running one exits non-zero at once with "DIR is
in use by pid N", and so does `scittd --check` on it; the first goes on
registering and stays healthy; once it has exited, the folder is free for
the next one."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import *  # noqa: E402,F403

root = tempdir()
servers = []
try:
    iss = Issuer(root)
    args = ["--issuer-keys", iss.keys_dir]
    srv = Server(root, args=args).start()
    servers.append(srv)

    t0 = time.time()
    second = subprocess.Popen([SCITTD, "--data", srv.data, "--listen", "127.0.0.1:%d" % free_port()] + args,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _, err = second.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        second.kill()
        _, err = second.communicate()
    want = "%s is in use by pid %d" % (srv.data, srv.proc.pid)
    check(second.returncode == 1, "a second scittd on the folder exits 1 (%s)" % second.returncode)
    check(want in err, "it says '%s' (%s)" % (want, err.strip()))
    check(time.time() - t0 < 10, "at once (%.1f s)" % (time.time() - t0))

    # `scittd --check` takes the same lock: it does not open the store beside
    # the running server (issue 16, polish item 1).
    chk = subprocess.run([SCITTD, "--check", "--data", srv.data], capture_output=True, text=True, timeout=60)
    check(chk.returncode == 1, "--check on the folder of a running scittd exits 1 (%s)" % chk.returncode)
    check(want in chk.stderr, "it says '%s' (%r %r)" % (want, chk.stdout.strip(), chk.stderr.strip()))

    r = curl(srv.base + "/entries", "POST", ["content-type: application/cose"], iss.statement("after the second"))
    check(r.status == 201, "the first still registers (%d)" % r.status)
    check(curl(srv.base + "/healthz").status == 200, "and is healthy")
    check(srv.stop() == 0, "the first exits 0")

    srv2 = Server(root, data=srv.data, args=args).start()
    servers.append(srv2)
    r = curl(srv2.base + "/entries", "POST", ["content-type: application/cose"], iss.statement("next owner"))
    check(r.status == 201, "after it exited, the next scittd takes the folder and registers (%d)" % r.status)
    check(srv2.stop() == 0, "which exits 0")
finally:
    for s in servers:
        s.stop(timeout=5)
    cleanup(root)
finish()
