#!/usr/bin/python3
"""Optional authentication for registration (issue 19): --tokens (bearer
token hashes) and --client-ca (TLS client certificates). Reads stay public.

  tokens + client CA (TLS)  no credential 401 + WWW-Authenticate: Bearer;
                            unknown token 401 error="invalid_token"; good
                            token 201; good certificate 201; certificate of
                            another CA 403 (201 with a good token too);
                            reads without credentials 200 (no certificate,
                            a bad one)
  client CA alone (TLS)     no certificate 403; good certificate 201
  tokens + rate (h2c)       a good token is not rate-limited, none is 401;
                            `scitt register --token-file` good, bad, absent;
                            the token is never in scittd's log
  start-up                  a bad token file and --client-ca without TLS
                            stop scittd with one line that shows no secret
"""
import datetime
import hashlib
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import *  # noqa: E402,F403
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

SCITT = os.environ.get("SCITT", "build-release/tools/scitt/scitt")
COSE = [("content-type", "application/cose")]
TOKEN = "ci-farm-7f3a9c.token_value~1"


def write_pem(root, name, cert, key):
    cp, kp = os.path.join(root, name + ".crt"), os.path.join(root, name + ".key")
    open(cp, "wb").write(cert.public_bytes(serialization.Encoding.PEM))
    open(kp, "wb").write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cp, kp


def certificate(root, name, issuer=None, ca=False, client=False):
    """A P-256 certificate for `name`, self-signed or signed by `issuer`
    (cert, key); returns (cert, key, (cert file, key file))."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.utcnow()
    b = (x509.CertificateBuilder().subject_name(subject)
         .issuer_name(issuer[0].subject if issuer else subject).public_key(key.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
         .not_valid_after(now + datetime.timedelta(days=2))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if client:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    if not ca and not client:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
    cert = b.sign(issuer[1] if issuer else key, hashes.SHA256())
    return cert, key, write_pem(root, name, cert, key)


def post(srv, st, token=None, cert=None, src=None):
    hdrs = list(COSE) + ([("authorization", "Bearer " + token)] if token else [])
    h = H2(srv.port, tls=bool(srv.tls), cert=cert, src=src)
    try:
        return h.request("POST", "/entries", hdrs, st)
    finally:
        h.close()


def get(srv, path, cert=None):
    h = H2(srv.port, tls=bool(srv.tls), cert=cert)
    try:
        return h.request("GET", path)
    finally:
        h.close()


def is_problem(r, status):
    p = r.problem()
    return r.status == status and p is not None and p.get(-4) == status


root = tempdir()
servers = []
try:
    iss = Issuer(root)
    ca, ca_key, (ca_file, _) = certificate(root, "client-ca", ca=True)
    _, _, good = certificate(root, "good-client", issuer=(ca, ca_key), client=True)
    other, other_key, _ = certificate(root, "other-ca", ca=True)
    _, _, bad = certificate(root, "bad-client", issuer=(other, other_key), client=True)
    _, _, server_pair = certificate(root, "localhost")
    tokens = os.path.join(root, "tokens")
    with open(tokens, "w") as f:
        f.write("# hashes of the CI farm's tokens\n%s\n%s\n" % (hashlib.sha256(b"old").hexdigest(),
                                                             hashlib.sha256(TOKEN.encode()).hexdigest().upper()))

    # -- tokens and a client CA, over TLS --------------------------------------
    srv = Server(root, data=os.path.join(root, "both"), tls=server_pair,
                 args=["--issuer-keys", iss.keys_dir, "--tokens", tokens, "--client-ca", ca_file,
                       "--log-level", "debug"]).start()
    servers.append(srv)
    r = post(srv, iss.statement("none"))
    check(is_problem(r, 401) and r.header("www-authenticate") == 'Bearer realm="scitt"',
          "no credential: 401 + WWW-Authenticate: Bearer + problem (%d %r)" % (r.status, r.header("www-authenticate")))
    r = post(srv, iss.statement("bad token"), token="not-" + TOKEN)
    check(is_problem(r, 401) and 'error="invalid_token"' in (r.header("www-authenticate") or ""),
          "unknown token: 401 + Bearer error=\"invalid_token\" (%d %r)" % (r.status, r.header("www-authenticate")))
    r = post(srv, iss.statement("malformed"), token="two words")
    check(is_problem(r, 401), "malformed bearer credential: 401 (%d)" % r.status)
    r = post(srv, iss.statement("good token"), token=TOKEN)
    check(r.status == 201, "good token: 201 (%d)" % r.status)
    r = post(srv, iss.statement("good cert"), cert=good)
    check(r.status == 201, "client certificate chaining to --client-ca: 201 (%d)" % r.status)
    r = post(srv, iss.statement("bad cert"), cert=bad)
    check(is_problem(r, 403), "client certificate of another CA: 403 (%d)" % r.status)
    r = post(srv, iss.statement("bad cert, good token"), cert=bad, token=TOKEN)
    check(r.status == 201, "either credential suffices: bad certificate + good token 201 (%d)" % r.status)
    r = post(srv, iss.statement("good cert, bad token"), cert=good, token="nope")
    check(r.status == 201, "either credential suffices: good certificate + unknown token 201 (%d)" % r.status)
    for cert, what in [(None, "no certificate"), (bad, "a certificate of another CA")]:
        rs = [get(srv, p, cert) for p in ["/checkpoint", "/.well-known/scitt-keys", "/healthz"]]
        check([x.status for x in rs] == [200, 200, 200], "reads with %s: 200 (%s)" % (what, [x.status for x in rs]))
    m = get(srv, "/metrics").body.decode()
    check('scittd_auth_refused_total{reason="missing"} 1' in m and 'scittd_auth_refused_total{reason="invalid"} 3' in m,
          "scittd_auth_refused_total counts 1 missing, 3 invalid")
    srv.stop()
    log = open(srv.log).read()
    check(TOKEN not in log and "token_value" not in log and "POST /entries -> 401" in log,
          "the debug log shows the requests, never the token")

    # -- a client CA alone --------------------------------------------------------
    srv = Server(root, data=os.path.join(root, "ca"), tls=server_pair,
                 args=["--issuer-keys", iss.keys_dir, "--client-ca", ca_file]).start()
    servers.append(srv)
    r = post(srv, iss.statement("ca none"))
    check(is_problem(r, 403) and r.header("www-authenticate") is None,
          "--client-ca alone, no certificate: 403 without a Bearer challenge (%d)" % r.status)
    r = post(srv, iss.statement("ca token"), token=TOKEN)
    check(is_problem(r, 403), "--client-ca alone: a token is no credential, 403 (%d)" % r.status)
    check(post(srv, iss.statement("ca good"), cert=good).status == 201, "--client-ca alone, good certificate: 201")
    srv.stop()

    # -- tokens and the rate limit, cleartext; the scitt client -------------------
    srv = Server(root, data=os.path.join(root, "rate"),
                 args=["--issuer-keys", iss.keys_dir, "--tokens", tokens, "--post-rate", "1", "--post-burst", "1",
                       "--log-level", "debug"]).start()
    servers.append(srv)
    h = H2(srv.port, src="127.0.0.6")
    auth = COSE + [("authorization", "Bearer " + TOKEN)]
    rs = h.wait([h.send("POST", "/entries", auth, iss.statement("rated %d" % i)) for i in range(10)])
    check([x.status for x in rs] == [201] * 10,
          "10 POSTs at once with a good token at --post-rate 1: all 201, not rate-limited (%s)" % [x.status for x in rs])
    rs = h.wait([h.send("POST", "/entries", COSE, iss.statement("anon %d" % i)) for i in range(3)])
    check([x.status for x in rs] == [401] * 3, "without a token: 401 before any rate limit (%s)" % [x.status for x in rs])
    h.close()
    st_files = []
    for i in range(3):
        path = os.path.join(root, "t%d.cose" % i)
        open(path, "wb").write(iss.statement("cli %d" % i))
        st_files.append(path)
    good_file, bad_file = os.path.join(root, "token.good"), os.path.join(root, "token.bad")
    open(good_file, "w").write(TOKEN + "\n")
    open(bad_file, "w").write("wrong-" + TOKEN + "\n")
    p = subprocess.run([SCITT, "register", "--url", srv.base, "--token-file", good_file] + st_files,
                       capture_output=True, text=True, timeout=120)
    check(p.returncode == 0 and len(p.stdout.splitlines()) == 3,
          "scitt register --token-file (good): 3 registered at once (rc %d) %s" % (p.returncode, p.stderr[-200:]))
    for args, what in [(["--token-file", bad_file], "an unknown token"), ([], "no token")]:
        p = subprocess.run([SCITT, "register", "--url", srv.base] + args + [st_files[0]], capture_output=True,
                           text=True, timeout=60)
        check(p.returncode != 0 and "401" in p.stderr and TOKEN not in p.stderr + p.stdout,
              "scitt register with %s: fails naming 401, the token not shown: %s" % (what, p.stderr.strip()[-200:]))
    p = subprocess.run([SCITT, "register", "--url", srv.base, "--token-file", os.path.join(root, "absent")] +
                       st_files[:1], capture_output=True, text=True, timeout=60)
    check(p.returncode != 0 and "absent" in p.stderr, "scitt register --token-file of a missing file: an error")
    srv.stop()
    check(TOKEN not in open(srv.log).read(), "scittd's log never holds the token")

    # -- start-up errors ----------------------------------------------------------
    bad_tokens = os.path.join(root, "tokens.bad")
    open(bad_tokens, "w").write(hashlib.sha256(b"x").hexdigest() + "\n" + TOKEN + "\n")
    for args, want in [(["--tokens", bad_tokens], "line 2"), (["--client-ca", ca_file], "needs TLS"),
                       (["--tokens", os.path.join(root, "absent")], "cannot read")]:
        p = subprocess.run([SCITTD, "--data", os.path.join(root, "bad-start"), "--listen",
                            "127.0.0.1:%d" % free_port(), "--issuer-keys", iss.keys_dir] + args,
                           capture_output=True, text=True, timeout=30)
        check(p.returncode == 1 and want in p.stderr and TOKEN not in p.stderr,
              "scittd %s: exit 1 with %r, no secret: %s" % (" ".join(args[:1]), want, p.stderr.strip()[-160:]))
finally:
    for s in servers:
        s.stop()
    cleanup(root)
finish()
