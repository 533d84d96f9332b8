#!/usr/bin/python3
"""iss and sub length (issue 16, last paragraph): a statement is registered
only if the audit query can find it. iss and sub are capped at 320 bytes
(docs/SECURITY.md): at the cap, even with every byte percent-encoded, GET
/entries?iss= (and ?sub=) fits the 1,024-byte request target and finds the
entry; one byte more answers 400 with a problem that says why."""
import os
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import *  # noqa: E402,F403

SCITT = os.environ.get("SCITT", "build-release/tools/scitt/scitt")
root = tempdir()
srv = None
try:
    keys_dir = os.path.join(root, "issuer-keys")
    os.makedirs(keys_dir)
    key = os.path.join(root, "k.pem")
    subprocess.run([SCITT, "keygen", "--out", key], check=True, capture_output=True)
    shutil.copy(os.path.join(root, "k.pub.pem"), keys_dir)
    payload = os.path.join(root, "payload")
    open(payload, "w").write("claims\n")
    n = [0]

    def sign(iss, sub):
        n[0] += 1
        out = os.path.join(root, "s%d.cose" % n[0])
        subprocess.run([SCITT, "sign", "--key", key, "--iss", iss, "--sub", sub, "--out", out, payload], check=True,
                       capture_output=True)
        return open(out, "rb").read()

    srv = Server(root, args=["--issuer-keys", keys_dir]).start()
    B = srv.base
    # 320 bytes that all need percent-encoding: 160 x U+00E9 (2 bytes each).
    at_cap = "\u00e9" * 160
    for field, stmt in (("iss", sign(at_cap, "pkg:x")), ("sub", sign("https://a.example", at_cap))):
        r = curl(B + "/entries", "POST", ["content-type: application/cose"], stmt)
        check(r.status == 201, "%s of 320 bytes registered (%d)" % (field, r.status))
        qs = field + "=" + urllib.parse.quote(at_cap.encode(), safe="") + "&limit=1000&cursor=" + "9" * 20
        q = curl(B + "/entries?" + field + "=" + urllib.parse.quote(at_cap.encode(), safe=""),
                 headers=["accept: application/json"])
        check(q.status == 200 and entry_id(stmt) in q.body.decode(),
              "GET /entries?%s= finds it, fully percent-encoded (%d)" % (field, q.status))
        check(len("/entries?" + qs) <= 1023, "with limit and cursor the target is %d bytes" % len("/entries?" + qs))
    for field, stmt in (("iss", sign(at_cap + "a", "pkg:x")), ("sub", sign("https://a.example", "b" + at_cap))):
        r = curl(B + "/entries", "POST", ["content-type: application/cose"], stmt)
        p = r.problem()
        check(r.status == 400 and p is not None and "320 bytes" in p.get(-2, ""),
              "%s of 321 bytes: 400 saying why (%d %r)" % (field, r.status, p))
    check(srv.stop() == 0, "exit 0")
    srv = None
finally:
    if srv is not None:
        srv.stop(timeout=5)
    cleanup(root)
finish()
