/*
 * register.c: POST /entries through the pipeline (scitt/seq.h).
 *
 * A complete body is submitted with a reg as the callback context. The
 * pipeline answers on one of its threads: the callback copies the result
 * into the reg, queues it under `q_mutex` and wakes the loop with
 * uv_async_send (the only cross-thread touch). On the loop, a completion
 * whose stream still waits is answered 201 (or with the rejection).
 *
 * 202 is a promise, so it is given only for a statement that passed the
 * policy (issue 16 C): a stream still waiting at its deadline
 * (--register-wait-ms) is answered 202 with the Location the 201 would
 * carry if its statement was verified by then; otherwise it becomes
 * overdue and waits for whichever comes first, the verification (then 202)
 * or the rejection (then 4xx with its reason). `stage` settles the race
 * between the verify thread and the deadline: whoever moves it second
 * acts, and only an overdue reg's verification wakes the loop (`v_head`).
 * A completion that comes after a 202 is dropped.
 *
 * Waiting regs form a FIFO: every deadline is "submission + the same wait",
 * so the list is in deadline order and one timer armed for its head serves
 * them all. Overdue regs leave it.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "scitt/cose.h"

static void reg_unref(scitt_h2_reg_t *r)
{
    if (--r->refs == 0) {
        free(r->receipt);
        free(r);
    }
}

static void arm_timer(scitt_frontend_t *fe)
{
    if (scitt_h2__list_empty(&fe->waiting) || fe->handles_open == 0) {
        uv_timer_stop(&fe->reg_timer);
        return;
    }
    scitt_h2_reg_t *head = scitt_container_of(fe->waiting.next, scitt_h2_reg_t, wait_node);
    uint64_t now = uv_now(fe->loop);
    uv_timer_start(&fe->reg_timer, scitt_h2__reg_timer_cb, head->deadline > now ? head->deadline - now : 0, 0);
}

/* Runs on a verify thread: record the entry; wake the loop only for a reg
 * whose deadline already passed (the timer looks at the others). */
static void on_verified(void *ctx, const uint8_t entry[32])
{
    scitt_h2_reg_t *r = ctx;
    memcpy(r->verified_entry, entry, sizeof(r->verified_entry));
    if (atomic_exchange(&r->stage, SCITT_H2_REG_VERIFIED) != SCITT_H2_REG_OVERDUE) {
        return;
    }
    scitt_frontend_t *fe = r->fe;
    uv_mutex_lock(&fe->q_mutex);
    r->v_next = fe->v_head;
    fe->v_head = r;
    uv_mutex_unlock(&fe->q_mutex);
    uv_async_send(&fe->async);
}

/* Runs on a pipeline thread: copy, queue, wake the loop. Nothing else. */
static void on_done(void *ctx, const scitt_seq_result_t *res)
{
    scitt_h2_reg_t *r = ctx;
    r->rc = res->rc;
    r->err_desc = res->err_desc;
    r->has_entry = res->has_entry;
    r->existing = res->existing;
    memcpy(r->entry, res->entry, sizeof(r->entry));
    if (res->rc == 0 && res->receipt.len > 0) {
        r->receipt = malloc(res->receipt.len);
        if (r->receipt == NULL) {
            r->rc = SCITT_ENOMEM;
            r->err_desc = "out of memory copying the receipt; GET the entry later";
        } else {
            memcpy(r->receipt, res->receipt.base, res->receipt.len);
            r->receipt_len = res->receipt.len;
        }
    }
    scitt_frontend_t *fe = r->fe;
    uv_mutex_lock(&fe->q_mutex);
    r->q_next = NULL;
    if (fe->q_tail != NULL) {
        fe->q_tail->q_next = r;
    } else {
        fe->q_head = r;
    }
    fe->q_tail = r;
    uv_mutex_unlock(&fe->q_mutex);
    uv_async_send(&fe->async);
}

static void location(char out[80], const uint8_t entry[32])
{
    memcpy(out, "/entries/", 9);
    scitt_hex_encode(out + 9, entry, 32);
}

/* stop_waiting unlinks the stream and the reg (the stream's reference). */
static scitt_h2_stream_t *stop_waiting(scitt_h2_reg_t *r)
{
    scitt_h2_stream_t *s = r->stream;
    scitt_h2__list_remove(&r->wait_node);
    r->stream = NULL;
    s->reg = NULL;
    s->conn->num_waiting--;
    r->fe->num_waiting_regs--;
    reg_unref(r);
    return s;
}

/* pipeline_done drops the pipeline's reference to `r` (its completion was
 * processed, or its statement was taken back) and its address's share. */
static void pipeline_done(scitt_h2_reg_t *r)
{
    if (r->has_peer) {
        scitt_h2__peer_sub(r->fe, r->peer, SCITT_H2_PEER_REGS);
    }
    reg_unref(r);
}

void scitt_h2__reg_detach(scitt_h2_reg_t *r)
{
    /* The stream closed unanswered (reset, or its connection went): a
     * statement still waiting for verification leaves the queue now, so
     * reset POSTs cannot keep it full. */
    bool taken_back = scitt_seq_cancel(r->fe->cfg.seq, &r->ticket);
    stop_waiting(r);
    if (taken_back) {
        pipeline_done(r);
    }
}

static void answer(scitt_h2_reg_t *r)
{
    scitt_h2_stream_t *s = r->stream;
    scitt_frontend_t *fe = r->fe;
    scitt_h2__hist_observe(&fe->metrics.e2e_seconds, (double)(uv_hrtime() - r->t0_ns) / 1e9);
    if (r->rc == 0) {
        char loc[80];
        location(loc, r->entry);
        scitt_h2_hdr_t h = {"location", loc};
        const char *type = scitt_h2__accepts(s, "application/scitt-receipt+cose") ? "application/scitt-receipt+cose"
                                                                                  : "application/cose";
        fe->metrics.registrations[r->existing ? SCITT_H2_REG_DUPLICATE : SCITT_H2_REG_CREATED]++;
        scitt_h2__respond_bytes(s, 201, type, r->receipt, r->receipt_len, &h, 1);
        return;
    }
    if (r->rc == SCITT_EAGAIN && r->has_entry) {
        /* Queued in a shared store and not logged when the pipeline
         * stopped: promised, another process logs it (seq.h). */
        char loc[80];
        location(loc, r->entry);
        scitt_h2_hdr_t h[] = {{"location", loc}, {"retry-after", "1"}};
        fe->metrics.registrations[SCITT_H2_REG_ACCEPTED]++;
        scitt_h2__respond(s, 202, NULL, NULL, h, 2);
        return;
    }
    if (r->rc == SCITT_EFULL || r->rc == SCITT_ESHUTDOWN) {
        scitt_h2_hdr_t h = {"retry-after", "1"};
        fe->metrics.registrations[SCITT_H2_REG_FULL]++;
        scitt_h2__respond_problem(s, 503, "Service Unavailable", scitt_strerror(r->rc), &h, 1);
        return;
    }
    int status;
    const char *title;
    scitt_cose_problem_for(r->rc, &status, &title);
    fe->metrics.registrations[status >= 500 ? SCITT_H2_REG_ERROR : SCITT_H2_REG_REJECTED]++;
    const char *detail = r->err_desc != NULL ? r->err_desc : scitt_strerror(r->rc);
    if (status >= 500) {
        /* The statement was fine; the service failed (full disk, I/O, memory).
         * Nothing was logged, so a retry later is the right move (SCRAPI 5.2). */
        scitt_h2_hdr_t h = {"retry-after", "5"};
        scitt_h2__respond_problem(s, 503, "Service Unavailable", detail, &h, 1);
        return;
    }
    scitt_h2__respond_problem(s, status, title, detail, NULL, 0);
}

/* accepted answers 202 for a verified statement still registering. */
static void accepted(scitt_h2_reg_t *r)
{
    char loc[80];
    location(loc, r->verified_entry);
    scitt_h2_hdr_t h[] = {{"location", loc}, {"retry-after", "1"}};
    r->fe->metrics.registrations[SCITT_H2_REG_ACCEPTED]++;
    scitt_h2__respond(r->stream, 202, NULL, NULL, h, 2);
    scitt_h2_stream_t *s = stop_waiting(r);
    scitt_h2__conn_flush(s->conn);
}

void scitt_h2__reg_drain(scitt_frontend_t *fe)
{
    uv_mutex_lock(&fe->q_mutex);
    scitt_h2_reg_t *done = fe->q_head, *verified = fe->v_head;
    fe->q_head = fe->q_tail = NULL;
    fe->v_head = NULL;
    uv_mutex_unlock(&fe->q_mutex);
    if (done != NULL) {
        scitt_h2__metrics_sample(fe);
    }
    /* Completions first: a reg verified and completed since the last drain
     * gets its 201. Every reg on `verified` is alive: its verification was
     * queued before its completion, and the completion's reference is
     * dropped only below. */
    for (scitt_h2_reg_t *r = done; r != NULL; r = r->q_next) {
        if (r->stream != NULL) {
            answer(r);
            scitt_h2_stream_t *s = stop_waiting(r);
            scitt_h2__conn_flush(s->conn);
        }
    }
    for (scitt_h2_reg_t *r = verified; r != NULL; r = r->v_next) {
        if (r->stream != NULL) {
            accepted(r);
        }
    }
    while (done != NULL) {
        scitt_h2_reg_t *next = done->q_next;
        pipeline_done(done); /* the pipeline's reference */
        done = next;
    }
    arm_timer(fe);
}

void scitt_h2__async_cb(uv_async_t *a)
{
    scitt_h2__reg_drain(scitt_container_of(a, scitt_frontend_t, async));
}

void scitt_h2__reg_timer_cb(uv_timer_t *t)
{
    scitt_frontend_t *fe = scitt_container_of(t, scitt_frontend_t, reg_timer);
    uint64_t now = uv_now(fe->loop);
    while (!scitt_h2__list_empty(&fe->waiting)) {
        scitt_h2_reg_t *r = scitt_container_of(fe->waiting.next, scitt_h2_reg_t, wait_node);
        if (r->deadline > now) {
            break;
        }
        int stage = SCITT_H2_REG_WAITING;
        if (atomic_compare_exchange_strong(&r->stage, &stage, SCITT_H2_REG_OVERDUE)) {
            /* Not verified yet: on_verified or the completion answers it. */
            scitt_h2__list_remove(&r->wait_node);
            continue;
        }
        accepted(r); /* verified, still registering */
    }
    arm_timer(fe);
}

void scitt_h2__register(scitt_h2_stream_t *s)
{
    scitt_frontend_t *fe = s->conn->fe;
    scitt_h2_hdr_t ra = {"retry-after", "1"};
    if (fe->cfg.seq == NULL || fe->draining) {
        fe->metrics.registrations[SCITT_H2_REG_FULL]++;
        scitt_h2__respond_problem(s, 503, "Service Unavailable", "the service is shutting down", &ra, 1);
        return;
    }
    if (s->body.len == 0) {
        fe->metrics.registrations[SCITT_H2_REG_REJECTED]++;
        scitt_h2__respond_problem(s, 400, "Malformed request", "the request body is empty", NULL, 0);
        return;
    }
    scitt_h2_reg_t *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        scitt_h2__respond_problem(s, 500, "Internal Server Error", "out of memory", NULL, 0);
        return;
    }
    r->fe = fe;
    r->t0_ns = uv_hrtime();
    r->deadline = uv_now(fe->loop) + fe->cfg.register_wait_ms;
    r->refs = 2; /* the stream's and the pipeline's */
    r->stream = s;
    /* One client address gets a bounded share of the pipeline (its
     * registrations count until their completion is processed here). */
    if (s->conn->has_peer) {
        int prc = scitt_h2__peer_add(fe, s->conn->peer, SCITT_H2_PEER_REGS, fe->cfg.max_pending_per_address);
        if (prc != 0) {
            free(r);
            bool full = prc == SCITT_EFULL;
            fe->metrics.registrations[full ? SCITT_H2_REG_FULL : SCITT_H2_REG_ERROR]++;
            scitt_h2__respond_problem(s, 503, "Service Unavailable",
                                      full ? "too many registrations from this address in progress; retry later"
                                           : scitt_strerror(prc),
                                      &ra, 1);
            return;
        }
        r->has_peer = true;
        memcpy(r->peer, s->conn->peer, sizeof(r->peer));
    }
    atomic_init(&r->stage, SCITT_H2_REG_WAITING);
    int rc = scitt_seq_submit(fe->cfg.seq, s->body.base, s->body.len, on_done, on_verified, r, &r->ticket);
    if (rc != 0) {
        if (r->has_peer) {
            scitt_h2__peer_sub(fe, r->peer, SCITT_H2_PEER_REGS);
        }
        free(r);
        if (rc == SCITT_EFULL || rc == SCITT_ESHUTDOWN) {
            fe->metrics.registrations[SCITT_H2_REG_FULL]++;
            scitt_h2__respond_problem(s, 503, "Service Unavailable",
                                      rc == SCITT_EFULL ? "the registration queue is full; retry later"
                                                        : "the service is shutting down",
                                      &ra, 1);
        } else {
            /* Out of memory (or another failure) is not a full queue: it is
             * counted and named as itself. */
            fe->metrics.registrations[SCITT_H2_REG_ERROR]++;
            scitt_h2_hdr_t later = {"retry-after", "5"};
            scitt_h2__respond_problem(s, 503, "Service Unavailable", scitt_strerror(rc), &later, 1);
        }
        return;
    }
    s->reg = r;
    s->conn->num_waiting++;
    fe->num_waiting_regs++;
    scitt_h2__list_push(&fe->waiting, &r->wait_node);
    if (fe->waiting.next == &r->wait_node) {
        arm_timer(fe);
    }
}
