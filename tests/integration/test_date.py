#!/usr/bin/python3
"""Every response carries a Date field (RFC 9110 6.6.1: an origin server
with a clock MUST send one), over HTTP/1.1 and HTTP/2, as an IMF-fixdate
("Sun, 06 Nov 1994 08:49:37 GMT") close to the wall clock, on answers of
every kind (200, 404, 400 refused by the HTTP/1.1 gate, HEAD), and
formatted anew as the seconds pass.
"""
import email.utils
import http.client
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import *  # noqa: E402,F403

FIXDATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-3][0-9] "
                     r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
                     r"[0-2][0-9]:[0-5][0-9]:[0-6][0-9] GMT$")


def check_date(value, what):
    """The value is an IMF-fixdate within a few seconds of now; returns it as seconds."""
    ok = value is not None and FIXDATE.match(value) is not None
    check(ok, "%s: Date is an IMF-fixdate: %r" % (what, value))
    if not ok:
        return 0
    t = email.utils.parsedate_to_datetime(value).timestamp()
    check(abs(t - time.time()) < 10, "%s: Date %r is the time now" % (what, value))
    return t


def h1(port, method, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request(method, path)
    r = c.getresponse()
    r.read()
    c.close()
    return r.status, r.getheader("date")


def raw_h1(port, request):
    """One raw request; the status and the Date of the answer."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(request)
    _, buf = read_until_closed(s, 30)
    s.close()
    head = buf.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    fields = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in head[1:])}
    return int(head[0].split()[1]), fields.get("date")


root = tempdir()
srv = None
try:
    iss = Issuer(root)
    srv = Server(root, args=["--issuer-keys", iss.keys_dir]).start()
    port = srv.port

    # -- HTTP/1.1 ------------------------------------------------------------
    for method, path, want in [("GET", "/checkpoint", 200), ("HEAD", "/checkpoint", 200),
                               ("GET", "/no-such-route", 404)]:
        status, date = h1(port, method, path)
        check(status == want, "HTTP/1.1 %s %s: %d" % (method, path, status))
        first = check_date(date, "HTTP/1.1 %s %s" % (method, path))
    status, date = raw_h1(port, b"GET /checkpoint HTTP/1.1\r\n\r\n")
    check(status == 400, "HTTP/1.1 without Host: 400 (%d)" % status)
    check_date(date, "HTTP/1.1 400 without Host")

    # -- HTTP/2 --------------------------------------------------------------
    c = H2(port)
    for method, path, want in [("GET", "/checkpoint", 200), ("GET", "/no-such-route", 404)]:
        r = c.request(method, path)
        check(r.status == want, "HTTP/2 %s %s: %s" % (method, path, r.status))
        check_date(r.header("date"), "HTTP/2 %s %s" % (method, path))
    r = c.request("POST", "/entries", [("content-type", "text/plain")], b"not a statement")
    check(r.status == 415, "HTTP/2 POST text/plain: 415 (%s)" % r.status)
    check_date(r.header("date"), "HTTP/2 POST 415")

    # -- the value follows the clock ----------------------------------------
    time.sleep(2.2)
    later = check_date(c.request("GET", "/checkpoint").header("date"), "HTTP/2 2 s later")
    check(later >= first + 2, "HTTP/2: the Date 2 s later is 2 s later (%s, %s)" % (first, later))
    _, date = h1(port, "GET", "/checkpoint")
    check(check_date(date, "HTTP/1.1 2 s later") >= first + 2, "HTTP/1.1: the Date 2 s later is 2 s later")
    c.close()
    check(srv.stop() == 0, "scittd exits 0")
finally:
    if srv is not None and srv.alive():
        srv.proc.kill()
        srv.proc.wait()
    cleanup(root)
finish()
