/*
 * test_reader.c: the log reader (src/log): its head cache (never
 * backwards, only what was committed), the try_ answers from memory, the
 * recent-receipt ring and the reader pool; over logs the pipeline writes
 * (the seq tests' harness).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <unistd.h>

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

TestSuite(log, .init = setup, .fini = teardown, .timeout = 120);

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

/* stored_checkpoint appends the latest head's checkpoint as stored. */
static uint64_t stored_checkpoint(scitt_buf_t *out)
{
    scitt_store_read_t *rd;
    scitt_store_head_t head;
    cr_assert_eq(scitt_store_read_begin(env.store, &rd), 0);
    cr_assert_eq(scitt_store_get_latest_head(rd, &head), 0);
    cr_assert_eq(scitt_buf_append(out, head.checkpoint.base, head.checkpoint.len), 0);
    scitt_store_read_end(rd);
    return head.size;
}

/* The pipeline advances its reader at start (an empty log: no checkpoint,
 * not "unknown") and with every commit, before any answer: once a receipt
 * is back, the cached checkpoint is at least its tree size. A reader that
 * nobody advances caches nothing and reads the store. */
Test(log, checkpoint_cache)
{
    h_open(&env, 0, 0);
    h_start(&env, 64, 0, 1);
    scitt_log_reader_t *r = scitt_seq_log(env.seq);
    scitt_buf_t a, b;
    scitt_buf_init(&a, NULL, 0);
    scitt_buf_init(&b, NULL, 0);
    cr_assert_eq(scitt_log_try_checkpoint(r, &a, NULL), SCITT_ENOTFOUND, "an empty log has no checkpoint yet");
    h_waiter_t w;
    feed(&w, 300, 1);
    uint64_t size = 0;
    cr_assert_eq(scitt_log_try_checkpoint(r, &a, &size), 0);
    cr_assert_eq(size, 300);
    cr_assert_eq(stored_checkpoint(&b), 300);
    cr_assert(scitt_span_eq(scitt_buf_span(&a), scitt_buf_span(&b)), "the cached checkpoint is the stored one");

    scitt_log_reader_t *other;
    scitt_log_config_t cfg = {.store = env.store};
    cr_assert_eq(scitt_log_new(&other, &cfg), 0);
    scitt_buf_reset(&a);
    cr_assert_eq(scitt_log_try_checkpoint(other, &a, NULL), SCITT_EAGAIN, "nobody advanced it: nothing cached");
    cr_assert_eq(scitt_log_checkpoint(other, NULL, &a), 0);
    cr_assert(scitt_span_eq(scitt_buf_span(&a), scitt_buf_span(&b)));
    cr_assert_eq(scitt_log_advance(other, 0), 0);
    scitt_buf_reset(&a);
    cr_assert_eq(scitt_log_try_checkpoint(other, &a, &size), 0);
    cr_assert_eq(size, 300, "advance reads the latest head, whatever size it is told");
    scitt_log_free(other);
    scitt_buf_cleanup(&a);
    scitt_buf_cleanup(&b);
    h_waiter_cleanup(&w);
}

/* Readers of the checkpoint while the pipeline commits and other threads
 * call advance with sizes old and new: no reader ever sees the size go
 * down, and every size it sees is committed. */
typedef struct watcher {
    scitt_log_reader_t *r;
    atomic_bool *stop;
    bool backwards, ahead;
    unsigned seen;
} watcher_t;

static void *watch_main(void *arg)
{
    watcher_t *wt = arg;
    scitt_buf_t cp;
    scitt_buf_init(&cp, NULL, 0);
    uint64_t last = 0;
    while (!atomic_load(wt->stop)) {
        uint64_t size = 0;
        scitt_buf_reset(&cp);
        if (scitt_log_try_checkpoint(wt->r, &cp, &size) == 0) {
            wt->backwards |= size < last;
            last = size;
            wt->seen++;
        }
        scitt_store_read_t *rd; /* what the store holds by now */
        scitt_store_head_t head;
        if (size > 0 && scitt_store_read_begin(env.store, &rd) == 0) {
            wt->ahead |= scitt_store_get_latest_head(rd, &head) != 0 || size > head.size;
            scitt_store_read_end(rd);
        }
        (void)scitt_log_advance(wt->r, size / 2); /* an old size: a no-op */
    }
    scitt_buf_cleanup(&cp);
    return NULL;
}

Test(log, never_backwards)
{
    h_open(&env, 0, 0);
    h_start(&env, 16, 0, 1);
    atomic_bool stop;
    atomic_init(&stop, false);
    watcher_t wt[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        wt[i] = (watcher_t){.r = scitt_seq_log(env.seq), .stop = &stop};
        cr_assert_eq(pthread_create(&th[i], NULL, watch_main, &wt[i]), 0);
    }
    h_waiter_t w;
    feed(&w, 2000, 2);
    atomic_store(&stop, true);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        cr_expect(!wt[i].backwards, "watcher %d saw the checkpoint go back", i);
        cr_expect(!wt[i].ahead, "watcher %d saw a checkpoint not committed yet", i);
        cr_expect_gt(wt[i].seen, 0);
    }
    uint64_t size = 0;
    scitt_buf_t cp;
    scitt_buf_init(&cp, NULL, 0);
    cr_assert_eq(scitt_log_try_checkpoint(scitt_seq_log(env.seq), &cp, &size), 0);
    cr_assert_eq(size, 2000);
    scitt_buf_cleanup(&cp);
    h_waiter_cleanup(&w);
}

/* stored_full_tile reads full tile (level, index) in a new read handle
 * `*rd` (the caller ends it). */
static const uint8_t *stored_full_tile(scitt_store_read_t **rd, unsigned level, uint64_t index)
{
    const uint8_t *hashes;
    size_t width;
    cr_assert_eq(scitt_store_read_begin(env.store, rd), 0);
    cr_assert_eq(scitt_store_get_tile(*rd, level, index, &hashes, &width), 0);
    cr_assert_eq(width, 256);
    return hashes;
}

/* try_tile: a full tile the tile cache holds within the cached checkpoint,
 * byte for byte the stored one; a partial tile, a tile past the head, or a
 * tile not cached is SCITT_EAGAIN (the caller reads the store). */
Test(log, try_tile)
{
    h_open(&env, 0, 0);
    env.receipt_cache_bytes = 1; /* receipts prove through the tile cache */
    h_start(&env, 100, 0, 1);
    h_waiter_t w;
    feed(&w, 600, 3);
    scitt_log_reader_t *r = scitt_seq_log(env.seq);
    scitt_buf_t t;
    scitt_buf_init(&t, NULL, 0);
    for (uint64_t leaf = 0; leaf < 600; leaf += 50) { /* prove through every tile */
        cr_assert_eq(scitt_log_receipt(r, NULL, leaf, &t), 0);
        scitt_buf_reset(&t);
    }
    cr_assert_eq(scitt_log_try_tile(r, 0, 1, &t), 0);
    cr_assert_eq(t.len, 256 * 32);
    scitt_store_read_t *rd;
    const uint8_t *hashes = stored_full_tile(&rd, 0, 1);
    cr_assert_arr_eq(t.base, hashes, 256 * 32);
    scitt_store_read_end(rd);
    scitt_buf_reset(&t);
    cr_assert_eq(scitt_log_try_tile(r, 0, 2, &t), SCITT_EAGAIN, "a partial tile");
    cr_assert_eq(scitt_log_try_tile(r, 0, 3, &t), SCITT_EAGAIN, "past the head");
    cr_assert_eq(scitt_log_try_tile(r, 1, 0, &t), SCITT_EAGAIN, "level 1 holds two hashes");
    cr_assert_eq(scitt_log_try_tile(r, 63, 0, &t), SCITT_EAGAIN);
    cr_assert_eq(t.len, 0);

    scitt_log_reader_t *cold; /* nobody advanced it: no head, so no tile */
    scitt_log_config_t cfg = {.store = env.store, .receipt_kid = env.keys.receipt_kid, .origin = H_ORIGIN};
    cr_assert_eq(scitt_log_new(&cold, &cfg), 0);
    cr_assert_eq(scitt_log_receipt(cold, NULL, 10, &t), 0);
    scitt_buf_reset(&t);
    cr_assert_eq(scitt_log_try_tile(cold, 0, 0, &t), SCITT_EAGAIN);
    cr_assert_eq(scitt_log_advance(cold, 600), 0);
    cr_assert_eq(scitt_log_try_tile(cold, 0, 0, &t), 0);
    scitt_log_free(cold);
    scitt_buf_cleanup(&t);
    h_waiter_cleanup(&w);
}

/* A receipt built with the proof path's tiles read in one batch (as for a
 * store whose reads are round trips) is the same receipt, for leaves all
 * over a log with full and partial tiles on two levels. */
Test(log, receipt_with_batched_tiles)
{
    h_open(&env, 0, 0);
    h_start(&env, 300, 0, 1);
    h_waiter_t w;
    feed(&w, 70000 / 64, 5); /* enough batches to make level-1 tiles */
    h_waiter_cleanup(&w);
    feed(&w, 66000, 6);
    scitt_store_read_t *rd;
    scitt_buf_t a, b, prot;
    scitt_buf_init(&a, NULL, 0);
    scitt_buf_init(&b, NULL, 0);
    scitt_buf_init(&prot, NULL, 0);
    cr_assert_eq(scitt_store_read_begin(env.store, &rd), 0);
    scitt_span_t kid = scitt_span(env.keys.receipt_kid, 32);
    for (uint64_t leaf = 0; leaf < 66000 + 70000 / 64; leaf += 977) {
        scitt_buf_reset(&a);
        scitt_buf_reset(&b);
        cr_assert_eq(scitt_log__receipt_at(rd, NULL, true, kid, scitt_span_str(H_ORIGIN), leaf, &prot, &a), 0);
        cr_assert_eq(scitt_log__receipt_at(rd, NULL, false, kid, scitt_span_str(H_ORIGIN), leaf, &prot, &b), 0);
        cr_assert(scitt_span_eq(scitt_buf_span(&a), scitt_buf_span(&b)), "leaf %lu", (unsigned long)leaf);
    }
    scitt_store_read_end(rd);
    scitt_buf_cleanup(&a);
    scitt_buf_cleanup(&b);
    scitt_buf_cleanup(&prot);
    h_waiter_cleanup(&w);
}

/* try_receipt answers from the recent-receipt ring only, by leaf or by
 * entry hash (the receipt its registration returned, the one rebuilt from
 * the store); an entry not in the log is not found; a reader without a
 * receipt key (a mirror) has no receipts at all. */
Test(log, try_receipt)
{
    h_open(&env, 0, 0);
    h_start(&env, 32, 0, 1);
    h_waiter_t w;
    feed(&w, 100, 4);
    scitt_log_reader_t *r = scitt_seq_log(env.seq);
    scitt_buf_t out;
    scitt_buf_init(&out, NULL, 0);
    for (size_t i = 0; i < 100; i++) {
        const h_result_t *res = &w.results[i];
        scitt_buf_reset(&out);
        cr_assert_eq(scitt_log_try_receipt(r, res->index, &out), 0);
        cr_assert(scitt_span_eq(scitt_buf_span(&out), scitt_span(res->receipt, res->receipt_len)));
        scitt_buf_reset(&out);
        cr_assert_eq(scitt_log_try_entry_receipt(r, res->entry, &out), 0);
        cr_assert(scitt_span_eq(scitt_buf_span(&out), scitt_span(res->receipt, res->receipt_len)));
        scitt_buf_reset(&out);
        cr_assert_eq(scitt_log_store_receipt(env.store, NULL, env.keys.receipt_kid, H_ORIGIN, res->index, &out), 0);
        cr_assert(scitt_span_eq(scitt_buf_span(&out), scitt_span(res->receipt, res->receipt_len)));
    }
    scitt_buf_reset(&out);
    cr_assert_eq(scitt_log_try_receipt(r, 100, &out), SCITT_EAGAIN, "not committed");
    uint8_t unknown[32];
    memset(unknown, 0x5a, sizeof(unknown));
    cr_assert_eq(scitt_log_try_entry_receipt(r, unknown, &out), SCITT_EAGAIN, "not in the log");
    cr_assert_eq(out.len, 0);

    scitt_log_reader_t *mirror;
    scitt_log_config_t cfg = {.store = env.store};
    cr_assert_eq(scitt_log_new(&mirror, &cfg), 0);
    cr_assert_eq(scitt_log_try_receipt(mirror, 5, &out), SCITT_EAGAIN);
    cr_assert_eq(scitt_log_try_entry_receipt(mirror, w.results[5].entry, &out), SCITT_EAGAIN);
    cr_assert_eq(scitt_log_receipt(mirror, NULL, 5, &out), SCITT_ENOTFOUND);
    scitt_log_free(mirror);
    scitt_buf_cleanup(&out);
    h_waiter_cleanup(&w);
}

/* ------------------------------------------------------------------------ */
/* The reader pool                                                          */

typedef struct pool_job {
    scitt_log_job_t job;
    atomic_int *ran, *done;
    int done_rc;
    atomic_bool *gate; /* the job waits while set */
} pool_job_t;

static void pool_run(scitt_log_job_t *j)
{
    pool_job_t *p = (pool_job_t *)j;
    while (p->gate != NULL && atomic_load(p->gate)) {
        usleep(1000);
    }
    atomic_fetch_add(p->ran, 1);
}

static void pool_done(scitt_log_job_t *j, int rc)
{
    pool_job_t *p = (pool_job_t *)j;
    p->done_rc = rc;
    atomic_fetch_add(p->done, 1);
}

/* Every job runs once and is done once; a job cancelled before a thread
 * took it is done at once with SCITT_ESHUTDOWN and never runs; one that
 * runs cannot be cancelled; free waits for what is queued. */
Test(log, pool)
{
    h_open(&env, 0, 0);
    scitt_log_reader_t *r;
    scitt_log_config_t cfg = {.store = env.store, .read_workers = 1};
    cr_assert_eq(scitt_log_new(&r, &cfg), 0);
    atomic_int ran, done;
    atomic_bool gate;
    atomic_init(&ran, 0);
    atomic_init(&done, 0);
    atomic_init(&gate, true);
    enum { N = 50 };
    pool_job_t jobs[N];
    for (int i = 0; i < N; i++) {
        jobs[i] = (pool_job_t){.job = {.run = pool_run, .done = pool_done}, .ran = &ran, .done = &done};
    }
    jobs[0].gate = &gate; /* holds the one thread */
    for (int i = 0; i < N; i++) {
        cr_assert_eq(scitt_log_submit(r, &jobs[i].job), 0);
    }
    scitt_log_stats_t st;
    for (scitt_log_stats(r, &st); st.pool_queued != N - 1; scitt_log_stats(r, &st)) {
        usleep(1000); /* until the thread took job 0 */
    }
    cr_assert(scitt_log_cancel(r, &jobs[N - 1].job), "queued: cancelled");
    cr_assert(scitt_log_cancel(r, &jobs[1].job), "queued at the head: cancelled");
    cr_assert_eq(jobs[N - 1].done_rc, SCITT_ESHUTDOWN);
    cr_assert_eq(atomic_load(&done), 2);
    cr_assert(!scitt_log_cancel(r, &jobs[0].job), "running: not cancelled");
    scitt_log_stats(r, &st);
    cr_assert_eq(st.pool_queued, N - 3);
    atomic_store(&gate, false);
    scitt_log_free(r); /* runs what is queued, then joins */
    cr_assert_eq(atomic_load(&ran), N - 2);
    cr_assert_eq(atomic_load(&done), N);
    for (int i = 2; i < N - 1; i++) {
        cr_assert_eq(jobs[i].done_rc, 0);
    }
}
/* recent_put and recent_get alone: receipts of varying sizes wrap the ring;
 * exactly the latest ones are held, byte for byte; a leaf out of order
 * starts a new window; oversized receipts and a cache that is off hold
 * nothing. */
Test(log, recent_ring)
{
    scitt_log__recent_t r;
    cr_assert_eq(scitt_log__recent_init(&r, 4096 + 512), 0);
    uint8_t rec[1500];
    scitt_buf_t out;
    scitt_buf_init(&out, NULL, 0);
    for (uint64_t leaf = 100; leaf < 400; leaf++) {
        size_t len = 40 + (size_t)((leaf * 37) % 300);
        memset(rec, (int)leaf, len);
        scitt_log__recent_put(&r, leaf, NULL, scitt_span(rec, len));
        cr_assert_eq(r.next, leaf + 1);
        cr_assert_leq(r.used, r.cap);
        for (uint64_t q = leaf > 30 ? leaf - 30 : 0; q <= leaf; q++) {
            scitt_buf_reset(&out);
            int rc = scitt_log__recent_get(&r, q, &out);
            if (q < r.first) {
                cr_assert_eq(rc, SCITT_ENOTFOUND);
                continue;
            }
            cr_assert_eq(rc, 0, "leaf %lu held", (unsigned long)q);
            size_t want = 40 + (size_t)((q * 37) % 300);
            cr_assert_eq(out.len, want);
            for (size_t i = 0; i < want; i++) {
                cr_assert_eq(out.base[i], (uint8_t)q, "leaf %lu byte %zu", (unsigned long)q, i);
            }
        }
        cr_assert_leq(leaf - r.first, 20, "a 4.5 KiB ring holds the last few receipts");
    }
    scitt_log__recent_put(&r, 1000, NULL, scitt_span(rec, 50)); /* out of order: a new window */
    cr_expect_eq(r.first, 1000);
    scitt_buf_reset(&out);
    cr_expect_eq(scitt_log__recent_get(&r, 399, &out), SCITT_ENOTFOUND);
    cr_expect_eq(scitt_log__recent_get(&r, 1000, &out), 0);
    scitt_log__recent_put(&r, 1001, NULL, scitt_span(rec, sizeof(rec))); /* over a quarter of the ring */
    cr_expect_eq(scitt_log__recent_get(&r, 1001, &out), SCITT_ENOTFOUND);
    scitt_log__recent_cleanup(&r);

    cr_assert_eq(scitt_log__recent_init(&r, 1000), 0); /* off */
    scitt_log__recent_put(&r, 0, NULL, scitt_span(rec, 50));
    cr_expect_eq(scitt_log__recent_get(&r, 0, &out), SCITT_ENOTFOUND);
    scitt_log__recent_cleanup(&r);
    scitt_buf_cleanup(&out);
}

/* A full tile kept from the store is served only within the cached head,
 * and is the stored tile; advance_to never moves the head backwards. */
Test(log, kept_tile_and_advance_to)
{
    h_open(&env, 0, 0);
    h_start(&env, 100, 0, 1);
    h_waiter_t w;
    feed(&w, 600, 8);
    scitt_log_config_t cfg = {.store = env.store, .receipt_kid = env.keys.receipt_kid, .origin = H_ORIGIN};
    scitt_log_reader_t *r;
    cr_assert_eq(scitt_log_new(&r, &cfg), 0);
    scitt_store_read_t *rd;
    const uint8_t *hashes = stored_full_tile(&rd, 0, 1);
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
