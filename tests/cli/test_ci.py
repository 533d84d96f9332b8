"""The client side of CI (issue 20): `--version`; `scitt attest` (hash
envelope, register, wait, FILE.scitt, EntryID; iss/sub from flags or the
CI environment; the exit codes for a rejected statement and an unavailable
service); signers that are not files (--key-env, --signer with raw and DER
output, a failing and a short signer); `scitt verify --artifact` with
--iss/--sub(-prefix) online and offline, and its exit codes for a
substituted artifact and unexpected claims.

Environment: SCITT, SCITTD (set by tests/cli/meson.build).
"""
import os
import re
import shutil
import subprocess
import tempfile

from clitest import SCITT, check, ci_service, finish, free_port, save_keyset, scitt
from harness import SCITTD

HERE = os.path.dirname(os.path.abspath(__file__))
SIGNER = "/usr/bin/python3 " + os.path.join(HERE, "signer_py.py")
GH = {"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/app",
      "GITHUB_SHA": "0123abcd"}


def env(extra=None, drop=("GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_URL")):
    e = {k: v for k, v in os.environ.items() if k not in drop}
    e.update(extra or {})
    return e


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def test_version():
    for prog in (SCITT, SCITTD):
        r = subprocess.run([prog, "--version"], capture_output=True, text=True)
        name = os.path.basename(prog)
        check(r.returncode == 0 and re.fullmatch(name + r" \S+\n", r.stdout) is not None,
              "%s --version prints one version line (%r)" % (name, r.stdout))


def test_attest_and_verify(tmp, srv, key):
    a = write(os.path.join(tmp, "app.tar"), "build 1\n")
    b = write(os.path.join(tmp, "app.sbom"), "sbom 1\n")
    r = scitt("attest", "--url", srv.url, "--key", key, "--iss", "https://ci.example", "--sub",
              "https://git.example/app@1", a, b, env=env())
    check(r.returncode == 0, "attest of two files exits 0 (%s)" % r.stderr.strip())
    lines = r.stdout.splitlines()
    check(len(lines) == 2 and all(re.match(r"\S+ [0-9a-f]{64} leaf \d+ tree \d+$", ln) for ln in lines),
          "attest prints FILE ENTRYID leaf N tree M per file")
    check(os.path.exists(a + ".scitt") and os.path.exists(b + ".scitt"), "attest writes FILE.scitt")

    def verify(*args, artifact=a, stmt=a + ".scitt", keys=srv.url):
        return scitt("verify", "--keys", keys, "--artifact", artifact, *args, stmt)

    r = verify("--iss", "https://ci.example", "--sub-prefix", "https://git.example/app@")
    check(r.returncode == 0 and "artifact: OK" in r.stdout and "iss: OK" in r.stdout and "sub: OK" in r.stdout,
          "verify --artifact --iss --sub-prefix passes and prints its checks (%s)" % (r.stdout + r.stderr))
    # The deploy gate: signed one build, deploying another.
    evil = write(os.path.join(tmp, "evil.tar"), "build 1 with a backdoor\n")
    r = verify(artifact=evil)
    check(r.returncode == 3 and "artifact: FAILED" in r.stdout, "a substituted artifact exits 3 (%d)" % r.returncode)
    r = verify(artifact=b)
    check(r.returncode == 3, "another attested artifact does not pass for this one")
    r = verify("--iss", "https://evil.example")
    check(r.returncode == 4 and "iss: FAILED" in r.stdout, "an unexpected iss exits 4 (%d)" % r.returncode)
    r = verify("--sub", "https://git.example/app")
    check(r.returncode == 4, "--sub is exact: a prefix of the sub does not match it")
    r = verify("--sub-prefix", "https://git.example/other@")
    check(r.returncode == 4, "a wrong --sub-prefix exits 4")
    # Offline, against a saved key set: no server needed.
    keyset = save_keyset(srv.url, os.path.join(tmp, "keys.cbor"))
    r = verify(keys=keyset)
    check(r.returncode == 0 and "receipt 1: OK" in r.stdout, "offline verify against a saved key set passes")
    r = verify(artifact=evil, keys=keyset)
    check(r.returncode == 3, "offline verify of a substituted artifact exits 3")
    # A statement that is not a hash envelope: the attached payload is compared.
    stmt = os.path.join(tmp, "plain.cose")
    r = scitt("sign", "--key", key, "--iss", "https://ci.example", "--sub", "s", "--out", stmt, a)
    r = scitt("register", "--url", srv.url, "--transparent", stmt + ".ts", stmt)
    check(r.returncode == 0, "a plain statement registers")
    check(verify(stmt=stmt + ".ts").returncode == 0, "an attached payload equal to the artifact passes")
    check(verify(stmt=stmt + ".ts", artifact=evil).returncode == 3, "an attached payload that differs exits 3")


def test_ci_env(tmp, srv, key):
    a = write(os.path.join(tmp, "gh.bin"), "github build\n")
    out = os.path.join(tmp, "out")  # made by attest
    r = scitt("attest", "--url", srv.url, "--key", key, "--out-dir", out, "--out-suffix", ".ts", a, env=env(GH))
    check(r.returncode == 0, "attest takes iss and sub from GitHub Actions' environment (%s)" % r.stderr.strip())
    ts = os.path.join(out, "gh.bin.ts")
    r = scitt("verify", "--keys", srv.url, "--artifact", a, "--iss", "https://github.com/acme/app", "--sub",
              "https://github.com/acme/app@0123abcd", ts)
    check(r.returncode == 0, "--out-dir/--out-suffix name the output; iss and sub are the documented ones")
    gl = {"GITLAB_CI": "true", "CI_PROJECT_URL": "https://gitlab.example/acme/app", "CI_COMMIT_SHA": "feed"}
    r = scitt("attest", "--url", srv.url, "--key", key, "--out-suffix", ".gl", a, env=env(gl))
    r2 = scitt("verify", "--keys", srv.url, "--artifact", a, "--sub", "https://gitlab.example/acme/app@feed",
               a + ".gl")
    check(r.returncode == 0 and r2.returncode == 0, "GitLab CI's environment gives iss and sub")
    jk = {"JENKINS_URL": "https://jenkins.example/", "JOB_URL": "https://jenkins.example/job/app/", "GIT_COMMIT": "c0"}
    r = scitt("attest", "--url", srv.url, "--key", key, "--out-suffix", ".jk", a, env=env(jk))
    r2 = scitt("verify", "--keys", srv.url, "--artifact", a, "--iss", "https://jenkins.example/job/app", "--sub",
               "https://jenkins.example/job/app@c0", a + ".jk")
    check(r.returncode == 0 and r2.returncode == 0, "Jenkins' environment gives iss and sub")
    r = scitt("attest", "--url", srv.url, "--key", key, a, env=env())
    check(r.returncode == 2 and "CI environment" in r.stderr, "no flags and no CI: a usage error")
    r = scitt("attest", "--url", srv.url, "--key", key, a, env=env({"GITHUB_ACTIONS": "true"}))
    check(r.returncode == 2 and "GITHUB_SERVER_URL" in r.stderr, "a CI without its variables names the missing one")


def test_exit_codes(tmp, srv):
    a = write(os.path.join(tmp, "x.bin"), "x\n")
    stranger = os.path.join(tmp, "stranger.pem")
    check(scitt("keygen", "--out", stranger).returncode == 0, "keygen")
    r = scitt("attest", "--url", srv.url, "--key", stranger, "--iss", "https://ci.example", "--sub", "s", a)
    check(r.returncode == 5, "a statement the service refuses (unknown issuer key, 4xx) exits 5 (%d: %s)"
          % (r.returncode, r.stderr.strip()))
    dead = "http://127.0.0.1:%d" % free_port()
    r = scitt("attest", "--url", dead, "--key", os.path.join(tmp, "ci.pem"), "--iss", "i", "--sub", "s",
              "--max-wait", "3", a)
    check(r.returncode == 6, "no service listening exits 6 (%d: %s)" % (r.returncode, r.stderr.strip()))


def test_signers(tmp, srv, key):
    a = write(os.path.join(tmp, "s.bin"), "signed elsewhere\n")
    pub = os.path.join(tmp, "ci.pub.pem")
    base = ["attest", "--url", srv.url, "--iss", "https://ci.example", "--sub", "hsm"]
    r = scitt(*base, "--key-env", "CI_SIGNING_KEY", "--out-suffix", ".env", a,
              env=env({"CI_SIGNING_KEY": open(key).read()}))
    check(r.returncode == 0, "--key-env signs with a PEM from the environment (%s)" % r.stderr.strip())
    r = scitt(*base, "--key-env", "NOT_SET_ANYWHERE", a, env=env())
    check(r.returncode == 1 and "NOT_SET_ANYWHERE" in r.stderr, "--key-env of an unset variable says so")
    for mode in ("", " --der"):
        r = scitt(*base, "--signer", SIGNER + " " + key + mode, "--pub", pub, "--out-suffix", ".ext", a)
        r2 = scitt("verify", "--keys", srv.url, "--artifact", a, "--issuer-key", pub, a + ".ext")
        check(r.returncode == 0 and r2.returncode == 0, "--signer with %s output attests (%s)"
              % ("DER" if mode else "raw r||s", r.stderr.strip()))
    r = scitt(*base, "--signer", SIGNER + " --fail", "--pub", pub, a)
    check(r.returncode == 1 and "exit status 3" in r.stderr, "a failing signer: a clear error (%s)" % r.stderr.strip())
    r = scitt(*base, "--signer", SIGNER + " --short", "--pub", pub, a)
    check(r.returncode == 1 and "10 bytes" in r.stderr, "a short signature: a clear error (%s)" % r.stderr.strip())
    other = os.path.join(tmp, "other.pem")
    scitt("keygen", "--out", other)
    r = scitt(*base, "--signer", SIGNER + " " + other, "--pub", pub, a)
    check(r.returncode == 1 and "does not verify" in r.stderr, "a signer with the wrong key is caught before use")
    r = scitt(*base, "--signer", SIGNER + " " + key, a)
    check(r.returncode == 2, "--signer without --pub or --x5chain is a usage error")
    sig = os.path.join(tmp, "s.cose")
    r = scitt("sign", "--signer", SIGNER + " " + key, "--pub", pub, "--iss", "i", "--sub", "s", "--out", sig, a)
    check(r.returncode == 0 and os.path.getsize(sig) > 0, "scitt sign takes --signer too")


def main():
    test_version()
    tmp = tempfile.mkdtemp(prefix="scitt-ci-")
    srv = None
    try:
        srv, key = ci_service(tmp)
        test_attest_and_verify(tmp, srv, key)
        test_ci_env(tmp, srv, key)
        test_exit_codes(tmp, srv)
        test_signers(tmp, srv, key)
    finally:
        if srv is not None:
            srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


main()
