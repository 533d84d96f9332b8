#!/usr/bin/python3
"""An independent SCITT verifier for tests, written from the specifications
(RFC 9052 COSE_Sign1, RFC 9942 receipts with vds 1, RFC 9162 section 2.1.3.2)
on python3-cbor2 and python3-cryptography. It shares no code with scittd, so
receipts that pass here were not only checked by our own decoder.

usage: scitt_verify.py STATEMENT RECEIPT LOG_KEY.pem [--issuer-key KEY.pem] [--normalise]
       scitt_verify.py --self-test VECTORS_DIR   (the scitt-cose-v1 RFC 9162 vectors)
With --ours ORIGIN it also checks that the receipt has exactly scittd's shape
(DESIGN.md section 2), byte for byte in deterministic CBOR.
Exit 0 and print VALID, or exit 1 and print INVALID: <reason>."""
import argparse
import hashlib
import sys

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

ALGS = {-7: hashes.SHA256, -35: hashes.SHA384, -36: hashes.SHA512, -8: None,
        -37: hashes.SHA256, -38: hashes.SHA384, -39: hashes.SHA512}


class Invalid(Exception):
    pass


def sign1(data):
    item = cbor2.loads(data)
    if isinstance(item, cbor2.CBORTag):
        if item.tag != 18:
            raise Invalid(f"tag {item.tag} is not COSE_Sign1")
        item = item.value
    if not (isinstance(item, list) and len(item) == 4 and isinstance(item[0], bytes)
            and isinstance(item[1], dict) and isinstance(item[3], bytes)):
        raise Invalid("not a COSE_Sign1 array")
    prot = cbor2.loads(item[0]) if item[0] else {}
    return item, prot


def verify_sig(what, key, alg, prot_bstr, payload, sig):
    tbs = cbor2.dumps(["Signature1", prot_bstr, b"", payload])
    if alg not in ALGS:
        raise Invalid(f"unsupported alg {alg}")
    try:
        if alg == -8:
            key.verify(sig, tbs)
        elif alg in (-7, -35, -36):
            n = len(sig) // 2
            der = utils.encode_dss_signature(int.from_bytes(sig[:n], "big"), int.from_bytes(sig[n:], "big"))
            key.verify(der, tbs, ec.ECDSA(ALGS[alg]()))
        else:
            h = ALGS[alg]()
            key.verify(sig, tbs, padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), h)
    except InvalidSignature:
        raise Invalid(f"{what} signature does not verify")


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_path(index, size, leaf, path):
    # RFC 9162 section 2.1.3.2, step by step.
    if index >= size:
        raise Invalid("leaf index >= tree size")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if len(p) != 32:
            raise Invalid("path element is not 32 bytes")
        if sn == 0:
            raise Invalid("path too long")
        if fn % 2 == 1 or fn == sn:
            r = node(p, r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Invalid("path too short")
    return r


def normalise(statement):
    item, _ = sign1(statement)
    return b"\xd2\x84" + cbor2.dumps(item[0]) + b"\xa0" + cbor2.dumps(item[2]) + cbor2.dumps(item[3])


def verify(statement, receipt, log_key, issuer_key=None):
    st, st_prot = sign1(statement)
    if issuer_key is not None:
        if st[2] is None:
            raise Invalid("statement payload is detached")
        verify_sig("statement", issuer_key, st_prot.get(1), st[0], st[2], st[3])
    rc, prot = sign1(receipt)
    if prot.get(395) != 1:
        raise Invalid(f"unsupported vds {prot.get(395)}")
    proofs = rc[1].get(396, {}).get(-1)
    if not isinstance(proofs, list) or len(proofs) == 0:
        raise Invalid("no inclusion proof")
    entry = hashlib.sha256(statement).digest()
    leaf = hashlib.sha256(b"\x00" + entry).digest()
    roots = set()
    for bstr in proofs:
        size, index, path = cbor2.loads(bstr)
        roots.add(root_from_path(index, size, leaf, path))
    if len(roots) != 1:
        raise Invalid("inclusion proofs disagree on the root")
    root = roots.pop()
    if rc[2] is not None and rc[2] != root:
        raise Invalid("attached payload is not the reconstructed root")
    verify_sig("receipt", log_key, prot.get(1), rc[0], root, rc[3])
    return prot


def self_test(root):
    """Check this verifier against the IETF vectors before trusting it."""
    import json
    import os
    load = lambda p: serialization.load_pem_public_key(open(p, "rb").read())
    manifest = json.load(open(os.path.join(root, "manifest.json")))
    checked = failed = 0
    for v in manifest["vectors"]:
        d = os.path.join(root, v["dir"])
        exp = json.load(open(os.path.join(d, "expected.json")))
        if exp["protected_header"]["receipt"].get("vds") == 2 and v["expected_result"] == "VALID":
            continue  # CCF receipts (vds 2) are outside this verifier
        rd = lambda n: open(os.path.join(d, n), "rb").read()
        try:
            verify(rd("statement.cose"), rd("receipt.cose"), load(os.path.join(d, "log-key.pub")),
                   load(os.path.join(d, "issuer-key.pub")))
            got = "VALID"
        except Invalid as e:
            got = f"INVALID ({e})"
        ok = got.startswith(v["expected_result"])
        print(f"{'ok' if ok else 'FAIL'} {v['id']}: {got}")
        checked += 1
        failed += not ok
    print(f"{checked - failed} passed, {failed} failed")
    return 1 if failed or checked < 5 else 0


def check_ours(receipt, origin):
    """The receipt is exactly {1: -7, 4: kid, 15: {1: origin, 2: "scitt-receipt",
    6: iat}, 395: 1} / {396: {-1: [proof]}} / nil, deterministically encoded."""
    item, prot = sign1(receipt)
    kid, cwt = prot.get(4), prot.get(15)
    if set(prot) != {1, 4, 15, 395} or prot[1] != -7 or prot[395] != 1:
        raise Invalid(f"protected header is {prot}")
    if not isinstance(kid, bytes) or len(kid) != 32:
        raise Invalid("kid is not a 32-byte thumbprint")
    if not isinstance(cwt, dict) or set(cwt) != {1, 2, 6} or cwt[1] != origin or cwt[2] != "scitt-receipt" \
            or not isinstance(cwt[6], int):
        raise Invalid(f"CWT claims are {cwt}")
    if cbor2.dumps(prot, canonical=True) != item[0]:
        raise Invalid("protected header is not deterministically encoded")
    unprot = item[1]
    if set(unprot) != {396} or set(unprot[396]) != {-1} or len(unprot[396][-1]) != 1 or item[2] is not None:
        raise Invalid(f"unprotected header is {unprot}")
    if cbor2.dumps(item, canonical=True) != receipt[1:] or receipt[0] != 0xd2:
        raise Invalid("receipt is not tagged 18 with deterministic CBOR")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--self-test":
        return self_test(sys.argv[2])
    ap = argparse.ArgumentParser()
    ap.add_argument("statement")
    ap.add_argument("receipt")
    ap.add_argument("log_key")
    ap.add_argument("--issuer-key")
    ap.add_argument("--normalise", action="store_true")
    ap.add_argument("--ours", metavar="ORIGIN")
    a = ap.parse_args()
    statement = open(a.statement, "rb").read()
    if a.normalise:
        statement = normalise(statement)
    load = lambda p: serialization.load_pem_public_key(open(p, "rb").read())
    receipt = open(a.receipt, "rb").read()
    try:
        verify(statement, receipt, load(a.log_key), load(a.issuer_key) if a.issuer_key else None)
        if a.ours:
            check_ours(receipt, a.ours)
    except (Invalid, ValueError, TypeError, KeyError, cbor2.CBORDecodeError) as e:
        print(f"INVALID: {e}")
        return 1
    print("VALID")
    return 0


if __name__ == "__main__":
    sys.exit(main())
