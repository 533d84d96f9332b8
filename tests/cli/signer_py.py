#!/usr/bin/python3
"""An external signer for `scitt attest --signer` / `scitt sign --signer`
(tests/cli/test_ci.py): reads the Sig_structure on stdin and writes the
ES256 signature on stdout, as raw r||s (default) or DER (--der), with the
private key in the PEM file named by the first argument. --fail exits 3
with nothing on stdout; --short writes 10 bytes."""
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

args = sys.argv[1:]
if "--fail" in args:
    sys.stderr.write("signer: the HSM is not reachable\n")
    sys.exit(3)
msg = sys.stdin.buffer.read()
if "--short" in args:
    sys.stdout.buffer.write(b"0123456789")
    sys.exit(0)
key = serialization.load_pem_private_key(open(args[0], "rb").read(), password=None)
der = key.sign(msg, ec.ECDSA(hashes.SHA256()))
if "--der" in args:
    sys.stdout.buffer.write(der)
else:
    r, s = decode_dss_signature(der)
    sys.stdout.buffer.write(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
