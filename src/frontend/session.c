/*
 * session.c: one connection: the socket, optional TLS, and its nghttp2
 * server session.
 *
 * Bytes flow read_cb -> (TLS) -> nghttp2_session_mem_recv, whose callbacks
 * build streams (stream.c) and submit responses; then conn_flush pulls
 * frames with nghttp2_session_mem_send into `out`, (TLS) and uv_write. Frames
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
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
        return 0; /* trailers: ignored */
    }
    scitt_h2_stream_t *s = stream_of(session, frame->hd.stream_id);
    if (s == NULL) {
        return 0;
    }
    return scitt_h2__stream_header(s, name, name_len, value, value_len);
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

/* send_data writes one DATA frame whose payload nghttp2 did not copy
 * (NGHTTP2_DATA_FLAG_NO_COPY, see read_body in stream.c): the 9-byte header
 * and the bytes straight from the stream's response body into `c->out`,
 * after emitting what is gathered when the frame would pass one chunk. */
static int send_data(nghttp2_session *session, nghttp2_frame *frame, const uint8_t *framehd, size_t length,
                     nghttp2_data_source *source, void *user_data)
{
    (void)session;
    scitt_h2_conn_t *c = user_data;
    const uint8_t *data = scitt_h2__stream_take_data(source->ptr, length);
    size_t pad = frame->data.padlen;
    size_t total = 9 + length + pad;
    if (c->out.len > 0 && c->out.len + total > SCITT_H2_WRITE_CHUNK && emit(c) != 0) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    if (scitt_buf_reserve(&c->out, total) != 0) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    uint8_t *p = c->out.base + c->out.len;
    memcpy(p, framehd, 9);
    p += 9;
    if (pad > 0) {
        *p++ = (uint8_t)(pad - 1);
    }
    memcpy(p, data, length);
    if (pad > 1) {
        memset(p + length, 0, pad - 1);
    }
    c->out.len += total;
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
    scitt_h2_conn_t *c = calloc(1, sizeof(*c));
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
        free(c);
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
        free(c);
        return SCITT_ENOMEM;
    }
    if (fe->cfg.tls != NULL && scitt_tls_new(&c->tls, fe->cfg.tls) != 0) {
        nghttp2_session_del(c->session);
        free(c);
        return SCITT_ENOMEM;
    }
    if (with_socket && uv_tcp_init(fe->loop, &c->tcp) != 0) {
        scitt_tls_free(c->tls);
        nghttp2_session_del(c->session);
        free(c);
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
    scitt_tls_free(c->tls);
    scitt_buf_cleanup(&c->out);
    free(c);
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
    release(c);
    scitt_h2__conn_count_closed(fe);
}

void scitt_h2__conn_close(scitt_h2_conn_t *c)
{
    if (c->closing) {
        return;
    }
    c->closing = true;
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

static void on_write(uv_write_t *req, int status)
{
    write_req_t *w = scitt_container_of(req, write_req_t, req);
    scitt_h2_conn_t *c = w->conn;
    c->write_pending -= w->buf.len;
    scitt_buf_cleanup(&w->buf);
    free(w);
    if (c->closing) {
        return;
    }
    if (status != 0 || (c->close_after_write && c->write_pending == 0)) {
        scitt_h2__conn_close(c);
        return;
    }
    if (!c->close_after_write) {
        scitt_h2__conn_flush(c);
    }
}

static void on_read(uv_stream_t *h, ssize_t nread, const uv_buf_t *buf);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void close_after_write(scitt_h2_conn_t *c);

/* emit writes `c->out` (plaintext frames) to the socket. With no write
 * queued, cleartext output goes out at once through uv_try_write and
 * `c->out` is kept for the next frames: no allocation, no buffer growing
 * from empty, no queued request per burst. Whatever the socket does not
 * take is queued with uv_write in a buffer of its own. */
static int emit(scitt_h2_conn_t *c)
{
    if (c->tls == NULL && c->has_socket && c->write_pending == 0 && c->out.len > 0) {
        uv_buf_t b = uv_buf_init((char *)c->out.base, (unsigned)c->out.len);
        int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (n == (int)c->out.len) {
            scitt_buf_reset(&c->out);
            return 0;
        }
        if (n < 0 && n != UV_EAGAIN) {
            return n;
        }
        if (n > 0) {
            /* Partly written (rare: the socket buffer is full): the rest
             * goes first in line, then waits for on_write. */
            memmove(c->out.base, c->out.base + n, c->out.len - (size_t)n);
            c->out.len -= (size_t)n;
        }
    }
    write_req_t *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        return SCITT_ENOMEM;
    }
    w->conn = c;
    if (c->tls != NULL) {
        scitt_buf_init(&w->buf, NULL, 0);
        int rc = c->out.len > 0 ? scitt_tls_write(c->tls, c->out.base, c->out.len) : 0;
        if (rc == 0) {
            rc = scitt_tls_take_output(c->tls, &w->buf);
        }
        scitt_buf_reset(&c->out);
        if (rc != 0 || w->buf.len == 0) {
            scitt_buf_cleanup(&w->buf);
            free(w);
            return rc;
        }
    } else {
        w->buf = c->out; /* hand the buffer over, start a new one */
        scitt_buf_init(&c->out, NULL, 0);
    }
    if (!c->has_socket) {
        scitt_buf_cleanup(&w->buf);
        free(w);
        return 0;
    }
    uv_buf_t b = uv_buf_init((char *)w->buf.base, (unsigned)w->buf.len);
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (rc != 0) {
        scitt_buf_cleanup(&w->buf);
        free(w);
        return rc;
    }
    c->write_pending += w->buf.len;
    return 0;
}

void scitt_h2__conn_flush(scitt_h2_conn_t *c)
{
    if (c->closing || c->close_after_write) {
        return;
    }
    bool tls_ready = c->tls == NULL || scitt_tls_ready(c->tls);
    while (tls_ready && c->write_pending < SCITT_H2_WRITE_SOFT) {
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
        if (c->out.len > 0 && c->out.len + (size_t)n > SCITT_H2_WRITE_CHUNK && emit(c) != 0) {
            scitt_h2__conn_close(c);
            return;
        }
        if (scitt_buf_append(&c->out, data, (size_t)n) != 0) {
            scitt_h2__conn_close(c);
            return;
        }
    }
    if ((c->out.len > 0 || (c->tls != NULL && scitt_tls_output_pending(c->tls))) && emit(c) != 0) {
        scitt_h2__conn_close(c);
        return;
    }
    if (!c->has_socket) {
        return;
    }
    /* Backpressure: a client that does not read its responses stops being
     * read from, so it cannot make us queue unbounded output. */
    bool want_read = c->write_pending < SCITT_H2_WRITE_SOFT;
    if (want_read && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0) {
            c->reading = true;
        }
    } else if (!want_read && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
    if (!nghttp2_session_want_read(c->session) && !nghttp2_session_want_write(c->session) && c->write_pending == 0) {
        scitt_h2__conn_close(c); /* GOAWAY exchanged and every stream done */
    }
}

/* close_after_write stops reading and closes once the last write is done
 * (uv_close would cancel it), so a GOAWAY or TLS alert reaches the peer. */
static void close_after_write(scitt_h2_conn_t *c)
{
    if (c->closing) {
        return;
    }
    if (!c->has_socket || c->write_pending == 0) {
        scitt_h2__conn_close(c);
        return;
    }
    c->close_after_write = true;
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

/* -- reading ------------------------------------------------------------ */

int scitt_h2__conn_recv(scitt_h2_conn_t *c, const uint8_t *data, size_t len)
{
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
                scitt_buf_append(&c->out, d, (size_t)m);
            }
            if (c->out.len > 0 && (c->tls == NULL || scitt_tls_ready(c->tls)) && emit(c) == 0) {
                close_after_write(c);
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
                    close_after_write(c);
                }
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
    scitt_h2__conn_flush(c); /* cleartext: our SETTINGS go out at once */
    return 0;
}

/* -- timeouts ----------------------------------------------------------- */

void scitt_h2__conn_sweep(scitt_h2_conn_t *c, uint64_t now)
{
    scitt_frontend_t *fe = c->fe;
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
