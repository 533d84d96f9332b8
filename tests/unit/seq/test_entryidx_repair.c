/*
 * test_entryidx_repair.c: a entry index that could not grow after a commit
 * (its new table cannot be created: here a directory sits where the table
 * file is built) refuses lookups instead of answering wrongly, and once the
 * cause is gone it is mended in place, without a restart and without a
 * registration to trigger it: lookups by entry (GET by id) find every
 * entry again, including those committed while it was broken, and
 * registrations work again without duplicating any entry.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../src/store/entryidx.h"
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

TestSuite(seq_entryidx_repair, .init = setup, .fini = teardown, .timeout = 120);

/* lookup: scitt_store_get_entryidx of `entry` (what GET /entries/{id} asks). */
static int lookup(const uint8_t entry[32], uint64_t *index)
{
    scitt_store_read_t *rd;
    cr_assert_eq(scitt_store_read_begin(env.store, &rd), 0);
    int rc = scitt_store_get_entryidx(rd, entry, index);
    scitt_store_read_end(rd);
    return rc;
}

/* register_all submits stmts[0, n) and waits for every answer. */
static void register_all(h_waiter_t *w, const scitt_buf_t *stmts, size_t n)
{
    h_waiter_init(w, n);
    for (size_t i = 0; i < n; i++) {
        h_submit(&env, w, i, &stmts[i]);
    }
    h_wait(w, n, 60);
}

Test(seq_entryidx_repair, failed_insert_is_mended_in_place)
{
    /* A new index has 4096 slots; it must grow past 2867 entries and
     * refuses inserts past 3686 when it cannot. */
    enum { N = 3800 };
    char tmp[300];
    h_open(&env, 0, 0);
    snprintf(tmp, sizeof(tmp), "%s/%s.tmp", env.dir, SCITT_ENTRYIDX_FILE);
    cr_assert_eq(mkdir(tmp, 0700), 0);
    h_start(&env, 256, 8192, 2);

    scitt_buf_t *stmts = calloc(N + 1, sizeof(*stmts));
    uint8_t(*entries)[32] = calloc(N + 1, 32);
    for (size_t i = 0; i <= N; i++) {
        char sub[64];
        snprintf(sub, sizeof(sub), "pkg:repair/%zu", i);
        scitt_buf_init(&stmts[i], NULL, 0);
        h_statement(&env, &stmts[i], sub, false);
        h_entry(&stmts[i], entries[i]);
    }

    /* 1. Register N: the batch whose insert fails is committed and
     * answered; every later batch cannot be classified and is refused. */
    h_waiter_t w1;
    register_all(&w1, stmts, N);
    size_t ok = 0;
    for (size_t i = 0; i < N; i++) {
        cr_assert(w1.results[i].rc != 0 || !w1.results[i].existing);
        ok += w1.results[i].rc == 0;
    }
    uint64_t size = h_tree_size(&env);
    cr_assert_eq(size, ok);
    cr_assert_gt(size, 3686, "the index broke after %llu entries", (unsigned long long)size);
    uint64_t index;
    int rc = lookup(entries[0], &index);
    cr_assert(rc != 0 && rc != SCITT_ENOTFOUND, "a broken index refuses lookups (got %s)", scitt_err_name(rc));

    /* 2. While broken: a repeat and a new statement are refused, nothing
     * is committed. */
    h_waiter_t w2;
    scitt_buf_t pair[2] = {stmts[0], stmts[N]};
    register_all(&w2, pair, 2);
    cr_assert_neq(w2.results[0].rc, 0);
    cr_assert_neq(w2.results[1].rc, 0);
    cr_assert_eq(h_tree_size(&env), size);

    /* 3. The cause goes away: the idle sequencer mends the index. */
    cr_assert_eq(rmdir(tmp), 0);
    for (int i = 0; i < 200 && (rc = lookup(entries[0], &index)) != 0; i++) {
        usleep(50000);
    }
    cr_assert_eq(rc, 0, "the index was not mended: %s", scitt_err_name(rc));
    for (size_t i = 0; i < N; i++) {
        if (w1.results[i].rc == 0) {
            cr_assert_eq(lookup(entries[i], &index), 0, "entry %zu", i);
            cr_assert_eq(index, w1.results[i].index);
        } else {
            cr_assert_eq(lookup(entries[i], &index), SCITT_ENOTFOUND, "entry %zu", i);
        }
    }

    /* 4. Registrations work again, without duplicates: the repeat keeps its
     * leaf, the new statement and the refused ones get one leaf each. */
    h_waiter_t w3;
    register_all(&w3, pair, 2);
    cr_assert_eq(w3.results[0].rc, 0);
    cr_assert(w3.results[0].existing);
    cr_assert_eq(w3.results[0].index, w1.results[0].index);
    cr_assert_eq(w3.results[1].rc, 0);
    cr_assert_not(w3.results[1].existing);
    cr_assert_eq(w3.results[1].index, size);
    h_waiter_t w4;
    register_all(&w4, stmts, N);
    size_t fresh = 0;
    for (size_t i = 0; i < N; i++) {
        cr_assert_eq(w4.results[i].rc, 0, "statement %zu: %s", i, scitt_err_name(w4.results[i].rc));
        fresh += !w4.results[i].existing;
        if (w1.results[i].rc == 0) {
            cr_assert_eq(w4.results[i].index, w1.results[i].index);
        }
    }
    cr_assert_eq(fresh, N - ok);
    cr_assert_eq(h_tree_size(&env), N + 1);

    h_waiter_cleanup(&w1);
    h_waiter_cleanup(&w2);
    h_waiter_cleanup(&w3);
    h_waiter_cleanup(&w4);
    for (size_t i = 0; i <= N; i++) {
        scitt_buf_cleanup(&stmts[i]);
    }
    free(stmts);
    free(entries);
}
