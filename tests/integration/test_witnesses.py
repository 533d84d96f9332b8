#!/usr/bin/python3
"""scittd's side of witnessing (issue 21): --witness, --witness-threshold,
--checkpoint-interval-ms. The witnesses are tests/integration/witness_py.py
(C2SP tlog-witness in Python, apart from scittd's code), one process each.

- Three witnesses, one down and one answering a wrong cosignature, K = 3:
  /checkpoint carries the log signature and exactly the one valid
  cosignature (checked here with the witness's public key over
  "cosignature/v1\\ntime T\\n" + the checkpoint); the metrics say short of
  K, count the failures and the bad cosignature; witness rounds are bounded
  by the interval while registrations keep committing.
- The down witness comes up knowing another log: a 404 alert.
- 409 adoption: scittd restarted (its witnesses' sizes forgotten) sends old
  0, adopts the size in the 409 and gets the cosignature with a proof from
  it; a witness restarted keeps its state and keeps cosigning.
(A fork refused by `scitt witness` witnesses and by `scitt mirror
--witness-threshold 2`: tests/cli/test_witnessed_log.py.)
"""
import base64
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import time

from cryptography.hazmat.primitives.asymmetric import ed25519

sys.path.insert(0, os.path.dirname(__file__))
from harness import *  # noqa: E402,F403
import witness_py  # noqa: E402

WITNESS_PY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "witness_py.py")

root = tempdir()
servers = []
witnesses = []


class PyWitness:
    def __init__(self, name, log_vkey, wrong=False, port=None):
        self.name = name
        self.seed = hashlib.sha256(name.encode()).digest()
        self.vkey = witness_py.vkey(name, self.seed)
        self.pub = ed25519.Ed25519PrivateKey.from_private_bytes(self.seed).public_key()
        self.log_vkey = log_vkey
        self.wrong = wrong
        self.port = port or free_port()
        self.state = os.path.join(root, "witness-%s.json" % name)
        self.proc = None

    @property
    def spec(self):
        return "%s@http://127.0.0.1:%d" % (self.vkey, self.port)

    def start(self):
        cmd = [sys.executable, WITNESS_PY, "--name", self.name, "--seed", self.seed.hex(), "--log-vkey",
               self.log_vkey, "--state", self.state, "--port", str(self.port)]
        self.proc = subprocess.Popen(cmd + (["--wrong-key"] if self.wrong else []))
        witnesses.append(self)
        wait_port(self.port)
        return self

    def stop(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def requests(self):
        try:
            with open(self.state + ".requests") as f:
                return [ln.split() for ln in f.read().splitlines()]
        except FileNotFoundError:
            return []

    def held(self):
        try:
            with open(self.state) as f:
                return json.load(f)["size"]
        except FileNotFoundError:
            return 0


def cosignatures(note, wits):
    """{name: True/False} for the cosignature lines of `note` by `wits`."""
    text = note.decode()
    body = text.partition("\n\n")[0] + "\n"
    out = {}
    for line in text.partition("\n\n")[2].splitlines():
        kname, b64 = line[2:].rsplit(" ", 1)
        raw = base64.b64decode(b64)
        for w in wits:
            if kname == w.name and raw[:4] == witness_py.cosign_key_id(w.name, witness_py.raw_pub(
                    ed25519.Ed25519PrivateKey.from_private_bytes(w.seed))):
                ts = struct.unpack(">Q", raw[4:12])[0]
                try:
                    w.pub.verify(raw[12:], b"cosignature/v1\ntime %d\n" % ts + body.encode())
                    out[w.name] = True
                except Exception:
                    out[w.name] = False
    return out


def metric(srv, name, labels=""):
    text = curl(srv.base + "/metrics").body.decode()
    m = re.search(r"^%s%s (\d+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    return int(m.group(1)) if m else None


def register(srv, iss, n, tag):
    h = H2(srv.port)
    got = h.wait([h.send("POST", "/entries", [("content-type", "application/cose")], iss.statement("%s %d" % (tag, i)))
                  for i in range(n)])
    h.close()
    return all(r.status == 201 for r in got)


def wait_for(pred, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    return None


def served(srv, vkey):
    note = curl(srv.base + "/checkpoint").body
    return note, verify_checkpoint(note, vkey)[1]


def log_vkey_of(data, iss):
    """Start scittd once without witnesses to make its keys: its vkey line."""
    srv = Server(root, data=data, args=["--issuer-keys", iss.keys_dir], lmdb=True).start()
    servers.append(srv)
    vkey = curl(srv.base + "/checkpoint.vkey").body.decode().strip()
    srv.stop()
    return vkey


try:
    iss = Issuer(root)
    data = os.path.join(root, "data")
    vkey = log_vkey_of(data, iss)

    # -- Three witnesses: good, down, wrong key; K = 3 ------------------------
    good = PyWitness("w-good", vkey).start()
    down = PyWitness("w-down", vkey)  # not started
    wrong = PyWitness("w-wrong", vkey, wrong=True).start()
    interval = 300
    args = ["--issuer-keys", iss.keys_dir, "--checkpoint-interval-ms", str(interval), "--witness-timeout-ms", "3000",
            "--witness-threshold", "3"]
    for w in (good, down, wrong):
        args += ["--witness", w.spec]
    t0 = time.time()
    srv = Server(root, data=data, args=args, lmdb=True).start()
    servers.append(srv)
    n = 0
    for batch in range(8):  # commits keep coming for a while
        check(register(srv, iss, 3, "a%d" % batch), "batch %d registered" % batch)
        n += 3
        time.sleep(0.1)

    def cosigned_at_n():
        note, size = served(srv, vkey)
        return note if size == n and cosignatures(note, [good]).get("w-good") else None

    note = wait_for(cosigned_at_n)
    check(note is not None, "/checkpoint reaches size %d with w-good's cosignature" % n)
    if note is not None:
        sigs = cosignatures(note, [good, down, wrong])
        check(sigs == {"w-good": True}, "only the valid cosignature is served (%s)" % sigs)
        check(note.decode().count("\u2014 ") == 2, "log signature + one cosignature")
    check(metric(srv, "scittd_checkpoint_cosignatures") == 1, "metric: 1 cosignature")
    check(metric(srv, "scittd_checkpoint_witness_threshold") == 3, "metric: K = 3")
    check(metric(srv, "scittd_checkpoint_short") == 1, "metric: short of K")
    check((metric(srv, "scittd_witness_failures_total", '{witness="w-down"}') or 0) >= 1, "metric: w-down fails")
    check((metric(srv, "scittd_witness_bad_cosignatures_total", '{witness="w-wrong"}') or 0) >= 1,
          "metric: w-wrong's bad cosignature")
    check(metric(srv, "scittd_witness_cosigned_size", '{witness="w-good"}') == n, "metric: w-good cosigned n")
    rounds = metric(srv, "scittd_checkpoint_rounds_total")
    elapsed_ms = (time.time() - t0) * 1000
    check(rounds is not None and rounds <= elapsed_ms / interval + 3,
          "rounds bounded by the interval (%s rounds in %.0f ms)" % (rounds, elapsed_ms))
    good_posts = [r for r in good.requests() if r[-1] == "200"]
    check(len(good_posts) <= elapsed_ms / interval + 3, "w-good asked at a bounded rate (%d)" % len(good_posts))

    # The down witness comes up, knowing another log: a 404 alert.
    other = PyWitness("w-down", "other.example/log+00000000+AQ" + "A" * 42 + "=", port=down.port)
    other.state = down.state
    other.start()
    check(register(srv, iss, 1, "b"), "one more registered")
    n += 1
    ok = wait_for(lambda: (metric(srv, "scittd_witness_alerts_total", '{witness="w-down",status="404"}') or 0) >= 1)
    check(ok, "metric: a 404 alert from the witness that does not know this log")
    check("ALERT" in open(srv.log).read(), "the alert is logged")
    other.stop()
    srv.stop()

    # -- 409 adoption: scittd restarted, then a witness restarted ------------
    held = good.held()
    check(held == n, "w-good holds size %d" % n)
    before = len(good.requests())
    srv = Server(root, data=data, args=["--issuer-keys", iss.keys_dir, "--checkpoint-interval-ms", "200",
                                        "--witness", good.spec], lmdb=True).start()
    servers.append(srv)
    check(register(srv, iss, 2, "c"), "registered after the restart")
    n += 2
    note = wait_for(lambda: (lambda nt: nt[1] == n and cosignatures(nt[0], [good]).get("w-good") and nt[0])(
        served(srv, vkey)))
    check(note, "cosigned at %d after the restart" % n)
    reqs = good.requests()[before:]
    check(["old", "0", "409"] in reqs, "first asked from 0: 409 (%s)" % reqs[:3])
    check(any(r[:2] == ["old", str(held)] and r[2] == "200" for r in reqs), "then from the adopted size %d" % held)
    check((metric(srv, "scittd_witness_conflicts_total", '{witness="w-good"}') or 0) >= 1, "metric: the 409")
    good.stop()
    good.start()  # its state survives
    check(register(srv, iss, 2, "d"), "registered after the witness restart")
    n += 2
    note = wait_for(lambda: (lambda nt: nt[1] == n and cosignatures(nt[0], [good]).get("w-good") and nt[0])(
        served(srv, vkey)))
    check(note, "cosigned at %d after the witness restarted" % n)
    check(metric(srv, "scittd_checkpoint_short") == 0, "metric: not short with K = 1")
    srv.stop()

finally:
    for s in servers:
        s.stop()
    for w in witnesses:
        w.stop()
    cleanup(root)

finish()
