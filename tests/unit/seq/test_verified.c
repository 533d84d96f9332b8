/* test_verified.c: the pipeline reports a statement verified (with its
 * entry id) once the policy passed, before its answer, and never for a
 * statement the policy refused; the front end gives 202 only then (issue 16
 * C), and takes the entry id from it instead of decoding the body itself
 * (issue 15 item 9). */
#include <criterion/criterion.h>
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

TestSuite(verified, .init = setup, .fini = teardown, .timeout = 60);

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

Test(verified, reported_before_the_answer_and_only_after_the_policy)
{
    h_start(&env, 0, 0, 1);
    scitt_seq__hold(env.seq, true); /* nothing commits until we look */
    scitt_key_t *stranger;
    cr_assert_eq(scitt_key_generate(&stranger, SCITT_ALG_EDDSA), 0);
    scitt_buf_t good, forged;
    scitt_buf_init(&good, NULL, 0);
    scitt_buf_init(&forged, NULL, 0);
    h_statement(&env, &good, "pkg:good", true);
    tu_statement_t st = {.alg = SCITT_ALG_EDDSA,
                         .kid = scitt_span(env.issuer_kid, 32),
                         .iss = "https://ci.example",
                         .sub = "pkg:forged",
                         .payload = scitt_span_str("x")};
    tu_sign_statement(&forged, stranger, &st);
    h_waiter_t w;
    h_waiter_init(&w, 2);
    const scitt_buf_t *bodies[2] = {&good, &forged};
    for (size_t i = 0; i < 2; i++) {
        reports[i] = (report_t){.result = &w.results[i]};
    }
    for (size_t i = 0; i < 2; i++) {
        cr_assert_eq(scitt_seq_submit(env.seq, bodies[i]->base, bodies[i]->len, h_done, on_verified, &w.results[i]), 0);
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
    scitt_key_free(stranger);
}
