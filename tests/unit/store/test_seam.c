/*
 * The store's dispatcher (src/store/store.c) over the LMDB engine: the
 * batched reads, the single getters as one-element batches, the batch
 * shape checks made before any engine sees a batch, stats, and the engine
 * choice at open.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "scitt/crypto.h"
#include "scitt/sha256.h"
#include "scitt/store.h"

enum { ENTRY_LEN = 100, N = 310 };

static char dir[256];
static scitt_store_t *st;
static uint8_t data[N][ENTRY_LEN], hashes[N][32], leaves[N][32];

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/scitt-seam-test-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    scitt_store_config_t cfg = {.dir = dir};
    const char *why = NULL;
    int rc = scitt_store_open(&st, &cfg, &why);
    cr_assert_eq(rc, 0, "open: %s (%s)", scitt_strerror(rc), why ? why : "");
    for (size_t i = 0; i < N; i++) {
        memset(data[i], (int)(i & 0xff), ENTRY_LEN);
        scitt_store_be64(data[i], i);
        scitt_sha256(hashes[i], data[i], ENTRY_LEN);
    }
    scitt_sha256_leaves(leaves, (const uint8_t(*)[32])hashes, N);
}

static void teardown(void)
{
    char cmd[300];
    scitt_store_close(st);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(seam, .init = setup, .fini = teardown);

/* commit writes entries [first, end) with their level-0 tiles and a head
 * at `end`; `head` may be changed by the caller first (shape tests). */
static int commit(uint64_t first, uint64_t end, scitt_store_head_t *head)
{
    scitt_span_t entries[N];
    scitt_store_tile_t tiles[2];
    size_t num_tiles = 0;
    for (uint64_t i = first; i < end; i++) {
        entries[i - first] = scitt_span(data[i], ENTRY_LEN);
    }
    for (uint64_t t = first / 256; end > first && t <= (end - 1) / 256; t++) {
        uint64_t w = end - t * 256 < 256 ? end - t * 256 : 256;
        tiles[num_tiles++] = (scitt_store_tile_t){0, t, w, (const uint8_t(*)[32])leaves[t * 256]};
    }
    scitt_store_head_t h = {.size = end, .time = 1700000000, .receipt_sig = scitt_span("sig", 3)};
    h.checkpoint = scitt_span("note\n", 5);
    memset(h.root, (int)end, 32);
    if (head == NULL) {
        head = &h;
    }
    scitt_store_batch_t b = {
        first, end - first, entries, (const uint8_t(*)[32])hashes[first], tiles, num_tiles, head, NULL, 0, 0, NULL, 0};
    return scitt_store_commit(st, &b);
}

Test(seam, batched_reads)
{
    cr_assert_eq(commit(0, 300, NULL), 0);
    cr_assert_eq(commit(300, N, NULL), 0);
    scitt_store_read_t *rd;
    cr_assert_eq(scitt_store_read_begin(st, &rd), 0);

    scitt_span_t e[N];
    cr_assert_eq(scitt_store_get_entries(rd, 0, N, e), 0);
    for (size_t i = 0; i < N; i++) {
        cr_assert(e[i].len == ENTRY_LEN && memcmp(e[i].base, data[i], ENTRY_LEN) == 0, "entry %zu", i);
    }
    cr_assert_eq(scitt_store_get_entries(rd, N - 5, 10, e), SCITT_ENOTFOUND, "past the log end");

    scitt_store_tile_id_t ids[4] = {{0, 0}, {0, 1}, {0, 2}, {1, 0}};
    scitt_store_tile_hashes_t t[4];
    cr_assert_eq(scitt_store_get_tiles(rd, ids, 4, t), 0);
    cr_assert_eq(t[0].width, 256);
    cr_assert_eq(t[1].width, N - 256);
    cr_assert(memcmp(t[1].hashes, leaves[256], 32 * (N - 256)) == 0);
    cr_assert(t[2].width == 0 && t[3].width == 0, "absent tiles have width 0");
    const uint8_t *th;
    size_t w;
    cr_assert_eq(scitt_store_get_tile(rd, 0, 2, &th, &w), SCITT_ENOTFOUND);

    uint8_t want[4][32];
    memcpy(want[0], hashes[5], 32);
    memcpy(want[1], hashes[305], 32);
    memset(want[2], 0xab, 32); /* absent */
    memcpy(want[3], hashes[299], 32);
    uint64_t found[4];
    cr_assert_eq(scitt_store_find_entries(rd, (const uint8_t(*)[32])want, 4, found), 0);
    cr_assert(found[0] == 5 && found[1] == 305 && found[2] == UINT64_MAX && found[3] == 299);
    uint64_t one;
    cr_assert_eq(scitt_store_get_entryidx(rd, want[2], &one), SCITT_ENOTFOUND);
    cr_assert_eq(scitt_store_get_entryidx(rd, want[1], &one), 0);
    cr_assert_eq(one, 305);

    scitt_store_head_t h;
    cr_assert_eq(scitt_store_get_head(rd, 300, &h), 0);
    cr_assert(h.size == 300 && h.root[0] == (uint8_t)300 && h.checkpoint.len == 5);
    cr_assert_eq(scitt_store_get_latest_head(rd, &h), 0);
    cr_assert_eq(h.size, N);
    cr_assert_eq(scitt_store_get_head_from(rd, 301, &h), 0);
    cr_assert_eq(h.size, N);
    cr_assert_eq(scitt_store_get_head_from(rd, N + 1, &h), SCITT_ENOTFOUND);

    uint8_t eh[32];
    cr_assert_eq(scitt_store_get_entry_checked(rd, 257, &e[0], eh), 0);
    cr_assert(memcmp(eh, hashes[257], 32) == 0);
    scitt_store_read_end(rd);
}

Test(seam, shape_checked_before_the_engine)
{
    cr_assert_eq(commit(0, 10, NULL), 0);
    scitt_store_head_t h = {.size = 20, .time = 1700000000, .receipt_sig = scitt_span("sig", 3)};
    cr_assert_eq(commit(10, 20, &h), SCITT_EINVAL, "a head without a checkpoint");
    static uint8_t big[65536];
    h.checkpoint = scitt_span("note\n", 5);
    h.receipt_sig = scitt_span(big, sizeof(big));
    cr_assert_eq(commit(10, 20, &h), SCITT_ETOOBIG, "a receipt signature over 65535 bytes");

    scitt_store_tile_t t = {0, 0, 0, (const uint8_t(*)[32])leaves[0]};
    scitt_store_batch_t b = {.first_index = 10, .tiles = &t, .num_tiles = 1};
    cr_assert_eq(scitt_store_commit(st, &b), SCITT_EINVAL, "a tile of width 0");
    t.width = 257;
    cr_assert_eq(scitt_store_commit(st, &b), SCITT_EINVAL, "a tile wider than 256");

    /* Nothing was written: the log still ends at 10. */
    cr_assert_eq(commit(10, 20, NULL), 0);
}

Test(seam, stats_and_capabilities)
{
    char why[128] = "";
    cr_assert_eq(scitt_store_writer_acquire(st, why, sizeof(why)), 0);
    cr_assert(scitt_store_local_reads(st));
    cr_assert_eq(commit(0, 10, NULL), 0);
    cr_assert_eq(commit(5, 15, NULL), SCITT_ECONFLICT, "an overlap");
    cr_assert_eq(scitt_store_maintain(st), 0);
    scitt_store_stats_t s;
    scitt_store_stats(st, &s);
    cr_assert_str_eq(s.engine, "lmdb");
    cr_assert(s.available && s.bytes > 0);
    cr_assert_eq(s.commits, 1);
    cr_assert_eq(s.conflicts, 1);
}

/* A read handle that could not begin is NULL, whatever the engine left in
 * `*out`, so a caller's unconditional scitt_store_read_end is harmless (a
 * pool job crashed on a stale pointer when the database was away). */
Test(seam, failed_read_begin_gives_null)
{
    scitt_store_fault_t *f = NULL;
    cr_assert_eq(scitt_store_fault_wrap(st, &f), 0);
    scitt_store_fault_reads(f, SCITT_EUNAVAIL);
    scitt_store_read_t *rd = (scitt_store_read_t *)(uintptr_t)0x1;
    cr_assert_eq(scitt_store_read_begin(st, &rd), SCITT_EUNAVAIL);
    cr_assert_null(rd);
    scitt_store_read_end(rd);
    scitt_store_fault_reads(f, 0);
    cr_assert_eq(scitt_store_read_begin(st, &rd), 0);
    cr_assert_not_null(rd);
    scitt_store_read_end(rd);
}

#ifndef SCITT_HAVE_POSTGRESQL
Test(seam, database_without_postgresql)
{
    scitt_store_config_t cfg = {.database = "postgresql://127.0.0.1/none"};
    scitt_store_t *other = NULL;
    const char *why = NULL;
    cr_assert_eq(scitt_store_open(&other, &cfg, &why), SCITT_EINVAL);
    cr_assert(why != NULL && strstr(why, "without PostgreSQL") != NULL);
}
#endif
