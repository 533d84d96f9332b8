#!/usr/bin/python3
"""An option's value is never the next option (issue 15, item 10): in
`scitt audit --kid --help` or `scittd --data --listen ...` the value was
forgotten, and taking `--help` as a kid or `--listen` as the data folder
would do something the user did not ask for. Both programs refuse a value
given as a separate argument that starts with `--` (exit 2 for scitt, non-zero
for scittd, saying so); `--name=--value` still gives such a value.

Environment: SCITT, SCITTD.
"""
import os
import subprocess
import tempfile

from clitest import SCITT, check, finish

SCITTD = os.environ["SCITTD"]


def run(*cmd, cwd):
    return subprocess.run(list(cmd), capture_output=True, text=True, cwd=cwd, timeout=30)


with tempfile.TemporaryDirectory() as tmp:
    r = run(SCITT, "audit", "--url", "http://127.0.0.1:1", "--kid", "--help", cwd=tmp)
    check(r.returncode == 2 and "'--kid' needs a value, not '--help'" in r.stderr,
          "scitt audit --kid --help: usage error naming the option (%d: %s)" % (r.returncode, r.stderr.strip()))
    r = run(SCITT, "keygen", "--out", "--alg", "ES256", cwd=tmp)
    check(r.returncode == 2 and not os.path.exists(os.path.join(tmp, "--alg")),
          "scitt keygen --out --alg ES256: usage error, no key file named --alg (%d)" % r.returncode)
    r = run(SCITT, "keygen", "--out=--odd.pem", cwd=tmp)
    check(r.returncode == 0 and os.path.exists(os.path.join(tmp, "--odd.pem")),
          "scitt keygen --out=--odd.pem: the = form still takes such a value (%d %s)" % (r.returncode, r.stderr))
    r = run(SCITT, "keygen", "--out", "-", cwd=tmp)
    check("needs a value" not in r.stderr, "a lone - is still a value (stdout)")

    r = run(SCITTD, "--data", "--listen", "127.0.0.1:1", cwd=tmp)
    check(r.returncode != 0 and "`--data` needs a value, not `--listen`" in r.stderr
          and not os.path.exists(os.path.join(tmp, "--listen")),
          "scittd --data --listen ...: refused, no folder named --listen (%d: %s)" % (r.returncode, r.stderr.strip()))
    r = run(SCITTD, "--data", "--help", cwd=tmp)
    check(r.returncode == 0 and "usage: scittd" in r.stdout and not os.path.exists(os.path.join(tmp, "--help")),
          "scittd --data --help: --help is the option, not the folder (%d)" % r.returncode)

    # --lease-ms (issue 18): listed, and bounded to 500..5000 ms.
    r = run(SCITTD, "--help", cwd=tmp)
    check(r.returncode == 0 and "--lease-ms MS" in r.stdout, "scittd --help lists --lease-ms")
    for bad in ("499", "5001", "0", "x"):
        r = run(SCITTD, "--data", tmp, "--lease-ms", bad, cwd=tmp)
        check(r.returncode != 0 and "--lease-ms" in r.stderr,
              "scittd --lease-ms %s: refused naming the option (%d: %s)" % (bad, r.returncode, r.stderr.strip()))

finish()
