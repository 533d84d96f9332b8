"""`scitt mirror` against static copies of a log (make_log, read through
file://), including deliberately tampered ones. Each tamper case must stop
the mirror with its own exit code, keep the evidence, and store nothing of
the offending data:

  changed full tile       one byte of tile/0/000          -> 12 (bundle vs tile)
  changed edge tile       one byte of tile/0/001.p/44     -> 12 (root from tiles)
  changed upper tile      one byte of tile/1/000.p/1      -> 12
  changed statement       another entry's statement       -> 13
  missing statement       entries/<id>/statement removed  -> 13
  fork, right key         same keys, entries diverge      -> 11
  shrunk fork, right key  a smaller checkpoint, other root -> 11
  stale checkpoint        an older one, tiles still served -> 0 + warning (caches serve those)
  rollback                an older one, newer tiles gone  -> 14
  foreign checkpoint      signed by another key           -> 10
  --vkey not the pinned                                   -> 10

Plus: a growing log (300 -> 700 entries) and resuming after a failure.
"""
import os
import shutil
import subprocess
import sys
import tempfile

SCITT = os.environ["SCITT"]
MAKE_LOG = os.environ["MAKE_LOG"]
failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def make_log(keys, out, size, diverge=None):
    args = [MAKE_LOG, keys, out, str(size)] + ([str(diverge)] if diverge is not None else [])
    subprocess.run(args, check=True)


def mirror(log, mdir, *extra):
    return subprocess.run([SCITT, "mirror", "--url", "file://" + log, "--dir", mdir, *extra], capture_output=True,
                          text=True)


def entry_ids(log, tile_paths):
    """EntryIDs in index order, from the log's entry bundles."""
    ids = []
    for p in tile_paths:
        data = open(os.path.join(log, p), "rb").read()
        while data:
            n = int.from_bytes(data[:2], "big")
            ids.append(data[2:2 + n].hex())
            data = data[2 + n:]
    return ids


def flip(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0xFF]))


def tampered(tmp, base, name, edit):
    d = os.path.join(tmp, name)
    shutil.copytree(base, d)
    edit(d)
    return d


def expect(tmp, log, code, what, words, prime=None):
    mdir = os.path.join(tmp, "m-" + os.path.basename(log))
    if prime is not None:
        r = mirror(prime, mdir)
        check(r.returncode == 0, "%s: the mirror first follows the honest log" % what)
    r = mirror(log, mdir)
    check(r.returncode == code, "%s: exit %d (got %d: %s)" % (what, code, r.returncode, r.stderr.strip()))
    check(all(w in r.stderr for w in words), "%s: the message says %s" % (what, words))
    ev = os.path.join(mdir, "evidence")
    kept = sorted(os.listdir(ev)) if os.path.isdir(ev) else []
    check(len(kept) == 1 and os.path.exists(os.path.join(ev, kept[0], "report.txt")) and
          os.path.exists(os.path.join(ev, kept[0], "offered.checkpoint")), "%s: evidence kept" % what)
    return mdir, (os.path.join(ev, kept[0]) if kept else None)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        keys = os.path.join(tmp, "keys")
        honest = os.path.join(tmp, "honest")
        make_log(keys, honest, 300)
        ids = entry_ids(honest, ["tile/entries/000", "tile/entries/001.p/44"])
        check(len(ids) == 300, "make_log wrote 300 entries")

        m = os.path.join(tmp, "m")
        r = mirror(honest, m)
        check(r.returncode == 0 and "tree size 300" in r.stdout, "mirror an honest log of 300")
        grown = os.path.join(tmp, "grown")
        make_log(keys, grown, 700)
        r = mirror(grown, m, "--chunk", "256")
        check(r.returncode == 0 and "tree size 700" in r.stdout, "the log grows to 700: consistent")
        r = mirror(grown, m)
        check(r.returncode == 0 and "tree size 700" in r.stdout, "again: nothing new")

        expect(tmp, tampered(tmp, honest, "full-tile", lambda d: flip(os.path.join(d, "tile/0/000"), 100)), 12,
               "changed full tile", ["tile/0/000", "bundle"])
        expect(tmp, tampered(tmp, honest, "edge-tile", lambda d: flip(os.path.join(d, "tile/0/001.p/44"), 7)), 12,
               "changed edge tile", ["give root", "checkpoint says"])
        expect(tmp, tampered(tmp, honest, "upper-tile", lambda d: flip(os.path.join(d, "tile/1/000.p/1"), 0)), 12,
               "changed level-1 tile", ["give root"])

        def swap(d):
            shutil.copy(os.path.join(d, "entries", ids[6], "statement"), os.path.join(d, "entries", ids[5], "statement"))
        _, ev = expect(tmp, tampered(tmp, honest, "statement", swap), 13, "changed statement",
                       ["entry 5", ids[5], "hashes to"])
        check(ev is not None and os.path.exists(os.path.join(ev, "statement")), "the bad statement is kept")
        expect(tmp, tampered(tmp, honest, "missing", lambda d: shutil.rmtree(os.path.join(d, "entries", ids[9]))),
               13, "missing statement", ["entry 9", "no statement"])

        fork = os.path.join(tmp, "fork")
        make_log(keys, fork, 400, 250)
        _, ev = expect(tmp, fork, 11, "fork signed by the right key", ["tree size 300", "root"], prime=honest)
        check(ev is not None and os.path.exists(os.path.join(ev, "trusted.checkpoint")),
              "fork: both checkpoints kept")
        older = os.path.join(tmp, "older")
        make_log(keys, older, 200)
        stale = tampered(tmp, honest, "stale", lambda d: shutil.copy(os.path.join(older, "checkpoint"),
                                                                    os.path.join(d, "checkpoint")))
        mdir = os.path.join(tmp, "m-stale")
        mirror(honest, mdir)
        r = mirror(stale, mdir)
        check(r.returncode == 0 and "tree size 300" in r.stdout and "stale" in r.stderr and
              not os.path.isdir(os.path.join(mdir, "evidence")),
              "an older checkpoint of a log that still serves size 300: a warning, the mirror keeps 300 (%s)" %
              r.stderr.strip())
        _, ev = expect(tmp, older, 14, "older checkpoint, tiles of 300 gone", ["rolled back", "size 200"],
                       prime=honest)
        check(ev is not None and os.path.exists(os.path.join(ev, "trusted.checkpoint")),
              "rollback: both checkpoints kept")
        shrunk = os.path.join(tmp, "shrunk")
        make_log(keys, shrunk, 200, 150)
        expect(tmp, shrunk, 11, "smaller checkpoint with another history, right key", ["tree size 200", "root"],
               prime=honest)
        same_size_fork = os.path.join(tmp, "same")
        make_log(keys, same_size_fork, 300, 299)
        expect(tmp, same_size_fork, 11, "same size, other root", ["root"], prime=honest)

        other = os.path.join(tmp, "other")
        make_log(os.path.join(tmp, "otherkeys"), other, 300)
        foreign = tampered(tmp, honest, "foreign", lambda d: shutil.copy(os.path.join(other, "checkpoint"),
                                                                        os.path.join(d, "checkpoint")))
        expect(tmp, foreign, 10, "checkpoint by another key", ["pinned key"], prime=honest)
        vk = open(os.path.join(other, "checkpoint.vkey")).read().strip()
        r = mirror(honest, m, "--vkey", vk)
        check(r.returncode == 10 and "differs" in r.stderr, "--vkey that differs from the pinned key: exit 10")

        # Resume: the last chunk fails (a statement is missing), the earlier
        # chunks stay committed, and the next run resumes from them.
        broken = tampered(tmp, grown, "broken", lambda d: None)
        ids700 = entry_ids(grown, ["tile/entries/000", "tile/entries/001", "tile/entries/002.p/188"])
        saved = os.path.join(tmp, "saved-statement")
        shutil.move(os.path.join(broken, "entries", ids700[650]), saved)
        mr = os.path.join(tmp, "m-resume")
        r = mirror(broken, mr, "--chunk", "256")
        check(r.returncode == 13, "resume: the first run stops at the missing statement")
        shutil.move(saved, os.path.join(broken, "entries", ids700[650]))
        r = mirror(broken, mr, "--chunk", "256")
        check(r.returncode == 0 and "resuming: 512 entries held" in r.stdout and "tree size 700" in r.stdout,
              "resume: the second run continues from 512 entries (%s)" % r.stdout.strip())
    if failures:
        print("%d checks failed" % len(failures))
        sys.exit(1)
    print("all checks passed")


main()
