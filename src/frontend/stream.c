/*
 * stream.c: one HTTP/2 request and its response.
 *
 * A stream collects the few request headers routing needs (bounded copies),
 * the request body up to --max-statement-bytes (counted against the global
 * body budget), and owns its response body, which nghttp2 pulls through
 * read_body until it is sent. Oversized or unwanted bodies are answered
 * early and then read and dropped, never reset: curl (7.88) discards a
 * response whose stream it sees reset (DESIGN.md section 1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "internal.h"
#include "scitt/cose.h"

/* Freed streams (1.5 KiB each) are kept for the next ones, up to this
 * many: a request then costs no allocation of its own. */
#define STREAM_SPARES 1024

scitt_h2_stream_t *scitt_h2__stream_new(scitt_h2_conn_t *c, int32_t id)
{
    scitt_frontend_t *fe = c->fe;
    scitt_h2_stream_t *s;
    if (!scitt_h2__list_empty(&fe->spare_streams)) {
        s = scitt_container_of(fe->spare_streams.next, scitt_h2_stream_t, node);
        scitt_h2__list_remove(&s->node);
        fe->num_spare_streams--;
        memset(s, 0, sizeof(*s));
    } else if ((s = calloc(1, sizeof(*s))) == NULL) {
        return NULL;
    }
    c->fe->num_streams++;
    c->fe->metrics.requests[c->proto]++;
    s->conn = c;
    s->id = id;
    s->content_length = -1;
    s->deadline = uv_now(c->fe->loop) + c->fe->cfg.request_timeout_ms;
    scitt_buf_init(&s->body, NULL, c->fe->cfg.max_statement_bytes);
    scitt_buf_init(&s->resp, NULL, 0);
    scitt_buf_init(&s->head, NULL, 0);
    scitt_h2__list_push(&c->streams, &s->node);
    return s;
}

static void drop_body(scitt_h2_stream_t *s)
{
    s->conn->fe->body_bytes -= s->body.len;
    scitt_buf_cleanup(&s->body);
    scitt_buf_init(&s->body, NULL, s->conn->fe->cfg.max_statement_bytes);
}

void scitt_h2__stream_free(scitt_h2_stream_t *s)
{
    if (s->reg != NULL) {
        scitt_h2__reg_detach(s->reg);
    }
    if (s->job != NULL) {
        scitt_h2__job_detach(s->job);
    }
    drop_body(s);
    scitt_buf_cleanup(&s->body);
    scitt_buf_cleanup(&s->head);
    scitt_h2__conn_queued(s->conn, s->resp.len, false);
    if (!scitt_h2__conn_keep_body(s->conn, &s->resp)) {
        scitt_h2__body_release(s->conn->fe, &s->resp);
    }
    scitt_h2__list_remove(&s->node);
    scitt_frontend_t *fe = s->conn->fe;
    fe->num_streams--;
    if (fe->num_spare_streams < STREAM_SPARES) {
        scitt_h2__list_push(&fe->spare_streams, &s->node);
        fe->num_spare_streams++;
    } else {
        free(s);
    }
}

void scitt_h2__body_release(scitt_frontend_t *fe, scitt_buf_t *b)
{
    if (b->cap == SCITT_H2_SPARE_BODY && b->mem == scitt_mem_default() &&
        fe->num_spare_bodies < SCITT_H2_SPARE_BODIES) {
        fe->spare_bodies[fe->num_spare_bodies++] = b->base;
        scitt_buf_init(b, NULL, 0);
        return;
    }
    scitt_buf_cleanup(b);
}

void scitt_h2__stream_spares_free(scitt_frontend_t *fe)
{
    while (fe->num_spare_bodies > 0) {
        free(fe->spare_bodies[--fe->num_spare_bodies]);
    }
    while (!scitt_h2__list_empty(&fe->spare_streams)) {
        scitt_h2_stream_t *s = scitt_container_of(fe->spare_streams.next, scitt_h2_stream_t, node);
        scitt_h2__list_remove(&s->node);
        free(s);
    }
    fe->num_spare_streams = 0;
}

/* copy_field keeps a bounded copy of a header value; too long is too big. */
static bool copy_field(char *dst, size_t cap, const uint8_t *v, size_t len)
{
    if (len >= cap) {
        return false;
    }
    memcpy(dst, v, len);
    dst[len] = '\0';
    return true;
}

static bool name_is(const uint8_t *name, size_t len, const char *lit)
{
    return strlen(lit) == len && memcmp(name, lit, len) == 0;
}

int scitt_h2__stream_header(scitt_h2_stream_t *s, const uint8_t *name, size_t name_len, const uint8_t *value,
                            size_t value_len)
{
    /* RFC 9113 section 6.5.2 counts 32 bytes of overhead per field. */
    scitt_h2_conn_t *c = s->conn;
    size_t max = c->fe->cfg.max_header_bytes;
    s->header_bytes += name_len + value_len + 32;
    if (s->header_bytes > max) {
        /* A connection that keeps sending header lists over the limit is
         * closed (GOAWAY ENHANCE_YOUR_CALM). */
        if (!s->headers_too_big && ++c->header_strikes >= SCITT_H2_HEADER_STRIKES && c->session != NULL) {
            nghttp2_session_terminate_session(c->session, NGHTTP2_ENHANCE_YOUR_CALM);
        }
        s->headers_too_big = true;
        /* Slightly over: answered 431 once the block is done. Far over (an
         * HPACK bomb: one table entry referenced 100k times): stop here, so
         * nghttp2 resets the stream and skips the rest of the block without
         * checking each field. */
        return s->header_bytes > SCITT_H2_HEADER_HARD_FACTOR * max ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE : 0;
    }
    if (value == NULL) {
        return 0; /* a trailer */
    }
    /* nghttp2 has validated the pseudo-headers and lower-cased names. */
    if (name_is(name, name_len, ":method")) {
        if (!copy_field(s->method, sizeof(s->method), value, value_len)) {
            copy_field(s->method, sizeof(s->method), (const uint8_t *)"OTHER", 5);
        }
    } else if (name_is(name, name_len, ":path")) {
        if (!copy_field(s->path, sizeof(s->path), value, value_len)) {
            s->path_too_long = true;
        }
    } else if (name_is(name, name_len, "content-type")) {
        copy_field(s->content_type, sizeof(s->content_type), value, value_len);
    } else if (name_is(name, name_len, "accept")) {
        copy_field(s->accept, sizeof(s->accept), value, value_len);
    } else if (name_is(name, name_len, "authorization") && c->fe->cfg.tokens != NULL) {
        /* Judged here and never kept: no secret outlives its header field. */
        s->bearer = scitt_auth_bearer(c->fe->cfg.tokens, (const char *)value, value_len);
    } else if (name_is(name, name_len, "content-length")) {
        uint64_t n;
        if (scitt_parse_u64((const char *)value, value_len, &n) == 0 && n <= INT64_MAX) {
            s->content_length = (int64_t)n;
        }
    }
    return 0;
}

void scitt_h2__stream_headers_done(scitt_h2_stream_t *s)
{
    if (s->headers_too_big) {
        scitt_h2__respond_problem(s, 431, "Request Header Fields Too Large",
                                  "the request header list exceeds the server's limit", NULL, 0);
        s->discard_body = true;
        return;
    }
    if (!s->request_done && scitt_h2__route_early(s)) {
        s->discard_body = true;
    }
}

int scitt_h2__stream_data(scitt_h2_stream_t *s, const uint8_t *data, size_t len)
{
    scitt_frontend_t *fe = s->conn->fe;
    if (s->discard_body || s->responded) {
        return 0;
    }
    if (strcmp(s->method, "POST") != 0) {
        return 0; /* bodies of other methods are read and ignored */
    }
    if (fe->body_bytes + len > SCITT_H2_BODY_BUDGET) {
        drop_body(s);
        s->discard_body = true;
        fe->metrics.registrations[SCITT_H2_REG_FULL]++;
        scitt_h2_hdr_t ra = {"retry-after", "1"};
        scitt_h2__respond_problem(s, 503, "Service Unavailable", "too many uploads in progress; retry later", &ra, 1);
        return 0;
    }
    int rc = scitt_buf_append(&s->body, data, len);
    if (rc == SCITT_ETOOBIG) {
        drop_body(s);
        s->discard_body = true;
        fe->metrics.registrations[SCITT_H2_REG_TOO_LARGE]++;
        scitt_h2__respond_problem(s, 413, "Content Too Large", "the statement exceeds --max-statement-bytes", NULL, 0);
        return 0;
    }
    if (rc != 0) {
        return NGHTTP2_ERR_CALLBACK_FAILURE; /* out of memory: drop the connection */
    }
    fe->body_bytes += len;
    return 0;
}

void scitt_h2__stream_request_done(scitt_h2_stream_t *s)
{
    s->request_done = true;
    if (s->responded || s->discard_body) {
        return;
    }
    scitt_h2__route(s);
}

/* -- responses ---------------------------------------------------------- */

static ssize_t read_body(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length, uint32_t *data_flags,
                         nghttp2_data_source *source, void *user_data)
{
    (void)session;
    (void)stream_id;
    (void)user_data;
    (void)buf;
    scitt_h2_stream_t *s = source->ptr;
    size_t left = s->resp.len - s->resp_off;
    size_t n = left < length ? left : length;
    /* No copy into nghttp2's frame buffer: session.c's send_data writes
     * the frame from `resp` (scitt_h2__stream_take_data), which the stream
     * owns until it closes. */
    *data_flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (n == left) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    return (ssize_t)n;
}

const uint8_t *scitt_h2__stream_take_data(scitt_h2_stream_t *s, size_t len)
{
    const uint8_t *p = s->resp.base + s->resp_off;
    s->resp_off += len;
    return p;
}

const char *scitt_h2__date(scitt_frontend_t *fe)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t now = time(NULL);
    struct tm tm;
    if ((int64_t)now != fe->date_sec && gmtime_r(&now, &tm) != NULL) {
        fe->date_sec = (int64_t)now;
        snprintf(fe->date, sizeof(fe->date), "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
                 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    }
    return fe->date;
}

static nghttp2_nv nv(const char *name, const char *value)
{
    nghttp2_nv h = {(uint8_t *)name, (uint8_t *)value, strlen(name), strlen(value), NGHTTP2_NV_FLAG_NONE};
    return h;
}

static void submit(scitt_h2_stream_t *s, int status, const char *content_type, const scitt_h2_hdr_t *hdrs,
                   size_t num_hdrs);

void scitt_h2__respond(scitt_h2_stream_t *s, int status, const char *content_type, scitt_buf_t *body,
                       const scitt_h2_hdr_t *hdrs, size_t num_hdrs)
{
    scitt_frontend_t *fe = s->conn->fe;
    if (s->responded) {
        if (body != NULL) {
            scitt_buf_cleanup(body);
        }
        return;
    }
    if (body != NULL && !scitt_h2__output_room(fe, body->len)) {
        scitt_buf_cleanup(body);
        scitt_h2__respond_no_room(s);
        return;
    }
    s->responded = true;
    /* The response has request_timeout to drain from now on. */
    s->deadline = uv_now(fe->loop) + fe->cfg.request_timeout_ms;
    scitt_buf_cleanup(&s->resp);
    if (body != NULL) {
        s->resp = *body; /* take it */
        scitt_buf_init(body, NULL, 0);
    } else {
        scitt_buf_init(&s->resp, NULL, 0);
    }
    s->resp_off = 0;
    scitt_h2__conn_queued(s->conn, s->resp.len, true);
    /* Once answered, the request body is no longer needed. */
    drop_body(s);

    if (s->conn->h1 != NULL) {
        scitt_h1__respond_head(s, status, content_type, hdrs, num_hdrs);
    } else {
        submit(s, status, content_type, hdrs, num_hdrs);
    }
    if (status >= 500) {
        fe->metrics.responses_5xx++;
    } else if (status >= 400) {
        fe->metrics.responses_4xx++;
    } else {
        fe->metrics.responses_2xx++;
    }
    scitt_h2__log(fe, SCITT_LOG_DEBUG, "%s %s -> %d (%zu bytes)", s->method, s->path, status, s->resp.len);
}

/* submit hands an HTTP/2 response to nghttp2. */
static void submit(scitt_h2_stream_t *s, int status, const char *content_type, const scitt_h2_hdr_t *hdrs,
                   size_t num_hdrs)
{
    /* Not snprintf: its cost showed at 400k GETs/s. */
    char status_text[21], length_text[21];
    status_text[scitt_format_u64(status_text, (uint64_t)status, 1)] = '\0';
    length_text[scitt_format_u64(length_text, s->resp.len, 1)] = '\0';
    nghttp2_nv nva[13];
    size_t n = 0;
    nva[n++] = nv(":status", status_text);
    nva[n++] = nv("date", scitt_h2__date(s->conn->fe));
    if (content_type != NULL) {
        nva[n++] = nv("content-type", content_type);
    }
    if (status != 204) {
        nva[n++] = nv("content-length", length_text);
    }
    for (size_t i = 0; i < num_hdrs && n < scitt_countof(nva); i++) {
        nva[n++] = nv(hdrs[i].name, hdrs[i].value);
    }
    nghttp2_data_provider prd = {.source = {.ptr = s}, .read_callback = read_body};
    /* A HEAD response has the headers of the GET and never a body (RFC 9110 9.3.2). */
    bool send_body = s->resp.len > 0 && strcmp(s->method, "HEAD") != 0;
    int rc = nghttp2_submit_response(s->conn->session, s->id, nva, n, send_body ? &prd : NULL);
    if (rc != 0) {
        nghttp2_submit_rst_stream(s->conn->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
    }
}

bool scitt_h2__output_room(scitt_frontend_t *fe, size_t len)
{
    return len < SCITT_H2_LARGE_RESP || fe->resp_bytes + len <= fe->cfg.max_response_bytes ||
           scitt_h2__shed_stalled(fe, len);
}

void scitt_h2__respond_no_room(scitt_h2_stream_t *s)
{
    s->conn->fe->metrics.responses_shed++;
    scitt_h2_hdr_t ra = {"retry-after", "1"};
    scitt_h2__respond_problem(s, 503, "Service Unavailable", "too many responses queued; retry later", &ra, 1);
}

void scitt_h2__respond_bytes(scitt_h2_stream_t *s, int status, const char *content_type, const void *data, size_t len,
                             const scitt_h2_hdr_t *hdrs, size_t num_hdrs)
{
    scitt_buf_t b;
    scitt_buf_init(&b, NULL, 0);
    if (len > SCITT_H2_SPARE_BODY / 2 && len <= SCITT_H2_SPARE_BODY && s->conn->fe->num_spare_bodies > 0) {
        b.base = s->conn->fe->spare_bodies[--s->conn->fe->num_spare_bodies];
        b.cap = SCITT_H2_SPARE_BODY;
    }
    if (scitt_buf_append(&b, data, len) != 0) {
        scitt_buf_cleanup(&b);
        scitt_h2__respond(s, 500, NULL, NULL, NULL, 0);
        return;
    }
    scitt_h2__respond(s, status, content_type, &b, hdrs, num_hdrs);
}

void scitt_h2__respond_problem(scitt_h2_stream_t *s, int status, const char *title, const char *detail,
                               const scitt_h2_hdr_t *hdrs, size_t num_hdrs)
{
    scitt_buf_t b;
    scitt_buf_init(&b, NULL, 0);
    if (scitt_cose_problem_encode(&b, title, detail, status) != 0) {
        scitt_buf_cleanup(&b);
        scitt_h2__respond(s, status, NULL, NULL, hdrs, num_hdrs);
        return;
    }
    scitt_h2__respond(s, status, "application/concise-problem-details+cbor", &b, hdrs, num_hdrs);
}
