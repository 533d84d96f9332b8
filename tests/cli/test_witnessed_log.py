#!/usr/bin/python3
"""scittd with `scitt witness` witnesses, end to end (issue 21).

- scittd --witness (two `scitt witness`, K = 2): /checkpoint carries both
  cosignatures, and `scitt mirror --witness w1 --witness w2
  --witness-threshold 2` accepts the log (exit 0).
- A witness restarted keeps its state (LMDB): scittd restarted (its own
  idea of the witnesses' sizes gone) adopts their size from the 409 and the
  checkpoint is cosigned again.
- A fork (the data folder copied, both copies grown with other statements,
  the same service keys): both witnesses refuse it (422, scittd's alert
  metric), the fork's /checkpoint carries no cosignature, and the same
  mirror command rejects it: exit 16 (unwitnessed).

Environment: SCITT, SCITTD.
"""
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import Issuer, check, finish, scitt  # noqa: E402  (puts the harness on the path)
import harness  # noqa: E402
from witnesses import Witness, get  # noqa: E402


def metric(srv, name, labels=""):
    text = get(srv.base + "/metrics").decode()
    m = re.search(r"^%s%s (\d+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    return int(m.group(1)) if m else None


def register(srv, issuer, n, tag):
    r = scitt("register", "--url", srv.base, *issuer.statements(n, tag))
    return r.returncode == 0


def wait_for(pred, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return False


def cosigned(srv, size, names):
    """/checkpoint is at `size` with a cosignature line by each of `names`."""
    note = get(srv.base + "/checkpoint").decode()
    lines = note.split("\n")
    signers = {ln.split(" ")[1] for ln in note.partition("\n\n")[2].splitlines()}
    return int(lines[1]) == size and set(names) <= signers


def main():
    tmp = harness.tempdir()
    issuer = Issuer(tmp)
    data = os.path.join(tmp, "data")
    servers, ws = [], []

    def server(d, extra=()):
        s = harness.Server(tmp, data=d, args=["--issuer-keys", issuer.keys_dir, *extra], lmdb=True).start()
        servers.append(s)
        return s

    try:
        srv = server(data)
        vkey = get(srv.base + "/checkpoint.vkey").decode().strip()
        srv.stop()
        ws = [Witness(tmp, "witness.test/w%d" % i, [vkey]).start() for i in (1, 2)]
        names = [w.name for w in ws]
        wargs = ["--checkpoint-interval-ms", "200", "--witness-threshold", "2"]
        for w in ws:
            wargs += ["--witness", "%s@%s" % (w.vkey, w.url)]
        mirror_args = ["--vkey", vkey, "--witness", ws[0].vkey, "--witness", ws[1].vkey, "--witness-threshold", "2"]

        srv = server(data, wargs)
        check(register(srv, issuer, 3, "log"), "3 registered")
        check(wait_for(lambda: cosigned(srv, 3, names)), "/checkpoint at 3 carries both cosignatures")
        check(metric(srv, "scittd_checkpoint_short") == 0, "metric: not short of K = 2")
        m = scitt("mirror", "--dir", os.path.join(tmp, "m-log"), "--url", srv.base, *mirror_args)
        check(m.returncode == 0, "scitt mirror --witness-threshold 2 accepts the log (%s)" % m.stderr.strip())
        srv.stop()
        fork_data = os.path.join(tmp, "fork")
        shutil.copytree(data, fork_data)

        ws[0].stop()
        ws[0].start()  # its state survives
        srv = server(data, wargs)
        check(register(srv, issuer, 2, "log"), "2 more registered after both restarts")
        check(wait_for(lambda: cosigned(srv, 5, names)), "/checkpoint at 5 cosigned again")
        check((metric(srv, "scittd_witness_conflicts_total", '{witness="witness.test/w1"}') or 0) >= 1,
              "the restarted scittd adopted the witness's size from a 409")
        srv.stop()

        fork = server(fork_data, wargs)
        check(register(fork, issuer, 4, "fork"), "the fork grows past the log with other statements")
        refused = wait_for(lambda: all(
            (metric(fork, "scittd_witness_alerts_total", '{witness="%s",status="422"}' % n) or 0) >= 1 for n in names))
        check(refused, "both witnesses refuse the fork (422)")
        note = get(fork.base + "/checkpoint").decode()
        check(note.count("\u2014 ") == 1 and note.split("\n")[1] == "7",
              "the fork's checkpoint at 7 carries only the log's signature")
        check(metric(fork, "scittd_checkpoint_short") == 1, "metric: the fork is short of K")
        m = scitt("mirror", "--dir", os.path.join(tmp, "m-fork"), "--url", fork.base, *mirror_args)
        check(m.returncode == 16, "scitt mirror --witness-threshold 2 rejects the fork: exit 16 (%d: %s)" %
              (m.returncode, m.stderr.strip()))
        fork.stop()
    finally:
        for s in servers:
            s.stop()
        for w in ws:
            w.stop()
        harness.cleanup(tmp)
    finish()


main()
