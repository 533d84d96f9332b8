#!/usr/bin/python3
"""HTTP/1.1 on scittd's one listener (issue 19): curl's default, Python's
urllib and http.client (a body over the limit gets its 413, not a reset),
httpx with its defaults,
keep-alive, chunked POST, pipelining (more requests
than the bound, answered in order), HEAD, `curl --http2` (the h2c Upgrade is
answered over HTTP/1.1), absolute-form targets, the metrics' protocol label;
HTTP/2 with prior knowledge still works on the same port. Then every raw
request of tests/data/bad-http1 gets an HTTP/1.1 error response with the
status its name starts with, and the connection closes; slow headers and a
slow body get 408 and a close."""
import glob
import http.client
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import *  # noqa: E402,F403

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "bad-http1")
COSE = "application/cose"


def exchange(port, raw, timeout=10.0, pause_after=None):
    """Send `raw` on a new connection; return (every byte received until the
    server closed or `timeout` passed, whether it closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(raw)
        except OSError:
            pass  # the server may answer and close before reading it all
        out = b""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return out, False
            except OSError:  # reset after its answer
                return out, True
            if not chunk:
                return out, True
            out += chunk
        return out, False
    finally:
        s.close()


def responses(data, head_first=False):
    """The HTTP/1.1 responses in `data`, as (status, headers, body); a
    response that does not start with an HTTP/1.1 status line ends the
    list with status None. `head_first`: the first answers a HEAD."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        if not sep or not re.match(rb"HTTP/1\.1 \d\d\d ", lines[0] + b" "):
            out.append((None, {}, data))
            break
        status = int(lines[0].split()[1])
        hdrs = {}
        for ln in lines[1:]:
            k, _, v = ln.decode("latin-1").partition(":")
            hdrs[k.strip().lower()] = v.strip()
        n = 0 if (head_first and not out) or status in (100, 204, 304) else int(hdrs.get("content-length", "0"))
        out.append((status, hdrs, rest[:n]))
        data = rest[n:]
    return out


def curl1(url, *args):
    """curl with its defaults (HTTP/1.1 for http://): (code, version, body)."""
    with tempfile.NamedTemporaryFile() as body:
        p = subprocess.run(["curl", "-s", "-S", "--max-time", "30", "-o", body.name, "-w",
                            "%{http_code} %{http_version}"] + list(args) + [url],
                           capture_output=True, text=True)
        code, _, version = p.stdout.partition(" ")
        return int(code or 0), version, open(body.name, "rb").read()


def metric(base, name):
    r = urllib.request.urlopen(base + "/metrics", timeout=30).read().decode()
    m = re.search(r"^" + re.escape(name) + r" (\d+)$", r, re.M)
    return int(m.group(1)) if m else None


root = tempdir()
servers = []
try:
    iss = Issuer(root)
    srv = Server(root, args=["--issuer-keys", iss.keys_dir, "--max-statement-bytes", "8192",
                             "--max-header-bytes", "4096", "--register-wait-ms", "5000"]).start()
    servers.append(srv)
    B, port = srv.base, srv.port

    # -- curl with its defaults --------------------------------------------
    code, ver, body = curl1(B + "/checkpoint")
    check(code == 200 and ver == "1.1" and b"localhost/scittd" in body, "curl default: GET /checkpoint 200 over HTTP/1.1")
    st = iss.statement("over http/1.1 " + "p" * 3000)  # over 1 KiB: curl sends Expect: 100-continue
    sf = os.path.join(root, "st.cose")
    open(sf, "wb").write(st)
    code, ver, receipt = curl1(B + "/entries", "-H", "content-type: " + COSE, "--data-binary", "@" + sf)
    check(code == 201 and ver == "1.1" and len(receipt) > 0, "curl default: POST /entries 201 (after 100 Continue)")
    eid = entry_id(st)
    code, ver, body = curl1(B + "/entries/" + eid)
    check(code == 200 and body == receipt, "curl default: GET /entries/{id} 200, the receipt")
    code, ver, body = curl1(B + "/entries/" + eid + "/statement")
    check(code == 200 and len(body) > len(st), "curl default: GET /entries/{id}/statement 200")
    code, ver, body = curl1(B + "/" + tile_path(0, 0, 1))
    check(code == 200 and len(body) == 32, "curl default: GET a level-0 tile (32 bytes)")
    code, ver, body = curl1(B + "/" + tile_path(0, 0, 1, entries=True))
    check(code == 200 and len(body) > 0, "curl default: GET an entry bundle")
    code, ver, body = curl1(B + "/checkpoint", "--http2")
    check(code == 200 and ver == "1.1" and b"localhost/scittd" in body,
          "curl --http2 over http://: the h2c Upgrade is answered over HTTP/1.1 (%d %s)" % (code, ver))
    code, ver, body = curl1(B + "/checkpoint", "--http2-prior-knowledge")
    check(code == 200 and ver == "2", "HTTP/2 with prior knowledge on the same port")
    p = subprocess.run(["curl", "-s", "-I", B + "/checkpoint.vkey"], capture_output=True, text=True)
    vkey = urllib.request.urlopen(B + "/checkpoint.vkey", timeout=30).read()
    check(p.stdout.startswith("HTTP/1.1 200") and ("content-length: %d" % len(vkey)) in p.stdout,
          "curl -I: HEAD has the GET's content-length")

    # -- Python's standard library -----------------------------------------
    r = urllib.request.urlopen(B + "/checkpoint", timeout=30)
    check(r.status == 200 and r.read().startswith(b"localhost/scittd\n"), "urllib: GET /checkpoint 200")
    st2 = iss.statement("urllib")
    req = urllib.request.Request(B + "/entries", data=st2, headers={"Content-Type": COSE}, method="POST")
    r = urllib.request.urlopen(req, timeout=30)
    rec2 = r.read()
    check(r.status == 201 and r.headers["Location"] == "/entries/" + entry_id(st2), "urllib: POST /entries 201")
    r = urllib.request.urlopen(B + "/entries/" + entry_id(st2), timeout=30)
    check(r.status == 200 and r.read() == rec2, "urllib: GET /entries/{id} 200")
    try:
        urllib.request.urlopen(B + "/entries/" + "0" * 64, timeout=30)
        check(False, "urllib: unknown entry 404")
    except urllib.error.HTTPError as e:
        check(e.code == 404 and e.headers["Content-Type"] == PROBLEM, "urllib: unknown entry 404 with problem details")

    # httpx with its default settings (HTTP/1.1, one pooled connection).
    try:
        import httpx
    except ImportError:
        httpx = None
        check(False, "python3-httpx is installed (tools/bootstrap)")
    if httpx is not None:
        with httpx.Client(timeout=30) as hc:
            r = hc.get(B + "/checkpoint")
            check(r.status_code == 200 and r.http_version == "HTTP/1.1" and
                  r.content.startswith(b"localhost/scittd\n"), "httpx: GET /checkpoint 200 over HTTP/1.1")
            st3 = iss.statement("httpx")
            r = hc.post(B + "/entries", content=st3, headers={"Content-Type": COSE})
            check(r.status_code == 201 and r.headers["location"] == "/entries/" + entry_id(st3),
                  "httpx: POST /entries 201")
            r2 = hc.get(B + "/entries/" + entry_id(st3))
            check(r2.status_code == 200 and r2.content == r.content, "httpx: GET /entries/{id} 200, the same receipt")

    # A body over --max-statement-bytes sent whole (urllib does not wait for
    # 100 Continue): 413 before the body is read, then the connection
    # lingers, dropping the rest, so the answer is not lost to a reset.
    got = []
    for _ in range(5):
        req = urllib.request.Request(B + "/entries", data=b"x" * (3 << 20), headers={"Content-Type": COSE},
                                     method="POST")
        try:
            urllib.request.urlopen(req, timeout=30)
            got.append(200)
        except urllib.error.HTTPError as e:
            got.append(e.code)
        except OSError as e:
            got.append(repr(e))
    check(got == [413] * 5, "urllib: 3 MiB POST bodies over the limit get their 413 (%s)" % got)

    # Keep-alive: several requests on one connection, and a chunked POST.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/healthz")
    r = conn.getresponse()
    first_sock = conn.sock
    ok = r.status == 200 and r.read() == b"ok\n"
    for path in ["/checkpoint", "/checkpoint.vkey", "/entries/" + eid, "/nope", "/healthz"]:
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        ok = ok and r.status == (404 if path == "/nope" else 200) and conn.sock is first_sock
    check(ok, "keep-alive: six requests on one connection")
    st3 = iss.statement("chunked")
    conn.request("POST", "/entries", body=iter([st3[:7], st3[7:40], st3[40:]]),
                 headers={"Content-Type": COSE, "Transfer-Encoding": "chunked"}, encode_chunked=True)
    r = conn.getresponse()
    check(r.status == 201 and r.getheader("Location") == "/entries/" + entry_id(st3) and conn.sock is first_sock,
          "chunked POST /entries 201 on the same connection")
    r.read()
    conn.close()

    # Pipelining: 40 requests at once (over the bound of 16 read ahead),
    # answered in order; the last asks to close.
    paths = ["/healthz", "/checkpoint.vkey", "/nope", "/entries/" + eid] * 10
    raw = b"".join(b"GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (p.encode(), b"Connection: close\r\n" if i == 39 else b"")
                   for i, p in enumerate(paths))
    data, closed = exchange(port, raw, timeout=30)
    rs = responses(data)
    want = [{"/healthz": (200, b"ok\n"), "/checkpoint.vkey": (200, vkey), "/nope": (404, None)}.get(p, (200, receipt))
            for p in paths]
    check(len(rs) == 40 and all(r[0] == w[0] and (w[1] is None or r[2] == w[1]) for r, w in zip(rs, want)),
          "pipelining: 40 answers in request order (%d)" % len(rs))
    check(closed and rs and rs[-1][1].get("connection") == "close", "pipelining: Connection: close honoured")
    # HEAD then GET on one connection: the HEAD answer has no body.
    data, _ = exchange(port, b"HEAD /checkpoint.vkey HTTP/1.1\r\nHost: x\r\n\r\n"
                             b"GET /checkpoint.vkey HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    rs = responses(data, head_first=True)
    check(len(rs) == 2 and rs[0][0] == 200 and rs[0][1].get("content-length") == str(len(vkey)) and
          rs[1][2] == vkey, "HEAD answers the GET's headers without a body")
    # An absolute-form target, and an Upgrade with a body answered in place.
    data, _ = exchange(port, b"GET http://127.0.0.1:%d/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % port)
    check(data.startswith(b"HTTP/1.1 200") and data.endswith(b"ok\n"), "absolute-form request target")
    st4 = iss.statement("upgrade")
    data, _ = exchange(port, b"POST /entries HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings, close\r\n"
                             b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nContent-Type: %s\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (COSE.encode(), len(st4), st4))
    check(data.startswith(b"HTTP/1.1 201"), "POST with Upgrade: h2c answered 201 over HTTP/1.1")

    h1 = metric(B, 'scittd_http_requests_total{protocol="http/1.1"}')
    h2 = metric(B, 'scittd_http_requests_total{protocol="h2"}')
    check(h1 is not None and h1 >= 60 and h2 is not None and h2 >= 1, "metrics count requests by protocol (%s, %s)"
          % (h1, h2))

    # -- the bad requests ------------------------------------------------------
    files = sorted(glob.glob(os.path.join(CORPUS, "*.http")))
    check(len(files) >= 40, "corpus tests/data/bad-http1 has %d requests" % len(files))
    for f in files:
        name = os.path.basename(f)
        want = int(name.split("-")[0])
        data, closed = exchange(port, open(f, "rb").read())
        rs = responses(data)
        last = rs[-1] if rs else (None, {}, b"")
        ok = (data.startswith(b"HTTP/1.1 ") and last[0] == want and last[1].get("content-type") == PROBLEM and
              last[1].get("connection") == "close" and closed)
        check(ok, "%s: %s, closed=%s" % (name, data[:40], closed))
    check(srv.alive(), "server up after the corpus")
    check(srv.stop() == 0, "exit 0 after the corpus")

    # -- slow clients ------------------------------------------------------------
    srv = Server(root, args=["--issuer-keys", iss.keys_dir, "--request-timeout-ms", "1500"]).start()
    servers.append(srv)
    t0 = time.time()
    data, closed = exchange(srv.port, b"GET /checkpoint HTTP/1.1\r\nHost: x\r\n", timeout=20)
    check(data.startswith(b"HTTP/1.1 408") and closed and time.time() - t0 < 15, "slow headers: 408, then closed")
    data, closed = exchange(srv.port, b"POST /entries HTTP/1.1\r\nHost: x\r\nContent-Type: application/cose\r\n"
                                      b"Content-Length: 100\r\n\r\n0123456789", timeout=20)
    check(data.startswith(b"HTTP/1.1 408") and closed, "slow body: 408, then closed")
    check(srv.alive(), "server up")
    check(srv.stop() == 0, "exit 0")
finally:
    for s in servers:
        s.stop(timeout=5)
    cleanup(root)
finish()
