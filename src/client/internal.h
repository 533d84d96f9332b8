/*
 * internal.h: the client connection as src/client's files share it.
 *
 * engine.c runs the nghttp2 session with no I/O: requests go in through
 * scitt_client_submit, server bytes through scitt_client__recv, and the
 * bytes to send come out of scitt_client__pull. transport.c owns the libuv
 * socket, resolver and timer and pumps bytes between the two. A detached
 * client (tests, fuzzing) has the engine only.
 */
#ifndef SCITT_SRC_CLIENT_INTERNAL_H
#define SCITT_SRC_CLIENT_INTERNAL_H

#include <nghttp2/nghttp2.h>
#include <uv.h>

#include "scitt/client.h"
#include "scitt/tls.h"

/* One write in flight holds at most this much; nghttp2 keeps the rest. */
#define SCITT_CLIENT__WRITE_MAX (64u * 1024)
#define SCITT_CLIENT__READ_LEN  (64u * 1024)
/* How often the timer looks for expired requests. */
#define SCITT_CLIENT__TICK_MS 100

struct scitt_client {
    const scitt_mem_t *mem;
    scitt_client_config_t cfg; /* defaults filled in */
    scitt_client_url_t url;
    nghttp2_session *h2;
    int error; /* sticky: once set the connection is dead */

    /* Requests in flight (a doubly linked list) and completed ones waiting
     * for their callbacks, which run only at safe points (never inside an
     * nghttp2 callback), so a callback may submit or reuse its request. */
    scitt_client_req_t *active;
    size_t num_active;
    scitt_client_req_t *done_head, *done_tail;
    bool in_callbacks;
    uint64_t completions; /* callbacks run so far, for wait_any */

    /* Transport (absent when detached). */
    bool detached;
    struct uv_loop_s *loop;
    bool own_loop;
    bool connected;
    bool writing;
    bool closing;
    int handles_open;
    uv_getaddrinfo_t resolve;
    bool resolving;
    uv_connect_t connect;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t write;
    scitt_buf_t out; /* bytes being written (or, detached, waiting to be taken) */
    /* https: the session over the socket, its context (owned when the
     * config gave none), and the engine's bytes before encryption. */
    scitt_tls_ctx_t *tls_ctx;
    bool own_tls_ctx;
    scitt_tls_t *tls;
    scitt_buf_t plain;
    bool tls_checked; /* the handshake finished and scitt_tls_verdict was 0 */
    uint8_t rbuf[SCITT_CLIENT__READ_LEN];
};

/* scitt_client__now returns the loop's clock in ms (0 when detached, where
 * nothing times out). */
uint64_t scitt_client__now(scitt_client_t *c);

/* Engine (engine.c). */
int scitt_client__engine_init(scitt_client_t *c);
void scitt_client__engine_cleanup(scitt_client_t *c);
/* scitt_client__recv feeds server bytes; on a protocol error it kills the
 * connection. */
int scitt_client__recv(scitt_client_t *c, const uint8_t *data, size_t len);
/* scitt_client__pull appends up to `max` bytes of frames to send to `out`. */
int scitt_client__pull(scitt_client_t *c, scitt_buf_t *out, size_t max);
/* scitt_client__fail kills the connection with `rc` (first error wins) and
 * fails every request in flight with it. */
void scitt_client__fail(scitt_client_t *c, int rc);
/* scitt_client__expire fails requests whose deadline passed with -ETIMEDOUT. */
void scitt_client__expire(scitt_client_t *c, uint64_t now);
/* scitt_client__run_callbacks runs the callbacks of completed requests. */
void scitt_client__run_callbacks(scitt_client_t *c);
/* scitt_client__wants_io reports whether nghttp2 still wants to read or write. */
bool scitt_client__wants_io(scitt_client_t *c);

/* Transport (transport.c). */
int scitt_client__transport_start(scitt_client_t *c);
/* scitt_client__kick writes whatever the engine has to send, if it can. */
void scitt_client__kick(scitt_client_t *c);
void scitt_client__transport_close(scitt_client_t *c);

#endif /* SCITT_SRC_CLIENT_INTERNAL_H */
