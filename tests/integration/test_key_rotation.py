#!/usr/bin/python3
"""Receipt key rotation (issue 21): `scittd keys rotate` while scittd runs,
picked up on SIGHUP; a restart whose latest head was signed by a retired key
recovers (the head's kid names its key); every receipt issued before is
served byte for byte after rotations, SIGHUP and restarts; new receipts carry
the new kid; /.well-known/scitt-keys lists every receipt key ever used (the
active one first) and serves each by kid; `scitt verify` (key set URL and
FILE) and the independent verifier (tests/tools/scitt_verify.py) accept old
and new receipts."""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import *  # noqa: E402,F403

SCITT = os.environ.get("SCITT", "build-release/tools/scitt/scitt")

root = tempdir()
servers = []


def rotate(keys, *flags):
    r = subprocess.run([SCITTD, "keys", "rotate", "--keys", keys] + list(flags), capture_output=True, text=True)
    check(r.returncode == 0, "scittd keys rotate %s exits 0: %s" % (" ".join(flags), r.stdout + r.stderr))


def kid_of(receipt):
    prot = cbor2.loads(cbor2.loads(receipt).value[0] if isinstance(cbor2.loads(receipt), cbor2.CBORTag)
                       else cbor2.loads(receipt)[0])
    return prot[4]


def keyset(base):
    return [k[2] for k in cbor2.loads(curl(base + "/.well-known/scitt-keys").body)]


def register(base, stmt):
    r = curl(base + "/entries", "POST", ["content-type: application/cose"], stmt)
    check(r.status == 201, "registration 201 (got %d)" % r.status)
    return r.body


try:
    r = subprocess.run([SCITTD, "keys", "rotate"], capture_output=True, text=True)
    check(r.returncode == 2 and "--keys DIR is required" in r.stderr, "keys rotate without --keys: usage, exit 2")
    empty = os.path.join(root, "empty")
    os.mkdir(empty)
    r = subprocess.run([SCITTD, "keys", "rotate", "--keys", empty], capture_output=True, text=True)
    made = os.path.exists(os.path.join(empty, "service-es256.pem"))
    check(r.returncode == 1 and "no active key" in r.stderr and not made,
          "keys rotate on a folder without keys: exit 1, no key made (%s)" % r.stderr.strip())
    iss = Issuer(root)
    issuer_pem = os.path.join(iss.keys_dir, "issuer.pem")
    args = ["--issuer-keys", iss.keys_dir, "--receipt-cache-bytes", "0", "--tile-cache-bytes", "0"]
    srv = Server(root, args=args).start()
    servers.append(srv)
    keys_dir = srv.data
    s1 = iss.statement("before any rotation")
    r1 = register(srv.base, s1)
    kid1 = kid_of(r1)
    check(keyset(srv.base) == [kid1], "one receipt key at first")

    # Rotate while scittd runs, then restart without any new registration:
    # the latest head is signed by the now-retired key, and recovery checks
    # it with the key its kid names.
    rotate(keys_dir, "--receipt")
    check(srv.stop() == 0, "first run exits 0")
    srv = Server(root, data=keys_dir, args=args).start()
    servers.append(srv)
    ks = keyset(srv.base)
    check(len(ks) == 2 and ks[1] == kid1 and ks[0] != kid1, "after restart: the new key first, the old one kept")
    kid2 = ks[0]
    check(curl(srv.base + "/entries/" + entry_id(s1)).body == r1, "the old receipt, byte for byte, after restart")
    s2 = iss.statement("after the first rotation")
    r2 = register(srv.base, s2)
    check(kid_of(r2) == kid2, "a new registration's receipt carries the new kid")

    # Rotate again while it runs: nothing changes until SIGHUP.
    rotate(keys_dir)  # neither flag: both keys
    time.sleep(0.3)
    check(keyset(srv.base) == [kid2, kid1], "no change before SIGHUP")
    srv.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 20
    while time.time() < deadline and len(keyset(srv.base)) != 3:
        time.sleep(0.1)
    ks = keyset(srv.base)
    check(len(ks) == 3 and set(ks[1:]) == {kid1, kid2}, "SIGHUP: three receipt keys published")
    kid3 = ks[0]
    s3 = iss.statement("after SIGHUP")
    r3 = register(srv.base, s3)
    check(kid_of(r3) == kid3, "after SIGHUP new receipts carry the newest kid")
    for s, r in ((s1, r1), (s2, r2)):
        check(curl(srv.base + "/entries/" + entry_id(s)).body == r, "old receipts byte for byte after SIGHUP")
    check(srv.stop() == 0, "second run exits 0")

    # Restart: every receipt byte for byte; each key served by kid.
    srv = Server(root, data=keys_dir, args=args).start()
    servers.append(srv)
    B = srv.base
    for s, r in ((s1, r1), (s2, r2), (s3, r3)):
        check(curl(B + "/entries/" + entry_id(s)).body == r, "receipt byte for byte after restart")
    for kid in (kid1, kid2, kid3):
        b64 = base64.urlsafe_b64encode(kid).decode().rstrip("=")
        r = curl(B + "/.well-known/scitt-keys/" + b64)
        check(r.status == 200 and cbor2.loads(r.body)[2] == kid, "key %s served by kid" % b64[:8])

    # scitt verify against the published set (URL and FILE), and the
    # independent verifier with the key the receipt's kid names.
    kset = curl(B + "/.well-known/scitt-keys").body
    kfile = os.path.join(root, "keyset.cbor")
    open(kfile, "wb").write(kset)
    for i, (s, r) in enumerate(((s1, r1), (s2, r2), (s3, r3))):
        sp, rp = os.path.join(root, "s%d.cose" % i), os.path.join(root, "r%d.cbor" % i)
        open(sp, "wb").write(s)
        open(rp, "wb").write(r)
        for keys in (B, kfile):
            p = subprocess.run([SCITT, "verify", "--keys", keys, sp, rp], capture_output=True, text=True)
            check(p.returncode == 0, "scitt verify --keys %s receipt %d: %s" % (keys, i, p.stdout + p.stderr))
        k = [x for x in cbor2.loads(kset) if x[2] == kid_of(r)]
        pem = os.path.join(root, "log%d.pem" % i)
        log_key_pem(cbor2.dumps(k), pem)
        ok, out = verify_receipt(root, s, r, pem, issuer_pem)
        check(ok, "independent verifier: receipt %d: %s" % (i, out))
    # and the old key does not verify a new receipt (the kid matters)
    k1 = [x for x in cbor2.loads(kset) if x[2] == kid1]
    pem = os.path.join(root, "old.pem")
    log_key_pem(cbor2.dumps(k1), pem)
    ok, _ = verify_receipt(root, s3, r3, pem, issuer_pem)
    check(not ok, "the retired key does not verify a receipt of the new key")
    check(srv.stop() == 0, "third run exits 0")
    r = subprocess.run([SCITTD, "--check", "--data", srv.data] + (["--database", database_for(srv.data)] if ON_PG else []),
                       capture_output=True, text=True)
    check(r.returncode == 0 and "sound" in r.stdout, "--check passes over heads of three keys: " + r.stdout + r.stderr)
finally:
    for s in servers:
        s.stop()
    cleanup(root)
finish()
