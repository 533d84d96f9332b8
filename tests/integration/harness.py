"""Shared helpers for scittd's integration tests.

Each test starts the real scittd (path in $SCITTD) on a free loopback port in
a temporary data folder, talks to it with real HTTP/2 clients (curl, nghttp)
and with a small raw client on python3-h2 / hpack, and decodes what comes
back with python3-cbor2 and python3-cryptography. Nothing here shares code
with scittd.

With $SCITT_TEST_DATABASE set (tests/tools/pgtmp), every scittd keeps its
log in PostgreSQL: each data folder gets a database of its own (made at its
first start, dropped at exit) and scittd gets --database; the folder keeps
only the service keys.
"""
import atexit
import base64
import ctypes
import importlib.machinery
import importlib.util
import hashlib
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time

import cbor2
import h2.config
import h2.connection
import h2.events
import hpack
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

SCITTD = os.environ.get("SCITTD", "build-release/src/scittd")
# Options every scittd of a run gets, e.g. SCITTD_EXTRA_ARGS=--reads-in-pool
# runs the suite with every store read on the reader pool (as PostgreSQL).
SCITTD_EXTRA_ARGS = os.environ.get("SCITTD_EXTRA_ARGS", "").split()
MAKE_STATEMENT = os.environ.get("MAKE_STATEMENT", "build-release/tests/integration/make_statement")
VERIFY_PY = os.environ.get("SCITT_VERIFY_PY", "tests/tools/scitt_verify.py")
PROBLEM = "application/concise-problem-details+cbor"

TEST_DATABASE = os.environ.get("SCITT_TEST_DATABASE") or None
ON_PG = TEST_DATABASE is not None

failures = []


def check(cond, what):
    if cond:
        print(f"ok: {what}")
    else:
        print(f"FAIL: {what}")
        failures.append(what)


def finish():
    if failures:
        print(f"{len(failures)} checks failed")
        sys.exit(1)
    print("all checks passed")
    sys.exit(0)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Issuer:
    """An issuer key (made by tests/tools/make_statement) and its statements."""

    def __init__(self, root, alg=None):
        self.dir = os.path.join(root, "issuer-%d" % id(self))
        self.env = dict(os.environ, SCITT_TEST_ALG=alg) if alg else None
        self.n = 0
        self.statement("init")  # creates the key

    @property
    def keys_dir(self):
        return os.path.join(self.dir, "keys")

    def statement(self, payload=None):
        self.n += 1
        out = os.path.join(self.dir, "s%d.cose" % self.n)
        subprocess.run([MAKE_STATEMENT, self.dir, out, payload or "payload %d %f" % (self.n, time.time())],
                       check=True, env=self.env)
        with open(out, "rb") as f:
            return f.read()


# -- PostgreSQL (tests/tools/pgtmp) ----------------------------------------------

def load_pgtmp():
    """tests/tools/pgtmp as a module."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "pgtmp")
    loader = importlib.machinery.SourceFileLoader("pgtmp", path)
    mod = importlib.util.module_from_spec(importlib.util.spec_from_loader("pgtmp", loader))
    loader.exec_module(mod)
    return mod


_databases = {}  # data folder -> its database's URL


def database_for(data):
    """The database of the log in data folder `data` (made on first use)."""
    key = os.path.realpath(data)
    if key not in _databases:
        _databases[key] = load_pgtmp().create_database(TEST_DATABASE)
    return _databases[key]


@atexit.register
def _drop_databases():
    for url in _databases.values():
        try:
            load_pgtmp().drop_database(url)
        except Exception as e:  # the cluster may be gone already
            print("note: %s" % e)
    _databases.clear()


class Server:
    def __init__(self, root, data=None, args=(), tls=None, lmdb=False):
        self.root = root
        self.lmdb = lmdb  # keep the log in --data even when ON_PG
        self.data = data or os.path.join(root, "data")
        self.port = free_port()
        self.args = list(args)
        self.tls = tls
        self.proc = None
        self.log = os.path.join(root, "scittd-%d.log" % self.port)

    @property
    def base(self):
        return ("https" if self.tls else "http") + "://127.0.0.1:%d" % self.port

    def start(self):
        cmd = [SCITTD, "--data", self.data, "--listen", "127.0.0.1:%d" % self.port] + self.args + SCITTD_EXTRA_ARGS
        if ON_PG and not self.lmdb and "--database" not in self.args:
            cmd += ["--database", database_for(self.data)]
        if self.tls:
            cmd += ["--tls-cert", self.tls[0], "--tls-key", self.tls[1]]
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=self.logf, preexec_fn=getattr(self, "preexec", None))
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("scittd exited at start:\n" + open(self.log).read())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("scittd did not listen")

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc is None:
            return None
        if not getattr(self, "signalled", False):
            self.proc.send_signal(sig)
        self.signalled = False
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        self.logf.close()
        return rc

    def signal(self, sig=signal.SIGTERM):
        """Send one signal; a later stop() only waits for the exit."""
        self.signalled = True
        self.proc.send_signal(sig)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def problem(self):
        """The decoded concise problem details, or None."""
        if self.header("content-type") != PROBLEM:
            return None
        try:
            p = cbor2.loads(self.body)
        except Exception:
            return None
        return p if isinstance(p, dict) and isinstance(p.get(-1), str) and isinstance(p.get(-2), str) else None


def curl(url, method="GET", headers=(), data=None, extra=()):
    """One request with curl over HTTP/2 (prior knowledge for http://)."""
    with tempfile.NamedTemporaryFile() as body, tempfile.NamedTemporaryFile() as hdrs:
        cmd = ["curl", "-s", "-S", "-o", body.name, "-D", hdrs.name, "-X", method, "--max-time", "30"]
        cmd += ["--http2-prior-knowledge"] if url.startswith("http://") else ["--http2", "-k"]
        for h in headers:
            cmd += ["-H", h]
        if data is not None:
            dfile = body.name + ".in"
            with open(dfile, "wb") as f:
                f.write(data)
            cmd += ["--data-binary", "@" + dfile]
        cmd += list(extra) + [url]
        subprocess.run(cmd, check=True)
        if data is not None:
            os.unlink(dfile)
        raw = open(hdrs.name, "rb").read().decode("latin-1")
        blocks = [b for b in raw.split("\r\n\r\n") if b.strip()]
        lines = blocks[-1].split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            headers[k.strip().lower()] = v.strip()
        return Response(status, headers, open(body.name, "rb").read())


def entry_id(statement):
    """EntryID: lowercase hex SHA-256 of the statement with unprotected := {}."""
    item = cbor2.loads(statement)
    arr = item.value if isinstance(item, cbor2.CBORTag) else item
    # Re-encode only the outer array, keeping each item's bytes: for our
    # statements the unprotected map is already {} so the bytes match.
    norm = cbor2.dumps(cbor2.CBORTag(18, [arr[0], {}, arr[2], arr[3]]))
    return hashlib.sha256(norm).hexdigest()


def log_key_pem(keyset_bytes, path):
    """Write the (single) P-256 receipt key of a COSE_KeySet as PEM."""
    k = cbor2.loads(keyset_bytes)[0]
    pub = ec.EllipticCurvePublicNumbers(int.from_bytes(k[-2], "big"), int.from_bytes(k[-3], "big"),
                                        ec.SECP256R1()).public_key()
    with open(path, "wb") as f:
        f.write(pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return k


def verify_receipt(root, statement, receipt, log_pem, issuer_pem, origin="localhost/scittd"):
    sp, rp = os.path.join(root, "v.stmt"), os.path.join(root, "v.rcpt")
    open(sp, "wb").write(statement)
    open(rp, "wb").write(receipt)
    r = subprocess.run(["/usr/bin/python3", VERIFY_PY, sp, rp, log_pem, "--issuer-key", issuer_pem, "--normalise",
                        "--ours", origin], capture_output=True, text=True)
    return r.returncode == 0 and "VALID" in r.stdout, r.stdout + r.stderr


# -- C2SP checkpoints and tiles, from the specs ---------------------------------

def parse_vkey(line):
    name, keyid, key = line.strip().split("+", 2)
    raw = base64.b64decode(key)
    assert raw[0] == 1 and len(raw) == 33
    assert hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4].hex() == keyid
    return name, bytes.fromhex(keyid), ed25519.Ed25519PublicKey.from_public_bytes(raw[1:])


def verify_checkpoint(note, vkey_line):
    """Verify a signed note with the vkey; return (origin, size, root)."""
    name, keyid, pub = parse_vkey(vkey_line)
    text = note.decode("utf-8")
    body, sep, sigs = text.partition("\n\n")
    assert sep, "no blank line"
    body += "\n"
    ok = False
    for line in sigs.splitlines():
        if not line:
            continue
        assert line.startswith("\u2014 "), line
        kname, b64 = line[2:].rsplit(" ", 1)
        sig = base64.b64decode(b64)
        if kname == name and sig[:4] == keyid:
            pub.verify(sig[4:], body.encode())  # raises on failure
            ok = True
    assert ok, "no signature by the log key"
    lines = body.split("\n")
    return lines[0], int(lines[1]), base64.b64decode(lines[2])


def tile_path(level, index, width=None, entries=False):
    s = "%03d" % (index % 1000)
    index //= 1000
    while index > 0:
        s = "x%03d/" % (index % 1000) + s
        index //= 1000
    p = "tile/" + ("entries" if entries else str(level)) + "/" + s
    return p + (".p/%d" % width if width else "")


def mth(hashes):
    """RFC 9162 Merkle tree hash of a list of leaf hashes."""
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(hashes[:k]) + mth(hashes[k:])).digest()


def fetch_tree(get, size):
    """Fetch every level-0 tile and entry bundle for `size` leaves; check each
    leaf hash against its entry and each level-1 hash against its full tile.
    Returns (leaf hashes, entries, {path: bytes})."""
    leaves, entries, seen = [], [], {}
    for n in range((size + 255) // 256):
        w = min(256, size - n * 256)
        p = tile_path(0, n, None if w == 256 else w)
        data = get("/" + p)
        seen[p] = data
        assert len(data) == 32 * w, (p, len(data))
        leaves += [data[i:i + 32] for i in range(0, len(data), 32)]
        pe = tile_path(0, n, None if w == 256 else w, entries=True)
        bundle = get("/" + pe)
        seen[pe] = bundle
        off = 0
        while off < len(bundle):
            ln = struct.unpack(">H", bundle[off:off + 2])[0]
            entries.append(bundle[off + 2:off + 2 + ln])
            off += 2 + ln
    assert len(entries) == size, (len(entries), size)
    for e, lh in zip(entries, leaves):
        assert len(e) == 32 and hashlib.sha256(b"\x00" + e).digest() == lh
    if size >= 256:
        w1 = size // 256
        p = tile_path(1, 0, None if w1 == 256 else w1)
        data = get("/" + p)
        seen[p] = data
        for i in range(w1):
            assert data[32 * i:32 * i + 32] == mth(leaves[256 * i:256 * i + 256]), "level-1 hash %d" % i
    return leaves, entries, seen


# -- LMDB writer lock: makes the sequencer's commit wait, deterministically ----

class WriterLock:
    """Hold LMDB's write transaction on the data folder (liblmdb via ctypes):
    the sequencer, the only writer, blocks on its next commit until release.
    On PostgreSQL: a transaction holding the log row (scitt_log) FOR UPDATE,
    which every commit updates."""

    def __init__(self, data_dir):
        self.txn = None
        self.psql = None
        if ON_PG:
            self.psql = subprocess.Popen(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d",
                                          database_for(data_dir)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         text=True)
            self.psql.stdin.write("BEGIN;\nSELECT 'locked' FROM scitt_log WHERE id = 0 FOR UPDATE;\n")
            self.psql.stdin.flush()
            line = self.psql.stdout.readline()
            assert line.strip() == "locked", "psql: %r" % line
            return
        self.lib = ctypes.CDLL("liblmdb.so.0")
        self.env = ctypes.c_void_p()
        self.txn = ctypes.c_void_p()
        assert self.lib.mdb_env_create(ctypes.byref(self.env)) == 0
        self.lib.mdb_env_set_maxdbs(self.env, 16)
        rc = self.lib.mdb_env_open(self.env, data_dir.encode(), 0x200000, 0o600)  # MDB_NOTLS
        assert rc == 0, rc
        assert self.lib.mdb_txn_begin(self.env, None, 0, ctypes.byref(self.txn)) == 0

    def release(self):
        if self.psql is not None:
            self.psql.communicate("ROLLBACK;\n", timeout=30)
            self.psql = None
        if self.txn:
            self.lib.mdb_txn_abort(self.txn)
            self.txn = None
            self.lib.mdb_env_close(self.env)


# -- raw HTTP/2 (python3-h2) --------------------------------------------------

class H2:
    """A minimal blocking HTTP/2 client on python3-h2 for many concurrent
    requests on one connection, and raw frame access for abuse tests."""

    def __init__(self, port, settings=None, tls=False, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:  # before connecting, so the advertised TCP window stays small
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(30)
        self.sock.connect(("127.0.0.1", port))
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["h2"])
            self.sock = ctx.wrap_socket(self.sock)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                                         header_encoding="utf-8"))
        self.conn.initiate_connection()
        if settings:
            self.conn.update_settings(settings)
        self.flush()
        self.responses = {}
        self.closed = False

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def send(self, method, path, headers=(), body=None, end=True):
        sid = self.conn.get_next_available_stream_id()
        hdrs = [(":method", method), (":path", path), (":scheme", "http"), (":authority", "localhost")]
        hdrs += list(headers)
        self.responses[sid] = {"status": None, "headers": {}, "body": b"", "done": False, "reset": None}
        self.conn.send_headers(sid, hdrs, end_stream=body is None and end)
        if body is not None:
            off = 0
            while True:
                room = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
                chunk = body[off:off + room]
                off += len(chunk)
                last = off >= len(body)
                self.conn.send_data(sid, chunk, end_stream=last and end)
                self.flush()
                if last:
                    break
                # Wait for window; stop when the server answered early (413,
                # 415) and reset the stream, or when the connection is gone.
                while self.conn.local_flow_control_window(sid) == 0:
                    if not self.pump() or self.responses[sid]["done"]:
                        self.flush()
                        return sid
        self.flush()
        return sid

    def pump(self, timeout=30):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError):
            data = b""
        if not data:
            self.closed = True
            return False
        for ev in self.conn.receive_data(data):
            r = self.responses.get(getattr(ev, "stream_id", None))
            if isinstance(ev, h2.events.ResponseReceived) and r is not None:
                hd = dict(ev.headers)
                r["status"] = int(hd[":status"])
                r["headers"] = hd
            elif isinstance(ev, h2.events.DataReceived) and r is not None:
                r["body"] += ev.data
                self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded) and r is not None:
                r["done"] = True
            elif isinstance(ev, h2.events.StreamReset) and r is not None:
                r["reset"] = ev.error_code
                r["done"] = True
            elif isinstance(ev, h2.events.ConnectionTerminated):
                self.closed = True
        self.flush()
        return True

    def wait(self, sids, timeout=60):
        deadline = time.time() + timeout
        while not all(self.responses[s]["done"] for s in sids):
            if time.time() > deadline or not self.pump(max(0.1, deadline - time.time())):
                break
        return [Response(self.responses[s]["status"], self.responses[s]["headers"], self.responses[s]["body"])
                for s in sids]

    def request(self, method, path, headers=(), body=None):
        return self.wait([self.send(method, path, headers, body)])[0]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def frame(ftype, flags, sid, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b"")


def header_block(path="/healthz", method="GET", extra=()):
    return hpack.Encoder().encode([(":method", method), (":path", path), (":scheme", "http"),
                                   (":authority", "localhost")] + list(extra))


def read_until_closed(sock, timeout):
    """Read until the peer closes; return (closed, frames types seen)."""
    sock.settimeout(timeout)
    buf = b""
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            d = sock.recv(65536)
            if not d:
                return True, buf
            buf += d
    except (socket.timeout, TimeoutError):
        return False, buf
    except ConnectionResetError:
        return True, buf
    return False, buf


def goaway_code(buf):
    """The error code of the first GOAWAY frame in `buf`, or None."""
    off = 0
    while off + 9 <= len(buf):
        ln = int.from_bytes(buf[off:off + 3], "big")
        if buf[off + 3] == 7 and off + 9 + 8 <= len(buf):
            return struct.unpack(">I", buf[off + 13:off + 17])[0]
        off += 9 + ln
    return None


def wait_port(port, timeout=10):
    """Until something listens on loopback `port` (a server just started)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def tempdir():
    d = tempfile.mkdtemp(prefix="scittd-test-")
    return d


def cleanup(d):
    shutil.rmtree(d, ignore_errors=True)
