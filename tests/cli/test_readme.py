#!/usr/bin/python3
"""The README's own commands work (issue 15, item 8): every fenced block of
README.md is found by its info string and, when it is a shell block, run.

The README's fences say what each block is:

  ```sh             commands: run by this test, in README order, in one bash
                    session (variables and files carry over from block to block)
  ```sh separate    commands run the same way, but each such block in a
                    work folder and bash of its own, with its own scittd port
                    (a block that starts its own server, like the load
                    generator's); skipped when the build lacks a program the
                    block runs (benchmarks off)
  ```sh setup       the set-up commands at the top (they install with apt and
                    run the whole CI): not run here
  ```sh bench       benchmark runs (minutes of load on a separate build): only
                    parsed (bash -n) here; bench/run is their test
  ```text           output or file contents, not run; `text file=NAME` is
                    written to NAME in the work folder before any block runs

A fence without an info string, or with another one, fails the test, so a
new block has to say which it is.

The blocks run in a fresh temporary folder laid out like a checkout:
`build-release` is the build being tested, `tests` the source tests, and
`tools/run` starts that build's scittd (`--listen` on a free port; output
to scittd.log). What is changed, always mechanically:

  - `127.0.0.1:8000` becomes `127.0.0.1:PORT` (a free loopback port);
  - ` --follow` is dropped, so a mirror or monitor does one round and exits;
  - `build-bench/` becomes `build-release/` (the build under test) and
    `--duration N` becomes `--duration 1`;
  - `curl` fails on an HTTP error status (--fail-with-body is added);
  - `scitt` is the built one (on PATH), `python3` the one running this test
    (with python3-cbor2 and python3-cryptography), and `mail` appends what it
    reads to mail.out;
  - before each block the test waits until scittd listens, once a block has
    started it.

Each block runs under `set -e -o pipefail`: every command must succeed (a
README command that may end non-zero says so itself, `|| [ $? = 3 ]`). The
server is stopped at the end, also on failure.

Environment: SCITT, SCITTD (set by tests/cli/meson.build).
"""
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time

from clitest import free_port  # the integration harness's

SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SCITT = os.path.abspath(os.environ["SCITT"])
SCITTD = os.path.abspath(os.environ["SCITTD"])
BUILD = os.path.dirname(os.path.dirname(os.path.dirname(SCITT)))  # BUILD/tools/scitt/scitt
KINDS = {"sh", "sh separate", "sh setup", "sh bench", "text"}


def blocks(path):
    """(line, info string, text) of every fenced block of the Markdown file
    (CommonMark: an opening fence of 3+ backticks has no backtick in its info
    string, and the closing fence is at least as long)."""
    out, fence = [], None
    for n, line in enumerate(open(path, encoding="utf-8").read().split("\n"), 1):
        if fence is None:
            m = re.match(r"^(`{3,})([^`]*)$", line)
            if m:
                fence = (n, m.group(2).strip(), [], m.group(1))
        elif re.match(r"^%s`*\s*$" % fence[3], line):
            out.append((fence[0], fence[1], "\n".join(fence[2]) + "\n"))
            fence = None
        else:
            fence[2].append(line)
    if fence is not None:
        out.append((fence[0], "unterminated", ""))
    return out


def write_exec(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)


def stop_server(pidfile):
    """SIGTERM to the scittd a block started, and wait (10 s) for it to go."""
    if not os.path.exists(pidfile):
        return
    pid = int(open(pidfile).read())
    try:
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            os.kill(pid, 0)
            time.sleep(0.1)
    except ProcessLookupError:
        pass


PRELUDE = r"""
set -e -o pipefail
set -E
trap 'echo "README.md line $readme_line: exit $? from: $BASH_COMMAND" >&2' ERR
curl() { command curl --fail-with-body "$@"; }
readme_wait() {
  [ -n "$!" ] || return 0  # nothing started in the background yet
  for _ in $(seq 300); do
    (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && return 0
    kill -0 "$!" 2>/dev/null || { echo "what the README started in the background exited"; return 1; }
    sleep 0.1
  done
  echo "scittd did not listen on {port}"; return 1
}
"""


def substitute(text, port):
    """The test's mechanical changes to a block (see the header)."""
    text = text.replace("127.0.0.1:8000", "127.0.0.1:%d" % port).replace(" --follow", "")
    text = text.replace("build-bench/", "build-release/")
    return re.sub(r"--duration \d+", "--duration 1", text)


def session(found, runs, label):
    """Runs the blocks `runs` [(line, text)] in one bash in a fresh work
    folder with its own scittd port. Returns the number of failures."""
    port = free_port()
    with tempfile.TemporaryDirectory() as work:
        os.symlink(BUILD, os.path.join(work, "build-release"))
        os.symlink(os.path.join(SRC, "tests"), os.path.join(work, "tests"))
        os.makedirs(os.path.join(work, "tools"))
        os.makedirs(os.path.join(work, "bin"))
        write_exec(os.path.join(work, "tools", "run"),
                   "#!/bin/sh\n# The README test's ./tools/run: the build's scittd on the test's port.\n"
                   "echo $$ > scittd.pid\nexec %s --listen 127.0.0.1:%d \"$@\" >>scittd.log 2>&1\n"
                   % (shlex.quote(SCITTD), port))
        os.symlink(sys.executable, os.path.join(work, "bin", "python3"))
        write_exec(os.path.join(work, "bin", "mail"), "#!/bin/sh\n{ echo \"mail $*\"; cat; echo; } >> mail.out\n")
        for _, info, text in found:
            if info.startswith("text file="):
                with open(os.path.join(work, info[len("text file="):]), "w") as f:
                    f.write(text)
        script = PRELUDE.replace("{port}", str(port))
        for n, text in runs:
            script += "\nreadme_line=%d\necho '== README.md line %d'\nreadme_wait\n%s" % (n, n, substitute(text, port))
        script += "\necho '== all README blocks ran'\n"
        env = dict(os.environ, PATH=os.pathsep.join([os.path.join(work, "bin"), os.path.dirname(SCITT),
                                                     os.environ.get("PATH", "/usr/bin:/bin")]))
        proc = subprocess.Popen(["bash", "-c", script], cwd=work, env=env, start_new_session=True)
        try:
            rc = proc.wait(timeout=240)
        except subprocess.TimeoutExpired:
            rc = "timeout"
        finally:
            stop_server(os.path.join(work, "scittd.pid"))
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # anything else the blocks left running
            except ProcessLookupError:
                pass
            proc.wait()
        if rc != 0:
            log = os.path.join(work, "scittd.log")
            if os.path.exists(log):
                print("-- scittd.log:\n" + open(log).read()[-3000:])
        print("%s: %s (%s)" % ("ok" if rc == 0 else "FAIL", label, "exit 0" if rc == 0 else "exit %s" % rc))
        return rc != 0


def missing_programs(text):
    """The build's programs a block runs that this build lacks (e.g. the
    benchmarks of a -Dbenchmarks=false build)."""
    return sorted({p for p in re.findall(r"build-release/([\w/.-]+)", substitute(text, 0))
                   if not os.path.exists(os.path.join(BUILD, p))})


def main():
    found = blocks(os.path.join(SRC, "README.md"))
    bad = [(n, info) for n, info, _ in found if info not in KINDS and not info.startswith("text file=")]
    if bad:
        for n, info in bad:
            print("FAIL: README.md line %d: fence info %r; mark it %s or text file=NAME"
                  % (n, info, ", ".join(sorted(KINDS))))
        return 1
    runs = [(n, text) for n, info, text in found if info == "sh"]
    if len(runs) < 3:
        print("FAIL: only %d sh blocks in README.md" % len(runs))
        return 1
    failures = 0
    for n, info, text in found:
        if info == "sh bench":
            r = subprocess.run(["bash", "-n"], input=text, text=True, capture_output=True)
            print("%s: README.md line %d (sh bench) parses" % ("ok" if r.returncode == 0 else "FAIL", n))
            failures += r.returncode != 0
    failures += session(found, runs, "the README's %d sh blocks ran against a fresh scittd" % len(runs))
    for n, info, text in found:
        if info == "sh separate":
            lacking = missing_programs(text)
            if lacking:
                print("skip: README.md line %d (sh separate): this build has no %s" % (n, ", ".join(lacking)))
            else:
                failures += session(found, [(n, text)], "README.md line %d (sh separate) ran on its own" % n)
    print("%d checks failed" % failures if failures else "all checks passed")
    return 1 if failures else 0


sys.exit(main())
