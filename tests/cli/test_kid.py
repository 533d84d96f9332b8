"""One spelling of a key id everywhere (issue 15): the kid `scitt keygen`
prints (unpadded base64url of the RFC 9679 thumbprint) is used verbatim
  - in GET /entries?kid=... (CBOR and JSON answers print it back),
  - in `scitt audit --kid` (table and --json print it back),
  - in a watch file of `scitt monitor` (its alerts print it back),
  - in /.well-known/scitt-keys/{kid} (for a service key made by keygen),
and `scitt verify` and `scitt inspect` print kids the same way. The 64 hex
digits of a thumbprint, the spelling earlier versions took, still select
the same key.

Environment: SCITT, SCITTD (set by tests/cli/meson.build).
"""
import base64
import json
import os
import shutil
import tempfile
import urllib.parse

import cbor2

from clitest import Server, check, finish, scitt
from harness import curl


def keygen(path):
    r = scitt("keygen", "--out", path)
    assert r.returncode == 0, r.stderr
    kid = r.stdout.strip()
    assert "\n" not in kid and kid, r.stdout
    return kid


def hex_of(kid):
    return base64.urlsafe_b64decode(kid + "=" * (-len(kid) % 4)).hex()


def sign(tmp, key, name, sub):
    payload = os.path.join(tmp, name + ".txt")
    with open(payload, "w") as f:
        f.write(name + "\n")
    out = os.path.join(tmp, name + ".cose")
    r = scitt("sign", "--key", key, "--iss", "https://kid.example", "--sub", sub, "--out", out, payload)
    assert r.returncode == 0, r.stderr
    return out


def register(srv, tmp, paths):
    """Registers `paths`, returns {path: leaf} and the transparent statements."""
    leaves, transparent = {}, {}
    for p in paths:
        ts = p + ".ts"
        r = scitt("register", "--url", srv.url, "--transparent", ts, p)
        assert r.returncode == 0, r.stderr
        leaves[p] = int(r.stdout.split(" leaf ")[1].split()[0])
        transparent[p] = ts
    return leaves, transparent


def test_query(srv, kid, want):
    q = urllib.parse.urlencode({"kid": kid})
    check(q == "kid=" + kid, "the printed kid needs no percent-encoding in a query")
    r = curl(srv.url + "/entries?" + q)
    check(r.status == 200, "GET /entries?kid=<keygen's kid> answers 200 (got %d: %s)" % (r.status, r.problem()))
    if r.status != 200:
        return
    got = cbor2.loads(r.body)["entries"]
    check(sorted(e["index"] for e in got) == want, "the kid filter selects exactly that key's entries")
    check(all(base64.urlsafe_b64encode(e["kid"]).rstrip(b"=").decode() == kid for e in got),
          "the CBOR answer carries the kid's bytes")
    js = json.loads(curl(srv.url + "/entries?" + q, headers=["accept: application/json"]).body)
    check([e["kid"] for e in js["entries"]] == [kid] * len(want), "the JSON answer prints the kid as keygen does")
    r = curl(srv.url + "/entries?kid=" + hex_of(kid).upper())
    check(r.status == 200 and sorted(e["index"] for e in cbor2.loads(r.body)["entries"]) == want,
          "the 64 hex digits of the same thumbprint select the same entries")


def test_audit(srv, kid, want):
    r = scitt("audit", "--url", srv.url, "--kid", kid, "--json")
    check(r.returncode == 0, "scitt audit --kid <keygen's kid> succeeds (%d: %s)" % (r.returncode, r.stderr))
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    check(sorted(x["index"] for x in rows) == want and all(x["kid"] == kid for x in rows),
          "scitt audit --json lists that key's entries and prints its kid verbatim")
    r = scitt("audit", "--url", srv.url, "--kid", kid)
    lines = r.stdout.splitlines()[1:]  # under the header
    check(r.returncode == 0 and len(lines) == len(want) and all(" %s.. " % kid[:16] in ln for ln in lines),
          "the audit table shows the kid's first 16 characters as keygen printed them")
    r = scitt("audit", "--url", srv.url, "--kid", hex_of(kid))
    check(r.returncode == 0 and r.stdout.splitlines()[1:] == lines, "scitt audit --kid takes 64 hex digits too")
    r = scitt("audit", "--url", srv.url, "--kid", kid + "=")
    check(r.returncode == 2 and "base64url" in r.stderr, "a padded kid is a usage error that names the spelling")


def test_monitor(tmp, srv, kid, want):
    watch = os.path.join(tmp, "owner.watch")
    with open(watch, "w") as f:
        f.write("kid %s\n" % kid)
    r = scitt("monitor", "--url", srv.url, "--dir", os.path.join(tmp, "mon"), "--watch", watch)
    check(r.returncode == 0, "scitt monitor takes keygen's kid in its watch file (%d: %s)" % (r.returncode, r.stderr))
    alerts = [ln.split("\t") for ln in r.stdout.splitlines() if ln.startswith("ALERT\t")]
    check(sorted(int(a[1]) for a in alerts) == want, "an alert for each entry signed with the watched kid")
    check(all("kid=" + kid in a for a in alerts), "each alert prints the kid as keygen does")
    r = scitt("monitor", "--url", srv.url, "--dir", os.path.join(tmp, "mon-json"), "--watch", watch, "--json")
    js = [json.loads(ln) for ln in r.stdout.splitlines()]
    check(len(js) == len(want) and all(a["kid"] == kid for a in js), "--json alerts print the kid as keygen does")


def test_keys_url(srv, service_kid):
    r = curl(srv.url + "/.well-known/scitt-keys/" + service_kid)
    check(r.status == 200 and cbor2.loads(r.body)[2] == base64.urlsafe_b64decode(service_kid + "="),
          "/.well-known/scitt-keys/<keygen's kid> serves the service key made by keygen")


def test_verify_and_inspect(srv, kid, service_kid, ts):
    r = scitt("verify", "--keys", srv.url, ts)
    check(r.returncode == 0 and "statement key id: %s\n" % kid in r.stdout,
          "scitt verify prints the statement's kid as keygen does (%s)" % r.stdout.strip())
    check("log kid %s\n" % service_kid in r.stdout, "scitt verify prints the receipt's kid as keygen does")
    r = scitt("inspect", ts)
    check("4 / kid /: b64'%s'" % kid in r.stdout and "b64'%s'" % service_kid in r.stdout,
          "scitt inspect shows both kids in the same spelling (RFC 8949 b64'')")


def main():
    tmp = tempfile.mkdtemp(prefix="scitt-kid-")
    srv = None
    try:
        keys = os.path.join(tmp, "issuer-keys")
        os.makedirs(keys)
        kid = keygen(os.path.join(tmp, "owner.pem"))
        other = keygen(os.path.join(tmp, "other.pem"))
        for name in ("owner", "other"):
            shutil.copy(os.path.join(tmp, name + ".pub.pem"), keys)
        data = os.path.join(tmp, "data")
        os.makedirs(data, mode=0o700)
        service_kid = keygen(os.path.join(data, "service-es256.pem"))
        srv = Server(tmp, data, keys)

        paths = [sign(tmp, os.path.join(tmp, who + ".pem"), "%s-%d" % (who, i), "pkg:%s" % who)
                 for i in range(3) for who in ("owner", "other")]
        leaves, transparent = register(srv, tmp, paths)
        want = sorted(leaves[p] for p in paths if "/owner-" in p)
        check(len(want) == 3 and kid != other, "three of six entries are the owner's")

        test_query(srv, kid, want)
        test_audit(srv, kid, want)
        test_monitor(tmp, srv, kid, want)
        test_keys_url(srv, service_kid)
        test_verify_and_inspect(srv, kid, service_kid, transparent[paths[0]])
    finally:
        if srv is not None:
            srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


main()
