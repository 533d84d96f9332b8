#!/usr/bin/python3
"""bench/loadgen over https:// (issue 19: TLS in every client), against
scittd with TLS and a test CA made here (openssl):

  trusted    --cacert the test CA: every registration succeeds (h2 through
             ALPN), with the certificate checked against 127.0.0.1's IP SAN
  refused    --cacert another CA, and the system CAs (no --cacert): exit 1,
             nothing registered, "unknown CA" on stderr
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import *  # noqa: E402,F403

LOADGEN = os.environ.get("LOADGEN", "build-release/bench/loadgen")


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True, timeout=60)


def make_ca(root, name):
    crt, key = os.path.join(root, name + ".crt"), os.path.join(root, name + ".key")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=" + name, "-keyout", key, "-out", crt)
    return crt, key


def loadgen(url, *extra):
    return subprocess.run([LOADGEN, "--url", url, "--issuer", lg_dir, "--count", "60", "--duration", "3",
                           "--warmup", "0", "--connections", "2", "--streams", "8", "--sign-threads", "1",
                           "--timeout-ms", "20000"] + list(extra), capture_output=True, text=True, timeout=120)


root = tempdir()
srv = None
try:
    ca_crt, ca_key = make_ca(root, "test-ca")
    stranger_crt, _ = make_ca(root, "stranger-ca")
    key, csr, crt, ext = (os.path.join(root, n) for n in ("server.key", "server.csr", "server.crt", "ext"))
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost",
            "-keyout", key, "-out", csr)
    open(ext, "w").write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n")
    openssl("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial", "-days", "2",
            "-extfile", ext, "-out", crt)

    lg_dir = os.path.join(root, "issuer")
    subprocess.run([LOADGEN, "--issuer", lg_dir, "--alg", "ES256", "--keys-only"], check=True,
                   capture_output=True, timeout=60)
    # --post-rate 0: one address, 60 statements at once.
    srv = Server(root, args=["--issuer-keys", os.path.join(lg_dir, "keys"), "--post-rate", "0"],
                 tls=(crt, key)).start()
    url = "https://127.0.0.1:%d" % srv.port

    p = loadgen(url, "--cacert", ca_crt)
    m = re.search(r"^LOADGEN .* ok=(\d+) errors=(\d+)", p.stdout, re.M)
    check(p.returncode == 0 and m is not None and m.group(1) == "60" and m.group(2) == "0",
          "loadgen over https with --cacert: 60 registrations ok (rc %d) %s %s"
          % (p.returncode, p.stdout[-400:], p.stderr[-300:]))
    size = curl(url + "/checkpoint", extra=["--cacert", ca_crt]).body.decode().split("\n")[1]
    check(size == "60", "the log holds the 60 statements (tree size %s)" % size)

    for what, extra in [("another CA", ["--cacert", stranger_crt]), ("the system CAs", [])]:
        p = loadgen(url, *extra)
        check(p.returncode == 1 and "unknown CA" in p.stderr,
              "loadgen over https, %s: exit 1 naming an unknown CA (rc %d) %s"
              % (what, p.returncode, p.stderr.strip()[-300:]))
    size = curl(url + "/checkpoint", extra=["--cacert", ca_crt]).body.decode().split("\n")[1]
    check(size == "60", "nothing registered through an untrusted connection (tree size %s)" % size)
    check(srv.stop() == 0, "scittd exits 0")
finally:
    if srv is not None and srv.alive():
        srv.proc.kill()
        srv.proc.wait()
    cleanup(root)
finish()
