#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "../../../src/log/internal.h" /* the recent-receipt ring's window */

static h_env_t env;

static void setup(void)
{
    h_setup(&env);
}

static void teardown(void)
{
    h_teardown(&env);
}

TestSuite(sequencer, .init = setup, .fini = teardown, .timeout = 60);

/* wait_queued waits until the sequencer queue holds `n` verified jobs. */
static void wait_queued(scitt_seq_t *seq, size_t n)
{
    for (int i = 0; i < 20000; i++) {
        pthread_mutex_lock(&seq->sq_lock);
        size_t got = seq->sq.num;
        pthread_mutex_unlock(&seq->sq_lock);
        if (got >= n) {
            return;
        }
        usleep(500);
    }
    cr_assert_fail("the verify pool did not queue %zu statements", n);
}

static void make_statements(scitt_buf_t *stmts, size_t first, size_t n, const char *tag)
{
    for (size_t i = first; i < first + n; i++) {
        char sub[64];
        snprintf(sub, sizeof(sub), "pkg:%s/%zu", tag, i);
        scitt_buf_init(&stmts[i], NULL, 0);
        h_statement(&env, &stmts[i], sub, i % 3 == 0);
    }
}

/* Batches of random sizes, some cut by batch_max: every receipt verifies
 * against its batch's head and equals the rebuild, every checkpoint
 * verifies, and every pair of heads is consistent. */
Test(sequencer, random_batches_verify)
{
    enum { TOTAL = 1200, BATCH_MAX = 64 };
    srand(12345);
    h_open(&env, 0, 0);
    h_start(&env, BATCH_MAX, 4096, 2);
    scitt_buf_t *stmts = calloc(TOTAL, sizeof(*stmts));
    make_statements(stmts, 0, TOTAL, "random");
    h_waiter_t w;
    h_waiter_init(&w, TOTAL);
    size_t done = 0, rounds = 0;
    while (done < TOTAL) {
        size_t k = 1 + (size_t)rand() % 150;
        if (k > TOTAL - done) {
            k = TOTAL - done;
        }
        bool held = rand() % 2 == 0;
        if (held) {
            scitt_seq__hold(env.seq, true);
        }
        for (size_t i = done; i < done + k; i++) {
            h_submit(&env, &w, i, &stmts[i]);
        }
        if (held) {
            wait_queued(env.seq, k);
            scitt_seq__hold(env.seq, false);
        }
        done += k;
        if (rand() % 3 != 0) {
            h_wait(&w, done, 30);
        }
        rounds++;
    }
    h_wait(&w, TOTAL, 30);
    cr_assert_eq(w.twice, 0);
    bool *seen = calloc(TOTAL, 1);
    for (size_t i = 0; i < TOTAL; i++) {
        h_result_t *r = &w.results[i];
        cr_assert_eq(r->rc, 0, "statement %zu: %s", i, scitt_err_name(r->rc));
        cr_assert(!r->existing);
        cr_assert(r->has_entry);
        uint8_t entry[32];
        h_entry(&stmts[i], entry);
        cr_assert_arr_eq(r->entry, entry, 32);
        cr_assert_lt(r->index, TOTAL);
        cr_assert(!seen[r->index], "index %llu given twice", (unsigned long long)r->index);
        seen[r->index] = true;
        h_check_receipt(&env, entry, r->index, r->receipt, r->receipt_len);
    }
    scitt_seq_stats_t stats;
    scitt_seq_stats(env.seq, &stats);
    cr_assert_eq(stats.tree_size, TOTAL);
    cr_assert_eq(stats.pending, 0);
    size_t heads = h_check_log(&env);
    cr_assert_geq(heads, TOTAL / BATCH_MAX, "batches are bounded by batch_max");
    cr_assert_lt(heads, TOTAL, "some batches held several entries");
    cr_log_info("%zu rounds, %zu heads", rounds, heads);
    free(seen);
    for (size_t i = 0; i < TOTAL; i++) {
        scitt_buf_cleanup(&stmts[i]);
    }
    free(stmts);
    h_waiter_cleanup(&w);
}

/* register_one submits `stmt` and returns its answer (copied into *out). */
static void register_one(const scitt_buf_t *stmt, h_result_t *out)
{
    h_waiter_t w;
    h_waiter_init(&w, 1);
    h_submit(&env, &w, 0, stmt);
    h_wait(&w, 1, 30);
    *out = w.results[0];
    w.results[0].receipt = NULL; /* moved to *out */
    h_waiter_cleanup(&w);
    out->w = NULL;
}

Test(sequencer, dedup_across_batches)
{
    h_open(&env, 0, 0);
    h_start(&env, 0, 0, 1);
    scitt_buf_t a, a_noisy;
    scitt_buf_init(&a, NULL, 0);
    scitt_buf_init(&a_noisy, NULL, 0);
    h_statement(&env, &a, "pkg:dedup/a", false);
    h_statement(&env, &a_noisy, "pkg:dedup/a", true); /* same statement, other unprotected header */
    h_result_t first, again, noisy;
    register_one(&a, &first);
    cr_assert_eq(first.rc, 0);
    cr_assert(!first.existing);
    uint64_t size = h_tree_size(&env);
    register_one(&a, &again);
    register_one(&a_noisy, &noisy);
    for (int k = 0; k < 2; k++) {
        h_result_t *r = k == 0 ? &again : &noisy;
        cr_assert_eq(r->rc, 0);
        cr_assert(r->existing);
        cr_assert_eq(r->index, first.index);
        cr_assert_arr_eq(r->entry, first.entry, 32);
        cr_assert_eq(r->receipt_len, first.receipt_len);
        cr_assert_arr_eq(r->receipt, first.receipt, first.receipt_len, "a repeat gets the first receipt");
    }
    cr_assert_eq(h_tree_size(&env), size, "a repeat adds nothing to the log");
    h_check_receipt(&env, first.entry, first.index, first.receipt, first.receipt_len);
    free(first.receipt);
    free(again.receipt);
    free(noisy.receipt);
    scitt_buf_cleanup(&a);
    scitt_buf_cleanup(&a_noisy);
}

Test(sequencer, dedup_inside_one_batch)
{
    h_open(&env, 0, 0);
    h_start(&env, 0, 0, 2);
    scitt_buf_t s[4];
    for (int i = 0; i < 4; i++) {
        scitt_buf_init(&s[i], NULL, 0);
    }
    h_statement(&env, &s[0], "pkg:batch/a", false);
    h_statement(&env, &s[1], "pkg:batch/a", true);
    h_statement(&env, &s[2], "pkg:batch/b", false);
    h_statement(&env, &s[3], "pkg:batch/a", false);
    h_waiter_t w;
    h_waiter_init(&w, 4);
    scitt_seq__hold(env.seq, true);
    for (size_t i = 0; i < 4; i++) {
        h_submit(&env, &w, i, &s[i]);
    }
    wait_queued(env.seq, 4);
    uint8_t entry_a[32];
    h_entry(&s[0], entry_a);
    cr_assert(scitt_seq_is_pending(env.seq, entry_a), "accepted and uncommitted is pending");
    scitt_seq__hold(env.seq, false);
    h_wait(&w, 4, 30);
    cr_assert(!scitt_seq_is_pending(env.seq, entry_a), "committed is no longer pending");
    h_result_t *r = w.results;
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(r[i].rc, 0);
    }
    cr_assert_eq(h_tree_size(&env), 2, "two distinct entries, one batch");
    cr_assert_eq(h_check_log(&env), 1, "one head");
    /* Submission order across pool threads is not fixed: exactly one of the
     * three copies of `a` is the first; the others repeat its index. */
    int firsts = 0;
    for (int i = 0; i < 4; i++) {
        if (i == 2) {
            continue;
        }
        firsts += !r[i].existing;
        cr_assert_arr_eq(r[i].entry, entry_a, 32);
        cr_assert_eq(r[i].index, r[0].index);
        cr_assert_eq(r[i].receipt_len, r[0].receipt_len);
        cr_assert_arr_eq(r[i].receipt, r[0].receipt, r[0].receipt_len);
    }
    cr_assert_eq(firsts, 1);
    cr_assert(!r[2].existing);
    cr_assert_neq(r[2].index, r[0].index);
    h_check_receipt(&env, r[0].entry, r[0].index, r[0].receipt, r[0].receipt_len);
    h_check_receipt(&env, r[2].entry, r[2].index, r[2].receipt, r[2].receipt_len);
    h_waiter_cleanup(&w);
    for (int i = 0; i < 4; i++) {
        scitt_buf_cleanup(&s[i]);
    }
}

Test(sequencer, dedup_after_restart)
{
    h_open(&env, 0, 0);
    h_start(&env, 0, 0, 1);
    scitt_buf_t a, b;
    scitt_buf_init(&a, NULL, 0);
    scitt_buf_init(&b, NULL, 0);
    h_statement(&env, &a, "pkg:restart/a", false);
    h_statement(&env, &b, "pkg:restart/b", false);
    h_result_t first, again, other;
    register_one(&a, &first);
    cr_assert_eq(first.rc, 0);
    h_close(&env);

    h_open(&env, 0, 0);
    h_start(&env, 0, 0, 1);
    register_one(&a, &again);
    cr_assert_eq(again.rc, 0);
    cr_assert(again.existing);
    cr_assert_eq(again.index, first.index);
    cr_assert_eq(again.receipt_len, first.receipt_len);
    cr_assert_arr_eq(again.receipt, first.receipt, first.receipt_len);
    register_one(&b, &other);
    cr_assert_eq(other.rc, 0);
    cr_assert(!other.existing);
    cr_assert_eq(other.index, first.index + 1, "appending continues after the restart");
    h_check_receipt(&env, other.entry, other.index, other.receipt, other.receipt_len);
    h_check_log(&env);
    free(first.receipt);
    free(again.receipt);
    free(other.receipt);
    scitt_buf_cleanup(&a);
    scitt_buf_cleanup(&b);
}

Test(sequencer, receipt_of_unknown_index)
{
    h_open(&env, 0, 0);
    scitt_buf_t out;
    scitt_buf_init(&out, NULL, 0);
    cr_assert_eq(scitt_log_store_receipt(env.store, NULL, env.keys.receipt_kid, H_ORIGIN, 0, &out), SCITT_ENOTFOUND);
    cr_assert_eq(scitt_log_store_receipt(env.store, NULL, env.keys.receipt_kid, H_ORIGIN, UINT64_MAX, &out),
                 SCITT_ENOTFOUND);
    scitt_buf_cleanup(&out);
}

/* ------------------------------------------------------------------------ */
/* Receipts through the tile cache                                          */

static void feed(h_waiter_t *w, size_t n, size_t len, unsigned tag);

/* pick returns a pseudo-random value in [0, n) (xorshift64). */
static size_t pick(uint64_t *s, size_t n)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (size_t)(*s % n);
}

/* expect_cached_receipt: scitt_log_receipt (tile cache) and
 * scitt_log_store_receipt (the store alone) both give `want`. */
static void expect_cached_receipt(const h_result_t *want)
{
    scitt_buf_t a, b;
    scitt_buf_init(&a, NULL, 0);
    scitt_buf_init(&b, NULL, 0);
    cr_assert_eq(scitt_log_receipt(scitt_seq_log(env.seq), NULL, want->index, &a), 0);
    cr_assert_eq(scitt_log_store_receipt(env.store, NULL, env.keys.receipt_kid, H_ORIGIN, want->index, &b), 0);
    cr_assert_eq(a.len, want->receipt_len, "leaf %lu", (unsigned long)want->index);
    cr_assert_arr_eq(a.base, want->receipt, a.len, "leaf %lu: cached receipt differs", (unsigned long)want->index);
    cr_assert_eq(b.len, want->receipt_len);
    cr_assert_arr_eq(b.base, want->receipt, b.len);
    scitt_buf_cleanup(&a);
    scitt_buf_cleanup(&b);
}

/* Many batches of odd sizes (full tiles at levels 0 and 1, partial ones,
 * receipts for sizes long past), a cache of three tiles (evictions on
 * every few lookups), then a restart (an empty cache, the default bound):
 * every receipt from the cache equals the registration's and the store's. */
Test(sequencer, receipts_through_the_tile_cache)
{
    enum { N = 2600 };
    h_open(&env, 0, 0);
    env.tile_cache_bytes = 3 * 16400;
    env.receipt_cache_bytes = 1; /* off: every read proves through the tile cache */
    h_start(&env, 97, 0, 1);
    h_waiter_t w;
    feed(&w, N, 40, 7);
    uint64_t seed = 11;
    for (int i = 0; i < 400; i++) {
        expect_cached_receipt(&w.results[pick(&seed, N)]);
    }
    scitt_seq_stats_t st;
    scitt_seq_stats(env.seq, &st);
    cr_expect_leq(st.tile_cache_bytes, env.tile_cache_bytes, "the cache keeps its bound");
    cr_expect_gt(st.tile_cache_bytes, 0);
    cr_expect_gt(st.tile_cache_hits, 0);
    cr_expect_gt(st.tile_cache_misses, 0);
    h_close(&env);

    h_open(&env, 0, 0);
    env.tile_cache_bytes = 0;
    env.receipt_cache_bytes = 1;
    h_start(&env, 0, 0, 1);
    for (int i = 0; i < 400; i++) {
        expect_cached_receipt(&w.results[pick(&seed, N)]);
    }
    for (size_t i = 0; i < N; i += 37) {
        expect_cached_receipt(&w.results[i]);
    }
    scitt_seq_stats(env.seq, &st);
    cr_expect_gt(st.tile_cache_hits, 0);
    cr_expect_leq(st.tile_cache_bytes, SCITT_SEQ_DEFAULT_TILE_CACHE);
    h_waiter_cleanup(&w);
}

/* A cache smaller than one tile caches nothing and changes nothing. */
Test(sequencer, tile_cache_off)
{
    enum { N = 600 };
    h_open(&env, 0, 0);
    env.tile_cache_bytes = 1;
    h_start(&env, 64, 0, 1);
    h_waiter_t w;
    feed(&w, N, 40, 8);
    for (size_t i = 0; i < N; i += 7) {
        expect_cached_receipt(&w.results[i]);
    }
    scitt_seq_stats_t st;
    scitt_seq_stats(env.seq, &st);
    cr_expect_eq(st.tile_cache_bytes, 0);
    cr_expect_eq(st.tile_cache_hits, 0);
    h_waiter_cleanup(&w);
}

/* ------------------------------------------------------------------------ */
/* Full disk                                                                */

/* feed submits `n` pre-verified entries of `len` bytes tagged `tag` and
 * waits for every answer. */
static void feed(h_waiter_t *w, size_t n, size_t len, unsigned tag)
{
    h_waiter_init(w, n);
    uint8_t *buf = malloc(len);
    for (size_t i = 0; i < n; i++) {
        memset(buf, (int)(i & 0xff), len);
        memcpy(buf, &tag, sizeof(tag));
        memcpy(buf + sizeof(tag), &i, sizeof(i));
        h_submit_entry(&env, w, i, buf, len);
    }
    free(buf);
    h_wait(w, n, 60);
}

static size_t file_size(const char *dir)
{
    char path[512];
    struct stat sb;
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    cr_assert_eq(stat(path, &sb), 0);
    return (size_t)sb.st_size;
}

/* check_answers checks every successful answer's receipt and counts them. */
static size_t check_answers(h_waiter_t *w, size_t len, unsigned tag, size_t *failed)
{
    size_t ok = 0;
    uint8_t *buf = malloc(len);
    *failed = 0;
    for (size_t i = 0; i < w->num; i++) {
        h_result_t *r = &w->results[i];
        if (r->rc != 0) {
            cr_assert_eq(r->rc, SCITT_ENOSPC, "a full disk answers SCITT_ENOSPC, not %s", scitt_err_name(r->rc));
            (*failed)++;
            continue;
        }
        memset(buf, (int)(i & 0xff), len);
        memcpy(buf, &tag, sizeof(tag));
        memcpy(buf + sizeof(tag), &i, sizeof(i));
        uint8_t entry[32];
        scitt_sha256(entry, buf, len);
        h_check_receipt(&env, entry, r->index, r->receipt, r->receipt_len);
        ok++;
    }
    free(buf);
    return ok;
}

static void full_disk(bool by_map_limit)
{
    enum { LEN = 3000, N = 600 };
    if (by_map_limit) {
        h_open(&env, 1 << 20, 3 << 20); /* the map may grow to 3 MiB, no further */
    } else {
        h_open(&env, 64 << 20, 0);
    }
    h_start(&env, 32, 4096, 1);
    h_waiter_t w1, w2, w3;
    feed(&w1, 200, LEN, 1);
    size_t failed;
    cr_assert_eq(check_answers(&w1, LEN, 1, &failed), 200);
    uint64_t size_before = h_tree_size(&env);

    struct rlimit old;
    if (!by_map_limit) {
        signal(SIGXFSZ, SIG_IGN);
        getrlimit(RLIMIT_FSIZE, &old);
        struct rlimit lim = {file_size(env.dir) + (1 << 20), old.rlim_max};
        cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    }
    feed(&w2, N, LEN, 2);
    size_t ok = check_answers(&w2, LEN, 2, &failed);
    cr_assert_gt(failed, 0, "the disk filled up");
    cr_log_info("full disk (%s): %zu committed, %zu refused", by_map_limit ? "map limit" : "RLIMIT_FSIZE", ok, failed);
    cr_assert_eq(h_tree_size(&env), size_before + ok, "refused entries are not in the log");
    h_check_log(&env);
    cr_assert_eq(check_answers(&w1, LEN, 1, &failed), 200, "nothing committed earlier is lost");

    /* Space returns: the same running pipeline continues. */
    if (by_map_limit) {
        h_close(&env);
        h_open(&env, 0, 0);
        h_start(&env, 32, 4096, 1);
    } else {
        cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    }
    feed(&w3, 100, LEN, 3);
    cr_assert_eq(check_answers(&w3, LEN, 3, &failed), 100);
    cr_assert_eq(h_tree_size(&env), size_before + ok + 100);
    h_check_log(&env);
    h_close(&env);
    h_open(&env, 0, 0);
    h_start(&env, 0, 0, 1); /* recovery accepts the store */
    cr_assert_eq(check_answers(&w2, LEN, 2, &failed), ok);
    h_waiter_cleanup(&w1);
    h_waiter_cleanup(&w2);
    h_waiter_cleanup(&w3);
}

Test(sequencer, full_disk_rlimit)
{
    full_disk(false);
}

Test(sequencer, full_disk_map_limit)
{
    full_disk(true);
}

/* ------------------------------------------------------------------------ */
/* Recovery refuses an inconsistent store                                   */

static void register_some(size_t n)
{
    h_waiter_t w;
    feed(&w, n, 100, 7);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(w.results[i].rc, 0);
    }
    h_waiter_cleanup(&w);
}

static int try_start(const char **why)
{
    scitt_seq_config_t cfg = {.store = env.store, .keys = &env.keys, .policy = env.policy, .origin = H_ORIGIN};
    scitt_seq_t *seq = NULL;
    int rc = scitt_seq_start(&seq, &cfg, why);
    scitt_seq_free(seq);
    return rc;
}

Test(sequencer, recovery_refuses_entries_past_the_head)
{
    h_open(&env, 0, 0);
    h_start(&env, 0, 0, 1);
    register_some(10);
    scitt_seq_free(env.seq);
    env.seq = NULL;
    uint8_t hash[32] = {1};
    scitt_span_t e = scitt_span("stray", 5);
    scitt_store_batch_t b = {.first_index = 10, .num_entries = 1, .entries = &e, .entry_hashes = &hash};
    cr_assert_eq(scitt_store_commit(env.store, &b), 0);
    const char *why = NULL;
    cr_assert_eq(try_start(&why), SCITT_ECORRUPT);
    cr_assert_not_null(why);
    cr_log_info("refused: %s", why);
}

Test(sequencer, recovery_refuses_a_head_the_tiles_do_not_reproduce)
{
    h_open(&env, 0, 0);
    h_start(&env, 0, 0, 1);
    register_some(10);
    scitt_seq_free(env.seq);
    env.seq = NULL;
    /* A head at 11 with an entry but no tiles for it. */
    uint8_t hash[32] = {2};
    scitt_span_t e = scitt_span("stray", 5);
    scitt_store_head_t head = {.size = 11, .time = 1, .receipt_sig = scitt_span("x", 1), .checkpoint = e};
    scitt_store_batch_t b = {.first_index = 10, .num_entries = 1, .entries = &e, .entry_hashes = &hash, .head = &head};
    cr_assert_eq(scitt_store_commit(env.store, &b), 0);
    const char *why = NULL;
    cr_assert_eq(try_start(&why), SCITT_ECORRUPT);
    cr_assert_not_null(why);
    cr_log_info("refused: %s", why);
}

Test(sequencer, recovery_refuses_a_head_signed_by_another_key)
{
    h_open(&env, 0, 0);
    h_start(&env, 0, 0, 1);
    register_some(10);
    scitt_seq_free(env.seq);
    env.seq = NULL;
    /* Rewrite the latest head with a signature that is not ours. */
    scitt_store_read_t *rd;
    scitt_store_head_t head;
    cr_assert_eq(scitt_store_read_begin(env.store, &rd), 0);
    cr_assert_eq(scitt_store_get_latest_head(rd, &head), 0);
    uint8_t sig[64], note[1024];
    memcpy(sig, head.receipt_sig.base, 64);
    sig[10] ^= 1;
    memcpy(note, head.checkpoint.base, head.checkpoint.len);
    head.checkpoint = scitt_span(note, head.checkpoint.len);
    head.receipt_sig = scitt_span(sig, 64);
    scitt_store_read_end(rd);
    scitt_store_batch_t b = {.first_index = head.size, .head = &head};
    cr_assert_eq(scitt_store_commit(env.store, &b), 0);
    const char *why = NULL;
    cr_assert_eq(try_start(&why), SCITT_ECORRUPT);
    cr_log_info("refused: %s", why);
}

Test(sequencer, stats_and_pending)
{
    h_open(&env, 0, 0);
    h_start(&env, 0, 0, 1);
    register_some(5);
    scitt_seq_stats_t st;
    scitt_seq_stats(env.seq, &st);
    cr_assert_eq(st.tree_size, 5);
    cr_assert_eq(st.pending, 0);
    cr_assert_geq(st.batches, 1);
    cr_assert_geq(st.last_batch_size, 1);
    cr_assert_gt(st.last_commit_seconds, 0);
}

/* The recent-receipt cache: a cache of ~8 KiB (32 slots) that wraps and
 * evicts all the time, batches of odd sizes with repeats: every receipt read
 * back equals the one registration returned and the store's, whether it
 * came from the cache or was proved again; after a restart (empty cache)
 * too. */
Test(sequencer, recent_receipts)
{
    enum { N = 900 };
    h_open(&env, 0, 0);
    env.receipt_cache_bytes = 8192;
    h_start(&env, 53, 0, 1);
    h_waiter_t w;
    feed(&w, N, 40, 7);
    for (size_t i = 0; i < N; i++) {
        expect_cached_receipt(&w.results[i]);
    }
    scitt_log__recent_t *r = &scitt_seq_log(env.seq)->recent;
    cr_expect_eq(r->next, N, "the window ends at the last leaf");
    cr_expect_gt(r->first, 0, "older receipts were dropped");
    cr_expect_leq(r->next - r->first, r->num_slots);
    cr_expect_leq(r->used, r->cap);
    h_close(&env);

    h_open(&env, 0, 0);
    h_start(&env, 0, 0, 1);
    for (size_t i = 0; i < N; i += 7) {
        expect_cached_receipt(&w.results[i]);
    }
    h_waiter_cleanup(&w);
}

/* The commit linger: 600 statements submitted at once queue for the one
 * verify worker and reach the sequencer one by one. While some still wait
 * for the worker, the sequencer waits (up to 300 ms here) for twice its
 * last batch before committing, so once batches hold 4 they double, and the
 * 600 take a handful of commits; without the linger the sequencer takes
 * whatever arrived during each commit (dozens of small batches). */
Test(sequencer, linger_fills_batches)
{
    enum { N = 600 };
    h_open(&env, 0, 0);
    env.linger_us = 300000;
    h_start(&env, 0, 0, 1);
    h_waiter_t w;
    h_waiter_init(&w, N);
    scitt_buf_t *stmts = calloc(N, sizeof(*stmts));
    for (size_t i = 0; i < N; i++) {
        char sub[32];
        snprintf(sub, sizeof(sub), "pkg:linger-%zu", i);
        scitt_buf_init(&stmts[i], NULL, 0);
        h_statement(&env, &stmts[i], sub, false);
    }
    for (size_t i = 0; i < N; i++) {
        h_submit(&env, &w, i, &stmts[i]);
    }
    h_wait(&w, N, 60);
    scitt_seq_stats_t st;
    scitt_seq_stats(env.seq, &st);
    cr_expect_leq(st.batches, 16, "batches that double (%lu batches)", (unsigned long)st.batches);
    for (size_t i = 0; i < N; i++) {
        scitt_buf_cleanup(&stmts[i]);
    }
    free(stmts);
    h_waiter_cleanup(&w);
}
