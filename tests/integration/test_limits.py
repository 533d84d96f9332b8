#!/usr/bin/python3
"""Two answers at the edge of the service's limits (issue 15, item 10):

- out of memory while taking a statement in is not a full queue: a failing
  malloc (tests/integration/failmalloc.c, LD_PRELOAD into scittd) hits the
  copy of one request body; the answer is 503 "out of memory" with
  Retry-After, counted as result="error", not as "full", and the next
  statement registers;
- an audit entry whose answer alone is over the 8 MiB page bound (a 1.5 MB
  content type of control bytes is 9 MB as escaped JSON; iss and sub are
  capped at 320 bytes) is still listed, alone on
  its page, instead of 500.
"""
import json
import os
import re
import subprocess
import tempfile

import cbor2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from harness import Issuer, Server, check, curl, finish

FAILMALLOC = os.environ["SCITT_FAILMALLOC"]
SCITT = os.environ["SCITT"]


def metric(base, result):
    m = re.search(r'scittd_registrations_total\{result="%s"\} (\d+)' % result, curl(base + "/metrics").body.decode())
    return int(m.group(1)) if m else None


def out_of_memory(root):
    issuer = Issuer(root)
    big = issuer.statement("x" * 100000)  # one body of a size no other buffer has
    small = issuer.statement("after")
    env = dict(os.environ, LD_PRELOAD=FAILMALLOC, SCITT_FAILMALLOC_MIN=str(len(big) + 1),
               SCITT_FAILMALLOC_MAX=str(len(big) + 4096))
    # The sanitizers' runtime wants to be first; failmalloc forwards to it.
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        srv = Server(root, args=["--issuer-keys", issuer.keys_dir]).start()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    try:
        B = srv.base
        r = curl(B + "/entries", "POST", ["content-type: application/cose"], big)
        p = r.problem()
        check(r.status == 503 and p is not None and p.get(-2) == "out of memory" and r.header("retry-after"),
              "out of memory at submission: 503 out of memory with Retry-After (%d %r)" % (r.status, p))
        check(metric(B, "error") == 1 and metric(B, "full") == 0,
              "counted as an error, not as full (error=%s full=%s)" % (metric(B, "error"), metric(B, "full")))
        r = curl(B + "/entries", "POST", ["content-type: application/cose"], small)
        check(r.status == 201, "the next statement registers (%d)" % r.status)
    finally:
        srv.stop()


def resign_with_content_type(path, key_pem, content_type):
    """The statement at `path` with its content type replaced, signed again (ES256)."""
    tag = cbor2.loads(open(path, "rb").read())
    protected = cbor2.loads(tag.value[0])
    protected[3] = content_type
    body = cbor2.dumps(protected)
    key = serialization.load_pem_private_key(open(key_pem, "rb").read(), None)
    der = key.sign(cbor2.dumps(["Signature1", body, b"", tag.value[2]]), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return cbor2.dumps(cbor2.CBORTag(18, [body, {}, tag.value[2], r.to_bytes(32, "big") + s.to_bytes(32, "big")]))


def huge_audit_entry(root):
    keys = os.path.join(root, "keys")
    os.makedirs(keys)
    key = os.path.join(root, "owner.pem")
    subprocess.run([SCITT, "keygen", "--out", key], check=True, capture_output=True)
    os.rename(os.path.join(root, "owner.pub.pem"), os.path.join(keys, "owner.pub.pem"))
    payload = os.path.join(root, "payload")
    open(payload, "w").write("big\n")
    stmts = []
    for i, sub in enumerate(["pkg:small-1", "x", "pkg:small-2"]):
        out = os.path.join(root, "s%d.cose" % i)
        subprocess.run([SCITT, "sign", "--key", key, "--iss", "https://big.example", "--sub", sub, "--out", out,
                        payload], check=True, capture_output=True)
        stmts.append(open(out, "rb").read() if sub != "x" else resign_with_content_type(out, key, "\x01" * 1500000))
    srv = Server(root, args=["--issuer-keys", keys, "--max-statement-bytes", str(4 << 20)]).start()
    try:
        B = srv.base
        for st in stmts:
            r = curl(B + "/entries", "POST", ["content-type: application/cose"], st)
            check(r.status == 201, "registered a %d-byte statement (%d)" % (len(st), r.status))
        types, cursor, pages, statuses = [], None, 0, []
        while pages < 10:
            q = "/entries?iss=https%3A%2F%2Fbig.example" + ("&cursor=" + cursor if cursor else "")
            r = curl(B + q, headers=["accept: application/json"])
            statuses.append(r.status)
            if r.status != 200:
                break
            page = json.loads(r.body)
            types += [e.get("content_type", "") for e in page["entries"]]
            pages += 1
            cursor = page.get("next")
            if cursor is None:
                break
        check(statuses and all(s == 200 for s in statuses), "every page answers 200 (%s)" % statuses)
        check(len(types) == 3 and types[1] == "\x01" * 1500000 and types[0] == types[2] != types[1],
              "all three entries are listed, the 9 MB one alone on its page (%s)" % [len(t) for t in types])
    finally:
        srv.stop()


def main():
    with tempfile.TemporaryDirectory() as root:
        out_of_memory(root)
    with tempfile.TemporaryDirectory() as root:
        huge_audit_entry(root)
    finish()


main()
