/*
 * job.c: GETs offloaded to libuv's pool (entry bundles, audit queries).
 * The job runs on a pool thread with no access to the stream; its answer
 * runs on the loop from the after-work callback, and only if the stream is
 * still open (a stream that closes first detaches itself, see internal.h).
 */
#include <stdlib.h>

#include "internal.h"

static void work_cb(uv_work_t *w)
{
    scitt_h2_job_t *j = scitt_container_of(w, scitt_h2_job_t, work);
    j->run(j);
}

static void after_cb(uv_work_t *w, int status)
{
    scitt_h2_job_t *j = scitt_container_of(w, scitt_h2_job_t, work);
    scitt_frontend_t *fe = j->fe;
    scitt_h2_stream_t *s = j->stream;
    fe->num_jobs--;
    if (s != NULL) {
        s->job = NULL;
        s->conn->num_waiting--;
        j->answer(j, s, status != 0 ? SCITT_ESHUTDOWN : j->rc);
        scitt_h2__conn_flush(s->conn);
    }
    scitt_buf_cleanup(&j->body);
    free(j);
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
    scitt_buf_init(&j->body, NULL, 0);
    int rc = uv_queue_work(fe->loop, &j->work, work_cb, after_cb);
    if (rc != 0) {
        return rc;
    }
    s->job = j;
    s->conn->num_waiting++;
    fe->num_jobs++;
    return 0;
}

void scitt_h2__job_detach(scitt_h2_job_t *j)
{
    j->stream->conn->num_waiting--;
    j->stream = NULL;
    /* Not started yet: drop it (after_cb runs with UV_ECANCELED and frees
     * it), so streams opened and reset cannot pile up work. */
    uv_cancel((uv_req_t *)&j->work);
}

void scitt_h2__respond_busy(scitt_h2_stream_t *s)
{
    scitt_h2_hdr_t h = {"retry-after", "1"};
    scitt_h2__respond_problem(s, 503, "Service Unavailable", "too many queries in progress; try again", &h, 1);
}
