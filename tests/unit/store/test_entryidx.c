/*
 * test_entryidx.c: the entry index beside the LMDB environment (src/store/entryidx.h):
 * exact lookups when hashes share the 64-bit tag, re-insertion after a crash,
 * a missing, corrupt, foreign, torn or "ahead of the log" table rebuilt, no
 * index for a batch whose commit failed, and growth keeping every entry.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../../src/store/entryidx.h"
#include "../../../src/store/tuning.h"
#include "scitt/crypto.h"
#include "scitt/store.h"

static char dir[256], dir2[256], path[300];

static void make_dirs(void)
{
    snprintf(dir, sizeof(dir), "/tmp/scitt-entryidx-test-XXXXXX");
    snprintf(dir2, sizeof(dir2), "/tmp/scitt-entryidx-test2-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_not_null(mkdtemp(dir2));
    snprintf(path, sizeof(path), "%s/%s", dir, SCITT_ENTRYIDX_FILE);
}

static void remove_dirs(void)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", dir, dir2);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(entryidx, .init = make_dirs, .fini = remove_dirs);

static scitt_store_t *open_at(const char *d, size_t map_size, size_t map_max)
{
    struct scitt_store_tuning tu = {.map_size = map_size, .map_size_max = map_max};
    scitt_store_config_t cfg = {.dir = d, .tuning = &tu};
    scitt_store_t *st;
    const char *why = NULL;
    int rc = scitt_store_open(&st, &cfg, &why);
    cr_assert_eq(rc, 0, "open: %s (%s)", scitt_strerror(rc), why ? why : "");
    return st;
}

/* entry_of fills the 64-byte statement of leaf `i` and its hash. */
static void entry_of(uint64_t i, uint8_t stmt[64], uint8_t hash[32])
{
    memset(stmt, 0x5a, 64);
    scitt_store_be64(stmt, i);
    scitt_sha256(hash, stmt, 64);
}

static int commit(scitt_store_t *st, uint64_t first, size_t n)
{
    uint8_t(*data)[64] = malloc(n * 64);
    uint8_t(*hashes)[32] = malloc(n * 32);
    scitt_span_t *entries = malloc(n * sizeof(*entries));
    for (size_t i = 0; i < n; i++) {
        entry_of(first + i, data[i], hashes[i]);
        entries[i] = scitt_span(data[i], 64);
    }
    scitt_store_head_t head = {.size = first + n, .time = 1, .receipt_sig = scitt_span("s", 1)};
    head.checkpoint = scitt_span("n", 1);
    scitt_store_batch_t b = {first, n, entries, (const uint8_t(*)[32])hashes, NULL, 0, &head, NULL, 0, 0, NULL, 0};
    int rc = scitt_store_commit(st, &b);
    free(data);
    free(hashes);
    free(entries);
    return rc;
}

/* check_all: leaves [0, n) are found at their index, [n, n + 100) are not. */
static void check_all(scitt_store_t *st, uint64_t n)
{
    scitt_store_read_t *rd;
    cr_assert_eq(scitt_store_read_begin(st, &rd), 0);
    for (uint64_t i = 0; i < n + 100; i++) {
        uint8_t stmt[64], hash[32];
        uint64_t idx = UINT64_MAX;
        entry_of(i, stmt, hash);
        int rc = scitt_store_get_entryidx(rd, hash, &idx);
        if (i < n) {
            cr_assert_eq(rc, 0, "leaf %llu: %s", (unsigned long long)i, scitt_err_name(rc));
            cr_assert_eq(idx, i);
        } else {
            cr_assert_eq(rc, SCITT_ENOTFOUND, "leaf %llu was never committed", (unsigned long long)i);
        }
    }
    scitt_store_read_end(rd);
}

static void entryidx_stats(scitt_store_t *st, uint64_t *slots, uint64_t *count, uint64_t *synced)
{
    scitt_entryidx_stats(scitt_store__entryidx(st), slots, count, synced);
}

/* patch_header applies `fn` to the table's header and rewrites its check. */
static void patch_header(void (*fn)(scitt_entryidx_hdr_t *), bool fix_check)
{
    int fd = open(path, O_RDWR);
    cr_assert_geq(fd, 0);
    scitt_entryidx_hdr_t h;
    cr_assert_eq(pread(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
    fn(&h);
    if (fix_check) {
        h.check = scitt_entryidx_hdr_check(&h);
    }
    cr_assert_eq(pwrite(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
    close(fd);
}

Test(entryidx, grows_and_survives_reopen)
{
    scitt_store_t *st = open_at(dir, 0, 0);
    uint64_t slots0, slots, count, synced;
    entryidx_stats(st, &slots0, &count, &synced);
    for (uint64_t first = 0; first < 20000; first += 1000) {
        cr_assert_eq(commit(st, first, 1000), 0);
    }
    entryidx_stats(st, &slots, &count, &synced);
    cr_assert_gt(slots, slots0, "the table grew");
    cr_assert_eq(count, 20000);
    check_all(st, 20000);
    scitt_store_close(st);
    st = open_at(dir, 0, 0);
    entryidx_stats(st, &slots, &count, &synced);
    cr_assert_eq(synced, 20000, "a clean close leaves the table synced to the end");
    cr_assert_eq(count, 20000);
    check_all(st, 20000);
    scitt_store_close(st);
}

/* Hashes that share the first 8 bytes (the slot's tag): each is found only
 * as itself, never as the other. */
static uint8_t tagged[3][32];

static bool confirm_tagged(void *ctx, uint64_t index, const uint8_t hash[32])
{
    (void)ctx;
    return index < 2 && memcmp(tagged[index], hash, 32) == 0;
}

Test(entryidx, lookups_are_exact_for_a_shared_tag)
{
    for (int i = 0; i < 3; i++) {
        memset(tagged[i], 0x11, 32);
        tagged[i][31] = (uint8_t)i;
    }
    uint8_t id[SCITT_ENTRYIDX_ID_LEN] = {1};
    scitt_entryidx_t *d;
    uint64_t from, idx;
    const char *why;
    cr_assert_eq(scitt_entryidx_open(&d, path, id, 0, true, &from, &why), 0);
    cr_assert_eq(from, 0);
    cr_assert_eq(scitt_entryidx_insert(d, 0, (const uint8_t(*)[32])tagged, 2), 0);
    cr_assert_eq(scitt_entryidx_insert(d, 0, (const uint8_t(*)[32])tagged, 2), 0, "re-inserting is idempotent");
    uint64_t slots, count, synced;
    scitt_entryidx_stats(d, &slots, &count, &synced);
    cr_assert_eq(count, 2);
    for (uint64_t i = 0; i < 2; i++) {
        cr_assert_eq(scitt_entryidx_find(d, tagged[i], confirm_tagged, NULL, &idx), 0);
        cr_assert_eq(idx, i);
    }
    cr_assert_eq(scitt_entryidx_find(d, tagged[2], confirm_tagged, NULL, &idx), SCITT_ENOTFOUND);
    scitt_entryidx_close(d);

    /* Through the store: a hash with a committed entry's tag but another tail. */
    scitt_store_t *st = open_at(dir2, 0, 0);
    cr_assert_eq(commit(st, 0, 10), 0);
    scitt_store_read_t *rd;
    cr_assert_eq(scitt_store_read_begin(st, &rd), 0);
    for (uint64_t i = 0; i < 10; i++) {
        uint8_t stmt[64], hash[32];
        entry_of(i, stmt, hash);
        hash[20] ^= 1;
        cr_assert_eq(scitt_store_get_entryidx(rd, hash, &idx), SCITT_ENOTFOUND);
    }
    scitt_store_read_end(rd);
    scitt_store_close(st);
}

/* A batch whose commit failed leaves nothing in the index. */
Test(entryidx, failed_commit_leaves_no_index)
{
    scitt_store_t *st = open_at(dir, 1 << 20, 2 << 20);
    uint64_t n = 0;
    int rc;
    while ((rc = commit(st, n, 500)) == 0) {
        n += 500;
    }
    cr_assert_eq(rc, SCITT_ENOSPC);
    uint64_t slots, count, synced;
    entryidx_stats(st, &slots, &count, &synced);
    cr_assert_eq(count, n, "only committed entries are indexed");
    check_all(st, n); /* the failed batch's entries, n.., are not found */
    scitt_store_close(st);
}

/* A crash (the table's watermark behind the log): the missing part is
 * inserted again from the entries. */
static void rewind_watermark(scitt_entryidx_hdr_t *h)
{
    h->synced_size = 1000;
}

Test(entryidx, reinserts_after_a_crash)
{
    scitt_store_t *st = open_at(dir, 0, 0);
    cr_assert_eq(commit(st, 0, 3000), 0);
    scitt_store_close(st);
    patch_header(rewind_watermark, true);
    st = open_at(dir, 0, 0);
    uint64_t slots, count, synced;
    entryidx_stats(st, &slots, &count, &synced);
    cr_assert_eq(count, 3000, "re-inserting is idempotent");
    check_all(st, 3000);
    scitt_store_close(st);
}

/* Garbage in the slots (a torn table after power loss) with the watermark
 * at 0: no lookup may hit wrongly, and re-insertion finds every entry. */
static void zero_watermark(scitt_entryidx_hdr_t *h)
{
    h->synced_size = 0;
}

Test(entryidx, torn_slots_never_give_a_false_hit)
{
    scitt_store_t *st = open_at(dir, 0, 0);
    cr_assert_eq(commit(st, 0, 1500), 0);
    scitt_store_close(st);
    int fd = open(path, O_RDWR);
    cr_assert_geq(fd, 0);
    /* Every other slot: a random tag and a plausible index; some slots with
     * the tag of a real entry and the wrong index. */
    srand(7);
    for (uint64_t s = 0; s < 4096; s += 2) {
        scitt_entryidx_slot_t slot = {((uint64_t)rand() << 32) ^ (uint64_t)rand(), (uint64_t)(rand() % 1500) + 1};
        if (s % 8 == 0) {
            uint8_t stmt[64], hash[32];
            entry_of(s % 1500, stmt, hash);
            memcpy(&slot.tag, hash, 8);
            slot.pos = (s + 1) % 1500 + 1;
        }
        cr_assert_eq(pwrite(fd, &slot, sizeof(slot), SCITT_ENTRYIDX_HDR_LEN + (off_t)(s * sizeof(slot))),
                     (ssize_t)sizeof(slot));
    }
    close(fd);
    patch_header(zero_watermark, true);
    st = open_at(dir, 0, 0);
    check_all(st, 1500);
    /* Lookups of the garbage tags themselves miss. */
    scitt_store_read_t *rd;
    cr_assert_eq(scitt_store_read_begin(st, &rd), 0);
    for (int k = 0; k < 200; k++) {
        uint8_t hash[32];
        uint64_t idx;
        for (int b = 0; b < 32; b++) {
            hash[b] = (uint8_t)rand();
        }
        cr_assert_eq(scitt_store_get_entryidx(rd, hash, &idx), SCITT_ENOTFOUND);
    }
    scitt_store_read_end(rd);
    scitt_store_close(st);
}

static void break_magic(scitt_entryidx_hdr_t *h)
{
    h->magic[0] ^= 1;
}

static void ahead(scitt_entryidx_hdr_t *h)
{
    h->synced_size += 5;
}

static void flip_count(scitt_entryidx_hdr_t *h)
{
    h->count ^= 1;
}

/* reopen_after damages the table with `damage` and checks a rebuild. */
static void reopen_after(void (*damage)(void))
{
    scitt_store_t *st = open_at(dir, 0, 0);
    cr_assert_eq(commit(st, 0, 2000), 0);
    scitt_store_close(st);
    damage();
    st = open_at(dir, 0, 0);
    uint64_t slots, count, synced;
    entryidx_stats(st, &slots, &count, &synced);
    cr_assert_eq(count, 2000);
    check_all(st, 2000);
    scitt_store_close(st);
}

static void remove_table(void)
{
    cr_assert_eq(unlink(path), 0);
}

static void truncate_table(void)
{
    cr_assert_eq(truncate(path, 100), 0);
}

static void garble_magic(void)
{
    patch_header(break_magic, true);
}

static void garble_check(void)
{
    patch_header(flip_count, false);
}

static void table_ahead(void)
{
    patch_header(ahead, true);
}

static void foreign_table(void)
{
    /* The table of another store, same size and watermark. */
    scitt_store_t *other = open_at(dir2, 0, 0);
    cr_assert_eq(commit(other, 0, 2000), 0);
    scitt_store_close(other);
    char cmd[800];
    snprintf(cmd, sizeof(cmd), "cp '%s/%s' '%s'", dir2, SCITT_ENTRYIDX_FILE, path);
    cr_assert_eq(system(cmd), 0);
}

Test(entryidx, rebuilds_a_missing_table)
{
    reopen_after(remove_table);
}

Test(entryidx, rebuilds_a_truncated_table)
{
    reopen_after(truncate_table);
}

Test(entryidx, rebuilds_a_table_of_another_version)
{
    reopen_after(garble_magic);
}

Test(entryidx, rebuilds_a_table_with_a_damaged_header)
{
    reopen_after(garble_check);
}

Test(entryidx, rebuilds_a_table_ahead_of_the_log)
{
    reopen_after(table_ahead);
}

Test(entryidx, rebuilds_a_foreign_table)
{
    reopen_after(foreign_table);
}

Test(entryidx, refuses_a_format_1_store)
{
    scitt_store_t *st = open_at(dir, 0, 0);
    cr_assert_eq(scitt_store_meta_put(st, "format", scitt_span_str("1")), 0);
    scitt_store_close(st);
    scitt_store_config_t cfg = {.dir = dir};
    const char *why = NULL;
    cr_assert_eq(scitt_store_open(&st, &cfg, &why), SCITT_EFORMAT);
    cr_assert_not_null(why);
    cr_assert_not_null(strstr(why, "format 1"), "%s", why);
}

/* flip_bits flips one bit (a different one each time, over all 128) in
 * every `every`-th filled slot of the table file; returns how many. */
static int flip_bits(int fd, uint64_t every)
{
    scitt_entryidx_hdr_t h;
    cr_assert_eq(pread(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
    int flipped = 0;
    for (uint64_t s = 0, filled = 0; s < h.slots; s++) {
        off_t off = SCITT_ENTRYIDX_HDR_LEN + (off_t)(s * sizeof(scitt_entryidx_slot_t));
        uint8_t slot[16];
        cr_assert_eq(pread(fd, slot, 16, off), 16);
        static const uint8_t zero[16];
        if (memcmp(slot, zero, 16) == 0 || filled++ % every != 0) {
            continue;
        }
        int bit = (flipped * 37) % 128;
        slot[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        cr_assert_eq(pwrite(fd, slot, 16, off), 16);
        flipped++;
    }
    return flipped;
}

static void flip_some_slots(void)
{
    int fd = open(path, O_RDWR);
    cr_assert_geq(fd, 0);
    cr_assert_geq(flip_bits(fd, 13), 100);
    close(fd);
}

/* Issue 16 J: one flipped bit in a slot hid its entry (or cut the probe
 * chains through it): a lookup missed and the statement could be logged
 * twice. Every slot carries a check now; a damaged one rebuilds the table
 * at open. */
Test(entryidx, flipped_bits_in_slots_are_repaired_at_open)
{
    reopen_after(flip_some_slots);
}

/* A slot damaged while the table is in use: lookups through it fail (an
 * error, never a miss that would log the statement again), a growth does
 * not copy the table without it, and the next open rebuilds it. */
Test(entryidx, a_slot_damaged_in_use_fails_lookups_until_rebuilt)
{
    scitt_store_t *st = open_at(dir, 0, 0);
    cr_assert_eq(commit(st, 0, 1000), 0);
    int fd = open(path, O_RDWR); /* the same pages as the store's shared mapping */
    cr_assert_geq(fd, 0);
    cr_assert_eq(flip_bits(fd, 1), 1000);
    close(fd);
    scitt_store_read_t *rd;
    cr_assert_eq(scitt_store_read_begin(st, &rd), 0);
    for (uint64_t i = 0; i < 1000; i += 7) {
        uint8_t stmt[64], hash[32];
        uint64_t idx;
        entry_of(i, stmt, hash);
        cr_assert_eq(scitt_store_get_entryidx(rd, hash, &idx), SCITT_ECORRUPT, "leaf %llu", (unsigned long long)i);
    }
    scitt_store_read_end(rd);
    cr_assert_eq(commit(st, 1000, 3000), 0); /* past 0.7 of 4096 slots: a growth */
    cr_assert_eq(scitt_store_read_begin(st, &rd), 0);
    uint8_t stmt[64], hash[32];
    uint64_t idx;
    entry_of(3999, stmt, hash);
    cr_assert_eq(scitt_store_get_entryidx(rd, hash, &idx), SCITT_ECORRUPT, "no table without the damaged entries");
    scitt_store_read_end(rd);
    scitt_store_close(st);
    st = open_at(dir, 0, 0);
    check_all(st, 4000);
    scitt_store_close(st);
}
