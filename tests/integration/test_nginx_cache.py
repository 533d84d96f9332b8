#!/usr/bin/python3
"""nginx as a caching reverse proxy in front of scittd over HTTP/1.1 (issue
19, "caches in front"), with the configuration of docs/DEPLOY.md ("A cache
in front"), read from that file so the two cannot drift.

- Statements are registered with scittd directly, in batches, while one
  `scitt mirror --follow` reads the log through nginx and another reads
  scittd itself: both stay consistent and end at the same size, and the
  one fed by nginx holds the tree scittd serves (a one-shot mirror of that
  folder against scittd itself finds no fork).
- The checkpoint through nginx is never staler than its max-age: polled
  while registering, its size is >= every size scittd served max-age + 1 s
  earlier (nginx counts whole seconds), plus a little for a loaded machine.
- Full tiles fetched a second time are cache hits (X-Cache-Status: HIT), and
  every full tile a second, fresh mirror reads through nginx is a hit.
- A partial tile not yet in the tree answers 404 through nginx, and 200
  once it is (the 404 was not cached).
- Tiles through nginx are byte-identical to scittd's, with its headers.

Skipped (exit 77) when nginx is not installed; tools/bootstrap installs
nginx-light.
"""
import http.client
import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import *  # noqa: E402,F403

SCITT = os.environ.get("SCITT", "build-release/tools/scitt/scitt")
NGINX = "/usr/sbin/nginx"
DEPLOY_MD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "DEPLOY.md")
MAX_AGE = 1  # the checkpoint's Cache-Control max-age
SLACK = 0.5  # upstream latency on a loaded machine

if not os.access(NGINX, os.X_OK):
    print("SKIP: nginx is not installed (%s; tools/bootstrap installs nginx-light)" % NGINX)
    sys.exit(77)


def deploy_config(scittd_port, port, cache_dir):
    """The nginx block of docs/DEPLOY.md with this run's ports and folder."""
    text = open(DEPLOY_MD, encoding="utf-8").read()
    m = re.search(r"<!-- nginx-cache-begin -->\n```nginx\n(.*?)```\n<!-- nginx-cache-end -->", text, re.S)
    assert m, "no nginx-cache block in docs/DEPLOY.md"
    block = m.group(1)
    for old, new in [("127.0.0.1:8000", "127.0.0.1:%d" % scittd_port), ("listen 80;", "listen 127.0.0.1:%d;" % port),
                     ("/var/cache/nginx/scitt", cache_dir)]:
        assert block.count(old) == 1, "DEPLOY.md's nginx block has no single %r" % old
        block = block.replace(old, new)
    return block


class Nginx:
    def __init__(self, root, scittd_port):
        self.dir = os.path.join(root, "nginx")
        os.makedirs(os.path.join(self.dir, "cache"))
        self.port = free_port()
        self.conf = os.path.join(self.dir, "nginx.conf")
        self.access = os.path.join(self.dir, "access.log")
        self.error = os.path.join(self.dir, "error.log")
        d = self.dir
        with open(self.conf, "w") as f:
            f.write("daemon off;\nworker_processes 1;\n%s" % ("user root;\n" if os.geteuid() == 0 else "") +
                    "pid %s/nginx.pid;\nerror_log %s info;\nevents { worker_connections 256; }\nhttp {\n" % (d, self.error) +
                    "log_format cache '$request_uri $status $upstream_cache_status $http_user_agent';\n" +
                    "access_log %s cache;\n" % self.access +
                    "".join("%s_temp_path %s/%s;\n" % (k, d, k) for k in ["client_body", "proxy", "fastcgi", "uwsgi",
                                                                            "scgi"]) +
                    deploy_config(scittd_port, self.port, os.path.join(d, "cache")) + "}\n")
        self.proc = None

    def start(self):
        t = subprocess.run([NGINX, "-t", "-p", self.dir, "-c", self.conf, "-e", self.error], capture_output=True,
                           text=True)
        assert t.returncode == 0, "nginx -t: " + t.stderr
        self.proc = subprocess.Popen([NGINX, "-p", self.dir, "-c", self.conf, "-e", self.error],
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "stderr"), "wb"))
        assert wait_port(self.port), "nginx does not listen: " + open(self.error).read()[-2000:]
        return self

    def stop(self):
        if self.proc is not None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful; TERM would do too
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


def get1(port, path):
    """One GET over HTTP/1.1: (status, headers lowercased, body)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request("GET", path, headers={"Accept-Encoding": "identity"})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


class Follower:
    """`scitt mirror --follow` in its own folder; its stdout read as it goes."""

    def __init__(self, root, name, url, vkey):
        self.dir = os.path.join(root, name)
        self.err = os.path.join(root, name + ".stderr")
        self.proc = subprocess.Popen([SCITT, "mirror", "--url", url, "--dir", self.dir, "--vkey", vkey, "--follow",
                                      "--interval", "1"], stdout=subprocess.PIPE, stderr=open(self.err, "wb"),
                                     text=True)
        self.size = -1
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        for line in self.proc.stdout:
            m = re.search(r"verified checkpoint at tree size (\d+)", line)
            if m:
                self.size = int(m.group(1))

    def wait_size(self, n, timeout=90):
        deadline = time.time() + timeout
        while time.time() < deadline and self.size < n and self.proc.poll() is None:
            time.sleep(0.1)
        return self.size >= n

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.thread.join(5)
        return rc

    def stderr(self):
        return open(self.err, errors="replace").read()


def register(srv, stmts):
    h = H2(srv.port)
    got = []
    for i in range(0, len(stmts), 50):
        got += h.wait([h.send("POST", "/entries", [("content-type", "application/cose")], s) for s in stmts[i:i + 50]])
    h.close()
    return all(r.status == 201 for r in got)


def access_lines(ngx):
    with open(ngx.access) as f:
        return [ln.split() for ln in f if ln.strip()]


root = tempdir()
srv = ngx = None
followers = []
try:
    iss = Issuer(root)
    srv = Server(root, args=["--issuer-keys", iss.keys_dir, "--register-wait-ms", "20000"]).start()
    ngx = Nginx(root, srv.port).start()
    vkey = get1(srv.port, "/checkpoint.vkey")[2].decode().strip()
    check(register(srv, [iss.statement("first %d" % i) for i in range(3)]), "3 statements registered directly")

    # A partial tile past the tree: 404 through nginx, not cached.
    st, hd, _ = get1(ngx.port, "/tile/0/000.p/5")
    check(st == 404 and hd.get("x-cache-status") != "HIT", "tile/0/000.p/5 before size 5: 404 through nginx (%d %s)" %
          (st, hd.get("x-cache-status")))
    st, hd, _ = get1(ngx.port, "/tile/entries/000.p/5")
    check(st == 404, "tile/entries/000.p/5 before size 5: 404 through nginx")
    check(register(srv, [iss.statement("second %d" % i) for i in range(2)]), "2 more registered (size 5)")
    for p in ["/tile/0/000.p/5", "/tile/entries/000.p/5"]:
        st, hd, body = get1(ngx.port, p)
        check(st == 200 and body == get1(srv.port, p)[2], "%s once in the tree: 200 through nginx, scittd's bytes" % p)

    # Followers through nginx and direct, while batches are registered and
    # the checkpoint is polled both ways.
    fn = Follower(root, "mirror-nginx", "http://127.0.0.1:%d" % ngx.port, vkey)
    fd = Follower(root, "mirror-direct", srv.base, vkey)
    followers += [fn, fd]
    direct = []  # (time the answer was in, size)
    stale = []
    statuses = []
    stop_poll = threading.Event()

    def poll():
        while not stop_poll.is_set():
            t0 = time.time()
            st, hd, body = get1(ngx.port, "/checkpoint")
            size = verify_checkpoint(body, vkey)[1]
            statuses.append(hd.get("x-cache-status"))
            older = [s for t, s in list(direct) if t <= t0 - (MAX_AGE + 1 + SLACK)]
            if older and size < max(older):
                stale.append((round(t0, 2), size, max(older)))
            _, _, dbody = get1(srv.port, "/checkpoint")
            direct.append((time.time(), verify_checkpoint(dbody, vkey)[1]))
            time.sleep(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    total = 5
    for n in [40, 1, 250, 7, 300, 3, 120]:  # crossing full tiles at sizes 256, 512
        ok = register(srv, [iss.statement("batch %d %d" % (total, i)) for i in range(n)])
        total += n
        check(ok, "%d registered directly (size %d)" % (n, total))
        time.sleep(0.7)
    time.sleep(MAX_AGE + 2)
    stop_poll.set()
    poller.join(60)
    check(not stale, "the checkpoint through nginx is never staler than max-age + 1 s (%d polls; stale: %s)" %
          (len(statuses), stale[:5]))
    check(statuses.count("HIT") > 0 and statuses.count("HIT") < len(statuses),
          "the checkpoint is cached and refreshed (%d HIT of %d)" % (statuses.count("HIT"), len(statuses)))

    check(fn.wait_size(total), "the mirror through nginx follows to size %d (at %d)" % (total, fn.size))
    check(fd.wait_size(total), "the mirror of scittd follows to size %d (at %d)" % (total, fd.size))
    rn, rd = fn.stop(), fd.stop()
    check(rn == 0 and rd == 0, "both followers exit 0, no inconsistency (nginx %d, direct %d)" % (rn, rd))
    check(fn.size == fd.size == total, "same verified size (nginx %d, direct %d)" % (fn.size, fd.size))
    for f in (fn, fd):
        if f.stderr().strip():
            print("note: %s stderr: %s" % (os.path.basename(f.dir), f.stderr().strip()[-600:]))
    r = subprocess.run([SCITT, "mirror", "--url", srv.base, "--dir", fn.dir, "--vkey", vkey], capture_output=True,
                       text=True, timeout=120)
    check(r.returncode == 0 and "tree size %d" % total in r.stdout,
          "the folder the nginx mirror built is consistent with scittd's tree (exit %d %s)" %
          (r.returncode, (r.stdout + r.stderr)[-300:]))

    # Tiles: a second GET through nginx is a HIT, and byte-identical to scittd.
    paths = []
    for n in range(total // 256):
        paths += ["/" + tile_path(0, n), "/" + tile_path(0, n, entries=True)]
    partial = total % 256
    paths += ["/" + tile_path(0, total // 256, partial), "/" + tile_path(0, total // 256, partial, entries=True),
              "/" + tile_path(1, 0, total // 256)]
    miss = []
    diff = []
    for p in paths:
        get1(ngx.port, p)
        st, hd, body = get1(ngx.port, p)
        if hd.get("x-cache-status") != "HIT":
            miss.append((p, hd.get("x-cache-status")))
        dst, dhd, dbody = get1(srv.port, p)
        if (st, body, hd.get("content-type"), hd.get("cache-control")) != (dst, dbody, dhd.get("content-type"),
                                                                           dhd.get("cache-control")) or st != 200:
            diff.append(p)
    check(not miss, "%d tiles fetched a second time through nginx are HITs %s" % (len(paths), miss[:3]))
    check(not diff, "tiles through nginx byte-identical to scittd's, same type and Cache-Control %s" % diff[:3])

    # A fresh mirror through nginx: every full tile it reads is a HIT.
    seen = len(access_lines(ngx))
    r = subprocess.run([SCITT, "mirror", "--url", "http://127.0.0.1:%d" % ngx.port, "--dir",
                        os.path.join(root, "mirror-second"), "--vkey", vkey], capture_output=True, text=True,
                       timeout=120)
    check(r.returncode == 0 and "tree size %d" % total in r.stdout, "a second mirror through nginx: exit %d %s" %
          (r.returncode, (r.stdout + r.stderr)[-300:]))
    full = [ln for ln in access_lines(ngx)[seen:] if re.fullmatch(r"/tile/(\d+|entries)/[x0-9/]*\d{3}", ln[0])]
    check(full and all(ln[1] == "200" and ln[2] == "HIT" for ln in full),
          "all %d full tiles the second mirror read were HITs %s" % (len(full),
                                                                    [ln for ln in full if ln[2] != "HIT"][:3]))
    check(srv.alive(), "scittd still up")
finally:
    for f in followers:
        f.stop()
    if ngx is not None:
        ngx.stop()
        for ln in open(ngx.error, errors="replace").read().splitlines()[-5:]:
            print("nginx: " + ln)
    if srv is not None:
        srv.stop()
    cleanup(root)
finish()
