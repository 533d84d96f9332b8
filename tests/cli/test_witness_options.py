#!/usr/bin/python3
"""scittd --witness VKEY@URL, --witness-threshold, --checkpoint-interval-ms,
--witness-timeout-ms (issue 21): the options' edges. `--help` lists them; a
witness line that is not VKEY@URL, a vkey that is not a cosignature/v1 key
(a log's 0x01 vkey), a URL that is not http(s), a witness listed twice, a
threshold above the number of witnesses, and a threshold without witnesses
are refused at start with a reason. (Witnessing itself:
tests/integration/test_witnesses.py.)

Environment: SCITT, SCITTD.
"""
import base64
import hashlib
import os
import subprocess
import tempfile

import clitest
from clitest import check, finish

SCITTD = os.environ["SCITTD"]


def cosig_vkey(name, pub=b"\x07" * 32, kind=b"\x04"):
    kid = hashlib.sha256(name.encode() + b"\n" + kind + pub).digest()[:4]
    return "%s+%s+%s" % (name, kid.hex(), base64.b64encode(kind + pub).decode())


def start_fails(tmp, args, what, expect):
    r = subprocess.run([SCITTD, "--data", os.path.join(tmp, "data"), "--listen",
                        "127.0.0.1:%d" % clitest.harness.free_port()] + args, capture_output=True, text=True, timeout=60)
    check(r.returncode != 0 and expect in r.stderr, "%s: refused (%d: %s)" % (what, r.returncode, r.stderr.strip()))


with tempfile.TemporaryDirectory() as tmp:
    r = subprocess.run([SCITTD, "--help"], capture_output=True, text=True)
    for opt in ("--witness VKEY@URL", "--witness-threshold K", "--checkpoint-interval-ms MS",
                "--witness-timeout-ms MS"):
        check(opt in r.stdout, "--help lists " + opt)
    good = cosig_vkey("w.example/1") + "@http://127.0.0.1:9"
    start_fails(tmp, ["--witness", cosig_vkey("w.example/1")], "no @URL", "expected VKEY@URL")
    start_fails(tmp, ["--witness", cosig_vkey("w.example/1", kind=b"\x01") + "@http://127.0.0.1:9"],
                "a log (0x01) vkey", "not a valid cosignature/v1")
    start_fails(tmp, ["--witness", cosig_vkey("w.example/1") + "@ftp://127.0.0.1:9"], "an ftp URL",
                "not an http:// or https:// URL")
    start_fails(tmp, ["--witness", good, "--witness", good], "a witness twice", "listed twice")
    start_fails(tmp, ["--witness", good, "--witness-threshold", "2"], "K above the witnesses", "more than the 1")
    start_fails(tmp, ["--witness-threshold", "1"], "K without witnesses", "--witness-threshold needs --witness")
    start_fails(tmp, ["--checkpoint-interval-ms", "0"], "interval 0", "checkpoint-interval-ms")

finish()
