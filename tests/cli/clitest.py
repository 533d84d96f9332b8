"""Helpers shared by the scitt command-line tests that run a real scittd
(h2c on a free loopback port): checks, the scitt tool, the server and
issuers that sign statements with `scitt sign`.

Environment: SCITT, SCITTD (set by tests/cli/meson.build).
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

SCITT = os.environ["SCITT"]
SCITTD = os.environ.get("SCITTD", "")

failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def finish():
    if failures:
        print("%d checks failed" % len(failures))
        sys.exit(1)
    print("all checks passed")


def scitt(*args, **kw):
    return subprocess.run([SCITT, *args], capture_output=True, text=True, **kw)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    def __init__(self, root, data, issuer_keys):
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.logf = open(os.path.join(root, "scittd-%d.log" % self.port), "w")
        self.proc = subprocess.Popen([SCITTD, "--data", data, "--listen", "127.0.0.1:%d" % self.port,
                                      "--issuer-keys", issuer_keys], stdout=self.logf, stderr=subprocess.STDOUT)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("scittd did not start")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=20)
        self.logf.close()


class Issuer:
    """A key made by `scitt keygen` in ROOT/NAME.pem; its public key is
    copied to ROOT/issuer-keys (or `keys_dir`, shared by several issuers)."""

    def __init__(self, root, name="issuer", keys_dir=None, iss="https://ci.example"):
        self.root = root
        self.name = name
        self.iss = iss
        self.key = os.path.join(root, name + ".pem")
        self.keys_dir = keys_dir or os.path.join(root, "issuer-keys")
        os.makedirs(self.keys_dir, exist_ok=True)
        r = scitt("keygen", "--out", self.key)
        assert r.returncode == 0, r.stderr
        shutil.copy(os.path.join(root, name + ".pub.pem"), self.keys_dir)
        self.n = 0

    def statements(self, count, tag, extra=(), iss=None, sub=None):
        out = []
        for _ in range(count):
            self.n += 1
            payload = os.path.join(self.root, "%s-p%d" % (self.name, self.n))
            with open(payload, "w") as f:
                f.write("%s %d %f\n" % (tag, self.n, time.time()))
            path = os.path.join(self.root, "%s-s%d.cose" % (self.name, self.n))
            r = scitt("sign", "--key", self.key, "--iss", iss or self.iss, "--sub", sub or "pkg:test/%s" % tag,
                      "--out", path, *extra, payload)
            assert r.returncode == 0, r.stderr
            out.append(path)
        return out


def entry_id(path):
    return scitt("inspect", path).stdout.split("normalised statement): ")[1][:64]


def copy_service_keys(data, forked):
    """A fresh data folder holding `data`'s service keys: the same log keys
    signing a different history (a fork signed by the right key)."""
    os.makedirs(forked, mode=0o700)
    for name in ["service-es256.pem", "checkpoint-ed25519.key"]:
        shutil.copy(os.path.join(data, name), forked)
