#!/usr/bin/python3
"""TLS: a self-signed certificate, TLS 1.3 and 1.2 with ALPN h2 through curl,
nghttp and python's ssl; HTTP/1.1 through ALPN http/1.1; a client that
offers neither is refused; a wrong key is refused at start with a one-line
error."""
import datetime
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import *  # noqa: E402,F403
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402


def self_signed(root, name):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    cp, kp = os.path.join(root, name + ".crt"), os.path.join(root, name + ".key")
    open(cp, "wb").write(cert.public_bytes(serialization.Encoding.PEM))
    open(kp, "wb").write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cp, kp


root = tempdir()
servers = []
try:
    iss = Issuer(root)
    cert, key = self_signed(root, "server")
    srv = Server(root, args=["--issuer-keys", iss.keys_dir], tls=(cert, key)).start()
    servers.append(srv)
    B = srv.base
    r = curl(B + "/healthz", extra=["--tlsv1.3"])
    check(r.status == 200, "curl over TLS 1.3 + h2: 200")
    r = curl(B + "/checkpoint", extra=["--tlsv1.2", "--tls-max", "1.2"])
    check(r.status == 200 and b"localhost/scittd" in r.body, "curl over TLS 1.2 + h2: 200")
    st = iss.statement("over tls")
    r = curl(B + "/entries", "POST", ["content-type: application/cose"], st)
    check(r.status == 201 and r.header("location") == "/entries/" + entry_id(st), "POST over TLS: 201")
    receipt = r.body
    r = curl(B + "/entries/" + entry_id(st))
    check(r.status == 200 and r.body == receipt, "GET receipt over TLS")
    out = subprocess.run(["nghttp", "-n", "-s", B + "/.well-known/scitt-keys"], capture_output=True, text=True)
    check(out.returncode == 0, "nghttp over TLS")
    h = H2(srv.port, tls=True)
    check(h.sock.selected_alpn_protocol() == "h2", "ALPN h2 negotiated")
    sids = [h.send("GET", "/entries/" + entry_id(st)) for _ in range(20)]
    check(all(x.status == 200 and x.body == receipt for x in h.wait(sids)), "20 concurrent streams over TLS")
    h.close()
    # ALPN http/1.1 (issue 19): HTTP/1.1 over TLS; a client offering
    # neither h2 nor http/1.1 is refused in the handshake.
    out = subprocess.run(["curl", "-s", "-k", "--http1.1", "-o", "/dev/null", "-w", "%{http_code} %{http_version}",
                          B + "/healthz"], capture_output=True, text=True)
    check(out.stdout == "200 1.1", "curl --http1.1 over TLS (ALPN http/1.1): %r" % out.stdout)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["spdy/3"])
    try:
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", srv.port), timeout=10)) as t:
            t.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            refused = t.recv(100) == b""
    except (ssl.SSLError, OSError):
        refused = True
    check(refused, "a client offering neither h2 nor http/1.1 is refused")
    check(srv.alive(), "server still up")
    check(srv.stop() == 0, "exit 0")

    other_cert, other_key = self_signed(root, "other")
    p = subprocess.run([SCITTD, "--data", os.path.join(root, "d2"), "--listen", "127.0.0.1:%d" % free_port(),
                        "--tls-cert", cert, "--tls-key", other_key], capture_output=True, text=True, timeout=30)
    check(p.returncode != 0 and "does not match" in p.stderr, "mismatched key refused at start: " + p.stderr.strip())
    p = subprocess.run([SCITTD, "--tls-cert", cert], capture_output=True, text=True, timeout=30)
    check(p.returncode != 0 and "go together" in p.stderr, "--tls-cert without --tls-key refused")
finally:
    for s in servers:
        s.stop(timeout=5)
    cleanup(root)
finish()
