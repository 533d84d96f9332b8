/*
 * engine.c: the HTTP/2 side of a client connection, on an nghttp2 session
 * that never touches a socket (bytes in with mem_recv, out with mem_send).
 *
 * Invariants:
 *  - A request is in exactly one place: the caller's hands, the `active`
 *    list (submitted, its stream's user data points at it), or the done
 *    list (complete, callback pending). Callbacks run only from
 *    scitt_client__run_callbacks, outside nghttp2's callbacks, so user code
 *    can submit, reuse or free requests without re-entering nghttp2.
 *  - Once `error` is set the session is never fed or pulled again, so no
 *    nghttp2 callback can see a request after it failed.
 *  - A request whose deadline passes fails the whole connection: a server
 *    that stalls one stream is treated as stalled, which keeps the engine
 *    free of half-cancelled streams (RST before HEADERS went out).
 */
#include <stdio.h>

#include "internal.h"

static void link_active(scitt_client_t *c, scitt_client_req_t *req)
{
    req->_prev = NULL;
    req->_next = c->active;
    if (c->active != NULL) {
        c->active->_prev = req;
    }
    c->active = req;
    c->num_active++;
}

/* complete moves `req` from the active list to the done list with `rc`
 * (unless it already carries an error, which wins). */
static void complete(scitt_client_t *c, scitt_client_req_t *req, int rc)
{
    if (req->_prev != NULL) {
        req->_prev->_next = req->_next;
    } else {
        c->active = req->_next;
    }
    if (req->_next != NULL) {
        req->_next->_prev = req->_prev;
    }
    c->num_active--;
    if (req->rc == 0) {
        req->rc = rc;
    }
    req->_next = NULL;
    req->_prev = c->done_tail;
    if (c->done_tail != NULL) {
        c->done_tail->_next = req;
    } else {
        c->done_head = req;
    }
    c->done_tail = req;
}

void scitt_client__run_callbacks(scitt_client_t *c)
{
    if (c->in_callbacks) {
        return; /* the outer call drains the list */
    }
    c->in_callbacks = true;
    while (c->done_head != NULL) {
        scitt_client_req_t *req = c->done_head;
        c->done_head = req->_next;
        if (c->done_head == NULL) {
            c->done_tail = NULL;
        }
        req->_next = req->_prev = NULL;
        req->_client = NULL;
        req->_done = true;
        c->completions++;
        if (req->cb != NULL) {
            req->cb(req, req->rc);
        }
    }
    c->in_callbacks = false;
}

void scitt_client__fail(scitt_client_t *c, int rc)
{
    if (c->error == 0) {
        c->error = rc;
    }
    while (c->active != NULL) {
        complete(c, c->active, rc);
    }
    scitt_client__run_callbacks(c);
}

void scitt_client__expire(scitt_client_t *c, uint64_t now)
{
    for (scitt_client_req_t *r = c->active; r != NULL; r = r->_next) {
        if (r->_deadline != 0 && r->_deadline <= now) {
            scitt_client__fail(c, -ETIMEDOUT);
            return;
        }
    }
}

bool scitt_client__wants_io(scitt_client_t *c)
{
    return nghttp2_session_want_read(c->h2) || nghttp2_session_want_write(c->h2);
}

/* -- nghttp2 callbacks -- */

static scitt_client_req_t *stream_req(nghttp2_session *s, int32_t stream_id)
{
    return nghttp2_session_get_stream_user_data(s, stream_id);
}

/* copy_value copies a header value into a fixed field, dropping values
 * that do not fit (a Location longer than 512 bytes is not one of ours). */
static void copy_value(char *dst, size_t cap, const uint8_t *v, size_t len)
{
    if (len < cap) {
        memcpy(dst, v, len);
        dst[len] = '\0';
    }
}

static bool name_is(const uint8_t *name, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(name, want, len) == 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name, size_t name_len,
                     const uint8_t *value, size_t value_len, uint8_t flags, void *ud)
{
    (void)flags;
    (void)ud;
    if (frame->hd.type != NGHTTP2_HEADERS) {
        return 0;
    }
    scitt_client_req_t *req = stream_req(s, frame->hd.stream_id);
    if (req == NULL) {
        return 0;
    }
    if (name_is(name, name_len, ":status")) {
        uint64_t st;
        if (scitt_parse_u64((const char *)value, value_len, &st) == 0 && st >= 100 && st <= 999) {
            req->status = (int)st;
        }
    } else if (name_is(name, name_len, "location")) {
        copy_value(req->location, sizeof(req->location), value, value_len);
    } else if (name_is(name, name_len, "content-type")) {
        copy_value(req->content_type_resp, sizeof(req->content_type_resp), value, value_len);
    } else if (name_is(name, name_len, "retry-after")) {
        uint32_t secs;
        if (scitt_client_retry_after((const char *)value, value_len, &secs) == 0) {
            req->retry_after = secs;
        }
    }
    return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t stream_id, const uint8_t *data, size_t len, void *ud)
{
    (void)flags;
    (void)ud;
    scitt_client_req_t *req = stream_req(s, stream_id);
    if (req == NULL || req->rc != 0) {
        return 0;
    }
    int rc = scitt_buf_append(&req->resp, data, len);
    if (rc != 0) {
        /* Over max_body (or out of memory): stop this stream only; the
         * request completes when nghttp2 reports the stream closed. */
        req->rc = rc;
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL);
    }
    return 0;
}

static int on_close(nghttp2_session *s, int32_t stream_id, uint32_t error_code, void *ud)
{
    scitt_client_t *c = ud;
    scitt_client_req_t *req = stream_req(s, stream_id);
    if (req == NULL) {
        return 0;
    }
    int rc = 0;
    if (error_code != NGHTTP2_NO_ERROR) {
        rc = -ECONNRESET; /* reset or refused (GOAWAY) by the server */
    } else if (req->status == 0) {
        rc = SCITT_EIO;
    }
    complete(c, req, rc);
    return 0;
}

static ssize_t read_body(nghttp2_session *s, int32_t stream_id, uint8_t *buf, size_t len, uint32_t *data_flags,
                         nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)stream_id;
    (void)ud;
    scitt_client_req_t *req = src->ptr;
    size_t left = req->body.len - req->_sent;
    size_t n = left < len ? left : len;
    memcpy(buf, req->body.base + req->_sent, n);
    req->_sent += n;
    if (req->_sent == req->body.len) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    return (ssize_t)n;
}

int scitt_client__engine_init(scitt_client_t *c)
{
    nghttp2_session_callbacks *cbs;
    if (nghttp2_session_callbacks_new(&cbs) != 0) {
        return SCITT_ENOMEM;
    }
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_close);
    int rc = nghttp2_session_client_new(&c->h2, cbs, c);
    nghttp2_session_callbacks_del(cbs);
    if (rc != 0) {
        return SCITT_ENOMEM;
    }
    /* No push; wide windows so tiles and statements stream without waiting
     * for WINDOW_UPDATE round trips. */
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0}, {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1u << 20}};
    if (nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, scitt_countof(iv)) != 0 ||
        nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0, 16 << 20) != 0) {
        nghttp2_session_del(c->h2);
        c->h2 = NULL;
        return SCITT_ENOMEM;
    }
    return 0;
}

void scitt_client__engine_cleanup(scitt_client_t *c)
{
    /* nghttp2_session_del runs no stream callbacks: requests were failed
     * before this point. */
    nghttp2_session_del(c->h2);
    c->h2 = NULL;
}

int scitt_client__recv(scitt_client_t *c, const uint8_t *data, size_t len)
{
    if (c->error != 0) {
        return c->error;
    }
    ssize_t n = nghttp2_session_mem_recv(c->h2, data, len);
    if (n < 0) {
        scitt_client__fail(c, SCITT_EIO);
        return SCITT_EIO;
    }
    scitt_client__run_callbacks(c);
    return c->error;
}

int scitt_client__pull(scitt_client_t *c, scitt_buf_t *out, size_t max)
{
    while (c->error == 0 && out->len < max) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(c->h2, &data);
        if (n < 0) {
            scitt_client__fail(c, SCITT_EIO);
            return SCITT_EIO;
        }
        if (n == 0) {
            break;
        }
        int rc = scitt_buf_append(out, data, (size_t)n);
        if (rc != 0) {
            scitt_client__fail(c, rc);
            return rc;
        }
    }
    /* Callbacks completed while serialising (a stream closed by our RST). */
    scitt_client__run_callbacks(c);
    return c->error;
}

/* -- Requests -- */

void scitt_client_req_init(scitt_client_req_t *req, const char *method, const char *path)
{
    memset(req, 0, sizeof(*req));
    req->method = method;
    req->path = path;
    req->retry_after = -1;
    scitt_buf_init(&req->resp, NULL, 0);
}

void scitt_client_req_cleanup(scitt_client_req_t *req)
{
    scitt_buf_cleanup(&req->resp);
}

#define NV(n, v)                                                                                                       \
    {                                                                                                                  \
        (uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE                                     \
    }

int scitt_client_submit(scitt_client_t *c, scitt_client_req_t *req)
{
    if (c->error != 0) {
        return c->error;
    }
    if (c->num_active >= c->cfg.max_requests) {
        return SCITT_EFULL;
    }
    if (req->method == NULL || req->path == NULL || req->path[0] != '/') {
        return SCITT_EINVAL;
    }
    /* nghttp2 copies header names and values, so the path and the length
     * can live on this stack frame. */
    char path[SCITT_CLIENT_PREFIX_MAX + 2048];
    char clen[24];
    int n = snprintf(path, sizeof(path), "%s%s", c->url.prefix, req->path);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        return SCITT_EINVAL;
    }
    snprintf(clen, sizeof(clen), "%zu", req->body.len);
    nghttp2_nv nva[9] = {NV(":method", req->method), NV(":scheme", "http"), NV(":authority", c->url.authority),
                         NV(":path", path), NV("user-agent", c->cfg.user_agent)};
    size_t nnv = 5;
    if (req->content_type != NULL) {
        nva[nnv++] = (nghttp2_nv)NV("content-type", req->content_type);
    }
    if (req->accept != NULL) {
        nva[nnv++] = (nghttp2_nv)NV("accept", req->accept);
    }
    if (req->body.len > 0) {
        nva[nnv++] = (nghttp2_nv)NV("content-length", clen);
    }
    if (req->authorization != NULL) {
        /* A secret: kept out of the HPACK tables (RFC 7541 section 7.1.3). */
        nva[nnv] = (nghttp2_nv)NV("authorization", req->authorization);
        nva[nnv++].flags = NGHTTP2_NV_FLAG_NO_INDEX;
    }

    scitt_buf_cleanup(&req->resp);
    scitt_buf_init(&req->resp, c->mem, req->max_body != 0 ? req->max_body : c->cfg.max_body);
    req->rc = 0;
    req->status = 0;
    req->location[0] = '\0';
    req->content_type_resp[0] = '\0';
    req->retry_after = -1;
    req->_sent = 0;
    req->_done = false;
    uint64_t timeout = req->timeout_ms != 0 ? req->timeout_ms : c->cfg.timeout_ms;
    req->_deadline = c->detached ? 0 : scitt_client__now(c) + timeout;

    nghttp2_data_provider dp = {.source.ptr = req, .read_callback = read_body};
    int32_t id = nghttp2_submit_request(c->h2, NULL, nva, nnv, req->body.len > 0 ? &dp : NULL, req);
    if (id < 0) {
        /* Stream ids exhausted: this connection is done, make a new one. */
        return id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE ? -ECONNRESET : SCITT_ENOMEM;
    }
    req->_stream_id = id;
    req->_client = c;
    link_active(c, req);
    scitt_client__kick(c);
    return 0;
}

size_t scitt_client_in_flight(const scitt_client_t *c)
{
    return c->num_active;
}

int scitt_client_error(const scitt_client_t *c)
{
    return c->error;
}
