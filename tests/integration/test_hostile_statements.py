#!/usr/bin/python3
"""Signed statements a log must refuse, and the 202 promise (issue 16 A, C,
D, E), against a real scittd:

- a trusted issuer's statement with receipts (394) in its protected header,
  text that is not UTF-8, or a repeated key in a nested map is answered 400
  with a reason and never logged (each was 201 before: a mirror could not
  take such an entry back, or a strict CBOR reader would refuse it);
- a statement whose signature fails gets its 4xx and reason even when the
  verify queue is slower than --register-wait-ms: 202 is given only after the
  policy passed, so a Location never leads to "not registered".
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import *  # noqa: E402,F403

COSE = ["content-type: application/cose"]


def signed(issuer, iss_hex=None, extra_hex=None):
    """A statement of `issuer` with iss bytes and extra protected entries."""
    issuer.n += 1
    out = os.path.join(issuer.dir, "hostile%d.cose" % issuer.n)
    env = dict(issuer.env or os.environ)
    if iss_hex:
        env["SCITT_TEST_ISS_HEX"] = iss_hex
    if extra_hex:
        env["SCITT_TEST_PROTECTED_EXTRA"] = extra_hex
    subprocess.run([MAKE_STATEMENT, issuer.dir, out, "hostile %d" % issuer.n], check=True, env=env)
    return open(out, "rb").read()


def tree_size(srv):
    vkey = curl(srv.base + "/checkpoint.vkey").body.decode().strip()
    return verify_checkpoint(curl(srv.base + "/checkpoint").body, vkey)[1]


def hostile_headers(root):
    issuer = Issuer(root)
    srv = Server(root, args=["--issuer-keys", issuer.keys_dir]).start()
    try:
        iss = "https://iss.example/".encode().hex()
        cases = [
            ("receipts (394) in the protected header", None, "a119018a81414e", "394"),
            ("iss with bytes ff fe", iss + "fffe", None, "UTF-8"),
            ("iss with an overlong '/' (c0 af)", iss + "c0af", None, "UTF-8"),
            ("iss with a surrogate (ed a0 80)", iss + "eda080", None, "UTF-8"),
            ("a text string that is not UTF-8 inside a nested array", None, "a13a0001116f82616161ff", "UTF-8"),
            ("a repeated key in a nested map", None, "a13a0001116fa201010102", "duplicate"),
            ("a repeated key two maps deep", None, "a13a0001116f81a1616ba2000000f5", "duplicate"),
        ]
        for what, iss_hex, extra_hex, why in cases:
            r = curl(srv.base + "/entries", "POST", COSE, signed(issuer, iss_hex, extra_hex))
            p = r.problem()
            check(r.status == 400 and p is not None and p[-1] == "Malformed request" and why in p[-2],
                  "%s: 400 Malformed request naming %s (got %d %s)" % (what, why, r.status, p and p[-2]))
        # The well-formed counterpart of the nested cases is logged.
        r = curl(srv.base + "/entries", "POST", COSE,
                 signed(issuer, None, "a13a0001116fa30169636166c3a920e298950281a2616101616202f93c0003"))
        check(r.status == 201, "UTF-8 text and distinct keys in nested maps: 201 (got %d)" % r.status)
        check(tree_size(srv) == 1, "only the well-formed statement was logged")
    finally:
        srv.stop()


def no_promise_before_verification(root):
    # ES512 (~1 ms to verify) and one verify thread build a backlog far
    # longer than --register-wait-ms 1; a forged statement waits at its end.
    issuer = Issuer(root, alg="ES512")
    srv = Server(root, data=os.path.join(root, "data-c"),
                 args=["--issuer-keys", issuer.keys_dir, "--workers", "1", "--register-wait-ms", "1"]).start()
    try:
        good = [issuer.statement("backlog %d" % i) for i in range(60)]
        forged = bytearray(issuer.statement("forged"))
        forged[-1] ^= 1  # the last byte of the signature
        h = H2(srv.port)
        sids = [h.send("POST", "/entries", [("content-type", "application/cose")], s) for s in good]
        bad_sid = h.send("POST", "/entries", [("content-type", "application/cose")], bytes(forged))
        got = h.wait(sids + [bad_sid], timeout=120)
        bad = got[-1]
        p = bad.problem()
        check(bad.status == 400 and p is not None and p[-1] == "Rejected" and "signature" in p[-2],
              "a forged statement behind a backlog: 400 Rejected with its reason (got %s %s, location %s)"
              % (bad.status, p and p[-2], bad.header("location")))
        accepted = [x for x in got[:-1] if x.status == 202]
        check(all(x.status in (201, 202) for x in got[:-1]),
              "the backlog: 201 or 202 (%d x 202)" % len(accepted))
        polls = h.wait([h.send("GET", x.header("location")) for x in accepted])
        check(all(x.status in (200, 204) for x in polls),
              "every 202 Location answers 204 or 200: %s" % sorted({x.status for x in polls}))
        h.close()
    finally:
        srv.stop()


def main():
    root = tempdir()
    try:
        hostile_headers(root)
        no_promise_before_verification(root)
    finally:
        cleanup(root)
    finish()


if __name__ == "__main__":
    main()
