/*
 * test_caches.c: the entry-hash lookup of the recent-receipt ring never
 * serves another leaf's bytes nor a leaf it does not hold, against a model,
 * through eviction and restarts (the pipeline-level tests of the reader's
 * memory answers are in test_reader.c).
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "../../../src/log/internal.h"

TestSuite(caches, .timeout = 120);

/* The entry and receipt of leaf `leaf` in the model: both derived from the
 * leaf, receipts of varying length. */
static void model_entry(uint64_t leaf, uint8_t out[32])
{
    uint64_t x = leaf * 0x9e3779b97f4a7c15u + 1;
    for (int i = 0; i < 4; i++) {
        x ^= x >> 29;
        x *= 0xbf58476d1ce4e5b9u;
        memcpy(out + 8 * i, &x, 8);
    }
}

static size_t model_receipt(uint64_t leaf, uint8_t *out)
{
    size_t len = 40 + (size_t)(leaf * 7 % 400);
    for (size_t i = 0; i < len; i++) {
        out[i] = (uint8_t)(leaf + i);
    }
    memcpy(out, &leaf, sizeof(leaf));
    return len;
}

/* check_find: a found entry always comes with its own leaf and receipt;
 * `must` says it has to be found. */
static void check_find(scitt_log__recent_t *r, uint64_t leaf, bool must)
{
    uint8_t entry[32], want[512];
    model_entry(leaf, entry);
    size_t len = model_receipt(leaf, want);
    scitt_buf_t out;
    scitt_buf_init(&out, NULL, 0);
    uint64_t got = UINT64_MAX;
    int rc = scitt_log__recent_find(r, entry, &got, &out);
    if (must) {
        cr_assert_eq(rc, 0, "leaf %lu not found", (unsigned long)leaf);
    }
    if (rc == 0) {
        cr_assert_eq(got, leaf);
        cr_assert_eq(out.len, len);
        cr_assert_arr_eq(out.base, want, len, "leaf %lu: another receipt", (unsigned long)leaf);
    } else {
        cr_assert_eq(rc, SCITT_ENOTFOUND);
        cr_assert_eq(out.len, 0);
    }
    scitt_buf_cleanup(&out);
}

/* A small ring over 20,000 leaves: each lookup of a leaf put gives that
 * leaf's receipt or nothing (evicted), the most recent are always there,
 * leaves never put are never found, and a restart of the window (a leaf
 * out of order) forgets every earlier entry. Many evictions exercise the
 * table's backward-shift deletion. */
Test(caches, recent_entries_model)
{
    scitt_log__recent_t r;
    cr_assert_eq(scitt_log__recent_init(&r, 64 * 1024), 0);
    uint8_t rec[512], entry[32];
    uint64_t n = 20000;
    for (uint64_t leaf = 0; leaf < n; leaf++) {
        size_t len = model_receipt(leaf, rec);
        model_entry(leaf, entry);
        scitt_log__recent_put(&r, leaf, entry, scitt_span(rec, len));
        check_find(&r, leaf, true);
        if (leaf % 97 == 0) {
            for (uint64_t q = leaf > 400 ? leaf - 400 : 0; q <= leaf; q++) {
                check_find(&r, q, leaf - q < 20); /* 20 x at most 480 bytes fit */
            }
        }
    }
    for (uint64_t q = n; q < n + 100; q++) {
        check_find(&r, q, false); /* not committed: never put */
    }
    /* Out of order: a new window; nothing before it is found. */
    size_t len = model_receipt(5 * n, rec);
    model_entry(5 * n, entry);
    scitt_log__recent_put(&r, 5 * n, entry, scitt_span(rec, len));
    for (uint64_t q = n - 50; q < n; q++) {
        model_entry(q, entry);
        scitt_buf_t out;
        scitt_buf_init(&out, NULL, 0);
        uint64_t got;
        cr_assert_eq(scitt_log__recent_find(&r, entry, &got, &out), SCITT_ENOTFOUND);
        scitt_buf_cleanup(&out);
    }
    check_find(&r, 5 * n, true);
    /* A leaf kept without its entry hash is found by leaf only. */
    len = model_receipt(5 * n + 1, rec);
    scitt_log__recent_put(&r, 5 * n + 1, NULL, scitt_span(rec, len));
    check_find(&r, 5 * n + 1, false);
    scitt_buf_t out;
    scitt_buf_init(&out, NULL, 0);
    cr_assert_eq(scitt_log__recent_get(&r, 5 * n + 1, &out), 0);
    cr_assert_eq(out.len, len);
    scitt_buf_cleanup(&out);
    scitt_log__recent_cleanup(&r);
}
