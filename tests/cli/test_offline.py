"""The scitt subcommands that need no server: help, keygen, sign (plain and
hash envelope), verify (the IETF vectors, and sign -> log -> verify round
trips checked by the independent verifier too), inspect.

Environment (set by tests/cli/meson.build): SCITT (the tool), MAKE_LOG,
SCITT_TESTDATA (../shared/testdata), SCITT_VERIFY_PY.
"""
import base64
import hashlib
import os
import subprocess
import sys
import tempfile

import cbor2

SCITT = os.environ["SCITT"]
MAKE_LOG = os.environ["MAKE_LOG"]
VECTORS = os.path.join(os.environ["SCITT_TESTDATA"], "merkle", "scitt-cose-v1", "v1")
VERIFY_PY = os.environ["SCITT_VERIFY_PY"]

failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def scitt(*args, stdin=None):
    return subprocess.run([SCITT, *args], capture_output=True, text=True, input=stdin)


def protected(stmt):
    tag = cbor2.loads(stmt)
    check(isinstance(tag, cbor2.CBORTag) and tag.tag == 18, "statement is tagged COSE_Sign1")
    return cbor2.loads(tag.value[0]), tag.value


def test_help():
    r = scitt("help")
    check(r.returncode == 0 and all(c in r.stdout for c in
                                    ["keygen", "sign", "register", "verify", "get", "inspect", "mirror"]),
          "help lists every subcommand")
    for cmd in ["keygen", "sign", "register", "verify", "get", "inspect", "mirror"]:
        r = scitt("help", cmd)
        check(r.returncode == 0 and r.stdout.startswith("usage: scitt " + cmd), "help " + cmd)
    r = scitt("help", "mirror")
    check(all(" %d " % c in r.stdout for c in (10, 11, 12, 13)), "help mirror documents exit codes 10-13")
    check(scitt("nonsense").returncode == 2, "unknown command is a usage error")
    check(scitt("sign", "--key").returncode == 2, "missing option argument is a usage error")


def test_keygen_sign_inspect(tmp):
    for alg in ["ES256", "ES384", "EdDSA"]:
        key = os.path.join(tmp, "k-%s.pem" % alg)
        r = scitt("keygen", "--alg", alg, "--out", key)
        kid = r.stdout.strip()
        check(r.returncode == 0 and len(base64.urlsafe_b64decode(kid + "=")) == 32, "keygen %s prints a kid" % alg)
        check(os.stat(key).st_mode & 0o777 == 0o600, "keygen %s private key is 0600" % alg)
        pub = key[:-4] + ".pub.pem"
        check(open(pub).read().startswith("-----BEGIN PUBLIC KEY-----"), "keygen %s writes the public key" % alg)

        payload = os.path.join(tmp, "payload.bin")
        with open(payload, "wb") as f:
            f.write(b"artifact bytes " * 1000)
        out = os.path.join(tmp, "s-%s.cose" % alg)
        r = scitt("sign", "--key", key, "--iss", "https://ci.example", "--sub", "pkg:demo", "--content-type",
                  "application/octet-stream", "--out", out, payload)
        check(r.returncode == 0, "sign %s" % alg)
        stmt = open(out, "rb").read()
        prot, parts = protected(stmt)
        check(prot[1] == {"ES256": -7, "ES384": -35, "EdDSA": -8}[alg], "sign %s: alg follows the key" % alg)
        check(base64.urlsafe_b64encode(prot[4]).rstrip(b"=").decode() == kid, "sign %s: kid is the thumbprint" % alg)
        check(prot[15][1] == "https://ci.example" and prot[15][2] == "pkg:demo" and 6 in prot[15],
              "sign %s: CWT iss, sub, iat" % alg)
        check(prot[3] == "application/octet-stream" and parts[1] == {}, "sign %s: content type, empty unprotected" % alg)
        check(parts[2] == open(payload, "rb").read(), "sign %s: payload attached" % alg)

    # Hash envelope (RFC 9995).
    key = os.path.join(tmp, "k-ES256.pem")
    out = os.path.join(tmp, "he.cose")
    r = scitt("sign", "--key", key, "--iss", "https://ci.example", "--sub", "pkg:demo", "--content-type",
              "application/spdx+json", "--hash-envelope", "--location", "https://example/sbom", "--out", out, payload)
    prot, parts = protected(open(out, "rb").read())
    check(r.returncode == 0, "sign --hash-envelope")
    check(parts[2] == hashlib.sha256(open(payload, "rb").read()).digest(), "hash envelope payload is SHA-256")
    check(prot[258] == -16 and prot[259] == "application/spdx+json" and prot[260] == "https://example/sbom",
          "hash envelope labels 258/259/260")
    check(3 not in prot, "hash envelope has no label 3")

    r = scitt("inspect", out)
    for name in ["alg", "kid", "CWT claims", "iss", "sub", "iat", "payload hash alg", "preimage content type",
                 "payload location", "protected", "unprotected", "payload", "signature", "SHA-256", "ES256"]:
        check("/ %s /" % name in r.stdout, "inspect names %s" % name)
    check("EntryID" in r.stdout, "inspect prints the EntryID")
    r = scitt("inspect", os.path.join(VECTORS, "valid-es256", "receipt.cose"))
    for name in ["vds", "proofs", "inclusion proofs", "RFC9162_SHA256"]:
        check("/ %s /" % name in r.stdout, "inspect receipt names %s" % name)
    check("<< [" in r.stdout, "inspect opens the inclusion proof bstr")
    bad = os.path.join(tmp, "bad.cbor")
    with open(bad, "wb") as f:
        f.write(b"\x9f\x01\xff")
    r = scitt("inspect", bad)
    check(r.returncode == 1 and "indefinite" in r.stderr, "inspect refuses indefinite CBOR with a reason")
    return out


def test_vectors():
    for d, want in [("valid-es256", 0), ("valid-eddsa", 0), ("fail-tampered-path", 1),
                    ("fail-unsupported-vds", 1), ("fail-bad-statement-sig", 0)]:
        v = os.path.join(VECTORS, d)
        r = scitt("verify", "--keys", os.path.join(v, "log-key.pub"), os.path.join(v, "statement.cose"),
                  os.path.join(v, "receipt.cose"))
        check(r.returncode == want, "verify vector %s exits %d (got %d: %s)" % (d, want, r.returncode, r.stdout))
        if want == 0:
            check("leaf 2 of tree size 8" in r.stdout, "verify vector %s prints the leaf" % d)
    v = os.path.join(VECTORS, "fail-bad-statement-sig")
    r = scitt("verify", "--keys", os.path.join(v, "log-key.pub"), "--issuer-key", os.path.join(v, "issuer-key.pub"),
              os.path.join(v, "statement.cose"), os.path.join(v, "receipt.cose"))
    check(r.returncode == 1 and "statement signature: FAILED" in r.stdout,
          "verify --issuer-key rejects the bad statement signature vector")
    r = scitt("verify", "--keys", os.path.join(v, "log-key.pub"), os.path.join(v, "statement.cose"))
    check(r.returncode == 1 and "no receipt" in r.stderr, "verify without a receipt says so")


def test_round_trip(tmp, he_stmt):
    """sign -> a log (make_log issues receipts as scittd does) -> verify."""
    key = os.path.join(tmp, "k-EdDSA.pem")
    stmt = os.path.join(tmp, "s-EdDSA.cose")
    keys = os.path.join(tmp, "logkeys")
    log = os.path.join(tmp, "log")
    subprocess.run([MAKE_LOG, keys, log, "5", "+", stmt, he_stmt], check=True)
    for path, issuer in [(stmt, key[:-4] + ".pub.pem"), (he_stmt, os.path.join(tmp, "k-ES256.pub.pem"))]:
        ident = scitt("inspect", path).stdout.split("EntryID (SHA-256 of the normalised statement): ")[1][:64]
        ts = os.path.join(log, "entries", ident, "statement")
        r = scitt("verify", "--keys", os.path.join(keys, "keyset.cbor"), "--issuer-key", issuer, ts)
        check(r.returncode == 0 and "receipt 1: OK" in r.stdout and "registered 20" in r.stdout,
              "round trip verifies %s (%s)" % (os.path.basename(path), r.stdout + r.stderr))
        # The same receipt, detached, with the plain statement.
        tag = cbor2.loads(open(ts, "rb").read())
        receipt = os.path.join(tmp, "receipt.cose")
        with open(receipt, "wb") as f:
            f.write(tag.value[1][394][0])
        r = scitt("verify", "--keys", os.path.join(keys, "keyset.cbor"), path, receipt)
        check(r.returncode == 0, "statement + detached receipt verifies")
        # The independent verifier agrees.
        pem = os.path.join(tmp, "service.pub.pem")
        r = subprocess.run(["openssl", "pkey", "-in", os.path.join(keys, "service.pem"), "-pubout", "-out", pem],
                           capture_output=True)
        if r.returncode == 0:
            r = subprocess.run(["/usr/bin/python3", VERIFY_PY, "--normalise", "--issuer-key", issuer, path, receipt,
                                pem], capture_output=True, text=True)
            check(r.returncode == 0, "independent verifier accepts the round trip (%s)" % (r.stdout + r.stderr))
    # A receipt for one statement (the last one, he_stmt) does not verify another.
    r = scitt("verify", "--keys", os.path.join(keys, "keyset.cbor"), stmt, receipt)
    check(r.returncode == 1 and "FAILED" in r.stdout, "a receipt does not verify a different statement")
    # Wrong log key.
    other = os.path.join(tmp, "otherkeys")
    subprocess.run([MAKE_LOG, other, os.path.join(tmp, "log2"), "1"], check=True)
    r = scitt("verify", "--keys", os.path.join(other, "keyset.cbor"), he_stmt, receipt)
    check(r.returncode == 1, "a receipt does not verify under another service's keys")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        test_help()
        he = test_keygen_sign_inspect(tmp)
        test_vectors()
        test_round_trip(tmp, he)
    if failures:
        print("%d checks failed" % len(failures))
        sys.exit(1)
    print("all checks passed")


main()
