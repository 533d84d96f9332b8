/*
 * test_caches.c: the log reader's memory answers never serve what was not
 * committed, nor another leaf's bytes: the entry-hash lookup of the
 * recent-receipt ring (against a model, through eviction and restarts, and
 * over a log the pipeline writes), full tiles kept from the store (served
 * only within the cached head) and the head the writer hands over
 * (never backwards).
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "../../../src/log/internal.h"
#include "harness.h"

static h_env_t env;

static void setup(void)
{
    h_setup(&env);
}

static void teardown(void)
{
    h_teardown(&env);
}

TestSuite(caches, .init = setup, .fini = teardown, .timeout = 120);

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

/* feed submits `n` pre-verified entries and waits for every answer. */
static void feed(h_waiter_t *w, size_t n, unsigned tag)
{
    uint8_t buf[40];
    h_waiter_init(w, n);
    for (size_t i = 0; i < n; i++) {
        memset(buf, (int)(i & 0xff), sizeof(buf));
        memcpy(buf, &tag, sizeof(tag));
        memcpy(buf + sizeof(tag), &i, sizeof(i));
        h_submit_entry(&env, w, i, buf, sizeof(buf));
    }
    h_wait(w, n, 60);
}

/* Through the pipeline: the receipt an entry id finds in memory is the one
 * its registration returned and the one rebuilt from the store; an entry
 * not in the log is not found; a reader without a receipt key has none. */
Test(caches, entry_receipt_from_pipeline)
{
    h_open(&env, 0, 0);
    h_start(&env, 32, 0, 1);
    h_waiter_t w;
    feed(&w, 300, 7);
    scitt_log_reader_t *r = scitt_seq_log(env.seq);
    scitt_buf_t out, stored;
    scitt_buf_init(&out, NULL, 0);
    scitt_buf_init(&stored, NULL, 0);
    for (size_t i = 0; i < 300; i++) {
        const h_result_t *res = &w.results[i];
        cr_assert_eq(res->rc, 0);
        scitt_buf_reset(&out);
        scitt_buf_reset(&stored);
        cr_assert_eq(scitt_log_try_entry_receipt(r, res->entry, &out), 0);
        cr_assert(scitt_span_eq(scitt_buf_span(&out), scitt_span(res->receipt, res->receipt_len)));
        cr_assert_eq(scitt_log_store_receipt(env.store, NULL, env.keys.receipt_kid, H_ORIGIN, res->index, &stored), 0);
        cr_assert(scitt_span_eq(scitt_buf_span(&out), scitt_buf_span(&stored)));
    }
    uint8_t unknown[32];
    memset(unknown, 0x5a, sizeof(unknown));
    scitt_buf_reset(&out);
    cr_assert_eq(scitt_log_try_entry_receipt(r, unknown, &out), SCITT_EAGAIN);
    cr_assert_eq(out.len, 0);

    scitt_log_reader_t *mirror;
    scitt_log_config_t cfg = {.store = env.store};
    cr_assert_eq(scitt_log_new(&mirror, &cfg), 0);
    cr_assert_eq(scitt_log_try_entry_receipt(mirror, w.results[0].entry, &out), SCITT_EAGAIN);
    scitt_log_free(mirror);
    scitt_buf_cleanup(&out);
    scitt_buf_cleanup(&stored);
    h_waiter_cleanup(&w);
}

/* A full tile kept from the store is served only within the cached head,
 * and is the stored tile; advance_to never moves the head backwards. */
Test(caches, kept_tile_and_advance_to)
{
    h_open(&env, 0, 0);
    h_start(&env, 100, 0, 1);
    h_waiter_t w;
    feed(&w, 600, 8);
    scitt_log_config_t cfg = {.store = env.store, .receipt_kid = env.keys.receipt_kid, .origin = H_ORIGIN};
    scitt_log_reader_t *r;
    cr_assert_eq(scitt_log_new(&r, &cfg), 0);
    scitt_store_read_t *rd;
    const uint8_t *hashes;
    size_t width;
    cr_assert_eq(scitt_store_read_begin(env.store, &rd), 0);
    cr_assert_eq(scitt_store_get_tile(rd, 0, 1, &hashes, &width), 0);
    cr_assert_eq(width, 256);
    scitt_log_keep_tile(r, 0, 1, hashes);
    scitt_buf_t t;
    scitt_buf_init(&t, NULL, 0);
    cr_assert_eq(scitt_log_try_tile(r, 0, 1, &t), SCITT_EAGAIN, "no head cached yet");
    cr_assert_eq(scitt_log_advance_to(r, 300, scitt_span_str("cp300")), 0);
    cr_assert_eq(scitt_log_try_tile(r, 0, 1, &t), SCITT_EAGAIN, "the tile is past a head of 300");
    cr_assert_eq(scitt_log_advance_to(r, 600, scitt_span_str("cp600")), 0);
    cr_assert_eq(scitt_log_try_tile(r, 0, 1, &t), 0);
    cr_assert_eq(t.len, 256 * 32);
    cr_assert_arr_eq(t.base, hashes, 256 * 32);
    scitt_store_read_end(rd);
    cr_assert_eq(scitt_log_advance_to(r, 500, scitt_span_str("cp500")), 0); /* older: ignored */
    scitt_buf_reset(&t);
    uint64_t size;
    cr_assert_eq(scitt_log_try_checkpoint(r, &t, &size), 0);
    cr_assert_eq(size, 600);
    cr_assert(scitt_span_eq(scitt_buf_span(&t), scitt_span_str("cp600")));
    scitt_buf_cleanup(&t);
    scitt_log_free(r);
    h_waiter_cleanup(&w);
}
