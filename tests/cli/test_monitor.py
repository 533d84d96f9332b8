"""`scitt monitor` against a real scittd (issue 10), with three parties:
  owner     its key, iss https://owner.example, subjects pkg:owner/...
  thief     the owner's stolen key, signing an unknown subject
  impostor  its own key, claiming the owner's issuer
  other     an issuer nobody watches
The log grows over several rounds while monitors run (once, --follow, with
--exec and --json); each must raise exactly the expected alerts with the
right flags, resume after SIGTERM and SIGKILL without repeating or missing
an entry, and stop with the mirror's verdict (11) on a fork. Also: a watch
file with an error exits 2 naming the line, and `scitt verify` prints the
registration time.

Environment: SCITT, SCITTD (set by tests/cli/meson.build).
"""
import base64
import json
import os
import signal
import subprocess
import tempfile
import time

import cbor2

from clitest import SCITT, Issuer, Server, check, copy_service_keys, finish, scitt

OWNER_ISS = "https://owner.example"


def kid_of(path):
    """The statement's kid, spelled as scitt keygen prints it (issue 15)."""
    with open(path, "rb") as f:
        stmt = cbor2.loads(f.read())
    return base64.urlsafe_b64encode(cbor2.loads(stmt.value[0])[4]).rstrip(b"=").decode()


def register(srv, paths):
    r = scitt("register", "--url", srv.url, "--concurrency", "8", *paths)
    assert r.returncode == 0, r.stderr
    return {line.split()[0]: int(line.split(" leaf ")[1].split()[0]) for line in r.stdout.splitlines()}


class World:
    def __init__(self, tmp):
        self.tmp = tmp
        keys = os.path.join(tmp, "keys")
        self.owner = Issuer(tmp, "owner", keys, OWNER_ISS)
        self.impostor = Issuer(tmp, "impostor", keys, OWNER_ISS)
        self.other = Issuer(tmp, "other", keys, "https://other.example")
        self.data = os.path.join(tmp, "data")
        self.srv = Server(tmp, self.data, keys)
        self.expected = {}  # leaf -> flags the monitor must raise
        [probe] = self.owner.statements(1, "probe", sub="pkg:owner/probe")
        self.kid = kid_of(probe)
        self.grow_with(probe_path=probe)

    def grow_with(self, probe_path=None):
        """One round of registrations: owner, thief, impostor and other."""
        owned = self.owner.statements(3, "own", sub="pkg:owner/app")
        if probe_path:
            owned.append(probe_path)
        stolen = self.owner.statements(1, "stolen", sub="pkg:evil/backdoor")
        fake = self.impostor.statements(1, "fake", sub="pkg:owner/app")
        others = self.other.statements(3, "other", sub="pkg:other/lib")
        leaves = register(self.srv, owned + stolen + fake + others)
        for p in owned:
            self.expected[leaves[p]] = ["expected"]
        for p in stolen:
            self.expected[leaves[p]] = ["unexpected-subject"]
        for p in fake:
            self.expected[leaves[p]] = ["unexpected-key"]
        return max(leaves.values()) + 1


def write_watch(path, kid, extra=""):
    with open(path, "w") as f:
        f.write("# the owner's CI identity\n\nkid %s\niss %s\n  # its own statements\n"
                "expect-sub pkg:owner/*\nexpect-iss %s\nexpect-hours 0-24 UTC\n%s" % (kid, OWNER_ISS, OWNER_ISS, extra))


def alerts_of(stdout):
    out = []
    for line in stdout.splitlines():
        if line.startswith("ALERT\t"):
            cols = line.split("\t")
            out.append((int(cols[1]), cols[3].split(","), cols))
    return out


def monitor(w, mdir, watch, *extra):
    return scitt("monitor", "--url", w.srv.url, "--dir", mdir, "--watch", watch, *extra)


def wait_for(pred, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return False


def test_watch_errors(tmp, w):
    bad = os.path.join(tmp, "bad.watch")
    with open(bad, "w") as f:
        f.write("# fine\nkid %s\nwatch-everything yes\n" % w.kid)
    r = monitor(w, os.path.join(tmp, "m-bad"), bad)
    check(r.returncode == 2 and "bad.watch:3:" in r.stderr, "a watch file error exits 2 with its line (%s)" % r.stderr)
    with open(bad, "w") as f:
        f.write("kid %s\nexpect-hours 9-9\n" % w.kid)
    r = monitor(w, os.path.join(tmp, "m-bad"), bad)
    check(r.returncode == 2 and "bad.watch:2:" in r.stderr, "a bad hour range exits 2 with its line")
    with open(bad, "w") as f:
        f.write("expect-sub pkg:owner/*\n")
    r = monitor(w, os.path.join(tmp, "m-bad"), bad)
    check(r.returncode == 2 and "nothing to watch" in r.stderr, "a watch file that watches nothing exits 2")


def test_rounds(tmp, w):
    """Once, then --follow while the log grows, SIGTERM, SIGKILL, resume:
    every expected alert exactly once on stdout and through --exec."""
    mdir = os.path.join(tmp, "mon")
    watch = os.path.join(tmp, "owner.watch")
    write_watch(watch, w.kid)
    exec_log = os.path.join(tmp, "exec.jsonl")
    exec_env = os.path.join(tmp, "exec.env")
    hook = "cat >> %s; echo \"$SCITT_ALERT_INDEX $SCITT_ALERT_FLAGS $SCITT_ALERT_ID\" >> %s" % (exec_log, exec_env)
    seen = []

    r = monitor(w, mdir, watch, "--exec", hook)
    got = alerts_of(r.stdout)
    seen += [(i, f) for i, f, _ in got]
    check(r.returncode == 3, "the first run raises flagged alerts: exit 3 (%d: %s)" % (r.returncode, r.stderr))
    check(sorted(seen) == sorted(w.expected.items()), "the first run alerts on exactly the watched entries")
    row = [c for i, f, c in got if f == ["unexpected-subject"]][0]
    check(row[4].startswith("registered=20") and "sub=pkg:evil/backdoor" in row and "kid=" + w.kid in row,
          "the alert line carries registration time, subject and kid")
    r = monitor(w, mdir, watch, "--exec", hook)
    check(r.returncode == 0 and alerts_of(r.stdout) == [], "a second run over the same log raises nothing")

    out_path = os.path.join(tmp, "follow.out")
    with open(out_path, "w") as out:
        follower = subprocess.Popen([SCITT, "monitor", "--url", w.srv.url, "--dir", mdir, "--watch", watch,
                                     "--follow", "--interval", "1", "--json", "--exec", hook],
                                    stdout=out, stderr=subprocess.PIPE, text=True)
    for _ in range(3):
        w.grow_with()
    total = len(w.expected)

    def follow_alerts():
        return [json.loads(line) for line in open(out_path).read().splitlines() if line.strip()]
    check(wait_for(lambda: len(seen) + len(follow_alerts()) >= total), "the follower catches up with the log")
    follower.send_signal(signal.SIGTERM)
    _, err = follower.communicate(timeout=30)
    check(follower.returncode == 3, "the follower stops on SIGTERM with exit 3 (%s: %s)" % (follower.returncode, err))
    js = follow_alerts()
    check(all(a["registered"].startswith("20") and a["iss"] == OWNER_ISS and a["kid"] for a in js),
          "--json alerts parse and carry registration time, iss and kid")
    check(err.count("verified checkpoint") >= 2, "the follower verified several checkpoints")
    seen += [(a["index"], a["flags"]) for a in js]

    # SIGKILL while idle between rounds, then the log grows, then resume.
    with open(out_path, "w") as out:
        victim = subprocess.Popen([SCITT, "monitor", "--url", w.srv.url, "--dir", mdir, "--watch", watch,
                                   "--follow", "--interval", "1", "--json", "--exec", hook],
                                  stdout=out, stderr=subprocess.DEVNULL)
    before = len(w.expected)
    w.grow_with()
    check(wait_for(lambda: len(follow_alerts()) >= len(w.expected) - before and
                   len(open(exec_env).read().splitlines()) >= len(w.expected)),
          "the second follower sees the new round")
    time.sleep(0.5)
    victim.kill()
    victim.wait()
    seen += [(a["index"], a["flags"]) for a in follow_alerts()]
    w.grow_with()
    r = monitor(w, mdir, watch, "--json", "--exec", hook)
    seen += [(a["index"], a["flags"]) for a in map(json.loads, r.stdout.splitlines())]
    check(r.returncode == 3, "the run after SIGKILL reports the newest flagged alerts")

    indexes = [i for i, _ in seen]
    check(len(indexes) == len(set(indexes)), "no entry was reported twice across runs")
    check(sorted(seen) == sorted(w.expected.items()),
          "every expected alert, with its flags, was reported (%d alerts)" % len(w.expected))
    execs = [line.split() for line in open(exec_env).read().splitlines()]
    check(sorted((int(i), f.split(",")) for i, f, _ in execs) == sorted(w.expected.items()),
          "--exec ran once per alert with SCITT_ALERT_* set")
    piped = [json.loads(line) for line in open(exec_log).read().splitlines()]
    check(sorted(a["index"] for a in piped) == sorted(w.expected), "--exec got each alert as JSON on stdin")
    check(all(a["id"] == e[2] for a, e in zip(piped, execs)), "the JSON and the environment name the same entry")
    return mdir, watch


def test_delivery_marker(tmp, w, mdir, watch):
    """A run killed while delivering leaves a marker: the next run says so
    and does not deliver that alert again (at most once)."""
    state = os.path.join(mdir, "monitor.state")
    text = open(state).read()
    nxt = int(text.split("next ")[1].split()[0])
    last = max(w.expected)
    with open(state, "w") as f:
        f.write("scitt-monitor 1\nnext %d\ndelivering %d %s\n" % (nxt, last, "ab" * 32))
    r = monitor(w, mdir, watch)
    check("stopped while delivering the alert for entry %d" % last in r.stderr and alerts_of(r.stdout) == [],
          "an interrupted delivery is reported on stderr, not repeated (%s)" % r.stderr.strip())
    check("delivering" not in open(state).read(), "the marker is cleared once reported")
    with open(state, "w") as f:
        f.write("next 3\n")
    r = monitor(w, mdir, watch)
    check(r.returncode == 1 and "not a monitor state file" in r.stderr, "a damaged state file stops the monitor")
    with open(state, "w") as f:
        f.write(text)


def test_outside_hours(tmp, w):
    """A fresh monitor with hours that exclude now flags every alert."""
    hour = (time.gmtime().tm_hour + 2) % 24
    watch = os.path.join(tmp, "night.watch")
    with open(watch, "w") as f:
        f.write("sub pkg:evil/backdoor\nexpect-hours %d-%d UTC\n" % (hour, hour + 1))
    r = monitor(w, os.path.join(tmp, "mon-night"), watch, "--json")
    got = [json.loads(line) for line in r.stdout.splitlines()]
    want = sorted(i for i, f in w.expected.items() if f == ["unexpected-subject"])
    check(r.returncode == 3 and sorted(a["index"] for a in got) == want and
          all(a["flags"] == ["outside-hours"] and a["match"] == ["sub"] for a in got),
          "watching a subject with hours that exclude now: outside-hours on each of its entries")


def test_fork(tmp, w, mdir, watch):
    w.srv.stop()
    forked = os.path.join(tmp, "forked-data")
    copy_service_keys(w.data, forked)
    srv2 = Server(tmp, forked, w.owner.keys_dir)
    try:
        register(srv2, w.other.statements(len(w.expected) * 3, "fork"))
        r = scitt("monitor", "--url", srv2.url, "--dir", mdir, "--watch", watch)
        check(r.returncode == 11 and "fork" in r.stderr and alerts_of(r.stdout) == [],
              "a forked log stops the monitor with the mirror's verdict, exit 11 (%s)" % r.stderr.strip())
        kept = os.listdir(os.path.join(mdir, "evidence"))
        check(any(k.endswith("-fork") for k in kept), "the fork's evidence is kept")
    finally:
        srv2.stop()


def test_verify_time(tmp, w):
    [one] = w.owner.statements(1, "verify", sub="pkg:owner/app")
    ts = os.path.join(tmp, "ts.cose")
    r = scitt("register", "--url", w.srv.url, "--transparent", ts, one)
    check(r.returncode == 0, "register a statement for verify")
    r = scitt("verify", "--keys", w.srv.url, ts)
    check(r.returncode == 0 and ", registered 20" in r.stdout, "scitt verify prints the registration time")
    leaf = int(r.stdout.split("leaf ")[1].split()[0])
    w.expected[leaf] = ["expected"]


def main():
    with tempfile.TemporaryDirectory() as tmp:
        w = World(tmp)
        try:
            test_watch_errors(tmp, w)
            test_verify_time(tmp, w)
            mdir, watch = test_rounds(tmp, w)
            test_delivery_marker(tmp, w, mdir, watch)
            test_outside_hours(tmp, w)
        except BaseException:
            w.srv.stop()
            raise
        test_fork(tmp, w, mdir, watch)
    finish()


main()
