/*
 * map_growth.c: what a growing LMDB map costs the io loop (issue 15 item 4).
 *
 * GET /checkpoint runs on the io loop: a read transaction, the latest head,
 * the end of the transaction. A growth of the map may only happen with no
 * read transaction open, and a growth that waits for the readers blocks
 * every new one, so the loop waits as long as the longest reader in flight
 * (the answer thread building a batch's receipts, an audit page). This
 * bench runs, on one store in a fresh folder under --dir:
 *  - a writer committing batches of 400-byte entries, as the sequencer does
 *    (nosync: the commits' fsyncs are not what is measured, and the map
 *    fills sooner), at most --rate entries/s;
 *  - a long reader holding a read transaction for --hold-ms, then idle as
 *    long (the answer thread's duty cycle under load);
 *  - the probe: due every millisecond, exactly the store work of GET
 *    /checkpoint (latency: see probe()).
 * Three modes, each for --seconds: `full`, a small map (--map-mib) that
 * grows only when a commit finds it full, waiting for the readers (how the
 * store grew before); `ahead`, the same small map growing ahead of need
 * with no reader in the way (trywrlock); `default`, the default map (256
 * GiB of address space), which does not grow at all.
 *
 *   map_growth [--dir D] [--seconds S] [--map-mib M] [--hold-ms H] [--rate R]
 *
 * Defaults: /var/tmp, 6 s per mode, an 8 MiB map, 100 ms holds, 50,000
 * entries/s (the map then doubles five or six times per mode).
 *
 * One `MAPGROWTH mode=... p50_ms=... p99_ms=... p999_ms=... max_ms=...
 * stalls=... grew_ahead=... grew_full=... map_mib=... entries=...` line per
 * mode (stalls: probes that took over 5 ms), then
 * `RESULT map_growth full_p99_ms=... ahead_p99_ms=... default_p99_ms=... ...`.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/store/tuning.h"
#include "bench.h"
#include "latency.h"
#include "scitt/crypto.h"
#include "scitt/store.h"

#define ENTRY_LEN 400
#define BATCH     100

typedef struct run {
    scitt_store_t *st;
    double seconds, hold_ms, rate;
    atomic_bool stop;
    uint64_t entries;
    bench_lat_t lat;
} run_t;

static void die(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "map_growth: %s: %s\n", what, scitt_strerror(rc));
        exit(1);
    }
}

static void sleep_until(double t)
{
    double d = t - bench_now();
    if (d > 0) {
        usleep((useconds_t)(d * 1e6));
    }
}

static void *writer(void *arg)
{
    run_t *r = arg;
    static uint8_t data[BATCH][ENTRY_LEN], hashes[BATCH][32];
    scitt_span_t entries[BATCH];
    double t0 = bench_now();
    while (!atomic_load(&r->stop)) {
        for (size_t i = 0; i < BATCH; i++) {
            memset(data[i], 0x5a, ENTRY_LEN);
            scitt_store_be64(data[i], r->entries + i);
            scitt_sha256(hashes[i], data[i], ENTRY_LEN);
            entries[i] = scitt_span(data[i], ENTRY_LEN);
        }
        scitt_store_head_t head = {.size = r->entries + BATCH, .time = 1};
        head.receipt_sig = scitt_span("sig", 3);
        head.checkpoint = scitt_span("a checkpoint note\n", 18);
        scitt_store_batch_t b = {r->entries, BATCH, entries, (const uint8_t(*)[32])hashes, NULL, 0, &head, NULL, 0,
                                 0,          NULL,  0};
        die(scitt_store_commit(r->st, &b), "commit");
        r->entries += BATCH;
        sleep_until(t0 + (double)r->entries / r->rate);
    }
    return NULL;
}

static void *long_reader(void *arg)
{
    run_t *r = arg;
    while (!atomic_load(&r->stop)) {
        scitt_store_read_t *rd;
        die(scitt_store_read_begin(r->st, &rd), "read_begin");
        usleep((useconds_t)(r->hold_ms * 1000));
        scitt_store_read_end(rd);
        usleep((useconds_t)(r->hold_ms * 1000));
    }
    return NULL;
}

/* probe: the store work of GET /checkpoint, due once a millisecond. Its
 * latency runs from when it was due if the previous probe was still
 * inside the store then (a stall delays the probes queued behind it, as
 * requests on the loop), else from when it started: on a shared, loaded
 * machine a sleeping thread wakes milliseconds late, which says nothing
 * about the store. */
static void probe(run_t *r)
{
    double t0 = bench_now() + 0.05, prev_end = 0;
    for (uint64_t i = 0;; i++) {
        double due = t0 + (double)i * 1e-3;
        if (due > t0 + r->seconds) {
            break;
        }
        sleep_until(due);
        scitt_store_read_t *rd;
        scitt_store_head_t head;
        double start = prev_end > due ? due : bench_now();
        die(scitt_store_read_begin(r->st, &rd), "read_begin");
        int rc = scitt_store_get_latest_head(rd, &head);
        scitt_store_read_end(rd);
        if (rc != SCITT_ENOTFOUND) {
            die(rc, "latest head");
        }
        prev_end = bench_now();
        bench_lat_add(&r->lat, (prev_end - start) * 1e3);
    }
}

static double run_mode(const char *base, const char *mode, size_t map, bool when_full, const run_t *cfg)
{
    char dir[512], cmd[600];
    snprintf(dir, sizeof(dir), "%s/scitt-bench-map-XXXXXX", base);
    if (mkdtemp(dir) == NULL) {
        perror("map_growth: mkdtemp");
        exit(1);
    }
    struct scitt_store_tuning tu = {.map_size = map, .nosync = true, .grow_when_full = when_full};
    scitt_store_config_t sc = {.dir = dir, .tuning = &tu};
    run_t r = {.seconds = cfg->seconds, .hold_ms = cfg->hold_ms, .rate = cfg->rate};
    const char *why = NULL;
    int rc = scitt_store_open(&r.st, &sc, &why);
    if (rc != 0) {
        fprintf(stderr, "map_growth: open: %s (%s)\n", scitt_strerror(rc), why ? why : "");
        exit(1);
    }
    bench_lat_init(&r.lat, (size_t)(cfg->seconds * 1000) + 16);
    pthread_t w, l;
    pthread_create(&w, NULL, writer, &r);
    pthread_create(&l, NULL, long_reader, &r);
    probe(&r);
    atomic_store(&r.stop, true);
    pthread_join(w, NULL);
    pthread_join(l, NULL);
    size_t stalls = 0;
    for (size_t i = 0; i < r.lat.num; i++) {
        stalls += r.lat.ms[i] > 5.0;
    }
    bench_lat_summary_t s;
    bench_lat_summarise(&r.lat, &s);
    scitt_store__lmdb_map_stats_t ms;
    scitt_store__lmdb_map_stats(r.st, &ms);
    printf("MAPGROWTH mode=%s p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f stalls=%zu samples=%zu "
           "grew_ahead=%llu grew_full=%llu map_mib=%zu entries=%llu\n",
           mode, s.p50, s.p99, s.p999, s.max, stalls, s.num, (unsigned long long)ms.grew_ahead,
           (unsigned long long)ms.grew_full, ms.size >> 20, (unsigned long long)r.entries);
    fflush(stdout);
    bench_lat_cleanup(&r.lat);
    scitt_store_close(r.st);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "map_growth: cannot remove %s\n", dir);
    }
    return s.p99;
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {{"dir", 1, 0, 'd'},     {"seconds", 1, 0, 's'}, {"map-mib", 1, 0, 'm'},
                                          {"hold-ms", 1, 0, 'h'}, {"rate", 1, 0, 'r'},    {0, 0, 0, 0}};
    const char *base = "/var/tmp";
    run_t cfg = {.seconds = 6, .hold_ms = 100, .rate = 50000};
    size_t map_mib = 8;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        if (ch == 'd') {
            base = optarg;
        } else if (ch == 's') {
            cfg.seconds = strtod(optarg, NULL);
        } else if (ch == 'm') {
            map_mib = strtoul(optarg, NULL, 10);
        } else if (ch == 'h') {
            cfg.hold_ms = strtod(optarg, NULL);
        } else if (ch == 'r') {
            cfg.rate = strtod(optarg, NULL);
        } else {
            fprintf(stderr, "usage: map_growth [--dir D] [--seconds S] [--map-mib M] [--hold-ms H] [--rate R]\n");
            return 2;
        }
    }
    if (cfg.seconds <= 0 || cfg.seconds > 60 || map_mib == 0 || cfg.hold_ms < 0 || cfg.hold_ms > 1000 ||
        cfg.rate <= 0) {
        fprintf(stderr, "map_growth: 0..60 seconds, a map of 1 MiB or more, 0..1000 ms holds, a rate > 0\n");
        return 2;
    }
    size_t map = map_mib << 20;
    double full = run_mode(base, "full", map, true, &cfg);
    double ahead = run_mode(base, "ahead", map, false, &cfg);
    double dflt = run_mode(base, "default", 0, false, &cfg);
    printf("RESULT map_growth full_p99_ms=%.3f ahead_p99_ms=%.3f default_p99_ms=%.3f hold_ms=%g map_mib=%zu "
           "rate=%g seconds=%g\n",
           full, ahead, dflt, cfg.hold_ms, map_mib, cfg.rate, cfg.seconds);
    return 0;
}
