/*
 * job.c: GETs offloaded to the log reader's pool (scitt/log.h): entry
 * bundles and audit pages always, and with a store whose reads are round
 * trips (PostgreSQL) every store read the loop cannot answer from memory.
 * The job runs on a pool thread with no access to the stream; when it is
 * done, the pool thread queues it on the front end's list and wakes the
 * loop (uv_async_send under the list's mutex, so the loop cannot finish
 * the job, and close the async handle at shutdown, before the send
 * returned). On the loop its answer runs only if the stream is still open
 * (a stream that closes first detaches itself, see internal.h).
 *
 * At most SCITT_H2_MAX_JOBS are queued or running at once; past that a
 * GET answers 503 + Retry-After.
 */
#include <stdlib.h>

#include "internal.h"

static void task_run(scitt_log_job_t *t)
{
    scitt_h2_job_t *j = scitt_container_of(t, scitt_h2_job_t, task);
    j->run(j);
}

/* task_done runs on the pool thread after `run`, or on the loop when the
 * job was cancelled before it ran. */
static void task_done(scitt_log_job_t *t, int status)
{
    scitt_h2_job_t *j = scitt_container_of(t, scitt_h2_job_t, task);
    scitt_frontend_t *fe = j->fe;
    j->status = status;
    j->q_next = NULL;
    uv_mutex_lock(&fe->j_mutex);
    if (fe->j_tail != NULL) {
        fe->j_tail->q_next = j;
    } else {
        fe->j_head = j;
    }
    fe->j_tail = j;
    uv_async_send(&fe->job_async);
    uv_mutex_unlock(&fe->j_mutex);
}

static void finish(scitt_h2_job_t *j)
{
    scitt_frontend_t *fe = j->fe;
    scitt_h2_stream_t *s = j->stream;
    fe->num_jobs--;
    atomic_fetch_sub_explicit(&fe->job_bytes, j->reserved, memory_order_relaxed);
    if (s != NULL) {
        s->job = NULL;
        s->conn->num_waiting--;
        j->answer(j, s, j->status != 0 ? SCITT_ESHUTDOWN : j->rc);
        scitt_h2__conn_flush(s->conn);
    }
    if (j->cleanup != NULL) {
        j->cleanup(j);
    }
    scitt_buf_cleanup(&j->body);
    free(j);
}

/* Without a log reader (a service, see service.c) jobs run on libuv's
 * pool, and their completion already comes back on the loop. */
static void work_run(uv_work_t *w)
{
    scitt_h2_job_t *j = scitt_container_of(w, scitt_h2_job_t, work);
    j->run(j);
}

static void work_done(uv_work_t *w, int status)
{
    scitt_h2_job_t *j = scitt_container_of(w, scitt_h2_job_t, work);
    scitt_frontend_t *fe = j->fe;
    j->status = status == 0 ? 0 : SCITT_ESHUTDOWN;
    finish(j);
    scitt_h2__maybe_finish(fe);
}

void scitt_h2__job_async_cb(uv_async_t *a)
{
    scitt_frontend_t *fe = scitt_container_of(a, scitt_frontend_t, job_async);
    uv_mutex_lock(&fe->j_mutex);
    scitt_h2_job_t *j = fe->j_head;
    fe->j_head = fe->j_tail = NULL;
    uv_mutex_unlock(&fe->j_mutex);
    while (j != NULL) {
        scitt_h2_job_t *next = j->q_next;
        finish(j);
        j = next;
    }
    scitt_h2__maybe_finish(fe);
}

int scitt_h2__job_start(scitt_h2_stream_t *s, scitt_h2_job_t *j)
{
    scitt_frontend_t *fe = s->conn->fe;
    if (fe->num_jobs >= SCITT_H2_MAX_JOBS) {
        return SCITT_EFULL;
    }
    j->fe = fe;
    j->stream = s;
    j->task.run = task_run;
    j->task.done = task_done;
    scitt_buf_init(&j->body, NULL, 0);
    int rc =
        fe->log != NULL ? scitt_log_submit(fe->log, &j->task) : uv_queue_work(fe->loop, &j->work, work_run, work_done);
    if (rc != 0) {
        return rc;
    }
    s->job = j;
    s->conn->num_waiting++;
    fe->num_jobs++;
    return 0;
}

void *scitt_h2__job_new(size_t size, void (*run)(scitt_h2_job_t *j),
                        void (*answer)(scitt_h2_job_t *j, scitt_h2_stream_t *s, int rc))
{
    scitt_h2_job_t *j = calloc(1, size);
    if (j != NULL) {
        j->run = run;
        j->answer = answer;
    }
    return j;
}

void scitt_h2__job_submit(scitt_h2_stream_t *s, scitt_h2_job_t *j)
{
    if (scitt_h2__job_start(s, j) != 0) {
        free(j);
        scitt_h2__respond_busy(s);
    }
}

void scitt_h2__job_detach(scitt_h2_job_t *j)
{
    j->stream->conn->num_waiting--;
    j->stream = NULL;
    /* Not started yet: drop it (its completion comes back at once and
     * frees it), so streams opened and reset cannot pile up work. */
    if (j->fe->log != NULL) {
        (void)scitt_log_cancel(j->fe->log, &j->task);
    } else {
        (void)uv_cancel((uv_req_t *)&j->work);
    }
}

void scitt_h2__respond_busy(scitt_h2_stream_t *s)
{
    scitt_h2_hdr_t h = {"retry-after", "1"};
    scitt_h2__respond_problem(s, 503, "Service Unavailable", "too many queries in progress; try again", &h, 1);
}
