/*
 * prefill.c: grow a log to N entries quickly, so the scaling benchmark can
 * start scittd on a log that already holds 1M or 10M entries. Registering
 * that many through HTTP would take hours of signature checks on this
 * machine, so this drives the sequencer directly with pre-verified entries
 * (scitt_seq__submit_entry, as bench/bench_seq.c). The stored statements
 * are signed-statement shaped (bench/shaped.h: one issuer,
 * "https://issuer-00.example", so the audit query for it has N matches;
 * 64 kids; distinct subjects pkg/N) with filler signatures nothing checks;
 * every other structure - entries, entry index keys, index runs, tiles, signed
 * heads and checkpoints - is exactly what registration writes, with the
 * service keys in DIR, so scittd recovers and serves the log as its own.
 *
 *   prefill DIR N [--record-bytes B] [--batch-max M] [--nosync]
 *
 * Grows the log in DIR (created if missing) to N entries; a log that holds
 * N or more already is left as it is. --nosync
 * (MDB_NOSYNC) makes the prefill itself faster; the data is durable once
 * the caller runs `sync`, as bench/run does before measuring.
 */
#include <getopt.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../src/seq/internal.h"
#include "../src/store/tuning.h"
#include "bench.h"
#include "shaped.h"

typedef struct fill {
    atomic_uint_fast64_t done, failed;
} fill_t;

static void die(int rc, const char *what, const char *why)
{
    if (rc != 0) {
        fprintf(stderr, "prefill: %s: %s%s%s\n", what, scitt_err_name(rc), why != NULL ? ": " : "",
                why != NULL ? why : "");
        exit(1);
    }
}

static void on_done(void *ctx, const scitt_seq_result_t *res)
{
    fill_t *f = ctx;
    if (res->rc != 0) {
        atomic_fetch_add(&f->failed, 1);
    }
    atomic_fetch_add_explicit(&f->done, 1, memory_order_relaxed);
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"record-bytes", 1, 0, 'b'}, {"batch-max", 1, 0, 'm'}, {"nosync", 0, 0, 'S'}, {0, 0, 0, 0}};
    size_t record_len = 250, batch_max = 16384;
    bool nosync = false;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        if (ch == 'b') {
            record_len = strtoull(optarg, NULL, 10);
        } else if (ch == 'm') {
            batch_max = strtoull(optarg, NULL, 10);
        } else if (ch == 'S') {
            nosync = true;
        } else {
            optind = argc + 1;
            break;
        }
    }
    if (argc - optind != 2 || record_len < 160 || record_len > 65536 || batch_max == 0) {
        fprintf(stderr, "usage: prefill DIR N [--record-bytes B (160..65536)] [--batch-max M] [--nosync]\n");
        return 2;
    }
    const char *dir = argv[optind];
    uint64_t target = strtoull(argv[optind + 1], NULL, 10);

    const char *why = NULL;
    struct scitt_store_tuning tu = {.map_size = (size_t)1 << 30, .nosync = nosync};
    scitt_store_config_t sc = {.dir = dir, .tuning = &tu};
    scitt_store_t *st;
    scitt_seq_keys_t keys = {0};
    scitt_seq_t *seq;
    die(scitt_store_open(&st, &sc, &why), "store", why);
    die(scitt_seq_keys_load(&keys, dir, st, &why), "keys", why);
    scitt_seq_config_t cfg = {
        .store = st, .keys = &keys, .workers = 1, .batch_max = batch_max, .max_pending = 4 * batch_max};
    die(scitt_seq_start(&seq, &cfg, &why), "start", why);
    scitt_seq_stats_t stats;
    scitt_seq_stats(seq, &stats);
    uint64_t first = stats.tree_size;
    uint64_t num = target > first ? target - first : 0;

    shaped_t rec;
    uint8_t entry[32];
    shaped_init(&rec, record_len, 1);
    fill_t f = {0};
    double t0 = bench_now(), last = t0;
    for (uint64_t i = 0; i < num;) {
        shaped_make(&rec, first + i);
        scitt_sha256(entry, rec.stmt, rec.len);
        int rc = scitt_seq__submit_entry(seq, rec.stmt, rec.len, entry, on_done, &f);
        if (rc == SCITT_EFULL) {
            usleep(500);
            continue;
        }
        die(rc, "submit", NULL);
        i++;
        if ((i & 0xffff) == 0 && bench_now() - last >= 10) {
            last = bench_now();
            printf("prefill: %llu / %llu entries, %.0f/s\n", (unsigned long long)i, (unsigned long long)num,
                   (double)i / (last - t0));
            fflush(stdout);
        }
    }
    scitt_seq_stop(seq); /* drains: everything submitted is committed */
    double dt = bench_now() - t0;
    scitt_seq_stats(seq, &stats);
    if (atomic_load(&f.failed) != 0 || stats.tree_size != first + num) {
        fprintf(stderr, "prefill: %llu entries failed; tree size %llu, expected %llu\n",
                (unsigned long long)atomic_load(&f.failed), (unsigned long long)stats.tree_size,
                (unsigned long long)(first + num));
        return 1;
    }
    scitt_seq_free(seq);
    scitt_seq_keys_cleanup(&keys);
    scitt_store_close(st);
    shaped_free(&rec);
    printf("prefill: %s now holds %llu entries (%llu added in %.1f s, %.0f/s, %s)\n", dir,
           (unsigned long long)stats.tree_size, (unsigned long long)num, dt, (double)num / (dt > 0 ? dt : 1),
           nosync ? "MDB_NOSYNC" : "fsync");
    return 0;
}
