#!/usr/bin/python3
"""`scitt monitor` follows a checkpoint key rotation exactly as `scitt
mirror` does (issue 21; the same code, src/mirror's learn_keys): a monitor
pinned to the old key accepts a transition checkpoint signed by both keys,
pins the new one from it, and keeps following once only the new key signs.
A monitor that never saw the transition refuses the new key alone.

Environment: SCITT, SCITTD (set by tests/cli/meson.build).
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import Issuer, Server, check, finish, scitt  # noqa: E402
from test_checkpoint_rotation import end_transition, grow, pinned, rotate  # noqa: E402


def monitor(srv, mdir, watch):
    return scitt("monitor", "--url", srv.url, "--dir", mdir, "--watch", watch)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        issuer = Issuer(tmp)
        data = os.path.join(tmp, "data")
        mdir, late = os.path.join(tmp, "monitor"), os.path.join(tmp, "monitor-late")
        watch = os.path.join(tmp, "watch")
        with open(watch, "w") as f:
            f.write("sub pkg:test/nothing-watched\n")
        srv = Server(tmp, data, issuer.keys_dir)
        try:
            grow(srv, issuer, 3, "before", 1, "3 registered, one signature")
            r = monitor(srv, mdir, watch)
            check(r.returncode == 0, "the monitor pins the key (%d: %s)" % (r.returncode, r.stderr.strip()))
            old_vkey = pinned(mdir)
            check(len(old_vkey) == 1, "one key pinned")
        finally:
            srv.stop()
        shutil.copytree(mdir, late)

        rotate(data, "--checkpoint", "--checkpoint-transition", "3600")
        srv = Server(tmp, data, issuer.keys_dir)
        try:
            grow(srv, issuer, 2, "transition", 2, "transition: two signatures on the checkpoint")
            r = monitor(srv, mdir, watch)
            check(r.returncode == 0 and "checkpoint key rotated" in r.stderr,
                  "the monitor pinned to the old key follows and says so (%d: %s)" %
                  (r.returncode, r.stderr.strip()))
            check(len(pinned(mdir)) == 2 and pinned(mdir)[0] == old_vkey[0], "... and pins the new key too")
        finally:
            srv.stop()

        end_transition(data)
        srv = Server(tmp, data, issuer.keys_dir)
        try:
            grow(srv, issuer, 1, "after", 1, "after the transition: one signature")
            r = monitor(srv, mdir, watch)
            check(r.returncode == 0, "the monitor keeps following on the new key alone (%d: %s)" %
                  (r.returncode, r.stderr.strip()))
            r = monitor(srv, late, watch)
            check(r.returncode == 10 and pinned(late) == old_vkey,
                  "a monitor that never saw the transition refuses the new key (%d)" % r.returncode)
        finally:
            srv.stop()
    finish()


if __name__ == "__main__":
    main()
