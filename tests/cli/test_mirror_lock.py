"""One process per mirror folder (issue 15 item 7): while `scitt mirror`
works in DIR (following with --dir, or re-serving it with --serve), a second
`scitt mirror` (or a `scitt monitor`) on DIR exits 1 at once with "DIR is in use by pid N"; once the
first has exited, DIR is free again. The log is a static copy (make_log,
read through file://)."""
import os
import signal
import socket
import subprocess
import tempfile
import time

from clitest import SCITT, check, finish, free_port

MAKE_LOG = os.environ["MAKE_LOG"]


def second(mdir, holder, what, *args, cmd="mirror"):
    """Run a second `scitt mirror` (or `scitt monitor`) on mdir: it must exit 1 at once, naming the holder's pid."""
    t0 = time.time()
    p = subprocess.Popen([SCITT, cmd, "--dir", mdir, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        out, err = p.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        check(False, "%s: a second mirror on the folder keeps running" % what)
        return
    want = "%s is in use by pid %d" % (mdir, holder.pid)
    check(p.returncode == 1 and want in err,
          "%s: exit 1 with '%s' (got %s: %s)" % (what, want, p.returncode, err.strip()))
    check(time.time() - t0 < 10, "%s: at once (%.1f s)" % (what, time.time() - t0))


def stop(proc, what):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    check(proc.returncode == 0, "%s stops cleanly on SIGTERM (exit %s)" % (what, proc.returncode))


def wait_for(cond, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def holds(mdir, proc):
    try:
        return open(os.path.join(mdir, "owner.lock")).read().strip() == str(proc.pid)
    except OSError:
        return False


with tempfile.TemporaryDirectory() as tmp:
    log = os.path.join(tmp, "log")
    subprocess.run([MAKE_LOG, os.path.join(tmp, "keys"), log, "40"], check=True)
    url = "file://" + log
    mdir = os.path.join(tmp, "mirror")
    r = subprocess.run([SCITT, "mirror", "--url", url, "--dir", mdir], capture_output=True, text=True)
    check(r.returncode == 0, "the mirror copies the log (%s)" % r.stderr.strip())

    # A mirror following the log (--dir): a second one, and a --serve, are refused.
    follower = subprocess.Popen([SCITT, "mirror", "--url", url, "--dir", mdir, "--follow", "--interval", "1"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        check(wait_for(lambda: holds(mdir, follower)), "the following mirror holds the folder")
        second(mdir, follower, "while following", "--url", url)
        second(mdir, follower, "--serve while following", "--serve", "127.0.0.1:%d" % free_port())
        # scitt monitor follows the same folder format: it takes the lock too.
        watch = os.path.join(tmp, "empty.watch")
        open(watch, "w").write("iss https://nobody.example\n")
        second(mdir, follower, "a monitor while following", "--url", url, "--watch", watch, cmd="monitor")
    finally:
        stop(follower, "the following mirror")

    # A mirror re-serving its copy (--serve): the same.
    port = free_port()
    server = subprocess.Popen([SCITT, "mirror", "--dir", mdir, "--serve", "127.0.0.1:%d" % port],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        check(wait_for(lambda: listening(port)), "mirror --serve listens")
        second(mdir, server, "while serving", "--url", url)
        second(mdir, server, "--serve while serving", "--serve", "127.0.0.1:%d" % free_port())
        check(listening(port), "the serving mirror still serves")
    finally:
        stop(server, "mirror --serve")

    r = subprocess.run([SCITT, "mirror", "--url", url, "--dir", mdir], capture_output=True, text=True)
    check(r.returncode == 0, "once the others exited, the folder is free (%s)" % r.stderr.strip())

finish()
