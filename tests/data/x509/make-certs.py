#!/usr/bin/python3
"""Make the X.509 fixtures for tests/unit/crypto/test_x509.c (and the policy's
and x5chain cache's tests in tests/unit/verify) with
python3-cryptography (an implementation independent of src/crypto).
Run from this folder; the outputs are committed, so tests need no Python."""
import datetime as dt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

T0 = dt.datetime(2025, 1, 1)
T1 = dt.datetime(2125, 1, 1)


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def cert(subject_key, cn, issuer_key, issuer_cn, ca, ku_sign=True, not_after=T1):
    b = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(name(issuer_cn))
         .public_key(subject_key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(T0).not_valid_after(not_after)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    b = b.add_extension(x509.KeyUsage(digital_signature=ku_sign and not ca, content_commitment=False,
                                      key_encipherment=not ku_sign, data_encipherment=False, key_agreement=False,
                                      key_cert_sign=ca, crl_sign=ca, encipher_only=False, decipher_only=False),
                        critical=True)
    return b.sign(issuer_key, hashes.SHA256())


def der(c, path):
    open(path, "wb").write(c.public_bytes(serialization.Encoding.DER))


def pem(certs, path):
    open(path, "wb").write(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))


k = {n: ec.generate_private_key(ec.SECP256R1()) for n in ["root", "int", "int2", "leaf", "other", "rogue"]}
root = cert(k["root"], "test root", k["root"], "test root", True)
other_root = cert(k["other"], "other root", k["other"], "other root", True)
inter = cert(k["int"], "test intermediate", k["root"], "test root", True)
leaf = cert(k["leaf"], "test leaf", k["int"], "test intermediate", False)
leaf_nosign = cert(k["leaf"], "test leaf no sign", k["int"], "test intermediate", False, ku_sign=False)
leaf_expired = cert(k["leaf"], "test leaf expired", k["int"], "test intermediate", False,
                    not_after=dt.datetime(2025, 6, 1))
# A second intermediate under the same root with the same name: its leaf
# presented with the first intermediate must not validate.
inter2 = cert(k["int2"], "test intermediate", k["root"], "test root", True)
leaf_int2 = cert(k["leaf"], "test leaf", k["int2"], "test intermediate", False)
# A "CA" that is really a leaf: signs another certificate without CA rights.
rogue = cert(k["rogue"], "rogue", k["leaf"], "test leaf", False)

pem([root], "root.pem")
pem([other_root, root], "roots-two.pem")
pem([other_root], "other-root.pem")
der(inter, "intermediate.der")
der(leaf, "leaf.der")
der(leaf_nosign, "leaf-nosign.der")
der(leaf_expired, "leaf-expired.der")
der(rogue, "rogue.der")
der(inter2, "intermediate-2.der")
der(leaf_int2, "leaf-int2.der")
open("leaf-key.pem", "wb").write(k["leaf"].private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
