/*
 * pool.c: the reader pool, K threads that run store reads for the io loop
 * (issue 17): with an engine whose reads are round trips (PostgreSQL), the
 * loop never waits on one; every such read is a job here. Each thread
 * keeps what the engine ties to a thread (a database connection) for its
 * life. It replaces libuv's threadpool for reads, which also runs
 * scitt_seq_stop at shutdown.
 *
 * One FIFO under one mutex; the threads start on the first submit (a
 * reader that never queues a job, e.g. one the sequencer makes for
 * itself, starts none). The queue is not bounded here: its callers bound
 * what they submit and answer 503 past it. A job's `done` runs on the pool
 * thread right after `run`; the front end's then hands the answer to its
 * loop.
 */
#include <stdlib.h>

#include "internal.h"

int scitt_log__pool_init(scitt_log__pool_t *p, unsigned threads)
{
    p->head = p->tail = NULL;
    p->queued = 0;
    p->num_threads = 0;
    p->want_threads = threads;
    p->stopping = false;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->threads = calloc(threads, sizeof(*p->threads));
    return p->threads == NULL ? SCITT_ENOMEM : 0;
}

/* unlink_job takes `j` out of the queue; the caller holds the lock. */
static void unlink_job(scitt_log__pool_t *p, scitt_log_job_t *j)
{
    if (j->prev != NULL) {
        j->prev->next = j->next;
    } else {
        p->head = j->next;
    }
    if (j->next != NULL) {
        j->next->prev = j->prev;
    } else {
        p->tail = j->prev;
    }
    j->next = j->prev = NULL;
    p->queued--;
}

static void *pool_main(void *arg)
{
    pthread_setname_np(pthread_self(), "log-reader");
    scitt_log__pool_t *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->head == NULL && !p->stopping) {
            pthread_cond_wait(&p->cond, &p->lock);
        }
        scitt_log_job_t *j = p->head;
        if (j == NULL) {
            break; /* stopping and drained */
        }
        unlink_job(p, j);
        pthread_mutex_unlock(&p->lock);
        j->run(j);
        j->done(j, 0); /* the job is its owner's again */
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

void scitt_log__pool_cleanup(scitt_log__pool_t *p)
{
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->num_threads; i++) {
        pthread_join(p->threads[i], NULL);
    }
    free(p->threads);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
}

int scitt_log_submit(scitt_log_reader_t *r, scitt_log_job_t *j)
{
    scitt_log__pool_t *p = &r->pool;
    int rc = 0;
    pthread_mutex_lock(&p->lock);
    if (p->stopping) {
        rc = SCITT_ESHUTDOWN;
    }
    /* Start the threads on first use; one that would not start leaves
     * the others running, and none at all refuses the job. */
    while (rc == 0 && p->num_threads < p->want_threads) {
        int err = pthread_create(&p->threads[p->num_threads], NULL, pool_main, p);
        if (err != 0) {
            p->want_threads = p->num_threads;
            rc = p->num_threads == 0 ? -err : 0;
            break;
        }
        p->num_threads++;
    }
    if (rc == 0) {
        j->next = NULL;
        j->prev = p->tail;
        if (p->tail != NULL) {
            p->tail->next = j;
        } else {
            p->head = j;
        }
        p->tail = j;
        p->queued++;
        pthread_cond_signal(&p->cond);
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

bool scitt_log_cancel(scitt_log_reader_t *r, scitt_log_job_t *j)
{
    scitt_log__pool_t *p = &r->pool;
    pthread_mutex_lock(&p->lock);
    /* Queued: linked (or alone at the head). Taken: unlinked by a thread. */
    bool queued = j->prev != NULL || p->head == j;
    if (queued) {
        unlink_job(p, j);
    }
    pthread_mutex_unlock(&p->lock);
    if (queued) {
        j->done(j, SCITT_ESHUTDOWN);
    }
    return queued;
}
