/*
 * pool.c: the front half of the pipeline: submissions, the verify pool and
 * the pending set.
 *
 * scitt_seq_submit copies the body into a job (room for one more byte, so
 * the normalised statement fits in place) and queues it on the verify queue,
 * without decoding it. W pool threads take jobs, run the whole registration
 * check (scitt_policy_check), answer rejections themselves, and replace the
 * body by the normalised statement, enter it in the pending set and report
 * it verified before handing the job to the sequencer.
 *
 * Invariants:
 *  - `pending` counts every job from submit until it is answered; submit
 *    refuses (SCITT_EFULL) rather than pass max_pending, which bounds both
 *    queues and the batch in hand, hence memory.
 *  - A verified job enters the pending set before the sequencer can see it
 *    and leaves it only after the commit holding it returned, so
 *    scitt_seq_is_pending never misses an accepted, uncommitted entry.
 *  - Shutdown: `stopping` (under vq_lock) refuses new submissions; pool
 *    threads exit only when the verify queue is empty; the last one to exit
 *    drops workers_alive to 0, which with sq_closed lets the sequencer exit
 *    once its queue is empty. Nothing queued is dropped.
 */
#include <stdlib.h>
#include <time.h>

#include "internal.h"

void scitt_seq__fifo_push(scitt_seq__fifo_t *q, scitt_seq__job_t *job)
{
    job->next = NULL;
    job->prev = q->tail;
    if (q->tail != NULL) {
        q->tail->next = job;
    } else {
        q->head = job;
    }
    q->tail = job;
    q->num++;
}

void scitt_seq__fifo_unlink(scitt_seq__fifo_t *q, scitt_seq__job_t *job)
{
    if (job->prev != NULL) {
        job->prev->next = job->next;
    } else {
        q->head = job->next;
    }
    if (job->next != NULL) {
        job->next->prev = job->prev;
    } else {
        q->tail = job->prev;
    }
    job->next = job->prev = NULL;
    q->num--;
}

scitt_seq__job_t *scitt_seq__fifo_pop(scitt_seq__fifo_t *q)
{
    scitt_seq__job_t *job = q->head;
    if (job != NULL) {
        scitt_seq__fifo_unlink(q, job);
    }
    return job;
}

/* ------------------------------------------------------------------------ */
/* Pending set                                                              */

struct scitt_seq__pend_slot {
    uint8_t entry[SCITT_SHA256_LEN];
    uint32_t count; /* 0: empty slot */
};

int scitt_seq__pendset_init(scitt_seq__pendset_t *ps, size_t max_entries)
{
    size_t cap = 16;
    while (cap < 2 * max_entries) {
        if (cap > SIZE_MAX / 4 / sizeof(*ps->slots)) {
            return SCITT_ENOMEM;
        }
        cap *= 2;
    }
    ps->slots = calloc(cap, sizeof(*ps->slots)); /* zero pages: untouched slots cost no memory */
    if (ps->slots == NULL) {
        return SCITT_ENOMEM;
    }
    ps->mask = cap - 1;
    pthread_mutex_init(&ps->lock, NULL);
    return 0;
}

void scitt_seq__pendset_cleanup(scitt_seq__pendset_t *ps)
{
    if (ps->slots != NULL) {
        pthread_mutex_destroy(&ps->lock);
        free(ps->slots);
        ps->slots = NULL;
    }
}

/* Entries are SHA-256 outputs: their first bytes are already a good hash. */
static size_t home(const scitt_seq__pendset_t *ps, const uint8_t entry[32])
{
    uint64_t h;
    memcpy(&h, entry, sizeof(h));
    return (size_t)h & ps->mask;
}

/* find returns the slot holding `entry`, or the empty slot where it would go. */
static size_t find(const scitt_seq__pendset_t *ps, const uint8_t entry[32])
{
    size_t i = home(ps, entry);
    while (ps->slots[i].count != 0 && memcmp(ps->slots[i].entry, entry, 32) != 0) {
        i = (i + 1) & ps->mask;
    }
    return i;
}

void scitt_seq__pendset_add(scitt_seq__pendset_t *ps, const uint8_t entry[32])
{
    pthread_mutex_lock(&ps->lock);
    size_t i = find(ps, entry); /* never full: at most max_pending of 2 * max_pending slots are used */
    if (ps->slots[i].count == 0) {
        memcpy(ps->slots[i].entry, entry, 32);
    }
    ps->slots[i].count++;
    pthread_mutex_unlock(&ps->lock);
}

/* remove_one drops one count; an emptied slot is closed by shifting later
 * members of its probe run back (no tombstones, so lookups stay short). */
static void remove_one(scitt_seq__pendset_t *ps, const uint8_t entry[32])
{
    size_t i = find(ps, entry);
    if (ps->slots[i].count == 0 || --ps->slots[i].count != 0) {
        return;
    }
    size_t j = i;
    for (;;) {
        j = (j + 1) & ps->mask;
        if (ps->slots[j].count == 0) {
            break;
        }
        size_t k = home(ps, ps->slots[j].entry);
        /* Move j into the hole at i unless its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            ps->slots[i] = ps->slots[j];
            i = j;
        }
    }
    ps->slots[i].count = 0;
}

void scitt_seq__pendset_remove_jobs(scitt_seq__pendset_t *ps, scitt_seq__job_t *const *jobs, size_t num)
{
    pthread_mutex_lock(&ps->lock);
    for (size_t n = 0; n < num; n++) {
        if (jobs[n]->in_pending) {
            remove_one(ps, jobs[n]->entry);
            jobs[n]->in_pending = false;
        }
    }
    pthread_mutex_unlock(&ps->lock);
}

bool scitt_seq__pendset_has(scitt_seq__pendset_t *ps, const uint8_t entry[32])
{
    pthread_mutex_lock(&ps->lock);
    bool has = ps->slots[find(ps, entry)].count != 0;
    pthread_mutex_unlock(&ps->lock);
    return has;
}

/* ------------------------------------------------------------------------ */
/* Jobs and submission                                                      */

scitt_seq__job_t *scitt_seq__job_new(const uint8_t *body, size_t len, scitt_seq_done_cb done, void *ctx)
{
    if (len > SIZE_MAX - sizeof(scitt_seq__job_t) - 1) {
        return NULL;
    }
    scitt_seq__job_t *job = malloc(sizeof(*job) + len + 1);
    if (job == NULL) {
        return NULL;
    }
    memset(job, 0, sizeof(*job));
    job->done = done;
    job->ctx = ctx;
    job->len = len;
    job->cap = len + 1;
    if (len > 0) {
        memcpy(job->data, body, len);
    }
    return job;
}

void scitt_seq__job_keys(const scitt_seq_t *seq, scitt_seq__job_t *job, const scitt_cose_sign1_t *s)
{
    job->num_keys = 0;
    if (seq->bench_no_index) {
        return;
    }
    scitt_cose_fields_t f;
    scitt_cose_fields(s, &f);
    scitt_store_index_values_t v = {.iss = f.iss, .kid = f.key_id, .sub = f.sub, .artifact = f.artifact};
    job->num_keys = (uint8_t)scitt_store_index_keys(&v, job->keys);
}

/* release_pending gives back what reserve_pending took for a job that was
 * never made. */
static void release_pending(scitt_seq_t *seq, size_t bytes)
{
    atomic_fetch_sub_explicit(&seq->pending_bytes, bytes, memory_order_relaxed);
    atomic_fetch_sub_explicit(&seq->pending, 1, memory_order_relaxed);
}

void scitt_seq__pend(scitt_seq_t *seq, scitt_seq__job_t *job)
{
    if (!job->in_pending) {
        scitt_seq__pendset_add(&seq->pendset, job->entry);
        job->in_pending = true;
    }
}

void scitt_seq__unpend(scitt_seq_t *seq, scitt_seq__job_t *const *jobs, size_t num)
{
    size_t bytes = 0, counted = 0;
    for (size_t i = 0; i < num; i++) {
        if (!jobs[i]->from_queue) { /* rows a lease holder took are nobody's submissions */
            bytes += jobs[i]->cap;
            counted++;
        }
    }
    scitt_seq__pendset_remove_jobs(&seq->pendset, jobs, num);
    atomic_fetch_sub_explicit(&seq->pending_bytes, bytes, memory_order_relaxed);
    atomic_fetch_sub_explicit(&seq->pending, counted, memory_order_relaxed);
}

void scitt_seq__free_jobs(scitt_seq__job_t *const *jobs, size_t num)
{
    for (size_t i = 0; i < num; i++) {
        free(jobs[i]);
    }
}

/* reserve_pending takes one slot of max_pending and `bytes` (the job's
 * cap) of max_pending_bytes, or fails with SCITT_EFULL. One statement is let
 * in when nothing else is held, whatever its size. */
static int reserve_pending(scitt_seq_t *seq, size_t bytes)
{
    size_t n = atomic_fetch_add_explicit(&seq->pending, 1, memory_order_relaxed);
    size_t held = atomic_fetch_add_explicit(&seq->pending_bytes, bytes, memory_order_relaxed);
    if (n >= seq->max_pending || (held != 0 && bytes > seq->max_pending_bytes - held) ||
        held > seq->max_pending_bytes) {
        release_pending(seq, bytes);
        return SCITT_EFULL;
    }
    return 0;
}

int scitt_seq_submit(scitt_seq_t *seq, const uint8_t *body, size_t len, scitt_seq_done_cb done,
                     scitt_seq_verified_cb verified, void *ctx, scitt_seq_ticket_t *ticket)
{
    if (seq->policy == NULL) {
        return SCITT_EINVAL; /* started without a verify pool (tests, benchmarks) */
    }
    if (len > SIZE_MAX - sizeof(scitt_seq__job_t) - 1) {
        return SCITT_ETOOBIG;
    }
    int rc = reserve_pending(seq, len + 1);
    if (rc != 0) {
        return rc;
    }
    scitt_seq__job_t *job = scitt_seq__job_new(body, len, done, ctx);
    if (job == NULL) {
        release_pending(seq, len + 1);
        return SCITT_ENOMEM;
    }
    /* The body is decoded and hashed once, by the verify pool: the statement
     * is pending (GET /entries/{id} answers 204) from when the policy passed,
     * which is also the earliest a front end may promise it (202). */
    job->verified = verified;
    pthread_mutex_lock(&seq->vq_lock);
    if (seq->stopping) {
        pthread_mutex_unlock(&seq->vq_lock);
        scitt_seq__unpend(seq, &job, 1);
        scitt_seq__free_jobs(&job, 1);
        return SCITT_ESHUTDOWN;
    }
    scitt_seq__fifo_push(&seq->vq, job);
    if (ticket != NULL) {
        job->ticket = ticket;
        ticket->job = job;
    }
    atomic_store_explicit(&seq->vq_waiting, seq->vq.num, memory_order_relaxed);
    pthread_cond_signal(&seq->vq_cond);
    pthread_mutex_unlock(&seq->vq_lock);
    return 0;
}

bool scitt_seq_cancel(scitt_seq_t *seq, scitt_seq_ticket_t *ticket)
{
    pthread_mutex_lock(&seq->vq_lock);
    scitt_seq__job_t *job = ticket->job;
    if (job != NULL) {
        scitt_seq__fifo_unlink(&seq->vq, job);
        ticket->job = NULL;
        atomic_store_explicit(&seq->vq_waiting, seq->vq.num, memory_order_relaxed);
    }
    pthread_mutex_unlock(&seq->vq_lock);
    if (job == NULL) {
        return false;
    }
    scitt_seq__unpend(seq, &job, 1);
    scitt_seq__free_jobs(&job, 1);
    return true;
}

int scitt_seq__queue_verified(scitt_seq_t *seq, scitt_seq__job_t *job)
{
    pthread_mutex_lock(&seq->sq_lock);
    if (seq->sq_closed && seq->workers_alive == 0) {
        pthread_mutex_unlock(&seq->sq_lock);
        return SCITT_ESHUTDOWN;
    }
    scitt_seq__fifo_push(&seq->sq, job);
    /* A lingering sequencer wants a fuller batch, or to know that no more
     * statements wait for verification. */
    if (seq->sq.num >= seq->sq_wake_at || atomic_load_explicit(&seq->vq_waiting, memory_order_relaxed) == 0) {
        pthread_cond_signal(&seq->sq_cond);
    }
    pthread_mutex_unlock(&seq->sq_lock);
    return 0;
}

int scitt_seq__submit_entry(scitt_seq_t *seq, const uint8_t *stmt, size_t len, const uint8_t entry[32],
                            scitt_seq_done_cb done, void *ctx)
{
    if (len > SIZE_MAX - sizeof(scitt_seq__job_t) - 1) {
        return SCITT_ETOOBIG;
    }
    int rc = reserve_pending(seq, len + 1);
    if (rc != 0) {
        return rc;
    }
    scitt_seq__job_t *job = scitt_seq__job_new(stmt, len, done, ctx);
    if (job == NULL) {
        release_pending(seq, len + 1);
        return SCITT_ENOMEM;
    }
    memcpy(job->entry, entry, 32);
    scitt_cose_sign1_t s;
    if (scitt_cose_sign1_decode(&s, job->data, job->len, SIZE_MAX, NULL) == 0) {
        scitt_seq__job_keys(seq, job, &s);
    }
    pthread_mutex_lock(&seq->sq_lock);
    if (seq->sq_closed) {
        pthread_mutex_unlock(&seq->sq_lock);
        scitt_seq__unpend(seq, &job, 1);
        scitt_seq__free_jobs(&job, 1);
        return SCITT_ESHUTDOWN;
    }
    scitt_seq__pend(seq, job);
    scitt_seq__fifo_push(&seq->sq, job);
    /* A lingering sequencer wants a fuller batch, or to know that no more
     * statements wait for verification. */
    if (seq->sq.num >= seq->sq_wake_at || atomic_load_explicit(&seq->vq_waiting, memory_order_relaxed) == 0) {
        pthread_cond_signal(&seq->sq_cond);
    }
    pthread_mutex_unlock(&seq->sq_lock);
    return 0;
}

bool scitt_seq_is_pending(scitt_seq_t *seq, const uint8_t entry[SCITT_SHA256_LEN])
{
    return scitt_seq__pendset_has(&seq->pendset, entry);
}

/* ------------------------------------------------------------------------ */
/* The verify pool                                                          */

/* reject answers a job the policy refused, from this pool thread; `entry`
 * is the statement's entry id when it decoded, else NULL. */
static void reject(scitt_seq_t *seq, scitt_seq__job_t *job, int rc, const char *why, const uint8_t *entry)
{
    scitt_seq_result_t res = {.rc = rc, .err_desc = why, .has_entry = entry != NULL};
    if (entry != NULL) {
        memcpy(res.entry, entry, sizeof(res.entry));
    }
    scitt_seq__unpend(seq, &job, 1);
    job->done(job->ctx, &res);
    scitt_seq__free_jobs(&job, 1);
}

/* accept replaces the body by the normalised statement (it fits: see
 * scitt_seq__job_t.cap) and hands the job to the sequencer. */
static int accept(scitt_seq_t *seq, scitt_seq__job_t *job, const scitt_verified_t *v, scitt_buf_t *norm)
{
    scitt_buf_reset(norm);
    int rc = scitt_cose_normalise(&v->stmt, norm);
    if (rc != 0) {
        return rc;
    }
    if (norm->len > job->cap) {
        return SCITT_EINVAL; /* cannot happen: normalising adds at most the one-byte tag */
    }
    scitt_seq__job_keys(seq, job, &v->stmt); /* before the body, which v->stmt points into, is replaced */
    memcpy(job->data, norm->base, norm->len);
    job->len = norm->len;
    memcpy(job->entry, v->entry, sizeof(job->entry));
    if (seq->shared) {
        /* Pending and verified only once queued in the database (shared.c):
         * a promise is made only for what survives this process. */
        return scitt_seq__queue_verified(seq, job);
    }
    scitt_seq__pend(seq, job);
    if (job->verified != NULL) {
        /* Before the sequencer can see the job, so `done` comes after. */
        job->verified(job->ctx, job->entry);
    }
    /* Cannot fail: this pool thread is alive, so the sequencer's queue is
     * open; on failure the caller rejects anyway, which unpends. */
    return scitt_seq__queue_verified(seq, job);
}

void *scitt_seq__pool_main(void *arg)
{
    pthread_setname_np(pthread_self(), "verify"); /* top -H, /proc/PID/task/TID/comm */
    scitt_seq_t *seq = arg;
    scitt_buf_t scratch, norm;
    scitt_buf_init(&scratch, NULL, 0);
    scitt_buf_init(&norm, NULL, 0);
    for (;;) {
        pthread_mutex_lock(&seq->vq_lock);
        while (seq->vq.num == 0 && !seq->stopping) {
            pthread_cond_wait(&seq->vq_cond, &seq->vq_lock);
        }
        scitt_seq__job_t *job = scitt_seq__fifo_pop(&seq->vq);
        if (job != NULL && job->ticket != NULL) {
            job->ticket->job = NULL; /* taken: no longer cancellable */
            job->ticket = NULL;
        }
        atomic_store_explicit(&seq->vq_waiting, seq->vq.num, memory_order_relaxed);
        pthread_mutex_unlock(&seq->vq_lock);
        if (job == NULL) {
            break; /* stopping and drained */
        }
        scitt_verified_t v;
        const char *why = NULL;
        int rc = scitt_policy_check(seq->policy, job->data, job->len, (int64_t)time(NULL), &v, &scratch, &why);
        if (rc == 0) {
            rc = accept(seq, job, &v, &norm);
            if (rc != 0) {
                why = "the service could not queue the statement";
            }
        }
        if (rc != 0) {
            reject(seq, job, rc, why, v.decoded ? v.entry : NULL);
        }
    }
    scitt_buf_cleanup(&scratch);
    scitt_buf_cleanup(&norm);
    pthread_mutex_lock(&seq->sq_lock);
    if (--seq->workers_alive == 0) {
        pthread_cond_broadcast(&seq->sq_cond);
    }
    pthread_mutex_unlock(&seq->sq_lock);
    return NULL;
}
