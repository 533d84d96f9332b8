/* test_index.c: the sequencer's index records (issue 10): every new leaf is
 * indexed by its statement's fields, through the verify pool and through
 * scitt_seq__submit_entry; repeats add nothing. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

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

TestSuite(seq_index, .init = setup, .fini = teardown, .timeout = 60);

/* query_all returns every leaf with `key` (one field), in order. */
static size_t query_all(unsigned field, scitt_span_t value, uint64_t *out, size_t cap)
{
    uint64_t key = scitt_store_index_key(field, value.base, value.len), next;
    scitt_store_query_t q = {.keys = &key, .num_keys = 1};
    scitt_store_read_t *rd;
    size_t n;
    cr_assert_eq(scitt_store_read_begin(env.store, &rd), 0);
    cr_assert_eq(scitt_store_query(rd, &q, out, cap, &n, &next), 0);
    cr_assert_eq(next, UINT64_MAX);
    scitt_store_read_end(rd);
    return n;
}

Test(seq_index, new_leaves_are_indexed_once)
{
    enum { N = 30, DUPS = 12, DIRECT = 5 };
    h_open(&env, 0, 0);
    h_start(&env, 8, 4096, 2);
    scitt_buf_t stmts[N + DUPS + DIRECT + 1];
    char subs[N + DIRECT][32];
    for (size_t i = 0; i < N + DIRECT; i++) {
        snprintf(subs[i], sizeof(subs[i]), "pkg/%zu", i);
        scitt_buf_init(&stmts[i], NULL, 0);
        h_statement(&env, &stmts[i], subs[i], i % 2 == 0);
    }
    for (size_t i = 0; i < DUPS; i++) { /* repeats, some with an unprotected header normalisation drops */
        scitt_buf_init(&stmts[N + DIRECT + i], NULL, 0);
        h_statement(&env, &stmts[N + DIRECT + i], subs[i * 2], i % 2 == 1);
    }
    h_waiter_t w;
    h_waiter_init(&w, N + DIRECT + DUPS + 1);
    for (size_t i = 0; i < N; i++) {
        h_submit(&env, &w, i, &stmts[i]);
    }
    h_wait(&w, N, 10);
    for (size_t i = N + DIRECT; i < N + DIRECT + DUPS; i++) {
        h_submit(&env, &w, i, &stmts[i]);
    }
    /* The test path: statements already normalised (odd ones have no noise),
     * and bytes that do not decode (indexed by nothing). */
    for (size_t i = N; i < N + DIRECT; i++) {
        scitt_buf_reset(&stmts[i]);
        h_statement(&env, &stmts[i], subs[i], false);
        h_submit_entry(&env, &w, i, stmts[i].base, stmts[i].len);
    }
    static const uint8_t junk[] = "not a statement";
    h_submit_entry(&env, &w, N + DIRECT + DUPS, junk, sizeof(junk));
    h_wait(&w, N + DIRECT + DUPS + 1, 10);
    for (size_t i = 0; i < N + DIRECT + DUPS + 1; i++) {
        cr_assert_eq(w.results[i].rc, 0, "result %zu: %s", i, scitt_err_name(w.results[i].rc));
    }

    uint64_t leaves[64];
    size_t n = query_all(SCITT_INDEX_ISS, scitt_span_str("https://ci.example"), leaves, 64);
    cr_assert_eq(n, N + DIRECT, "one record per new leaf, none for repeats or junk");
    n = query_all(SCITT_INDEX_KEY, scitt_span(env.issuer_kid, 32), leaves, 64);
    cr_assert_eq(n, N + DIRECT);
    for (size_t i = 0; i < N + DIRECT; i++) {
        n = query_all(SCITT_INDEX_SUB, scitt_span_str(subs[i]), leaves, 64);
        cr_assert_eq(n, 1, "sub %s", subs[i]);
        cr_assert_eq(leaves[0], w.results[i].index);
        uint8_t digest[32];
        scitt_sha256(digest, (const uint8_t *)subs[i], strlen(subs[i])); /* the payload is the sub */
        n = query_all(SCITT_INDEX_ARTIFACT, scitt_span(digest, 32), leaves, 64);
        cr_assert_eq(n, 1);
        cr_assert_eq(leaves[0], w.results[i].index);
    }
    h_close(&env);
    h_waiter_cleanup(&w);
    for (size_t i = 0; i < N + DUPS + DIRECT; i++) {
        scitt_buf_cleanup(&stmts[i]);
    }
}
