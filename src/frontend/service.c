/*
 * service.c: requests for a service other than a log (cfg.service, issue
 * 21's `scitt witness`). Each complete request becomes a job on libuv's
 * pool (job.c) that owns copies of what the handler reads, so a stream
 * that closes meanwhile leaves nothing dangling; the reply is sent on the
 * loop if the stream is still open.
 */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

typedef struct service_job {
    scitt_h2_job_t super;
    char method[8];
    char path[1024];
    scitt_buf_t request; /* the POST body, taken from the stream */
    scitt_frontend_reply_t reply;
} service_job_t;

static void run_service(scitt_h2_job_t *job)
{
    service_job_t *j = scitt_container_of(job, service_job_t, super);
    const scitt_frontend_service_t *svc = job->fe->cfg.service;
    svc->handle(svc->ctx, j->method, j->path, scitt_buf_span(&j->request), &j->reply);
}

static void answer_service(scitt_h2_job_t *job, scitt_h2_stream_t *s, int rc)
{
    service_job_t *j = scitt_container_of(job, service_job_t, super);
    scitt_frontend_reply_t *r = &j->reply;
    if (rc != 0) {
        scitt_h2__respond_busy(s);
    } else if (r->status >= 400 && r->body.len == 0) {
        scitt_h2__respond_problem(s, r->status, r->title != NULL ? r->title : "Error", r->detail, NULL, 0);
    } else {
        scitt_h2__respond(s, r->status, r->content_type, &r->body, NULL, 0);
    }
}

static void cleanup_service(scitt_h2_job_t *job)
{
    service_job_t *j = scitt_container_of(job, service_job_t, super);
    scitt_buf_cleanup(&j->reply.body);
    scitt_buf_cleanup(&j->request);
}

bool scitt_h2__service_early(scitt_h2_stream_t *s)
{
    if (s->content_length >= 0 && (uint64_t)s->content_length > s->conn->fe->cfg.max_statement_bytes) {
        scitt_h2__respond_problem(s, 413, "Content Too Large", "the request body is too large", NULL, 0);
        return true;
    }
    return false;
}

void scitt_h2__service(scitt_h2_stream_t *s)
{
    scitt_frontend_t *fe = s->conn->fe;
    service_job_t *j = scitt_h2__job_new(sizeof(*j), run_service, answer_service);
    if (j == NULL) {
        scitt_h2__respond_problem(s, 500, "Internal Server Error", "out of memory", NULL, 0);
        return;
    }
    snprintf(j->method, sizeof(j->method), "%s", s->method);
    snprintf(j->path, sizeof(j->path), "%s", s->path);
    /* The job takes the body; it no longer counts in the upload budget. */
    j->request = s->body;
    fe->body_bytes -= s->body.len;
    scitt_buf_init(&s->body, NULL, fe->cfg.max_statement_bytes);
    scitt_buf_init(&j->reply.body, NULL, 0);
    j->reply.status = 500;
    j->reply.title = "Internal Server Error";
    j->super.cleanup = cleanup_service;
    if (scitt_h2__job_start(s, &j->super) != 0) {
        scitt_buf_cleanup(&j->request);
        free(j);
        scitt_h2__respond_busy(s);
    }
}
