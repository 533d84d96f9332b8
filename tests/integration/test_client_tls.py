#!/usr/bin/python3
"""The scitt client over https:// (issue 19), against scittd with TLS and a
test CA made here:

  trusted (--cacert)   register, get, verify --keys https://..., mirror; the
                       IP literal 127.0.0.1 checked against the IP SAN
  refused              without --cacert (the system CAs): "unknown CA";
                       a certificate for another name: "name mismatch";
                       an expired certificate: "expired"
  mutual TLS           scittd --client-ca: register without --cert is 403,
                       with --cert/--key succeeds; a --key that is not
                       --cert's is a one-line error
"""
import datetime
import ipaddress
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import *  # noqa: E402,F403
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

SCITT = os.environ.get("SCITT", "build-release/tools/scitt/scitt")
DAY = datetime.timedelta(days=1)


def certificate(root, name, issuer=None, ca=False, client=False, sans=(), expired=False):
    """A P-256 certificate for `name`, self-signed or signed by `issuer`
    (cert, key); returns (cert, key, cert file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.utcnow()
    start, end = (now - 3 * DAY, now - DAY) if expired else (now - DAY, now + 2 * DAY)
    b = (x509.CertificateBuilder().subject_name(subject)
         .issuer_name(issuer[0].subject if issuer else subject).public_key(key.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if client:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    cert = b.sign(issuer[1] if issuer else key, hashes.SHA256())
    cp, kp = os.path.join(root, name + ".crt"), os.path.join(root, name + ".key")
    open(cp, "wb").write(cert.public_bytes(serialization.Encoding.PEM))
    open(kp, "wb").write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert, key, cp, kp


def scitt(*args, timeout=120):
    return subprocess.run([SCITT] + list(args), capture_output=True, text=True, timeout=timeout)


LOCAL = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]

root = tempdir()
servers = []
try:
    iss = Issuer(root)
    ca, ca_key, ca_file, _ = certificate(root, "test-ca", ca=True)
    _, _, good_crt, good_key = certificate(root, "server", (ca, ca_key), sans=LOCAL)
    _, _, other_crt, other_key = certificate(root, "other", (ca, ca_key), sans=[x509.DNSName("other.example")])
    _, _, old_crt, old_key = certificate(root, "old", (ca, ca_key), sans=LOCAL, expired=True)
    stranger, stranger_key, stranger_file, _ = certificate(root, "stranger-ca", ca=True)

    files = []
    for i in range(3):
        path = os.path.join(root, "s%d.cose" % i)
        open(path, "wb").write(iss.statement("over https %d" % i))
        files.append(path)

    # A CI signing key (issue 20's attest) the server trusts too.
    ci_key = os.path.join(root, "ci.pem")
    p = scitt("keygen", "--out", ci_key)
    check(p.returncode == 0, "keygen: %s" % p.stderr.strip())
    shutil.copy(os.path.join(root, "ci.pub.pem"), iss.keys_dir)

    # -- trusted --------------------------------------------------------------
    srv = Server(root, data=os.path.join(root, "d-good"), args=["--issuer-keys", iss.keys_dir],
                 tls=(good_crt, good_key)).start()
    servers.append(srv)
    url = "https://localhost:%d" % srv.port
    out = os.path.join(root, "receipts")
    os.mkdir(out)
    p = scitt("register", "--url", url, "--cacert", ca_file, "--out", out, *files)
    check(p.returncode == 0 and len(p.stdout.splitlines()) == 3,
          "register over https with --cacert: 3 receipts (rc %d) %s" % (p.returncode, p.stderr[-300:]))
    rfile = os.path.join(root, "r0.receipt")
    p = scitt("get", "--url", url, "--cacert", ca_file, "--out", rfile, files[0])
    check(p.returncode == 0 and os.path.getsize(rfile) > 0, "get over https: %s" % p.stderr[-300:])
    p = scitt("verify", "--keys", url, "--cacert", ca_file, files[0], rfile)
    check(p.returncode == 0, "verify --keys https://...: rc %d %s" % (p.returncode, p.stderr[-300:]))
    p = scitt("get", "--url", "https://127.0.0.1:%d" % srv.port, "--cacert", ca_file, "--out", rfile, files[1])
    check(p.returncode == 0, "https://127.0.0.1 matches the certificate's IP SAN: %s" % p.stderr[-300:])
    p = scitt("mirror", "--url", url, "--cacert", ca_file, "--dir", os.path.join(root, "mirror"))
    check(p.returncode == 0 and "tree size 3" in p.stdout + p.stderr,
          "mirror over https: rc %d %s" % (p.returncode, (p.stdout + p.stderr)[-300:]))

    artifact = os.path.join(root, "app.tar")
    open(artifact, "wb").write(b"an artifact built in CI\n")
    p = scitt("attest", "--url", url, "--cacert", ca_file, "--key", ci_key, "--iss", "https://ci.example",
              "--sub", "https://ci.example/app@1", artifact)
    check(p.returncode == 0 and os.path.exists(artifact + ".scitt"),
          "attest over https with --cacert (its --key the signing key): rc %d %s" % (p.returncode, p.stderr[-300:]))

    # -- refused --------------------------------------------------------------
    p = scitt("get", "--url", url, "--out", rfile, files[0])
    check(p.returncode == 1 and "unknown CA" in p.stderr, "system CAs only: unknown CA: %s" % p.stderr.strip())
    p = scitt("register", "--url", url, "--cacert", stranger_file, files[0])
    check(p.returncode == 1 and "unknown CA" in p.stderr, "another CA: unknown CA: %s" % p.stderr.strip()[-300:])
    p = scitt("mirror", "--url", url, "--dir", os.path.join(root, "mirror2"))
    check(p.returncode != 0 and "unknown CA" in p.stderr, "mirror, unknown CA: %s" % p.stderr.strip()[-300:])
    for name, crt, key, words in [("other", other_crt, other_key, "name mismatch"),
                                  ("old", old_crt, old_key, "expired")]:
        s = Server(root, data=os.path.join(root, "d-" + name), args=["--issuer-keys", iss.keys_dir],
                   tls=(crt, key)).start()
        servers.append(s)
        u = "https://localhost:%d" % s.port
        p = scitt("register", "--url", u, "--cacert", ca_file, files[0])
        check(p.returncode == 1 and words in p.stderr, "%s: %s" % (words, p.stderr.strip()[-300:]))
        p = scitt("audit", "--url", u, "--cacert", ca_file)
        check(p.returncode == 1 and words in p.stderr, "audit, %s: %s" % (words, p.stderr.strip()[-300:]))
        check(s.stop() == 0, "scittd behind the %s certificate exits 0" % name)

    # -- mutual TLS -----------------------------------------------------------
    cca, cca_key, cca_file, _ = certificate(root, "client-ca", ca=True)
    _, _, client_crt, client_key = certificate(root, "ci-farm", (cca, cca_key), client=True)
    m = Server(root, data=os.path.join(root, "d-mtls"),
               args=["--issuer-keys", iss.keys_dir, "--client-ca", cca_file], tls=(good_crt, good_key)).start()
    servers.append(m)
    u = "https://localhost:%d" % m.port
    extra = os.path.join(root, "s-mtls.cose")
    open(extra, "wb").write(iss.statement("mtls"))
    p = scitt("register", "--url", u, "--cacert", ca_file, extra)
    check(p.returncode != 0 and "403" in p.stderr, "register without --cert: 403: %s" % p.stderr.strip()[-300:])
    p = scitt("register", "--url", u, "--cacert", ca_file, "--cert", client_crt, "--key", client_key, extra)
    check(p.returncode == 0, "register --cert --key: rc %d %s" % (p.returncode, p.stderr[-300:]))
    p = scitt("register", "--url", u, "--cacert", ca_file, "--cert", client_crt, "--key", good_key, extra)
    check(p.returncode != 0 and "--key" in p.stderr and len(p.stderr.strip().splitlines()) == 1,
          "a --key that is not --cert's: one line: %s" % p.stderr.strip())
    p = scitt("register", "--url", u, "--cacert", ca_file, "--cert", client_crt, extra)
    check(p.returncode != 0 and "--key" in p.stderr, "--cert without --key: %s" % p.stderr.strip())
    for s in servers:
        if s.alive():
            check(s.stop() == 0, "scittd on %d exits 0" % s.port)
finally:
    for s in servers:
        if s.proc is not None and s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()
    cleanup(root)
finish()
