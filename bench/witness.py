#!/usr/bin/python3
"""bench/witness.py: what witnessing costs scittd (issue 21), in one run.

    bench/witness.py [--build DIR] [--duration S] [--samples N] [--pairs N]

1. Registrations/s (bench/loadgen, closed loop, 4 connections x 64 streams,
   fsync on, data under $SCITT_BENCH_DIR or /var/tmp) of scittd without
   witnesses and with three witnesses on loopback (K = 3, the default
   --checkpoint-interval-ms 1000), alternated (none, three, three, none)
   --pairs times, each the best of its runs (the machine is shared: the
   best run is the least disturbed): ratio = three / none.
2. Time from a commit to a /checkpoint carrying K = 3 cosignatures that
   covers it: while loadgen keeps a steady open-loop load (a quarter of the
   witnessed maximum), one statement at a time is registered; its commit
   time is when its 201 arrives (the receipt's tree size S), and /checkpoint
   is polled every 5 ms until it has size >= S and three valid cosignatures
   (checked with the witnesses' keys); p50/p99 over the samples.

The witnesses are three `scitt witness` processes. Ends with one line:
RESULT witness registrations_ratio=... none_per_s=... witnessed_per_s=...
cosigned_p50_ms=... cosigned_p99_ms=... samples=... loadavg=...
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import cbor2  # noqa: E402

import harness  # noqa: E402


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def loadgen_cmd(build, port, issuer, duration, rate=None):
    cmd = [os.path.join(build, "bench", "loadgen"), "--url", "http://127.0.0.1:%d" % port, "--connections", "4",
           "--streams", "64", "--issuer", issuer, "--duration", str(duration)]
    return cmd + (["--rate", str(rate), "--count", str(int(rate * (duration + 1)) + 100)] if rate else
                  ["--count", "60000"])


def loadgen(build, port, issuer, duration):
    out = subprocess.run(loadgen_cmd(build, port, issuer, duration), capture_output=True, text=True,
                         timeout=duration + 120).stdout
    line = [ln for ln in out.splitlines() if ln.startswith("LOADGEN")][-1]
    return float(line.split(" rate=")[1].split()[0])


class Witnesses:
    """Three `scitt witness` processes on loopback, trusting `log_vkey`."""

    def __init__(self, build, work, log_vkey, n=3):
        scitt = os.path.join(build, "tools", "scitt", "scitt")
        self.procs, self.specs, self.names = [], [], []
        for i in range(n):
            name = "bench.example/w%d" % i
            key = os.path.join(work, "w%d.key" % i)
            vkey = subprocess.run([scitt, "witness", "keygen", "--name", name, "--out", key], check=True,
                                  capture_output=True, text=True).stdout.strip()
            port = harness.free_port()
            self.procs.append(subprocess.Popen([scitt, "witness", "--key", key, "--dir", os.path.join(work, "w%d" % i),
                                                "--listen", "127.0.0.1:%d" % port, "--log", log_vkey],
                                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            harness.wait_port(port)
            self.specs.append("%s@http://127.0.0.1:%d" % (vkey, port))
            self.names.append(name)

    def stop(self):
        for p in self.procs:
            p.terminate()
            p.wait()


def cosigned(note, names):
    """Witness names with a cosignature line in `note` (scittd keeps only valid ones)."""
    sigs = note.decode().partition("\n\n")[2].splitlines()
    return {ln[2:].split(" ")[0] for ln in sigs} & set(names)


def latency_samples(srv, issuer, names, k, n):
    out = []
    h = harness.H2(srv.port)
    for i in range(n):
        stmt = issuer.statement("latency %d %f" % (i, time.time()))
        r = h.wait([h.send("POST", "/entries", [("content-type", "application/cose")], stmt)])[0]
        t0 = time.monotonic()
        if r.status != 201:
            print("  sample %d: POST answered %d %r" % (i, r.status, r.body[:200]))
            continue
        rc = cbor2.loads(r.body)
        rc = rc.value if hasattr(rc, "value") else rc
        size = cbor2.loads(rc[1][396][-1][0])[0]
        while True:
            note = h.wait([h.send("GET", "/checkpoint")])[0].body
            if int(note.split(b"\n")[1]) >= size and len(cosigned(note, names)) >= k:
                out.append((time.monotonic() - t0) * 1000)
                break
            if time.monotonic() - t0 > 30:
                print("  sample %d: no checkpoint with %d cosignatures at size %d in 30 s: %r" % (i, k, size, note))
                break
            time.sleep(0.005)
        time.sleep(0.05 + (i % 7) * 0.1)  # spread the samples over the interval
    h.close()
    return sorted(out)


def pct(v, p):
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build-release"))
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--samples", type=int, default=60)
    ap.add_argument("--pairs", type=int, default=2, help="(none, three, three, none) repetitions")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    harness.SCITTD = os.path.join(build, "src", "scittd")
    harness.MAKE_STATEMENT = os.path.join(build, "tests", "integration", "make_statement")
    base = os.environ.get("SCITT_BENCH_DIR", "/var/tmp")
    work = tempfile.mkdtemp(prefix="scitt-bench-witness-", dir=base)
    servers, started = [], []
    try:
        print("bench/witness.py: load average at start %s, %d CPUs" % (loadavg(), os.cpu_count()))
        lg_issuer = os.path.join(work, "lg-issuer")
        subprocess.run([os.path.join(build, "bench", "loadgen"), "--issuer", lg_issuer, "--alg", "ES256",
                        "--keys-only"], check=True, capture_output=True)
        keys = os.path.join(work, "keys")
        os.makedirs(keys)
        iss = harness.Issuer(work)
        for i, d in enumerate((os.path.join(lg_issuer, "keys"), iss.keys_dir)):
            for f in os.listdir(d):
                shutil.copy(os.path.join(d, f), os.path.join(keys, "%d-%s" % (i, f)))
        common = ["--issuer-keys", keys, "--post-rate", "0", "--log-level", "warn"]

        def start(tag, wits=None):
            """scittd on a fresh copy of the keys; `wits`: fresh witnesses (each
            run is another log under the same key: old witness state would
            refuse it as a fork)."""
            args = list(common)
            if wits:
                args += sum((["--witness", s] for s in wits.specs), [])
            srv = harness.Server(work, data=os.path.join(work, "data-" + tag), args=args, lmdb=True).start()
            servers.append(srv)
            return srv

        first = start("keys")  # the service keys, and the vkey the witnesses trust
        vkey = harness.curl(first.base + "/checkpoint.vkey").body.decode().strip()
        first.stop()
        shutil.copytree(os.path.join(work, "data-keys"), os.path.join(work, "keys-template"))

        def fresh(tag, witnessed):
            shutil.copytree(os.path.join(work, "keys-template"), os.path.join(work, "data-" + tag))
            if not witnessed:
                return start(tag), None
            os.makedirs(os.path.join(work, "w-" + tag))
            w = Witnesses(build, os.path.join(work, "w-" + tag), vkey)
            started.append(w)
            return start(tag, w), w

        rates = {False: [], True: []}
        for n, witnessed in enumerate((False, True, True, False) * a.pairs):
            srv, w = fresh("run%d" % n, witnessed)
            r = loadgen(build, srv.port, lg_issuer, a.duration)
            rates[witnessed].append(r)
            print("  %s: %.0f registrations/s (load average %s)" % ("three witnesses" if witnessed else "no witness",
                                                                     r, loadavg()))
            srv.stop()
            if w:
                w.stop()
        none, three = max(rates[False]), max(rates[True])

        srv, wits = fresh("lat", True)
        bg_rate = max(50, int(three / 4))
        bg = subprocess.Popen(loadgen_cmd(build, srv.port, lg_issuer, a.samples * 2 + 30, bg_rate),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(3)  # its statements are signed before its clock starts
        try:
            lat = latency_samples(srv, iss, wits.names, 3, a.samples)
        finally:
            bg.kill()
            bg.wait()
        print("  commit -> checkpoint with 3 cosignatures, under %d registrations/s: %d samples, p50 %.0f ms, "
              "p99 %.0f ms, max %.0f ms" % (bg_rate, len(lat), pct(lat, 50), pct(lat, 99), lat[-1] if lat else 0))
        srv.stop()
        print("RESULT witness registrations_ratio=%.3f none_per_s=%.0f witnessed_per_s=%.0f cosigned_p50_ms=%.0f "
              "cosigned_p99_ms=%.0f samples=%d interval_ms=1000 loadavg=%s" %
              (three / none, none, three, pct(lat, 50), pct(lat, 99), len(lat), loadavg()))
    finally:
        for s in servers:
            s.stop()
        for w in started:
            w.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
