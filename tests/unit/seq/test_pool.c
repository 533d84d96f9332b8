#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "statement.h"

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

TestSuite(pool, .init = setup, .fini = teardown, .timeout = 60);

/* forge appends a statement naming the trusted issuer's kid, signed by
 * another key. */
static void forge(scitt_buf_t *out)
{
    scitt_key_t *stranger;
    cr_assert_eq(scitt_key_generate(&stranger, SCITT_ALG_EDDSA), 0);
    tu_statement_t st = {.alg = SCITT_ALG_EDDSA,
                         .kid = scitt_span(env.issuer_kid, 32),
                         .iss = "https://ci.example",
                         .sub = "pkg:forged",
                         .payload = scitt_span_str("x")};
    tu_sign_statement(out, stranger, &st);
    scitt_key_free(stranger);
}

Test(pool, rejections_are_answered_with_a_reason)
{
    h_start(&env, 0, 0, 2);
    scitt_buf_t forged, garbage;
    scitt_buf_init(&forged, NULL, 0);
    scitt_buf_init(&garbage, NULL, 0);
    forge(&forged);
    scitt_buf_append_str(&garbage, "not cbor at all");
    h_waiter_t w;
    h_waiter_init(&w, 2);
    h_submit(&env, &w, 0, &forged);
    h_submit(&env, &w, 1, &garbage);
    h_wait(&w, 2, 30);
    cr_assert_eq(w.results[0].rc, SCITT_EBADSIG);
    cr_assert(w.results[0].has_entry, "a statement that parsed has an entry");
    uint8_t entry[32];
    h_entry(&forged, entry);
    cr_assert_arr_eq(w.results[0].entry, entry, 32);
    cr_assert_neq(w.results[1].rc, 0);
    cr_assert(!w.results[1].has_entry);
    cr_assert_eq(h_tree_size(&env), 0, "nothing was logged");
    cr_assert(!scitt_seq_is_pending(env.seq, entry));
    h_waiter_cleanup(&w);
    scitt_buf_cleanup(&forged);
    scitt_buf_cleanup(&garbage);
}

/* Stopping right after a burst of submissions answers every one of them
 * exactly once: the valid ones with committed receipts. */
Test(pool, clean_stop_answers_every_waiter)
{
    enum { N = 400 };
    h_start(&env, 16, 100000, 2);
    scitt_buf_t *stmts = calloc(N, sizeof(*stmts));
    for (size_t i = 0; i < N; i++) {
        scitt_buf_init(&stmts[i], NULL, 0);
        if (i % 10 == 9) {
            scitt_buf_append_str(&stmts[i], "garbage");
        } else {
            char sub[32];
            snprintf(sub, sizeof(sub), "pkg:stop/%zu", i);
            h_statement(&env, &stmts[i], sub, false);
        }
    }
    h_waiter_t w;
    h_waiter_init(&w, N);
    for (size_t i = 0; i < N; i++) {
        h_submit(&env, &w, i, &stmts[i]);
    }
    scitt_seq_stop(env.seq);
    cr_assert_eq(w.answered, N, "stop returned with %zu of %d answered", w.answered, N);
    cr_assert_eq(w.twice, 0);
    cr_assert_eq(scitt_seq_submit(env.seq, stmts[0].base, stmts[0].len, h_done, NULL, &w.results[0], NULL),
                 SCITT_ESHUTDOWN);
    uint8_t entry[32];
    scitt_sha256(entry, "x", 1);
    cr_assert_eq(scitt_seq__submit_entry(env.seq, (const uint8_t *)"x", 1, entry, h_done, &w.results[0]),
                 SCITT_ESHUTDOWN);
    scitt_seq_stop(env.seq); /* idempotent */
    size_t ok = 0;
    for (size_t i = 0; i < N; i++) {
        if (i % 10 == 9) {
            cr_assert_neq(w.results[i].rc, 0);
            continue;
        }
        cr_assert_eq(w.results[i].rc, 0);
        h_entry(&stmts[i], entry);
        h_check_receipt(&env, entry, w.results[i].index, w.results[i].receipt, w.results[i].receipt_len);
        ok++;
    }
    cr_assert_eq(h_tree_size(&env), ok);
    scitt_seq_stats_t st;
    scitt_seq_stats(env.seq, &st);
    cr_assert_eq(st.pending, 0);
    h_waiter_cleanup(&w);
    for (size_t i = 0; i < N; i++) {
        scitt_buf_cleanup(&stmts[i]);
    }
    free(stmts);
}

Test(pool, max_pending_refuses_with_efull)
{
    h_start(&env, 0, 8, 1);
    scitt_seq__hold(env.seq, true);
    h_waiter_t w;
    h_waiter_init(&w, 9);
    uint8_t stmt[16], entry[32];
    for (size_t i = 0; i < 9; i++) {
        memset(stmt, (int)i, sizeof(stmt));
        scitt_sha256(entry, stmt, sizeof(stmt));
        int rc = scitt_seq__submit_entry(env.seq, stmt, sizeof(stmt), entry, h_done, &w.results[i]);
        cr_assert_eq(rc, i < 8 ? 0 : SCITT_EFULL, "submission %zu: %s", i, scitt_err_name(rc));
        cr_assert(scitt_seq_is_pending(env.seq, entry) == (i < 8));
    }
    scitt_buf_t body;
    scitt_buf_init(&body, NULL, 0);
    h_statement(&env, &body, "pkg:full", false);
    cr_assert_eq(scitt_seq_submit(env.seq, body.base, body.len, h_done, NULL, &w.results[8], NULL), SCITT_EFULL);
    scitt_seq_stats_t st;
    scitt_seq_stats(env.seq, &st);
    cr_assert_eq(st.pending, 8);
    scitt_seq__hold(env.seq, false);
    h_wait(&w, 8, 30);
    for (size_t i = 0; i < 8; i++) {
        memset(stmt, (int)i, sizeof(stmt));
        scitt_sha256(entry, stmt, sizeof(stmt));
        cr_assert(!scitt_seq_is_pending(env.seq, entry));
        cr_assert_eq(w.results[i].rc, 0);
    }
    h_submit(&env, &w, 8, &body); /* room again */
    h_wait(&w, 9, 30);
    cr_assert_eq(w.results[8].rc, 0);
    cr_assert_eq(h_tree_size(&env), 9);
    scitt_buf_cleanup(&body);
    h_waiter_cleanup(&w);
}

/* The pending set keeps counts: two pending copies of one entry stay
 * pending until both are answered, and removal keeps other entries that
 * share a probe run findable. */
Test(pool, pending_set_counts_and_deletes)
{
    scitt_seq__pendset_t ps;
    cr_assert_eq(scitt_seq__pendset_init(&ps, 4), 0); /* 16 slots */
    uint8_t e[6][32];
    memset(e, 0, sizeof(e));
    for (int i = 0; i < 6; i++) {
        e[i][0] = 3; /* all share home slot 3 */
        e[i][31] = (uint8_t)(i + 1);
    }
    e[5][0] = 4; /* home 4, displaced by the run */
    for (int i = 0; i < 6; i++) {
        scitt_seq__pendset_add(&ps, e[i]);
    }
    scitt_seq__pendset_add(&ps, e[2]);
    scitt_seq__job_t *jobs[2];
    for (int i = 0; i < 2; i++) {
        jobs[i] = scitt_seq__job_new(NULL, 0, NULL, NULL);
        jobs[i]->in_pending = true;
    }
    memcpy(jobs[0]->entry, e[0], 32);
    memcpy(jobs[1]->entry, e[2], 32);
    scitt_seq__pendset_remove_jobs(&ps, jobs, 2);
    cr_assert(!scitt_seq__pendset_has(&ps, e[0]));
    cr_assert(scitt_seq__pendset_has(&ps, e[2]), "counted twice, removed once");
    for (int i = 1; i < 6; i++) {
        cr_assert(scitt_seq__pendset_has(&ps, e[i]), "entry %d lost by a deletion", i);
    }
    jobs[0]->in_pending = true;
    memcpy(jobs[0]->entry, e[2], 32);
    jobs[1]->in_pending = true;
    memcpy(jobs[1]->entry, e[5], 32);
    scitt_seq__pendset_remove_jobs(&ps, jobs, 2);
    cr_assert(!scitt_seq__pendset_has(&ps, e[2]));
    cr_assert(!scitt_seq__pendset_has(&ps, e[5]));
    for (int i = 1; i < 5; i++) {
        cr_assert(scitt_seq__pendset_has(&ps, e[i]) == (i != 2));
    }
    free(jobs[0]);
    free(jobs[1]);
    scitt_seq__pendset_cleanup(&ps);
}

/* max_pending_bytes bounds the statement bytes held by the pipeline (a
 * 202 leaves a body there); one statement is let in when nothing is held,
 * whatever its size. */
Test(pool, max_pending_bytes_refuses_with_efull)
{
    scitt_seq_config_t cfg = {.store = env.store,
                              .keys = &env.keys,
                              .policy = env.policy,
                              .origin = H_ORIGIN,
                              .workers = 1,
                              .max_pending_bytes = 1000};
    cr_assert_eq(scitt_seq_start(&env.seq, &cfg, NULL), 0);
    scitt_seq__hold(env.seq, true);
    h_waiter_t w;
    h_waiter_init(&w, 4);
    static uint8_t stmt[4000];
    uint8_t entry[32];
    for (size_t i = 0; i < 3; i++) {
        memset(stmt, (int)i + 1, 400);
        scitt_sha256(entry, stmt, 400);
        int rc = scitt_seq__submit_entry(env.seq, stmt, 400, entry, h_done, &w.results[i]);
        cr_assert_eq(rc, i < 2 ? 0 : SCITT_EFULL, "400-byte submission %zu: %s", i, scitt_err_name(rc));
    }
    scitt_seq__hold(env.seq, false);
    h_wait(&w, 2, 30);
    /* Nothing held now: a statement larger than the budget still gets in. */
    memset(stmt, 9, sizeof(stmt));
    scitt_sha256(entry, stmt, sizeof(stmt));
    cr_assert_eq(scitt_seq__submit_entry(env.seq, stmt, sizeof(stmt), entry, h_done, &w.results[2]), 0);
    h_wait(&w, 3, 30);
    cr_assert_eq(w.results[2].rc, 0);
    cr_assert_eq(h_tree_size(&env), 3);
    h_waiter_cleanup(&w);
}

/* One submission's verified report, next to its answer. */
typedef struct report {
    h_result_t *result; /* h_done's context */
    _Atomic int calls;
    _Atomic bool answered_first; /* done had run when verified ran */
    bool pending;                /* scitt_seq_is_pending(entry) inside the callback */
    uint8_t entry[32];
} report_t;

static report_t reports[2];

static void on_verified(void *ctx, const uint8_t entry[32])
{
    h_result_t *r = ctx;
    report_t *rep = &reports[r == reports[0].result ? 0 : 1];
    memcpy(rep->entry, entry, 32);
    rep->pending = scitt_seq_is_pending(env.seq, entry);
    pthread_mutex_lock(&r->w->lock);
    rep->answered_first = r->done;
    pthread_mutex_unlock(&r->w->lock);
    rep->calls++;
}

/* The pipeline reports a statement verified (with its entry id) once the
 * policy passed, before its answer, and never for one the policy refused:
 * the front end gives 202 only then (issue 16 C) and takes the entry id
 * from it instead of decoding the body itself (issue 15 item 9). */
Test(pool, verified_before_the_answer_and_only_after_the_policy)
{
    h_start(&env, 0, 0, 1);
    scitt_seq__hold(env.seq, true); /* nothing commits until we look */
    scitt_buf_t good, forged;
    scitt_buf_init(&good, NULL, 0);
    scitt_buf_init(&forged, NULL, 0);
    h_statement(&env, &good, "pkg:good", true);
    forge(&forged);
    h_waiter_t w;
    h_waiter_init(&w, 2);
    const scitt_buf_t *bodies[2] = {&good, &forged};
    for (size_t i = 0; i < 2; i++) {
        reports[i] = (report_t){.result = &w.results[i]};
    }
    for (size_t i = 0; i < 2; i++) {
        cr_assert_eq(
            scitt_seq_submit(env.seq, bodies[i]->base, bodies[i]->len, h_done, on_verified, &w.results[i], NULL), 0);
    }
    h_wait(&w, 1, 30); /* the forged one: refused by the verify thread */
    cr_assert_eq(w.results[1].rc, SCITT_EBADSIG);
    cr_assert_eq(reports[1].calls, 0, "a refused statement is never reported verified");
    for (int i = 0; i < 3000 && reports[0].calls == 0; i++) {
        usleep(1000);
    }
    uint8_t entry[32];
    h_entry(&good, entry);
    cr_assert_eq(reports[0].calls, 1, "the good statement is reported verified while the sequencer is held");
    cr_assert_arr_eq(reports[0].entry, entry, 32, "with the entry id of its normalised form");
    cr_assert(reports[0].pending, "and is pending by then (GET /entries/{id} answers 204)");
    cr_assert(!w.results[0].done);
    scitt_seq__hold(env.seq, false);
    h_wait(&w, 2, 30);
    cr_assert_eq(w.results[0].rc, 0);
    cr_assert(!reports[0].answered_first, "verified comes before the answer");
    cr_assert_eq(reports[0].calls, 1);
    h_waiter_cleanup(&w);
    scitt_buf_cleanup(&good);
    scitt_buf_cleanup(&forged);
}

#define CANCEL_N 400

/* scitt_seq_cancel (issue 16 H): a submission taken back before a verify
 * thread took it leaves the queue at once: its slot is free, it is not
 * pending, never answered and never logged; one already taken is answered
 * and logged as usual. */
Test(pool, cancel_takes_back_before_verification)
{
    h_start(&env, 0, CANCEL_N, 1); /* one verify thread: most of the queue waits */
    static scitt_buf_t stmts[CANCEL_N];
    static scitt_seq_ticket_t tickets[CANCEL_N];
    static bool cancelled[CANCEL_N];
    h_waiter_t w;
    h_waiter_init(&w, CANCEL_N);
    for (size_t i = 0; i < CANCEL_N; i++) {
        char sub[32];
        snprintf(sub, sizeof(sub), "pkg:cancel-%zu", i);
        scitt_buf_init(&stmts[i], NULL, 0);
        h_statement(&env, &stmts[i], sub, true);
    }
    for (size_t i = 0; i < CANCEL_N; i++) {
        cr_assert_eq(scitt_seq_submit(env.seq, stmts[i].base, stmts[i].len, h_done, NULL, &w.results[i], &tickets[i]),
                     0);
    }
    size_t num_cancelled = 0;
    for (size_t i = CANCEL_N / 2; i < CANCEL_N; i++) {
        cancelled[i] = scitt_seq_cancel(env.seq, &tickets[i]);
        num_cancelled += cancelled[i];
        cr_assert(!cancelled[i] || tickets[i].job == NULL);
    }
    cr_assert_gt(num_cancelled, 0, "the verify thread cannot have taken all of %d statements yet", CANCEL_N);
    scitt_seq_stats_t st;
    scitt_seq_stats(env.seq, &st);
    cr_assert_leq(st.pending, CANCEL_N - num_cancelled, "cancelled statements left the queue at once");
    h_wait(&w, CANCEL_N - num_cancelled, 60);
    for (size_t i = 0; i < CANCEL_N; i++) {
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
    cr_assert_eq(h_tree_size(&env), CANCEL_N - num_cancelled, "only what was not taken back is logged");
    cr_assert_eq(w.twice, 0);
    h_waiter_cleanup(&w);
    for (size_t i = 0; i < CANCEL_N; i++) {
        scitt_buf_cleanup(&stmts[i]);
    }
}
