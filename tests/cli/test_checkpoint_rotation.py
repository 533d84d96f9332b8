"""Checkpoint key rotation (issue 21): `scittd keys rotate --checkpoint`
starts a transition in which checkpoints carry two signatures (the retired
key's and the new one's) and /checkpoint.vkey lists both, the active key
first. A `scitt mirror` pinned to the old key follows a checkpoint signed by
both and pins the new key too (DIR/checkpoint.vkey gets its line), then keeps
following once only the new key signs. A checkpoint signed only by a new key
that no pinned key announced is refused, and nothing new is pinned.

Environment: SCITT, SCITTD (set by tests/cli/meson.build).
"""
import os
import shutil
import subprocess
import tempfile

from clitest import Issuer, Server, check, finish, scitt
from harness import SCITTD, curl, verify_checkpoint


def rotate(keys, *flags):
    r = subprocess.run([SCITTD, "keys", "rotate", "--keys", keys, *flags], capture_output=True, text=True)
    check(r.returncode == 0, "scittd keys rotate %s: exit 0 (%s)" % (" ".join(flags), r.stderr.strip()))


def sig_lines(note):
    return [ln for ln in note.decode().split("\n\n", 1)[1].splitlines() if ln]


def grow(srv, issuer, n, tag, sigs, what):
    """Register n statements; the checkpoint then carries `sigs` signatures."""
    scitt("register", "--url", srv.url, *issuer.statements(n, tag))
    note = curl(srv.url + "/checkpoint").body
    check(len(sig_lines(note)) == sigs, what)
    return note


def pinned(mdir):
    return [ln for ln in open(os.path.join(mdir, "checkpoint.vkey")).read().splitlines() if ln]


def end_transition(data):
    """The checkpoint key's transition ends now: only the new key signs."""
    hexid = open(os.path.join(data, "checkpoint-transition")).read().split()[1]
    with open(os.path.join(data, "checkpoint-transition"), "w") as f:
        f.write("0 %s\n" % hexid)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        issuer = Issuer(tmp)
        data, unannounced = os.path.join(tmp, "data"), os.path.join(tmp, "data-unannounced")
        mdir, mdir2 = os.path.join(tmp, "mirror"), os.path.join(tmp, "mirror-2")
        srv = Server(tmp, data, issuer.keys_dir)
        try:
            r = scitt("register", "--url", srv.url, *issuer.statements(3, "before"))
            check(r.returncode == 0, "register 3 statements (%s)" % r.stderr.strip())
            r = scitt("mirror", "--url", srv.url, "--dir", mdir)
            check(r.returncode == 0 and "tree size 3" in r.stdout, "the mirror pins the key and verifies 3")
            old_vkey = pinned(mdir)
            check(len(old_vkey) == 1, "one key pinned")
        finally:
            srv.stop()
        shutil.copytree(data, unannounced)
        shutil.copytree(mdir, mdir2)

        # The same log with a new checkpoint key that nobody announced.
        rotate(unannounced, "--checkpoint", "--checkpoint-transition", "0")
        srv = Server(tmp, unannounced, issuer.keys_dir)
        try:
            grow(srv, issuer, 1, "unannounced", 1, "no transition: one signature")
            r = scitt("mirror", "--url", srv.url, "--dir", mdir2)
            check(r.returncode != 0 and "does not verify with the pinned key" in r.stderr,
                  "a checkpoint signed only by an unannounced key is refused (%d: %s)" %
                  (r.returncode, r.stderr.strip()))
            check(pinned(mdir2) == old_vkey, "nothing new pinned")
        finally:
            srv.stop()

        # The announced rotation: both keys sign for the transition.
        rotate(data, "--checkpoint", "--checkpoint-transition", "3600")
        srv = Server(tmp, data, issuer.keys_dir)
        try:
            note = grow(srv, issuer, 2, "transition", 2, "transition: two signatures on the checkpoint")
            vkeys = curl(srv.url + "/checkpoint.vkey").body.decode().splitlines()
            check(len(vkeys) == 2 and vkeys[1] == old_vkey[0] and vkeys[0] != old_vkey[0],
                  "/checkpoint.vkey: the new key first, then the old one")
            for v in vkeys:
                verify_checkpoint(note, v)  # raises unless this key signed it
            r = scitt("mirror", "--url", srv.url, "--dir", mdir)
            check(r.returncode == 0 and "tree size 5" in r.stdout,
                  "the mirror pinned to the old key follows (%d: %s)" % (r.returncode, r.stderr.strip()))
            check(pinned(mdir) == old_vkey + [vkeys[0]], "... and pins the new key too")
        finally:
            srv.stop()

        # The transition ends: only the new key signs; the mirror follows.
        end_transition(data)
        srv = Server(tmp, data, issuer.keys_dir)
        try:
            grow(srv, issuer, 1, "after", 1, "after the transition: one signature")
            r = scitt("mirror", "--url", srv.url, "--dir", mdir)
            check(r.returncode == 0 and "tree size 6" in r.stdout,
                  "the mirror keeps following on the new key alone (%d: %s)" % (r.returncode, r.stderr.strip()))
            r = scitt("mirror", "--url", srv.url, "--dir", mdir2)
            check(r.returncode != 0, "the mirror that never saw the announcement still refuses")
        finally:
            srv.stop()
    finish()


if __name__ == "__main__":
    main()
