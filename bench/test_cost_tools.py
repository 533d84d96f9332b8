"""The tools bench/cost drives (issue 22), on a small scale:
  - `loadgen --issuers N` makes N distinct issuer keys (their public keys in
    DIR/keys, made once and reused) and signs statements with all of them in
    turn: a scittd trusting all N registers every statement, one trusting
    only the first key refuses the others;
  - `loadgen --payload-bytes` past 64 KiB (a 200 KiB payload) registers;
  - bench/idleconns holds idle HTTP/2 connections that scittd counts open.

Environment: LOADGEN, SCITTD (set by bench/meson.build).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import harness  # noqa: E402
from harness import check, finish  # noqa: E402

LOADGEN = os.environ["LOADGEN"]


def loadgen(*args):
    r = subprocess.run([LOADGEN, *args], capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "loadgen %s exits 0 (%s)" % (" ".join(args[:2]), r.stderr.strip()))
    return r.stdout


def post(url, issuer, *args):
    out = loadgen("--url", url, "--issuer", issuer, "--connections", "1", "--streams", "4", "--duration", "3",
                  "--warmup", "0", *args)
    line = next(l for l in out.splitlines() if l.startswith("LOADGEN"))
    return {k: v for k, v in re.findall(r"(\w+)=(\S+)", line)}


def main():
    tmp = tempfile.mkdtemp(prefix="scitt-cost-tools-")
    try:
        iss = os.path.join(tmp, "iss")
        loadgen("--issuer", iss, "--issuers", "3", "--keys-only")
        pems = sorted(os.listdir(os.path.join(iss, "keys")))
        check(pems == ["ES256-1.pem", "ES256-2.pem", "ES256.pem"], "three public keys: %s" % pems)
        before = open(os.path.join(iss, "keys", "ES256-2.pem")).read()
        loadgen("--issuer", iss, "--issuers", "3", "--keys-only")
        check(open(os.path.join(iss, "keys", "ES256-2.pem")).read() == before, "keys are made once, then reused")

        srv = harness.Server(tmp, os.path.join(tmp, "data"),
                             ["--issuer-keys", os.path.join(iss, "keys"), "--post-rate", "0"]).start()
        try:
            r = post(srv.base, iss, "--issuers", "3", "--count", "30")
            check(r["ok"] == "30" and r["errors"] == "0", "all three issuers' statements registered: %s" % r)
            r = post(srv.base, iss, "--count", "4", "--payload-bytes", str(200 * 1024))
            check(r["ok"] == "4" and r["errors"] == "0", "200 KiB payloads registered: %s" % r)

            ready = os.path.join(tmp, "ready")
            idle = subprocess.Popen([sys.executable, os.path.join(HERE, "idleconns"), "--port", str(srv.port),
                                     "--count", "50", "--hold", "60", "--ready", ready], stdout=subprocess.PIPE,
                                    text=True)
            try:
                line = idle.stdout.readline().strip()
                check(line.startswith("IDLE open=50 failed=0"), "idleconns opened 50 connections: %r" % line)
                text = harness.curl(srv.base + "/metrics").body.decode()
                m = re.search(r"^scittd_connections (\d+)$", text or "", re.M)
                check(m is not None and int(m.group(1)) >= 50, "scittd counts them open: %s" % (m and m.group(0)))
            finally:
                idle.terminate()
                idle.wait(timeout=30)
            check(idle.returncode == 0, "idleconns closes them and exits 0 on SIGTERM")
        finally:
            srv.stop()

        # Trusting only the first key: the other two issuers are refused.
        only = os.path.join(tmp, "only-first")
        os.makedirs(only)
        shutil.copy(os.path.join(iss, "keys", "ES256.pem"), only)
        srv = harness.Server(tmp, os.path.join(tmp, "data2"), ["--issuer-keys", only, "--post-rate", "0"]).start()
        try:
            r = post(srv.base, iss, "--issuers", "3", "--count", "30")
            check(r["ok"] == "10" and r["errors"] == "20", "statements of untrusted issuers refused: %s" % r)
        finally:
            srv.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
