"""Self-test of tests/tools/pgtmp (suite pg): a throwaway cluster starts,
answers SELECT 1, and leaves no server process and no folder behind, whether
the command succeeds, fails, or pgtmp is told to stop (SIGTERM)."""
import importlib.machinery
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PGTMP = os.path.join(HERE, "pgtmp")
_loader = importlib.machinery.SourceFileLoader("pgtmp", PGTMP)
pgtmp = importlib.util.module_from_spec(importlib.util.spec_from_loader("pgtmp", _loader))
_loader.exec_module(pgtmp)

failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def alive(pid):
    """True when `pid` runs (a zombie waiting for init's reaping does not)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def server_pids(url):
    """The postmaster and its children, through a backend's parent."""
    backend = int(pgtmp.psql(url, "SELECT pg_backend_pid()"))
    with open("/proc/%d/stat" % backend) as f:
        postmaster = int(f.read().rsplit(")", 1)[1].split()[1])
    kids = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open("/proc/%s/stat" % p) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == postmaster:
                        kids.append(int(p))
            except (OSError, IndexError):
                pass
    return [postmaster] + kids


def gone(pids, folder, what):
    deadline = time.time() + 10
    while time.time() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    check(pids and not any(alive(p) for p in pids), "%s: no server process left (%d checked)" % (what, len(pids)))
    check(folder and not os.path.exists(folder), "%s: folder %s removed" % (what, folder))


# The command pgtmp runs: records the server's processes and folder, then
# exits with the status given (or sleeps until stopped).
PROBE = r"""
import os, sys, time
sys.path.insert(0, %r)
import test_pgtmp as t
url = os.environ["SCITT_TEST_DATABASE"]
with open(sys.argv[1], "w") as f:
    f.write(" ".join(map(str, t.server_pids(url))) + "\n")
    f.write(t.pgtmp.psql(url, "SHOW data_directory").strip() + "\n")
    f.write(t.pgtmp.psql(url, "SELECT 1").strip() + "\n")
    f.write(url + "\n")
if sys.argv[2] == "sleep":
    time.sleep(120)
sys.exit(int(sys.argv[2]))
""" % HERE


def run_cli(tmp, how, extra=()):
    """Run pgtmp with the probe; return (status, pids, cluster folder, SELECT 1 answer, url)."""
    out = os.path.join(tmp, "probe-%s.out" % how)
    probe = os.path.join(tmp, "probe.py")
    with open(probe, "w") as f:
        f.write(PROBE)
    env = {k: v for k, v in os.environ.items() if k != pgtmp.ENV}
    p = subprocess.Popen([PGTMP, *extra, "--", sys.executable, probe, out, how], env=env)
    if how == "sleep":
        deadline = time.time() + 60
        while time.time() < deadline and not (os.path.exists(out) and len(open(out).read().splitlines()) == 4):
            time.sleep(0.1)
        p.send_signal(signal.SIGTERM)
    rc = p.wait(90)
    lines = open(out).read().splitlines() if os.path.exists(out) else ["", "", "", ""]
    pids = [int(x) for x in lines[0].split()]
    # data_directory is <root>/pg/data: the whole <root> must go.
    root = os.path.dirname(os.path.dirname(lines[1])) if lines[1] else ""
    return rc, pids, root, lines[2], lines[3]


def main():
    # As a module: start, answer, a database of its own, restart, stop.
    pg = pgtmp.start()
    root = pg.root
    check(pg.port != 5432 and pg.url == "postgresql://scitt@127.0.0.1:%d/postgres" % pg.port, "url " + pg.url)
    check(pgtmp.psql(pg.url, "SELECT 1").strip() == "1", "module: SELECT 1")
    check(pgtmp.psql(pg.url, "SHOW fsync").strip() == "off", "fsync off by default")
    check(pgtmp.psql(pg.url, "SHOW max_connections").strip() == "200", "max_connections 200")
    check(os.path.exists(os.path.join(root, "pg", "sock", ".s.PGSQL.%d" % pg.port)), "socket in the temp folder")
    db = pgtmp.create_database(pg.url)
    check(pgtmp.psql(db, "SELECT current_database()").strip() == db.rsplit("/", 1)[1], "create_database")
    pids = server_pids(pg.url)
    pg.restart()
    check(pgtmp.psql(db, "SELECT 2").strip() == "2", "answers after restart, same port")
    pids += server_pids(pg.url)
    pgtmp.drop_database(db)
    check("t_" not in pgtmp.psql(pg.url, "SELECT string_agg(datname, ',') FROM pg_database"), "drop_database")
    pg.stop()
    pg.stop()  # twice is harmless
    gone(pids, root, "module stop")

    with pgtmp.start(fsync=True) as pg:
        root = pg.root
        check(pgtmp.psql(pg.url, "SHOW fsync").strip() == "on", "--fsync: fsync on")
        check(pgtmp.psql(pg.url, "SHOW synchronous_commit").strip() == "on", "--fsync: synchronous_commit on")
        pids = server_pids(pg.url)
    gone(pids, root, "context manager")

    with tempfile.TemporaryDirectory() as tmp:
        rc, pids, root, one, url = run_cli(tmp, "0")
        check(rc == 0 and one == "1", "pgtmp -- CMD: SELECT 1, status 0 (%d)" % rc)
        gone(pids, root, "command succeeded")

        rc, pids, root, one, _ = run_cli(tmp, "7")
        check(rc == 7 and one == "1", "a failing command's status comes back (%d)" % rc)
        gone(pids, root, "command failed")

        rc, pids, root, one, _ = run_cli(tmp, "sleep")
        check(rc == 128 + signal.SIGTERM, "SIGTERM to pgtmp: status 143 (%d)" % rc)
        gone(pids, root, "pgtmp terminated")

        # A temp folder the server's account cannot enter (root's TMPDIR): /tmp instead.
        private = os.path.join(tmp, "private")
        os.mkdir(private, 0o700)
        env = {k: v for k, v in os.environ.items() if k != pgtmp.ENV}
        r = subprocess.run([PGTMP, "--", "sh", "-c", "psql -X -A -t -d \"$SCITT_TEST_DATABASE\" -c 'SELECT 1'"],
                           capture_output=True, text=True, env=dict(env, TMPDIR=private))
        check(r.returncode == 0 and r.stdout.strip() == "1", "TMPDIR private to root: still starts (%s)" % r.stderr)

        # Inside an outer pgtmp, the command shares the outer cluster.
        r = subprocess.run([PGTMP, "--", "sh", "-c", "echo $SCITT_TEST_DATABASE"], capture_output=True, text=True,
                           env=dict(os.environ, **{pgtmp.ENV: "postgresql://scitt@127.0.0.1:1/x"}))
        check(r.returncode == 0 and r.stdout.strip() == "postgresql://scitt@127.0.0.1:1/x", "nested pgtmp reuses")

    if failures:
        print("%d checks failed" % len(failures))
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
