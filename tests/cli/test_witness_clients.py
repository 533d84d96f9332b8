"""Clients that demand cosignatures (issue 21): `scitt mirror` and `scitt
monitor` with --witness and --witness-threshold, against any server. A
small HTTP/1.1 proxy in front of a real scittd serves its checkpoint with
cosignature lines appended (what a log does once witnesses answer) and
forwards everything else. Three `scitt witness` processes cosign it; one
line is then made wrong on purpose:

  w1 + w2 valid, threshold 2             -> mirror 0, monitor 0
  w1 valid, w3's line wrong, w2 missing  -> 16 (unwitnessed), evidence kept
  the same three lines, threshold 1      -> 0 (w1 is enough)
  a line repeated (w1 twice), threshold 2 -> 16 (distinct witnesses)
  usage: threshold above the witnesses, threshold without --witness, a log
  vkey given as a witness                -> 2 / 2 / 1
"""
import http.server
import os
import sys
import threading
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import Issuer, Server, check, finish, scitt  # noqa: E402  (puts the harness on the path)
import harness  # noqa: E402
from witnesses import Witness, get, request  # noqa: E402


class Proxy:
    """HTTP/1.1 on a free port: /checkpoint is `self.note`, the rest is the log's."""

    def __init__(self, upstream):
        proxy = self
        self.note = b""

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                status, body = 200, proxy.note
                if self.path != "/checkpoint":
                    try:
                        body = get(upstream + self.path)
                    except urllib.error.HTTPError as e:
                        status, body = e.code, b""
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def wrong(line):
    """The same cosignature line with one signature byte changed."""
    i = len(line) - 10
    return line[:i] + ("A" if line[i] != "A" else "B") + line[i + 1:]


def main():
    tmp = harness.tempdir()
    issuer = Issuer(tmp)
    srv = Server(tmp, None, issuer.keys_dir)
    ws, proxy = [], None
    try:
        r = scitt("register", "--url", srv.url, *issuer.statements(4, "w"))
        assert r.returncode == 0, r.stderr
        vkey = get(srv.url + "/checkpoint.vkey").decode().strip()
        ws = [Witness(tmp, "witness.test/w%d" % i, [vkey]).start() for i in (1, 2, 3)]
        note = get(srv.url + "/checkpoint")
        lines = []
        for w in ws:
            res = w.add(request(0, [], note))
            assert res.status == 200, res.body
            lines.append(res.body.decode().strip())
        proxy = Proxy(srv.url)
        wflags = []
        for w in ws:
            wflags += ["--witness", w.vkey]
        vkey_file = os.path.join(tmp, "w2.vkey")
        with open(vkey_file, "w") as f:
            f.write(ws[1].vkey + "\n")
        wflags_file = ["--witness", ws[0].vkey, "--witness", vkey_file, "--witness", ws[2].vkey]
        watch = os.path.join(tmp, "watch")
        with open(watch, "w") as f:
            f.write("iss https://nobody.example\n")

        def run(tag, cosigs, threshold, flags=wflags):
            proxy.note = note + "".join(ln + "\n" for ln in cosigs).encode()
            common = ["--url", proxy.url, "--vkey", vkey, *flags, "--witness-threshold", str(threshold)]
            m = scitt("mirror", "--dir", os.path.join(tmp, "m-" + tag), *common)
            mon = scitt("monitor", "--dir", os.path.join(tmp, "mon-" + tag), "--watch", watch, *common)
            return m, mon

        m, mon = run("good", [lines[0], lines[1]], 2, wflags_file)
        check(m.returncode == 0, "mirror: w1 + w2 valid, threshold 2: exit 0 (%s)" % m.stderr.strip())
        check(mon.returncode == 0, "monitor: w1 + w2 valid, threshold 2: exit 0 (%s)" % mon.stderr.strip()[-300:])

        m, mon = run("short", [lines[0], wrong(lines[2])], 2)
        check(m.returncode == 16 and "unwitnessed" in m.stderr and "1 of the 3" in m.stderr,
              "mirror: w1 valid, w3 wrong, w2 missing: exit 16 (%s)" % m.stderr.strip())
        check(mon.returncode == 16, "monitor: the same: exit 16 (%d)" % mon.returncode)
        ev = os.path.join(tmp, "m-short", "evidence")
        kept = os.listdir(ev) if os.path.isdir(ev) else []
        check(len(kept) == 1 and kept[0].endswith("-unwitnessed") and
              open(os.path.join(ev, kept[0], "offered.checkpoint"), "rb").read() == proxy.note and
              "witness.test/w3 missing or invalid" in open(os.path.join(ev, kept[0], "report.txt")).read(),
              "the evidence keeps the offered checkpoint and which witnesses failed")
        check(not os.path.exists(os.path.join(tmp, "m-short", "db")) or
              scitt("mirror", "--dir", os.path.join(tmp, "m-short"), "--url", proxy.url, "--vkey", vkey).returncode
              == 0, "nothing of the refused checkpoint blocks a later mirror without witnesses")

        m, _ = run("one", [lines[0], wrong(lines[2])], 1)
        check(m.returncode == 0, "threshold 1: w1 alone is enough (%s)" % m.stderr.strip())
        m, _ = run("twice", [lines[0], lines[0]], 2)
        check(m.returncode == 16, "w1's line twice counts once: exit 16")

        r = scitt("mirror", "--dir", os.path.join(tmp, "u1"), "--url", proxy.url, "--witness", ws[0].vkey,
                  "--witness-threshold", "2")
        check(r.returncode == 2, "threshold above the number of witnesses: usage error")
        r = scitt("monitor", "--dir", os.path.join(tmp, "u2"), "--url", proxy.url, "--watch", watch,
                  "--witness-threshold", "1")
        check(r.returncode == 2, "threshold without --witness: usage error")
        r = scitt("mirror", "--dir", os.path.join(tmp, "u3"), "--url", proxy.url, "--witness", vkey)
        check(r.returncode == 1 and "type 0x04" in r.stderr, "a log's vkey is not a witness key: refused")
        check("--witness-threshold" in scitt("help", "mirror").stdout and
              "16" in scitt("help", "monitor").stdout, "the help texts document the options and exit 16")
    finally:
        if proxy is not None:
            proxy.close()
        for w in ws:
            w.stop()
        srv.stop()
        harness.cleanup(tmp)
    finish()


if __name__ == "__main__":
    main()
