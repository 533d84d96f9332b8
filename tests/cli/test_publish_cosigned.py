#!/usr/bin/python3
"""scittd --publish-dir with --witness (issue 21): DIR/checkpoint is
replaced by the same checkpoint with the cosignatures scittd collected once
a witnessing round ends, and never goes back to a smaller tree size.

- two `scitt witness`, K = 2: after 3 registrations DIR/checkpoint reaches
  size 3 with both witnesses' valid cosignatures, then 5 after 2 more; the
  size read from it while polling never decreases.
- scittd restarts on the folder holding the cosigned checkpoint.

Environment: SCITT, SCITTD.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import check, finish, scitt  # noqa: E402
from witnesses import WitnessedLog, checkpoint_size, cosig_ok, get, split_note  # noqa: E402


def main():
    log = WitnessedLog()
    data, pub = os.path.join(log.tmp, "data"), os.path.join(log.tmp, "pub")
    sizes = []

    def server(extra=()):
        return log.server(data, ["--publish-dir", pub, *extra])

    def published_cosigned(size):
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                note = open(os.path.join(pub, "checkpoint"), "rb").read()
            except FileNotFoundError:
                note = b""
            if note:
                sizes.append(checkpoint_size(note))
                body, sigs = split_note(note)
                good = [w for w in log.witnesses if any(cosig_ok(s, body, w.vkey) for s in sigs)]
                if sizes[-1] == size and len(good) == 2:
                    return True
            time.sleep(0.05)
        return False

    try:
        wargs = log.witness(data, 2, 2, 2, ["--publish-dir", pub])
        srv = server(wargs)
        r = scitt("register", "--url", srv.base, *log.issuer.statements(3, "a"))
        check(r.returncode == 0, "3 registered")
        check(published_cosigned(3), "DIR/checkpoint at 3 carries both valid cosignatures (%s)" % sizes[-3:])
        r = scitt("register", "--url", srv.base, *log.issuer.statements(2, "b"))
        check(r.returncode == 0, "2 more registered")
        check(published_cosigned(5), "DIR/checkpoint at 5 carries both valid cosignatures (%s)" % sizes[-3:])
        check(sizes == sorted(sizes), "DIR/checkpoint's size never went down while polled")
        srv.stop()
        srv = server(wargs)
        check(get(srv.base + "/checkpoint").split(b"\n")[1] == b"5",
              "scittd restarts on the folder holding the cosigned checkpoint")
    finally:
        log.close()
    finish()


main()
