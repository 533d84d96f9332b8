#!/usr/bin/python3
"""GET /entries?... (issue 10) against a real scittd: statements from several
issuers, keys and subjects (attached payloads and RFC 9995 hash envelopes,
made with `scitt sign`) registered over several batches; then every filter
and combinations, since/until, pagination with limit 2 across batches, CBOR
and JSON answers decoded with cbor2 / json, HEAD, and 400s for bad
parameters. Expected results are computed here from the statements
themselves (cbor2), not from scittd's encoder."""
import base64
import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import *  # noqa: E402,F403

SCITT = os.environ.get("SCITT", "build-release/tools/scitt/scitt")


def run_scitt(*args):
    r = subprocess.run([SCITT, *args], capture_output=True)
    assert r.returncode == 0, r.stderr
    return r


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def fields(stmt):
    """What the listing must say about a statement, from its protected header."""
    item = cbor2.loads(stmt)
    arr = item.value if isinstance(item, cbor2.CBORTag) else item
    prot = cbor2.loads(arr[0])
    cwt = prot.get(15, {})
    f = {"id": entry_id(stmt), "iss": cwt.get(1), "sub": cwt.get(2), "kid": prot.get(4)}
    if 258 in prot:  # hash envelope: the payload is the digest
        f["artifact"] = arr[2]
        f["content_type"] = prot.get(259)
    else:
        f["artifact"] = hashlib.sha256(arr[2]).digest()
        f["content_type"] = prot.get(3)
    return f


root = tempdir()
try:
    keys_dir = os.path.join(root, "issuer-keys")
    os.makedirs(keys_dir)
    key = {}
    for name in ("a", "b"):
        key[name] = os.path.join(root, name + ".pem")
        run_scitt("keygen", "--out", key[name])
        shutil.copy(os.path.join(root, name + ".pub.pem"), keys_dir)
    shared = os.path.join(root, "shared.bin")
    with open(shared, "wb") as f:
        f.write(b"one artifact, two statements\n")

    weird_iss = 'https://c.example/x y+z&=%\u00e9"\\\x01'
    n = [0]

    def sign(k, iss, sub, payload=None, extra=()):
        n[0] += 1
        if payload is None:
            payload = os.path.join(root, "p%d" % n[0])
            with open(payload, "w") as f:
                f.write("payload %d\n" % n[0])
        out = os.path.join(root, "s%d.cose" % n[0])
        run_scitt("sign", "--key", key[k], "--iss", iss, "--sub", sub, "--out", out, *extra, payload)
        return open(out, "rb").read()

    # Two groups a second apart (registration times differ); each POST is
    # answered before the next goes out, so each entry is its own batch.
    group1 = [sign("a", "https://a.example", "pkg:x", extra=["--content-type", "text/plain"]),
              sign("a", "https://a.example", "pkg:y"),
              sign("b", "https://b.example", "pkg:x", shared, ["--hash-envelope", "--content-type", "application/json"]),
              sign("a", "https://b.example", "pkg:y"),
              sign("a", "https://a.example", "pkg:x", shared)]
    group2 = [sign("b", "https://b.example", "pkg:y"),
              sign("b", weird_iss, "pkg:x"),
              sign("a", "https://a.example", "pkg:x"),
              sign("b", "https://b.example", "pkg:x", extra=["--content-type", "text/plain"])]

    srv = Server(root, args=["--issuer-keys", keys_dir]).start()
    B = srv.base

    def register(stmts):
        for s in stmts:
            r = curl(B + "/entries", "POST", ["content-type: application/cose"], s)
            assert r.status == 201, (r.status, r.problem())

    register(group1)
    time.sleep(1.2)
    register(group2)
    expected = [fields(s) for s in group1 + group2]  # registration order = leaf order

    def query(params, accept="application/cbor"):
        qs = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
        r = curl(B + "/entries" + ("?" + qs if qs else ""), headers=["accept: " + accept])
        return r

    def listing(params, accept="application/cbor"):
        r = query(params, accept)
        assert r.status == 200, (params, r.status, r.problem())
        if accept == "application/json":
            assert r.header("content-type") == "application/json"
            return json.loads(r.body)
        assert r.header("content-type") == "application/cbor"
        return cbor2.loads(r.body)

    def all_pages(params, limit):
        """Follow next until it is absent; returns the entries and page count."""
        out, cursor, pages = [], None, 0
        while True:
            p = dict(params, limit=limit)
            if cursor:
                p["cursor"] = cursor
            page = listing(p)
            pages += 1
            assert len(page["entries"]) <= limit
            out += page["entries"]
            cursor = page.get("next")
            if cursor is None:
                return out, pages
            assert pages < 100

    # Every entry, oldest first, with the right fields.
    full = listing({})
    entries = full["entries"]
    check("next" not in full and len(entries) == len(expected), "no filter lists every entry, no next")
    check([e["index"] for e in entries] == list(range(len(expected))), "oldest first, leaf indexes 0..n-1")
    ok = True
    for e, x in zip(entries, expected):
        ok &= e["id"] == bytes.fromhex(x["id"]) and e.get("iss") == x["iss"] and e.get("sub") == x["sub"]
        ok &= e.get("kid") == x["kid"] and e.get("content_type") == x["content_type"]
        ok &= set(e) <= {"id", "index", "time", "iss", "sub", "kid", "content_type"}
    check(ok, "each entry's id, iss, sub, kid and content type match the statement")
    times = [e["time"] for e in entries]
    check(times == sorted(times) and abs(times[0] - time.time()) < 120, "registration times ascend and are now")
    check(times[len(group1)] > times[len(group1) - 1], "the second group was registered later")
    enc = cbor2.dumps(full, canonical=True)
    check(enc == query({}).body, "the CBOR answer is deterministic (cbor2 canonical re-encoding is identical)")

    # JSON: same content, hex ids, kids in unpadded base64url (issue 15),
    # escaped text.
    js = listing({}, "application/json")
    ok = len(js["entries"]) == len(entries) and "next" not in js
    for j, e in zip(js["entries"], entries):
        ok &= j["id"] == e["id"].hex() and j["index"] == e["index"] and j["time"] == e["time"]
        ok &= j.get("iss") == e.get("iss") and j.get("sub") == e.get("sub") and j.get("kid") == b64url(e["kid"])
        ok &= j.get("content_type") == e.get("content_type")
    check(ok, "JSON answer matches CBOR (hex ids, base64url kids, escaped iss)")

    # Accept: a list element naming application/json exactly, without q=0.
    for accept, want in [("application/json", "application/json"),
                         ("text/html, APPLICATION/JSON ; q=0.5", "application/json"),
                         ("application/json;q=0, application/cbor", "application/cbor"),
                         ("application/json; q=0.000", "application/cbor"),
                         ("application/json-seq", "application/cbor"),
                         ("application/jsonx;q=1", "application/cbor")]:
        r = query({"limit": 1}, accept)
        check(r.status == 200 and r.header("content-type") == want, "Accept %r selects %s (got %s)"
              % (accept, want, r.header("content-type")))

    # Each filter, and combinations, against the expectation.
    kid_a, kid_b = expected[0]["kid"], expected[2]["kid"]
    art = expected[2]["artifact"]
    cases = [
        ({"iss": "https://a.example"}, lambda x: x["iss"] == "https://a.example"),
        ({"iss": "https://b.example"}, lambda x: x["iss"] == "https://b.example"),
        ({"iss": weird_iss}, lambda x: x["iss"] == weird_iss),
        ({"sub": "pkg:x"}, lambda x: x["sub"] == "pkg:x"),
        ({"kid": b64url(kid_a)}, lambda x: x["kid"] == kid_a),
        ({"kid": kid_b.hex().upper()}, lambda x: x["kid"] == kid_b),
        ({"artifact": art.hex()}, lambda x: x["artifact"] == art),
        ({"artifact": expected[1]["artifact"].hex()}, lambda x: x["artifact"] == expected[1]["artifact"]),
        ({"iss": "https://b.example", "kid": b64url(kid_a)}, lambda x: x["iss"] == "https://b.example" and x["kid"] == kid_a),
        ({"iss": "https://a.example", "sub": "pkg:x"}, lambda x: x["iss"] == "https://a.example" and x["sub"] == "pkg:x"),
        ({"sub": "pkg:x", "kid": b64url(kid_b), "artifact": art.hex()},
         lambda x: x["sub"] == "pkg:x" and x["kid"] == kid_b and x["artifact"] == art),
        ({"iss": "https://a.example", "sub": "pkg:x", "kid": b64url(kid_a), "artifact": art.hex()},
         lambda x: x["iss"] == "https://a.example" and x["sub"] == "pkg:x" and x["artifact"] == art),
        ({"iss": "https://nobody.example"}, lambda x: False),
        ({"iss": "https://a.exampl"}, lambda x: False),  # a prefix is not a match
        ({"kid": "AA"}, lambda x: False),
    ]
    for params, pred in cases:
        want = [i for i, x in enumerate(expected) if pred(x)]
        got = [e["index"] for e in listing(params)["entries"]]
        check(got == want, "filter %s: %s (want %s)" % (sorted(params), got, want))
        paged, _ = all_pages(params, 2)
        check([e["index"] for e in paged] == want, "filter %s paged by 2" % sorted(params))

    # since (inclusive) / until (exclusive), unix and RFC 3339 forms.
    t2 = times[len(group1)]
    rfc = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t2))
    later = [e["index"] for e in entries if e["time"] >= t2]
    earlier = [e["index"] for e in entries if e["time"] < t2]
    check([e["index"] for e in listing({"since": t2})["entries"]] == later, "since=unix is inclusive")
    check([e["index"] for e in listing({"since": rfc})["entries"]] == later, "since=RFC 3339 same as unix")
    check([e["index"] for e in listing({"until": rfc})["entries"]] == earlier, "until is exclusive")
    check(listing({"since": t2, "until": t2})["entries"] == [], "since == until: empty")
    check(listing({"until": 0})["entries"] == [], "until=0: nothing")
    check([e["index"] for e in listing({"since": t2, "sub": "pkg:x"})["entries"]] ==
          [i for i in later if expected[i]["sub"] == "pkg:x"], "since combined with sub")

    # Pagination: limit 2 across batches, no duplicates, oldest first.
    paged, pages = all_pages({}, 2)
    idx = [e["index"] for e in paged]
    check(idx == list(range(len(expected))) and pages == (len(expected) + 1) // 2,
          "limit=2 pages through every entry once, in order (%d pages)" % pages)
    check(listing({"limit": 1000})["entries"] == entries, "limit=1000 is allowed")
    first = listing({"limit": 3})
    check(len(first["entries"]) == 3 and isinstance(first.get("next"), str), "a full page carries next")
    r = query({"limit": 3}, "application/json")
    check(json.loads(r.body)["next"] == first["next"], "JSON carries the same next")

    # HEAD, POST still registers, other methods 405.
    r = curl(B + "/entries?limit=1", "HEAD", extra=["-I"])
    check(r.status == 200 and r.header("content-type") == "application/cbor", "HEAD /entries 200")
    r = curl(B + "/entries", "PUT", ["content-type: application/cose"], b"x")
    check(r.status == 405 and "GET" in (r.header("allow") or "") and "POST" in r.header("allow"), "PUT /entries 405")

    # Bad parameters: 400 problem details naming the parameter.
    bad = [("foo=1", "foo"), ("iss=a&iss=a", "iss"), ("iss=", "iss"), ("sub", "sub"), ("iss=%zz", "iss"),
           ("iss=%C3", "iss"), ("kid=xyz", "kid"), ("kid=" + "00" * 65, "kid"), ("artifact=0011", "artifact"),
           ("since=yesterday", "since"), ("until=2023-02-29T00:00:00Z", "until"), ("limit=0", "limit"),
           ("limit=1001", "limit"), ("limit=abc", "limit"), ("cursor=AAAA", "cursor"),
           ("cursor=AgAAAAAAAAAF", "cursor"), ("since=10&until=5", "since"), ("iss=a&", "empty")]
    for qs, word in bad:
        r = curl(B + "/entries?" + qs)
        p = r.problem()
        check(r.status == 400 and p and p[-1] == "Bad Request" and word in p[-2],
              "400 for %s (%s)" % (qs[:40], p and p[-2]))
    # The front end keeps 1024 bytes of path, so the 1024-byte text bound is
    # reached first there: 414 (the parser's own bound is unit-tested).
    r = curl(B + "/entries?iss=" + "a" * 1100)
    check(r.status == 414, "a query past the path limit is refused (%d)" % r.status)
    check(srv.alive(), "scittd survived every bad query")

    # Entries too big to list 100 in one answer (a content type of 120 kB
    # of control bytes: 720 kB each in JSON, past the 8 MiB bound in 12):
    # the page ends early with next rather than failing, so every entry
    # can still be listed. (iss and sub are capped at 320 bytes.)
    time.sleep(1.1)
    big = "\x01" * 120000
    register([sign("a", "https://a.example", "pkg:big", extra=["--content-type", big]) for _ in range(13)])
    total = len(expected) + 13
    got, cursor, pages, ok = [], None, 0, True
    while pages < 20:
        r = query(dict({"cursor": cursor} if cursor else {}), "application/json")
        pages += 1
        if r.status != 200:
            ok = False
            break
        page = json.loads(r.body)
        got += [e["index"] for e in page["entries"]]
        ok &= len(page["entries"]) > 0 and len(r.body) <= 8 << 20
        cursor = page.get("next")
        if cursor is None:
            break
    check(ok and got == list(range(total)), "huge entries: JSON pages end early with next, every entry listed "
          "once (%d pages, status %d, %d of %d)" % (pages, r.status, len(got), total))
    check(listing({"since": times[-1] + 1}, "application/json")["entries"] != [], "huge entries listed by since")
    srv.stop()
finally:
    cleanup(root)
finish()
