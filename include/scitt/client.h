/*
 * client.h: an HTTP/2 client (nghttp2 + libuv) for the scitt command line,
 * the mirror and the load generator.
 *
 * One scitt_client_t is one connection carrying many concurrent streams.
 * Requests are caller-allocated scitt_client_req_t structures (as libuv's
 * uv_write_t): fill in the request fields, submit, and the callback fires
 * once with the response fields filled in. Nothing is global, so a load
 * generator can run K connections x M streams on one loop.
 *
 * Two ways to drive it:
 *  - own loop: scitt_client_new() with `loop` NULL creates a private loop;
 *    scitt_client_wait() / scitt_client_wait_all() run it until requests
 *    complete. This is what the CLI and the mirror use (synchronous code
 *    with concurrency where it matters).
 *  - shared loop: pass the caller's uv_loop_t; the caller runs it, and
 *    scitt_client_free() completes in a close callback.
 *
 * Transport: cleartext HTTP/2 with prior knowledge ("http://" URLs), or
 * HTTP/2 over TLS 1.2/1.3 chosen by ALPN ("https://"), the server's
 * certificate verified against the config's TLS context (scitt/tls.h) or
 * the system CAs, and its name (or IP address) checked against the URL.
 *
 * Bounded: response bodies stop at `max_body` (the stream is reset and the
 * request fails with SCITT_ETOOBIG); at most `max_requests` requests may be
 * in flight on one connection (more is SCITT_EFULL); the output buffer holds
 * one write of at most 64 KiB at a time.
 *
 * Thread safety: a client belongs to the thread that runs its loop.
 */
#ifndef SCITT_CLIENT_H
#define SCITT_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "scitt/core.h"

/* libuv's loop, named without including <uv.h> (only src/client, the
 * frontend and main.c include it). */
struct uv_loop_s;

typedef struct scitt_client scitt_client_t;
typedef struct scitt_client_req scitt_client_req_t;

/* -- URLs -- */

#define SCITT_CLIENT_HOST_MAX   255
#define SCITT_CLIENT_PREFIX_MAX 1024

/* scitt_client_url_t is a parsed base URL: `scheme://host[:port][/prefix]`.
 * `authority` is what goes into :authority ("host:port" as written, IPv6
 * in brackets); `host` is the bare name or address for the resolver;
 * `prefix` has no trailing slash ("" for the root). */
typedef struct scitt_client_url {
    bool tls;
    char host[SCITT_CLIENT_HOST_MAX + 1];
    char authority[SCITT_CLIENT_HOST_MAX + 8];
    uint16_t port;
    char prefix[SCITT_CLIENT_PREFIX_MAX + 1];
} scitt_client_url_t;

/* scitt_client_url_parse reads `url` (`len` bytes): scheme http or https,
 * a host of letters, digits, '-', '.' (or a bracketed IPv6 address), an
 * optional decimal port 1..65535, and an optional path prefix of printable
 * ASCII without spaces, '?' or '#'. Userinfo, queries and fragments are
 * refused. Returns 0 or SCITT_EMALFORMED. */
int scitt_client_url_parse(scitt_client_url_t *out, const char *url, size_t len);

/* scitt_client_retry_after parses a Retry-After value: delta-seconds only
 * (an HTTP-date is SCITT_EMALFORMED, and callers fall back to backoff).
 * Values above one day are clamped to one day. */
int scitt_client_retry_after(const char *value, size_t len, uint32_t *out_seconds);

/* -- Connections -- */

typedef struct scitt_client_config {
    const scitt_mem_t *mem; /* NULL: default allocator */
    uint64_t timeout_ms;    /* per request unless the request says; 0: 30000 */
    size_t max_body;        /* per response unless the request says; 0: 16 MiB */
    size_t max_requests;    /* in flight on this connection; 0: 1024 */
    uint32_t max_streams;   /* our SETTINGS_MAX_CONCURRENT_STREAMS cap; 0: 100 */
    const char *user_agent; /* NULL: "scitt/<version>" */
    struct uv_loop_s *loop; /* NULL: the client creates and owns a loop */
    /* https: trust anchors and client certificate (scitt_tls_client_ctx_new;
     * borrowed, may be shared by many clients). NULL: the system CAs. */
    struct scitt_tls_ctx *tls;
} scitt_client_config_t;

/* scitt_client_new starts connecting to `url` (resolution and connect run on
 * the loop; requests may be submitted at once and go out when connected).
 * `*out` is newly allocated. Returns 0, SCITT_EINVAL (a bad config),
 * SCITT_EBADKEY (https without a config's context, and the system's cannot
 * be made), SCITT_ENOMEM, or a libuv error (-errno). */
int scitt_client_new(scitt_client_t **out, const scitt_client_url_t *url, const scitt_client_config_t *cfg);

/* scitt_client_free fails every outstanding request with SCITT_ESHUTDOWN
 * (their callbacks run first), closes the connection and frees the client.
 * With its own loop it returns when everything is released; on a shared
 * loop the memory goes in the handles' close callbacks, so keep running the
 * loop. NULL is a no-op. Never call it from inside a request callback. */
void scitt_client_free(scitt_client_t *c);

/* scitt_client_error returns 0 while the connection is usable, else the
 * error that ended it (a libuv code, SCITT_EIO for a protocol error,
 * -ECONNRESET when the peer closed or sent GOAWAY, a
 * TLS verdict: SCITT_ETLSCA, SCITT_ETLSNAME, SCITT_ETLSTIME, SCITT_ETLS). A dead connection fails
 * new requests with that code; make a new client to retry. */
int scitt_client_error(const scitt_client_t *c);

/* -- Requests -- */

/* scitt_client_cb runs once per submitted request, from the loop, with 0
 * when a complete response arrived (whatever its status), or a negative
 * code: SCITT_ETOOBIG (body over max_body), -ETIMEDOUT, -ECONNRESET (the
 * stream or connection was reset or refused), SCITT_ESHUTDOWN (client
 * freed), a libuv error. The callback may submit new requests on the same
 * client, and may reset and reuse `req` (scitt_client_req_cleanup first). */
typedef void (*scitt_client_cb)(scitt_client_req_t *req, int rc);

#define SCITT_CLIENT_LOCATION_MAX 512
#define SCITT_CLIENT_CTYPE_MAX    128

struct scitt_client_req {
    /* Request: set by the caller; borrowed until the callback runs. */
    const char *method; /* "GET", "POST" */
    const char *path;   /* absolute path; the URL prefix is prepended */
    const char *content_type;
    const char *accept;
    /* The Authorization value (sent never indexed by HPACK), or NULL. */
    const char *authorization;
    scitt_span_t body;   /* sent as the request body when len > 0 */
    uint64_t timeout_ms; /* 0: the client's default */
    size_t max_body;     /* 0: the client's default */
    scitt_client_cb cb;
    void *data; /* for the caller */

    /* Response: valid in and after the callback, until cleanup. */
    int rc;
    int status;
    scitt_buf_t resp; /* the body; owned by the request */
    char location[SCITT_CLIENT_LOCATION_MAX];
    char content_type_resp[SCITT_CLIENT_CTYPE_MAX];
    int64_t retry_after; /* seconds, or -1 when absent or not delta-seconds */

    /* Private. */
    scitt_client_t *_client;
    int32_t _stream_id;
    bool _done;
    size_t _sent;
    uint64_t _deadline;
    scitt_client_req_t *_prev, *_next;
};

/* scitt_client_req_init clears `req` for a request of `method` on `path`
 * (both borrowed). */
void scitt_client_req_init(scitt_client_req_t *req, const char *method, const char *path);

/* scitt_client_req_cleanup frees the response body. The request must not be
 * in flight. */
void scitt_client_req_cleanup(scitt_client_req_t *req);

/* scitt_client_submit sends `req` (its `cb` may be NULL when the caller
 * waits with scitt_client_wait). Returns 0, or SCITT_EFULL (max_requests in
 * flight), SCITT_EINVAL (a path too long or not starting with '/'), the
 * connection's error when it is dead, SCITT_ENOMEM. On failure the callback
 * is not called. */
int scitt_client_submit(scitt_client_t *c, scitt_client_req_t *req);

/* scitt_client_wait runs the client's own loop until `req` completes and
 * returns its rc. SCITT_EINVAL on a shared loop. */
int scitt_client_wait(scitt_client_t *c, scitt_client_req_t *req);

/* scitt_client_wait_all runs the own loop until no request is in flight. */
int scitt_client_wait_all(scitt_client_t *c);

/* scitt_client_wait_any runs the own loop until at least one request in
 * flight completes (returns at once when none is in flight), so a caller
 * can keep a window of requests full. */
void scitt_client_wait_any(scitt_client_t *c);

/* scitt_client_fetch is submit + wait: 0 when a response arrived (check
 * `req->status`), else the failure. */
int scitt_client_fetch(scitt_client_t *c, scitt_client_req_t *req);

/* scitt_client_in_flight returns the number of requests submitted and not
 * yet completed. */
size_t scitt_client_in_flight(const scitt_client_t *c);

/* scitt_client_sleep_ms runs the own loop for `ms` milliseconds (timers
 * and I/O keep going), for Retry-After and backoff waits. */
void scitt_client_sleep_ms(scitt_client_t *c, uint64_t ms);

/* -- The protocol engine without sockets (tests and fuzzing) -- */

/* scitt_client_feed pushes bytes received from the server into the HTTP/2
 * session, as the socket would; completed requests' callbacks run before it
 * returns. Returns 0 or the connection error. scitt_client_new_detached
 * makes a client with no socket and no loop (submit works; wait does not);
 * scitt_client_take_output moves what the client would send into `out`. */
int scitt_client_new_detached(scitt_client_t **out, const scitt_client_url_t *url, const scitt_client_config_t *cfg);
int scitt_client_feed(scitt_client_t *c, const uint8_t *data, size_t len);
int scitt_client_take_output(scitt_client_t *c, scitt_buf_t *out);

/* -- Plain HTTP/1.1 GETs (http1.c), for static servers and caches -- */

/* Bounds: the status line and headers (libhttp-parser's), and any one body. */
#define SCITT_HTTP1_MAX_HEAD (80 * 1024)
#define SCITT_HTTP1_MAX_BODY ((uint64_t)1 << 40)

typedef struct scitt_http1_response {
    int status;             /* 100..599 */
    bool chunked, close;    /* Transfer-Encoding: chunked; the server closes after it */
    int64_t content_length; /* -1: none */
    size_t len;             /* bytes of `buf` the whole response took */
} scitt_http1_response_t;

/* scitt_http1_response_parse reads the response at the start of buf[0,
 * len), `eof` when the connection ended after those bytes: 0 with `*out`
 * and the body (de-chunked) in `body` (reset first; its maximum bounds
 * it); SCITT_EAGAIN when more bytes are needed; SCITT_EMALFORMED,
 * SCITT_ETRUNCATED (ended early), SCITT_ETOOBIG or SCITT_ENOMEM. */
int scitt_http1_response_parse(const uint8_t *buf, size_t len, bool eof, scitt_http1_response_t *out,
                               scitt_buf_t *body);

/* scitt_http1_get sends `GET <url prefix><path>` on connection `*fd` (a
 * socket kept between calls; -1: none yet, dialled here; left -1 when the
 * server closes it) and reads the answer: 0 with `*status` and `body`
 * (bounded by `max_body` and its own maximum), or SCITT_EUNAVAIL (no
 * connection, or a 30 s timeout) / a parse error. Blocking. */
int scitt_http1_get(const scitt_client_url_t *url, int *fd, const char *path, size_t max_body, int *status,
                    scitt_buf_t *body);

#endif /* SCITT_CLIENT_H */
