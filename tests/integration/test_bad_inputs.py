#!/usr/bin/python3
"""The bad-input corpus (tests/data/bad/manifest.json) against a real
scittd: every case gets its expected status and SCRAPI problem title in a
concise problem-details body, nothing is logged, and the server keeps
serving."""
import json
import os
import tempfile

from harness import Issuer, Server, check, curl, finish, verify_checkpoint

BAD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "bad")


def send(srv, case):
    url = srv.base + case.get("path", "/entries")
    method = case.get("method", "POST")
    if method == "GET":
        return curl(url)
    ctype = case.get("content_type", "application/cose")
    headers = ["Content-Type: " + ctype] if ctype else ["Content-Type:"]
    if case["file"] == "oversized":
        data = b"\xd2" * case["size"]
    else:
        data = open(os.path.join(BAD, case["file"]), "rb").read()
    return curl(url, method="POST", headers=headers, data=data)


def main():
    manifest = json.load(open(os.path.join(BAD, "manifest.json")))
    with tempfile.TemporaryDirectory() as root:
        issuer = Issuer(root)
        srv = Server(root, args=["--issuer-keys", issuer.keys_dir, "--max-statement-bytes", "1048576"]).start()
        try:
            for case in manifest:
                name = case.get("path") or case["file"]
                r = send(srv, case)
                p = r.problem()
                check(r.status == case["status"] and p is not None and p[-1] == case["title"],
                      "%s %s: %d %s (want %d %s)" % (case.get("method", "POST"), name, r.status,
                                                     p[-1] if p else r.body[:60], case["status"], case["title"]))
            # Nothing entered the log, and a good statement still registers.
            vkey = curl(srv.base + "/checkpoint.vkey").body.decode().strip()
            size = verify_checkpoint(curl(srv.base + "/checkpoint").body, vkey)[1]
            check(size == 0, "no bad input was logged (tree size %d)" % size)
            r = curl(srv.base + "/entries", method="POST", headers=["Content-Type: application/cose"],
                     data=issuer.statement())
            check(r.status == 201, "the server still registers good statements")
            check(srv.alive(), "the server is still running")
        finally:
            srv.stop()
    finish()


if __name__ == "__main__":
    main()
