#!/usr/bin/python3
"""One JSON string writer for the service and the command line (issue 15,
item 9): `scitt monitor --json` and `scitt audit --json` write a
registrant's sub exactly as the service's JSON does: valid UTF-8 JSON that
is safe on a terminal (C1 controls such as U+009B, the CSI a terminal acts
on, and U+2028/U+2029 escaped), decoding to the original string. The
monitor's text alert line escapes C1 controls too.

Environment: SCITT, SCITTD.
"""
import json
import os
import subprocess
import tempfile

from clitest import Issuer, Server, check, finish, scitt
from harness import curl  # noqa: E402 (clitest put the harness on the path)

SUB = "pkg:x\u009b[2J\u0085\u2028\u2029\u00e9"  # CSI, NEL, line/paragraph separators, a printable é

with tempfile.TemporaryDirectory() as tmp:
    issuer = Issuer(tmp, iss="https://json.example")
    paths = issuer.statements(1, "json", sub=SUB)
    srv = Server(tmp, os.path.join(tmp, "data"), issuer.keys_dir)
    try:
        r = scitt("register", "--url", srv.url, *paths)
        assert r.returncode == 0, r.stderr
        watch = os.path.join(tmp, "w.watch")
        open(watch, "w").write("iss https://json.example\n")
        outputs = {
            "service": curl(srv.url + "/entries?iss=https%3A%2F%2Fjson.example", headers=["accept: application/json"]).body,
        }
        for name, args in [("audit", ["audit", "--url", srv.url, "--iss", "https://json.example", "--json"]),
                           ("monitor", ["monitor", "--url", srv.url, "--dir", os.path.join(tmp, "mon"), "--watch",
                                        watch, "--json"])]:
            outputs[name] = subprocess.run([os.environ["SCITT"], *args], capture_output=True).stdout
        for name, raw in outputs.items():
            unsafe = [b for b in (b"\xc2\x9b", b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9") if b in raw]
            check(raw and not unsafe and b"\\u009b" in raw and b"\\u2028" in raw,
                  "%s JSON escapes C1 and U+2028/9 (raw %s)" % (name, unsafe))
            line = raw.splitlines()[0] if raw else b"{}"
            obj = json.loads(line)
            sub = obj["entries"][0]["sub"] if "entries" in obj else obj.get("sub")
            check(sub == SUB, "%s JSON decodes to the sub as signed (%r)" % (name, sub))
        # The alert line (text, not JSON) escapes control bytes as \\xHH, C1 too.
        line = subprocess.run([os.environ["SCITT"], "monitor", "--url", srv.url, "--dir", os.path.join(tmp, "mon2"),
                               "--watch", watch], capture_output=True).stdout
        check(b"\xc2\x9b" not in line and b"\\xc2\\x9b[2J\\xc2\\x85" in line,
              "the monitor's alert line escapes C1 controls (%r)" % line[:160])
    finally:
        srv.stop()
finish()
