/*
 * bench_seq.c: sequencer throughput in entries per second, from submission
 * to completion with a verified receipt in hand, fed with pre-verified
 * ~400-byte entries (scitt_seq__submit_entry: no signatures to check), on
 * the local disk with fsync, for batch limits 1, 64, 1024 and 16384; then
 * the same with MDB_NOSYNC as the ceiling measured in the same run. Each
 * configuration runs on a fresh store in a temporary folder under
 * $SCITT_BENCH_DIR (default /var/tmp, a real disk here; /tmp may be tmpfs
 * elsewhere) for a fixed time, then stops the pipeline, which drains it.
 *
 * The entries are signed-statement shaped (COSE_Sign1 with a protected
 * header of 16 issuers, 64 kids, subjects "pkg/N" that are all distinct,
 * distinct ~250-byte payloads; the signature bytes are filler, nothing
 * verifies them), so the sequencer computes four index keys per entry
 * (issue 10): scitt_seq__submit_entry decodes each statement and hashes
 * its fields, here on the submitting thread (the verify pool's threads in
 * the server). At batch 1024 with fsync the same load also runs with the
 * indexes off (bench_no_index), alternating, best of two each.
 *
 *   bench_seq [--database URI]
 *
 * With --database (or $SCITT_BENCH_DATABASE), a libpq URI of a PostgreSQL
 * server that may create databases (tests/tools/pgtmp --fsync starts one with
 * fsync and synchronous_commit on), the same load at batch 1024 with indexes
 * also runs on the PostgreSQL engine, each run in a database of its own
 * (CREATE DATABASE through psql, dropped after), best of two; it is judged
 * against LMDB's figure and against this machine's ES256 verification rate
 * on all cores, measured in the same run (bench/verify.h). The issue 17 goal
 * is pg_verify_ratio >= 2: one database keeps up with two front ends.
 *
 * Last line: RESULT sequencer sync_entries_per_s=<fsync rate at 1024>
 * sync_ratio=<fsync rate / no-sync rate at 1024> nosync_entries_per_s=<n>
 * index_ratio=<fsync rate at 1024 with indexes / without>
 * noindex_entries_per_s=<fsync rate at 1024 without indexes>
 * and with a database: verify_per_s=<ES256 verifications/s, all cores>
 * pg_sync_entries_per_s=<PostgreSQL rate at 1024 with indexes>
 * pg_lmdb_ratio=<that / LMDB's best figure of the same configuration (of
 * sync_entries_per_s and the indexes-on runs)> pg_verify_ratio=<that / verify_per_s>
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/seq/internal.h"
#include "../src/store/tuning.h"
#include "bench.h"
#include "scitt/cond.h"
#include "shaped.h"
#include "verify.h"

#define ENTRY_LEN 400
typedef struct run {
    atomic_uint_fast64_t done;
    atomic_uint_fast64_t failed;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* a completion freed room */
} run_t;

static void die(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "bench_seq: %s: %s\n", what, scitt_err_name(rc));
        exit(1);
    }
}

static void on_done(void *ctx, const scitt_seq_result_t *res)
{
    run_t *r = ctx;
    if (res->rc != 0 || res->receipt.len == 0) {
        atomic_fetch_add(&r->failed, 1);
    }
    uint64_t n = atomic_fetch_add_explicit(&r->done, 1, memory_order_relaxed);
    if ((n & 63) == 0) {
        pthread_mutex_lock(&r->lock);
        pthread_cond_signal(&r->cond);
        pthread_mutex_unlock(&r->lock);
    }
}

/* psql runs one SQL statement on `url` through psql; exits on failure. */
static void psql(const char *url, const char *sql)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "psql -X -q -v ON_ERROR_STOP=1 -d '%s' -c '%s' >/dev/null", url, sql);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench_seq: psql failed: %s\n", sql);
        exit(1);
    }
}

/* with_dbname writes `url` naming database `name` instead to `out`: a URI's
 * path is replaced; a key=value string gets a later dbname, which wins. */
static void with_dbname(char *out, size_t cap, const char *url, const char *name)
{
    const char *scheme = strstr(url, "://");
    if (scheme == NULL) {
        snprintf(out, cap, "%s dbname=%s", url, name);
        return;
    }
    const char *host = scheme + 3;
    size_t host_len = strcspn(host, "/?");
    const char *query = strchr(host + host_len, '?');
    snprintf(out, cap, "%.*s/%s%s", (int)(host + host_len - url), url, name, query != NULL ? query : "");
}

/* measure runs one configuration for `seconds` and returns entries/s: on
 * LMDB in a fresh folder under `base`, or with `database` (a server URI) in
 * a fresh PostgreSQL database there (the folder then holds only the keys). */
static double measure(const char *base, const char *database, size_t batch_max, bool nosync, bool no_index,
                      double seconds, uint64_t *out_batches)
{
    char dir[512], cmd[600], dbname[64], dburl[1024], sql[128];
    snprintf(dir, sizeof(dir), "%s/scitt-bench-seq-XXXXXX", base);
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
    struct scitt_store_tuning tu = {.map_size = (size_t)4 << 30, .nosync = nosync};
    scitt_store_config_t sc = {.dir = dir, .tuning = &tu};
    if (database != NULL) {
        snprintf(dbname, sizeof(dbname), "bench_seq_%ld_%d", (long)getpid(), rand() & 0xffffff);
        snprintf(sql, sizeof(sql), "CREATE DATABASE %s", dbname);
        psql(database, sql);
        with_dbname(dburl, sizeof(dburl), database, dbname);
        sc.database = dburl;
    }
    scitt_store_t *st;
    scitt_seq_keys_t keys;
    scitt_seq_t *seq;
    die(scitt_store_open(&st, &sc, NULL), "store");
    die(scitt_seq_keys_load(&keys, dir, st, NULL), "keys");
    /* Room for one batch committing and the next filling, and not much more:
     * a deep queue would only add a long drain at the end. */
    size_t max_pending = 3 * batch_max + 256;
    scitt_seq_config_t cfg = {
        .store = st, .keys = &keys, .batch_max = batch_max, .max_pending = max_pending, .bench_no_index = no_index};
    die(scitt_seq_start(&seq, &cfg, NULL), "start");

    run_t r = {0};
    pthread_mutex_init(&r.lock, NULL);
    scitt_cond_init(&r.cond);
    shaped_t t;
    uint8_t entry[32];
    shaped_init(&t, ENTRY_LEN, 16);
    uint64_t n = 0;
    double t0 = bench_now(), deadline = t0 + seconds;
    while (bench_now() < deadline) {
        shaped_make(&t, n);
        scitt_sha256(entry, t.stmt, t.len);
        int rc = scitt_seq__submit_entry(seq, t.stmt, t.len, entry, on_done, &r);
        if (rc == SCITT_EFULL) {
            pthread_mutex_lock(&r.lock);
            struct timespec ts;
            scitt_deadline(&ts, 1000000);
            pthread_cond_timedwait(&r.cond, &r.lock, &ts);
            pthread_mutex_unlock(&r.lock);
            continue;
        }
        die(rc, "submit");
        n++;
    }
    scitt_seq_stop(seq); /* drains: everything submitted is committed and answered */
    double dt = bench_now() - t0;
    scitt_seq_stats_t stats;
    scitt_seq_stats(seq, &stats);
    *out_batches = stats.batches;
    if (atomic_load(&r.failed) != 0 || atomic_load(&r.done) != n || stats.tree_size != n) {
        fprintf(stderr, "bench_seq: %llu of %llu entries failed or went missing\n",
                (unsigned long long)atomic_load(&r.failed), (unsigned long long)n);
        exit(1);
    }
    scitt_seq_free(seq);
    shaped_free(&t);
    scitt_seq_keys_cleanup(&keys);
    scitt_store_close(st);
    pthread_mutex_destroy(&r.lock);
    pthread_cond_destroy(&r.cond);
    if (database != NULL) {
        snprintf(sql, sizeof(sql), "DROP DATABASE %s", dbname);
        psql(database, sql);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench_seq: cannot remove %s\n", dir);
    }
    return (double)n / dt;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *database = getenv("SCITT_BENCH_DATABASE");
    if (argc == 3 && strcmp(argv[1], "--database") == 0) {
        database = argv[2];
    } else if (argc != 1) {
        fprintf(stderr, "usage: bench_seq [--database URI]\n");
        return 2;
    }
    if (database != NULL && database[0] == '\0') {
        database = NULL;
    }
    srand((unsigned)getpid());
    const char *base = getenv("SCITT_BENCH_DIR") != NULL ? getenv("SCITT_BENCH_DIR") : "/var/tmp";
    const char *secs_env = getenv("SCITT_BENCH_SECONDS");
    double seconds = secs_env != NULL ? atof(secs_env) : 2.0;
    static const size_t batches[] = {1, 64, 1024, 16384};
    double rate[2][4];
    printf("sequencer: %d-byte pre-verified entries, %.1f s per configuration, stores under %s\n", ENTRY_LEN, seconds,
           base);
    /* "sync:1024" or "nosync:64": one configuration, for perf; on PostgreSQL with a database */
    const char *only = getenv("SCITT_BENCH_ONLY");
    if (only != NULL) {
        bool nosync = strncmp(only, "nosync:", 7) == 0;
        uint64_t num_batches;
        bool no_index = getenv("SCITT_BENCH_NO_INDEX") != NULL;
        double r =
            measure(base, database, strtoul(strchr(only, ':') + 1, NULL, 10), nosync, no_index, seconds, &num_batches);
        printf("  %s: %.0f entries/s (%llu batches)\n", only, r, (unsigned long long)num_batches);
        return 0;
    }
    for (int nosync = 0; nosync < 2; nosync++) {
        for (size_t i = 0; i < scitt_countof(batches); i++) {
            uint64_t num_batches;
            rate[nosync][i] = measure(base, NULL, batches[i], nosync, false, seconds, &num_batches);
            printf("  %-7s batch_max %5zu: %10.0f entries/s  (%llu batches)\n", nosync ? "nosync" : "fsync", batches[i],
                   rate[nosync][i], (unsigned long long)num_batches);
        }
    }
    for (size_t i = 0; i < scitt_countof(batches); i++) {
        printf("  batch_max %5zu: fsync / no-sync = %.2f\n", batches[i], rate[0][i] / rate[1][i]);
    }
    /* Indexes on and off at 1024 with fsync, alternating, best of two. */
    double on = 0, off = 0;
    for (int k = 0; k < 2; k++) {
        uint64_t num_batches;
        double r = measure(base, NULL, 1024, false, true, seconds, &num_batches);
        printf("  fsync   batch_max  1024, indexes off: %10.0f entries/s\n", r);
        off = r > off ? r : off;
        r = measure(base, NULL, 1024, false, false, seconds, &num_batches);
        printf("  fsync   batch_max  1024, indexes on:  %10.0f entries/s\n", r);
        on = r > on ? r : on;
    }
    printf("  indexes on / off at 1024 with fsync = %.2f\n", on / off);
    double verify = 0, pg = 0;
    double lmdb = on > rate[0][2] ? on : rate[0][2]; /* the best LMDB figure of the same configuration */
    if (database != NULL) {
        /* PostgreSQL at 1024 with indexes, best of two, between two
         * measurements of the verification rate (the better one counts:
         * other work on a shared machine can take a core for a while). */
        verify = verify_all_cores(SCITT_ALG_ES256, 2.0);
        for (int k = 0; k < 2; k++) {
            uint64_t num_batches;
            double r = measure(base, database, 1024, false, false, seconds, &num_batches);
            printf("  postgresql batch_max 1024, indexes on: %10.0f entries/s  (%llu batches)\n", r,
                   (unsigned long long)num_batches);
            pg = r > pg ? r : pg;
        }
        double v2 = verify_all_cores(SCITT_ALG_ES256, 2.0);
        verify = v2 > verify ? v2 : verify;
        printf("  ES256 verifications on all cores: %.0f/s\n", verify);
        printf("  postgresql / lmdb (fsync, 1024, indexes: best %.0f) = %.2f; postgresql / verify rate = %.2f (goal >= "
               "2)\n",
               lmdb, pg / lmdb, pg / verify);
    }
    printf("RESULT sequencer sync_entries_per_s=%.0f sync_ratio=%.2f nosync_entries_per_s=%.0f index_ratio=%.2f "
           "noindex_entries_per_s=%.0f",
           rate[0][2], rate[0][2] / rate[1][2], rate[1][2], on / off, off);
    if (database != NULL) {
        printf(" verify_per_s=%.0f pg_sync_entries_per_s=%.0f pg_lmdb_ratio=%.2f pg_verify_ratio=%.2f", verify, pg,
               pg / lmdb, pg / verify);
    }
    printf("\n");
    return 0;
}
