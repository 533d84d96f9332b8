"""`scitt witness` (issue 21): C2SP tlog-witness add-checkpoint over a real
scittd's growing checkpoints, with consistency proofs computed here from
the log's tiles. Every status the spec gives, over h2c and HTTP/1.1:

  first checkpoint, old 0                       -> 200, a valid cosignature/v1
  next checkpoint, old = last, good proof       -> 200
  same checkpoint again (old = its size)        -> 200
  stale old size                                -> 409, text/x.tlog.size, the size
  same size, another root                       -> 409
  bad proof / proof from 0 / size-0 wrong root  -> 422
  unknown origin                                -> 404
  unknown key / a known key's bad signature     -> 403
  old > checkpoint size, malformed bodies       -> 400
  another path / method                         -> 404 / 405

Then a restart keeps the state (409 for the stale old size it had before),
and two concurrent requests against the same old state: exactly one wins.
"""
import base64
import concurrent.futures
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import Issuer, Server, check, finish, scitt  # noqa: E402  (puts the harness on the path)
import harness  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ed25519  # noqa: E402
from witnesses import (Witness, checkpoint_size, consistency, cosig_ok, get, leaves_of, request,  # noqa: E402
                       sign_note, split_note)

def grow(srv, issuer, n, tag):
    r = scitt("register", "--url", srv.url, "--concurrency", "4", *issuer.statements(n, tag))
    assert r.returncode == 0, r.stderr
    note = get(srv.url + "/checkpoint")
    return note, checkpoint_size(note)


def main():
    tmp = harness.tempdir()
    issuer = Issuer(tmp)
    srv = Server(tmp, None, issuer.keys_dir)
    w = None
    try:
        vkey = get(srv.url + "/checkpoint.vkey").decode().strip()
        origin = vkey.split("+")[0]
        w = Witness(tmp, "witness.test/w1", [vkey]).start()
        check(w.vkey.startswith("witness.test/w1+") and oct(os.stat(w.key).st_mode & 0o777) == "0o600",
              "keygen prints the vkey line and writes the key 0600")

        # First contact: old 0, no proof.
        note1, n1 = grow(srv, issuer, 5, "a")
        r = w.add(request(0, [], note1))
        body1, _ = split_note(note1)
        lines = r.body.decode().splitlines()
        check(r.status == 200 and len(lines) == 1 and cosig_ok(lines[0], body1, w.vkey),
              "old 0: 200 with a cosignature/v1 line that verifies (size %d)" % n1)

        # A grown checkpoint with a good proof, over HTTP/1.1.
        note2, n2 = grow(srv, issuer, 7, "b")
        leaves2 = leaves_of(srv.url, n2)
        r = w.add(request(n1, consistency(n1, leaves2), note2), http1=True)
        check(r.status == 200 and cosig_ok(r.body.decode().strip(), split_note(note2)[0], w.vkey),
              "HTTP/1.1: old %d -> %d with a proof from the tiles: 200" % (n1, n2))
        r = w.add(request(n2, [], note2))
        check(r.status == 200, "the same checkpoint again (old = its size): 200")

        # Stale old size: 409 with the recorded size, over both protocols.
        for http1 in (False, True):
            r = w.add(request(n1, consistency(n1, leaves2), note2), http1=http1)
            check(r.status == 409 and r.header("content-type") == "text/x.tlog.size" and r.body == b"%d\n" % n2,
                  "stale old size (%s): 409 text/x.tlog.size %r" % ("HTTP/1.1" if http1 else "h2c", r.body))

        # A bad proof, an empty one, and a proof from 0 to a non-zero size.
        note3, n3 = grow(srv, issuer, 6, "c")
        proof3 = consistency(n2, leaves_of(srv.url, n3))
        bad = [proof3[0][:5] + bytes([proof3[0][5] ^ 1]) + proof3[0][6:]] + proof3[1:]
        check(w.add(request(n2, bad, note3)).status == 422, "a proof with one flipped bit: 422")
        check(w.add(request(n2, [], note3)).status == 422, "no proof for a grown tree: 422")
        check(w.add(request(n2, proof3, note3)).status == 200, "the right proof: 200")

        # Same size, another root, signed by the log's key: only scittd holds
        # that key, so sign with it through a forked copy of its data folder.
        log_key = load_log_key(srv.data)
        forked = b"%s\n%d\n%s\n" % (origin.encode(), n3, base64.b64encode(b"\x07" * 32))
        r = w.add(request(n3, [], sign_note(forked, origin, log_key)))
        check(r.status == 409 and r.body == b"%d\n" % n3,
              "same size as recorded, another root (signed by the log's key): 409")
        empty_other = b"%s\n0\n%s\n" % (origin.encode(), base64.b64encode(b"\x01" * 32))
        check(w.add(request(0, [], sign_note(empty_other, origin, log_key))).status == 409,
              "old 0 after cosigning more: 409, whatever else is wrong")

        # Unknown origin; an unknown key; a known key's bad signature.
        other = ed25519.Ed25519PrivateKey.generate()
        r = w.add(request(0, [], sign_note(b"other.example/log\n1\n%s\n" % base64.b64encode(b"\x00" * 32),
                                           "other.example/log", other)))
        check(r.status == 404 and r.problem() is not None, "unknown origin: 404 with problem details")
        r = w.add(request(n3, [], sign_note(split_note(note3)[0], origin, other)))
        check(r.status == 403, "the log's origin signed by another key: 403")
        sig_at = note3.rindex(b" ") + 10
        broken = note3[:sig_at] + (b"A" if note3[sig_at:sig_at + 1] != b"A" else b"B") + note3[sig_at + 1:]
        check(w.add(request(n3, [], broken)).status == 403, "a known key's signature that fails: 403")

        # 400s.
        check(w.add(request(n3 + 1, [], note3)).status == 400, "old size above the checkpoint's: 400")
        for what, body in [("no old line", note3), ("old with a leading zero", b"old 01\n\n" + note3),
                           ("no blank line", b"old 0\n" + note3[:note3.index(b"\n\n")]),
                           ("a proof line that is not a hash", b"old 0\nAAAA\n\n" + note3),
                           ("64 proof lines", b"old 0\n" + (base64.b64encode(b"\x00" * 32) + b"\n") * 64 + b"\n"
                            + note3),
                           ("no checkpoint", b"old 0\n\n"), ("empty", b"")]:
            check(w.add(body).status == 400, "malformed (%s): 400" % what)
        r = harness.curl(w.url + "/checkpoint")
        check(r.status == 404, "GET /checkpoint on a witness: 404")
        r = harness.curl(w.url + "/add-checkpoint")
        check(r.status == 405, "GET /add-checkpoint: 405")
        check(harness.curl(w.url + "/healthz").status == 200, "GET /healthz: 200")

        # A restart keeps the state.
        check(w.stop() == 0, "the witness stops cleanly on SIGTERM")
        w.start()
        r = w.add(request(n2, proof3, note3))
        check(r.status == 409 and r.body == b"%d\n" % n3, "after a restart a stale old size still gets 409 %r" % r.body)

        # Two requests against the same old state at once: one 200, one 409.
        note4, n4 = grow(srv, issuer, 3, "d")
        body4 = request(n3, consistency(n3, leaves_of(srv.url, n4)), note4)
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            statuses = sorted(f.result().status for f in [ex.submit(w.add, body4, i % 2 == 1) for i in range(8)])
        check(statuses.count(200) == 1 and statuses.count(409) == 7,
              "8 concurrent requests from the same old size: one 200, seven 409 (%s)" % statuses)
    finally:
        if w is not None:
            w.stop()
        srv.stop()
        harness.cleanup(tmp)
    finish()


def load_log_key(data):
    """scittd's checkpoint key (PEM in its data folder): a fork signed by the
    right key, as a compromised or misbehaving log would make."""
    return serialization.load_pem_private_key(open(os.path.join(data, "checkpoint-ed25519.key"), "rb").read(), None)


if __name__ == "__main__":
    main()
