/*
 * test_faults.c: the sequencer against a store that fails (issue 17,
 * faults), through the fault-injecting wrapper (src/store/fault.h) over
 * LMDB. In every case: no answered entry is lost, none is answered twice,
 * no index is given to two entries, and every receipt verifies.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <unistd.h>

#include "fault.h"
#include "harness.h"

static h_env_t env;
static scitt_store_fault_t *fault;

static void setup(void)
{
    h_setup(&env);
}

static void teardown(void)
{
    h_teardown(&env);
}

TestSuite(faults, .init = setup, .fini = teardown, .timeout = 120);

/* start wraps a freshly opened store and starts the pipeline on it. */
static void start(void)
{
    h_open(&env, 0, 0);
    cr_assert_eq(scitt_store_fault_wrap(env.store, &fault), 0);
    h_start(&env, 64, 4096, 1);
}

/* statement i of `tag`: bytes that differ per (tag, i); its entry hash in `entry`. */
static size_t statement(char *buf, size_t cap, const char *tag, size_t i, uint8_t entry[32])
{
    int n = snprintf(buf, cap, "fault test statement %s #%zu", tag, i);
    scitt_sha256(entry, (const uint8_t *)buf, (size_t)n);
    return (size_t)n;
}

/* submit feeds statements first .. first + n - 1 of `tag` as one batch
 * (the sequencer is held while they queue). */
static void submit(h_waiter_t *w, size_t first, size_t n, const char *tag)
{
    char buf[96];
    uint8_t entry[32];
    scitt_seq__hold(env.seq, true);
    for (size_t i = first; i < first + n; i++) {
        size_t len = statement(buf, sizeof(buf), tag, i, entry);
        h_submit_entry(&env, w, i, (const uint8_t *)buf, len);
    }
    scitt_seq__hold(env.seq, false);
}

static size_t answered(h_waiter_t *w)
{
    pthread_mutex_lock(&w->lock);
    size_t n = w->answered;
    pthread_mutex_unlock(&w->lock);
    return n;
}

/* expect_registered checks answers first .. first + n - 1: registered (new
 * or `existing`), indexes from `index` on in order, receipts verifying. */
static void expect_registered(h_waiter_t *w, size_t first, size_t n, const char *tag, uint64_t index, bool existing)
{
    char buf[96];
    uint8_t entry[32];
    for (size_t i = first; i < first + n; i++) {
        h_result_t *r = &w->results[i];
        cr_assert(r->done);
        cr_assert_eq(r->rc, 0, "%s #%zu: %s", tag, i, scitt_err_name(r->rc));
        cr_assert_eq(r->existing, existing, "%s #%zu: existing %d", tag, i, r->existing);
        cr_assert_eq(r->index, index + (i - first), "%s #%zu: index %llu, want %llu", tag, i,
                     (unsigned long long)r->index, (unsigned long long)(index + (i - first)));
        statement(buf, sizeof(buf), tag, i, entry);
        cr_assert_eq(memcmp(r->entry, entry, 32), 0);
        h_check_receipt(&env, entry, r->index, r->receipt, r->receipt_len);
    }
    cr_assert_eq(w->twice, 0, "an answer came twice");
}

static void expect_refused(h_waiter_t *w, size_t n, int rc)
{
    for (size_t i = 0; i < n; i++) {
        cr_assert(w->results[i].done);
        cr_assert_eq(w->results[i].rc, rc, "#%zu: %s, want %s", i, scitt_err_name(w->results[i].rc),
                     scitt_err_name(rc));
    }
    cr_assert_eq(w->twice, 0, "an answer came twice");
}

static scitt_seq_stats_t stats(void)
{
    scitt_seq_stats_t st;
    scitt_seq_stats(env.seq, &st);
    return st;
}

/* A commit that fails with nothing written answers its batch with the
 * error (503 at the front end), leaves the log as it was, and the same
 * running pipeline registers the same statements once the store is back,
 * at the indexes the failed batch would have had. SCITT_ECONFLICT (the log
 * end moved) recovers from the store first. Reads that fail
 * (SCITT_EUNAVAIL) refuse the batch the same way. */
Test(faults, nothing_written_then_back)
{
    static const struct {
        int rc;
        size_t cause;
        const char *tag;
    } cases[] = {{SCITT_EUNAVAIL, SCITT_SEQ_FAIL_UNAVAIL, "unavail"},
                 {SCITT_ENOSPC, SCITT_SEQ_FAIL_NOSPACE, "nospc"},
                 {SCITT_EIO, SCITT_SEQ_FAIL_OTHER, "eio"},
                 {SCITT_ECONFLICT, SCITT_SEQ_FAIL_CONFLICT, "conflict"},
                 {SCITT_EUNAVAIL, SCITT_SEQ_FAIL_NUM, "reads"}};
    enum { N = 8 };
    start();
    h_waiter_t w0;
    h_waiter_init(&w0, 4);
    submit(&w0, 0, 4, "first");
    h_wait(&w0, 4, 30);
    expect_registered(&w0, 0, 4, "first", 0, false);
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        uint64_t size = h_tree_size(&env);
        bool reads = cases[c].cause == SCITT_SEQ_FAIL_NUM;
        if (reads) {
            scitt_store_fault_reads(fault, cases[c].rc);
        } else {
            scitt_store_fault_commit(fault, cases[c].rc, false, 1);
        }
        h_waiter_t w1, w2;
        h_waiter_init(&w1, N);
        h_waiter_init(&w2, N);
        submit(&w1, 0, N, cases[c].tag);
        h_wait(&w1, N, 30);
        expect_refused(&w1, N, cases[c].rc);
        double busy;
        cr_assert_eq(scitt_seq_health(env.seq, &busy), cases[c].rc, "%s: health names the failure", cases[c].tag);
        scitt_store_fault_reads(fault, 0);
        cr_assert_eq(h_tree_size(&env), size, "%s: nothing of the batch is in the log", cases[c].tag);
        if (!reads) {
            cr_assert_eq(stats().commit_failures[cases[c].cause], 1, "%s: counted", cases[c].tag);
        }
        submit(&w2, 0, N, cases[c].tag); /* the clients retry */
        h_wait(&w2, N, 30);
        expect_registered(&w2, 0, N, cases[c].tag, size, false);
        cr_assert_eq(scitt_seq_health(env.seq, &busy), 0, "%s: healthy again", cases[c].tag);
        h_waiter_cleanup(&w1);
        h_waiter_cleanup(&w2);
    }
    cr_assert_eq(stats().commit_failures[SCITT_SEQ_FAIL_UNAVAIL], 1);
    cr_assert_eq(h_tree_size(&env), 4 + sizeof(cases) / sizeof(cases[0]) * N);
    h_check_log(&env);
    h_close(&env);
    h_open(&env, 0, 0);
    h_start(&env, 0, 0, 1); /* recovery accepts the store */
    expect_registered(&w0, 0, 4, "first", 0, false);
    h_waiter_cleanup(&w0);
}

/* A commit that did write but reports SCITT_ECONFLICT (the log end moved
 * under the sequencer): the batch is refused, the sequencer recovers from
 * the store's latest head, and the next batch goes after it: its entries
 * come back as existing at their stored indexes, and no index is reused. */
Test(faults, conflict_recovers_from_the_store)
{
    enum { N = 6 };
    start();
    h_waiter_t w1, w2, w3;
    h_waiter_init(&w1, N);
    h_waiter_init(&w2, N + 3);
    h_waiter_init(&w3, 2);
    submit(&w3, 0, 2, "before");
    h_wait(&w3, 2, 30);
    scitt_store_fault_commit(fault, SCITT_ECONFLICT, true, 1);
    submit(&w1, 0, N, "moved");
    h_wait(&w1, N, 30);
    expect_refused(&w1, N, SCITT_ECONFLICT);
    cr_assert_eq(stats().tree_size, 2 + N, "recovered at the stored log end");
    submit(&w2, 0, N + 3, "moved");
    h_wait(&w2, N + 3, 30);
    expect_registered(&w2, 0, N, "moved", 2, true);
    expect_registered(&w2, N, 3, "moved", 2 + N, false);
    cr_assert_eq(h_tree_size(&env), 2 + N + 3);
    h_check_log(&env);
    h_waiter_cleanup(&w1);
    h_waiter_cleanup(&w2);
    h_waiter_cleanup(&w3);
}

/* in_doubt runs one batch of N whose commit reports SCITT_EINDOUBT
 * (`written`: it did commit) while maintain fails, with a second batch
 * submitted meanwhile, and checks what holds while in doubt; maintain keeps
 * failing until the test lets it (settle). */
static void in_doubt(h_waiter_t *w1, h_waiter_t *w2, size_t n, bool written)
{
    h_waiter_t w0;
    h_waiter_init(&w0, 3);
    submit(&w0, 0, 3, "base");
    h_wait(&w0, 3, 30);
    h_waiter_cleanup(&w0);
    scitt_store_fault_maintain(fault, SCITT_EUNAVAIL, 1000000);
    scitt_store_fault_commit(fault, SCITT_EINDOUBT, written, 1);
    submit(w1, 0, n, "doubt");
    for (int i = 0; i < 2000 && !stats().in_doubt; i++) {
        usleep(10000);
    }
    cr_assert(stats().in_doubt, "the commit is in doubt");
    submit(w2, 0, 2, "later");
    scitt_store_fault_stats_t fs0, fs;
    scitt_store_fault_stats(fault, &fs0);
    usleep(2500000); /* maintain retries about once a second */
    scitt_store_fault_stats(fault, &fs);
    cr_assert_geq(fs.maintains_failed - fs0.maintains_failed, 1, "maintain is retried while in doubt");
    cr_assert_leq(fs.maintains_failed - fs0.maintains_failed, 4, "about once a second");
    cr_assert_eq(answered(w1), 0, "no answer while in doubt");
    cr_assert_eq(answered(w2), 0, "no new batch while in doubt");
    cr_assert(stats().in_doubt);
    char buf[96];
    uint8_t entry[32];
    statement(buf, sizeof(buf), "doubt", 0, entry);
    cr_assert(scitt_seq_is_pending(env.seq, entry), "pending (GET answers 204) while in doubt");
    double busy;
    cr_assert_eq(scitt_seq_health(env.seq, &busy), SCITT_EINDOUBT);
}

/* A commit in doubt that did happen: once maintain succeeds, the batch is
 * answered with receipts (its POSTs, 202 by then, resolve to 200 on GET),
 * then the batch that waited behind it; nothing twice. */
Test(faults, in_doubt_committed)
{
    enum { N = 8 };
    start();
    h_waiter_t w1, w2;
    h_waiter_init(&w1, N);
    h_waiter_init(&w2, 2);
    in_doubt(&w1, &w2, N, true);
    scitt_store_fault_maintain(fault, 0, 0); /* the store is back */
    h_wait(&w1, N, 30);
    expect_registered(&w1, 0, N, "doubt", 3, false);
    h_wait(&w2, 2, 30);
    expect_registered(&w2, 0, 2, "later", 3 + N, false);
    scitt_seq_stats_t st = stats();
    cr_assert_eq(st.in_doubt_committed, 1);
    cr_assert_eq(st.in_doubt_rolled_back, 0);
    cr_assert_eq(st.commit_failures[SCITT_SEQ_FAIL_INDOUBT], 1);
    cr_assert(!st.in_doubt);
    scitt_buf_t r;
    scitt_buf_init(&r, NULL, 0);
    cr_assert_eq(scitt_log_receipt(scitt_seq_log(env.seq), NULL, w1.results[0].index, &r), 0, "GET finds the receipt");
    cr_assert_eq(r.len, w1.results[0].receipt_len);
    cr_assert_eq(memcmp(r.base, w1.results[0].receipt, r.len), 0);
    scitt_buf_cleanup(&r);
    double busy;
    cr_assert_eq(scitt_seq_health(env.seq, &busy), 0);
    cr_assert_eq(h_tree_size(&env), 3 + N + 2);
    h_check_log(&env);
    h_waiter_cleanup(&w1);
    h_waiter_cleanup(&w2);
}

/* A commit in doubt that did not happen: rolled back and the same batch
 * run again, so its registrations (answered 202 meanwhile) still end in
 * their entries at the same indexes; a repeat finds them. */
Test(faults, in_doubt_not_committed)
{
    enum { N = 5 };
    start();
    h_waiter_t w1, w2, w3;
    h_waiter_init(&w1, N);
    h_waiter_init(&w2, 2);
    h_waiter_init(&w3, N);
    in_doubt(&w1, &w2, N, false);
    scitt_store_fault_maintain(fault, 0, 0);
    h_wait(&w1, N, 30);
    expect_registered(&w1, 0, N, "doubt", 3, false); /* run again, not refused */
    h_wait(&w2, 2, 30);
    expect_registered(&w2, 0, 2, "later", 3 + N, false);
    submit(&w3, 0, N, "doubt");
    h_wait(&w3, N, 30);
    expect_registered(&w3, 0, N, "doubt", 3, true);
    scitt_seq_stats_t st = stats();
    cr_assert_eq(st.in_doubt_committed, 0);
    cr_assert_eq(st.in_doubt_rolled_back, 1);
    cr_assert_eq(h_tree_size(&env), 3 + 2 + N);
    h_check_log(&env);
    h_waiter_cleanup(&w1);
    h_waiter_cleanup(&w2);
    h_waiter_cleanup(&w3);
}

/* A stop while the store stays away: after a few tries the batch in doubt
 * is answered SCITT_EINDOUBT (outcome unknown) and the one behind it is
 * refused, not registered behind a log end the sequencer cannot know. A
 * restart recovers the log the commit did write: the statements are there,
 * answered as existing at their indexes, never registered twice. */
Test(faults, in_doubt_at_stop)
{
    enum { N = 4 };
    start();
    h_waiter_t w1, w2, w3;
    h_waiter_init(&w1, N);
    h_waiter_init(&w2, 2);
    h_waiter_init(&w3, N);
    in_doubt(&w1, &w2, N, true);
    scitt_store_fault_reads(fault, SCITT_EUNAVAIL);
    scitt_seq_stop(env.seq);
    cr_assert_eq(answered(&w1), N);
    expect_refused(&w1, N, SCITT_EINDOUBT);
    cr_assert_eq(answered(&w2), 2);
    expect_refused(&w2, 2, SCITT_EUNAVAIL);
    cr_assert_eq(stats().in_doubt_given_up, 1);
    scitt_store_fault_reads(fault, 0);
    h_close(&env);
    h_open(&env, 0, 0);
    h_start(&env, 64, 4096, 1);
    submit(&w3, 0, N, "doubt");
    h_wait(&w3, N, 30);
    expect_registered(&w3, 0, N, "doubt", 3, true);
    cr_assert_eq(h_tree_size(&env), 3 + N);
    h_check_log(&env);
    h_waiter_cleanup(&w1);
    h_waiter_cleanup(&w2);
    h_waiter_cleanup(&w3);
}
