/*
 * test_cancel.c: scitt_seq_cancel (issue 16 H). A submission taken back
 * before a verify thread took it leaves the queue at once: its slot is
 * free, it is not pending, never answered and never logged; one already
 * taken is answered and logged as usual.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include "harness.h"
#include "internal.h"

static h_env_t env;

static void setup(void)
{
    h_setup(&env);
    h_open(&env, 0, 0);
}

static void teardown(void)
{
    h_teardown(&env);
}

TestSuite(cancel, .init = setup, .fini = teardown, .timeout = 120);

#define N 400

Test(cancel, taken_back_before_verification)
{
    h_start(&env, 0, N, 1); /* one verify thread: most of the queue waits */
    static scitt_buf_t stmts[N];
    static scitt_seq_ticket_t tickets[N];
    static bool cancelled[N];
    h_waiter_t w;
    h_waiter_init(&w, N);
    for (size_t i = 0; i < N; i++) {
        char sub[32];
        snprintf(sub, sizeof(sub), "pkg:cancel-%zu", i);
        scitt_buf_init(&stmts[i], NULL, 0);
        h_statement(&env, &stmts[i], sub, true);
    }
    for (size_t i = 0; i < N; i++) {
        cr_assert_eq(
            scitt_seq_submit_cancellable(env.seq, stmts[i].base, stmts[i].len, h_done, &w.results[i], &tickets[i]), 0);
    }
    size_t num_cancelled = 0;
    for (size_t i = N / 2; i < N; i++) {
        cancelled[i] = scitt_seq_cancel(env.seq, &tickets[i]);
        num_cancelled += cancelled[i];
        cr_assert(!cancelled[i] || tickets[i].job == NULL);
    }
    cr_assert_gt(num_cancelled, 0, "the verify thread cannot have taken all of %d statements yet", N);
    scitt_seq_stats_t st;
    scitt_seq_stats(env.seq, &st);
    cr_assert_leq(st.pending, N - num_cancelled, "cancelled statements left the queue at once");
    h_wait(&w, N - num_cancelled, 60);
    for (size_t i = 0; i < N; i++) {
        uint8_t entry[32];
        h_entry(&stmts[i], entry);
        cr_assert(!scitt_seq_is_pending(env.seq, entry));
        if (cancelled[i]) {
            cr_assert(!w.results[i].done, "a statement taken back is never answered");
        } else {
            cr_assert(w.results[i].done);
            cr_assert_eq(w.results[i].rc, 0, "%zu: %s", i, scitt_err_name(w.results[i].rc));
            cr_assert_eq(scitt_seq_cancel(env.seq, &tickets[i]), false, "answered: too late to take back");
        }
    }
    cr_assert_eq(h_tree_size(&env), N - num_cancelled, "only what was not taken back is logged");
    cr_assert_eq(w.twice, 0);
    h_waiter_cleanup(&w);
    for (size_t i = 0; i < N; i++) {
        scitt_buf_cleanup(&stmts[i]);
    }
}
