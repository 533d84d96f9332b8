"""examples/ci's plain shell steps run as written (issue 20): attest.sh at
build against a local scittd, verify.sh at deploy online and offline (a
saved key set), with the expectations a pipeline sets; a substituted
artifact, and one with an unexpected subject, fail with the exit codes
docs/CI.md gives (3 and 4).

Environment: SCITT, SCITTD (set by tests/cli/meson.build).
"""
import os
import shutil
import subprocess
import tempfile

from clitest import SCITT, check, ci_service, finish, save_keyset

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "ci")


def step(name, files, env):
    full = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_URL")}
    full.update(env, SCITT=SCITT)
    return subprocess.run(["sh", os.path.join(EXAMPLES, name), *files], capture_output=True, text=True, env=full)


def main():
    tmp = tempfile.mkdtemp(prefix="scitt-ci-example-")
    srv = None
    try:
        srv, key = ci_service(tmp)
        dist = os.path.join(tmp, "dist")
        os.makedirs(dist)
        files = []
        for name in ("app.tar.gz", "app.sbom.json"):
            files.append(os.path.join(dist, name))
            with open(files[-1], "w") as f:
                f.write("contents of %s\n" % name)

        # Build: a GitHub Actions run (its variables give iss and sub).
        gh = {"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/app",
              "GITHUB_SHA": "5ca1ab1e"}
        r = step("attest.sh", files, dict(gh, SCITT_URL=srv.url, SCITT_SIGNING_KEY=open(key).read()))
        check(r.returncode == 0 and len(r.stdout.splitlines()) == 2,
              "attest.sh attests both artifacts (%s)" % (r.stdout + r.stderr).strip())
        check(all(os.path.exists(f + ".scitt") for f in files), "attest.sh leaves FILE.scitt beside each artifact")

        # Deploy: online, then offline against the key set saved once.
        expect = {"SCITT_EXPECT_ISS": "https://github.com/acme/app",
                  "SCITT_EXPECT_SUB_PREFIX": "https://github.com/acme/app@"}
        r = step("verify.sh", files, dict(expect, SCITT_KEYS=srv.url))
        check(r.returncode == 0 and r.stdout.count("artifact: OK") == 2,
              "verify.sh passes the attested artifacts (%s)" % (r.stdout + r.stderr).strip())
        keyset = save_keyset(srv.url, os.path.join(tmp, "scitt-keys.cbor"))
        r = step("verify.sh", files, dict(expect, SCITT_KEYS=keyset))
        check(r.returncode == 0, "verify.sh passes offline with a saved key set")

        # Signed one build, deployed another.
        with open(files[0], "w") as f:
            f.write("contents of app.tar.gz, with a backdoor\n")
        r = step("verify.sh", files, dict(expect, SCITT_KEYS=keyset))
        check(r.returncode == 3 and "artifact: FAILED" in r.stdout,
              "a substituted artifact fails verify.sh with exit status 3 (%d)" % r.returncode)
        r = step("verify.sh", files[1:], dict(SCITT_KEYS=keyset, SCITT_EXPECT_SUB_PREFIX="https://github.com/evil/"))
        check(r.returncode == 4, "an artifact of another repository fails with exit status 4 (%d)" % r.returncode)
        r = step("verify.sh", files, {})
        check(r.returncode != 0 and "SCITT_KEYS" in r.stderr, "verify.sh without SCITT_KEYS says what is missing")
    finally:
        if srv is not None:
            srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


main()
