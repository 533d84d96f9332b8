#!/usr/bin/python3
"""scittd over HTTP/2: every endpoint and status code of issue 6, with curl,
nghttp and a python3-h2 client; receipts checked by the independent verifier
(tests/tools/scitt_verify.py); checkpoint and tiles checked against C2SP."""
import base64
import hashlib
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import *  # noqa: E402,F403

root = tempdir()
try:
    iss = Issuer(root)
    stranger = Issuer(root)  # not in --issuer-keys
    srv = Server(root, args=["--issuer-keys", iss.keys_dir, "--max-statement-bytes", "4096",
                             "--register-wait-ms", "3000", "--max-pending", "1"]).start()
    B = srv.base
    issuer_pem = os.path.join(iss.keys_dir, "issuer.pem")

    r = curl(B + "/healthz")
    check(r.status == 200 and r.body == b"ok\n", "GET /healthz 200")

    # Keys: COSE_KeySet, and one COSE_Key by base64url kid.
    r = curl(B + "/.well-known/scitt-keys", headers=["accept: application/cbor"])
    check(r.status == 200 and r.header("content-type") == "application/cbor", "GET /.well-known/scitt-keys 200 cbor")
    log_pem = os.path.join(root, "log.pem")
    k = log_key_pem(r.body, log_pem)
    check(k[1] == 2 and k[-1] == 1 and k[3] == -7 and len(k[2]) == 32, "key set holds an ES256 P-256 key with kid")
    kid64 = base64.urlsafe_b64encode(k[2]).rstrip(b"=").decode()
    r = curl(B + "/.well-known/scitt-keys/" + kid64)
    check(r.status == 200 and cbor2.loads(r.body)[2] == k[2], "GET /.well-known/scitt-keys/{kid} 200 COSE_Key")
    r = curl(B + "/.well-known/scitt-keys/AAAA")
    p = r.problem()
    check(r.status == 404 and p and p[-1] == "No such key", "unknown kid: 404 No such key")

    # Empty log: a size-0 checkpoint that verifies.
    vkey = curl(B + "/checkpoint.vkey")
    check(vkey.status == 200 and vkey.body.count(b"+") >= 2, "GET /checkpoint.vkey")
    r = curl(B + "/checkpoint")
    origin, size, rt = verify_checkpoint(r.body, vkey.body.decode())
    check(r.header("content-type") == "text/plain; charset=utf-8" and origin == "localhost/scittd" and size == 0
          and rt == hashlib.sha256(b"").digest(), "empty log checkpoint verifies (size 0)")

    # Register: 201 + receipt + Location.
    st = iss.statement("first")
    r = curl(B + "/entries", "POST", ["content-type: application/cose"], st)
    eid = entry_id(st)
    check(r.status == 201 and r.header("location") == "/entries/" + eid, "POST /entries 201 with Location")
    check(r.header("content-type") == "application/cose", "receipt content type application/cose")
    ok, out = verify_receipt(root, st, r.body, log_pem, issuer_pem)
    check(ok, "receipt verifies independently " + out.strip())
    receipt1 = r.body
    r = curl(B + "/entries", "POST", ["content-type: application/scitt-statement+cose"], st)
    check(r.status == 201 and r.body == receipt1, "repeat POST: 201 with the same receipt")
    r = curl(B + "/entries/" + eid, headers=["accept: application/cose"])
    check(r.status == 200 and r.body == receipt1, "GET /entries/{id} 200 same receipt")
    r = curl(B + "/entries/" + eid, headers=["accept: application/scitt-receipt+cose"])
    check(r.status == 200 and r.header("content-type") == "application/scitt-receipt+cose",
          "Accept application/scitt-receipt+cose honoured")
    r = curl(B + "/entries/" + eid + "/statement")
    ts = cbor2.loads(r.body)
    check(r.status == 200 and ts.tag == 18 and ts.value[1] == {394: [receipt1]} and ts.value[2] == cbor2.loads(st).value[2],
          "GET /entries/{id}/statement: transparent statement with the receipt under 394")

    # nghttp as a second real client.
    out = subprocess.run(["nghttp", "-n", "-s", B + "/entries/" + eid], capture_output=True, text=True)
    check(out.returncode == 0, "nghttp GET /entries/{id}")
    nst = os.path.join(root, "n.cose")
    open(nst, "wb").write(iss.statement("via nghttp"))
    out = subprocess.run(["nghttp", "-v", "-n", "-d", nst, "-H", "content-type: application/cose", B + "/entries"],
                         capture_output=True, text=True)
    check(out.returncode == 0 and ":status: 201" in out.stdout, "nghttp POST /entries 201")

    # Errors, each with problem details that decode.
    def problem_case(resp, status, title, what):
        p = resp.problem()
        check(resp.status == status and p is not None and (title is None or p[-1] == title),
              "%s: %d %s (%r)" % (what, status, title, p))

    problem_case(curl(B + "/entries", "POST", ["content-type: application/json"], st), 415, "Unsupported Media Type",
                 "wrong content type")
    problem_case(curl(B + "/entries", "POST", [], st), 415, None, "no content type")
    problem_case(curl(B + "/entries", "POST", ["content-type: application/cose"], b"\x00" * 5000), 413,
                 "Content Too Large", "body over --max-statement-bytes (content-length)")
    h = H2(srv.port)  # no content-length: the limit is hit while reading
    resp = h.request("POST", "/entries", [("content-type", "application/cose")], b"\x00" * 9000)
    problem_case(resp, 413, "Content Too Large", "body over the limit without content-length")
    resp = h.request("GET", "/healthz")
    check(resp.status == 200, "connection still serves after an early 413")
    h.close()
    problem_case(curl(B + "/entries", "POST", ["content-type: application/cose"], b"\xa0"), 400, "Malformed request",
                 "garbage body")
    problem_case(curl(B + "/entries", "POST", ["content-type: application/cose"], stranger.statement()), 400,
                 "Rejected", "unknown issuer")
    problem_case(curl(B + "/entries/xyz"), 400, "Invalid locator", "bad entry id")
    problem_case(curl(B + "/entries/" + eid.upper()), 400, "Invalid locator", "uppercase entry id")
    problem_case(curl(B + "/entries/" + "0" * 64), 404, "Not Found", "unknown entry")
    problem_case(curl(B + "/entries/" + "0" * 64 + "/statement"), 404, "Not Found", "unknown entry statement")
    r = curl(B + "/entries", "DELETE")
    problem_case(r, 405, None, "DELETE /entries")
    check(r.header("allow") == "GET, HEAD, POST", "405 carries Allow: GET, HEAD, POST")
    r = curl(B + "/checkpoint", "POST", ["content-type: text/plain"], b"x")
    problem_case(r, 405, None, "POST /checkpoint")
    check(r.header("allow") == "GET", "405 carries Allow: GET")
    problem_case(curl(B + "/nothing/here"), 404, "Not Found", "unknown path")
    problem_case(curl(B + "/tile/0/001"), 404, "Not Found", "tile beyond the tree")
    problem_case(curl(B + "/tile/0/000.p/99"), 404, "Not Found", "partial tile wider than the tree")
    problem_case(curl(B + "/tile/0/0"), 404, "Not Found", "non-canonical tile path")
    problem_case(curl(B + "/healthz", headers=["x-big: " + "a" * 20000]), 431, None, "header list over the limit")

    # 202, then 204, then 200: hold LMDB's writer lock so the commit waits.
    lock = WriterLock(srv.data)
    st2 = iss.statement("slow")
    eid2 = entry_id(st2)
    t0 = time.time()
    r = curl(B + "/entries", "POST", ["content-type: application/cose"], st2)
    waited = time.time() - t0
    check(r.status == 202 and r.header("location") == "/entries/" + eid2 and r.header("retry-after") and not r.body,
          "POST while the commit waits: 202 + Location + Retry-After after %.1fs" % waited)
    check(2.5 < waited < 6, "202 came at --register-wait-ms")
    r = curl(B + "/entries/" + eid2)
    check(r.status == 204 and r.header("retry-after") and r.header("cache-control") == "no-store" and not r.body,
          "GET pending entry: 204 + Retry-After + no-store")
    # --max-pending 1 with one statement pending: the queue is full.
    r = curl(B + "/entries", "POST", ["content-type: application/cose"], iss.statement("full"))
    problem_case(r, 503, None, "queue full")
    check(r.header("retry-after") is not None, "503 carries Retry-After")
    lock.release()
    for _ in range(100):
        r = curl(B + "/entries/" + eid2)
        if r.status == 200:
            break
        time.sleep(0.05)
    check(r.status == 200, "after the commit: GET 200")
    ok, out = verify_receipt(root, st2, r.body, log_pem, issuer_pem)
    check(ok, "late receipt verifies " + out.strip())

    # Many registrations over one connection (python3-h2), then tiles.
    srv.stop()
    srv = Server(root, data=srv.data, args=["--issuer-keys", iss.keys_dir]).start()
    B = srv.base
    stmts = [iss.statement("bulk %d" % i) for i in range(300)]
    h = H2(srv.port)
    got = []
    for i in range(0, len(stmts), 50):
        sids = [h.send("POST", "/entries", [("content-type", "application/cose")], s) for s in stmts[i:i + 50]]
        got += h.wait(sids)
    h.close()
    check(all(x.status == 201 for x in got), "300 concurrent registrations: all 201")
    bad = 0
    for s, x in list(zip(stmts, got))[::37]:
        ok, out = verify_receipt(root, s, x.body, log_pem, issuer_pem)
        bad += not ok
    check(bad == 0, "sampled bulk receipts verify")

    vkey = curl(B + "/checkpoint.vkey").body.decode()
    cp = curl(B + "/checkpoint")
    check(cp.header("cache-control") == "public, max-age=1", "checkpoint has a short cache")
    origin, size, rt = verify_checkpoint(cp.body, vkey)
    check(size == 303, "checkpoint size 303 (got %d)" % size)

    def get(path):
        r = curl(B + path)
        assert r.status == 200, (path, r.status)
        return r.body

    leaves, entries, seen = fetch_tree(get, size)
    check(mth(leaves) == rt, "root recomputed from the tiles equals the checkpoint root")
    check(set(entries[3:]) == {bytes.fromhex(entry_id(s)) for s in stmts}, "entry bundles hold the entry hashes")
    r = curl(B + "/tile/0/000")
    check(r.header("cache-control") == "public, max-age=31536000, immutable"
          and r.header("content-type") == "application/octet-stream", "full tile: immutable cache headers")
    r = curl(B + "/tile/0/001.p/10")
    check(r.status == 200 and r.body == seen["tile/0/001.p/47"][:320], "smaller partial tile is a prefix")

    # A reader that takes its time: 8 KiB tiles are written in place from
    # the response bodies; with a tiny receive buffer the socket fills, the
    # rest is copied and queued, streams close and some are reset while
    # their bytes are still queued. Every body that completes is exact.
    # (Entry bundles are freed, not pooled, after use: under ASan a body
    # freed while its bytes still wait to be written is caught.)
    want = {p: get(p) for p in ["/tile/0/000", "/tile/entries/000"]}
    paths = list(want) * 45
    h = H2(srv.port, settings={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1 << 30}, rcvbuf=4096)
    h.conn.increment_flow_control_window(1 << 30)
    sids = [h.send("GET", p) for p in paths]
    time.sleep(0.5)
    for sid in sids[::9]:
        h.conn.reset_stream(sid)
        h.responses[sid]["done"] = True
    h.flush()
    got = h.wait(sids)
    whole = [(p, g) for p, sid, g in zip(paths, sids, got) if sid not in sids[::9]]
    check(all(g.status == 200 and g.body == want[p] for p, g in whole),
          "slow reader with resets: %d tiles and entry bundles byte-exact" % len(whole))
    h.close()
    check(curl(B + "/tile/0/000").body == want["/tile/0/000"], "served correctly after the slow reader")

    # Metrics.
    m = curl(B + "/metrics").body.decode()
    for name in ["scittd_registrations_total{result=\"created\"}", "scittd_queue_depth", "scittd_batch_size_bucket",
                 "scittd_commit_seconds_bucket", "scittd_registration_seconds_bucket", "scittd_tree_size 303"]:
        check(name in m, "metrics has " + name)
    # A 202 while the verify queue is backed up (given once the statement is
    # verified): its Location answers 204 (pending), never 404, until the
    # receipt is there. ES512 statements (~1 ms to verify) and one verify
    # thread build a backlog.
    check(srv.stop() == 0, "SIGTERM: exit 0")
    slow = Issuer(root, alg="ES512")
    srv = Server(root, data=srv.data, args=["--issuer-keys", slow.keys_dir, "--workers", "1",
                                            "--register-wait-ms", "1"]).start()
    B = srv.base
    stmts = [slow.statement("backlog %d" % i) for i in range(200)]
    h = H2(srv.port)
    locs, polls = [], []
    for i in range(0, len(stmts), 50):  # the server allows 100 concurrent streams
        got = h.wait([h.send("POST", "/entries", [("content-type", "application/cose")], st)
                      for st in stmts[i:i + 50]])
        batch = [x.headers.get("location") for x in got if x.status == 202]
        polls += h.wait([h.send("GET", loc) for loc in batch])  # while later ones still wait
        locs += batch
    h.close()
    check(len(locs) > 0 and all(x.status in (200, 204) for x in polls),
          "GET after 202 is 204 or 200, never 404 (%d x 202: %s)" % (len(locs), sorted({x.status for x in polls})))

    srv.stop()
finally:
    for s in list(globals().values()):
        if isinstance(s, Server):
            s.stop(timeout=5)
    cleanup(root)
finish()
