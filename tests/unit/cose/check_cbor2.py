#!/usr/bin/python3
"""check_cbor2.py: an independent decoder check of src/cose's encodings.

Run by meson as `/usr/bin/python3 check_cbor2.py <cose_dump> <dir>` with
Debian's python3-cbor2 and python3-cryptography (not a pyenv interpreter).
cose_dump writes a normalised statement, its Sig_structure and entry,
problem details and a COSE_KeySet; here each is decoded by cbor2, compared
field by field with what it must contain, and re-encoded canonically to
check that our bytes are exactly the deterministic encoding.
"""
import hashlib
import os
import subprocess
import sys

import cbor2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

failures = 0


def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures += 1


def read(d, name):
    with open(os.path.join(d, name), "rb") as f:
        return f.read()


def check_statement(d):
    stmt = cbor2.loads(read(d, "statement.cose"))
    norm_bytes = read(d, "normalised.cose")
    norm = cbor2.loads(norm_bytes)
    check(isinstance(norm, cbor2.CBORTag) and norm.tag == 18, "normalised statement carries tag 18")
    prot, unprot, payload, sig = norm.value
    check(unprot == {} and stmt.value[1] != {}, "normalised unprotected header is {} (input's was not)")
    check([prot, payload, sig] == [stmt.value[0], stmt.value[2], stmt.value[3]],
          "protected, payload and signature are unchanged")
    check(cbor2.dumps(cbor2.CBORTag(18, [prot, {}, payload, sig])) == norm_bytes, "normalised bytes are exact")
    check(hashlib.sha256(norm_bytes).digest() == read(d, "entry.bin"), "entry = SHA-256(normalised)")
    sig_structure = read(d, "sigstruct.cbor")
    check(cbor2.dumps(["Signature1", prot, b"", payload]) == sig_structure, "Sig_structure bytes are exact")
    key = serialization.load_pem_public_key(read(d, "statement-key.pem"))
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        key.verify(der, sig_structure, ec.ECDSA(hashes.SHA256()))
        check(True, "ES256 signature verifies with python-cryptography")
    except Exception as e:  # noqa: BLE001 - report any verification failure
        check(False, "ES256 signature verifies with python-cryptography: %r" % e)


def check_problem(d):
    data = read(d, "problem.cbor")
    obj = cbor2.loads(data)
    check(obj == {-1: "Payload Missing", -2: "caf\u00e9 payload is nil", -4: 400}, "problem details decode")
    check(cbor2.dumps(obj, canonical=True) == data, "problem details are deterministic")


def cose_params(pub):
    """The RFC 9679 required parameters of a public key, computed here."""
    if isinstance(pub, ec.EllipticCurvePublicKey):
        crv = {"secp256r1": 1, "secp384r1": 2, "secp521r1": 3}[pub.curve.name]
        n = (pub.curve.key_size + 7) // 8
        nums = pub.public_numbers()
        return {1: 2, -1: crv, -2: nums.x.to_bytes(n, "big"), -3: nums.y.to_bytes(n, "big")}
    if isinstance(pub, ed25519.Ed25519PublicKey):
        raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {1: 1, -1: 6, -2: raw}
    assert isinstance(pub, rsa.RSAPublicKey)
    nums = pub.public_numbers()

    def be(v):
        return v.to_bytes((v.bit_length() + 7) // 8, "big")
    return {1: 3, -1: be(nums.n), -2: be(nums.e)}


def check_keyset(d):
    data = read(d, "keyset.cbor")
    keyset = cbor2.loads(data)
    pems = read(d, "keyset.pem").split(b"-----END PUBLIC KEY-----")[:-1]
    pubs = [serialization.load_pem_public_key(p + b"-----END PUBLIC KEY-----\n") for p in pems]
    check(isinstance(keyset, list) and len(keyset) == len(pubs) == 5, "key set is an array of 5 keys")
    check(cbor2.dumps([cbor2.loads(cbor2.dumps(k, canonical=True)) for k in keyset], canonical=True) == data,
          "key set is deterministic")
    for i, (key, pub) in enumerate(zip(keyset, pubs)):
        want = cose_params(pub)
        check({k: v for k, v in key.items() if k in want} == want, "key %d public parameters match its PEM" % i)
        check(set(key) == set(want) | {2, 3}, "key %d has exactly kid, alg and the public parameters" % i)
        thumbprint = hashlib.sha256(cbor2.dumps(want, canonical=True)).digest()
        check(key[2] == thumbprint, "key %d kid is its RFC 9679 thumbprint" % i)


def main():
    dump, d = sys.argv[1], sys.argv[2]
    os.makedirs(d, exist_ok=True)
    subprocess.run([dump, d], check=True)
    # RFC 9679 section 6, computed with cbor2 alone, anchors cose_params().
    rfc = {1: 2, -1: 1,
           -2: bytes.fromhex("65eda5a12577c2bae829437fe338701a10aaa375e1bb5b5de108de439c08551d"),
           -3: bytes.fromhex("1e52ed75701163f7f9e40ddf9f341b3dc9ba860af7e0ca7ca7e9eecd0084d19c")}
    check(hashlib.sha256(cbor2.dumps(rfc, canonical=True)).hexdigest() ==
          "496bd8afadf307e5b08c64b0421bf9dc01528a344a43bda88fadd1669da253ec", "cbor2 reproduces RFC 9679's example")
    check_statement(d)
    check_problem(d)
    check_keyset(d)
    print("%d failure(s)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
