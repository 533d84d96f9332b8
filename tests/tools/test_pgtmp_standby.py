"""Self-test of tests/tools/pgtmp --standby and its Pair (suite pg, issue 18):
a primary with a synchronous standby, the multi-host URI reaching the
primary, a committed row surviving kill -9 of the primary and the standby's
promotion, writes going on after it, and no server process or folder left
behind, as a module and from the command line."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_pgtmp as t  # noqa: E402  (its pgtmp module, check, gone)

pgtmp, check = t.pgtmp, t.check


def pids_of(data):
    """The postmaster of data folder `data` and its children."""
    with open(os.path.join(data, "postmaster.pid")) as f:
        pm = int(f.readline())
    kids = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open("/proc/%s/stat" % p) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pm:
                        kids.append(int(p))
            except (OSError, IndexError, ValueError):
                pass
    return [pm] + kids

PROBE = r"""
import os, sys
sys.path.insert(0, %r)
import test_pgtmp_standby as s
import test_pgtmp as t
e = os.environ
url = e["SCITT_TEST_DATABASE"]
primary = "postgresql://scitt@127.0.0.1:%%s/postgres" %% e["SCITT_PG_PRIMARY_PORT"]
standby = "postgresql://scitt@127.0.0.1:%%s/postgres" %% e["SCITT_PG_STANDBY_PORT"]
with open(sys.argv[1], "w") as f:
    f.write(" ".join(map(str, s.pids_of(e["SCITT_PG_PRIMARY_DATA"]) + s.pids_of(e["SCITT_PG_STANDBY_DATA"]))) + "\n")
    f.write(t.pgtmp.psql(url, "SELECT inet_server_port()").strip() + "\n")
    f.write(e["SCITT_PG_PRIMARY_PORT"] + "\n")
    f.write(t.pgtmp.psql(primary, "SELECT sync_state FROM pg_stat_replication").strip() + "\n")
    f.write(t.pgtmp.psql(standby, "SELECT pg_is_in_recovery()").strip() + "\n")
    f.write(os.path.dirname(os.path.dirname(e["SCITT_PG_PRIMARY_DATA"])) + " " +
            os.path.dirname(os.path.dirname(e["SCITT_PG_STANDBY_DATA"])) + "\n")
    f.write(url + "\n")
""" % HERE


def main():
    # As a module: a pair, a row, failover, the row and new writes on the new primary.
    pair = pgtmp.start_pair(fsync=False)
    roots = [pair.primary.root, pair.standby.root]
    check(pair.url == "postgresql://scitt@127.0.0.1:%d,127.0.0.1:%d/scitt?target_session_attrs=read-write" %
          (pair.primary.port, pair.standby.port), "multi-host url " + pair.url)
    check(pgtmp.psql(pair.url, "SELECT inet_server_port()").strip() == str(pair.primary.port),
          "the URI reaches the primary")
    check(pgtmp.psql(pair.primary.url, "SHOW synchronous_standby_names").strip() == "FIRST 1 (standby1)" and
          pgtmp.psql(pair.primary.url, "SELECT application_name || ' ' || sync_state FROM pg_stat_replication")
          .strip() == "standby1 sync", "standby1 is the synchronous standby")
    pids = pids_of(pair.primary.data) + pids_of(pair.standby.data)
    pgtmp.psql(pair.url, "CREATE TABLE t (x int); INSERT INTO t VALUES (42)")
    took = pair.fail_over()
    check(pgtmp.psql(pair.url, "SELECT inet_server_port()").strip() == str(pair.standby.port),
          "after fail_over (%.1f s) the URI reaches the promoted standby" % took)
    check(pgtmp.psql(pair.url, "SELECT x FROM t").strip() == "42", "the committed row survived the primary's kill -9")
    pgtmp.psql(pair.url, "INSERT INTO t VALUES (43)")  # alone, it waits for no standby
    check(pgtmp.psql(pair.url, "SELECT count(*) FROM t").strip() == "2", "writes go on after the promotion")
    pair.stop()
    pair.stop()  # twice is harmless
    for r in roots:
        t.gone(pids, r, "pair stop")

    # From the command line: what it exports, and nothing left behind.
    tmp = t.tempfile.mkdtemp()
    probe, out = os.path.join(tmp, "probe.py"), os.path.join(tmp, "probe.out")
    with open(probe, "w") as f:
        f.write(PROBE)
    env = dict(os.environ, **{pgtmp.ENV: "postgresql://ignored@127.0.0.1:1/x"})  # --standby never reuses it
    rc = subprocess.call([t.PGTMP, "--standby", "--", sys.executable, probe, out], env=env, timeout=180)
    lines = open(out).read().splitlines() if os.path.exists(out) else [""] * 7
    check(rc == 0 and lines[1] == lines[2], "cli: SCITT_TEST_DATABASE reaches the primary (%r)" % lines[1:3])
    check(lines[3] == "sync" and lines[4] == "t", "cli: a synchronous standby in recovery")
    check("target_session_attrs=read-write" in lines[6], "cli: multi-host URI " + lines[6])
    for r in lines[5].split():
        t.gone([int(x) for x in lines[0].split()], r, "cli")
    subprocess.call(["rm", "-rf", tmp])
    print("%d checks failed" % len(t.failures) if t.failures else "all checks passed")
    sys.exit(1 if t.failures else 0)


if __name__ == "__main__":
    main()
