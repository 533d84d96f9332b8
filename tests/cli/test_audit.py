#!/usr/bin/python3
"""`scitt audit` against a real scittd (issue 10): the table and --json
output for filters by issuer, subject, key and artifact (attached payloads
and hash envelopes), paging with --page 1 and --limit, the exit codes (0
matches, 3 none, 1 server refusal shown as "scitt audit: 400 Bad Request:
detail", 2 usage). test_server.py checks that a served mirror answers 501.

Environment: SCITT, SCITTD (set by tests/cli/meson.build)."""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from clitest import SCITT, Server, check, finish, scitt  # noqa: E402


def keygen(tmp, name, keys_dir):
    path = os.path.join(tmp, name + ".pem")
    r = scitt("keygen", "--out", path)
    assert r.returncode == 0, r.stderr
    shutil.copy(os.path.join(tmp, name + ".pub.pem"), keys_dir)
    return path, r.stdout.strip()


def main():
    with tempfile.TemporaryDirectory() as tmp:
        keys_dir = os.path.join(tmp, "keys")
        os.makedirs(keys_dir)
        ka, _ = keygen(tmp, "a", keys_dir)
        kb, _ = keygen(tmp, "b", keys_dir)
        art = os.path.join(tmp, "artifact.bin")
        with open(art, "wb") as f:
            f.write(b"the artifact\n")
        digest = hashlib.sha256(b"the artifact\n").hexdigest()
        stmts = []

        def sign(key, iss, sub, payload=None, extra=()):
            i = len(stmts)
            if payload is None:
                payload = os.path.join(tmp, "p%d" % i)
                with open(payload, "w") as f:
                    f.write("payload %d\n" % i)
            out = os.path.join(tmp, "s%d.cose" % i)
            r = scitt("sign", "--key", key, "--iss", iss, "--sub", sub, "--out", out, *extra, payload)
            assert r.returncode == 0, r.stderr
            stmts.append(out)

        sign(ka, "https://a.example", "pkg:x", extra=["--content-type", "text/plain"])
        sign(kb, "https://b.example", "pkg:x", art, ["--hash-envelope", "--content-type", "application/json"])
        sign(ka, "https://a.example", "pkg:y", art)
        sign(kb, "https://b.example\x1b[31m", "pkg:y")
        srv = Server(tmp, os.path.join(tmp, "data"), keys_dir)
        try:
            # One statement per register call: several batches.
            for s in stmts:
                r = scitt("register", "--url", srv.url, s)
                assert r.returncode == 0, r.stderr

            r = scitt("audit", "--url", srv.url)
            lines = r.stdout.splitlines()
            check(r.returncode == 0 and lines[0].split() == ["INDEX", "TIME", "ISS", "SUB", "KID", "CONTENT-TYPE", "ID"]
                  and len(lines) == 5, "table: a header and one row per entry")
            check(all(re.match(r"^\d+ +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", ln) for ln in lines[1:]),
                  "rows start with the index and an RFC 3339 UTC time")
            check("\x1b" not in r.stdout and "\\x1b[31m" in r.stdout, "control bytes in iss are shown escaped")
            check("text/plain" in lines[1] and "application/json" in lines[2], "content types in the table")

            r = scitt("audit", "--url", srv.url, "--json")
            rows = [json.loads(ln) for ln in r.stdout.splitlines()]
            check(r.returncode == 0 and [x["index"] for x in rows] == [0, 1, 2, 3], "--json: one object per line")
            check(rows[3]["iss"] == "https://b.example\x1b[31m", "--json keeps iss exactly (escaped JSON)")
            ids = [subprocess.run([SCITT, "inspect", s], capture_output=True, text=True).stdout
                   .split("normalised statement): ")[1][:64] for s in stmts]
            check([x["id"] for x in rows] == ids, "--json ids are the EntryIDs")

            def indexes(*args):
                r = scitt("audit", "--url", srv.url, "--json", *args)
                return r.returncode, [json.loads(ln)["index"] for ln in r.stdout.splitlines()]

            check(indexes("--iss", "https://a.example") == (0, [0, 2]), "--iss")
            check(indexes("--sub", "pkg:y") == (0, [2, 3]), "--sub")
            check(indexes("--kid", rows[1]["kid"]) == (0, [1, 3]), "--kid")
            check(indexes("--artifact-file", art) == (0, [1, 2]), "--artifact-file (hash envelope and attached)")
            check(indexes("--artifact", digest.upper(), "--sub", "pkg:x") == (0, [1]), "--artifact with --sub")
            check(indexes("--page", "1") == (0, [0, 1, 2, 3]), "--page 1 follows next cursors")
            check(indexes("--page", "1", "--limit", "3") == (0, [0, 1, 2]), "--limit stops after N")
            check(indexes("--since", "1970-01-01T00:00:00Z", "--until", "9999-12-31T23:59:59Z") == (0, [0, 1, 2, 3]),
                  "--since/--until RFC 3339")

            r = scitt("audit", "--url", srv.url, "--iss", "https://nobody.example")
            check(r.returncode == 3 and r.stdout == "", "no match: exit 3, no output")
            r = scitt("audit", "--url", srv.url, "--since", "yesterday")
            check(r.returncode == 1 and r.stderr.startswith("scitt audit: 400 Bad Request: since"),
                  "a bad filter shows the problem details (%s)" % r.stderr.strip())
            check(scitt("audit", "--url", srv.url, "--kid", "xyz").returncode == 2, "bad --kid: usage error")
            check(scitt("audit", "--url", srv.url, "--artifact", "00", "--artifact-file", art).returncode == 2,
                  "--artifact and --artifact-file together: usage error")
            check(scitt("audit", "--url", srv.url, "--page", "1001").returncode == 2, "--page above 1000")
            check(scitt("audit").returncode == 2, "no --url: usage error")
            r = scitt("help", "audit")
            check(r.returncode == 0 and "Exit status" in r.stdout and "--artifact-file" in r.stdout, "help audit")
        finally:
            srv.stop()
    finish()


main()
