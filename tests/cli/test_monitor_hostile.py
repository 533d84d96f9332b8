"""`scitt monitor` against statements made to break its alerts (issue 10):
a thief holding the owner's key picks the iss and sub, so neither may keep
an alert from reaching its consumer.
  - bytes that are not UTF-8 in sub (a lead byte 0xF8..0xFF, a surrogate,
    an overlong form) cannot enter the log any more (issue 16 D: refused at
    registration); awkward UTF-8 (quotes, backslashes, DEL, U+2028) still
    must come out of --json and --exec stdin as valid UTF-8 JSON (Python's
    json.loads on bytes, like most consumers);
  - a sub of control bytes as long as scittd takes (320 bytes, issue 16;
    other logs may serve longer ones, which SCITT_ALERT_SUB cuts to 4096
    bytes): --exec must still run.

Environment: SCITT, SCITTD (set by tests/cli/meson.build).
"""
import json
import os
import subprocess
import tempfile

import cbor2

from clitest import SCITT, Issuer, Server, check, finish, scitt


def kid_of(path):
    with open(path, "rb") as f:
        stmt = cbor2.loads(f.read())
    return cbor2.loads(stmt.value[0])[4].hex()


with tempfile.TemporaryDirectory() as tmp:
    keys = os.path.join(tmp, "keys")
    owner = Issuer(tmp, "owner", keys, "https://owner.example")
    data = os.path.join(tmp, "data")
    srv = Server(tmp, data, keys)
    try:
        [probe] = owner.statements(1, "probe", sub="pkg:owner/probe")
        kid = kid_of(probe)
        not_utf8 = [b"pkg:\xff\x80\x80", b"pkg:\xed\xa0\x80", b"pkg:\xe0\x80\x80", b"pkg:\xf8\x88\x80\x80\x80"]
        awkward = [b'pkg:"q\\"', b"pkg:\x7f", b"pkg:\xe2\x80\xa8"]
        paths = [probe]
        for i, sub in enumerate(not_utf8 + awkward + [b"pkg:" + b"\x01" * 316]):
            payload = os.path.join(tmp, "hostile-%d" % i)
            with open(payload, "w") as f:
                f.write("hostile %d\n" % i)
            out = os.path.join(tmp, "hostile-%d.cose" % i)
            r = subprocess.run([SCITT.encode(), b"sign", b"--key", owner.key.encode(), b"--iss",
                                b"https://owner.example", b"--sub", sub, b"--out", out.encode(), payload.encode()],
                               capture_output=True)
            assert r.returncode == 0, r.stderr
            paths.append(out)
        refused = paths[1:1 + len(not_utf8)]
        del paths[1:1 + len(not_utf8)]
        for path in refused:
            r = scitt("register", "--url", srv.url, path)
            check(r.returncode != 0 and "UTF-8" in r.stderr,
                  "a sub that is not UTF-8 is refused (%s)" % r.stderr.strip()[-120:])
        r = scitt("register", "--url", srv.url, *paths)
        assert r.returncode == 0, r.stderr
        n = len(paths)

        watch = os.path.join(tmp, "owner.watch")
        with open(watch, "w") as f:
            f.write("kid %s\n" % kid)
        exec_log = os.path.join(tmp, "exec.jsonl")
        exec_env = os.path.join(tmp, "exec.env")
        hook = "cat >> %s; echo \"$SCITT_ALERT_INDEX ${#SCITT_ALERT_SUB}\" >> %s" % (exec_log, exec_env)
        r = subprocess.run([SCITT, "monitor", "--url", srv.url, "--dir", os.path.join(tmp, "mon"), "--watch", watch,
                            "--json", "--exec", hook], capture_output=True)
        check(r.returncode == 0, "monitor exits 0 (%d: %s)" % (r.returncode, r.stderr[-300:]))
        lines = r.stdout.splitlines()
        parsed = []
        for line in lines:
            try:
                parsed.append(json.loads(line))
            except ValueError as e:
                check(False, "an alert line is not UTF-8 JSON: %s: %r" % (e, line[:60]))
        check(len(lines) == n and len(parsed) == n, "one --json alert per entry (%d of %d)" % (len(parsed), n))
        piped = open(exec_log, "rb").read().splitlines() if os.path.exists(exec_log) else []
        ok = len(piped) == n
        for line in piped:
            try:
                json.loads(line)
            except ValueError:
                ok = False
        check(ok, "--exec got every alert as UTF-8 JSON on stdin (%d of %d)" % (len(piped), n))
        ran = open(exec_env).read().splitlines() if os.path.exists(exec_env) else []
        check(len(ran) == n and b"failed" not in r.stderr,
              "--exec ran for every alert, the control-byte sub too (%d of %d; %s)" % (len(ran), n, r.stderr[-200:]))
        lens = [int(line.split()[1]) for line in ran]
        check(lens and 320 <= max(lens) <= 4096, "SCITT_ALERT_SUB carries the long sub, within 4096 bytes (%s)" % lens)
    finally:
        srv.stop()
finish()
