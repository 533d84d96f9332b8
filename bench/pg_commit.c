/*
 * pg_commit.c: the PostgreSQL engine's batch commit rate through the store
 * API (issue 17): `--batches` batches of `--batch` 300-byte entries (their
 * SHA-256 entry hashes, full level-0 tiles, a head) and `--index` index
 * records per entry, committed one after another into the store at
 * `--database` (fresh: a new database each run), with scitt_store_maintain
 * before each batch as the sequencer calls it. Keys are random 64-bit
 * values, or one of `--distinct` values per field when it is set.
 *
 *   pg_commit --database URL [--batch N] [--batches N] [--index N] [--distinct N] [--tail N]
 *
 * --tail sets the index records the tail holds before maintain merges it
 * into the btree (tuning.h pg_tail_max; 1: a merge before every batch).
 *
 * Last line: RESULT pg_commit entries_per_s=<overall> median_ms=<per batch> ...
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "bench.h"
#include "scitt/crypto.h"
#include "scitt/store.h"
#include "../src/store/tuning.h"

#define ENTRY_LEN 300

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint64_t rand64(void)
{
    uint64_t v;
    if (getrandom(&v, sizeof(v), 0) != sizeof(v)) {
        abort();
    }
    return v;
}

static void fail(const char *what, int rc)
{
    fprintf(stderr, "pg_commit: %s: %s\n", what, scitt_strerror(rc));
    exit(1);
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {{"database", 1, 0, 'd'},
                                          {"batch", 1, 0, 'b'},
                                          {"batches", 1, 0, 'n'},
                                          {"index", 1, 0, 'i'},
                                          {"distinct", 1, 0, 'k'},
                                          {"tail", 1, 0, 't'},
                                          {0, 0, 0, 0}};
    const char *database = NULL;
    unsigned long batch = 1024, batches = 30, per_entry = 4, distinct = 0, tail = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        unsigned long v = optarg != NULL ? strtoul(optarg, NULL, 10) : 0;
        if (ch == 'd') {
            database = optarg;
        } else if (ch == 'b') {
            batch = v;
        } else if (ch == 'n') {
            batches = v;
        } else if (ch == 'i') {
            per_entry = v;
        } else if (ch == 'k') {
            distinct = v;
        } else if (ch == 't') {
            tail = v;
        } else {
            database = NULL;
            break;
        }
    }
    if (database == NULL || batch == 0 || batch % 256 != 0 || batch > 65536 || batches == 0 || batches > 100000 ||
        per_entry > 16) {
        fprintf(
            stderr,
            "usage: pg_commit --database URL [--batch N*256] [--batches N] [--index N] [--distinct N] [--tail N]\n");
        return 2;
    }
    struct scitt_store_tuning tu = {.pg_tail_max = tail};
    scitt_store_config_t cfg = {.database = database, .tuning = &tu};
    scitt_store_t *st;
    const char *why = NULL;
    int rc = scitt_store_open(&st, &cfg, &why);
    if (rc != 0) {
        fprintf(stderr, "pg_commit: open: %s\n", why != NULL ? why : scitt_strerror(rc));
        return 1;
    }
    char whyw[256];
    if ((rc = scitt_store_writer_acquire(st, whyw, sizeof(whyw))) != 0) {
        fail("writer", rc);
    }
    uint8_t *data = malloc(batch * ENTRY_LEN);
    scitt_span_t *entries = malloc(batch * sizeof(*entries));
    uint8_t(*hashes)[32] = malloc(batch * 32);
    size_t num_tiles = batch / 256;
    scitt_store_tile_t *tiles = malloc(num_tiles * sizeof(*tiles));
    scitt_store_index_rec_t *index = malloc((batch * per_entry + 1) * sizeof(*index));
    double *ms = malloc(batches * sizeof(*ms));
    if (data == NULL || entries == NULL || hashes == NULL || tiles == NULL || index == NULL || ms == NULL) {
        fail("malloc", SCITT_ENOMEM);
    }
    uint8_t sig[64] = {1}, note[200] = {2};
    uint64_t first = 0;
    double t0 = bench_now();
    for (unsigned long n = 0; n < batches; n++) {
        for (size_t i = 0; i < batch; i++) {
            uint8_t *e = data + i * ENTRY_LEN;
            memset(e, 0x5a, ENTRY_LEN);
            scitt_store_be64(e, first + i);
            scitt_store_be64(e + 8, rand64());
            entries[i] = scitt_span(e, ENTRY_LEN);
            scitt_sha256(hashes[i], e, ENTRY_LEN);
            for (size_t f = 0; f < per_entry; f++) {
                uint64_t key = distinct > 0 ? f * 1000003 + rand64() % distinct : rand64();
                index[i * per_entry + f] = (scitt_store_index_rec_t){.key = key, .leaf = first + i};
            }
        }
        for (size_t t = 0; t < num_tiles; t++) {
            tiles[t] =
                (scitt_store_tile_t){.level = 0, .index = first / 256 + t, .width = 256, .hashes = hashes + t * 256};
        }
        scitt_store_head_t head = {.size = first + batch,
                                   .time = (int64_t)time(NULL),
                                   .receipt_sig = scitt_span(sig, sizeof(sig)),
                                   .checkpoint = scitt_span(note, sizeof(note))};
        memcpy(head.root, hashes[0], 32);
        scitt_store_batch_t b = {.first_index = first,
                                 .num_entries = batch,
                                 .entries = entries,
                                 .entry_hashes = (const uint8_t(*)[32])hashes,
                                 .tiles = tiles,
                                 .num_tiles = num_tiles,
                                 .head = &head,
                                 .index = per_entry > 0 ? index : NULL,
                                 .num_index = batch * per_entry};
        double t1 = bench_now();
        if ((rc = scitt_store_maintain(st)) != 0) {
            fail("maintain", rc);
        }
        if ((rc = scitt_store_commit(st, &b)) != 0) {
            fail("commit", rc);
        }
        ms[n] = (bench_now() - t1) * 1000;
        first += batch;
    }
    double total = bench_now() - t0;
    qsort(ms, batches, sizeof(*ms), cmp_double);
    printf("RESULT pg_commit entries_per_s=%.0f median_ms=%.1f p90_ms=%.1f max_ms=%.1f batch=%lu batches=%lu "
           "index=%lu distinct=%lu tail=%lu\n",
           (double)first / total, ms[batches / 2], ms[batches * 9 / 10], ms[batches - 1], batch, batches, per_entry,
           distinct, tail);
    free(data);
    free(entries);
    free(hashes);
    free(tiles);
    free(index);
    free(ms);
    scitt_store_close(st);
    return 0;
}
