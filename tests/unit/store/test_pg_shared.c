/*
 * test_pg_shared.c: several processes on one log (issue 18,
 * docs/PLAN-18-CLUSTER.md): the hand-off queue, the writer epoch in the
 * commit, schema 2. Two store handles on one database stand for two
 * processes. On LMDB (suite unit) every shared operation answers
 * SCITT_ENOTSUP; the rest runs on PostgreSQL (suite pg). No test sets
 * .timeout (meson's bounds them): Criterion leaks a little for each
 * skipped test that has one, which fails the ASan build's leak check.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "pg.h"
#include "scitt/crypto.h"
#include "scitt/store.h"

TestSuite(store_shared, .init = fx_init, .fini = fx_fini);

#define PG_ONLY FX_PG_ONLY

#define ENTRY_LEN 80

static scitt_store_t *open_store(void)
{
    scitt_store_config_t cfg = {0};
    return fx_open(&cfg);
}

/* queued fills `q` with leaf `index`'s entry as fx_commit_batch writes it
 * (its bytes in `buf`), with `index` + 1 index keys (at most 4). */
static void queued(scitt_store_queued_t *q, uint8_t buf[ENTRY_LEN], uint64_t index)
{
    memset(q, 0, sizeof(*q));
    fx_entry(buf, index, ENTRY_LEN);
    scitt_sha256(q->entry_hash, buf, ENTRY_LEN);
    q->stored = scitt_span(buf, ENTRY_LEN);
    q->num_keys = index % SCITT_STORE_INDEX_FIELDS + 1;
    for (size_t k = 0; k < q->num_keys; k++) {
        q->keys[k] = UINT64_C(0xf00d000000000000) + index * 16 + k;
    }
}

/* put queues the entries of leaves idx[0..n-1]. */
static int put(scitt_store_t *st, const uint64_t *idx, size_t n)
{
    scitt_store_queued_t q[8];
    uint8_t buf[8][ENTRY_LEN];
    cr_assert(n <= 8);
    for (size_t i = 0; i < n; i++) {
        queued(&q[i], buf[i], idx[i]);
    }
    return scitt_store_queue_put(st, q, n);
}

static void hash_of(uint8_t out[32], uint64_t index)
{
    uint8_t buf[ENTRY_LEN];
    fx_entry(buf, index, ENTRY_LEN);
    scitt_sha256(out, buf, ENTRY_LEN);
}

/* take_all asserts the queue (from seq `after`) holds the entries of
 * leaves idx[0..n-1] in this order, with their bytes and keys, and gives
 * their seqs. */
static void take_is(scitt_store_t *st, uint64_t after, const uint64_t *idx, size_t n, uint64_t *seqs)
{
    scitt_store_queued_t got[16];
    size_t num = 99;
    cr_assert_eq(scitt_store_queue_take(st, after, got, 16, &num), 0);
    cr_assert_eq(num, n, "queued: %zu, expected %zu", num, n);
    for (size_t i = 0; i < n; i++) {
        scitt_store_queued_t want;
        uint8_t buf[ENTRY_LEN];
        queued(&want, buf, idx[i]);
        cr_assert_eq(memcmp(got[i].entry_hash, want.entry_hash, 32), 0, "row %zu is leaf %lu's", i,
                     (unsigned long)idx[i]);
        cr_assert(scitt_span_eq(got[i].stored, want.stored));
        cr_assert_eq(got[i].num_keys, want.num_keys);
        cr_assert_eq(memcmp(got[i].keys, want.keys, want.num_keys * 8), 0);
        cr_assert_gt(got[i].seq, i == 0 ? after : got[i - 1].seq, "seq increases");
        if (seqs != NULL) {
            seqs[i] = got[i].seq;
        }
    }
}

/* has asserts queue_has in one new snapshot for leaves idx[0..n-1]. */
static void has_is(scitt_store_t *st, const uint64_t *idx, const bool *want, size_t n)
{
    uint8_t h[8][32];
    bool got[8];
    for (size_t i = 0; i < n; i++) {
        hash_of(h[i], idx[i]);
    }
    scitt_store_read_t *rd;
    cr_assert_eq(scitt_store_read_begin(st, &rd), 0);
    cr_assert_eq(scitt_store_queue_has(rd, (const uint8_t(*)[32])h, n, got), 0);
    scitt_store_read_end(rd);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(got[i], want[i], "leaf %lu queued: %d", (unsigned long)idx[i], got[i]);
    }
}

/* LMDB is one process per folder: every shared operation says so. */
Test(store_shared, lmdb_answers_enotsup)
{
    if (fx_pg()) {
        cr_skip_test("LMDB only");
    }
    scitt_store_t *st = open_store();
    cr_assert_not(scitt_store_shared(st));
    scitt_store_lease_t l;
    cr_assert_eq(scitt_store_lease(st, 1000, &l), SCITT_ENOTSUP);
    cr_assert_not(l.held);
    cr_assert_eq(scitt_store_lease_release(st), SCITT_ENOTSUP);
    uint64_t one = 1;
    cr_assert_eq(put(st, &one, 1), SCITT_ENOTSUP);
    scitt_store_queued_t q;
    size_t num = 7;
    cr_assert_eq(scitt_store_queue_take(st, 0, &q, 1, &num), SCITT_ENOTSUP);
    cr_assert_eq(num, 0);
    uint8_t h[1][32] = {{0}};
    cr_assert_eq(scitt_store_queue_drop(st, (const uint8_t(*)[32])h, 1), SCITT_ENOTSUP);
    scitt_store_read_t *rd;
    bool b;
    cr_assert_eq(scitt_store_read_begin(st, &rd), 0);
    cr_assert_eq(scitt_store_queue_has(rd, (const uint8_t(*)[32])h, 1, &b), SCITT_ENOTSUP);
    scitt_store_read_end(rd);
    unsigned ev = 9;
    uint64_t size = 0;
    cr_assert_eq(scitt_store_wait_event(st, 10, &ev, &size), SCITT_ENOTSUP);
    cr_assert_eq(ev, 0);
    scitt_store_wake(st); /* nothing to wake: harmless */
    cr_assert_eq(fx_commit_shared(st, 0, 1, ENTRY_LEN, 0, (const uint8_t(*)[32])h, 1), SCITT_ENOTSUP,
                 "no queue rows to remove");
    cr_assert_eq(fx_commit_batch(st, 0, 1, ENTRY_LEN), 0);
    scitt_store_close(st);
}

/* The queue from two handles: rows in put order (a repeat stays where it
 * was, within a put or across puts), taken from a cursor without being
 * removed, seen by queue_has in a snapshot, removed by queue_drop. */
Test(store_shared, queue_put_take_has_drop)
{
    PG_ONLY();
    scitt_store_t *a = open_store(), *b = open_store();
    const uint64_t first[] = {5, 3, 5, 9}, second[] = {3, 7};
    cr_assert_eq(put(a, first, 4), 0, "a repeat inside one put");
    cr_assert_eq(put(b, second, 2), 0, "a repeat of a row another handle queued");
    const uint64_t order[] = {5, 3, 9, 7};
    uint64_t seq[4];
    take_is(b, 0, order, 4, seq);
    take_is(a, 0, order, 4, NULL); /* take removes nothing */
    take_is(a, seq[1], order + 2, 2, NULL);
    take_is(a, seq[3], NULL, 0, NULL);
    scitt_store_queued_t one;
    size_t num = 0;
    cr_assert_eq(scitt_store_queue_take(a, 0, &one, 1, &num), 0);
    cr_assert_eq(num, 1, "at most max");
    cr_assert_eq(one.seq, seq[0]);

    const uint64_t ask[] = {5, 4, 7, 3};
    const bool yes[] = {true, false, true, true};
    has_is(a, ask, yes, 4);
    /* A snapshot begun before a drop keeps the rows. */
    scitt_store_read_t *rd;
    uint8_t h[2][32];
    bool got[2];
    hash_of(h[0], 5);
    hash_of(h[1], 9);
    cr_assert_eq(scitt_store_read_begin(a, &rd), 0);
    cr_assert_eq(scitt_store_queue_has(rd, (const uint8_t(*)[32])h, 1, got), 0);
    cr_assert_eq(scitt_store_queue_drop(b, (const uint8_t(*)[32])h, 2), 0);
    cr_assert_eq(scitt_store_queue_has(rd, (const uint8_t(*)[32])h, 2, got), 0);
    cr_assert(got[0] && got[1], "the snapshot is older than the drop");
    scitt_store_read_end(rd);
    const bool after_drop[] = {false, false, true, true};
    has_is(a, ask, after_drop, 4);
    const uint64_t left[] = {3, 7};
    take_is(a, 0, left, 2, NULL);
    cr_assert_eq(scitt_store_queue_drop(a, (const uint8_t(*)[32])h, 2), 0, "dropping what is gone: no error");
    /* Put again after a drop: at the end of the queue. */
    const uint64_t again[] = {5};
    cr_assert_eq(put(b, again, 1), 0);
    const uint64_t now[] = {3, 7, 5};
    take_is(a, 0, now, 3, NULL);
    scitt_store_close(a);
    scitt_store_close(b);
}

/* A queued statement of more index keys than a statement has is refused
 * whole. */
Test(store_shared, queue_put_checks_its_input)
{
    PG_ONLY();
    scitt_store_t *st = open_store();
    scitt_store_queued_t q[2];
    uint8_t buf[2][ENTRY_LEN];
    queued(&q[0], buf[0], 1);
    queued(&q[1], buf[1], 2);
    q[1].num_keys = SCITT_STORE_INDEX_FIELDS + 1;
    cr_assert_eq(scitt_store_queue_put(st, q, 2), SCITT_EINVAL);
    take_is(st, 0, NULL, 0, NULL);
    cr_assert_eq(scitt_store_queue_put(st, q, 0), 0, "nothing to queue");
    q[1].num_keys = 0;
    cr_assert_eq(scitt_store_queue_put(st, q, 2), 0);
    scitt_store_queued_t got[2];
    size_t num;
    cr_assert_eq(scitt_store_queue_take(st, 0, got, 2, &num), 0);
    cr_assert_eq(num, 2);
    cr_assert_eq(got[1].num_keys, 0);
    scitt_store_close(st);
}

/* The commit's fence: a batch carries its writer epoch, and one built
 * under another epoch writes nothing. A log no lease was ever taken on is
 * at epoch 0, so a single process that never takes one commits as today. */
Test(store_shared, commit_checks_the_writer_epoch)
{
    PG_ONLY();
    scitt_store_t *st = open_store();
    cr_assert_eq(fx_sql_value("SELECT writer_epoch FROM scitt_log"), 0);
    cr_assert_eq(fx_commit_batch(st, 0, 10, ENTRY_LEN), 0);
    cr_assert_eq(fx_commit_shared(st, 10, 5, ENTRY_LEN, 3, NULL, 0), SCITT_ECONFLICT, "epoch 3 is not the log's");
    fx_sql("UPDATE scitt_log SET writer_epoch = 3");
    cr_assert_eq(fx_commit_batch(st, 10, 5, ENTRY_LEN), SCITT_ECONFLICT, "epoch 0 is not the log's now");
    fx_check_log(st, 10, ENTRY_LEN);
    cr_assert_eq(fx_commit_shared(st, 10, 5, ENTRY_LEN, 3, NULL, 0), 0);
    fx_check_log(st, 15, ENTRY_LEN);
    scitt_store_close(st);
}

/* A database of schema 1 (issue 17) migrates to schema 2 at open: the
 * log is kept, the lease starts at the log's writer epoch, the queue is
 * there. */
Test(store_shared, schema_1_migrates_to_2)
{
    PG_ONLY();
#ifdef SCITT_HAVE_POSTGRESQL
    scitt_store__pg_schema_cap(1);
    scitt_store_t *st = open_store();
    scitt_store__pg_schema_cap(0);
    /* schema 3's column, which today's code writes (dropped again below) */
    fx_sql("ALTER TABLE scitt_heads ADD COLUMN receipt_kid bytea NOT NULL DEFAULT ''::bytea");
    cr_assert_eq(fx_commit_batch(st, 0, 20, ENTRY_LEN), 0);
    scitt_store_close(st);
    fx_sql("ALTER TABLE scitt_heads DROP COLUMN receipt_kid");
    cr_assert_eq(fx_sql_value("SELECT version FROM scitt_schema"), 1);
    cr_assert_eq(fx_sql_value("SELECT count(*) FROM pg_tables WHERE tablename IN ('scitt_queue', 'scitt_lease')"), 0);
    fx_sql("UPDATE scitt_log SET writer_epoch = 4");
    st = open_store();
    cr_assert_geq(fx_sql_value("SELECT version FROM scitt_schema"), 2); /* 3 since issue 21 */
    cr_assert_eq(fx_sql_value("SELECT epoch FROM scitt_lease"), 4);
    fx_check_log(st, 20, ENTRY_LEN);
    const uint64_t idx[] = {1};
    cr_assert_eq(put(st, idx, 1), 0);
    take_is(st, 0, idx, 1, NULL);
    cr_assert_eq(fx_commit_shared(st, 20, 1, ENTRY_LEN, 4, NULL, 0), 0);
    scitt_store_close(st);
    st = open_store(); /* at version 2: nothing to do */
    fx_check_log(st, 21, ENTRY_LEN);
    scitt_store_close(st);
#endif
}

typedef struct put_job {
    scitt_store_t *st;
    uint64_t index;
    int rc;
} put_job_t;

static void *put_one(void *arg)
{
    put_job_t *j = arg;
    j->rc = put(j->st, &j->index, 1);
    return NULL;
}

/* seq order is commit order: a put whose transaction began later never
 * shows a seq above that of one still uncommitted, so a taker's cursor
 * skips nothing. Another session stands for a put in flight: it drew a
 * seq under the queue lock and has not committed; a put from a handle
 * meanwhile waits for it, and both rows appear in seq order. */
Test(store_shared, queue_seq_order_is_commit_order)
{
    PG_ONLY();
    scitt_store_t *st = open_store(), *putter = open_store();
    fx_session_t *other = fx_session();
    fx_session_sql(other, "BEGIN");
    fx_session_sql(other, "SELECT pg_advisory_xact_lock(x'5c177d5175657501'::int8)");
    fx_session_sql(other, "INSERT INTO scitt_queue (entry_hash, stmt, keys)"
                          " VALUES (sha256('in flight'), 'in flight', '')");
    put_job_t j = {putter, 4, -1};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, put_one, &j), 0);
    usleep(500000);
    take_is(st, 0, NULL, 0, NULL); /* without the lock: leaf 4's row, and the cursor past the one in flight */
    fx_session_sql(other, "COMMIT");
    pthread_join(th, NULL);
    cr_assert_eq(j.rc, 0);
    scitt_store_queued_t got[3];
    size_t num;
    cr_assert_eq(scitt_store_queue_take(st, 0, got, 3, &num), 0);
    cr_assert_eq(num, 2);
    cr_assert(scitt_span_eq(got[0].stored, scitt_span_str("in flight")));
    uint8_t h[32];
    hash_of(h, 4);
    cr_assert_eq(memcmp(got[1].entry_hash, h, 32), 0);
    cr_assert_gt(got[1].seq, got[0].seq);
    fx_session_end(other);
    scitt_store_close(putter);
    scitt_store_close(st);
}

/* ---- the lease ---- */

static scitt_store_lease_t lease(scitt_store_t *st, unsigned ms)
{
    scitt_store_lease_t l;
    int rc = scitt_store_lease(st, ms, &l);
    cr_assert_eq(rc, 0, "lease: %s", scitt_err_name(rc));
    cr_assert(l.held || (!l.taken_over && l.epoch == 0));
    return l;
}

static long long db_epoch(void)
{
    return fx_sql_value("SELECT writer_epoch FROM scitt_log WHERE id = 0");
}

/* One holder at a time; renewing keeps the epoch; a release lets the
 * next caller take over at once, with a new epoch, and the former
 * holder's epoch no longer commits. */
Test(store_shared, one_holder_release_and_takeover)
{
    PG_ONLY();
    scitt_store_t *a = open_store(), *b = open_store();
    cr_assert(scitt_store_shared(a));
    scitt_store_lease_t la = lease(a, 60000), lb = lease(b, 60000);
    cr_assert(la.held && la.taken_over);
    cr_assert_eq(la.epoch, 1);
    cr_assert_not(lb.held, "one holder");
    char me[64];
    snprintf(me, sizeof(me), "pid %ld on ", (long)getpid());
    cr_assert(strncmp(lb.holder, me, strlen(me)) == 0, "holder: %s", lb.holder);
    cr_assert_eq(db_epoch(), 1);
    scitt_store_lease_t again = lease(a, 60000);
    cr_assert(again.held && !again.taken_over);
    cr_assert_eq(again.epoch, 1);
    cr_assert_eq(fx_commit_shared(a, 0, 5, ENTRY_LEN, 1, NULL, 0), 0);
    scitt_store_stats_t s;
    scitt_store_stats(a, &s);
    cr_assert(s.lease_held);
    cr_assert_eq(s.writer_epoch, 1);
    cr_assert_eq(s.lease_takeovers, 1);

    cr_assert_eq(scitt_store_lease_release(a), 0);
    lb = lease(b, 60000);
    cr_assert(lb.held && lb.taken_over, "taken over at once after a release");
    cr_assert_eq(lb.epoch, 2);
    cr_assert_eq(db_epoch(), 2);
    la = lease(a, 60000);
    cr_assert_not(la.held);
    scitt_store_stats(a, &s);
    cr_assert_not(s.lease_held);
    cr_assert_eq(fx_commit_shared(a, 5, 5, ENTRY_LEN, 1, NULL, 0), SCITT_ECONFLICT, "the former epoch");
    cr_assert_eq(fx_commit_shared(b, 5, 5, ENTRY_LEN, 2, NULL, 0), 0);
    fx_check_log(a, 10, ENTRY_LEN);
    cr_assert_eq(scitt_store_lease_release(a), 0, "not held: nothing to give up");
    scitt_store_close(b); /* a close frees the lock with the session */
    for (int i = 0; i < 100 && !(la = lease(a, 60000)).held; i++) {
        usleep(50000);
    }
    cr_assert(la.held && la.taken_over);
    cr_assert_eq(la.epoch, 3);
    scitt_store_close(a);
}

/* A holder that stops renewing (paused, cut off) while its session lives:
 * once its lease expired, the next taker ends that session and takes
 * over; the former holder's batch, built under its epoch, writes nothing
 * (its connection comes back, the epoch fences it). */
Test(store_shared, expired_holder_is_ended_and_fenced)
{
    PG_ONLY();
    scitt_store_t *a = open_store(), *b = open_store();
    cr_assert_eq(fx_commit_batch(a, 0, 10, ENTRY_LEN), 0);
    scitt_store_lease_t la = lease(a, 2000);
    cr_assert(la.held);
    cr_assert_not(lease(b, 60000).held, "not expired yet");
    usleep(2500000);
    scitt_store_lease_t lb = lease(b, 60000);
    cr_assert(lb.held && lb.taken_over, "the expired holder's session was ended");
    cr_assert_gt(lb.epoch, la.epoch);
    int rc = fx_commit_shared(a, 10, 5, ENTRY_LEN, la.epoch, NULL, 0);
    cr_assert_eq(rc, SCITT_ECONFLICT, "got %s", scitt_err_name(rc));
    fx_check_log(b, 10, ENTRY_LEN);
    scitt_store_stats_t s;
    scitt_store_stats(a, &s);
    cr_assert_geq(s.reconnects, 1, "a's session was ended");
    la = lease(a, 60000);
    cr_assert_not(la.held);
    cr_assert_eq(fx_commit_shared(b, 10, 5, ENTRY_LEN, lb.epoch, NULL, 0), 0);
    fx_check_log(a, 15, ENTRY_LEN);
    scitt_store_close(a);
    scitt_store_close(b);
}

/* A holder whose connection dropped lost the lease with its session: its
 * next call takes it again (nobody else did), under a new epoch. */
Test(store_shared, lost_connection_loses_the_lease)
{
    PG_ONLY();
    scitt_store_t *a = open_store();
    scitt_store_lease_t l1 = lease(a, 60000);
    cr_assert(l1.held);
    fx_sql("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
           " WHERE datname = current_database() AND pid <> pg_backend_pid()");
    scitt_store_lease_t l2 = lease(a, 60000);
    cr_assert(l2.held && l2.taken_over, "taken again");
    cr_assert_gt(l2.epoch, l1.epoch);
    cr_assert_eq(fx_commit_shared(a, 0, 3, ENTRY_LEN, l1.epoch, NULL, 0), SCITT_ECONFLICT);
    cr_assert_eq(fx_commit_shared(a, 0, 3, ENTRY_LEN, l2.epoch, NULL, 0), 0);
    scitt_store_close(a);
}

/* writer_acquire is the same lock without an expiry: a lease caller
 * never ends that session; the handle commits under the log's epoch as
 * it is; a lease call on it turns it into a lease (a new epoch). */
Test(store_shared, writer_acquire_is_a_lock_that_never_expires)
{
    PG_ONLY();
    scitt_store_t *a = open_store(), *b = open_store();
    char why[256] = "";
    cr_assert_eq(scitt_store_writer_acquire(a, why, sizeof(why)), 0);
    cr_assert_not(lease(b, 100).held);
    usleep(300000);
    scitt_store_lease_t lb = lease(b, 100);
    cr_assert_not(lb.held, "writer_acquire's lock does not expire");
    cr_assert(strstr(lb.holder, "pid ") == lb.holder, "%s", lb.holder);
    cr_assert_eq(scitt_store_writer_acquire(b, why, sizeof(why)), SCITT_EBUSY);
    cr_assert(strstr(why, "pid ") != NULL, "%s", why);
    cr_assert_eq(fx_commit_batch(a, 0, 3, ENTRY_LEN), 0, "epoch 0: no lease was ever taken");
    scitt_store_lease_t la = lease(a, 60000);
    cr_assert(la.held && la.taken_over);
    cr_assert_eq(la.epoch, 1);
    cr_assert_eq(fx_commit_batch(a, 3, 3, ENTRY_LEN), SCITT_ECONFLICT, "epoch 0 is gone");
    cr_assert_eq(scitt_store_lease_release(a), 0);
    cr_assert(lease(b, 60000).held);
    scitt_store_close(a);
    scitt_store_close(b);
}

/* The commit removes the queue rows of its batch in its transaction: one
 * snapshot sees the entries logged and no longer queued; a refused commit
 * removes nothing. */
Test(store_shared, commit_dequeues_atomically)
{
    PG_ONLY();
    scitt_store_t *seq = open_store(), *follower = open_store();
    scitt_store_lease_t l = lease(seq, 60000);
    cr_assert(l.held);
    const uint64_t idx[] = {0, 1, 2, 3};
    cr_assert_eq(put(follower, idx, 4), 0);
    take_is(seq, 0, idx, 4, NULL);
    uint8_t h[4][32];
    for (int i = 0; i < 4; i++) {
        hash_of(h[i], idx[i]);
    }
    cr_assert_eq(fx_commit_shared(follower, 0, 3, ENTRY_LEN, l.epoch + 1, (const uint8_t(*)[32])h, 3), SCITT_ECONFLICT);
    const bool all[] = {true, true, true, true};
    has_is(follower, idx, all, 4);
    cr_assert_eq(fx_commit_shared(seq, 0, 3, ENTRY_LEN, l.epoch, (const uint8_t(*)[32])h, 3), 0);
    scitt_store_read_t *rd;
    uint64_t leaves[4];
    bool queued_now[4];
    cr_assert_eq(scitt_store_read_begin(follower, &rd), 0);
    cr_assert_eq(scitt_store_find_entries(rd, (const uint8_t(*)[32])h, 4, leaves), 0);
    cr_assert_eq(scitt_store_queue_has(rd, (const uint8_t(*)[32])h, 4, queued_now), 0);
    scitt_store_read_end(rd);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(leaves[i], (uint64_t)i);
        cr_assert_not(queued_now[i], "leaf %d dequeued", i);
    }
    cr_assert_eq(leaves[3], UINT64_MAX);
    cr_assert(queued_now[3], "not in the batch: still queued");
    scitt_store_close(seq);
    scitt_store_close(follower);
}

/* ---- events ---- */

static unsigned wait_ev(scitt_store_t *st, unsigned ms, uint64_t *size)
{
    unsigned ev = 0;
    uint64_t sz = 0;
    int rc = scitt_store_wait_event(st, ms, &ev, &sz);
    cr_assert_eq(rc, 0, "wait_event: %s", scitt_err_name(rc));
    if (size != NULL) {
        *size = sz;
    }
    return ev;
}

/* wait_for waits (up to 20 s in all) until `want` was reported, OR-ing
 * what came; the largest size announced in `*size`. */
static unsigned wait_for(scitt_store_t *st, unsigned want, uint64_t *size)
{
    unsigned seen = 0;
    *size = 0;
    for (int i = 0; i < 40 && (seen & want) != want; i++) {
        uint64_t sz;
        seen |= wait_ev(st, 500, &sz);
        *size = sz > *size ? sz : *size;
    }
    return seen;
}

static double ms_since(const struct timespec *a)
{
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a->tv_sec) * 1e3 + (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

/* Statements queued and commits, by another handle or this one, wake a
 * waiter; GREW carries the largest log end announced. */
Test(store_shared, wait_event_reports_queued_and_grew)
{
    PG_ONLY();
    scitt_store_t *a = open_store(), *b = open_store();
    uint64_t size;
    cr_assert_eq(wait_ev(a, 50, NULL), 0, "nothing yet (the connection is made)");
    const uint64_t idx[] = {1};
    cr_assert_eq(put(b, idx, 1), 0);
    cr_assert(wait_for(a, SCITT_STORE_EVENT_QUEUED, &size) & SCITT_STORE_EVENT_QUEUED);
    cr_assert_eq(fx_commit_batch(b, 0, 10, ENTRY_LEN), 0);
    cr_assert_eq(fx_commit_batch(b, 10, 5, ENTRY_LEN), 0);
    unsigned ev = wait_for(a, SCITT_STORE_EVENT_GREW, &size);
    cr_assert(ev & SCITT_STORE_EVENT_GREW);
    if (size != 15) { /* the two notifications came apart */
        cr_assert(wait_for(a, SCITT_STORE_EVENT_GREW, &size) & SCITT_STORE_EVENT_GREW);
    }
    cr_assert_eq(size, 15);
    cr_assert_eq(fx_commit_batch(a, 15, 1, ENTRY_LEN), 0);
    cr_assert(wait_for(a, SCITT_STORE_EVENT_GREW, &size) & SCITT_STORE_EVENT_GREW, "its own commit too");
    cr_assert_eq(size, 16);
    cr_assert_eq(wait_ev(a, 100, NULL), 0, "nothing more");
    scitt_store_close(a);
    scitt_store_close(b);
}

static void *wait_long(void *arg)
{
    unsigned ev = 99;
    uint64_t size;
    int rc = scitt_store_wait_event(arg, 30000, &ev, &size);
    return (void *)(intptr_t)(rc == 0 && ev == 0 ? 0 : 1);
}

/* A wake from another thread makes a wait in progress return at once, and
 * one sent with no wait in progress makes the next wait return at once. */
Test(store_shared, wake_returns_a_wait_at_once)
{
    PG_ONLY();
    scitt_store_t *st = open_store();
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, wait_long, st), 0);
    usleep(300000);
    scitt_store_wake(st);
    void *res;
    pthread_join(th, &res);
    cr_assert_null(res);
    cr_assert_lt(ms_since(&t0), 15000, "woken, not timed out");
    scitt_store_wake(st);
    scitt_store_wake(st);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(wait_ev(st, 30000, NULL), 0);
    cr_assert_lt(ms_since(&t0), 15000, "the wake was kept for the next wait");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(wait_ev(st, 200, NULL), 0);
    cr_assert_geq(ms_since(&t0), 150, "both wakes were one: this wait ran its time");
    scitt_store_close(st);
}

/* The event connection cut: that wait (or the next) fails, the next one
 * reconnects and reports LOST, and events come again; while the database
 * refuses connections the waits fail without spinning. */
Test(store_shared, event_connection_lost_is_reported)
{
#ifdef SCITT_HAVE_POSTGRESQL
    PG_ONLY();
    scitt_store_t *a = open_store(), *b = open_store();
    cr_assert_eq(wait_ev(a, 50, NULL), 0);
    scitt_store__pg_cut_events(a);
    unsigned ev = 0;
    uint64_t size;
    int rc = 0, fails = 0;
    for (int i = 0; i < 10 && !(ev & SCITT_STORE_EVENT_LOST); i++) {
        rc = scitt_store_wait_event(a, 500, &ev, &size);
        cr_assert(rc == 0 || rc == SCITT_EUNAVAIL, "got %s", scitt_err_name(rc));
        fails += rc != 0;
    }
    cr_assert(ev & SCITT_STORE_EVENT_LOST, "LOST after the cut");
    cr_assert_eq(fails, 1, "one failed wait, then reconnected");
    const uint64_t idx[] = {2};
    cr_assert_eq(put(b, idx, 1), 0);
    cr_assert(wait_for(a, SCITT_STORE_EVENT_QUEUED, &size) & SCITT_STORE_EVENT_QUEUED, "listening again");

    fx_server_sql("ALTER DATABASE %s ALLOW_CONNECTIONS false");
    scitt_store__pg_cut_events(a);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fails = 0;
    for (int i = 0; i < 4; i++) {
        rc = scitt_store_wait_event(a, 300, &ev, &size);
        cr_assert(rc == SCITT_EUNAVAIL || (rc == 0 && ev == 0), "got %s, events %u", scitt_err_name(rc), ev);
        fails += rc != 0;
    }
    cr_assert_geq(fails, 3);
    cr_assert_geq(ms_since(&t0), 600, "the failed waits spent their time");
    fx_server_sql("ALTER DATABASE %s ALLOW_CONNECTIONS true");
    cr_assert(wait_for(a, SCITT_STORE_EVENT_LOST, &size) & SCITT_STORE_EVENT_LOST);
    scitt_store_close(a);
    scitt_store_close(b);
#endif
}

/* Database failover (plan section 5) rests on libpq's multi-host
 * connection strings: every connection the engine makes (writer, readers,
 * events) walks the hosts and keeps the first read-write one, here past a
 * host that refuses connections. */
Test(store_shared, multi_host_connection_string)
{
    PG_ONLY();
    scitt_store_config_t cfg = {0};
    fx_config(&cfg);
    char host[128], port[16], rest[256], multi[800];
    cr_assert_eq(sscanf(cfg.database, "host=%127s port=%15s %255[^\n]", host, port, rest), 3, "%s", cfg.database);
    snprintf(multi, sizeof(multi), "host=%s,%s port=1,%s %s target_session_attrs=read-write", host, host, port, rest);
    cfg.database = multi;
    scitt_store_t *st;
    const char *why = NULL;
    int rc = scitt_store_open(&st, &cfg, &why);
    cr_assert_eq(rc, 0, "%s (%s)", scitt_err_name(rc), why != NULL ? why : "");
    cr_assert_eq(wait_ev(st, 50, NULL), 0);
    scitt_store_lease_t l = lease(st, 60000);
    cr_assert(l.held);
    const uint64_t idx[] = {0};
    cr_assert_eq(put(st, idx, 1), 0);
    cr_assert_eq(fx_commit_batch(st, 0, 1, ENTRY_LEN), SCITT_ECONFLICT, "epoch 0 is gone");
    uint8_t h[1][32];
    hash_of(h[0], 0);
    cr_assert_eq(fx_commit_shared(st, 0, 1, ENTRY_LEN, l.epoch, (const uint8_t(*)[32])h, 1), 0);
    uint64_t size;
    cr_assert(wait_for(st, SCITT_STORE_EVENT_GREW, &size) & SCITT_STORE_EVENT_GREW);
    cr_assert_eq(size, 1);
    fx_check_log(st, 1, ENTRY_LEN);
    scitt_store_close(st);
}
