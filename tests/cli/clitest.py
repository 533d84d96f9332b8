"""Helpers shared by the scitt command-line tests that run a real scittd
(h2c on a free loopback port): the scitt tool, the server (the integration
harness's, with --issuer-keys) and issuers that sign with `scitt sign`.

Environment: SCITT, SCITTD (set by tests/cli/meson.build). With
SCITT_TEST_DATABASE set (tests/tools/pgtmp), each server keeps its log in a
PostgreSQL database of its own, as harness.Server does.
"""
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402  (scittd's integration harness: the server, checks)
from harness import check, finish, free_port  # noqa: E402,F401

SCITT = os.environ["SCITT"]


def scitt(*args, **kw):
    return subprocess.run([SCITT, *args], capture_output=True, text=True, **kw)


class Server(harness.Server):
    """harness.Server started at once with --issuer-keys; `url` is its base."""

    def __init__(self, root, data, issuer_keys, extra=()):
        super().__init__(root, data, ["--issuer-keys", issuer_keys, *extra])
        self.start()
        self.url = self.base


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


def ci_service(tmp):
    """A server trusting one issuer key, ROOT/ci.pem (issue 20's CI tests):
    returns (server, key path)."""
    keys = os.path.join(tmp, "issuer-keys")
    os.makedirs(keys)
    key = os.path.join(tmp, "ci.pem")
    r = scitt("keygen", "--out", key)
    assert r.returncode == 0, r.stderr
    shutil.copy(os.path.join(tmp, "ci.pub.pem"), keys)
    return Server(tmp, None, keys), key


def save_keyset(url, path):
    """The service's key set, saved for offline verification."""
    with open(path, "wb") as f:
        f.write(harness.curl(url + "/.well-known/scitt-keys", headers=["Accept: application/cbor"]).body)
    return path
