#!/usr/bin/python3
"""`scitt verify --witness VKEY... --witness-threshold K` (issue 21).

A receipt signs a per-batch root, not a checkpoint: verify fetches the log's
/checkpoint, demands K cosignatures from the listed witnesses and proves the
receipt's root consistent with it from the log's tiles.

- scittd with two `scitt witness`; a receipt at size 1 (consistency proof
  to the cosigned size 3) and one at size 3 (equal roots) verify with
  threshold 2 (exit 0).
- Threshold 3 with a third listed witness that never cosigned: exit 16.
- A receipt from a fork (the same service keys, another history) verifies
  as a receipt but not against the witnessed log: exit 11.

Environment: SCITT, SCITTD.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import check, copy_service_keys, finish, scitt  # noqa: E402
from witnesses import WitnessedLog, get  # noqa: E402


def transparent(srv, issuer, tag, tmp):
    stmt = issuer.statements(1, tag)[0]
    out = os.path.join(tmp, os.path.basename(stmt) + ".ts")
    r = scitt("register", "--url", srv.base, "--transparent", out, stmt)
    assert r.returncode == 0, r.stderr
    return out


def cosigned_at(srv, size, names):
    deadline = time.time() + 30
    while time.time() < deadline:
        note = get(srv.base + "/checkpoint").decode()
        signers = {ln.split(" ")[1] for ln in note.partition("\n\n")[2].splitlines()}
        if int(note.split("\n")[1]) >= size and set(names) <= signers:
            return True
        time.sleep(0.1)
    return False


def main():
    log = WitnessedLog()
    tmp, issuer, server = log.tmp, log.issuer, log.server
    data, fork_data = os.path.join(tmp, "data"), os.path.join(tmp, "fork")
    try:
        wargs = log.witness(data, 3, 2, 2)  # w3 is listed by the client but never asked
        ws = log.witnesses
        two = ["--witness", ws[0].vkey, "--witness", ws[1].vkey, "--witness-threshold", "2"]
        three = two[:4] + ["--witness", ws[2].vkey, "--witness-threshold", "3"]

        srv = server(data, wargs)
        first = transparent(srv, issuer, "a", tmp)
        transparent(srv, issuer, "b", tmp)
        last = transparent(srv, issuer, "c", tmp)
        check(cosigned_at(srv, 3, [ws[0].name, ws[1].name]), "the checkpoint at 3 carries both cosignatures")

        for ts, what in ((first, "size 1, by a consistency proof"), (last, "size 3, equal roots")):
            r = scitt("verify", "--keys", srv.base, *two, ts)
            check(r.returncode == 0 and "witnessed: tree size" in r.stdout,
                  "verify --witness-threshold 2: a receipt at %s (%d: %s %s)" % (what, r.returncode, r.stdout,
                                                                                   r.stderr))
        r = scitt("verify", "--keys", srv.base, *three, first)
        check(r.returncode == 16 and "NOT WITNESSED (unwitnessed)" in r.stdout,
              "threshold 3 with a witness that never cosigned: exit 16 (%d: %s)" % (r.returncode, r.stdout))
        r = scitt("verify", "--keys", srv.base, "--witness-threshold", "2", first)
        check(r.returncode == 2, "--witness-threshold without --witness is a usage error")

        copy_service_keys(data, fork_data)
        fork = server(fork_data)
        forked = transparent(fork, issuer, "fork", tmp)
        r = scitt("verify", "--keys", fork.base, forked)
        check(r.returncode == 0, "the fork's receipt verifies as a receipt (%s)" % r.stdout)
        r = scitt("verify", "--keys", fork.base, "--url", srv.base, *two, forked)
        check(r.returncode == 11 and "NOT WITNESSED (fork)" in r.stdout,
              "a fork's receipt against the witnessed log: exit 11 (%d: %s)" % (r.returncode, r.stdout))
        r = scitt("verify", "--keys", fork.base, *two, forked)
        check(r.returncode == 16, "the fork's own checkpoint is not cosigned: exit 16 (%d)" % r.returncode)
    finally:
        log.close()
    finish()


main()
