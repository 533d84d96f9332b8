"""`scitt mirror` verifies the receipts embedded in the statements it copies
(issue 15, item 10): static copies of a log (make_log, read through file://)
whose statements carry a damaged receipt. The statement still hashes to its
entry (the entry ignores the unprotected header), so only the receipt check
can catch these; each must stop the mirror with exit 15 ("bad receipt"),
keep the statement as evidence, and store nothing of that entry.

  signature byte flipped           -> 15 (does not verify with the log's key)
  inclusion path byte flipped      -> 15 (does not lead to the log's root)
  another entry's receipt          -> 15 (claims another leaf)
  receipt keys of another service  -> 15 (no key has its kid)
  honest log                       -> 0, receipts verified, no warning
  honest log without scitt-keys    -> 0 with a warning (roots only)
"""
import os
import shutil
import subprocess
import tempfile

import cbor2

from clitest import check, finish, scitt

MAKE_LOG = os.environ["MAKE_LOG"]


def mirror(log, mdir):
    return scitt("mirror", "--url", "file://" + log, "--dir", mdir)


def statement_paths(log):
    base = os.path.join(log, "entries")
    return sorted(os.path.join(base, d, "statement") for d in os.listdir(base))


def edit_receipt(path, edit):
    """Rewrite the receipt inside the transparent statement at `path`."""
    ts = cbor2.loads(open(path, "rb").read())
    receipt = cbor2.loads(ts.value[1][394][0])
    edit(receipt)
    ts.value[1] = {394: [cbor2.dumps(receipt)]}
    with open(path, "wb") as f:
        f.write(cbor2.dumps(ts))


def flip_signature(r):
    sig = bytearray(r.value[3])
    sig[5] ^= 1
    r.value[3] = bytes(sig)


def flip_path(r):
    proof = cbor2.loads(r.value[1][396][-1][0])
    proof[2][0] = bytes([proof[2][0][0] ^ 1]) + proof[2][0][1:]
    r.value[1][396][-1] = [cbor2.dumps(proof)]


def expect_bad(tmp, honest, name, edit, words):
    log = os.path.join(tmp, name)
    shutil.copytree(honest, log)
    target = edit(log)
    mdir = os.path.join(tmp, "m-" + name)
    r = mirror(log, mdir)
    check(r.returncode == 15 and all(w in r.stderr for w in words),
          "%s: exit 15, the message says %s (%d: %s)" % (name, words, r.returncode, r.stderr.strip()))
    ev = os.path.join(mdir, "evidence")
    kept = sorted(os.listdir(ev)) if os.path.isdir(ev) else []
    kept_stmt = os.path.join(ev, kept[0], "statement") if len(kept) == 1 else None
    check(kept_stmt is not None and kept[0].endswith("-bad-receipt") and os.path.exists(kept_stmt) and
          (target is None or open(kept_stmt, "rb").read() == open(target, "rb").read()),
          "%s: the statement with the bad receipt is kept as evidence" % name)
    check("tree size" not in r.stdout, "%s: no checkpoint is trusted" % name)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        keys = os.path.join(tmp, "keys")
        honest = os.path.join(tmp, "honest")
        subprocess.run([MAKE_LOG, keys, honest, "40"], check=True)
        r = mirror(honest, os.path.join(tmp, "m"))
        check(r.returncode == 0 and "tree size 40" in r.stdout and "warning" not in r.stderr,
              "an honest log: every receipt verifies (%s)" % r.stderr.strip())

        def sig(log):
            p = statement_paths(log)[7]
            edit_receipt(p, flip_signature)
            return p
        expect_bad(tmp, honest, "signature", sig, ["receipt 1", "does not verify"])

        def path(log):
            p = statement_paths(log)[3]
            edit_receipt(p, flip_path)
            return p
        expect_bad(tmp, honest, "path", path, ["inclusion proof", "root"])

        def swapped(log):
            a, b = statement_paths(log)[:2]
            other = cbor2.loads(open(b, "rb").read()).value[1][394][0]
            edit_receipt(a, lambda r: r.value.__setitem__(slice(None), cbor2.loads(other).value))
            return a
        expect_bad(tmp, honest, "swapped", swapped, ["claims leaf"])

        other_keys = os.path.join(tmp, "other-keys")
        subprocess.run([MAKE_LOG, other_keys, os.path.join(tmp, "other"), "1"], check=True)

        def foreign(log):
            shutil.copy(os.path.join(other_keys, "keyset.cbor"), os.path.join(log, ".well-known", "scitt-keys"))
            return None  # the first statement of the log
        expect_bad(tmp, honest, "foreign-keys", foreign, ["kid"])

        nokeys = os.path.join(tmp, "nokeys")
        shutil.copytree(honest, nokeys)
        os.remove(os.path.join(nokeys, ".well-known", "scitt-keys"))
        r = mirror(nokeys, os.path.join(tmp, "m-nokeys"))
        check(r.returncode == 0 and "warning" in r.stderr and "signatures were not" in r.stderr,
              "a log without published receipt keys: roots checked, a warning (%s)" % r.stderr.strip())
    finish()


if __name__ == "__main__":
    main()
