/*
 * bench_index.c: index query latency (issue 10) on a log of 1M entries in
 * which one issuer has every entry. The store (MDB_NOSYNC, a temporary
 * folder under $SCITT_BENCH_DIR, default /var/tmp) is filled directly with
 * scitt_store_commit in batches of 1024 small entries, each with four index
 * records as the sequencer writes them: that issuer, one of 64 kids, a
 * distinct subject "pkg/N" and a distinct artifact; four batches per
 * second of registration time. Then, with limit 100, each query runs 200
 * times in its own read transaction and the mean is reported:
 *
 *   first  the issuer, first page
 *   deep   the issuer, from leaf 700000 (a cursor deep in the log)
 *   and    the issuer AND one subject (1 match)
 *   time   the issuer within a 60-second window in the middle
 *
 * Last line: RESULT index entries=<n> query_first_ms=... query_deep_ms=...
 * query_and_ms=... query_time_ms=... runs=<runs a query visits>
 * fill_entries_per_s=<nosync commit rate with indexes>
 */
#include <stdio.h>
#include <stdlib.h>

#include "../src/store/tuning.h"
#include "bench.h"
#include "scitt/crypto.h"
#include "scitt/store.h"

#define BATCH 1024
#define T0    1700000000

static void die(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "bench_index: %s: %s\n", what, scitt_err_name(rc));
        exit(1);
    }
}

static uint64_t key_str(unsigned field, const char *s)
{
    return scitt_store_index_key(field, (const uint8_t *)s, strlen(s));
}

static double query_ms(scitt_store_t *st, const scitt_store_query_t *q, size_t want)
{
    enum { REPS = 200 };
    uint64_t out[100], next;
    double t0 = bench_now();
    for (int i = 0; i < REPS; i++) {
        scitt_store_read_t *rd;
        size_t n;
        die(scitt_store_read_begin(st, &rd), "read");
        die(scitt_store_query(rd, q, out, 100, &n, &next), "query");
        scitt_store_read_end(rd);
        if (n != want) {
            fprintf(stderr, "bench_index: a query found %zu leaves, expected %zu\n", n, want);
            exit(1);
        }
    }
    return (bench_now() - t0) * 1e3 / REPS;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *base = getenv("SCITT_BENCH_DIR") != NULL ? getenv("SCITT_BENCH_DIR") : "/var/tmp";
    const char *n_env = getenv("SCITT_BENCH_ENTRIES");
    uint64_t total = n_env != NULL ? strtoull(n_env, NULL, 10) : 1000000;
    char dir[512], cmd[600];
    snprintf(dir, sizeof(dir), "%s/scitt-bench-index-XXXXXX", base);
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    struct scitt_store_tuning tu = {.map_size = (size_t)4 << 30, .nosync = true};
    scitt_store_config_t sc = {.dir = dir, .tuning = &tu};
    scitt_store_t *st;
    die(scitt_store_open(&st, &sc, NULL), "store");

    static uint8_t data[BATCH][48], hashes[BATCH][32];
    static scitt_span_t entries[BATCH];
    static scitt_store_index_rec_t recs[4 * BATCH];
    uint64_t iss = key_str(SCITT_INDEX_ISS, "https://big-issuer.example"), kids[64];
    for (int k = 0; k < 64; k++) {
        char kid[16];
        snprintf(kid, sizeof(kid), "kid-%d", k);
        kids[k] = key_str(SCITT_INDEX_KEY, kid);
    }
    uint8_t tile[256][32];
    memset(tile, 0x11, sizeof(tile));
    double fill_s = 0;
    for (uint64_t first = 0; first < total; first += BATCH) {
        size_t num = total - first < BATCH ? (size_t)(total - first) : BATCH;
        for (size_t i = 0; i < num; i++) {
            uint64_t leaf = first + i;
            char sub[32];
            memset(data[i], 0x5a, sizeof(data[i]));
            scitt_store_be64(data[i], leaf);
            entries[i] = scitt_span(data[i], sizeof(data[i]));
            scitt_sha256(hashes[i], data[i], sizeof(data[i]));
            snprintf(sub, sizeof(sub), "pkg/%llu", (unsigned long long)leaf);
            recs[4 * i] = (scitt_store_index_rec_t){iss, leaf};
            recs[4 * i + 1] = (scitt_store_index_rec_t){kids[leaf % 64], leaf};
            recs[4 * i + 2] = (scitt_store_index_rec_t){key_str(SCITT_INDEX_SUB, sub), leaf};
            recs[4 * i + 3] =
                (scitt_store_index_rec_t){scitt_store_index_key(SCITT_INDEX_ARTIFACT, hashes[i], 32), leaf};
        }
        scitt_store_tile_t t = {0, (first + num - 1) / 256, 256, (const uint8_t(*)[32])tile};
        scitt_store_head_t head = {.size = first + num, .time = T0 + (int64_t)(first / BATCH / 4)};
        head.receipt_sig = scitt_span("sig", 3);
        head.checkpoint = scitt_span("note\n", 5);
        scitt_store_batch_t b = {first, num,  entries, (const uint8_t(*)[32])hashes, &t, 1, &head, recs, 4 * num,
                                 0,     NULL, 0};
        double t0 = bench_now();
        die(scitt_store_commit(st, &b), "commit");
        fill_s += bench_now() - t0;
    }
    scitt_store_read_t *rd;
    scitt_store_index_stats_t stats;
    die(scitt_store_read_begin(st, &rd), "read");
    die(scitt_store_index_stats(rd, &stats), "stats");
    scitt_store_read_end(rd);
    printf("index: %llu entries, 4 records each, filled at %.0f entries/s (nosync, commit time only); "
           "%zu runs (%zu final, max level %u)\n",
           (unsigned long long)total, (double)total / fill_s, stats.runs, stats.final_runs, stats.max_level);

    uint64_t keys[2] = {iss, 0};
    scitt_store_query_t q = {.keys = keys, .num_keys = 1};
    double first_ms = query_ms(st, &q, 100);
    q.from = total * 7 / 10;
    double deep_ms = query_ms(st, &q, 100);
    char sub[32];
    snprintf(sub, sizeof(sub), "pkg/%llu", (unsigned long long)(total * 7 / 9));
    keys[1] = key_str(SCITT_INDEX_SUB, sub);
    q = (scitt_store_query_t){.keys = keys, .num_keys = 2};
    double and_ms = query_ms(st, &q, 1);
    int64_t mid = T0 + (int64_t)(total / BATCH / 8);
    q = (scitt_store_query_t){.keys = keys, .num_keys = 1, .since = mid, .until = mid + 60};
    double time_ms = query_ms(st, &q, 100);
    printf("  issuer, first page of 100:            %.4f ms\n", first_ms);
    printf("  issuer, page of 100 from leaf %llu:   %.4f ms\n", (unsigned long long)(total * 7 / 10), deep_ms);
    printf("  issuer AND subject (1 match):         %.4f ms\n", and_ms);
    printf("  issuer within 60 s, first page of 100: %.4f ms\n", time_ms);
    printf("RESULT index entries=%llu query_first_ms=%.4f query_deep_ms=%.4f query_and_ms=%.4f query_time_ms=%.4f "
           "runs=%zu fill_entries_per_s=%.0f\n",
           (unsigned long long)total, first_ms, deep_ms, and_ms, time_ms, stats.runs, (double)total / fill_s);
    scitt_store_close(st);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench_index: cannot remove %s\n", dir);
    }
    return 0;
}
