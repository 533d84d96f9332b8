/*
 * session.c: one connection: the socket, optional TLS, and its nghttp2
 * server session.
 *
 * Bytes flow read_cb -> (TLS) -> nghttp2_session_mem_recv, whose callbacks
 * build streams (stream.c) and submit responses; then conn_flush pulls
 * frames with nghttp2_session_mem_send into `out` (large DATA payloads stay
 * in their response bodies: see send_data), (TLS) and writes them. Frames
 * are never produced from inside nghttp2 callbacks: every entry point that
 * may have submitted something (read, completion, timer, pool job) flushes
 * after it.
 *
 * Abuse protections set here: SETTINGS (concurrent streams, header list
 * size, a small initial window), nghttp2's rapid-reset token bucket, the
 * CONTINUATION cap, the SETTINGS-entries cap and the outbound ACK cap (PING
 * and SETTINGS floods), plus our own write backpressure and the idle and
 * slow-stream sweep below.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "scitt/tls.h"

/* -- nghttp2 callbacks -------------------------------------------------- */

static scitt_h2_stream_t *stream_of(nghttp2_session *session, int32_t id)
{
    return nghttp2_session_get_stream_user_data(session, id);
}

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    scitt_h2_conn_t *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
        return 0;
    }
    /* Per-connection SETTINGS bound streams per connection; this bounds
     * them across all connections, so memory stays flat under any number
     * of clients. REFUSED_STREAM tells the client it may retry. */
    if (c->fe->num_streams >= c->fe->cfg.max_streams_total) {
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_REFUSED_STREAM);
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    scitt_h2_stream_t *s = scitt_h2__stream_new(c, frame->hd.stream_id);
    if (s == NULL) {
        /* Refuse this stream only; the connection carries on. */
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_INTERNAL_ERROR);
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, s);
    return 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name, size_t name_len,
                     const uint8_t *value, size_t value_len, uint8_t flags, void *user_data)
{
    (void)flags;
    (void)user_data;
    scitt_h2_stream_t *s = stream_of(session, frame->hd.stream_id);
    if (frame->hd.type != NGHTTP2_HEADERS || s == NULL) {
        return 0;
    }
    /* Trailers are ignored, but count against the header list limit. */
    bool trailer = frame->headers.cat != NGHTTP2_HCAT_REQUEST;
    return scitt_h2__stream_header(s, name, name_len, trailer ? NULL : value, value_len);
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    scitt_h2_conn_t *c = user_data;
    scitt_h2_stream_t *s;
    switch (frame->hd.type) {
    case NGHTTP2_HEADERS:
    case NGHTTP2_DATA:
        s = stream_of(session, frame->hd.stream_id);
        if (s == NULL) {
            return 0;
        }
        c->last_progress = uv_now(c->fe->loop);
        if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
            scitt_h2__stream_headers_done(s);
        }
        if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
            scitt_h2__stream_request_done(s);
        }
        return 0;
    default:
        return 0;
    }
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id, const uint8_t *data, size_t len,
                         void *user_data)
{
    (void)flags;
    (void)user_data;
    scitt_h2_stream_t *s = stream_of(session, stream_id);
    if (s == NULL) {
        return 0;
    }
    return scitt_h2__stream_data(s, data, len);
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code, void *user_data)
{
    (void)error_code;
    (void)user_data;
    scitt_h2_stream_t *s = stream_of(session, stream_id);
    if (s != NULL) {
        nghttp2_session_set_stream_user_data(session, stream_id, NULL);
        scitt_h2__stream_free(s);
    }
    return 0;
}

static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    (void)session;
    scitt_h2_conn_t *c = user_data;
    if (frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) {
        c->last_progress = uv_now(c->fe->loop);
    }
    return 0;
}

static int emit(scitt_h2_conn_t *c);

/* -- output segments ------------------------------------------------------ */

/* out_slice ends the current slice of `out` (if it has bytes). */
static void out_slice(scitt_h2_conn_t *c)
{
    if (c->out.len > c->seg_start) {
        c->segs[c->num_segs++] = (struct scitt_h2_seg){NULL, c->seg_start, c->out.len - c->seg_start};
        c->seg_start = c->out.len;
    }
}

/* out_append adds frame bytes to the next write. */
static int out_append(scitt_h2_conn_t *c, const uint8_t *data, size_t len)
{
    int rc = scitt_buf_append(&c->out, data, len);
    if (rc == 0) {
        c->out_total += len;
    }
    return rc;
}

/* out_reset forgets the next write (it was written or flattened) and frees
 * the bodies kept for it. */
static void out_reset(scitt_h2_conn_t *c)
{
    scitt_buf_reset(&c->out);
    c->num_segs = 0;
    c->seg_start = 0;
    c->out_total = 0;
    for (size_t i = 0; i < c->num_held; i++) {
        scitt_h2__body_release(c->fe, &c->held[i]);
    }
    c->num_held = 0;
}

/* flatten copies the next write from byte `skip` on into `dst` (empty). */
static int flatten(scitt_h2_conn_t *c, size_t skip, scitt_buf_t *dst)
{
    int rc = scitt_buf_reserve(dst, c->out_total - skip);
    for (size_t i = 0; rc == 0 && i < c->num_segs; i++) {
        const struct scitt_h2_seg *g = &c->segs[i];
        size_t drop = skip < g->len ? skip : g->len;
        skip -= drop;
        rc = scitt_buf_append(dst, (g->ext != NULL ? g->ext : c->out.base + g->off) + drop, g->len - drop);
    }
    return rc;
}

/* materialize copies the payloads of the next write into `out`, so it
 * points into no response body. Out of memory, the output is dropped and
 * the connection closed: the peer could not parse what would follow. */
static void materialize(scitt_h2_conn_t *c)
{
    out_slice(c);
    scitt_buf_t flat;
    scitt_buf_init(&flat, NULL, 0);
    size_t total = c->out_total;
    int rc = flatten(c, 0, &flat);
    out_reset(c);
    if (rc != 0) {
        scitt_buf_cleanup(&flat);
        scitt_h2__conn_close(c);
        return;
    }
    scitt_buf_cleanup(&c->out);
    c->out = flat;
    c->out_total = total;
}

bool scitt_h2__conn_keep_body(scitt_h2_conn_t *c, scitt_buf_t *body)
{
    bool in_use = false;
    for (size_t i = 0; i < c->num_segs && !in_use; i++) {
        in_use = c->segs[i].ext != NULL && c->segs[i].ext >= body->base && c->segs[i].ext < body->base + body->len;
    }
    if (!in_use) {
        return false;
    }
    if (c->num_held == c->cap_held) {
        size_t cap = c->cap_held == 0 ? 16 : 2 * c->cap_held;
        scitt_buf_t *h = realloc(c->held, cap * sizeof(*h));
        if (h == NULL) {
            materialize(c); /* no longer points into any body */
            return false;
        }
        c->held = h;
        c->cap_held = cap;
    }
    c->held[c->num_held++] = *body;
    scitt_buf_init(body, NULL, 0);
    return true;
}

/* send_data writes one DATA frame whose payload nghttp2 did not copy
 * (NGHTTP2_DATA_FLAG_NO_COPY, see read_body in stream.c): the 9-byte header
 * into `out`, and the payload from the stream's response body, in place
 * when it is large and the write can point at it (cleartext), else copied.
 * What is gathered is emitted first when the frame would pass one chunk or
 * the slices would run out. */
static int send_data(nghttp2_session *session, nghttp2_frame *frame, const uint8_t *framehd, size_t length,
                     nghttp2_data_source *source, void *user_data)
{
    (void)session;
    scitt_h2_conn_t *c = user_data;
    if (c->closing) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    c->drained_at = uv_now(c->fe->loop); /* the peer's window is open */
    const uint8_t *data = scitt_h2__stream_take_data(source->ptr, length);
    size_t pad = frame->data.padlen;
    size_t total = 9 + length + pad;
    if (c->out_total > 0 && (c->out_total + total > SCITT_H2_WRITE_CHUNK || c->num_segs + 2 >= SCITT_H2_MAX_SEGS) &&
        emit(c) != 0) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    bool in_place = c->tls == NULL && c->has_socket && pad == 0 && length >= SCITT_H2_INPLACE_MIN;
    if (scitt_buf_reserve(&c->out, in_place ? 9 : total) != 0) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    uint8_t *p = c->out.base + c->out.len;
    memcpy(p, framehd, 9);
    c->out.len += 9;
    if (in_place) {
        out_slice(c);
        c->segs[c->num_segs++] = (struct scitt_h2_seg){data, 0, length};
        c->out_total += total;
        return 0;
    }
    p += 9;
    if (pad > 0) {
        *p++ = (uint8_t)(pad - 1);
    }
    memcpy(p, data, length);
    if (pad > 1) {
        memset(p + length, 0, pad - 1);
    }
    c->out.len += total - 9;
    c->out_total += total;
    return 0;
}

static int on_invalid_frame(nghttp2_session *session, const nghttp2_frame *frame, int lib_error_code, void *user_data)
{
    (void)session;
    scitt_h2_conn_t *c = user_data;
    scitt_h2__log(c->fe, SCITT_LOG_DEBUG, "h2: invalid frame type %u on stream %d: %s", frame->hd.type,
                  frame->hd.stream_id, nghttp2_strerror(lib_error_code));
    return 0;
}

int scitt_h2__session_callbacks(nghttp2_session_callbacks **out)
{
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb) != 0) {
        return SCITT_ENOMEM;
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
    nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cb, on_invalid_frame);
    nghttp2_session_callbacks_set_send_data_callback(cb, send_data);
    *out = cb;
    return 0;
}

/* -- connection lifetime ------------------------------------------------ */

int scitt_h2__conn_new(scitt_frontend_t *fe, bool with_socket, scitt_h2_conn_t **out)
{
    scitt_h2_conn_t *c = scitt_mem_calloc(fe->cfg.conn_mem, 1, sizeof(*c));
    if (c == NULL) {
        return SCITT_ENOMEM;
    }
    c->fe = fe;
    c->has_socket = with_socket;
    scitt_h2__list_init(&c->node);
    scitt_h2__list_init(&c->streams);
    scitt_buf_init(&c->out, NULL, 0);
    c->last_progress = uv_now(fe->loop);
    if (nghttp2_session_server_new2(&c->session, fe->callbacks, c, fe->options) != 0) {
        scitt_mem_free(fe->cfg.conn_mem, c);
        return SCITT_ENOMEM;
    }
    /* Our SETTINGS: bounded streams and header lists, and a stream window no
     * larger than a statement needs in one go. */
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, fe->cfg.max_streams},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)fe->cfg.max_header_bytes},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 256 * 1024},
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
    };
    if (nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, scitt_countof(iv)) != 0) {
        nghttp2_session_del(c->session);
        scitt_mem_free(fe->cfg.conn_mem, c);
        return SCITT_ENOMEM;
    }
    if (fe->cfg.tls != NULL && scitt_tls_new(&c->tls, fe->cfg.tls) != 0) {
        nghttp2_session_del(c->session);
        scitt_mem_free(fe->cfg.conn_mem, c);
        return SCITT_ENOMEM;
    }
    if (with_socket && uv_tcp_init(fe->loop, &c->tcp) != 0) {
        scitt_tls_free(c->tls);
        nghttp2_session_del(c->session);
        scitt_mem_free(fe->cfg.conn_mem, c);
        return SCITT_ENOMEM;
    }
    *out = c;
    return 0;
}

/* release frees everything but the handle (whose memory is `c`). */
static void release(scitt_h2_conn_t *c)
{
    while (!scitt_h2__list_empty(&c->streams)) {
        scitt_h2_stream_t *s = scitt_container_of(c->streams.next, scitt_h2_stream_t, node);
        scitt_h2__stream_free(s); /* unlinks itself */
    }
    nghttp2_session_del(c->session);
    scitt_h1__free(c->h1);
    scitt_tls_free(c->tls);
    out_reset(c);
    scitt_buf_cleanup(&c->out);
    free(c->held);
    scitt_mem_free(c->fe->cfg.conn_mem, c);
}

void scitt_h2__conn_free(scitt_h2_conn_t *c)
{
    scitt_h2__list_remove(&c->node);
    release(c);
}

static void on_close(uv_handle_t *h)
{
    scitt_h2_conn_t *c = scitt_container_of((uv_tcp_t *)h, scitt_h2_conn_t, tcp);
    scitt_frontend_t *fe = c->fe;
    if (c->has_peer) {
        scitt_h2__peer_sub(fe, c->peer, SCITT_H2_PEER_CONNS);
    }
    release(c);
    scitt_h2__conn_count_closed(fe);
}

void scitt_h2__conn_close(scitt_h2_conn_t *c)
{
    if (c->closing) {
        return;
    }
    c->closing = true;
    c->fe->resp_bytes -= c->resp_bytes; /* freed with the connection, soon */
    scitt_h2__list_remove(&c->node);
    if (!c->has_socket) {
        return; /* the fuzz harness frees it */
    }
    /* Pending writes are cancelled (their callbacks run first), then
     * on_close frees the connection. */
    uv_close((uv_handle_t *)&c->tcp, on_close);
}

void scitt_h2__conn_goaway(scitt_h2_conn_t *c)
{
    if (c->closing) {
        return;
    }
    if (c->proto != SCITT_PROTO_H2) {
        if (c->h1 != NULL) {
            scitt_h1__goaway(c);
            scitt_h2__conn_flush(c);
        } else {
            scitt_h2__conn_close(c); /* nothing asked yet */
        }
        return;
    }
    nghttp2_submit_goaway(c->session, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(c->session),
                          NGHTTP2_NO_ERROR, NULL, 0);
    scitt_h2__conn_flush(c);
}

/* -- writing ------------------------------------------------------------ */

typedef struct write_req {
    uv_write_t req;
    scitt_h2_conn_t *conn;
    scitt_buf_t buf;
} write_req_t;

static void conn_end(scitt_h2_conn_t *c);

static void on_write(uv_write_t *req, int status)
{
    write_req_t *w = scitt_container_of(req, write_req_t, req);
    scitt_h2_conn_t *c = w->conn;
    c->write_pending -= w->buf.len;
    scitt_h2__conn_queued(c, w->buf.len, false);
    if (status == 0) {
        c->drained_at = uv_now(c->fe->loop);
    }
    scitt_buf_cleanup(&w->buf);
    free(w);
    if (c->closing) {
        return;
    }
    if (status != 0) {
        scitt_h2__conn_close(c);
        return;
    }
    if (c->close_after_write && c->write_pending == 0) {
        conn_end(c);
        return;
    }
    if (!c->close_after_write) {
        scitt_h2__conn_flush(c);
    }
}

static void on_read(uv_stream_t *h, ssize_t nread, const uv_buf_t *buf);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);

/* emit writes the next write (plaintext frames) to the socket. With no
 * write queued, output goes out at once through uv_try_write: cleartext
 * with payloads in place, and `c->out` is kept for the next frames; TLS
 * records from the front end's ciphertext scratch (no payload is in place
 * over TLS). No allocation, no buffer growing from empty, no queued
 * request per burst. Whatever the socket does not take is copied into a
 * buffer of its own and queued with uv_write, so no stream's body is
 * needed after this returns. */
static int emit(scitt_h2_conn_t *c)
{
    out_slice(c);
    size_t skip = 0;
    scitt_buf_t *ct = &c->fe->tls_out;
    if (c->tls != NULL) {
        int rc = c->out.len > 0 ? scitt_tls_write(c->tls, c->out.base, c->out.len) : 0;
        if (rc == 0) {
            rc = scitt_tls_take_output(c->tls, ct);
        }
        out_reset(c);
        if (rc != 0 || ct->len == 0 || !c->has_socket) {
            scitt_buf_reset(ct);
            return rc;
        }
        if (c->write_pending == 0) {
            uv_buf_t b = uv_buf_init((char *)ct->base, (unsigned)ct->len);
            int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
            if (n == (int)ct->len) {
                c->drained_at = uv_now(c->fe->loop);
                scitt_buf_reset(ct);
                return 0;
            }
            if (n < 0 && n != UV_EAGAIN) {
                scitt_buf_reset(ct);
                return n;
            }
            skip = n > 0 ? (size_t)n : 0;
            if (skip > 0) {
                c->drained_at = uv_now(c->fe->loop);
            }
        }
    } else if (c->has_socket && c->write_pending == 0 && c->out_total > 0) {
        uv_buf_t b[SCITT_H2_MAX_SEGS];
        for (size_t i = 0; i < c->num_segs; i++) {
            const struct scitt_h2_seg *g = &c->segs[i];
            b[i] = uv_buf_init((char *)(g->ext != NULL ? g->ext : c->out.base + g->off), (unsigned)g->len);
        }
        int n = uv_try_write((uv_stream_t *)&c->tcp, b, (unsigned)c->num_segs);
        if (n == (int)c->out_total) {
            c->drained_at = uv_now(c->fe->loop);
            out_reset(c);
            return 0;
        }
        if (n < 0 && n != UV_EAGAIN) {
            return n;
        }
        /* Partly written (rare: the socket buffer is full): the rest goes
         * first in line, then waits for on_write. Bytes moved: not stalled. */
        skip = n > 0 ? (size_t)n : 0;
        if (skip > 0) {
            c->drained_at = uv_now(c->fe->loop);
        }
    }
    write_req_t *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        scitt_buf_reset(ct);
        out_reset(c); /* never resent from the start after a partial write */
        return SCITT_ENOMEM;
    }
    w->conn = c;
    scitt_buf_init(&w->buf, NULL, 0);
    int rc = 0;
    if (c->tls != NULL) {
        rc = scitt_buf_append(&w->buf, ct->base + skip, ct->len - skip);
        scitt_buf_reset(ct);
    } else if (skip == 0 && c->num_held == 0 && c->out.len == c->out_total) {
        w->buf = c->out; /* all of it is in `out`: hand the buffer over */
        scitt_buf_init(&c->out, NULL, 0);
    } else {
        rc = flatten(c, skip, &w->buf);
    }
    out_reset(c);
    if (rc != 0 || w->buf.len == 0 || !c->has_socket) {
        scitt_buf_cleanup(&w->buf);
        free(w);
        return rc;
    }
    uv_buf_t b = uv_buf_init((char *)w->buf.base, (unsigned)w->buf.len);
    rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (rc != 0) {
        scitt_buf_cleanup(&w->buf);
        free(w);
        return rc;
    }
    c->write_pending += w->buf.len;
    scitt_h2__conn_queued(c, w->buf.len, true);
    return 0;
}

int scitt_h2__conn_put(scitt_h2_conn_t *c, const uint8_t *data, size_t len, bool body)
{
    if (c->out_total > 0 && (c->out_total + len > SCITT_H2_WRITE_CHUNK || c->num_segs + 2 >= SCITT_H2_MAX_SEGS)) {
        int rc = emit(c);
        if (rc != 0) {
            return rc;
        }
    }
    if (body && c->tls == NULL && c->has_socket && len >= SCITT_H2_INPLACE_MIN) {
        out_slice(c);
        c->segs[c->num_segs++] = (struct scitt_h2_seg){data, 0, len};
        c->out_total += len;
        return 0;
    }
    return out_append(c, data, len);
}

void scitt_h2__conn_flush(scitt_h2_conn_t *c)
{
    if (c->closing || c->close_after_write) {
        return;
    }
    bool tls_ready = c->tls == NULL || scitt_tls_ready(c->tls);
    if (c->proto == SCITT_PROTO_H1 && tls_ready) {
        scitt_h1__produce(c);
    }
    /* Nothing of HTTP/2 goes out before the client is known to speak it. */
    while (c->proto == SCITT_PROTO_H2 && tls_ready && !c->closing && c->write_pending < SCITT_H2_WRITE_SOFT) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(c->session, &data);
        if (n < 0) {
            scitt_h2__conn_close(c);
            return;
        }
        if (n == 0) {
            break;
        }
        /* Emit before the buffer would pass one chunk, not after: a buffer
         * that grew past it doubled to 128 KiB, where glibc hands out fresh
         * mmap'd or trimmed pages, and copying into them page-faulted on every
         * write (28% of the CPU serving 8 KiB tiles). */
        if (c->out_total > 0 && c->out_total + (size_t)n > SCITT_H2_WRITE_CHUNK && emit(c) != 0) {
            scitt_h2__conn_close(c);
            return;
        }
        if (out_append(c, data, (size_t)n) != 0) {
            scitt_h2__conn_close(c);
            return;
        }
    }
    if (c->closing) {
        return; /* closed by a callback while frames were produced */
    }
    if ((c->out_total > 0 || (c->tls != NULL && scitt_tls_output_pending(c->tls))) && emit(c) != 0) {
        scitt_h2__conn_close(c);
        return;
    }
    if (!c->has_socket) {
        return;
    }
    /* Backpressure: a client that does not read its responses stops being
     * read from, so it cannot make us queue unbounded output. */
    bool want_read = c->write_pending < SCITT_H2_WRITE_SOFT && (c->h1 == NULL || scitt_h1__want_read(c));
    if (want_read && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0) {
            c->reading = true;
        }
    } else if (!want_read && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
    if (c->proto == SCITT_PROTO_H2 && !nghttp2_session_want_read(c->session) &&
        !nghttp2_session_want_write(c->session) && c->write_pending == 0) {
        scitt_h2__conn_close(c); /* GOAWAY exchanged and every stream done */
    } else if (c->proto == SCITT_PROTO_H1 && scitt_h1__done(c)) {
        scitt_h2__conn_close_after_write(c); /* the last response is on its way */
    }
}

/* scitt_h2__conn_close_after_write stops reading and closes once the last write is done
 * (uv_close would cancel it), so a GOAWAY or TLS alert reaches the peer. */
void scitt_h2__conn_close_after_write(scitt_h2_conn_t *c)
{
    if (c->closing) {
        return;
    }
    if (!c->has_socket || c->write_pending == 0) {
        conn_end(c);
        return;
    }
    c->close_after_write = true;
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    free(req); /* also when cancelled by uv_close: the connection may be gone */
}

/* conn_end closes a connection whose last output is written. An HTTP/1.1 one
 * lingers first (as nginx's lingering_close): it sends FIN and reads and
 * drops what the client is still sending (the rest of a body answered
 * early, 413) for up to SCITT_H1_LINGER_MS, so the kernel does not answer
 * that input with a reset that could destroy the answer before the client
 * read it. */
static void conn_end(scitt_h2_conn_t *c)
{
    if (c->h1 == NULL || !c->has_socket || c->lingering) {
        scitt_h2__conn_close(c);
        return;
    }
    uv_shutdown_t *req = calloc(1, sizeof(*req));
    if (req == NULL || uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        free(req);
        scitt_h2__conn_close(c);
        return;
    }
    c->lingering = true;
    c->close_after_write = true; /* nothing more is produced */
    c->linger_until = uv_now(c->fe->loop) + SCITT_H1_LINGER_MS;
    if (!c->reading && uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0) {
        c->reading = true;
    }
}

/* -- reading ------------------------------------------------------------ */

/* use_protocol settles a connection's protocol. */
static int use_protocol(scitt_h2_conn_t *c, bool h2)
{
    if (h2) {
        c->proto = SCITT_PROTO_H2;
        return 0;
    }
    return scitt_h1__start(c);
}

/* sniff looks at a cleartext connection's first bytes: the HTTP/2 client
 * preface (prior knowledge, RFC 9113 section 3.3) or else HTTP/1.x. Up to
 * the preface's 24 bytes are kept while they match it. */
static int sniff(scitt_h2_conn_t *c, const uint8_t *data, size_t len)
{
    static const char preface[] = NGHTTP2_CLIENT_MAGIC;
    size_t want = sizeof(c->sniff) - c->sniff_len;
    size_t take = len < want ? len : want;
    bool h2 = memcmp(data, preface + c->sniff_len, take) == 0;
    if (h2 && take < want) {
        memcpy(c->sniff + c->sniff_len, data, take);
        c->sniff_len += take;
        return 0;
    }
    uint8_t seen[sizeof(c->sniff)];
    size_t seen_len = c->sniff_len;
    memcpy(seen, c->sniff, seen_len);
    if (use_protocol(c, h2) != 0) {
        scitt_h2__conn_close(c);
        return SCITT_ENOMEM;
    }
    /* Our SETTINGS go out before the client's frames are processed, as at
     * accept before HTTP/1.1 shared the port: a client that already reset
     * the connection (a rapid-reset flood sends its frames and RST at once)
     * fails this write and is closed without its queued frames, which would
     * otherwise feed the verify queue with statements nobody waits for. */
    if (h2) {
        scitt_h2__conn_flush(c);
        if (c->closing) {
            return SCITT_EIO;
        }
    }
    if (seen_len > 0 && scitt_h2__conn_recv(c, seen, seen_len) != 0) {
        return SCITT_EIO;
    }
    return scitt_h2__conn_recv(c, data, len);
}

int scitt_h2__conn_recv(scitt_h2_conn_t *c, const uint8_t *data, size_t len)
{
    if (c->proto == SCITT_PROTO_UNKNOWN) {
        return sniff(c, data, len);
    }
    if (c->proto == SCITT_PROTO_H1) {
        scitt_h1__recv(c, data, len);
        return c->closing ? SCITT_EIO : 0;
    }
    ssize_t n = nghttp2_session_mem_recv(c->session, data, len);
    if (n < 0) {
        scitt_h2__log(c->fe, SCITT_LOG_DEBUG, "h2: closing connection: %s", nghttp2_strerror((int)n));
        /* Tell the peer why (nghttp2 queues a GOAWAY for some protocol
         * errors, not for floods such as too many CONTINUATION frames;
         * terminate_session is refused when one is already queued). */
        if (n != NGHTTP2_ERR_NOMEM && n != NGHTTP2_ERR_CALLBACK_FAILURE) {
            uint32_t code = n == NGHTTP2_ERR_FLOODED || n == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS
                                ? NGHTTP2_ENHANCE_YOUR_CALM
                                : NGHTTP2_PROTOCOL_ERROR;
            nghttp2_session_terminate_session(c->session, code);
            const uint8_t *d;
            ssize_t m;
            while (!c->closing && (m = nghttp2_session_mem_send(c->session, &d)) > 0) {
                out_append(c, d, (size_t)m);
            }
            if (c->out_total > 0 && (c->tls == NULL || scitt_tls_ready(c->tls)) && emit(c) == 0) {
                scitt_h2__conn_close_after_write(c);
                return SCITT_EIO;
            }
        }
        scitt_h2__conn_close(c);
        return SCITT_EIO;
    }
    return 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    scitt_h2_conn_t *c = scitt_container_of((uv_tcp_t *)h, scitt_h2_conn_t, tcp);
    /* One buffer for the whole loop: on_read consumes it before returning. */
    *buf = uv_buf_init((char *)c->fe->read_buf, sizeof(c->fe->read_buf));
}

static void on_read(uv_stream_t *h, ssize_t nread, const uv_buf_t *buf)
{
    scitt_h2_conn_t *c = scitt_container_of((uv_tcp_t *)h, scitt_h2_conn_t, tcp);
    if (nread == 0 || c->closing) {
        return;
    }
    if (nread < 0) {
        scitt_h2__conn_close(c);
        return;
    }
    if (c->lingering) {
        c->linger_bytes += (size_t)nread;
        if (c->linger_bytes > SCITT_H1_LINGER_BYTES) {
            scitt_h2__conn_close(c);
        }
        return; /* dropped */
    }
    const uint8_t *data = (const uint8_t *)buf->base;
    if (c->tls == NULL) {
        if (scitt_h2__conn_recv(c, data, (size_t)nread) != 0) {
            return;
        }
    } else {
        if (scitt_tls_feed(c->tls, data, (size_t)nread) != 0) {
            scitt_h2__conn_close(c);
            return;
        }
        for (;;) {
            size_t got;
            int rc = scitt_tls_read(c->tls, c->fe->plain_buf, sizeof(c->fe->plain_buf), &got);
            if (rc != 0) {
                /* Send the alert TLS may have queued, then close. */
                if (emit(c) != 0) {
                    scitt_h2__conn_close(c);
                } else {
                    scitt_h2__conn_close_after_write(c);
                }
                return;
            }
            /* Over TLS, ALPN chose the protocol (no ALPN: HTTP/1.1). */
            if (c->proto == SCITT_PROTO_UNKNOWN && scitt_tls_ready(c->tls) &&
                use_protocol(c, scitt_tls_h2(c->tls)) != 0) {
                scitt_h2__conn_close(c);
                return;
            }
            if (got == 0) {
                break;
            }
            if (scitt_h2__conn_recv(c, c->fe->plain_buf, got) != 0) {
                return;
            }
        }
    }
    scitt_h2__conn_flush(c);
}

int scitt_h2__conn_start(scitt_h2_conn_t *c)
{
    uv_tcp_nodelay(&c->tcp, 1);
    int rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rc != 0) {
        return rc;
    }
    c->reading = true;
    scitt_h2__conn_flush(c); /* TLS: nothing yet; cleartext: nothing before the first bytes */
    return 0;
}

/* -- the output budget --------------------------------------------------- */

void scitt_h2__conn_queued(scitt_h2_conn_t *c, size_t n, bool add)
{
    if (add && c->resp_bytes == 0) {
        c->drained_at = uv_now(c->fe->loop); /* a stall is timed from here */
    }
    c->resp_bytes = add ? c->resp_bytes + n : c->resp_bytes - n;
    if (!c->closing) { /* a closing connection's bytes left the total at close */
        c->fe->resp_bytes = add ? c->fe->resp_bytes + n : c->fe->resp_bytes - n;
    }
}

bool scitt_h2__shed_stalled(scitt_frontend_t *fe, size_t want)
{
    uint64_t now = uv_now(fe->loop);
    while (fe->resp_bytes + want > fe->cfg.max_response_bytes) {
        scitt_h2_conn_t *worst = NULL;
        for (scitt_h2_link_t *l = fe->conns.next; l != &fe->conns; l = l->next) {
            scitt_h2_conn_t *c = scitt_container_of(l, scitt_h2_conn_t, node);
            if (c->resp_bytes > 0 && now - c->drained_at >= SCITT_H2_STALL_MS &&
                (worst == NULL || c->resp_bytes > worst->resp_bytes)) {
                worst = c;
            }
        }
        if (worst == NULL) {
            return false;
        }
        scitt_h2__log(fe, SCITT_LOG_DEBUG, "h2: closing a stalled connection holding %zu bytes of output",
                      worst->resp_bytes);
        fe->metrics.stalled_closed++;
        scitt_h2__conn_close(worst);
    }
    return true;
}

/* -- timeouts ----------------------------------------------------------- */

void scitt_h2__conn_sweep(scitt_h2_conn_t *c, uint64_t now)
{
    scitt_frontend_t *fe = c->fe;
    if (c->lingering) {
        if (now >= c->linger_until) {
            scitt_h2__conn_close(c);
        }
        return;
    }
    if (c->h1 != NULL) {
        scitt_h1__sweep(c, now);
        return;
    }
    /* Idle: no request, no DATA in or out for idle_timeout, and nothing
     * waiting on the pipeline. PINGs and WINDOW_UPDATEs do not count, so a
     * client holding a zero window (our responses stalled) or trickling
     * control frames is closed too. */
    if (c->num_waiting == 0 && now - c->last_progress >= fe->cfg.idle_timeout_ms) {
        scitt_h2__log(fe, SCITT_LOG_DEBUG, "h2: closing idle connection");
        scitt_h2__conn_close(c);
        return;
    }
    /* Slow clients: a stream whose request has not arrived, or whose
     * response has not drained, within request_timeout is reset. */
    for (scitt_h2_link_t *l = c->streams.next; l != &c->streams; l = l->next) {
        scitt_h2_stream_t *s = scitt_container_of(l, scitt_h2_stream_t, node);
        if (s->reg == NULL && s->job == NULL && now >= s->deadline) {
            s->deadline = UINT64_MAX; /* reset once */
            nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL);
        }
    }
    scitt_h2__conn_flush(c);
}
