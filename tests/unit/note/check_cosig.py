#!/usr/bin/python3
"""Independent check of the cosignature/v1 codec (C2SP tlog-cosignature).

Python's `cryptography` Ed25519 computes what the spec says, from fixed
seeds (Ed25519 is deterministic), and the C codec must produce the same
bytes: the vkey, the signed message and the signature line. Then notes
carrying cosignatures made here are counted by the C side: valid lines from
listed witnesses count once each; a wrong signature, an unlisted witness, a
witness with a line missing, and a line with the right name but another key
id do not.

usage: check_cosig.py COSIG_TOOL WORKDIR
"""
import base64
import hashlib
import os
import struct
import subprocess
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

DASH = "\u2014"


def witness(name, seed_byte):
    key = Ed25519PrivateKey.from_private_bytes(bytes([seed_byte]) * 32)
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key_id = hashlib.sha256(name.encode() + b"\n" + b"\x04" + pub).digest()[:4]
    vkey = "%s+%s+%s" % (name, key_id.hex(), base64.b64encode(b"\x04" + pub).decode())
    return key, key_id, vkey


def cosign(name, key, key_id, body, t):
    msg = b"cosignature/v1\ntime %d\n" % t + body
    blob = key_id + struct.pack(">Q", t) + key.sign(msg)
    return "%s %s %s\n" % (DASH, name, base64.b64encode(blob).decode())


def run(tool, *args):
    out = subprocess.run([tool, *args], capture_output=True, check=False)
    if out.returncode != 0:
        sys.exit("cosig_tool %s failed: %s" % (args[0], out.stderr.decode()))
    return out.stdout.decode()


def main():
    tool, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    body = b"example.com/log\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    body_path = os.path.join(work, "body")
    with open(body_path, "wb") as f:
        f.write(body)

    # 1. The C side signs byte for byte as the spec says.
    for name, seed, t in [("witness.example/w1", 1, 1679315147), ("w2", 2, 0), ("oid/1.2.3", 3, 2**63 - 1)]:
        key, key_id, vkey = witness(name, seed)
        pem_path = os.path.join(work, "key%d.pem" % seed)
        with open(pem_path, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        got = run(tool, "sign", pem_path, name, str(t), body_path)
        want = vkey + "\n" + cosign(name, key, key_id, body, t)
        if got != want:
            sys.exit("sign mismatch for %s:\n got %r\nwant %r" % (name, got, want))

    # 2. Counting cosignatures made here.
    w = [(n,) + witness(n, s) for n, s in [("w/a", 11), ("w/b", 12), ("w/c", 13), ("w/unlisted", 14)]]
    log_line = "%s example.com/log %s\n" % (DASH, base64.b64encode(b"\x01\x02\x03\x04" + b"\x00" * 64).decode())
    note = body + b"\n" + log_line.encode()
    good_a = cosign(w[0][0], w[0][1], w[0][2], body, 1700000000)
    other_body = body.replace(b"20852163", b"20852164")
    wrong_b = cosign(w[1][0], w[1][1], w[1][2], other_body, 1700000000)  # b's key, wrong message
    good_b = cosign(w[1][0], w[1][1], w[1][2], body, 1700000001)
    good_unlisted = cosign(w[3][0], w[3][1], w[3][2], body, 1700000000)
    # c's name with a's key id and a's signature: not c's line.
    impostor_c = good_a.replace(" w/a ", " w/c ")
    vkeys = [w[0][3], w[1][3], w[2][3]]
    cases = [
        ([good_a, good_b], "2 1 1 0"),
        ([good_a, good_a, good_a], "1 1 0 0"),      # one witness counts once
        ([good_a, wrong_b], "1 1 0 0"),             # wrong signature does not count
        ([wrong_b, good_b], "1 0 1 0"),             # a later good line still counts
        ([good_unlisted, impostor_c], "0 0 0 0"),   # unlisted key, impostor
        ([], "0 0 0 0"),
    ]
    for i, (lines, want) in enumerate(cases):
        path = os.path.join(work, "note%d" % i)
        with open(path, "wb") as f:
            f.write(note + "".join(lines).encode())
        got = run(tool, "count", path, *vkeys).strip()
        if got != want:
            sys.exit("count case %d: got %r, want %r" % (i, got, want))
    print("cosignature codec matches the Python implementation")


if __name__ == "__main__":
    main()
