/*
 * shared.c: the back half of the pipeline when several scittd processes
 * write one log (a shared store, PostgreSQL; docs/PLAN-18-CLUSTER.md
 * sections 2 and 3). LMDB never comes here (sequencer.c's loop runs).
 *
 * Every process, on its sequencer thread (the store's writer thread):
 *   verified jobs (the whole sequencer queue at once) -> scitt_store_queue_put
 *   -> only then `verified` (the 202 promise is durable) -> the held set,
 *   where each job waits until the log has its entry.
 * The direct path: the lease holder instead commits its own verified jobs
 * itself, as the single writer does (up to batch_max at a time, no queue
 * row, counted in scittd_direct_commit_total), while its last batch (direct
 * or of queue rows) committed within rescue_ms / 2 (rescue_ms is
 * --register-wait-ms / 2). Such a job gets no `verified` before its commit
 * returned: the batch answers it (201 with its receipt, or the error: no
 * promise was made), and a batch held in doubt is settled by sequencer.c
 * (read back; answered if committed, else run again). A direct batch still
 * committing after rescue_ms (a lock, a slow disk) is rescued: the event
 * thread queues it on its own connection (scitt_store_queue_put_aside) and
 * only then reports its jobs verified, so the front end gives its 202s on
 * time and the queue keeps the promise; the rows are dropped later as
 * repeats, and if that batch fails its jobs are held (shared_answering),
 * not answered with the error. After a failed batch, a slow one, and on a
 * follower: the queue, as above.
 * Queued rows are still taken on QUEUED and on the lease tick.
 * The process holding the sequencer lease (renewed every lease/4, tried
 * every min(250 ms, lease/8) otherwise) also takes queued rows in queue
 * order, turns them into jobs (from_queue) and runs them as batches
 * through sequencer.c (classify, integrate, commit under the lease's
 * writer epoch, removing the taken rows; rows that are all repeats of
 * logged entries are dropped). A takeover, a lost lease and every failed
 * batch make the next batch recover from the store first. Followers never
 * commit.
 *
 * Answers. The event thread waits for the store's events: QUEUED wakes a
 * holder's sequencer; GREW, LOST, a wake-up after a queue_put and a 1 s
 * timeout answer the held set: find_entries on the held hashes (one read
 * handle), receipts through the log reader, then `done` with rc 0. It also
 * advances the log reader, so each process's checkpoint follows the log
 * and never goes back. On the holder, its answer thread answers held jobs
 * of the rows it just committed from the batch's receipts at once (a
 * row's completion, row_done): the same receipt, without waiting for the
 * event. Whoever takes a job out of the held set (under its lock) answers
 * it, so each is answered once.
 *
 * Invariants:
 *  - A statement is acknowledged (verified, 202, 201) only after the
 *    transaction that queued it, or the batch that logged it, committed;
 *    from then on it is in the queue or in the log (the commit that logs
 *    it removes its row). `verified` of a direct job comes from a rescue
 *    or never, always before its `done` (shared_answering waits for a
 *    rescue in progress and ends the batch's chance of one).
 *  - Only the lease holder commits, and only with the epoch of its lease:
 *    the store refuses a batch of an older epoch (SCITT_ECONFLICT).
 *  - A held job is answered with a receipt only once its entry is found
 *    in the store (or the holder's commit of it returned).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"
#include "scitt/cond.h"
#include "scitt/receipt.h"

#define EVENT_WAIT_MS    1000 /* the event thread's timeout: held jobs are checked at least this often */
#define EVENT_MIN_MS     10   /* and at least this long */
#define EVENT_RETRY_MS   250  /* after an event connection failure */
#define DOUBT_RETRY_MS   1000 /* while a direct batch's commit is in doubt */
#define FIND_CHUNK       4096 /* hashes per find_entries */
#define STOP_WAIT_MIN_MS 2000 /* a stop waits this long past two leases for held statements */
#define DRAIN_POLL_MS    50
#define LEASE_TRY_MAX_MS 250
#define PUT_RETRY_NS     1000000000L /* while a failed queue_put's outcome cannot be read */
#define PUT_STOP_TRIES   5           /* and how many tries a stop waits for */

enum { RESCUE_NONE, RESCUE_DOUBT, RESCUED };

/* An answer the event thread built: a held job and its receipt. */
typedef struct held_answer {
    scitt_seq__job_t *job;
    uint64_t index;
    size_t off, len;
} held_answer_t;

/* A held hash found in the log: its leaf and its place in `hashes`. */
typedef struct found_leaf {
    uint64_t index;
    size_t at;
} found_leaf_t;

struct scitt_seq__shared {
    scitt_seq_t *seq;

    /* The held set: queued statements of this process not yet answered,
     * in queue order (`held`) and by entry hash (chains through held_next). */
    pthread_mutex_t lock;
    scitt_seq__fifo_t held;
    scitt_seq__job_t **buckets;
    size_t mask;

    /* The event thread. */
    pthread_t event_thread;
    bool event_running;
    atomic_bool event_stop;
    atomic_bool queued; /* statements were queued somewhere: a holder takes */
    uint8_t (*hashes)[32];
    uint64_t *found;
    found_leaf_t *leaves;
    held_answer_t *answers;
    size_t scratch_cap;
    scitt_buf_t receipts;
    uint64_t last_follow_ms;

    /* The direct path: the holder's batch of its own statements in flight
     * (set by the sequencer thread, cleared before it is answered), which
     * the event thread queues as well (`rescued`) once it has been
     * committing for rescue_ms. */
    pthread_mutex_t direct_lock;
    scitt_seq__job_t **direct;
    size_t num_direct;
    uint64_t direct_since_ms;
    int rescue; /* RESCUE_NONE, RESCUE_DOUBT (a put's outcome was lost), RESCUED */
    scitt_store_queued_t *rescue_rows;

    /* The sequencer thread. */
    uint64_t commit_ms; /* the holder's last batch took this long (UINT64_MAX: it failed) */
    bool holder;
    uint64_t epoch;
    uint64_t cursor; /* queue_take's `after` */
    scitt_seq__job_t **group;
    size_t group_cap;
    scitt_store_queued_t *put;
    scitt_store_queued_t *rows;
    uint8_t (*taken)[32];
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static size_t home(const scitt_seq__shared_t *sh, const uint8_t entry[32])
{
    uint64_t h;
    memcpy(&h, entry, sizeof(h));
    return (size_t)h & sh->mask;
}

/* ------------------------------------------------------------------------ */
/* The held set                                                             */

static void held_put(scitt_seq__shared_t *sh, scitt_seq__job_t *job)
{
    size_t b = home(sh, job->entry);
    job->held_next = sh->buckets[b];
    sh->buckets[b] = job;
    scitt_seq__fifo_push(&sh->held, job);
}

/* held_claim takes every held job with entry `entry` out of the set (the
 * caller holds the lock) and returns them chained through held_next. */
static scitt_seq__job_t *held_claim(scitt_seq__shared_t *sh, const uint8_t entry[32])
{
    scitt_seq__job_t **p = &sh->buckets[home(sh, entry)], *out = NULL;
    while (*p != NULL) {
        scitt_seq__job_t *job = *p;
        if (memcmp(job->entry, entry, 32) != 0) {
            p = &job->held_next;
            continue;
        }
        *p = job->held_next;
        scitt_seq__fifo_unlink(&sh->held, job);
        job->held_next = out;
        out = job;
    }
    return out;
}

/* answer_job answers one claimed job and frees it. */
static void answer_job(scitt_seq_t *seq, scitt_seq__job_t *job, const scitt_seq_result_t *res)
{
    scitt_seq__unpend(seq, &job, 1);
    job->done(job->ctx, res);
    scitt_seq__free_jobs(&job, 1);
}

static void answer_registered(scitt_seq_t *seq, scitt_seq__job_t *job, uint64_t index, bool existing,
                              scitt_span_t receipt)
{
    scitt_seq_result_t res = {.rc = 0, .has_entry = true, .index = index, .receipt = receipt};
    memcpy(res.entry, job->entry, 32);
    res.existing = existing || index < job->seen_size;
    answer_job(seq, job, &res);
}

/* row_done is the completion of a row the holder committed (its answer
 * thread): the held jobs of this process with the same entry get its
 * receipt now. */
static void row_done(void *ctx, const scitt_seq_result_t *res)
{
    scitt_seq__shared_t *sh = ctx;
    if (res->rc != 0 || res->receipt.len == 0) {
        return; /* still queued (or logged without a receipt now): the event thread answers */
    }
    pthread_mutex_lock(&sh->lock);
    scitt_seq__job_t *jobs = held_claim(sh, res->entry);
    pthread_mutex_unlock(&sh->lock);
    while (jobs != NULL) {
        scitt_seq__job_t *next = jobs->held_next;
        answer_registered(sh->seq, jobs, res->index, res->existing, res->receipt);
        jobs = next;
    }
}

/* put_row describes a job as a queue row (spans into the job). */
static void put_row(scitt_store_queued_t *q, const scitt_seq__job_t *job)
{
    memcpy(q->entry_hash, job->entry, 32);
    q->stored = scitt_span(job->data, job->len);
    q->num_keys = job->num_keys;
    memcpy(q->keys, job->keys, sizeof(q->keys));
}

/* ------------------------------------------------------------------------ */
/* The event thread                                                         */

static int grow_scratch(scitt_seq__shared_t *sh, size_t n)
{
    if (n <= sh->scratch_cap) {
        return 0;
    }
    size_t cap = sh->scratch_cap != 0 ? sh->scratch_cap : 64;
    while (cap < n) {
        cap *= 2;
    }
    uint8_t(*h)[32] = realloc(sh->hashes, cap * sizeof(*h));
    if (h != NULL) {
        sh->hashes = h;
    }
    uint64_t *f = realloc(sh->found, cap * sizeof(*f));
    if (f != NULL) {
        sh->found = f;
    }
    held_answer_t *a = realloc(sh->answers, cap * sizeof(*a));
    if (a != NULL) {
        sh->answers = a;
    }
    found_leaf_t *l = realloc(sh->leaves, cap * sizeof(*l));
    if (l != NULL) {
        sh->leaves = l;
    }
    if (h == NULL || f == NULL || a == NULL || l == NULL) {
        return SCITT_ENOMEM;
    }
    sh->scratch_cap = cap;
    return 0;
}

/* follow moves the log reader's checkpoint (and the tree size gauge) to
 * the log's end of at least `size`, never back. */
static void follow(scitt_seq__shared_t *sh, uint64_t size)
{
    scitt_seq_t *seq = sh->seq;
    scitt_log_stats_t ls;
    (void)scitt_log_advance(seq->log, size);
    scitt_log_stats(seq->log, &ls);
    uint64_t cur = atomic_load_explicit(&seq->tree_size, memory_order_relaxed);
    while (ls.head_size > cur && !atomic_compare_exchange_weak_explicit(&seq->tree_size, &cur, ls.head_size,
                                                                        memory_order_relaxed, memory_order_relaxed)) {
    }
}

static int by_index(const void *x, const void *y)
{
    const found_leaf_t *a = x, *b = y;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* receipt_builder: the receipts of leaves in ascending order, one head and
 * one prover per committed batch they fall in (the head of leaf i is the
 * first of size > i, so it serves every leaf below its size), byte for
 * byte those scitt_log_receipt rebuilds. */
typedef struct receipt_builder {
    scitt_seq__shared_t *sh;
    scitt_store_read_t *rd;
    scitt_store_head_t head;
    scitt_merkle_prover_t *prover;
    scitt_buf_t prot;
} receipt_builder_t;

static int build_receipt(receipt_builder_t *b, uint64_t index, scitt_buf_t *out)
{
    scitt_seq_t *seq = b->sh->seq;
    if (b->prover == NULL || index >= b->head.size) {
        scitt_merkle_prover_free(b->prover);
        b->prover = NULL;
        int rc = scitt_store_get_head_from(b->rd, index + 1, &b->head);
        scitt_buf_reset(&b->prot);
        rc = rc != 0 ? rc
                     : scitt_receipt_protected(
                           &b->prot, SCITT_ALG_ES256,
                           scitt_log__head_kid(&b->head, scitt_span(seq->keys->first_receipt_kid, SCITT_SHA256_LEN)),
                           scitt_log_origin(seq->log), b->head.time);
        scitt_tile_reader_t reader = scitt_log_tile_reader(seq->log, b->rd);
        rc = rc != 0 ? rc : scitt_merkle_prover_new(&b->prover, NULL, &reader, b->head.size, 0);
        if (rc != 0) {
            b->prover = NULL;
            return rc;
        }
    }
    return scitt_log__put_receipt(out, b->prover, b->head.size, scitt_buf_span(&b->prot), index, b->head.receipt_sig);
}

/* answer_held answers every held job whose entry is in the log. */
static void answer_held(scitt_seq__shared_t *sh)
{
    scitt_seq_t *seq = sh->seq;
    pthread_mutex_lock(&sh->lock);
    size_t n = sh->held.num;
    int rc = grow_scratch(sh, n);
    size_t i = 0;
    for (scitt_seq__job_t *job = sh->held.head; rc == 0 && job != NULL; job = job->next) {
        memcpy(sh->hashes[i++], job->entry, 32);
    }
    pthread_mutex_unlock(&sh->lock);
    if (rc != 0 || n == 0) {
        return;
    }
    scitt_store_read_t *rd;
    if (scitt_store_read_begin(seq->store, &rd) != 0) {
        return;
    }
    for (i = 0; rc == 0 && i < n; i += FIND_CHUNK) {
        size_t k = n - i < FIND_CHUNK ? n - i : FIND_CHUNK;
        rc = scitt_store_find_entries(rd, (const uint8_t(*)[32])sh->hashes + i, k, sh->found + i);
    }
    size_t num = 0, num_found = 0;
    for (i = 0; rc == 0 && i < n; i++) {
        if (sh->found[i] != UINT64_MAX) {
            sh->leaves[num_found++] = (found_leaf_t){sh->found[i], i};
        }
    }
    qsort(sh->leaves, num_found, sizeof(*sh->leaves), by_index);
    receipt_builder_t b = {.sh = sh, .rd = rd};
    scitt_buf_init(&b.prot, NULL, 0);
    uint64_t end = 0;
    scitt_buf_reset(&sh->receipts);
    for (size_t k = 0; k < num_found; k++) {
        i = sh->leaves[k].at;
        size_t off = sh->receipts.len;
        if (build_receipt(&b, sh->found[i], &sh->receipts) != 0) {
            sh->receipts.len = off; /* tried again next time; the job stays held */
            continue;
        }
        pthread_mutex_lock(&sh->lock);
        scitt_seq__job_t *jobs = held_claim(sh, sh->hashes[i]);
        pthread_mutex_unlock(&sh->lock);
        while (jobs != NULL) {
            scitt_seq__job_t *next = jobs->held_next;
            if (num == sh->scratch_cap && grow_scratch(sh, num + 1) != 0) {
                pthread_mutex_lock(&sh->lock);
                held_put(sh, jobs); /* no room to answer it now: next time */
                pthread_mutex_unlock(&sh->lock);
            } else {
                sh->answers[num++] = (held_answer_t){jobs, sh->found[i], off, sh->receipts.len - off};
            }
            jobs = next;
        }
        end = sh->found[i] + 1 > end ? sh->found[i] + 1 : end;
    }
    scitt_merkle_prover_free(b.prover);
    scitt_buf_cleanup(&b.prot);
    scitt_store_read_end(rd);
    if (num == 0) {
        return;
    }
    follow(sh, end); /* a client holding a receipt reads a checkpoint that covers it */
    for (i = 0; i < num; i++) {
        held_answer_t *a = &sh->answers[i];
        answer_registered(seq, a->job, a->index, false, scitt_span(sh->receipts.base + a->off, a->len));
    }
}

/* rescue queues the direct batch in flight once it has been committing
 * for rescue_ms (its commit waits: a lock, a slow disk), on this thread's
 * own connection, and only then reports its jobs verified: the front end
 * may now give their 202s, a promise the queue keeps whatever happens to
 * the commit. The commit, when it returns, still answers them (a 201
 * unless the 202 went first); their rows are dropped later as repeats. */
static void rescue(scitt_seq__shared_t *sh)
{
    scitt_seq_t *seq = sh->seq;
    pthread_mutex_lock(&sh->direct_lock);
    size_t n = sh->num_direct;
    if (n > 0 && sh->rescue != RESCUED && now_ms() - sh->direct_since_ms >= seq->rescue_ms) {
        for (size_t i = 0; i < n; i++) {
            put_row(&sh->rescue_rows[i], sh->direct[i]);
        }
        /* An error leaves it for the next round (queueing again is harmless). */
        int rc = scitt_store_queue_put_aside(seq->store, sh->rescue_rows, n);
        sh->rescue = rc == 0 ? RESCUED : rc == SCITT_EINDOUBT ? RESCUE_DOUBT : sh->rescue;
        for (size_t i = 0; sh->rescue == RESCUED && i < n; i++) {
            scitt_seq__job_t *job = sh->direct[i];
            if (job->verified != NULL) {
                job->verified(job->ctx, job->entry); /* before `done`: the sequencer waits for the lock */
            }
        }
        if (sh->rescue == RESCUED) {
            atomic_fetch_add_explicit(&seq->queue_puts, n, memory_order_relaxed);
        }
    }
    pthread_mutex_unlock(&sh->direct_lock);
}

static void *event_main(void *arg)
{
    pthread_setname_np(pthread_self(), "store-events");
    scitt_seq__shared_t *sh = arg;
    scitt_seq_t *seq = sh->seq;
    /* Often enough to rescue a direct batch at most rescue_ms / 2 late. */
    unsigned wait_ms = seq->rescue_ms / 2 < EVENT_WAIT_MS ? seq->rescue_ms / 2 : EVENT_WAIT_MS;
    wait_ms = wait_ms < EVENT_MIN_MS ? EVENT_MIN_MS : wait_ms;
    while (!atomic_load(&sh->event_stop)) {
        unsigned events = 0;
        uint64_t size = 0;
        int rc = scitt_store_wait_event(seq->store, wait_ms, &events, &size);
        if (atomic_load(&sh->event_stop)) {
            break;
        }
        rescue(sh);
        if (rc != 0) {
            struct timespec ts = {0, EVENT_RETRY_MS * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        if (events & (SCITT_STORE_EVENT_QUEUED | SCITT_STORE_EVENT_LOST)) {
            atomic_store(&sh->queued, true);
            pthread_mutex_lock(&seq->sq_lock);
            pthread_cond_broadcast(&seq->sq_cond);
            pthread_mutex_unlock(&seq->sq_lock);
        }
        if (events == SCITT_STORE_EVENT_QUEUED) {
            continue;
        }
        answer_held(sh);
        uint64_t now = now_ms();
        if (events & SCITT_STORE_EVENT_GREW) {
            follow(sh, size);
        } else if (now - sh->last_follow_ms >= EVENT_WAIT_MS) {
            /* Nothing announced for a while (or the connection was lost):
             * look at the log's end anyway. */
            scitt_log_stats_t ls;
            scitt_log_stats(seq->log, &ls);
            follow(sh, ls.head_size + 1);
            sh->last_follow_ms = now;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* The sequencer thread                                                     */

/* lease_step takes, renews or loses the sequencer lease. */
static void lease_step(scitt_seq__shared_t *sh)
{
    scitt_seq_t *seq = sh->seq;
    scitt_store_lease_t l;
    int rc = scitt_store_lease(seq->store, seq->lease_ms, &l);
    bool held = rc == 0 && l.held;
    if (held && (l.taken_over || !sh->holder || l.epoch != sh->epoch)) {
        if (l.taken_over) {
            atomic_fetch_add_explicit(&seq->lease_takeovers, 1, memory_order_relaxed);
        }
        fprintf(stderr, "scittd: seq: this process sequences the log now (writer epoch %llu)\n",
                (unsigned long long)l.epoch);
        scitt_seq__resync(seq->sequencer); /* recover from the store before the first commit */
        sh->cursor = 0;
        atomic_store(&sh->queued, true);
    } else if (!held && sh->holder) {
        fprintf(stderr, "scittd: seq: the sequencer lease was lost (%s); following\n",
                rc != 0               ? scitt_strerror(rc)
                : l.holder[0] != '\0' ? l.holder
                                      : "another process holds it");
        scitt_seq__resync(seq->sequencer);
    }
    sh->holder = held;
    sh->epoch = held ? l.epoch : 0;
    atomic_store_explicit(&seq->is_sequencer, held, memory_order_relaxed);
    if (held) {
        atomic_store_explicit(&seq->writer_epoch, l.epoch, memory_order_relaxed);
    }
    if (rc != 0) {
        (void)scitt_store_maintain(seq->store); /* reconnects the writer's connection */
    }
}

static uint64_t lease_period(const scitt_seq__shared_t *sh)
{
    unsigned ms = sh->seq->lease_ms;
    return sh->holder ? ms / 4 : ms / 8 < LEASE_TRY_MAX_MS ? ms / 8 : LEASE_TRY_MAX_MS;
}

static void refuse(scitt_seq_t *seq, scitt_seq__job_t *job, int rc)
{
    scitt_seq_result_t res = {
        .rc = rc,
        .has_entry = true,
        .err_desc = rc == SCITT_EINDOUBT
                        ? "the log lost its store while queueing the statement and cannot tell yet whether it was "
                          "registered; look it up (GET /entries/{id}) or submit it again later"
                        : "the log's store could not queue the statement; it was not registered, try again later"};
    memcpy(res.entry, job->entry, 32);
    answer_job(seq, job, &res);
}

/* put_outcome reads which statements of a group whose queue_put failed
 * are queued or logged anyway (the transaction may have committed with
 * its answer lost): present[i]. */
static int put_outcome(scitt_seq__shared_t *sh, size_t n, uint8_t (*hashes)[32], uint64_t *found, bool *present)
{
    scitt_store_t *st = sh->seq->store;
    scitt_store_read_t *rd = NULL;
    int rc = scitt_store_maintain(st);
    rc = rc != 0 ? rc : scitt_store_read_begin(st, &rd);
    rc = rc != 0 ? rc : scitt_store_find_entries(rd, (const uint8_t(*)[32])hashes, n, found);
    rc = rc != 0 ? rc : scitt_store_queue_has(rd, (const uint8_t(*)[32])hashes, n, present);
    scitt_store_read_end(rd);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        present[i] = present[i] || found[i] != UINT64_MAX;
    }
    return rc;
}

static bool stopping(scitt_seq_t *seq)
{
    pthread_mutex_lock(&seq->sq_lock);
    bool closed = seq->sq_closed;
    pthread_mutex_unlock(&seq->sq_lock);
    return closed;
}

/* put_settle settles a group whose queue_put's outcome was lost with the
 * connection (SCITT_EINDOUBT): what the store holds of it stays in the
 * group (0 .. *kept - 1), the rest is refused (not queued: 503, the client
 * tries again). While the store cannot be read the group waits, unanswered
 * (a stop gives it PUT_STOP_TRIES tries, then answers SCITT_EINDOUBT). */
static void put_settle(scitt_seq__shared_t *sh, scitt_seq__job_t **jobs, size_t n, size_t *kept)
{
    scitt_seq_t *seq = sh->seq;
    uint8_t(*hashes)[32] = malloc(n * sizeof(*hashes));
    uint64_t *found = malloc(n * sizeof(*found));
    bool *present = malloc(n * sizeof(*present));
    int rc = hashes == NULL || found == NULL || present == NULL ? SCITT_ENOMEM : 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        memcpy(hashes[i], jobs[i]->entry, 32);
    }
    bool doubt = false;
    for (unsigned tries = 0; rc == 0 && put_outcome(sh, n, hashes, found, present) != 0; tries++) {
        doubt = true;
        atomic_store_explicit(&seq->in_doubt, true, memory_order_relaxed);
        if (stopping(seq) && tries >= PUT_STOP_TRIES) {
            rc = SCITT_EINDOUBT;
            atomic_fetch_add_explicit(&seq->in_doubt_given_up, 1, memory_order_relaxed);
            break;
        }
        struct timespec ts = {PUT_RETRY_NS / 1000000000L, PUT_RETRY_NS % 1000000000L};
        nanosleep(&ts, NULL);
    }
    atomic_store_explicit(&seq->in_doubt, false, memory_order_relaxed);
    *kept = 0;
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && present[i]) {
            jobs[(*kept)++] = jobs[i];
            any = true;
        } else {
            refuse(seq, jobs[i], rc != 0 ? rc : SCITT_EUNAVAIL);
        }
    }
    if (doubt && rc == 0) {
        atomic_fetch_add_explicit(any ? &seq->in_doubt_committed : &seq->in_doubt_rolled_back, 1, memory_order_relaxed);
    }
    free(hashes);
    free(found);
    free(present);
}

/* hold_jobs holds queued jobs until the log has them, reporting them
 * verified first unless that was done (a rescue). */
static void hold_jobs(scitt_seq__shared_t *sh, scitt_seq__job_t **jobs, size_t n, bool report)
{
    scitt_seq_t *seq = sh->seq;
    scitt_log_stats_t ls;
    scitt_log_stats(seq->log, &ls);
    for (size_t i = 0; i < n; i++) {
        scitt_seq__job_t *job = jobs[i];
        job->seen_size = ls.head_size;
        scitt_seq__pend(seq, job);
        if (report && job->verified != NULL) {
            job->verified(job->ctx, job->entry); /* before it is held, so before `done` */
        }
    }
    pthread_mutex_lock(&sh->lock);
    for (size_t i = 0; i < n; i++) {
        held_put(sh, jobs[i]);
    }
    pthread_mutex_unlock(&sh->lock);
    scitt_store_wake(seq->store); /* repeats of logged entries are answered at once */
}

/* put_group queues the group durably, then reports each statement
 * verified and holds it until the log has it. */
static int put_group(scitt_seq__shared_t *sh, size_t n)
{
    scitt_seq_t *seq = sh->seq;
    for (size_t i = 0; i < n; i++) {
        put_row(&sh->put[i], sh->group[i]);
    }
    int rc = scitt_store_queue_put(seq->store, sh->put, n);
    if (rc == SCITT_EINDOUBT) {
        put_settle(sh, sh->group, n, &n);
    } else if (rc != 0) {
        for (size_t i = 0; i < n; i++) {
            refuse(seq, sh->group[i], rc); /* nothing queued: 503, the client tries again */
        }
        n = 0;
    }
    /* /healthz: a process that cannot queue cannot register. */
    atomic_store_explicit(&seq->commit_rc, n == 0 ? rc : 0, memory_order_relaxed);
    if (n == 0) {
        return rc;
    }
    atomic_fetch_add_explicit(&seq->queue_puts, n, memory_order_relaxed);
    hold_jobs(sh, sh->group, n, true);
    return 0;
}

/* row_job makes a batch job of a queued row. */
static scitt_seq__job_t *row_job(scitt_seq__shared_t *sh, const scitt_store_queued_t *q)
{
    scitt_seq__job_t *job = scitt_seq__job_new(q->stored.base, q->stored.len, row_done, sh);
    if (job != NULL) {
        job->from_queue = true;
        memcpy(job->entry, q->entry_hash, 32);
        job->num_keys = (uint8_t)(q->num_keys < SCITT_SEQ__MAX_KEYS ? q->num_keys : SCITT_SEQ__MAX_KEYS);
        memcpy(job->keys, q->keys, job->num_keys * sizeof(job->keys[0]));
    }
    return job;
}

/* run_timed runs the batch in hand and records how long it took (commit_ms:
 * UINT64_MAX when it failed), which decides the direct path (direct_ok). */
static int run_timed(scitt_seq__shared_t *sh, const uint8_t (*dequeue)[32], size_t num_dequeue, size_t *out_fresh)
{
    uint64_t t0 = now_ms();
    int rc = scitt_seq__batch_run(sh->seq->sequencer, sh->epoch, dequeue, num_dequeue, out_fresh);
    sh->commit_ms = rc == 0 ? now_ms() - t0 : UINT64_MAX;
    return rc;
}

/* take_batches: the holder commits what is queued, batch by batch. */
static void take_batches(scitt_seq__shared_t *sh)
{
    scitt_seq_t *seq = sh->seq;
    size_t cap = seq->batch_max;
    while (sh->holder) {
        if (scitt_store_maintain(seq->store) != 0) {
            return; /* tried again at the next lease step */
        }
        size_t n = 0;
        int rc = scitt_store_queue_take(seq->store, sh->cursor, sh->rows, cap, &n);
        if (rc != 0) {
            sh->cursor = 0;
            return;
        }
        atomic_store_explicit(&seq->handoff_depth, n, memory_order_relaxed);
        if (n == 0) {
            if (sh->cursor == 0) {
                return;
            }
            sh->cursor = 0; /* rows queued by transactions that committed late sit before it */
            continue;
        }
        size_t num = 0;
        for (size_t i = 0; i < n; i++) {
            scitt_seq__job_t *job = row_job(sh, &sh->rows[i]);
            if (job == NULL || !scitt_seq__batch_add(seq->sequencer, job)) {
                free(job);
                break; /* the rest stay queued */
            }
            memcpy(sh->taken[num++], sh->rows[i].entry_hash, 32);
        }
        uint64_t last_seq = sh->rows[n - 1].seq;
        size_t fresh = 0;
        rc = run_timed(sh, (const uint8_t(*)[32])sh->taken, num, &fresh);
        if (rc == 0 && fresh == 0) {
            rc = scitt_store_queue_drop(seq->store, (const uint8_t(*)[32])sh->taken, num);
        }
        if (rc != 0) {
            sh->cursor = 0;
            if (rc == SCITT_ECONFLICT) {
                lease_step(sh); /* another process may have taken the lease over */
            }
            return;
        }
        if (n < cap || num < n) {
            sh->cursor = 0;
            return;
        }
        sh->cursor = last_seq; /* a full batch: more may be queued */
    }
}

/* direct_ok: the holder commits its own statements directly while its
 * last batch (direct or of queue rows) committed within rescue_ms / 2. */
static bool direct_ok(const scitt_seq__shared_t *sh)
{
    return sh->holder && sh->commit_ms < sh->seq->rescue_ms / 2;
}

/* run_direct commits the group as one batch of this process's statements,
 * without queue rows: no `verified` before the commit returned (unless a
 * rescue queued them), so each is answered by the batch (201 with its
 * receipt, or the error: no promise was made). What the batch cannot hold
 * is queued. Returns true while the batch is held in doubt. */
static bool run_direct(scitt_seq__shared_t *sh, size_t n)
{
    scitt_seq_t *seq = sh->seq;
    size_t num = 0;
    pthread_mutex_lock(&sh->direct_lock);
    while (num < n && scitt_seq__batch_add(seq->sequencer, sh->group[num])) {
        scitt_seq__job_t *job = sh->group[num];
        scitt_seq__pend(seq, job);
        sh->direct[num++] = job;
    }
    sh->num_direct = num;
    sh->direct_since_ms = now_ms();
    sh->rescue = RESCUE_NONE;
    pthread_mutex_unlock(&sh->direct_lock);
    size_t fresh = 0;
    int rc = run_timed(sh, NULL, 0, &fresh);
    if (rc == 0) {
        atomic_fetch_add_explicit(&seq->direct_commits, num, memory_order_relaxed);
    } else if (rc == SCITT_ECONFLICT) {
        lease_step(sh); /* another process may have taken the lease over */
    }
    if (num < n) {
        memmove(sh->group, sh->group + num, (n - num) * sizeof(*sh->group));
        (void)put_group(sh, n - num);
    }
    return rc == SCITT_EINDOUBT;
}

void scitt_seq__shared_answering(scitt_seq_t *seq, scitt_seq__job_t **jobs, size_t *num, int fail_rc)
{
    scitt_seq__shared_t *sh = seq->sh;
    pthread_mutex_lock(&sh->direct_lock); /* waits for a rescue in progress */
    int rescue = sh->num_direct > 0 ? sh->rescue : RESCUE_NONE;
    sh->num_direct = 0;
    sh->direct_since_ms = 0;
    pthread_mutex_unlock(&sh->direct_lock);
    if (fail_rc == 0 || rescue == RESCUE_NONE) {
        return;
    }
    /* The batch failed, but a rescue queued its jobs (or may have): they
     * leave the batch and are held like any queued statement (after a lost
     * put, those the store holds; the rest are refused), so the promise of
     * a 202 given meanwhile is kept and no error answers a queued one. */
    size_t n = 0, k = 0;
    for (size_t i = 0; i < *num; i++) {
        if (jobs[i]->from_queue) {
            jobs[k++] = jobs[i];
        } else {
            sh->direct[n++] = jobs[i];
        }
    }
    *num = k;
    if (rescue == RESCUE_DOUBT) {
        put_settle(sh, sh->direct, n, &n);
    }
    hold_jobs(sh, sh->direct, n, rescue == RESCUE_DOUBT);
}

/* answer_rest answers what a stop leaves held: queued, not logged yet. */
static void answer_rest(scitt_seq__shared_t *sh)
{
    pthread_mutex_lock(&sh->lock);
    scitt_seq__job_t *head = sh->held.head;
    sh->held = (scitt_seq__fifo_t){0};
    memset(sh->buckets, 0, (sh->mask + 1) * sizeof(*sh->buckets));
    pthread_mutex_unlock(&sh->lock);
    while (head != NULL) {
        scitt_seq__job_t *next = head->next;
        scitt_seq_result_t res = {.rc = SCITT_EAGAIN,
                                  .has_entry = true,
                                  .err_desc = "the statement is queued and will be registered; look it up later"};
        memcpy(res.entry, head->entry, 32);
        answer_job(sh->seq, head, &res);
        head = next;
    }
}

static size_t held_num(scitt_seq__shared_t *sh)
{
    pthread_mutex_lock(&sh->lock);
    size_t n = sh->held.num;
    pthread_mutex_unlock(&sh->lock);
    return n;
}

void *scitt_seq__shared_main(void *arg)
{
    pthread_setname_np(pthread_self(), "sequencer");
    scitt_seq_t *seq = arg;
    scitt_seq__shared_t *sh = seq->sh;
    scitt_seq__answerer_start(seq->sequencer);
    uint64_t next_lease = 0, stop_at = 0;
    for (;;) {
        if (scitt_seq__doubt_step(seq->sequencer, stopping(seq))) {
            struct timespec ts = {DOUBT_RETRY_MS / 1000, (DOUBT_RETRY_MS % 1000) * 1000000L};
            nanosleep(&ts, NULL); /* no other batch, no lease step until it is settled */
            continue;
        }
        uint64_t now = now_ms();
        bool tick = now >= next_lease;
        if (tick) {
            lease_step(sh);
            next_lease = now_ms() + lease_period(sh);
        }
        pthread_mutex_lock(&seq->sq_lock);
        bool drained = false;
        for (;;) {
            drained = seq->sq_closed && seq->workers_alive == 0;
            if ((seq->sq.num > 0 && !seq->hold) || (sh->holder && !seq->hold && atomic_load(&sh->queued)) || drained ||
                tick) {
                break;
            }
            struct timespec until;
            now = now_ms();
            scitt_deadline(&until, (next_lease > now ? next_lease - now : 0) * 1000000u);
            if (pthread_cond_timedwait(&seq->sq_cond, &seq->sq_lock, &until) != 0) {
                break;
            }
        }
        bool direct = direct_ok(sh);
        size_t n = 0, cap = direct ? seq->batch_max : sh->group_cap;
        while (!seq->hold && seq->sq.num > 0 && n < cap) {
            sh->group[n++] = scitt_seq__fifo_pop(&seq->sq);
        }
        bool empty = seq->sq.num == 0;
        pthread_mutex_unlock(&seq->sq_lock);
        bool take = atomic_exchange(&sh->queued, false) || tick;
        if (n > 0 && direct && run_direct(sh, n)) {
            continue; /* held in doubt: settled first */
        }
        if (n > 0 && !direct) {
            take = put_group(sh, n) == 0 || take;
        }
        if (sh->holder && take && !seq->hold) {
            take_batches(sh);
        }
        if (drained && empty) {
            now = now_ms();
            if (held_num(sh) == 0) {
                break;
            }
            if (stop_at == 0) {
                stop_at = now + 2u * seq->lease_ms + STOP_WAIT_MIN_MS;
            } else if (now >= stop_at) {
                answer_rest(sh);
                break;
            }
            struct timespec ts = {0, DRAIN_POLL_MS * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (sh->holder) {
        (void)scitt_store_lease_release(seq->store); /* the next process takes over at once */
        sh->holder = false;
        atomic_store_explicit(&seq->is_sequencer, false, memory_order_relaxed);
    }
    scitt_seq__answerer_stop(seq->sequencer);
    if (sh->event_running) {
        atomic_store(&sh->event_stop, true);
        scitt_store_wake(seq->store);
        pthread_join(sh->event_thread, NULL);
        sh->event_running = false;
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Setup                                                                    */

void scitt_seq__shared_free(scitt_seq_t *seq)
{
    scitt_seq__shared_t *sh = seq->sh;
    if (sh == NULL) {
        return;
    }
    if (sh->event_running) { /* the sequencer thread never ran */
        atomic_store(&sh->event_stop, true);
        scitt_store_wake(seq->store);
        pthread_join(sh->event_thread, NULL);
    }
    pthread_mutex_destroy(&sh->lock);
    pthread_mutex_destroy(&sh->direct_lock);
    free(sh->direct);
    free(sh->rescue_rows);
    free(sh->buckets);
    free(sh->hashes);
    free(sh->found);
    free(sh->leaves);
    free(sh->answers);
    scitt_buf_cleanup(&sh->receipts);
    free(sh->group);
    free(sh->put);
    free(sh->rows);
    free(sh->taken);
    free(sh);
    seq->sh = NULL;
}

int scitt_seq__shared_new(scitt_seq_t *seq)
{
    scitt_seq__shared_t *sh = calloc(1, sizeof(*sh));
    if (sh == NULL) {
        return SCITT_ENOMEM;
    }
    seq->sh = sh;
    sh->seq = seq;
    pthread_mutex_init(&sh->lock, NULL);
    pthread_mutex_init(&sh->direct_lock, NULL);
    scitt_buf_init(&sh->receipts, NULL, 0);
    atomic_init(&sh->event_stop, false);
    atomic_init(&sh->queued, false);
    size_t buckets = 16;
    while (buckets < seq->max_pending) {
        buckets *= 2;
    }
    sh->mask = buckets - 1;
    sh->group_cap = seq->max_pending;
    sh->buckets = calloc(buckets, sizeof(*sh->buckets));
    sh->group = calloc(sh->group_cap, sizeof(*sh->group));
    sh->put = calloc(sh->group_cap, sizeof(*sh->put));
    sh->rows = calloc(seq->batch_max, sizeof(*sh->rows));
    sh->taken = calloc(seq->batch_max, sizeof(*sh->taken));
    sh->direct = calloc(seq->batch_max, sizeof(*sh->direct));
    sh->rescue_rows = calloc(seq->batch_max, sizeof(*sh->rescue_rows));
    if (sh->buckets == NULL || sh->group == NULL || sh->put == NULL || sh->rows == NULL || sh->taken == NULL ||
        sh->direct == NULL || sh->rescue_rows == NULL) {
        scitt_seq__shared_free(seq);
        return SCITT_ENOMEM;
    }
    sh->event_running = pthread_create(&sh->event_thread, NULL, event_main, sh) == 0;
    if (!sh->event_running) {
        scitt_seq__shared_free(seq);
        return SCITT_ENOMEM;
    }
    return 0;
}
