"""A small C2SP tlog-witness for scittd's tests, written apart from scittd
(python3-h2 over cleartext HTTP/2, python3-cryptography for Ed25519).

    witness_py.py --name NAME --seed HEX --log-vkey VKEY --state FILE --port PORT [--wrong-key]

It serves POST /add-checkpoint as tlog-witness v1.0.0 says: 404 for another
origin, 403 without a valid log signature, 400 for old > size, 409 with
`text/x.tlog.size` when old is not the size it holds (or the same size with
another root), 422 for a consistency proof that does not verify, and 200
with one cosignature/v1 line. Its state (size and root) is a JSON file
written (atomically, by rename) before it answers, under one lock, so a
restart keeps it. With --wrong-key it signs with another key under its own
name and key id: a witness answering wrong cosignatures. Each request is
appended as a line to FILE.requests ("old size status").

As a module: vkey(name, seed) and cosign_key_id(name, pub).
"""
import argparse
import base64
import hashlib
import json
import os
import socket
import struct
import sys
import threading
import time

import h2.config
import h2.connection
import h2.events
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519


def raw_pub(priv):
    return priv.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def cosign_key_id(name, pub):
    return hashlib.sha256(name.encode() + b"\n" + b"\x04" + pub).digest()[:4]


def vkey(name, seed):
    pub = raw_pub(ed25519.Ed25519PrivateKey.from_private_bytes(seed))
    return "%s+%s+%s" % (name, cosign_key_id(name, pub).hex(), base64.b64encode(b"\x04" + pub).decode())


def node(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()


def verify_consistency(n1, n2, r1, r2, proof):
    """RFC 9162 section 2.1.4.2, for 0 < n1 < n2."""
    if n1 & (n1 - 1) == 0:
        proof = [r1] + proof
    fn, sn = n1 - 1, n2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    if not proof:
        return False
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node(c, fr)
            sr = node(c, sr)
            if not fn & 1:
                while True:
                    fn >>= 1
                    sn >>= 1
                    if fn & 1 or fn == 0:
                        break
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == r1 and sr == r2 and sn == 0


class Witness:
    def __init__(self, args):
        self.name = args.name
        seed = bytes.fromhex(args.seed)
        self.key = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
        self.key_id = cosign_key_id(self.name, raw_pub(self.key))
        if args.wrong_key:
            self.key = ed25519.Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed).digest())
        lname, lid, lkey = args.log_vkey.split("+", 2)
        raw = base64.b64decode(lkey)
        self.log_name, self.log_id, self.log_pub = lname, bytes.fromhex(lid), ed25519.Ed25519PublicKey.from_public_bytes(raw[1:])
        self.state_file = args.state
        self.lock = threading.Lock()

    def load(self):
        try:
            with open(self.state_file) as f:
                s = json.load(f)
            return s["size"], base64.b64decode(s["root"])
        except FileNotFoundError:
            return 0, None

    def save(self, size, root):
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"size": size, "root": base64.b64encode(root).decode()}, f)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, self.state_file)

    def add_checkpoint(self, body):
        """Returns (status, content type, body)."""
        try:
            text = body.decode("utf-8")
            head, sep, note = text.partition("\n\n")
            lines = head.split("\n")
            if not sep or not lines[0].startswith("old "):
                return 400, "text/plain", b"bad body\n"
            old = int(lines[0][4:])
            proof = [base64.b64decode(l, validate=True) for l in lines[1:]]
            cp, sep, sigs = note.partition("\n\n")
            cp += "\n"
            origin, size_s, root_s = cp.split("\n")[:3]
            size, root = int(size_s), base64.b64decode(root_s)
        except (ValueError, UnicodeDecodeError, IndexError):
            return 400, "text/plain", b"bad body\n"
        if origin != self.log_name:
            return 404, "text/plain", b"unknown origin\n"
        signed = False
        for line in sigs.split("\n"):
            if not line.startswith("\u2014 "):
                continue
            kname, b64 = line[2:].rsplit(" ", 1)
            sig = base64.b64decode(b64)
            if kname == self.log_name and sig[:4] == self.log_id:
                try:
                    self.log_pub.verify(sig[4:], cp.encode())
                    signed = True
                except Exception:
                    return 403, "text/plain", b"bad log signature\n"
        if not signed:
            return 403, "text/plain", b"no log signature\n"
        if old > size:
            return 400, "text/plain", b"old > size\n"
        with self.lock:
            held, held_root = self.load()
            if old != held:
                return 409, "text/x.tlog.size", b"%d\n" % held
            if old == size:
                if held_root is not None and held_root != root:
                    return 409, "text/x.tlog.size", b"%d\n" % held
            elif old == 0:
                if proof:
                    return 422, "text/plain", b"proof from 0\n"
            elif not verify_consistency(old, size, held_root, root, proof):
                return 422, "text/plain", b"inconsistent\n"
            self.save(size, root)
        ts = int(time.time())
        msg = b"cosignature/v1\ntime %d\n" % ts + cp.encode()
        sig = self.key.sign(msg)
        line = "\u2014 %s %s\n" % (self.name, base64.b64encode(self.key_id + struct.pack(">Q", ts) + sig).decode())
        return 200, "text/plain; charset=utf-8", line.encode()


def serve_conn(w, sock, log):
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    bodies, paths = {}, {}
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.RequestReceived):
                    hdrs = dict(ev.headers)
                    paths[ev.stream_id] = (hdrs.get(":method"), hdrs.get(":path"))
                    bodies[ev.stream_id] = b""
                elif isinstance(ev, h2.events.DataReceived):
                    bodies[ev.stream_id] += ev.data
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded):
                    method, path = paths.pop(ev.stream_id)
                    body = bodies.pop(ev.stream_id)
                    if method == "POST" and path.endswith("/add-checkpoint"):
                        status, ctype, out = w.add_checkpoint(body)
                        old = body.split(b"\n", 1)[0].decode(errors="replace")
                        with open(log, "a") as f:
                            f.write("%s %d\n" % (old, status))
                    else:
                        status, ctype, out = 404, "text/plain", b"not found\n"
                    conn.send_headers(ev.stream_id, [(":status", str(status)), ("content-type", ctype),
                                                     ("content-length", str(len(out)))])
                    conn.send_data(ev.stream_id, out, end_stream=True)
            sock.sendall(conn.data_to_send())
    except (OSError, h2.exceptions.ProtocolError):
        return
    finally:
        sock.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--seed", required=True)
    ap.add_argument("--log-vkey", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--wrong-key", action="store_true")
    args = ap.parse_args()
    w = Witness(args)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.port))
    srv.listen(16)
    while True:
        s, _ = srv.accept()
        threading.Thread(target=serve_conn, args=(w, s, args.state + ".requests"), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
