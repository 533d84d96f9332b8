"""Helpers for the witness tests (issue 21): `scitt witness` processes,
add-checkpoint request bodies with RFC 6962 consistency proofs computed
here from a log's tiles, and cosignature/v1 checks with python3-cryptography
(nothing shared with the C code).
"""
import base64
import hashlib
import os
import signal
import struct
import subprocess
import tempfile
import urllib.request

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from clitest import SCITT, scitt  # puts the integration harness on the path
import harness

DASH = "\u2014"


class Witness:
    """`scitt witness` on a free loopback port, with a key made by keygen."""

    def __init__(self, root, name, logs, extra=()):
        self.root, self.name = root, name
        self.key = os.path.join(root, name.replace("/", "_") + ".key")
        self.dir = os.path.join(root, name.replace("/", "_") + ".state")
        r = scitt("witness", "keygen", "--name", name, "--out", self.key)
        assert r.returncode == 0, r.stderr
        self.vkey = r.stdout.strip()
        self.logs, self.extra = list(logs), list(extra)
        self.proc = None
        self.port = harness.free_port()

    @property
    def url(self):
        return ("https" if "--tls-cert" in self.extra else "http") + "://127.0.0.1:%d" % self.port

    def start(self):
        args = [SCITT, "witness", "--key", self.key, "--dir", self.dir, "--listen", "127.0.0.1:%d" % self.port]
        for log in self.logs:
            args += ["--log", log]
        self.logf = open(os.path.join(self.root, "witness-%d.log" % self.port), "ab")
        self.proc = subprocess.Popen(args + self.extra, stdout=self.logf, stderr=self.logf)
        assert harness.wait_port(self.port), "the witness did not listen"
        return self

    def stop(self):
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
            self.proc = None
            self.logf.close()
            return rc
        return None

    def add(self, body, http1=False):
        """POST /add-checkpoint with curl (h2c, or HTTP/1.1); a harness.Response."""
        url = self.url + "/add-checkpoint"
        return curl_h1(url, body) if http1 else harness.curl(url, method="POST", data=body)


def curl_h1(url, body):
    with tempfile.NamedTemporaryFile() as out, tempfile.NamedTemporaryFile() as hdrs, \
            tempfile.NamedTemporaryFile() as data:
        data.write(body)
        data.flush()
        subprocess.run(["curl", "-s", "-S", "--http1.1", "-o", out.name, "-D", hdrs.name, "--max-time", "30",
                        "--data-binary", "@" + data.name, url], check=True)
        lines = open(hdrs.name, "rb").read().decode("latin-1").split("\r\n")
        headers = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            if k:
                headers[k.strip().lower()] = v.strip()
        return harness.Response(int(lines[0].split()[1]), headers, open(out.name, "rb").read())


def get(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read()


def split_note(note):
    """(body bytes, [signature lines as str])."""
    body, _, sigs = note.partition(b"\n\n")
    return body + b"\n", [ln for ln in sigs.decode().split("\n") if ln]


def checkpoint_size(note):
    return int(note.split(b"\n")[1])


def subproof(m, leaves, whole):
    n = len(leaves)
    if m == n:
        return [] if whole else [harness.mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return subproof(m, leaves[:k], whole) + [harness.mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [harness.mth(leaves[:k])]


def consistency(old, leaves):
    """RFC 6962 section 2.1.2 PROOF(old, D[len(leaves)])."""
    return [] if old == 0 or old == len(leaves) else subproof(old, leaves, True)


def leaves_of(base_url, size):
    return harness.fetch_tree(lambda p: get(base_url + p), size)[0]


def request(old, proof, note):
    return ("old %d\n" % old).encode() + b"".join(base64.b64encode(h) + b"\n" for h in proof) + b"\n" + note


def parse_vkey(line):
    name, key_id, rest = line.split("+", 2)
    raw = base64.b64decode(rest)
    return name, bytes.fromhex(key_id), raw[0], raw[1:]


def cosig_ok(line, body, vkey):
    """True when `line` is a valid cosignature/v1 by the witness `vkey`."""
    name, key_id, typ, pub = parse_vkey(vkey)
    if typ != 4 or hashlib.sha256(name.encode() + b"\n\x04" + pub).digest()[:4] != key_id:
        return False
    dash, lname, b64 = line.split(" ")
    blob = base64.b64decode(b64)
    if dash != DASH or lname != name or len(blob) != 76 or blob[:4] != key_id:
        return False
    t = struct.unpack(">Q", blob[4:12])[0]
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(pub).verify(blob[12:], b"cosignature/v1\ntime %d\n" % t + body)
        return True
    except Exception:
        return False


def sign_note(body, name, key):
    """A signed note over `body` by an Ed25519 log key (type 0x01)."""
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key_id = hashlib.sha256(name.encode() + b"\n\x01" + pub).digest()[:4]
    sig = base64.b64encode(key_id + key.sign(body)).decode()
    return body + ("\n%s %s %s\n" % (DASH, name, sig)).encode()


class WitnessedLog:
    """A temp folder with an issuer, scittd servers on data folders in it and
    `scitt witness` instances of its log; close() stops them all."""

    def __init__(self):
        from clitest import Issuer
        self.tmp = harness.tempdir()
        self.issuer = Issuer(self.tmp)
        self.servers, self.witnesses = [], []

    def server(self, data, extra=()):
        s = harness.Server(self.tmp, data=data, args=["--issuer-keys", self.issuer.keys_dir, *extra],
                           lmdb=True).start()
        self.servers.append(s)
        return s

    def witness(self, data, n, running, threshold, extra=()):
        """n witnesses of the log in `data` (a first start gives its vkey),
        the first `running` started; scittd's arguments to ask those."""
        srv = self.server(data, extra)
        vkey = get(srv.base + "/checkpoint.vkey").decode().strip()
        srv.stop()
        self.witnesses = [Witness(self.tmp, "witness.test/w%d" % (i + 1), [vkey]) for i in range(n)]
        args = ["--checkpoint-interval-ms", "200", "--witness-threshold", str(threshold)]
        for w in self.witnesses[:running]:
            w.start()
            args += ["--witness", "%s@%s" % (w.vkey, w.url)]
        return args

    def close(self):
        for s in self.servers:
            s.stop()
        for w in self.witnesses:
            w.stop()
        harness.cleanup(self.tmp)
