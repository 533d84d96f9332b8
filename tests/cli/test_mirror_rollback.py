"""A log that rolls back (issue 15, item 1): `scitt mirror` and `scitt monitor`
against a real scittd restarted on an older copy of its own data folder.

  the data folder is copied at size 20, the log grows to 25, a mirror (and a
  monitor) verify 25; scittd is restarted on the copy: a signed checkpoint
  at 20 and no tiles past it -> exit 14 "rollback", both signed checkpoints
  kept in DIR/evidence/<time>-rollback/

  a static copy of the log at 25 whose checkpoint is replaced by the one at
  20 (an older checkpoint in front of a log that still serves the newer
  tiles, as a stale cache does) -> a warning on stderr, exit 0

Environment: SCITT, SCITTD (set by tests/cli/meson.build).
"""
import os
import shutil
import tempfile

from clitest import Issuer, Server, check, finish, scitt
from harness import curl, fetch_tree


def dump_log(url, size, out):
    """A static copy of the log at `url` as of `size` (its URL paths as
    files), for `scitt mirror --url file://OUT`."""
    def get(path):
        r = curl(url + path)
        assert r.status == 200, (path, r.status)
        return r.body

    def put(path, data):
        full = os.path.join(out, path.lstrip("/"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)

    _, entries, seen = fetch_tree(get, size)
    for path, data in seen.items():
        put(path, data)
    for e in entries:
        path = "/entries/%s/statement" % e.hex()
        put(path, get(path))
    for path in ["/checkpoint", "/checkpoint.vkey", "/.well-known/scitt-keys"]:
        put(path, get(path))


def evidence_of(mdir, kind):
    ev = os.path.join(mdir, "evidence")
    kept = [k for k in sorted(os.listdir(ev)) if k.endswith("-" + kind)] if os.path.isdir(ev) else []
    return os.path.join(ev, kept[-1]) if kept else None


def checkpoint_size(path):
    return int(open(path).read().split("\n")[1])


def main():
    with tempfile.TemporaryDirectory() as tmp:
        issuer = Issuer(tmp)
        data, data20 = os.path.join(tmp, "data"), os.path.join(tmp, "data-at-20")
        watch = os.path.join(tmp, "watch")
        with open(watch, "w") as f:
            f.write("iss https://nobody.example\n")
        mdir, mon, cached = (os.path.join(tmp, n) for n in ["mirror", "monitor", "mirror-of-cache"])
        static = os.path.join(tmp, "static")
        srv = Server(tmp, data, issuer.keys_dir)
        try:
            r = scitt("register", "--url", srv.url, *issuer.statements(20, "first"))
            check(r.returncode == 0, "register 20 statements (%s)" % r.stderr.strip())
            srv.stop()
            shutil.copytree(data, data20)
            srv.start()
            r = scitt("register", "--url", srv.url, *issuer.statements(5, "more"))
            check(r.returncode == 0, "register 5 more (%s)" % r.stderr.strip())
            r = scitt("mirror", "--url", srv.url, "--dir", mdir)
            check(r.returncode == 0 and "tree size 25" in r.stdout, "the mirror verifies size 25 (%s)" % r.stderr)
            r = scitt("monitor", "--url", srv.url, "--dir", mon, "--watch", watch)
            check(r.returncode == 0 and "tree size 25" in r.stderr, "the monitor verifies size 25 (%s)" % r.stderr)
            dump_log(srv.url, 25, static)
            r = scitt("mirror", "--url", "file://" + static, "--dir", cached)
            check(r.returncode == 0 and "tree size 25" in r.stdout, "a static copy at 25 verifies (%s)" % r.stderr)
        finally:
            srv.stop()

        old = Server(tmp, data20, issuer.keys_dir)
        try:
            r = scitt("mirror", "--url", old.url, "--dir", mdir)
            check(r.returncode == 14 and "rolled back" in r.stderr,
                  "the log restarted on its copy at 20: exit 14 (%d: %s)" % (r.returncode, r.stderr.strip()))
            ev = evidence_of(mdir, "rollback")
            check(ev is not None, "the rollback's evidence is kept")
            if ev is not None:
                trusted, offered = os.path.join(ev, "trusted.checkpoint"), os.path.join(ev, "offered.checkpoint")
                check(os.path.exists(trusted) and checkpoint_size(trusted) == 25,
                      "evidence: the signed checkpoint the mirror verified (25)")
                check(os.path.exists(offered) and checkpoint_size(offered) == 20,
                      "evidence: the signed checkpoint the log serves now (20)")
            r = scitt("mirror", "--url", old.url, "--dir", mdir)
            check(r.returncode == 14, "again: still a rollback, the mirror keeps size 25")
            r = scitt("monitor", "--url", old.url, "--dir", mon, "--watch", watch)
            check(r.returncode == 14 and "rolled back" in r.stderr,
                  "the monitor sees the rollback too: exit 14 (%d: %s)" % (r.returncode, r.stderr.strip()))
            old_checkpoint = curl(old.url + "/checkpoint").body
        finally:
            old.stop()

        with open(os.path.join(static, "checkpoint"), "wb") as f:
            f.write(old_checkpoint)
        r = scitt("mirror", "--url", "file://" + static, "--dir", cached)
        check(r.returncode == 0 and "warning" in r.stderr and "stale" in r.stderr and "tree size 25" in r.stdout,
              "an older checkpoint while the tiles of 25 are still served: a warning, exit 0 (%d: %s)" %
              (r.returncode, r.stderr.strip()))
        check(evidence_of(cached, "rollback") is None, "a stale checkpoint keeps no evidence")
    finish()


if __name__ == "__main__":
    main()
